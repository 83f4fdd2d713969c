/**
 * Scheduler options: their types, defaults and validation.
 *
 * @module
 */
import type { Retrier } from '@again/retry';
import type { JobStore, StoreCapabilities } from '@again/storage';
import type { JobIssue } from './errors.js';
import { SCHEDULER_EVENTS, type SchedulerEventName, type SchedulerEvents } from './events.js';
import type { FetchFunction } from './http-client.js';
import {
  createDefaultLogger,
  createLog,
  LOG_LEVELS,
  type Log,
  type LogLevel,
  type SchedulerLogger,
} from './logger.js';
import { resolveSigningSecrets, type SigningSecrets, type SigningSecretsInput } from './signing.js';
import { MAX_TIMER_DELAY, type SchedulerClock, systemClock } from './timer.js';

/**
 * The outbound HTTP the scheduler uses: a guarded `fetch` (checks every address it connects to and
 * every redirect hop) and an optional `check` run at schedule time so a bad URL is refused before
 * anything is stored. `createEgress(policy)` from `@again/url-guard` returns one.
 *
 * @example
 * ```ts
 * import { createEgress } from '@again/url-guard';
 * const egress: SchedulerEgress = createEgress({ allowHttp: false });
 * ```
 */
export interface SchedulerEgress {
  /** Sends a request; must refuse destinations the policy forbids. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * Checks a URL against the policy (optional). It must throw, or return `{ ok: false }`, to
   * refuse the URL.
   */
  check?(url: string, options?: { signal?: AbortSignal }): Promise<unknown>;
  /**
   * Says whether an error thrown by `check` or `fetch` is a policy refusal (optional;
   * `createEgress()` has one). A refused run is not retried and a refused URL makes a job
   * invalid, while other failures (a temporary DNS failure) are retried at run time and do not
   * reject a job at schedule time. Without it, anything `check` throws refuses the URL.
   */
  isRefusal?(error: unknown): boolean;
}

/**
 * What the scheduler does with jobs it finds in storage when it starts.
 *
 * @example
 * ```ts
 * await createScheduler({ storage, egress, onRestart: 'cancel' }); // go-again's behaviour
 * ```
 */
export type RestartPolicy = 'resume' | 'cancel';

/**
 * What `stop()` does with jobs that are not finished.
 *
 * @example
 * ```ts
 * await createScheduler({ storage, egress, onStop: 'mark-stopped' }); // go-again's behaviour
 * ```
 */
export type StopPolicy = 'keep' | 'mark-stopped';

/**
 * Options of {@link createScheduler}. Defaults are in {@link SCHEDULER_DEFAULTS}.
 *
 * Either `egress` (normally `createEgress(policy)` from `@again/url-guard`) or the explicit
 * `unsafeAllowAnyUrl: true` is required: the scheduler never sends requests without a URL policy
 * unless told so in plain words.
 *
 * @example
 * ```ts
 * const scheduler = await createScheduler({
 *   storage: createMemoryStorage(),
 *   egress: createEgress(),
 *   concurrency: 10,
 * });
 * ```
 */
