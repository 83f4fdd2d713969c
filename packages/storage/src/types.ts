/**
 * The storage contracts of the @again scheduler.
 *
 * A store keeps two things:
 * - **jobs**: one row per job id: the job definition (`spec`, opaque JSON owned by the scheduler),
 *   its state, the time of its next occurrence, a fencing counter and run counters;
 * - **the run ledger**: one entry per occurrence, unique per `(jobId, scheduledAt)`, holding the
 *   lease of a running occurrence and, once finished, its result. Finished entries are the job's
 *   history.
 *
 * Storage never interprets schedules: the scheduler computes occurrence times and asks the store to
 * move a job from one occurrence to the next with a compare-and-set on `nextRunAt`
 * ({@link JobStore.claimOccurrence}). That single atomic step is what makes several scheduler
 * instances safe on one shared store.
 *
 * All times are milliseconds since the Unix epoch, taken from the scheduler's clock.
 *
 * @module
 */

/**
 * A JSON value, as stored by every adapter.
 *
 * @example
 * ```ts
 * const value: JsonValue = { tags: ['a', 'b'], retries: 3, enabled: true, note: null };
 * ```
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * A JSON object.
 *
 * @example
 * ```ts
 * const spec: JsonObject = { url: 'https://example.com/hook', every: 60_000 };
 * ```
 */
export type JsonObject = { [key: string]: JsonValue };

/**
 * The state of a job, with the seed's names.
 *
 * - `scheduled`: waiting for its next occurrence;
 * - `running`: at least one occurrence is running;
 * - `completed`: the schedule is exhausted and its last run has finished;
 * - `canceled`: ended by a cancellation (for example a cancel-on-restart policy);
 * - `removed`: removed by a user;
 * - `stopped`: ended because its scheduler stopped and the store does not resume jobs.
 *
 * @example
 * ```ts
 * const active: JobState[] = ['scheduled', 'running'];
 * await store.queryJobs({ states: active });
 * ```
 */
export type JobState = 'scheduled' | 'running' | 'completed' | 'canceled' | 'removed' | 'stopped';

/**
 * The states a job never leaves (except by `removed`, which overrides every other state).
 *
 * @example
 * ```ts
 * await store.endJob('job-1', 'canceled' satisfies TerminalJobState, Date.now());
 * ```
 */
export type TerminalJobState = 'completed' | 'canceled' | 'removed' | 'stopped';

/**
 * Every job state, in a stable order.
 *
 * @example
 * ```ts
 * for (const state of JOB_STATES) console.log(state, await store.countJobs([state]));
 * ```
 */
export const JOB_STATES: readonly JobState[] = Object.freeze([
  'scheduled',
  'running',
  'completed',
  'canceled',
  'removed',
  'stopped',
]);

/**
 * The terminal job states.
 *
 * @example
 * ```ts
 * const finished = await store.countJobs(TERMINAL_JOB_STATES);
 * ```
 */
export const TERMINAL_JOB_STATES: readonly TerminalJobState[] = Object.freeze([
  'completed',
  'canceled',
  'removed',
  'stopped',
]);

/**
 * Whether a job state is terminal.
 *
 * @param state - a job state
 * @returns true for `completed`, `canceled`, `removed` and `stopped`
 * @example
 * ```ts
 * isTerminalState('completed'); // true
 * isTerminalState('running'); // false
 * ```
 */
export function isTerminalState(state: JobState): state is TerminalJobState {
  return state !== 'scheduled' && state !== 'running';
}

/**
 * The status of a ledger entry.
 *
 * - `running`: claimed and leased to an owner;
 * - `succeeded` / `failed`: finished with that outcome;
 * - `canceled`: the run was cancelled (job removed, scheduler stopped without draining);
 * - `skipped`: the occurrence was never started (missed-run or overlap policy); `reason` says why;
 * - `abandoned`: its owner's lease expired and the missed-run policy chose not to run it again.
 *
 * @example
 * ```ts
 * const failed = (await store.history('job-1'))?.filter((run) => run.status === ('failed' satisfies RunStatus));
 * ```
 */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'canceled' | 'skipped' | 'abandoned';

