/**
 * Harness for the request-layer tests (request, callback, response body): real servers on
 * 127.0.0.1 reached through the url-guard egress fetch, an instant recorded sleep, and small
 * response handlers.
 */
import {
  selfSignedCertificate,
  startHttpServer,
  startHttpsServer,
  type TestHandler,
  type TestServer,
} from '@again/test-utils';
import { createEgress, type Egress } from '@again/url-guard';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { JobInput, JobSpec } from '../job-types.js';
import type { SchedulerLogger } from '../logger.js';
import { parseJob } from '../parse-job.js';
import type { ExecuteDeps, Occurrence } from '../request.js';

/** A logger that keeps every line. */
export interface LineLogger extends SchedulerLogger {
  readonly lines: Array<{ level: string; args: unknown[] }>;
}

/** Creates a {@link LineLogger}. */
export function lineLogger(): LineLogger {
  const lines: Array<{ level: string; args: unknown[] }> = [];
  const at =
    (level: string) =>
    (...args: unknown[]): void => {
      lines.push({ level, args });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The deps of one run, with what the test doubles recorded. */
export interface RunHarness {
  readonly deps: ExecuteDeps;
  /** Every retry delay the run asked for (the sleep is instant). */
  readonly delays: number[];
  readonly logger: LineLogger;
  /** Aborts the run (`deps.signal`). */
  readonly controller: AbortController;
}

/** The egress and server tracking of one test file; call {@link useRequestHarness} at the top. */
export interface RequestHarness {
  /** The loopback egress (127.0.0.1 allowed on purpose, the test certificate trusted). */
  egress(): Egress;
  /** Starts an HTTP server on 127.0.0.1, closed after the test. */
  http(handler: TestHandler): Promise<TestServer>;
  /** Starts an HTTPS server on 127.0.0.1, closed after the test. */
  https(handler: TestHandler): Promise<TestServer>;
  /** Deps for one run: the egress fetch, an instant sleep, no jitter; `overrides` win. */
  run(overrides?: Partial<ExecuteDeps>): RunHarness;
}

/** Registers the file's hooks and returns its harness. */
export function useRequestHarness(): RequestHarness {
  let egress: Egress | undefined;
  const servers: TestServer[] = [];
  beforeAll(() => {
    egress = createEgress({
      allowedSchemes: ['http', 'https'],
      allowIpLiterals: true,
      allowedAddresses: ['127.0.0.1/32'],
      dispatcherOptions: { connect: { ca: selfSignedCertificate().cert } },
    });
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  afterAll(async () => {
    await egress?.close();
  });
  const current = (): Egress => {
    if (egress === undefined) throw new Error('the egress exists only inside tests');
    return egress;
  };
  const track = async (server: Promise<TestServer>): Promise<TestServer> => {
    const started = await server;
    servers.push(started);
    return started;
  };
  return {
    egress: current,
    http: (handler) => track(startHttpServer(handler)),
    https: (handler) => track(startHttpsServer(handler)),
    run(overrides = {}) {
      const delays: number[] = [];
      const logger = lineLogger();
      const controller = new AbortController();
      const deps: ExecuteDeps = {
        fetch: current().fetch,
        isRefusal: current().isRefusal,
        now: () => Date.now(),
        signal: controller.signal,
        logger,
        retriers: new Map(),
        sleep: async (ms: number) => {
          delays.push(ms);
        },
        random: () => 0,
        ...overrides,
      };
      return { deps, delays, logger, controller };
    },
  };
}

/** The scheduled time every test occurrence uses. */
export const SCHEDULED_AT: number = Date.parse('2026-03-01T09:00:00.000Z');

/** An occurrence of `jobId` at {@link SCHEDULED_AT}. */
export function occurrence(jobId = 'job-1'): Occurrence {
  return { jobId, scheduledAt: SCHEDULED_AT, occurrenceId: `${jobId}@2026-03-01T09:00:00.000Z` };
}

/** A job with instant, deterministic retries (interval 100, no jitter) unless overridden. */
export function job(
  input: Omit<JobInput, 'schedule'> & { schedule?: JobInput['schedule'] },
): JobSpec {
  return parseJob({
    schedule: { every: 60_000 },
    ...input,
    retryPolicy: { interval: 100, jitter: 0, ...input.retryPolicy },
  }).spec;
}

/** Answers `status` with a text body and extra headers. */
export const text =
  (status: number, body = '', headers: Record<string, string> = {}): TestHandler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };

/** Answers with each handler in turn (the last one repeats). */
export function sequence(...handlers: TestHandler[]): TestHandler {
  let index = 0;
  return (req, res, recorded) => {
    const handler = handlers[Math.min(index++, handlers.length - 1)] as TestHandler;
    return handler(req, res, recorded);
  };
}

/** Never answers; the client's timeout or abort ends the exchange. */
export const hang: TestHandler = () => {};

/**
 * Sends 200 and `first`, then one byte every `every` ms (real time, at most `limit` bytes) until
 * the client goes away: a body that never finishes in a test's time.
 */
export function drip(first = 'a', every = 10, limit = 2_000): TestHandler {
  return async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(first);
    for (let sent = 0; sent < limit && !res.destroyed; sent++) {
      await new Promise((resolve) => setTimeout(resolve, every));
      if (!res.destroyed) res.write('b');
    }
    if (!res.destroyed) res.end();
  };
}

/** Sends 200, a content-length it never fulfils and `first`, then destroys the socket. */
export function cutShort(first = 'partial', promised = 1_000): TestHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(promised) });
    res.write(first, () => {
      setImmediate(() => res.socket?.destroy());
    });
  };
}

/** A full garbage collection, twice, with the event loop turning in between. */
export async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') {
    throw new Error('run this test with node --expose-gc (packages/scheduler/vitest.config.ts)');
  }
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
