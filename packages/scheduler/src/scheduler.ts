/**
 * The public API of the scheduler and `createScheduler`, which composes the engine: the claim
 * loop (`claim-loop.ts`), the lease loop (`leases.ts`), the maintenance loop (`maintenance.ts`),
 * one run (`run.ts`) and the outcome writer (`completions.ts`) around a store.
 *
 * @module
 */
import { constants } from 'node:os';
import {
  isTerminalState,
  type JobState,
  type JsonObject,
  STORAGE_LIMITS,
  type WakeSubscription,
} from '@again/storage';
import { type ActiveRun, ActiveRuns, abortRun } from './active-runs.js';
import { type CallbackPayload, deliverCallback } from './callback.js';
import { ClaimLoop } from './claim-loop.js';
import { CompletionWriter } from './completions.js';
import { type Engine, type EngineState, StoreTime } from './engine.js';
import {
  InvalidJobError,
  type JobIssue,
  SchedulerStoppedError,
  SchedulerStorageError,
} from './errors.js';
import { SchedulerEventHub, type SchedulerEventName, type SchedulerEvents } from './events.js';
import {
  checkDefinition,
  type JobChanges,
  type JobDefinition,
  jobDefinition,
  pauseJob,
  resumeJob,
  triggerJob,
  updateJob,
} from './job-operations.js';
import type { JobInput } from './job-types.js';
import { LeaseLoop } from './leases.js';
import { MaintenanceLoop } from './maintenance.js';
import { parseJob } from './parse-job.js';
import type { ExecuteDeps } from './request.js';
import { recordUnstarted, runToEnd } from './run.js';
import { firstOccurrence } from './schedule.js';
import {
  InvalidSchedulerOptionsError,
  isObject,
  type ResolvedOptions,
  resolveOptions,
  type SchedulerOptions,
} from './scheduler-options.js';
import { SpecCache } from './spec-cache.js';
import {
  type CallbackOutcome,
  checkHistoryQuery,
  checkJobId,
  checkStatusQuery,
  type JobHistoryQuery,
  type JobRun,
  type JobStatus,
  type JobStatusQuery,
  toRun,
  toStatus,
} from './status.js';
import { MAX_TIMER_DELAY, sleepOn, systemClock } from './timer.js';

/**
 * Options of {@link Scheduler.schedule}.
 *
 * @example
 * ```ts
 * await scheduler.schedule(job, { signal: AbortSignal.timeout(5_000) });
 * ```
 */
export interface ScheduleOptions {
  /**
   * Bounds the `schedule()` call itself (the URL checks); it has no effect on the job once
   * `schedule()` has returned: the scheduler owns the job's lifetime.
   */
  readonly signal?: AbortSignal;
}

/**
 * Options of {@link Scheduler.stop}.
 *
 * @example
 * ```ts
 * await scheduler.stop({ timeout: 30_000 });
 * ```
 */
export interface StopOptions {
  /** How long to wait for in-flight runs and callbacks (ms). @defaultValue the scheduler's `stopTimeout` */
  readonly timeout?: number;
}

/**
 * Options of {@link Scheduler.stopOnSignals}.
 *
 * @example
 * ```ts
 * scheduler.stopOnSignals({ signals: ['SIGTERM'], timeout: 20_000 });
 * ```
 */
export interface StopOnSignalsOptions {
  /** The signals to stop on. @defaultValue `['SIGTERM', 'SIGINT']` */
  readonly signals?: readonly NodeJS.Signals[];
  /** `stop()`'s timeout (ms). @defaultValue the scheduler's `stopTimeout` */
  readonly timeout?: number;
  /**
   * `false`: once stopped, stay alive (the signal is not raised again).
   *
   * @defaultValue true
   */
  readonly exit?: boolean;
}

/** The signals `stopOnSignals()` listens to by default. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = Object.freeze(['SIGTERM', 'SIGINT']);

/** Signals a process cannot listen to. */
const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP']);