/**
 * The finished run statuses.
 *
 * @example
 * ```ts
 * const status: FinishedRunStatus = 'skipped';
 * ```
 */
export type FinishedRunStatus = Exclude<RunStatus, 'running'>;

/**
 * A job row, as returned by a store. Every returned object is a fresh copy.
 *
 * @example
 * ```ts
 * const job: JobRecord | undefined = await store.getJob('job-1');
 * if (job?.state === 'running') console.log(`${job.activeRuns} run(s) in flight`);
 * ```
 */
export interface JobRecord {
  /** The job id, unique in the store. */
  readonly id: string;
  /** The job definition, owned by the scheduler and opaque to the store. */
  readonly spec: JsonObject;
  /** The job state. */
  readonly state: JobState;
  /** When the next occurrence is due, or `null` when the schedule has no further occurrence. */
  readonly nextRunAt: number | null;
  /** The fencing counter: incremented by every claim and every takeover of one of its runs. */
  readonly fence: number;
  /** The last ledger sequence number assigned (every ledger entry of the job gets the next one). */
  readonly sequence: number;
  /** How many occurrences were started (claimed to run), for `maxRuns`. Skipped ones do not count. */
  readonly started: number;
  /** How many runs finished and were recorded (the seed's `Runs`). */
  readonly runs: number;
  /** How many runs are in progress (ledger entries in `running`). */
  readonly activeRuns: number;
  /** When the job was created (this incarnation of the id). */
  readonly createdAt: number;
  /** When the job row last changed. */
  readonly updatedAt: number;
  /** The last finished ledger entry (not skipped ones), or `null`. */
  readonly lastRun: RunRecord | null;
}

/**
 * A ledger entry: one occurrence of a job. Every returned object is a fresh copy.
 *
 * @example
 * ```ts
 * const run: RunRecord | undefined = await store.getRun('job-1@1700000000000');
 * console.log(run?.status, run?.result);
 * ```
 */
export interface RunRecord {
  /** The job id. */
  readonly jobId: string;
  /** The occurrence's scheduled time. `(jobId, scheduledAt)` is unique in the ledger. */
  readonly scheduledAt: number;
  /** The occurrence id, unique in the store; the scheduler sends it as the idempotency key. */
  readonly occurrenceId: string;
  /** The entry's sequence number within its job, starting at 1, increasing. */
  readonly sequence: number;
  /** The job fence under which the entry is currently held. */
  readonly fence: number;
  /** The entry's status. */
  readonly status: RunStatus;
  /** The instance that holds (or last held) the lease, or `null` for skipped entries. */
  readonly owner: string | null;
  /** When the lease expires (running entries), else `null`. */
  readonly leaseUntil: number | null;
  /** When the run started, or `null` for skipped entries. */
  readonly startedAt: number | null;
  /** When the entry was finished (for skipped entries: when the skip was recorded). */
  readonly finishedAt: number | null;
  /** Why the occurrence was skipped or abandoned, else `null`. */
  readonly reason: string | null;
  /** The scheduler's result payload (for example the callback payload), else `null`. */
  readonly result: JsonObject | null;
}

/**
 * A job to create.
 *
 * @example
 * ```ts
 * const job: NewJob = { id: 'job-1', spec: { every: 60_000 }, nextRunAt: now + 60_000, now };
 * await store.createJob(job);
 * ```
 */
export interface NewJob {
  /** The job id. */
  readonly id: string;
  /** The job definition (serialisable). */
  readonly spec: JsonObject;
  /** When the first occurrence is due, or `null` when it has none (it completes at once). */
  readonly nextRunAt: number | null;
  /** The creation time. */
  readonly now: number;
}

/**
 * A skipped occurrence to write to the ledger with its reason.
 *
 * @example
 * ```ts
 * const missed: SkippedOccurrence = { scheduledAt: t, occurrenceId: `job-1@${t}`, reason: 'missed' };
 * ```
 */
export interface SkippedOccurrence {
  /** The occurrence's scheduled time. */
  readonly scheduledAt: number;
  /** The occurrence id. */
  readonly occurrenceId: string;
  /** Why it was skipped, for example `missed` or `overlap`. */
  readonly reason: string;
}