export interface SchedulerOptions {
  /** Where jobs, run leases and history live: a store from a storage adapter. Required. */
  readonly storage: JobStore;
  /** The guarded outbound HTTP (required unless `unsafeAllowAnyUrl` is `true`). */
  readonly egress?: SchedulerEgress | undefined;
  /**
   * Turns URL checks off: requests go to any URL through `fetch` (default: the global `fetch`).
   * Only for trusted job sources or tests.
   *
   * @defaultValue false
   */
  readonly unsafeAllowAnyUrl?: boolean | undefined;
  /** The `fetch` used with `unsafeAllowAnyUrl` (ignored otherwise). @defaultValue `globalThis.fetch` */
  readonly fetch?: FetchFunction | undefined;
  /**
   * At most this many runs in flight at once (requests with their retries, and their outcomes being
   * recorded), across all jobs. The scheduler claims only what it can start: due occurrences
   * beyond the limit stay due in storage, for later or for another instance, and those that fall
   * behind past `missedRunGrace` follow their job's missed-run policy.
   *
   * @defaultValue 100
   */
  readonly concurrency?: number | undefined;
  /** Finished history entries kept per job. @defaultValue 20 */
  readonly historyLimit?: number | undefined;
  /**
   * Where the scheduler logs: tslog, pino, `console` or any `{ debug, info, warn, error }`, called
   * context first (`logger.info({ jobId, … }, 'run finished')`); `false` silences the scheduler.
   *
   * @defaultValue a tslog logger named `again-scheduler` (colours only on a terminal)
   */
  readonly logger?: SchedulerLogger | false | undefined;
  /**
   * The least severe entries written: `'debug'`, `'info'` (one line per finished run), `'warn'`,
   * `'error'` or `'silent'`. Applies to any logger.
   *
   * @defaultValue 'info'
   */
  readonly logLevel?: LogLevel | undefined;
  /** Retriers from `@again/retry` that jobs can name in `retryPolicy.retrier`. @defaultValue none */
  readonly retriers?: ReadonlyMap<string, Retrier> | Readonly<Record<string, Retrier>> | undefined;
  /**
   * Signing secrets that jobs can name in `request.signWith` and `callback.signWith` (a `Map` or
   * an object). Each name holds one Standard Webhooks secret, `whsec_` followed by the base64 of
   * 24 to 64 random bytes, or an array of them for rotation (each delivery then carries one
   * signature per secret). Secrets stay in this process: a job stores only the name. A malformed
   * secret is refused with an issue at `signingSecrets.<name>` that never quotes it.
   *
   * @defaultValue none
   * @example
   * ```ts
   * await createScheduler({ storage, egress, signingSecrets: { main: process.env.WEBHOOK_SECRET ?? '' } });
   * ```
   */
  readonly signingSecrets?: SigningSecretsInput | undefined;
  /**
   * Event listeners added before the scheduler starts, by event name. A restarted process resumes
   * due and orphaned runs as soon as it starts, so listeners added with `scheduler.on()` after
   * `createScheduler()` resolves may miss its first events; listeners given here see every one.
   *
   * @defaultValue none
   * @example
   * ```ts
   * await createScheduler({
   *   storage,
   *   egress,
   *   on: { 'run:failed': ({ jobId, error }) => console.error(jobId, error) },
   * });
   * ```
   */
  readonly on?: SchedulerListeners | undefined;
  /** Where time comes from; inject one in tests. @defaultValue {@link systemClock} */
  readonly clock?: SchedulerClock | undefined;
  /**
   * This instance's name as the owner of run leases; unique per running process.
   *
   * @defaultValue `scheduler-` + a random UUID
   */
  readonly instanceId?: string | undefined;
  /**
   * How long a run's lease lasts (ms). Leases are renewed every quarter of it while the run is in
   * flight; a run whose lease is lost is aborted. Another instance takes over a run whose lease
   * expired, so keep it well above the longest stall you expect.
   *
   * @defaultValue 30000
   */
  readonly leaseDuration?: number | undefined;
  /**
   * How often (ms) to look at storage for work other processes added, and for runs whose owner's
   * lease expired (taken over). `0` or `null` turns polling off (orphaned runs are then looked for
   * at startup only).
   *
   * @defaultValue from the store's capabilities: 1000 for a store shared across processes, 5000
   *   for a shared store that also notifies (LISTEN/NOTIFY wakes instances; polling is the
   *   fallback), off for a store no other process opens (the memory store)
   */
  readonly pollInterval?: number | null | undefined;
  /**
   * `'resume'`: jobs in storage keep running, missed occurrences follow each job's missed-run
   * policy. `'cancel'`: every unfinished job in storage is marked `canceled` at startup
   * (go-again's behaviour; only for a store no other instance uses).
   *
   * @defaultValue 'resume'
   */
  readonly onRestart?: RestartPolicy | undefined;
  /**
   * `'keep'`: unfinished jobs stay scheduled in storage after `stop()` (to resume later).
   * `'mark-stopped'`: `stop()` marks every unfinished job in storage `stopped` (go-again's
   * behaviour; only for a store no other instance uses).
   *
   * @defaultValue 'keep'
   */
  readonly onStop?: StopPolicy | undefined;
  /** How long `stop()` waits for in-flight runs and callbacks (ms). @defaultValue 10000 */
  readonly stopTimeout?: number | undefined;
  /**
   * An occurrence later than this (ms) when the scheduler gets to it counts as missed, as does
   * any occurrence followed by another due one. Missed occurrences follow the job's missed-run
   * policy.
   *
   * @defaultValue 60000
   */
  readonly missedRunGrace?: number | undefined;
  /**
   * Most due jobs claimed in one store transaction (fewer when fewer slots are free).
   *
   * @defaultValue 100
   */
  readonly claimBatchSize?: number | undefined;
  /**
   * How often (ms) the maintenance pass runs: history older than `historyMaxAge`, history beyond
   * `historyLimit` per job, and finished jobs older than `finishedJobRetention` are deleted.
   * `0` or `null` turns it off.
   *
   * @defaultValue 60000
   */
  readonly maintenanceInterval?: number | null | undefined;
  /**
   * History entries older than this (ms since they finished) are deleted by the maintenance pass;
   * `null` keeps them (by count only).
   *
   * @defaultValue 2592000000 (30 days)
   */
  readonly historyMaxAge?: number | null | undefined;
  /**
   * Finished jobs (completed, canceled, removed, stopped) not changed for this long (ms) are
   * deleted with their history by the maintenance pass; `null` keeps them.
   *
   * @defaultValue 2592000000 (30 days)
   */
  readonly finishedJobRetention?: number | null | undefined;
}

