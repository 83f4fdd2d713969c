/**
 * The scheduler engine: claims due occurrences from storage, runs them within a concurrency limit
 * under renewed, fenced leases, records every outcome and sends callbacks.
 *
 * @module
 */
import {
  isTerminalState,
  JOB_STATES,
  type JobQuery,
  type JobRecord,
  type JobState,
  type JobStore,
  type JsonObject,
  type RunRecord,
  type RunStatus,
} from '@again/storage';
import { type CallbackPayload, deliverCallback } from './callback.js';
import {
  InvalidJobError,
  type JobIssue,
  SchedulerStoppedError,
  SchedulerStorageError,
} from './errors.js';
import type { JobInput, JobSpec } from './job-types.js';
import { occurrenceIdOf, planOccurrences } from './occurrences.js';
import { parseJob } from './parse-job.js';
import { type ExecuteDeps, executeOccurrence, type RunOutcome } from './request.js';
import { firstOccurrence } from './schedule.js';
import {
  InvalidSchedulerOptionsError,
  isObject,
  type ResolvedOptions,
  resolveOptions,
  type SchedulerOptions,
} from './scheduler-options.js';
import { specFromRecord } from './stored-spec.js';
import { createWakeTimer, MAX_TIMER_DELAY, sleepOn, systemClock, type WakeTimer } from './timer.js';

/**
 * A job's status, with the seed's fields plus `nextRunAt`.
 *
 * `runs` counts recorded runs (succeeded, failed, canceled, abandoned; not skipped occurrences),
 * `activeRuns` runs in flight (on any instance), `lastRun` the last recorded run's payload.
 *
 * @example
 * ```ts
 * const status = await scheduler.jobStatus(id);
 * if (status?.state === 'completed') console.log(status.runs, status.lastRun?.success);
 * ```
 */
export interface JobStatus {
  /** The job id. */
  readonly jobId: string;
  /** The job state. */
  readonly state: JobState;
  /** When this job (this incarnation of the id) was created. */
  readonly createdAt: Date;
  /** When the job last changed. */
  readonly updatedAt: Date;
  /** Recorded runs. */
  readonly runs: number;
  /** Runs in flight. */
  readonly activeRuns: number;
  /** The last recorded run's payload, or `null`. */
  readonly lastRun: CallbackPayload | null;
  /** When the next occurrence is due, or `null` when there is none. */
  readonly nextRunAt: Date | null;
}

/**
 * One history entry: a finished run or a skipped occurrence (the seed's `JobRun`).
 *
 * @example
 * ```ts
 * for (const run of (await scheduler.jobHistory(id)) ?? []) {
 *   console.log(run.sequence, run.status, run.reason ?? run.payload?.status_code);
 * }
 * ```
 */
export interface JobRun {
  /** Increasing per job, from 1. */
  readonly sequence: number;
  /** `succeeded`, `failed`, `canceled`, `skipped` or `abandoned`. */
  readonly status: Exclude<RunStatus, 'running'>;
  /** The occurrence's scheduled time. */
  readonly scheduledAt: Date;
  /** The occurrence id (sent as the `Idempotency-Key` header). */
  readonly occurrenceId: string;
  /** The run's payload (what the callback receives), or `null` for skipped occurrences. */
  readonly payload: CallbackPayload | null;
  /** Why the occurrence was skipped, canceled or abandoned (`missed…`, `overlap`, `removed`, …). */
  readonly reason: string | null;
}

/**
 * Filters for {@link Scheduler.queryJobStatuses} (the seed's `JobStatusQuery`).
 *
 * @example
 * ```ts
 * await scheduler.queryJobStatuses({ states: ['scheduled', 'running'], offset: 20, limit: 10 });
 * ```
 */
export interface JobStatusQuery {
  /** Only these ids (unknown ids are ignored); empty or absent means all. */
  readonly ids?: readonly string[];
  /** Only these states; empty or absent means all. */
  readonly states?: readonly JobState[];
  /** Skip this many (negative counts as 0). */
  readonly offset?: number;
  /** At most this many; 0, negative or absent means no limit. */
  readonly limit?: number;
}

/**
 * Filters for {@link Scheduler.queryJobHistory} (the seed's `JobHistoryQuery`).
 *
 * @example
 * ```ts
 * await scheduler.queryJobHistory(id, { fromSequence: 2, limit: 1 }); // the last entry from #2 on
 * ```
 */