/**
 * One atomic step from a job's current occurrence to its next one.
 *
 * The store applies it only if the job is not terminal and its `nextRunAt` still equals
 * `expectedNextRunAt` (compare-and-set); otherwise another instance got there first and the store
 * returns `null` and writes nothing. It also returns `null` and writes nothing when an entry it would
 * write repeats a `(jobId, scheduledAt)` or an `occurrenceId` already in the ledger (that occurrence
 * was already handled).
 *
 * A successful step bumps the job's `fence`, writes the skipped entries then the run (each gets the
 * next `sequence`), counts the run in `started` and `activeRuns`, sets `nextRunAt`, and leaves the
 * job `running` when a run is active. When `nextRunAt` is `null` and no run is active afterwards the
 * job is `completed` at once.
 *
 * @example
 * ```ts
 * const claim: OccurrenceClaim = {
 *   jobId: job.id,
 *   expectedNextRunAt: job.nextRunAt,
 *   nextRunAt: job.nextRunAt + 60_000,
 *   run: { scheduledAt: job.nextRunAt, occurrenceId: `${job.id}@${job.nextRunAt}`, owner: 'instance-a', leaseUntil: now + 30_000 },
 *   now,
 * };
 * const won = await store.claimOccurrence(claim); // null: another instance claimed it first
 * ```
 */
export interface OccurrenceClaim {
  /** The job id. */
  readonly jobId: string;
  /** The `nextRunAt` the caller read; the claim applies only if it is still the job's value. */
  readonly expectedNextRunAt: number;
  /** The job's next occurrence after this step, or `null` when the schedule is exhausted. */
  readonly nextRunAt: number | null;
  /** The occurrence to start now, if any: a `running` ledger entry leased to `owner`. */
  readonly run?: {
    readonly scheduledAt: number;
    readonly occurrenceId: string;
    readonly owner: string;
    readonly leaseUntil: number;
  };
  /** Occurrences to record as `skipped` (in scheduled-time order, before `run`). */
  readonly skipped?: readonly SkippedOccurrence[];
  /** The time of the step. */
  readonly now: number;
  /**
   * The per-job history limit to apply to finished entries after writing skipped ones. Absent, zero
   * or negative: the store's default (20 unless the adapter is configured otherwise).
   */
  readonly historyLimit?: number;
}

/**
 * What a successful claim returns.
 *
 * @example
 * ```ts
 * const result: ClaimResult | null = await store.claimOccurrence(claim);
 * if (result?.run) await send(result.run.occurrenceId);
 * ```
 */
export interface ClaimResult {
  /** The job after the step. */
  readonly job: JobRecord;
  /** The started ledger entry, when the claim started one. */
  readonly run: RunRecord | null;
}

/**
 * Identifies a leased run: the owner and the fence it was claimed under.
 *
 * @example
 * ```ts
 * const lease: RunLease = { occurrenceId: run.occurrenceId, owner: 'instance-a', fence: run.fence };
 * if (!(await store.renewLease(lease, now + 30_000))) abortTheRun();
 * ```
 */
export interface RunLease {
  /** The occurrence id. */
  readonly occurrenceId: string;
  /** The owner that holds the lease. */
  readonly owner: string;
  /** The fence the lease was granted under. */
  readonly fence: number;
}

/**
 * The outcome of a run to record.
 *
 * @example
 * ```ts
 * const completion: RunCompletion = { ...lease, status: 'succeeded', finishedAt: now, result: { status: 200 } };
 * await store.completeRun(completion); // false: the lease was taken over, nothing written
 * ```
 */
export interface RunCompletion extends RunLease {
  /** The final status. */
  readonly status: Exclude<FinishedRunStatus, 'skipped'>;
  /** When the run finished. */
  readonly finishedAt: number;
  /** The scheduler's result payload. */
  readonly result: JsonObject | null;
  /** Why it ended this way (for `canceled` and `abandoned`), else omitted. */
  readonly reason?: string;
  /**
   * Keep at most this many finished entries for the job (the seed's history limit). Absent, zero or
   * negative: the store's default (20 unless the adapter is configured otherwise).
   */
  readonly historyLimit?: number;
}