/**
 * The defaults of {@link SchedulerOptions}.
 *
 * @example
 * ```ts
 * SCHEDULER_DEFAULTS.historyLimit; // 20
 * SCHEDULER_DEFAULTS.pollInterval.shared; // 1000
 * ```
 */
export const SCHEDULER_DEFAULTS: {
  readonly concurrency: number;
  readonly historyLimit: number;
  readonly leaseDuration: number;
  readonly pollInterval: {
    /** A store shared across processes without notifications (SQLite). */
    readonly shared: number;
    /** A shared store that notifies (PostgreSQL): polling is only the fallback. */
    readonly sharedWithNotify: number;
    /** A store no other process opens (memory): off. */
    readonly unshared: number;
  };
  readonly onRestart: RestartPolicy;
  readonly onStop: StopPolicy;
  readonly stopTimeout: number;
  readonly missedRunGrace: number;
  readonly claimBatchSize: number;
  readonly maintenanceInterval: number;
  readonly historyMaxAge: number;
  readonly finishedJobRetention: number;
  readonly logLevel: LogLevel;
} = Object.freeze({
  concurrency: 100,
  historyLimit: 20,
  leaseDuration: 30_000,
  pollInterval: Object.freeze({ shared: 1_000, sharedWithNotify: 5_000, unshared: 0 }),
  onRestart: 'resume',
  onStop: 'keep',
  stopTimeout: 10_000,
  missedRunGrace: 60_000,
  claimBatchSize: 100,
  maintenanceInterval: 60_000,
  historyMaxAge: 30 * 86_400_000,
  finishedJobRetention: 30 * 86_400_000,
  logLevel: 'info',
});

/**
 * Thrown by {@link createScheduler} for unusable options (missing storage, no egress without
 * `unsafeAllowAnyUrl`, out-of-range numbers). Lists every problem.
 *
 * @example
 * ```ts
 * try {
 *   await createScheduler({ storage });
 * } catch (error) {
 *   if (error instanceof InvalidSchedulerOptionsError) console.log(error.issues);
 * }
 * ```
 */
export class InvalidSchedulerOptionsError extends Error {
  override readonly name = 'InvalidSchedulerOptionsError' as const;
  readonly code = 'ERR_INVALID_SCHEDULER_OPTIONS' as const;
  /** Every problem, each with the option's name as `path`. */
  readonly issues: ReadonlyArray<JobIssue>;