export interface JobHistoryQuery {
  /** Only entries with `sequence >= fromSequence` (when > 0). */
  readonly fromSequence?: number;
  /** Only the last `limit` entries (when > 0), still in ascending order. */
  readonly limit?: number;
}

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
   * their next lease renewal.
   *
   * @param id - the job id
   * @returns `true` if an unfinished job was removed, `false` if there is none
   * @throws {@link SchedulerStoppedError} after `stop()`
   * @throws {@link SchedulerStorageError} when storage fails
   */
  remove(id: string): Promise<boolean>;
  /**
   * A job's status.
   *
   * @param id - the job id
   * @returns the status, or `undefined` for an unknown id
   * @throws {@link SchedulerStorageError} when storage fails
   */
  jobStatus(id: string): Promise<JobStatus | undefined>;
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
   * Stops gracefully: no new claims, in-flight runs and callbacks get `timeout` ms to finish,
   * then the rest are aborted and recorded `canceled` (reason `stopped`). Idempotent; later
   * calls return the same promise. Reads keep working afterwards.
   *
   * @param options - `timeout` overrides the scheduler's `stopTimeout`
   * @returns a promise that resolves once everything is recorded
   */
  stop(options?: StopOptions): Promise<void>;
}

/** Most skipped occurrences written per claim (history keeps at most `historyLimit` anyway). */
const MAX_SKIPPED_RECORDED = 1_000;
/** Claim rounds per wake-up before yielding to the event loop. */
const MAX_ROUNDS_PER_WAKE = 100;
/** Delay before retrying after a storage failure in the background loop (ms). */
const STORAGE_RETRY_DELAY = 1_000;
/** Parsed job specs kept in memory. */
const SPEC_CACHE_LIMIT = 10_000;
const ACTIVE_STATES: readonly JobState[] = Object.freeze(['scheduled', 'running']);

interface ActiveRun {
  readonly jobId: string;
  readonly occurrenceId: string;
  readonly scheduledAt: number;
  readonly controller: AbortController;
  fence: number;
  leaseUntil: number;
  cancelReason: string | null;
  leaseLost: boolean;
  done: Promise<void>;
}

/**
 * Thrown by `queryJobStatuses` and `queryJobHistory` for a malformed query (an unknown state, a
 * paging value that is not an integer). Lists every problem.
 *
 * @example
 * ```ts
 * try {
 *   await scheduler.queryJobStatuses({ states: ['sleeping'] });
 * } catch (error) {
 *   if (error instanceof InvalidQueryError) console.log(error.issues);
 * }
 * ```
 */
export class InvalidQueryError extends Error {
  override readonly name = 'InvalidQueryError' as const;
  readonly code = 'ERR_INVALID_QUERY' as const;
  /** Every problem, each with the query field as `path`. */
  readonly issues: ReadonlyArray<JobIssue>;