/** Checks `stopOnSignals()`'s options up front, so a mistake shows now, not at the signal. */
function checkStopOnSignals(options: unknown): {
  signals: readonly NodeJS.Signals[];
  timeout: number | undefined;
  exit: boolean;
} {
  if (!isObject(options)) {
    throw new InvalidSchedulerOptionsError([{ path: '', message: 'must be an object' }]);
  }
  const issues: JobIssue[] = [];
  for (const key of Object.keys(options)) {
    if (key !== 'signals' && key !== 'timeout' && key !== 'exit') {
      issues.push({ path: key, message: 'is not an option of stopOnSignals()' });
    }
  }
  const { signals = STOP_SIGNALS, timeout, exit = true } = options as StopOnSignalsOptions;
  if (
    !Array.isArray(signals) ||
    signals.length === 0 ||
    !signals.every(
      (signal) =>
        typeof signal === 'string' &&
        Object.hasOwn(constants.signals, signal) &&
        !UNCATCHABLE.has(signal),
    )
  ) {
    issues.push({
      path: 'signals',
      message: 'must be a non-empty array of signal names a process can catch (e.g. SIGTERM)',
    });
  }
  if (
    timeout !== undefined &&
    (!Number.isSafeInteger(timeout) || timeout < 0 || timeout > MAX_TIMER_DELAY)
  ) {
    issues.push({ path: 'timeout', message: 'must be an integer from 0 to 2147483647 (ms)' });
  }
  if (typeof exit !== 'boolean') issues.push({ path: 'exit', message: 'must be a boolean' });
  if (issues.length > 0) throw new InvalidSchedulerOptionsError(issues);
  return { signals, timeout, exit };
}

/**
 * A running scheduler. Create one with {@link createScheduler}.
 *
 * @example
 * ```ts
 * const id = await scheduler.schedule({
 *   schedule: { every: 60_000 },
 *   request: { url: 'https://api.example.com/ping' },
 * });
 * console.log(await scheduler.jobStatus(id));
 * await scheduler.stop();
 * ```
 */