  /** @param issues - every problem found (at least one) */
  constructor(issues: ReadonlyArray<JobIssue>) {
    super(`invalid scheduler options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }
}

/** Options after validation, every default applied. */
export interface ResolvedOptions {
  readonly storage: JobStore;
  readonly fetch: FetchFunction;
  readonly check: ((url: string, signal: AbortSignal | undefined) => Promise<unknown>) | null;
  /** The egress's `isRefusal`, or `null` when it has none (or with `unsafeAllowAnyUrl`). */
  readonly isRefusal: ((error: unknown) => boolean) | null;
  readonly concurrency: number;
  readonly historyLimit: number;
  readonly logger: Log;
  readonly retriers: ReadonlyMap<string, Retrier>;
  /** Decoded signing secrets by name (empty when none were given). */
  readonly signingSecrets: SigningSecrets;
  readonly clock: SchedulerClock;
  readonly instanceId: string;
  /** The `on` option's listeners, in the order given. */
  readonly listeners: ReadonlyArray<readonly [SchedulerEventName, AnyListener]>;
  readonly leaseDuration: number;
  readonly pollInterval: number;
  readonly onRestart: RestartPolicy;
  readonly onStop: StopPolicy;
  readonly stopTimeout: number;
  readonly missedRunGrace: number;
  readonly claimBatchSize: number;
  /** `0`: off. */
  readonly maintenanceInterval: number;
  /** `null`: no age pass. */
  readonly historyMaxAge: number | null;
  /** `null`: finished jobs are kept. */
  readonly finishedJobRetention: number | null;
}

/** The most runs in flight a scheduler accepts. */
const MAX_CONCURRENCY = 100_000;

/** The store methods the scheduler calls (a v2 `JobStore`). */
const STORE_METHODS = [
  'createJob',
  'getJob',
  'queryJobs',
  'countJobs',
  'jobIds',
  'endJob',
  'nextDueAt',
  'claimDue',
  'renewLeases',
  'completeRuns',
  'claimExpiredRuns',
  'history',
  'pruneHistory',
  'pruneJobs',
] as const;

/** Every key of {@link SchedulerOptions}; any other key is refused. */
const OPTION_KEYS: ReadonlySet<string> = new Set([
  'storage',
  'egress',
  'unsafeAllowAnyUrl',
  'fetch',
  'concurrency',
  'historyLimit',
  'logger',
  'logLevel',
  'retriers',
  'signingSecrets',
  'clock',
  'on',
  'instanceId',
  'leaseDuration',
  'pollInterval',
  'onRestart',
  'onStop',
  'stopTimeout',
  'missedRunGrace',
  'claimBatchSize',
  'maintenanceInterval',
  'historyMaxAge',
  'finishedJobRetention',
]);

/** Whether `value` is a non-null object. */
/**
 * Listeners for {@link SchedulerOptions.on}: at most one per event name.
 *
 * @example
 * ```ts
 * const on: SchedulerListeners = { 'run:succeeded': ({ jobId }) => console.log(jobId, 'ok') };
 * ```
 */
export type SchedulerListeners = {
  readonly [E in SchedulerEventName]?: ((event: SchedulerEvents[E]) => void) | undefined;
};

/** A listener of any event, as the engine adds it. */
type AnyListener = (event: SchedulerEvents[SchedulerEventName]) => void;

function resolveListeners(
  on: unknown,
  issues: JobIssue[],
): Array<readonly [SchedulerEventName, AnyListener]> {
  const listeners: Array<readonly [SchedulerEventName, AnyListener]> = [];
  if (on === undefined) return listeners;
  if (!isObject(on) || Array.isArray(on)) {
    issues.push({ path: 'on', message: 'must be an object of listeners by event name' });
    return listeners;
  }
  for (const [name, listener] of Object.entries(on)) {
    if (!(SCHEDULER_EVENTS as readonly string[]).includes(name)) {
      issues.push({
        path: `on.${name}`,
        message: `unknown event; one of ${SCHEDULER_EVENTS.join(', ')}`,
      });
    } else if (typeof listener === 'function') {
      listeners.push([name as SchedulerEventName, listener as AnyListener]);
    } else if (listener !== undefined) {
      issues.push({ path: `on.${name}`, message: 'must be a function' });
    }
  }
  return listeners;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Validates options and applies defaults.
 *
 * @param options - what the user passed to `createScheduler`
 * @returns the resolved options
 * @throws {@link InvalidSchedulerOptionsError} listing every problem
 * @example
 * ```ts
 * const resolved = resolveOptions({ storage, unsafeAllowAnyUrl: true });
 * ```
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  const issues: JobIssue[] = [];
  if (!isObject(options)) {
    throw new InvalidSchedulerOptionsError([{ path: '', message: 'options must be an object' }]);
  }
  const o = options as unknown as SchedulerOptions;
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) issues.push({ path: key, message: 'is not a scheduler option' });
  }
  const storage = o.storage as unknown;
  let capabilities: StoreCapabilities | null = null;
  if (storage instanceof Promise || (isObject(storage) && typeof storage.then === 'function')) {
    issues.push({
      path: 'storage',
      message: 'is a Promise, not a store: is an `await` missing before the adapter call?',
    });
  } else if (
    !isObject(storage) ||
    !isObject(storage.capabilities) ||
    STORE_METHODS.some((method) => typeof storage[method] !== 'function')
  ) {
    issues.push({
      path: 'storage',
      message: 'a JobStore is required (createMemoryStorage(), createSqliteStorage(), …)',
    });
  } else {
    capabilities = storage.capabilities as unknown as StoreCapabilities;
  }

  let fetch: FetchFunction | null = null;
  let check: ResolvedOptions['check'] = null;
  let isRefusal: ResolvedOptions['isRefusal'] = null;
  if (o.unsafeAllowAnyUrl !== undefined && typeof o.unsafeAllowAnyUrl !== 'boolean') {
    issues.push({ path: 'unsafeAllowAnyUrl', message: 'must be a boolean' });
  }
  if (o.unsafeAllowAnyUrl === true) {
    if (o.egress !== undefined) {
      issues.push({ path: 'egress', message: 'give either egress or unsafeAllowAnyUrl, not both' });
    }
    const custom = o.fetch ?? globalThis.fetch;
    if (typeof custom !== 'function') issues.push({ path: 'fetch', message: 'must be a function' });
    else fetch = custom;
  } else if (o.egress === undefined) {
    issues.push({
      path: 'egress',
      message:
        'an egress (createEgress() from @again/url-guard) is required; pass unsafeAllowAnyUrl: true to send requests without URL checks',
    });
  } else if (!isObject(o.egress) || typeof o.egress.fetch !== 'function') {
    issues.push({ path: 'egress', message: 'egress.fetch must be a function' });
  } else {
    const egress = o.egress;
    fetch = (input, init) => egress.fetch(input, init);
    if (egress.check !== undefined) {
      if (typeof egress.check !== 'function') {
        issues.push({ path: 'egress.check', message: 'must be a function' });
      } else {
        const egressCheck = egress.check;
        check = (url, signal) =>
          egressCheck.call(egress, url, signal === undefined ? {} : { signal });
      }
    }
    if (egress.isRefusal !== undefined) {
      if (typeof egress.isRefusal !== 'function') {
        issues.push({ path: 'egress.isRefusal', message: 'must be a function' });
      } else {
        const egressIsRefusal = egress.isRefusal;
        isRefusal = (error) => egressIsRefusal.call(egress, error) === true;
      }
    }
    if (o.fetch !== undefined) {
      issues.push({ path: 'fetch', message: 'fetch is only used with unsafeAllowAnyUrl' });
    }
  }

  const number = (
    name: string,
    value: unknown,
    fallback: number,
    valid: (n: number) => boolean,
    rule: string,
  ): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || Number.isNaN(value) || !valid(value)) {
      issues.push({ path: name, message: `must be ${rule}` });
      return fallback;
    }
    return value;
  };
  const isCount = (n: number): boolean => Number.isSafeInteger(n) && n > 0;
  const isDelay = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n <= MAX_TIMER_DELAY;

  const concurrency = number(
    'concurrency',
    o.concurrency,
    SCHEDULER_DEFAULTS.concurrency,
    (n) => isCount(n) && n <= MAX_CONCURRENCY,
    `an integer from 1 to ${MAX_CONCURRENCY}`,
  );
  const historyLimit = number(
    'historyLimit',
    o.historyLimit,
    SCHEDULER_DEFAULTS.historyLimit,
    isCount,
    'a positive integer',
  );
  const leaseDuration = number(
    'leaseDuration',
    o.leaseDuration,
    SCHEDULER_DEFAULTS.leaseDuration,
    (n) => isDelay(n) && n >= 3,
    'an integer from 3 to 2147483647 (ms)',
  );
  const defaultPoll =
    capabilities === null || !capabilities.shared
      ? SCHEDULER_DEFAULTS.pollInterval.unshared
      : capabilities.notifies
        ? SCHEDULER_DEFAULTS.pollInterval.sharedWithNotify
        : SCHEDULER_DEFAULTS.pollInterval.shared;
  const pollInterval =
    o.pollInterval === null
      ? 0
      : number(
          'pollInterval',
          o.pollInterval,
          defaultPoll,
          isDelay,
          'null or an integer from 0 to 2147483647 (ms)',
        );
  const stopTimeout = number(
    'stopTimeout',
    o.stopTimeout,
    SCHEDULER_DEFAULTS.stopTimeout,
    isDelay,
    'an integer from 0 to 2147483647 (ms)',
  );
  const missedRunGrace = number(
    'missedRunGrace',
    o.missedRunGrace,
    SCHEDULER_DEFAULTS.missedRunGrace,
    (n) => Number.isSafeInteger(n) && n >= 0,
    'a non-negative integer (ms)',
  );
  const claimBatchSize = number(
    'claimBatchSize',
    o.claimBatchSize,
    SCHEDULER_DEFAULTS.claimBatchSize,
    (n) => isCount(n) && n <= 10_000,
    'an integer from 1 to 10000',
  );
  const maintenanceInterval =
    o.maintenanceInterval === null
      ? 0
      : number(
          'maintenanceInterval',
          o.maintenanceInterval,
          SCHEDULER_DEFAULTS.maintenanceInterval,
          isDelay,
          'null or an integer from 0 to 2147483647 (ms)',
        );
  const age = (name: 'historyMaxAge' | 'finishedJobRetention'): number | null =>
    o[name] === null
      ? null
      : number(
          name,
          o[name],
          SCHEDULER_DEFAULTS[name],
          (n) => isCount(n),
          'null or a positive integer (ms)',
        );
  const historyMaxAge = age('historyMaxAge');
  const finishedJobRetention = age('finishedJobRetention');

  const onRestart = o.onRestart ?? SCHEDULER_DEFAULTS.onRestart;
  if (onRestart !== 'resume' && onRestart !== 'cancel') {
    issues.push({ path: 'onRestart', message: "must be 'resume' or 'cancel'" });
  }
  const onStop = o.onStop ?? SCHEDULER_DEFAULTS.onStop;
  if (onStop !== 'keep' && onStop !== 'mark-stopped') {
    issues.push({ path: 'onStop', message: "must be 'keep' or 'mark-stopped'" });
  }

  const clock = o.clock ?? systemClock;
  if (
    !isObject(clock) ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    issues.push({ path: 'clock', message: 'must have now, setTimeout and clearTimeout' });
  }

  const userLogger = o.logger ?? createDefaultLogger();
  if (
    userLogger !== false &&
    (!isObject(userLogger) ||
      !['debug', 'info', 'warn', 'error'].every(
        (level) => typeof (userLogger as unknown as Record<string, unknown>)[level] === 'function',
      ))
  ) {
    issues.push({
      path: 'logger',
      message: 'must be false or have debug, info, warn and error methods',
    });
  }
  const logLevel = o.logLevel ?? SCHEDULER_DEFAULTS.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    issues.push({ path: 'logLevel', message: `must be one of ${LOG_LEVELS.join(', ')}` });
  }
  const logger = createLog(
    userLogger === false || isObject(userLogger) ? userLogger : false,
    LOG_LEVELS.includes(logLevel) ? logLevel : 'info',
  );

  const retriers = new Map<string, Retrier>();
  if (o.retriers !== undefined) {
    const entries =
      o.retriers instanceof Map
        ? [...o.retriers.entries()]
        : isObject(o.retriers)
          ? Object.entries(o.retriers)
          : null;
    if (entries === null) issues.push({ path: 'retriers', message: 'must be a Map or an object' });
    else for (const [name, retrier] of entries) retriers.set(name, retrier as Retrier);
  }

  const signingSecrets = resolveSigningSecrets(o.signingSecrets, issues);

  const instanceId = o.instanceId ?? `scheduler-${globalThis.crypto.randomUUID()}`;
  if (typeof instanceId !== 'string' || instanceId.length === 0 || instanceId.length > 200) {
    issues.push({ path: 'instanceId', message: 'must be a string of 1 to 200 characters' });
  }

  const listeners = resolveListeners(o.on, issues);

  if (issues.length > 0 || fetch === null) throw new InvalidSchedulerOptionsError(issues);
  return {
    storage: o.storage,
    fetch,
    check,
    isRefusal,
    concurrency,
    historyLimit,
    logger,
    retriers,
    signingSecrets,
    clock,
    instanceId,
    listeners,
    leaseDuration,
    pollInterval,
    onRestart,
    onStop,
    stopTimeout,
    missedRunGrace,
    claimBatchSize,
    maintenanceInterval,
    historyMaxAge,
    finishedJobRetention,
  };
}