  /** @param issues - every problem found (at least one) */
  constructor(issues: ReadonlyArray<JobIssue>) {
    super(`invalid query: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }
}

/** A paging field: a safe integer (the seed's rules for negative and zero values apply). */
function integerField(path: string, value: unknown, issues: JobIssue[]): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  issues.push({ path, message: 'must be an integer' });
  return 0;
}

function toStatus(job: JobRecord): JobStatus {
  return {
    jobId: job.id,
    state: job.state,
    createdAt: new Date(job.createdAt),
    updatedAt: new Date(job.updatedAt),
    runs: job.runs,
    activeRuns: job.activeRuns,
    lastRun: (job.lastRun?.result ?? null) as CallbackPayload | null,
    nextRunAt: job.nextRunAt === null ? null : new Date(job.nextRunAt),
  };
}

function toRun(run: RunRecord): JobRun {
  return {
    sequence: run.sequence,
    // history() returns finished and skipped entries only.
    status: run.status as Exclude<RunStatus, 'running'>,
    scheduledAt: new Date(run.scheduledAt),
    occurrenceId: run.occurrenceId,
    payload: (run.result ?? null) as CallbackPayload | null,
    reason: run.reason,
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A payload for a run this instance records without having executed it. */
function syntheticPayload(
  run: Pick<RunRecord, 'jobId' | 'occurrenceId' | 'scheduledAt' | 'startedAt'>,
  finishedAt: number,
  error: string,
  canceled: boolean,
): CallbackPayload {
  const iso = (time: number): string => new Date(time).toISOString();
  const payload: CallbackPayload = {
    job_id: run.jobId,
    scheduled_at: iso(run.scheduledAt),
    started_at: iso(run.startedAt ?? run.scheduledAt),
    finished_at: iso(finishedAt),
    attempts: 0,
    success: false,
    error,
    occurrence_id: run.occurrenceId,
  };
  return canceled ? { ...payload, canceled: true } : payload;
}

class SchedulerEngine implements Scheduler {
  readonly instanceId: string;
  readonly #o: ResolvedOptions;
  readonly #timer: WakeTimer;
  readonly #inFlight = new Map<string, ActiveRun>();
  readonly #callbacks = new Set<Promise<void>>();
  readonly #callbackController = new AbortController();
  readonly #specs = new Map<string, { readonly createdAt: number; readonly spec: JobSpec }>();
  readonly #idleWaiters = new Set<() => void>();
  /** Jobs removed while a claim round was running: id → createdAt (cleared after the round). */
  readonly #removedDuringPump = new Map<string, number>();
  #state: 'running' | 'stopping' | 'stopped' = 'running';
  #slots = 0;
  #starved = false;
  #pumping: Promise<void> | null = null;
  #pumpAgain = false;
  #dueAt: number | null = null;
  #nextTakeoverAt = 0;
  #nextRenewAt = 0;
  #retryAt: number | null = null;
  #stopPromise: Promise<void> | null = null;
  /** What every run and callback shares; `#deps` adds the signal. */
  readonly #baseDeps: Omit<ExecuteDeps, 'signal'>;

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.instanceId = options.instanceId;
    const { fetch, clock, logger, retriers } = options;
    this.#baseDeps = {
      fetch,
      now: () => clock.now(),
      logger,
      retriers,
      // Retriers of data-defined policies, keyed by the policy's values (so never stale).
      policyRetriers: new Map(),
      ...(clock === systemClock
        ? {}
        : { sleep: (ms: number, s?: AbortSignal) => sleepOn(clock, ms, s) }),
    };
    this.#timer = createWakeTimer(options.clock, () => {
      void this.#pump();
    });
  }

  /** Startup: reconcile per `onRestart`, prove storage works, start the loop. */
  async start(): Promise<void> {
    const { storage, clock, onRestart } = this.#o;
    if (onRestart === 'cancel') {
      const ids = await this.#store('jobIds', () => storage.jobIds(ACTIVE_STATES));
      for (const id of ids) {
        await this.#store('endJob', () => storage.endJob(id, 'canceled', clock.now()));
      }
      if (ids.length > 0) {
        this.#o.logger.info('canceled unfinished jobs at startup', { count: ids.length });
      }
    }
    this.#dueAt = await this.#store('nextDueAt', () => storage.nextDueAt());
    this.#nextTakeoverAt = clock.now();
    void this.#pump();
  }

  // ---- public API -------------------------------------------------------------------------

  async schedule(input: JobInput, options: ScheduleOptions = {}): Promise<string> {
    this.#assertRunning();
    const parsed = parseJob(input);
    const spec = parsed.spec;
    const issues: JobIssue[] = [];
    let cause: unknown;
    const retrier = spec.retry.retrier;
    if (retrier !== null && !this.#o.retriers.has(retrier)) {
      issues.push({
        path: 'retryPolicy.retrier',
        message: `no retrier named "${retrier}" is registered on this scheduler`,
      });
    }
    const check = this.#o.check;
    if (check !== null) {
      const urls: Array<[string, string]> = [['request.url', spec.request.url]];
      if (spec.callback !== null) urls.push(['callback.url', spec.callback.url]);
      const results = await Promise.allSettled(
        urls.map(async ([, url]) => check(url, options.signal)),
      );
      options.signal?.throwIfAborted();
      for (const [index, result] of results.entries()) {
        const path = (urls[index] as [string, string])[0];
        if (result.status === 'rejected') {
          cause ??= result.reason;
          issues.push({ path, message: `URL refused: ${errorText(result.reason)}` });
        } else if (isObject(result.value) && result.value.ok === false) {
          cause ??= result.value;
          const reason = result.value.reason ?? result.value.code;
          issues.push({
            path,
            message: `URL refused${typeof reason === 'string' ? `: ${reason}` : ''}`,
          });
        }
      }
    }
    const now = this.#o.clock.now();
    const first = firstOccurrence(spec.schedule, now);
    if (first === null) {
      issues.push({ path: 'schedule', message: 'the schedule has no occurrence from now on' });
    }
    if (issues.length > 0) {
      throw new InvalidJobError(issues, cause === undefined ? undefined : { cause });
    }
    options.signal?.throwIfAborted();
    this.#assertRunning();
    const id = parsed.id ?? `job-${globalThis.crypto.randomUUID()}`;
    const created = await this.#store(
      'createJob',
      () =>
        this.#o.storage.createJob({
          id,
          spec: spec as unknown as JsonObject,
          nextRunAt: first,
          now,
        }),
      true,
    );
    this.#cacheSpec(id, created.createdAt, spec);
    if (first !== null) {
      if (this.#pumping !== null) {
        // A loop turn in flight may have read the due time before this job existed (and
        // `#dueAt` may still be a time it has just claimed): let it take one more turn.
        this.#pumpAgain = true;
      } else if (this.#dueAt === null || first < this.#dueAt) {
        this.#dueAt = first;
        this.#armTimer();
      }
    }
    return id;
  }

  async remove(id: string): Promise<boolean> {
    this.#assertRunning();
    const { storage, clock } = this.#o;
    const job = await this.#store('getJob', () => storage.getJob(id));
    if (job === undefined || isTerminalState(job.state)) return false;
    await this.#store('endJob', () => storage.endJob(id, 'removed', clock.now()));
    this.#specs.delete(id);
    // A claim of this job may be in flight in the loop: its run must not start.
    if (this.#pumping !== null) this.#removedDuringPump.set(id, job.createdAt);
    const aborted: Promise<void>[] = [];
    for (const active of this.#inFlight.values()) {
      if (active.jobId === id) {
        this.#abort(active, 'removed');
        aborted.push(active.done);
      }
    }
    await Promise.all(aborted);
    return true;
  }

  async jobStatus(id: string): Promise<JobStatus | undefined> {
    const job = await this.#store('getJob', () => this.#o.storage.getJob(id));
    return job === undefined ? undefined : toStatus(job);
  }

  async jobStatuses(): Promise<JobStatus[]> {
    const jobs = await this.#store('queryJobs', () => this.#o.storage.queryJobs());
    return jobs.map(toStatus);
  }

  async queryJobStatuses(query: JobStatusQuery = {}): Promise<JobStatus[]> {
    const issues: JobIssue[] = [];
    const q: { -readonly [K in keyof JobQuery]: JobQuery[K] } = {};
    if (!isObject(query)) throw new InvalidQueryError([{ path: '', message: 'must be an object' }]);
    if (query.ids !== undefined) {
      if (!Array.isArray(query.ids) || !query.ids.every((id) => typeof id === 'string')) {
        issues.push({ path: 'ids', message: 'must be an array of strings' });
      } else q.ids = [...query.ids];
    }
    if (query.states !== undefined) {
      if (!Array.isArray(query.states)) {
        issues.push({ path: 'states', message: 'must be an array of job states' });
      } else {
        for (const state of query.states) {
          if (!JOB_STATES.includes(state)) {
            issues.push({ path: 'states', message: `unknown job state "${String(state)}"` });
          }
        }
        q.states = [...query.states];
      }
    }
    if (query.offset !== undefined) q.offset = integerField('offset', query.offset, issues);
    if (query.limit !== undefined) q.limit = integerField('limit', query.limit, issues);
    if (issues.length > 0) throw new InvalidQueryError(issues);
    const jobs = await this.#store('queryJobs', () => this.#o.storage.queryJobs(q));
    return jobs.map(toStatus);
  }

  async jobHistory(id: string): Promise<JobRun[] | undefined> {
    const runs = await this.#store('history', () => this.#o.storage.history(id));
    return runs?.map(toRun);
  }

  async queryJobHistory(id: string, query: JobHistoryQuery = {}): Promise<JobRun[] | undefined> {
    const issues: JobIssue[] = [];
    const q: { fromSequence?: number; limit?: number } = {};
    if (!isObject(query)) throw new InvalidQueryError([{ path: '', message: 'must be an object' }]);
    if (query.fromSequence !== undefined) {
      q.fromSequence = integerField('fromSequence', query.fromSequence, issues);
    }
    if (query.limit !== undefined) q.limit = integerField('limit', query.limit, issues);
    if (issues.length > 0) throw new InvalidQueryError(issues);
    const runs = await this.#store('history', () => this.#o.storage.history(id, q));
    return runs?.map(toRun);
  }

  jobCount(): Promise<number> {
    return this.#store('countJobs', () => this.#o.storage.countJobs(ACTIVE_STATES));
  }

  jobIds(): Promise<string[]> {
    return this.#store('jobIds', () => this.#o.storage.jobIds(ACTIVE_STATES));
  }

  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopPromise !== null) return this.#stopPromise;
    const timeout = options.timeout ?? this.#o.stopTimeout;
    if (!Number.isSafeInteger(timeout) || timeout < 0 || timeout > MAX_TIMER_DELAY) {
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
    const { logger, storage, clock } = this.#o;
    this.#state = 'stopping';
    this.#armTimer();
    await this.#pumping;
    if (!this.#isIdle()) {
      const bound = new AbortController();
      const drained = await Promise.race([
        this.#whenIdle().then(() => true),
        sleepOn(clock, timeout, bound.signal).then(
          () => false,
          () => false,
        ),
      ]);
      bound.abort();
      if (!drained) {
        logger.warn('stop timeout reached; aborting runs still in flight', {
          runs: this.#inFlight.size,
          callbacks: this.#callbacks.size,
        });
        for (const active of this.#inFlight.values()) this.#abort(active, 'stopped');
        this.#callbackController.abort(new SchedulerStoppedError());
        await this.#whenIdle();
      }
    }
    this.#state = 'stopped';
    this.#timer.cancel();
    if (this.#o.onStop === 'mark-stopped') {
      const ids = await this.#store('jobIds', () => storage.jobIds(ACTIVE_STATES));
      for (const id of ids) {
        try {
          await storage.endJob(id, 'stopped', clock.now());
        } catch (error) {
          logger.error('scheduler storage operation failed', {
            operation: 'endJob',
            jobId: id,
            error: new SchedulerStorageError('endJob', error),
          });
        }
      }
    }
  }

  #assertRunning(): void {
    if (this.#state !== 'running') throw new SchedulerStoppedError();
  }

  #isIdle(): boolean {
    return this.#inFlight.size === 0 && this.#callbacks.size === 0;
  }

  #whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idleWaiters.add(resolve);
    });
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters.clear();
  }

  /** Runs a storage call; failures become {@link SchedulerStorageError} (logged, then thrown). */
  async #store<T>(
    operation: string,
    call: () => Promise<T>,
    passThroughExists = false,
  ): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (passThroughExists && isObject(error) && error.code === 'ERR_JOB_EXISTS') throw error;
      const wrapped = new SchedulerStorageError(operation, error);
      this.#o.logger.error('scheduler storage operation failed', { operation, error: wrapped });
      throw wrapped;
    }
  }

  #cacheSpec(id: string, createdAt: number, spec: JobSpec): void {
    this.#specs.delete(id);
    // When full, start over. Evicting the oldest entry instead (`keys().next()` + `delete`) costs
    // O(n) per eviction in V8, which skips the holes of earlier deletions on every new iterator;
    // with more jobs than the limit that made `schedule()` quadratic. The cache only saves
    // re-validating stored definitions, so a miss costs one `specFromRecord`.
    if (this.#specs.size >= SPEC_CACHE_LIMIT) this.#specs.clear();
    this.#specs.set(id, { createdAt, spec });
  }

  #specOf(job: JobRecord): JobSpec {
    const cached = this.#specs.get(job.id);
    if (cached !== undefined && cached.createdAt === job.createdAt) return cached.spec;
    const spec = specFromRecord(job.spec);
    this.#cacheSpec(job.id, job.createdAt, spec);
    return spec;
  }

  // ---- the loop ---------------------------------------------------------------------------

  #armTimer(): void {
    if (this.#state === 'stopped') {
      this.#timer.cancel();
      return;
    }
    const now = this.#o.clock.now();
    let target: number | null = null;
    const consider = (time: number | null): void => {
      if (time !== null && Number.isFinite(time) && (target === null || time < target)) {
        target = time;
      }
    };
    if (this.#inFlight.size > 0) consider(this.#nextRenewAt);
    if (this.#state === 'running') {
      if (this.#slots < this.#o.concurrency) consider(this.#dueAt);
      consider(this.#nextTakeoverAt);
      consider(this.#retryAt);
    }
    if (target !== null && target < now) target = now;
    this.#timer.wakeAt(target);
  }

  /** Runs one loop turn now (or right after the current one). */
  #pump(): Promise<void> {
    if (this.#pumping !== null) {
      this.#pumpAgain = true;
      return this.#pumping;
    }
    this.#pumping = (async () => {
      try {
        do {
          this.#pumpAgain = false;
          await this.#turn();
        } while (this.#pumpAgain && this.#state === 'running');
      } finally {
        this.#pumping = null;
        this.#removedDuringPump.clear();
        this.#armTimer();
      }
    })();
    return this.#pumping;
  }

  async #turn(): Promise<void> {
    const { clock, leaseDuration, pollInterval, storage, logger } = this.#o;
    const now = clock.now();
    if (this.#inFlight.size > 0 && now >= this.#nextRenewAt) {
      this.#nextRenewAt = now + Math.floor(leaseDuration / 3);
      await this.#renewLeases(now);
    }
    if (this.#state !== 'running') return;
    this.#retryAt = null;
    try {
      if (now >= this.#nextTakeoverAt) {
        // Without polling (one process on its own store) only startup looks for orphaned runs.
        this.#nextTakeoverAt = pollInterval > 0 ? now + pollInterval : Number.POSITIVE_INFINITY;
        await this.#takeOver(now);
      }
      await this.#claimDue();
      this.#dueAt = await this.#store('nextDueAt', () => storage.nextDueAt());
    } catch (error) {
      // Already logged by #store; try again shortly rather than spinning or giving up.
      if (!(error instanceof SchedulerStorageError)) {
        logger.error('scheduler loop failed', { error });
      }
      // The due time is unknown now; a stale one in the past would spin the loop.
      this.#dueAt = null;
      this.#retryAt = clock.now() + STORAGE_RETRY_DELAY;
    }
  }

  async #claimDue(): Promise<void> {
    const { storage, clock, claimBatchSize, concurrency } = this.#o;
    this.#starved = false;
    for (let round = 0; round < MAX_ROUNDS_PER_WAKE; round++) {
      if (this.#state !== 'running') return;
      if (this.#slots >= concurrency) {
        this.#starved = true;
        return;
      }
      const now = clock.now();
      // Read no more jobs than there are free slots: a freed slot claims one job, not a batch.
      const limit = Math.min(claimBatchSize, concurrency - this.#slots);
      const jobs = await this.#store('dueJobs', () => storage.dueJobs(now, limit));
      if (jobs.length === 0) return;
      for (const job of jobs) {
        if (this.#state !== 'running') return;
        if (this.#slots >= concurrency) {
          this.#starved = true;
          return;
        }
        await this.#advance(job, now);
      }
    }
    // More work than one wake-up should take: the due time read next is in the past, so the
    // timer continues on its next turn and lets I/O in between.
  }

  /** Moves one due job forward by one claim. */
  async #advance(job: JobRecord, now: number): Promise<void> {
    const { storage, logger, leaseDuration, historyLimit, missedRunGrace, instanceId } = this.#o;
    if (job.nextRunAt === null) return;
    let spec: JobSpec;
    try {
      spec = this.#specOf(job);
    } catch (error) {
      // A definition this version cannot read would be due forever: end it, loudly.
      logger.error('job definition in storage is unreadable; canceling the job', {
        jobId: job.id,
        error,
      });
      await this.#store('endJob', () => storage.endJob(job.id, 'canceled', now));
      return;
    }
    const plan = planOccurrences(job.id, spec, job.nextRunAt, job.started, {
      now,
      missedRunGrace,
      recordLimit: Math.min(historyLimit, MAX_SKIPPED_RECORDED),
      busy: job.activeRuns > 0,
    });
    if (plan.run !== null) this.#slots++;
    let result: Awaited<ReturnType<JobStore['claimOccurrence']>>;
    try {
      result = await this.#store('claimOccurrence', () =>
        storage.claimOccurrence({
          jobId: job.id,
          expectedNextRunAt: job.nextRunAt as number,
          nextRunAt: plan.nextRunAt,
          ...(plan.run === null
            ? {}
            : {
                run: {
                  scheduledAt: plan.run,
                  occurrenceId: occurrenceIdOf(job.id, plan.run),
                  owner: instanceId,
                  leaseUntil: now + leaseDuration,
                },
              }),
          ...(plan.skipped.length > 0 ? { skipped: plan.skipped } : {}),
          now,
          historyLimit,
        }),
      );
    } catch (error) {
      if (plan.run !== null) this.#slots--;
      throw error;
    }
    if (result === null || result.run === null) {
      // Lost the compare-and-set to another instance, or nothing to run: give the slot back.
      if (plan.run !== null) this.#slots--;
    } else if (this.#removedDuringPump.get(job.id) === result.job.createdAt) {
      this.#slots--;
      await this.#recordWithoutRunning(result.run, 'canceled', 'removed', now);
    } else {
      this.#startRun(spec, result.run);
    }
    if (plan.skipped.length > 0 && result !== null) {
      logger.debug('skipped occurrences', {
        jobId: job.id,
        count: plan.skipped.length,
        reason: plan.skipped[plan.skipped.length - 1]?.reason,
      });
    }
    if (
      result !== null &&
      result.job.nextRunAt === null &&
      result.job.activeRuns === 0 &&
      !isTerminalState(result.job.state)
    ) {
      // Nothing left to run or wait for: the job is complete now, not one interval later (W9).
      await this.#store('endJob', () => storage.endJob(job.id, 'completed', now));
    }
  }

  /** Takes over runs whose owner's lease expired (the owner died or stalled). */
  async #takeOver(now: number): Promise<void> {
    const { storage, logger, leaseDuration, claimBatchSize, instanceId, concurrency } = this.#o;
    const free = concurrency - this.#slots;
    if (free <= 0) return;
    const taken = await this.#store('claimExpiredRuns', () =>
      storage.claimExpiredRuns({
        owner: instanceId,
        now,
        leaseUntil: now + leaseDuration,
        limit: Math.min(claimBatchSize, free),
      }),
    );
    for (const { job, run } of taken) {
      const local = this.#inFlight.get(run.occurrenceId);
      if (local !== undefined) {
        // Our own run whose renewal came late: keep running under the new fence.
        local.fence = run.fence;
        local.leaseUntil = run.leaseUntil ?? now + leaseDuration;
        continue;
      }
      let spec: JobSpec | null = null;
      try {
        spec = this.#specOf(job);
      } catch (error) {
        logger.error('job definition in storage is unreadable', { jobId: job.id, error });
      }
      if (spec === null || isTerminalState(job.state)) {
        const reason = spec === null ? 'unreadable job definition' : `job ${job.state}`;
        await this.#recordWithoutRunning(run, 'canceled', reason, now);
      } else if (spec.missedRuns.policy === 'skip') {
        await this.#recordWithoutRunning(run, 'abandoned', 'owner-lost', now);
      } else {
        logger.info('re-running an occurrence whose owner lost its lease', {
          jobId: job.id,
          occurrenceId: run.occurrenceId,
          previousOwner: run.owner,
        });
        this.#slots++;
        this.#startRun(spec, run);
      }
    }
  }

  async #recordWithoutRunning(
    run: RunRecord,
    status: 'canceled' | 'abandoned',
    reason: string,
    now: number,
  ): Promise<void> {
    const error =
      status === 'abandoned'
        ? 'the instance running this occurrence lost its lease; not run again (missed-run policy skip)'
        : `canceled: ${reason}`;
    const ok = await this.#store('completeRun', () =>
      this.#o.storage.completeRun({
        occurrenceId: run.occurrenceId,
        owner: this.#o.instanceId,
        fence: run.fence,
        status,
        finishedAt: now,
        result: syntheticPayload(run, now, error, status === 'canceled') as unknown as JsonObject,
        reason,
        historyLimit: this.#o.historyLimit,
      }),
    );
    if (!ok) {
      this.#o.logger.warn('could not record a taken-over run: lease lost again', {
        occurrenceId: run.occurrenceId,
      });
    }
  }

  async #renewLeases(now: number): Promise<void> {
    const { storage, logger, leaseDuration, instanceId } = this.#o;
    const until = now + leaseDuration;
    const jobs = new Set<string>();
    for (const active of [...this.#inFlight.values()]) {
      if (active.controller.signal.aborted) continue;
      let renewed: boolean;
      try {
        renewed = await storage.renewLease(
          { occurrenceId: active.occurrenceId, owner: instanceId, fence: active.fence },
          until,
        );
      } catch (error) {
        logger.error('scheduler storage operation failed', {
          operation: 'renewLease',
          jobId: active.jobId,
          error: new SchedulerStorageError('renewLease', error),
        });
        if (now >= active.leaseUntil) {
          active.leaseLost = true;
          this.#abort(active, 'lease-lost');
        }
        continue;
      }
      if (!renewed) {
        logger.warn('lost the lease of a running occurrence; aborting it', {
          jobId: active.jobId,
          occurrenceId: active.occurrenceId,
        });
        active.leaseLost = true;
        this.#abort(active, 'lease-lost');
        continue;
      }
      active.leaseUntil = until;
      jobs.add(active.jobId);
    }
    // Notice jobs removed or canceled through another instance.
    for (const id of jobs) {
      let job: JobRecord | undefined;
      try {
        job = await storage.getJob(id);
      } catch (error) {
        logger.error('scheduler storage operation failed', {
          operation: 'getJob',
          jobId: id,
          error: new SchedulerStorageError('getJob', error),
        });
        continue;
      }
      const state = job?.state ?? 'removed';
      if (state === 'removed' || state === 'canceled') {
        for (const active of this.#inFlight.values()) {
          if (active.jobId === id) this.#abort(active, state);
        }
      }
    }
  }

  // ---- runs -------------------------------------------------------------------------------

  #abort(active: ActiveRun, reason: string): void {
    if (active.controller.signal.aborted) return;
    active.cancelReason = reason;
    active.controller.abort(
      reason === 'stopped' ? new SchedulerStoppedError() : new DOMException(reason, 'AbortError'),
    );
  }

  #deps(signal: AbortSignal): ExecuteDeps {
    return { ...this.#baseDeps, signal };
  }

  /** Starts a claimed run; its slot is already reserved. */
  #startRun(spec: JobSpec, run: RunRecord): void {
    const now = this.#o.clock.now();
    const active: ActiveRun = {
      jobId: run.jobId,
      occurrenceId: run.occurrenceId,
      scheduledAt: run.scheduledAt,
      controller: new AbortController(),
      fence: run.fence,
      leaseUntil: run.leaseUntil ?? now + this.#o.leaseDuration,
      cancelReason: null,
      leaseLost: false,
      done: Promise.resolve(),
    };
    if (this.#inFlight.size === 0) {
      this.#nextRenewAt = now + Math.floor(this.#o.leaseDuration / 3);
    }
    this.#inFlight.set(run.occurrenceId, active);
    active.done = this.#run(spec, active).finally(() => {
      this.#inFlight.delete(active.occurrenceId);
      this.#slots--;
      this.#notifyIdle();
      if (this.#starved && this.#state === 'running') void this.#pump();
      else if (this.#pumping === null) this.#armTimer();
    });
  }

  async #run(spec: JobSpec, active: ActiveRun): Promise<void> {
    const { storage, logger, clock, instanceId, historyLimit } = this.#o;
    const occurrence = {
      jobId: active.jobId,
      scheduledAt: active.scheduledAt,
      occurrenceId: active.occurrenceId,
    };
    let outcome: RunOutcome;
    try {
      outcome = await executeOccurrence(spec, occurrence, this.#deps(active.controller.signal));
    } catch (error) {
      // executeOccurrence reports failures in its outcome; this is a defect, not a run failure.
      logger.error('run failed unexpectedly', { jobId: active.jobId, error });
      const now = clock.now();
      const payload = syntheticPayload(
        { ...occurrence, startedAt: now },
        now,
        errorText(error),
        active.controller.signal.aborted,
      );
      outcome = { payload, success: false, canceled: active.controller.signal.aborted };
    }
    if (active.leaseLost) {
      logger.warn('run finished after its lease was lost; its result is not recorded', {
        jobId: active.jobId,
        occurrenceId: active.occurrenceId,
      });
      return;
    }
    const status = outcome.canceled ? 'canceled' : outcome.success ? 'succeeded' : 'failed';
    let recorded = false;
    try {
      recorded = await storage.completeRun({
        occurrenceId: active.occurrenceId,
        owner: instanceId,
        fence: active.fence,
        status,
        finishedAt: clock.now(),
        result: outcome.payload as unknown as JsonObject,
        ...(status === 'canceled' ? { reason: active.cancelReason ?? 'canceled' } : {}),
        historyLimit,
      });
    } catch (error) {
      logger.error('scheduler storage operation failed', {
        operation: 'completeRun',
        jobId: active.jobId,
        error: new SchedulerStorageError('completeRun', error),
      });
      return;
    }
    if (!recorded) {
      logger.warn('run result refused by storage: another instance took the run over', {
        jobId: active.jobId,
        occurrenceId: active.occurrenceId,
      });
      return;
    }
    if (spec.callback !== null && !this.#callbackController.signal.aborted) {
      const delivery = this.#deliver(spec, outcome.payload);
      this.#callbacks.add(delivery);
      void delivery.finally(() => {
        this.#callbacks.delete(delivery);
        this.#notifyIdle();
      });
    }
  }

  async #deliver(spec: JobSpec, payload: CallbackPayload): Promise<void> {
    try {
      await deliverCallback(spec, payload, this.#deps(this.#callbackController.signal));
    } catch (error) {
      this.#o.logger.error('callback failed unexpectedly', { jobId: payload.job_id, error });
    }
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
