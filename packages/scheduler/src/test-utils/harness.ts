/**
 * Scheduler test harness: a memory store, a hand-driven clock, a log recorder and an egress
 * that deliberately allows 127.0.0.1 (the only address tests talk to). The servers and the clock
 * come from `@again/test-utils`.
 */
import type { JobStore } from '@again/storage';
import { createMemoryStorage } from '@again/storage-memory';
import {
  createManualClock,
  type HoldingServer,
  type ManualClock,
  startHoldingServer,
  startHttpServer,
  type TestServer,
} from '@again/test-utils';
import { createEgress } from '@again/url-guard';
import { vi } from 'vitest';
import type { SchedulerLogger } from '../logger.js';
import { createScheduler, type Scheduler } from '../scheduler.js';
import type { SchedulerOptions } from '../scheduler-options.js';

/** One recorded log call. */
export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly context: Record<string, unknown>;
}

/** A logger that records every call. */
export interface RecordingLogger extends SchedulerLogger {
  readonly entries: LogEntry[];
  /** Entries at `level`. */
  at(level: LogEntry['level']): LogEntry[];
}

/** Creates a {@link RecordingLogger}. */
export function recordingLogger(): RecordingLogger {
  const entries: LogEntry[] = [];
  const record =
    (level: LogEntry['level']) =>
    (...args: unknown[]): void => {
      // The scheduler writes context first: logger.info({ jobId, … }, 'message').
      const [context, message] = args;
      entries.push({
        level,
        message: String(message),
        context:
          typeof context === 'object' && context !== null
            ? (context as Record<string, unknown>)
            : {},
      });
    };
  return {
    entries,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    at: (level) => entries.filter((entry) => entry.level === level),
  };
}

/** An egress for tests: the URL guard's real policy, opened for 127.0.0.1 on purpose. */
export function loopbackEgress(ca?: string): ReturnType<typeof createEgress> {
  return createEgress({
    allowedSchemes: ['http', 'https'],
    allowIpLiterals: true,
    allowedAddresses: ['127.0.0.1'],
    ...(ca === undefined ? {} : { dispatcherOptions: { connect: { ca } } }),
  });
}

/** A running scheduler with its test doubles. */
export interface Harness {
  readonly scheduler: Scheduler;
  readonly storage: JobStore;
  readonly clock: ManualClock;
  readonly logger: RecordingLogger;
}

/**
 * Starts a scheduler on a memory store (or `shared.storage`) with a test clock (or
 * `shared.clock`), a recording logger and the loopback egress; polling off.
 */
export async function startScheduler(
  options: Partial<SchedulerOptions> = {},
  shared: { storage?: JobStore; clock?: ManualClock } = {},
): Promise<Harness> {
  const storage = shared.storage ?? createMemoryStorage();
  const clock = shared.clock ?? createManualClock();
  const logger = recordingLogger();
  const scheduler = await createScheduler({
    storage,
    clock,
    logger,
    pollInterval: 0,
    ...(options.unsafeAllowAnyUrl === true ? {} : { egress: loopbackEgress() }),
    ...options,
  });
  await clock.settle();
  return { scheduler, storage, clock, logger };
}

/** Waits (polling, real time) until `check` stops throwing; for I/O the test cannot drive. */
export function eventually<T>(check: () => T | Promise<T>, timeout = 5_000): Promise<T> {
  return vi.waitFor(check, { timeout, interval: 5 });
}

/**
 * Wraps a store so chosen methods fail (with a plain `Error`) and every call is counted.
 */
export function faultyStorage(
  inner: JobStore,
  failing: ReadonlySet<keyof JobStore> | (() => ReadonlySet<keyof JobStore>),
): { store: JobStore; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const name = String(property);
        calls.set(name, (calls.get(name) ?? 0) + 1);
        const set = typeof failing === 'function' ? failing() : failing;
        if (set.has(property as keyof JobStore)) {
          return Promise.reject(new Error(`injected ${name} failure`));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
}

/** Servers and schedulers a test file starts, closed in reverse order by `flush()`. */
export interface Tracked {
  /** Closers run by `flush()`, last added first; tests may push their own. */
  readonly cleanups: Array<() => Promise<unknown>>;
  /** Starts an HTTP server on 127.0.0.1 that `flush()` closes. */
  server(...args: Parameters<typeof startHttpServer>): Promise<TestServer>;
  /**
   * Starts a server on 127.0.0.1 that holds requests (runs stay in flight until `open()`) and
   * that `flush()` closes, answering what it held first.
   */
  holding(limit?: number): Promise<HoldingServer>;
  /** Starts a scheduler harness that `flush()` stops at once. */
  harness(...args: Parameters<typeof startScheduler>): Promise<Harness>;
  /** Runs and forgets every closer; call it from `afterEach`. */
  flush(): Promise<void>;
}

/** Creates the per-file resource tracker the scheduler test files share. */
export function tracked(): Tracked {
  const cleanups: Array<() => Promise<unknown>> = [];
  return {
    cleanups,
    async server(...args) {
      const s = await startHttpServer(...args);
      cleanups.push(() => s.close());
      return s;
    },
    async holding(limit) {
      const s = await startHoldingServer(limit === undefined ? {} : { limit });
      cleanups.push(() => s.close());
      return s;
    },
    async harness(...args) {
      const h = await startScheduler(...args);
      cleanups.push(() => h.scheduler.stop({ timeout: 0 }));
      return h;
    },
    async flush() {
      while (cleanups.length > 0) await cleanups.pop()?.();
    },
  };
}