export interface Scheduler {
  /** This instance's lease owner name. */
  readonly instanceId: string;
  /**
   * Validates and stores a job; it runs at its first occurrence.
   *
   * @param job - the job definition
   * @param options - `signal` bounds this call only
   * @returns the job id (given, or `job-` + a random UUID)
   * @throws {@link InvalidJobError} listing every problem (nothing is written)
   * @throws `JobExistsError` (from `@again/storage`, code `ERR_JOB_EXISTS`) when an unfinished
   *   job has this id
   * @throws {@link SchedulerStoppedError} after `stop()`
   * @throws {@link SchedulerStorageError} when storage fails
   */
  schedule(job: JobInput, options?: ScheduleOptions): Promise<string>;
  /**
   * Removes a job: it is marked `removed`, its in-flight runs on this instance are aborted and
   * recorded `canceled` (reason `removed`) before this resolves; other instances abort theirs at
   * their next lease renewal. An unknown id, or the id of a finished job (completed, canceled,
   * removed or stopped), is not an error: nothing changes and it resolves `false`.
   *
   * @param id - the job id
   * @returns `true` if an unfinished job was removed, `false` if there is none
   * @throws {@link InvalidQueryError} for a malformed id (not a job id at all)
   * @throws {@link SchedulerStoppedError} after `stop()`
   * @throws {@link SchedulerStorageError} when storage fails
   * @example
   * ```ts
   * if (!(await scheduler.remove('nightly-report'))) console.log('no such unfinished job');
   * ```
   */
  remove(id: string): Promise<boolean>;
  /**
   * Pauses a job: it keeps its schedule and history and starts no run (scheduled or triggered)
   * until {@link Scheduler.resume}; runs already in flight finish. Works across instances.
   *
   * @param id - the job id
   * @returns `true` when the job is paused, `false` when there is no unfinished job with this id
   * @throws {@link InvalidQueryError} for a malformed id
   * @throws {@link SchedulerStoppedError} after `stop()`
   * @throws {@link SchedulerStorageError} when storage fails
   * @example
   * ```ts
   * await scheduler.pause('nightly-report');
   * ```
   */
  pause(id: string): Promise<boolean>;
  /**
   * Resumes a paused job. Occurrences that fell due while it was paused follow the job's missed-run
   * policy (by default the latest one runs, the earlier ones are recorded `missed`).
   *
   * @param id - the job id
   * @returns `true` when the job was paused and now is not, `false` otherwise
   * @throws {@link InvalidQueryError} for a malformed id
   * @throws {@link SchedulerStoppedError} after `stop()`
   * @throws {@link SchedulerStorageError} when storage fails
   * @example
   * ```ts
   * await scheduler.resume('nightly-report');
   * ```
   */
  resume(id: string): Promise<boolean>;
  /**
   * Starts one extra run of a job now, with its own occurrence id and idempotency key, leaving the
   * schedule as it is. It runs on this instance, at once when a slot is free (else before any other
   * due work), with the job's current definition; it counts in `runs`, not in `maxRuns`.
   *
   * @param id - the job id
   * @returns the triggered run's occurrence id
   * @throws {@link JobNotFoundError} when there is no unfinished job with this id
   * @throws {@link JobPausedError} when the job is paused
   * @throws {@link InvalidQueryError} for a malformed id
   * @throws {@link SchedulerStoppedError} after `stop()`
   * @example
   * ```ts
   * const occurrenceId = await scheduler.trigger('nightly-report');
   * ```
   */
  trigger(id: string): Promise<string>;
  /**
   * Changes an unfinished job in place, atomically and fenced: the schedule, the request, the
   * callback, the retry policy, the missed-run or overlap policy, the metadata (each given part
   * replaces the old one whole). The result is checked exactly like a new job (one
   * `InvalidJobError` listing every problem, nothing written). Runs already in flight finish with
   * the definition they started with; the history is kept. A changed schedule continues from the
   * job's latest scheduled occurrence (an interval without `startAt` from that occurrence, one with
   * `startAt` on its grid, a cron expression at its next match).
   *
   * @param id - the job id
   * @param changes - the parts to replace
   * @param options - `signal` bounds the call (the URL checks)
   * @throws {@link InvalidJobError} listing every problem
   * @throws {@link JobNotFoundError} when there is no unfinished job with this id
   * @throws {@link JobUpdateConflictError} when concurrent updates kept winning the race
   * @throws {@link InvalidQueryError} for a malformed id
   * @example
   * ```ts
   * await scheduler.update('nightly-report', { schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris' } });
   * ```
   */
  update(id: string, changes: JobChanges, options?: ScheduleOptions): Promise<void>;
  /**
   * Stops the scheduler on SIGTERM and SIGINT (or the given signals): on the first one, `stop()`
   * runs (releasing the leases of the runs it aborts, so another instance takes them over at
   * once), then the signal is raised again without this handler, so the process ends as it would
   * have. A second signal meanwhile ends it at once.
   *
   * @param options - `signals`, `timeout` (for `stop()`), `exit: false` to stay alive after
   * @returns a function that removes the handlers
   * @example
   * ```ts
   * scheduler.stopOnSignals();
   * ```
   */
  stopOnSignals(options?: StopOnSignalsOptions): () => void;
  /**
   * A job's status.
   *
   * @param id - the job id
   * @returns the status, or `undefined` for an unknown id
   * @throws {@link SchedulerStorageError} when storage fails
   */
  jobStatus(id: string): Promise<JobStatus | undefined>;
  /**
   * A job's current definition (finished jobs too), as input with every default filled in: change
   * a part and hand it to `update()`, which replaces each part it is given whole.
   *
   * @param id - the job id
   * @returns the definition, or `undefined` for an unknown id
   * @throws {@link InvalidQueryError} for a malformed id
   * @throws {@link SchedulerStorageError} when storage fails
   * @example
   * ```ts
   * const definition = await scheduler.jobDefinition('sync');
   * if (definition) await scheduler.update('sync', { request: { ...definition.request, timeout: 5_000 } });
   * ```
   */
  jobDefinition(id: string): Promise<JobDefinition | undefined>;
  /**
   * Every job's status (finished ones too), sorted by id byte-wise.
   *
   * @returns the statuses
   * @throws {@link SchedulerStorageError} when storage fails
   */
  jobStatuses(): Promise<JobStatus[]>;
  /**
   * Statuses filtered by ids and states, then paged.
   *
   * @param query - filters and paging
   * @returns the matching statuses, sorted by id
   * @throws {@link InvalidQueryError} for an unknown state or a non-integer offset/limit
   * @throws {@link SchedulerStorageError} when storage fails
   */
  queryJobStatuses(query?: JobStatusQuery): Promise<JobStatus[]>;
  /**
   * A job's history, oldest first.
   *
   * @param id - the job id
   * @returns the entries, or `undefined` for an unknown id
   * @throws {@link SchedulerStorageError} when storage fails
   */
  jobHistory(id: string): Promise<JobRun[] | undefined>;
  /**
   * A job's history filtered by sequence and trimmed to its last entries.
   *
   * @param id - the job id
   * @param query - `fromSequence` and `limit`
   * @returns the entries in ascending order, or `undefined` for an unknown id
   * @throws {@link InvalidQueryError} for a non-integer `fromSequence` or `limit`
   * @throws {@link SchedulerStorageError} when storage fails
   */
  queryJobHistory(id: string, query?: JobHistoryQuery): Promise<JobRun[] | undefined>;
  /**
   * How many jobs are active (`scheduled` or `running`).
   *
   * @returns the count
   * @throws {@link SchedulerStorageError} when storage fails
   */
  jobCount(): Promise<number>;
  /**
   * Ids of active jobs (`scheduled` or `running`), sorted byte-wise.
   *
   * @returns the ids
   * @throws {@link SchedulerStorageError} when storage fails
   */
  jobIds(): Promise<string[]>;
  /**
   * Listens to an event of the life of jobs and runs (see {@link SchedulerEvents}): `job:scheduled`,
   * `job:updated`, `job:paused`, `job:resumed`, `job:removed`, `occurrence:skipped`, `run:started`,
   * `attempt:started`, `attempt:succeeded`, `attempt:failed`, `run:succeeded`, `run:failed`,
   * `run:canceled`, `callback:delivered`, `callback:failed`. Payloads are frozen; a listener that
   * throws is logged at warn. The same payloads are published on `node:diagnostics_channel`
   * (`again:scheduler:<event>`). An event nobody listens to costs nothing.
   *
   * @param event - the event name
   * @param listener - called with each payload, synchronously
   * @returns a function that removes the listener
   * @throws TypeError for an unknown event name or a listener that is not a function
   * @example
   * ```ts
   * const off = scheduler.on('run:failed', ({ jobId, error }) => console.error(jobId, error));
   * off();
   * ```
   */
  on<E extends SchedulerEventName>(
    event: E,
    listener: (payload: SchedulerEvents[E]) => void,
  ): () => void;
  /**
   * Stops gracefully, within a bound whatever the load: no new claims; in-flight runs and
   * callbacks get the first part of `timeout` to finish; then the rest are aborted and recorded
   * `canceled` (reason `stopped`) in the remaining part (a quarter of `timeout`, at most 1 s). It
   * resolves by then: an outcome the store could not record in time is logged,
   * and its run stays `running` in storage until its lease expires and an instance takes it
   * over. Idempotent; later calls return the same promise. Reads keep working afterwards.
   *
   * @param options - `timeout` overrides the scheduler's `stopTimeout`
   * @returns a promise that resolves once stopped
   * @throws {@link InvalidSchedulerOptionsError} (as a rejection) for a bad `timeout`
   */
  stop(options?: StopOptions): Promise<void>;
}