/**
 * A request to take over runs whose lease expired.
 *
 * @example
 * ```ts
 * const orphans = await store.claimExpiredRuns({ owner: 'instance-b', now, leaseUntil: now + 30_000, limit: 100 });
 * ```
 */
export interface ExpiredRunsClaim {
  /** The new owner. */
  readonly owner: string;
  /** The current time: leases with `leaseUntil < now` are expired (a lease is valid at `leaseUntil`). */
  readonly now: number;
  /** The new lease expiry. */
  readonly leaseUntil: number;
  /** At most this many runs; zero or negative takes none. */
  readonly limit: number;
}

/**
 * A status query (the seed's `JobStatusQuery`).
 *
 * @example
 * ```ts
 * const page = await store.queryJobs({ states: ['scheduled', 'running'], offset: 20, limit: 10 });
 * ```
 */
export interface JobQuery {
  /** Only these ids (unknown ids are ignored); empty or absent means all. */
  readonly ids?: readonly string[];
  /** Only these states; empty or absent means all. */
  readonly states?: readonly JobState[];
  /** Skip this many (negative is treated as 0). */
  readonly offset?: number;
  /** At most this many; 0, negative or absent means no limit. */
  readonly limit?: number;
}

/**
 * A history query (the seed's `JobHistoryQuery`).
 *
 * @example
 * ```ts
 * const lastFive = await store.history('job-1', { limit: 5 });
 * const since = await store.history('job-1', { fromSequence: 42 });
 * ```
 */
export interface HistoryQuery {
  /** Only entries with `sequence >= fromSequence` (when > 0). */
  readonly fromSequence?: number;
  /** Only the last `limit` entries (when > 0), still in ascending order. */
  readonly limit?: number;
}

/**
 * History retention.
 *
 * @example
 * ```ts
 * const deleted = await store.pruneHistory({ maxAge: 7 * 86_400_000, maxRowsPerJob: 100, now: Date.now() });
 * ```
 */
export interface HistoryRetention {
  /** Delete finished entries that finished before `now - maxAge` (ms). Absent or <= 0: no age pass. */
  readonly maxAge?: number;
  /** Keep at most this many finished entries per job (the newest). Absent or <= 0: no count pass. */
  readonly maxRowsPerJob?: number;
  /** The current time. */
  readonly now: number;
}

/**
 * Retention of finished jobs (terminal jobs with no running entry).
 *
 * @example
 * ```ts
 * await store.pruneJobs({ finishedBefore: Date.now() - 30 * 86_400_000 });
 * ```
 */
export interface JobRetention {
  /** Delete terminal jobs (and their ledger) with no running entry, last updated before this time. */
  readonly finishedBefore: number;
}

/**
 * The store the scheduler runs on. Implementations must be safe for concurrent use, return fresh
 * copies, throw {@link StorageError} (with the driver error as `cause`) on failures, and pass the
 * conformance suite in `@again/storage/conformance`. See `docs/storage-adapters.md`.
 *
 * @example
 * ```ts
 * import type { JobStore } from '@again/storage';
 *
 * async function runDue(store: JobStore, now: number): Promise<void> {
 *   for (const job of await store.dueJobs(now, 100)) {
 *     if (job.nextRunAt === null) continue;
 *     const claimed = await store.claimOccurrence({
 *       jobId: job.id,
 *       expectedNextRunAt: job.nextRunAt,
 *       nextRunAt: job.nextRunAt + 60_000,
 *       run: { scheduledAt: job.nextRunAt, occurrenceId: `${job.id}@${job.nextRunAt}`, owner: 'me', leaseUntil: now + 30_000 },
 *       now,
 *     });
 *     if (claimed?.run) {
 *       const { occurrenceId, fence } = claimed.run;
 *       await store.completeRun({ occurrenceId, owner: 'me', fence, status: 'succeeded', finishedAt: Date.now(), result: null });
 *     }
 *   }
 * }
 * ```
 */