/** Unfinished jobs: what `jobCount()` and `jobIds()` list. */
const ACTIVE_STATES: readonly JobState[] = Object.freeze(['scheduled', 'running', 'paused']);
/** Most own wake-ups remembered (see `#ownWakes`). */
const OWN_WAKES_LIMIT = 10_000;
/** The most of `stop()`'s timeout kept for recording aborted runs (ms). */
const MAX_RECORD_GRACE = 1_000;

/** Event-loop turns a zero-length wait still gives (a local store records within them). */
const ZERO_WAIT_TURNS = 10;

/**
 * Resolves `true` once `idle` settles, or `false` after `ms` on the clock. A wait of 0 or less
 * still lets a few event-loop turns pass, so outcomes an in-process store records at once are in.
 */
async function idleWithin(
  idle: Promise<unknown>,
  clock: ResolvedOptions['clock'],
  ms: number,
): Promise<boolean> {
  let settled = false;
  const done = idle.then(() => {
    settled = true;
    return true;
  });
  if (ms <= 0) {
    for (let turn = 0; turn < ZERO_WAIT_TURNS && !settled; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    return settled;
  }
  const bound = new AbortController();
  try {
    return await Promise.race([
      done,
      sleepOn(clock, ms, bound.signal).then(
        () => false,
        () => false,
      ),
    ]);
  } finally {
    bound.abort();
  }
}

class SchedulerEngine implements Scheduler, Engine {
  readonly instanceId: string;
  readonly options: ResolvedOptions;
  readonly runs: ActiveRuns;
  readonly completions: CompletionWriter;
  readonly specs: SpecCache = new SpecCache();
  readonly storeTime: StoreTime;
  readonly events: SchedulerEventHub;
  readonly removedDuringClaim: Map<string, number> = new Map();
  readonly #claims: ClaimLoop;
  readonly #leases: LeaseLoop;
  readonly #maintenance: MaintenanceLoop;
  readonly #callbacks = new Set<Promise<void>>();
  readonly #callbackController = new AbortController();
  /** What every run and callback shares; `#deps` adds the signal. */
  readonly #baseDeps: Omit<ExecuteDeps, 'signal'>;
  #state: EngineState = 'running';
  #subscription: WakeSubscription | null = null;
  /** Jobs this instance created whose wake-up notification it will get too (and ignore). */
  readonly #ownWakes = new Set<string>();
  #stopPromise: Promise<void> | null = null;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.instanceId = options.instanceId;
    const { fetch, clock, logger, retriers, storage, isRefusal } = options;
    this.storeTime = new StoreTime(clock, storage.capabilities.clock);
    this.events = new SchedulerEventHub(logger);
    for (const [event, listener] of options.listeners) this.events.on(event, listener);
    this.completions = new CompletionWriter(storage, options.instanceId, clock, logger);
    this.#claims = new ClaimLoop(this);
    this.#leases = new LeaseLoop(this);
    this.#maintenance = new MaintenanceLoop(this);
    this.runs = new ActiveRuns(options.concurrency, () => this.#claims.slotFreed());
    this.#baseDeps = {
      fetch,
      isRefusal,
      now: () => clock.now(),
      logger,
      retriers,
      signingSecrets: options.signingSecrets,
      // Retriers of data-defined policies, keyed by the policy's values (so never stale).
      policyRetriers: new Map(),
      ...(clock === systemClock
        ? {}
        : { sleep: (ms: number, s?: AbortSignal) => sleepOn(clock, ms, s) }),
    };
  }

  /** Startup: reconcile per `onRestart`, subscribe to wake-ups, start the loops. */
  async start(): Promise<void> {
    const { storage, onRestart, logger } = this.options;
    if (onRestart === 'cancel') {
      const ids = await this.store('jobIds', () => storage.jobIds(ACTIVE_STATES));
      for (const id of ids) {
        await this.store('endJob', () => storage.endJob(id, 'canceled', this.storeTime.now()));
      }
      if (ids.length > 0) logger.info('canceled unfinished jobs at startup', { count: ids.length });
    }
    // Proves the store answers before anything runs.
    await this.store('nextDueAt', () => storage.nextDueAt());
    if (storage.capabilities.notifies && storage.subscribe !== undefined) {
      const subscribe = storage.subscribe.bind(storage);
      this.#subscription = await this.store('subscribe', () =>
        subscribe((wake) => {
          // This instance woke itself when it created the job.
          if (!this.#ownWakes.delete(wake.jobId)) this.#claims.wake(wake.at);
        }),
      );
    }
    this.#leases.start();
    this.#claims.start();
    this.#maintenance.start();
  }

  state(): EngineState {
    return this.#state;
  }

  execute(run: ActiveRun): Promise<void> {
    this.#leases.held();
    return runToEnd(this, run, {
      deps: (signal) => ({ ...this.#baseDeps, signal }),
      deliver: (held, payload) => this.#deliver(held, payload),
    });
  }

  async store<T>(
    operation: string,
    call: () => Promise<T>,
    context: Record<string, unknown> = {},
  ): Promise<T> {
    try {
      return await call();
    } catch (error) {
      const wrapped = new SchedulerStorageError(operation, error);
      this.options.logger.error('scheduler storage operation failed', {
        operation,
        ...context,
        error: wrapped,
      });
      throw wrapped;
    }
  }

  // ---- public API -------------------------------------------------------------------------

  async schedule(input: JobInput, options: ScheduleOptions = {}): Promise<string> {
    this.#assertRunning();
    const { spec, id: requestedId } = parseJob(input);
    const o = this.options;
    const checked = await checkDefinition(this, spec, options.signal);
    const issues: JobIssue[] = checked.issues;
    const now = this.storeTime.now();
    const first = firstOccurrence(spec.schedule, now);
    if (first === null) {
      issues.push({ path: 'schedule', message: 'the schedule has no occurrence from now on' });
    }
    if (issues.length > 0) {
      throw new InvalidJobError(
        issues,
        checked.cause === undefined ? undefined : { cause: checked.cause },
      );
    }
    options.signal?.throwIfAborted();
    this.#assertRunning();
    const id = requestedId ?? `job-${globalThis.crypto.randomUUID()}`;
    // Noted before the store call: a store may notify before createJob returns (the memory store
    // does), and a note made after its notification would swallow the next one for this id, from
    // another instance.
    const ownWake = first !== null && this.#subscription !== null && !this.#ownWakes.has(id);
    if (ownWake) {
      // Bounded: a notification lost by the store would leave its entry behind.
      if (this.#ownWakes.size >= OWN_WAKES_LIMIT) this.#ownWakes.clear();
      this.#ownWakes.add(id);
    }
    try {
      await o.storage.createJob({
        id,
        spec: spec as unknown as JsonObject,
        nextRunAt: first,
        now,
      });
    } catch (error) {
      if (ownWake) this.#ownWakes.delete(id);
      // A taken id is the caller's to handle (JobExistsError), not a storage failure.
      if (isObject(error) && error.code === 'ERR_JOB_EXISTS') throw error;
      return this.store('createJob', () => Promise.reject(error));
    }
    if (first !== null) this.#claims.wake(first);
    this.events.emit('job:scheduled', () => ({
      instanceId: this.instanceId,
      jobId: id,
      nextRunAt: first === null ? null : new Date(first),
    }));
    return id;
  }

  on<E extends SchedulerEventName>(
    event: E,
    listener: (payload: SchedulerEvents[E]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  async remove(id: string): Promise<boolean> {
    this.#assertRunning();
    const jobId = checkJobId(id);
    const { storage } = this.options;
    const job = await this.store('getJob', () => storage.getJob(jobId));
    if (job === undefined || isTerminalState(job.state)) return false;
    await this.store('endJob', () => storage.endJob(jobId, 'removed', this.storeTime.now()));
    // A claim in flight may hold an occurrence of this job: it must not start.
    this.removedDuringClaim.set(jobId, job.createdAt);
    void this.#claims.settled().then(() => {
      if (this.removedDuringClaim.get(jobId) === job.createdAt)
        this.removedDuringClaim.delete(jobId);
    });
    const heldSince = this.options.clock.now();
    for (const queued of this.runs.dropQueued((run) => run.jobId === jobId)) {
      void recordUnstarted(this, { ...queued, startedAt: null }, 'canceled', 'removed', heldSince);
    }
    const aborted: Promise<void>[] = [];
    for (const run of this.runs.values()) {
      if (run.jobId === jobId) {
        abortRun(run, 'removed');
        aborted.push(run.done);
      }
    }
    this.events.emit('job:removed', () => ({ instanceId: this.instanceId, jobId }));
    await Promise.all(aborted);
    return true;
  }

  async pause(id: string): Promise<boolean> {
    this.#assertRunning();
    return pauseJob(this, checkJobId(id));
  }

  async resume(id: string): Promise<boolean> {
    this.#assertRunning();
    const resumed = await resumeJob(this, checkJobId(id));
    if (resumed === undefined) return false;
    if (resumed.nextRunAt !== null) this.#claims.wake(resumed.nextRunAt);
    return true;
  }

  async trigger(id: string): Promise<string> {
    this.#assertRunning();
    return triggerJob(this, checkJobId(id));
  }

  async update(id: string, changes: JobChanges, options: ScheduleOptions = {}): Promise<void> {
    this.#assertRunning();
    const { nextRunAt } = await updateJob(this, checkJobId(id), changes, options.signal);
    if (nextRunAt !== null) this.#claims.wake(nextRunAt);
  }

  stopOnSignals(options: StopOnSignalsOptions = {}): () => void {
    const { signals, timeout, exit } = checkStopOnSignals(options);
    const onSignal = (signal: NodeJS.Signals): void => {
      remove();
      this.options.logger.info('stopping on signal', { signal });
      void this.stop(timeout === undefined ? {} : { timeout }).finally(() => {
        // Our listener is gone: the signal now does what it would have done without us.
        if (exit) process.kill(process.pid, signal);
      });
    };
    const remove = (): void => {
      for (const signal of signals) process.off(signal, onSignal);
    };
    for (const signal of signals) process.once(signal, onSignal);
    return remove;
  }

  async jobStatus(id: string): Promise<JobStatus | undefined> {
    const jobId = checkJobId(id);
    const job = await this.store('getJob', () => this.options.storage.getJob(jobId));
    return job === undefined ? undefined : toStatus(job);
  }

  async jobDefinition(id: string): Promise<JobDefinition | undefined> {
    return jobDefinition(this, checkJobId(id));
  }

  async jobStatuses(): Promise<JobStatus[]> {
    const jobs = await this.store('queryJobs', () => this.options.storage.queryJobs());
    return jobs.map(toStatus);
  }

  async queryJobStatuses(query: JobStatusQuery = {}): Promise<JobStatus[]> {
    const q = checkStatusQuery(query);
    if (q === null) return [];
    const jobs = await this.store('queryJobs', () => this.options.storage.queryJobs(q));
    return jobs.map(toStatus);
  }

  async jobHistory(id: string): Promise<JobRun[] | undefined> {
    const jobId = checkJobId(id);
    const runs = await this.store('history', () => this.options.storage.history(jobId));
    return runs?.map(toRun);
  }

  async queryJobHistory(id: string, query: JobHistoryQuery = {}): Promise<JobRun[] | undefined> {
    const jobId = checkJobId(id);
    const q = checkHistoryQuery(query);
    const runs = await this.store('history', () => this.options.storage.history(jobId, q));
    return runs?.map(toRun);
  }

  jobCount(): Promise<number> {
    return this.store('countJobs', () => this.options.storage.countJobs(ACTIVE_STATES));
  }

  jobIds(): Promise<string[]> {
    return this.store('jobIds', () => this.options.storage.jobIds(ACTIVE_STATES));
  }

  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopPromise !== null) return this.#stopPromise;
    const timeout = isObject(options) ? (options.timeout ?? this.options.stopTimeout) : undefined;
    if (
      typeof timeout !== 'number' ||
      !Number.isSafeInteger(timeout) ||
      timeout < 0 ||
      timeout > MAX_TIMER_DELAY
    ) {
      return Promise.reject(
        new InvalidSchedulerOptionsError([
          { path: 'timeout', message: 'must be an integer from 0 to 2147483647 (ms)' },
        ]),
      );
    }
    this.#stopPromise = this.#stop(timeout);
    return this.#stopPromise;
  }

  // ---- lifecycle --------------------------------------------------------------------------

  async #stop(timeout: number): Promise<void> {
    const { logger, storage, clock, onStop } = this.options;
    const deadline = clock.now() + timeout;
    const grace = Math.min(MAX_RECORD_GRACE, Math.floor(timeout / 4));
    this.#state = 'stopping';
    this.#claims.stop();
    // Runs given back to the store, for another instance (or the next start) to take over at once.
    const released: ActiveRun[] = this.runs.dropQueued();
    // Callbacks start when runs end: wait for the runs first, then for their callbacks.
    const idle = (): Promise<unknown> => this.runs.whenIdle().then(() => this.#callbacksIdle());
    const drained = await idleWithin(idle(), clock, deadline - grace - clock.now());
    if (!drained) {
      logger.warn('stop timeout reached; aborting runs still in flight', {
        runs: this.runs.size,
        callbacks: this.#callbacks.size,
      });
      for (const run of this.runs.values()) {
        // A run whose outcome is being recorded keeps its lease; the others are given back.
        if (!run.leaseLost && !run.recording) released.push(run);
        abortRun(run, 'stopped');
      }
      this.#callbackController.abort(new SchedulerStoppedError());
      const recorded = await idleWithin(idle(), clock, deadline - clock.now());
      if (!recorded) {
        logger.error('stop bound reached before every aborted run was recorded', {
          runs: this.runs.size,
          callbacks: this.#callbacks.size,
        });
      }
    }
    if (released.length > 0) {
      const releasing = this.#release(released);
      if (!(await idleWithin(releasing, clock, deadline - clock.now()))) {
        logger.error('stop bound reached before the leases of aborted runs were released', {
          runs: released.length,
        });
      }
    }
    this.completions.close();
    this.#leases.stop();
    this.#maintenance.stop();
    const subscription = this.#subscription;
    this.#subscription = null;
    if (subscription !== null) {
      await idleWithin(
        subscription.close().catch(() => undefined),
        clock,
        deadline - clock.now(),
      );
    }
    this.#state = 'stopped';
    if (onStop === 'mark-stopped') {
      const marking = (async () => {
        const ids = await this.store('jobIds', () => storage.jobIds(ACTIVE_STATES));
        for (const id of ids) {
          await this.store('endJob', () => storage.endJob(id, 'stopped', this.storeTime.now()), {
            jobId: id,
          }).catch(() => undefined);
        }
      })().catch(() => undefined);
      await idleWithin(marking, clock, deadline - clock.now());
    }
  }

  /** Gives the leases of runs this instance will not finish back to the store, in batches. */
  async #release(runs: readonly ActiveRun[]): Promise<void> {
    const { storage, instanceId, logger } = this.options;
    for (let start = 0; start < runs.length; start += STORAGE_LIMITS.batch) {
      const leases = runs
        .slice(start, start + STORAGE_LIMITS.batch)
        .map((run) => ({ occurrenceId: run.occurrenceId, fence: run.fence }));
      try {
        const count = await this.store('releaseLeases', () =>
          storage.releaseLeases({ owner: instanceId, leases, now: this.storeTime.now() }),
        );
        logger.info('released the leases of runs aborted by stop', { runs: count });
      } catch {
        // Logged; the leases expire on their own.
      }
    }
  }

  #assertRunning(): void {
    if (this.#state !== 'running') throw new SchedulerStoppedError();
  }

  #callbacksIdle(): Promise<void> {
    return Promise.all([...this.#callbacks]).then(() =>
      this.#callbacks.size === 0 ? undefined : this.#callbacksIdle(),
    );
  }

  /**
   * Sends a recorded run's callback, outside the run's slot, then records what became of it on the
   * run's history entry and tells the listeners.
   */
  #deliver(run: ActiveRun, payload: CallbackPayload): void {
    if (run.spec.callback === null || this.#callbackController.signal.aborted) return;
    const { logger, storage, clock } = this.options;
    const delivery = deliverCallback(run.spec, payload, {
      ...this.#baseDeps,
      signal: this.#callbackController.signal,
    }).then(
      async (result) => {
        const { attempts } = result;
        const outcome: CallbackOutcome = {
          delivered: result.ok,
          attempts,
          statusCode: result.status,
          error: result.error,
          finishedAt: new Date(clock.now()).toISOString(),
        };
        const base = {
          instanceId: this.instanceId,
          jobId: run.jobId,
          occurrenceId: run.occurrenceId,
          scheduledAt: new Date(run.scheduledAt),
          trigger: run.trigger,
        };
        if (result.ok) {
          this.events.emit('callback:delivered', () => ({
            ...base,
            attempts,
            statusCode: result.status ?? 200,
          }));
        } else {
          this.events.emit('callback:failed', () => ({
            ...base,
            attempts,
            statusCode: result.status,
            error: result.error ?? 'not delivered',
          }));
        }
        await this.store(
          'recordCallback',
          () =>
            storage.recordCallback({
              occurrenceId: run.occurrenceId,
              callback: outcome as unknown as JsonObject,
            }),
          { jobId: run.jobId, occurrenceId: run.occurrenceId },
        ).catch(() => undefined);
      },
      (error: unknown) => {
        logger.error('callback failed unexpectedly', { jobId: run.jobId, error });
      },
    );
    this.#callbacks.add(delivery);
    void delivery.finally(() => this.#callbacks.delete(delivery));
  }
}

/**
 * Creates and starts a scheduler. Fails closed: without a usable storage, or without an egress
 * (unless `unsafeAllowAnyUrl: true`), or if storage fails at startup, it throws and nothing runs.
 *
 * @param options - see {@link SchedulerOptions}
 * @returns the running scheduler
 * @throws {@link InvalidSchedulerOptionsError} for unusable options
 * @throws {@link SchedulerStorageError} when storage fails at startup
 * @example
 * ```ts
 * import { createScheduler } from '@again/scheduler';
 * import { createMemoryStorage } from '@again/storage-memory';
 * import { createEgress } from '@again/url-guard';
 *
 * const scheduler = await createScheduler({ storage: createMemoryStorage(), egress: createEgress() });
 * await scheduler.schedule({ schedule: { every: 60_000 }, request: { url: 'https://example.com/' } });
 * ```
 */
export async function createScheduler(options: SchedulerOptions): Promise<Scheduler> {
  const engine = new SchedulerEngine(resolveOptions(options));
  await engine.start();
  return engine;
}