export interface JobStore {
  /**
   * Create a job. If a job with the same id exists and is not terminal, throw `JobExistsError`.
   * If it exists and is terminal, replace it: a fresh status, counters at zero, its ledger deleted;
   * only its `fence` carries on (it keeps increasing), so a lease of the old incarnation can never
   * match a run of the new one. A job created with `nextRunAt: null` is `completed` at once.
   */
  createJob(job: NewJob): Promise<JobRecord>;
  /** Read a job. */
  getJob(id: string): Promise<JobRecord | undefined>;
  /** Query jobs, sorted by id (byte-wise, the seed's order), with filters and paging. */
  queryJobs(query?: JobQuery): Promise<JobRecord[]>;
  /** Count jobs, optionally only those in the given states (empty or absent means all). */
  countJobs(states?: readonly JobState[]): Promise<number>;
  /**
   * Ids of jobs, sorted byte-wise (UTF-8 bytes, i.e. code points; SQL stores use a binary
   * collation), optionally only those in the given states (empty or absent means all).
   */
  jobIds(states?: readonly JobState[]): Promise<string[]>;
  /**
   * Set a terminal state. A terminal job keeps its state unless `state` is `removed`, which
   * overrides everything. A terminal job gets `nextRunAt = null`. Returns the job after the call, or
   * `undefined` when it does not exist.
   */
  endJob(id: string, state: TerminalJobState, now: number): Promise<JobRecord | undefined>;
  /**
   * Jobs that are not terminal and whose `nextRunAt <= now`, earliest first (ties by id), at most
   * `limit` (zero or negative returns none). Running jobs with a due `nextRunAt` are included.
   */
  dueJobs(now: number, limit: number): Promise<JobRecord[]>;
  /** The earliest `nextRunAt` over non-terminal jobs, or `null`. */
  nextDueAt(): Promise<number | null>;
  /** Move a job from one occurrence to the next atomically; `null` if the compare-and-set lost. */
  claimOccurrence(claim: OccurrenceClaim): Promise<ClaimResult | null>;
  /**
   * Extend a running entry's lease; false when the lease is no longer the caller's (the entry is not
   * `running` under this owner and fence). An expired lease that nobody took over can be renewed.
   */
  renewLease(lease: RunLease, leaseUntil: number): Promise<boolean>;
  /**
   * Record a run's outcome. Refused (returns false, writes nothing) when the entry is no longer
   * `running` under this owner and fence. On success it updates the job's `runs`, `activeRuns` and
   * `lastRun`, applies `historyLimit`, and completes a job whose `nextRunAt` is `null` when its last
   * running entry finishes. The entry keeps its owner, gets the status, `finishedAt`, `result` and
   * `reason` (or `null`), and its `leaseUntil` becomes `null`. A terminal job keeps its state.
   */
  completeRun(completion: RunCompletion): Promise<boolean>;
  /**
   * Take over `running` entries whose lease expired: bump their job's fence, set the new owner,
   * fence and lease, and return them (with their jobs), earliest `leaseUntil` first. Jobs in a
   * terminal state are included (their runs still need an outcome).
   */
  claimExpiredRuns(claim: ExpiredRunsClaim): Promise<Array<{ job: JobRecord; run: RunRecord }>>;
  /** A ledger entry by occurrence id. */
  getRun(occurrenceId: string): Promise<RunRecord | undefined>;
  /**
   * Finished and skipped entries of a job in ascending sequence, filtered like the seed's
   * `QueryJobHistory`; `[]` for a job without any, `undefined` when the job does not exist.
   */
  history(jobId: string, query?: HistoryQuery): Promise<RunRecord[] | undefined>;
  /** Running entries (optionally of one job), oldest first: by `startedAt`, then job id, then sequence. */
  runningRuns(jobId?: string): Promise<RunRecord[]>;
  /** Delete finished entries by age and by count per job; returns how many were deleted. */
  pruneHistory(retention: HistoryRetention): Promise<number>;
  /** Delete terminal jobs (and their ledgers) by age; returns how many jobs were deleted. */
  pruneJobs(retention: JobRetention): Promise<number>;
  /**
   * Release resources. Later calls on the store reject with `StorageError` code
   * `ERR_STORAGE_CLOSED`, except `close()` itself, which is idempotent.
   */
  close(): Promise<void>;
}
