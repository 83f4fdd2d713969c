/**
 * The storage contracts of the @again scheduler.
 *
 * A store keeps two things:
 * - **jobs**: one row per job id: the job definition (`spec`, JSON owned by the scheduler) and its
 *   revision, its state, the time of its next occurrence, a fencing counter and run counters;
 * - **the run ledger**: one entry per occurrence, holding the lease of a running occurrence and,
 *   once finished, its result and the outcome of its callback. Scheduled entries are unique per
 *   `(jobId, scheduledAt)`; a triggered run (started by hand) has its own occurrence. Finished
 *   entries are the job's history.
 *
 * Storage never interprets schedules: the scheduler hands a pure planning function to
 * {@link JobStore.claimDue}, which the store calls inside one transaction for a batch of due jobs.
 * That transaction is what makes several scheduler instances safe on one shared store.
 *
 * All times are milliseconds since the Unix epoch, from the scheduler's clock, or the store's own
 * when it declares `capabilities.clock`.
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
 * The state of a job, with go-again's names.
 *
 * - `scheduled`: waiting for its next occurrence;
 * - `running`: at least one occurrence is running;
 * - `paused`: paused by a user: never due (it keeps its `nextRunAt`), its runs in flight finish
 *   normally; it stays paused until resumed, even when its schedule is exhausted;
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
export type JobState =
  | 'scheduled'
  | 'running'
  | 'paused'
  | 'completed'
  | 'canceled'
  | 'removed'
  | 'stopped';

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
  'paused',
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
 * @returns true for `completed`, `canceled`, `removed` and `stopped` (`paused` is not terminal)
 * @example
 * ```ts
 * isTerminalState('completed'); // true
 * isTerminalState('running'); // false
 * isTerminalState('paused'); // false
 * ```
 */
export function isTerminalState(state: JobState): state is TerminalJobState {
  return state !== 'scheduled' && state !== 'running' && state !== 'paused';
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
  /**
   * The definition's revision: 0 when the job is created (re-created too), one more after every
   * {@link JobStore.updateJob}. `updateJob` compares it to the caller's expected revision.
   */
  readonly revision: number;
  /** The job state. */
  readonly state: JobState;
  /** When the next occurrence is due, or `null` when the schedule has no further occurrence. */
  readonly nextRunAt: number | null;
  /** The fencing counter: incremented by every claim and every takeover of one of its runs. */
  readonly fence: number;
  /** The last ledger sequence number assigned (every ledger entry of the job gets the next one). */
  readonly sequence: number;
  /**
   * How many scheduled occurrences were started (claimed to run), for `maxRuns`. Skipped ones and
   * triggered runs ({@link JobStore.startRun}) do not count.
   */
  readonly started: number;
  /** How many runs finished and were recorded (go-again's `Runs`), triggered ones included. */
  readonly runs: number;
  /** How many runs are in progress (ledger entries in `running`, triggered ones included). */
  readonly activeRuns: number;
  /** When the job was created (this incarnation of the id). */
  readonly createdAt: number;
  /** When the job row last changed. */
  readonly updatedAt: number;
  /** The last finished ledger entry (not skipped ones; triggered ones too), or `null`. */
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
  /**
   * The occurrence's scheduled time (for a triggered run, the time the caller gave it).
   * `(jobId, scheduledAt)` is unique among the scheduled entries of the ledger; a triggered run may
   * share its time with a scheduled one.
   */
  readonly scheduledAt: number;
  /** The occurrence id, unique in the store; the scheduler sends it as the idempotency key. */
  readonly occurrenceId: string;
  /** The entry's sequence number within its job, starting at 1, increasing. */
  readonly sequence: number;
  /** The job fence under which the entry is currently held. */
  readonly fence: number;
  /** The entry's status. */
  readonly status: RunStatus;
  /**
   * The run was started by {@link JobStore.startRun} (a manual trigger), not by the schedule. It
   * keeps this through takeovers and completion.
   */
  readonly trigger: boolean;
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
  /**
   * The outcome of the run's callback delivery, recorded by {@link JobStore.recordCallback} once
   * the run finished, else `null`.
   */
  readonly callback: JsonObject | null;
}

/**
 * What a store can do, declared by its adapter. The scheduler picks its polling and wake-up
 * defaults from it.
 *
 * @example
 * ```ts
 * if (store.capabilities.shared && !store.capabilities.notifies) console.log('poll every second');
 * ```
 */
export interface StoreCapabilities {
  /**
   * Other processes can open the same data (a SQLite file, a PostgreSQL database): work may appear
   * that this process did not write, and instances may die holding leases, so the scheduler polls
   * and takes expired leases over.
   */
  readonly shared: boolean;
  /**
   * The store tells {@link JobStore.subscribe} listeners when a job gets a due time (created,
   * resumed or updated), so instances wake at once instead of at their next poll. `subscribe` exists
   * exactly when this is `true`.
   */
  readonly notifies: boolean;
  /**
   * The store keeps time itself (for example the database clock): it ignores the `now` of
   * {@link DueClaim}, {@link LeaseRenewalRequest}, {@link ExpiredRunsClaim}, {@link RunStart} and
   * {@link LeaseRelease}, decides what is due and when a lease expires by its own clock, and
   * returns the time it used. Instance clocks then never decide whether a lease has expired.
   */
  readonly clock: boolean;
}

/**
 * A wake-up sent to {@link JobStore.subscribe} listeners.
 *
 * @example
 * ```ts
 * const wake: WakeEvent = { jobId: 'report', at: Date.now() };
 * ```
 */
export interface WakeEvent {
  /** The job that became due sooner (created, resumed or updated). */
  readonly jobId: string;
  /** Its new due time, or `null` when it is not due at all any more. */
  readonly at: number | null;
}

/**
 * A wake subscription; close it to stop listening.
 *
 * @example
 * ```ts
 * const subscription: WakeSubscription = await store.subscribe!((wake) => console.log(wake.jobId));
 * await subscription.close();
 * ```
 */
export interface WakeSubscription {
  /** Stops the listener. Idempotent. */
  close(): Promise<void>;
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
  /** The job id (see {@link JobStore} for what an id may be). */
  readonly id: string;
  /** The job definition: a JSON object, kept exactly as given. */
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
 * A due job as the planner of a {@link DueClaim} sees it: only what planning needs.
 *
 * `spec` is parsed when it is first read, so a planner that caches definitions by
 * `(id, createdAt, revision)` (or by `specText`) never pays for it. Reading it throws a
 * `StorageError` with code `ERR_STORAGE_CORRUPT` when the stored definition is not readable JSON.
 *
 * @example
 * ```ts
 * const plan = (job: DueJob): DuePlan => ({ run: null, skipped: [], nextRunAt: job.nextRunAt + 60_000 });
 * ```
 */
export interface DueJob {
  /** The job id. */
  readonly id: string;
  /** When this incarnation of the id was created. */
  readonly createdAt: number;
  /** The definition's revision (with `id` and `createdAt`, identifies the definition). */
  readonly revision: number;
  /** The due occurrence (`nextRunAt <= now`). */
  readonly nextRunAt: number;
  /** Scheduled occurrences started so far (for a maximum number of runs; triggered runs do not count). */
  readonly started: number;
  /** Runs in flight, triggered ones included (for an overlap policy). */
  readonly activeRuns: number;
  /** The job definition, parsed on first read. */
  readonly spec: JsonObject;
  /**
   * The job definition as the store keeps it: its JSON text, exactly as written. A planner may key
   * a cache of parsed definitions on it (equal texts are equal definitions).
   */
  readonly specText: string;
}

/**
 * What a claim does with one due job: the step from its current occurrence to its next one.
 *
 * `run` starts that occurrence, leased to the claim's owner; `skipped` are written as `skipped`
 * ledger entries first (in order); the job's `nextRunAt` becomes `nextRunAt`. No two entries of one
 * plan may share a `scheduledAt` or an `occurrenceId` (the claim is refused as an invalid argument
 * and writes nothing).
 *
 * @example
 * ```ts
 * const plan: DuePlan = {
 *   run: { scheduledAt: t, occurrenceId: `job-1@${t}` },
 *   skipped: [],
 *   nextRunAt: t + 60_000,
 * };
 * ```
 */
export interface DuePlan {
  /** The occurrence to start now, or `null`. */
  readonly run: { readonly scheduledAt: number; readonly occurrenceId: string } | null;
  /** Occurrences to record as `skipped`, oldest first. */
  readonly skipped: readonly SkippedOccurrence[];
  /** The job's next occurrence after this step (it may still be due), or `null` when none. */
  readonly nextRunAt: number | null;
}

/**
 * A batched claim: up to `limit` due jobs, each moved one step by `plan`, in one store
 * transaction.
 *
 * The store picks `scheduled` and `running` jobs (never `paused` or terminal ones) whose
 * `nextRunAt <= now`, earliest first (ties by id), that no concurrent claim holds (a shared store skips jobs another instance is claiming right now, it
 * never waits for them). For each it calls `plan(job, now)`, synchronously, inside the
 * transaction; `plan` must be a pure function of its arguments. A `null` plan leaves that job as
 * it is. Then it applies every plan: each job's `fence` moves on, its skipped entries and its run
 * are written (each with the next `sequence`), the run counts in `started` and `activeRuns`, and
 * `nextRunAt` and the state follow (`running` while a run is active; `completed` when `nextRunAt`
 * is `null` and nothing runs). When `plan` throws, the whole claim writes nothing and rejects.
 *
 * @example
 * ```ts
 * const result = await store.claimDue({
 *   owner: 'instance-a',
 *   now: Date.now(),
 *   limit: 100,
 *   leaseDuration: 30_000,
 *   plan: (job) => ({
 *     run: { scheduledAt: job.nextRunAt, occurrenceId: `${job.id}@${job.nextRunAt}` },
 *     skipped: [],
 *     nextRunAt: job.nextRunAt + 60_000,
 *   }),
 * });
 * for (const run of result.runs) console.log('started', run.occurrenceId);
 * ```
 */
export interface DueClaim {
  /** The lease owner of the runs started. */
  readonly owner: string;
  /** The current time (a store that keeps time itself uses its own). */
  readonly now: number;
  /** At most this many jobs are examined (so at most this many runs start): 0 to 10,000. */
  readonly limit: number;
  /** Each run's lease lasts this long (ms) from the claim's time: 1 to 2,147,483,647. */
  readonly leaseDuration: number;
  /**
   * The per-job history limit to apply after writing skipped entries; absent or 0: the store's
   * default (20 unless the adapter is configured otherwise).
   */
  readonly historyLimit?: number;
  /** Decides the step of one due job. Pure and synchronous; `null` leaves the job alone. */
  readonly plan: (job: DueJob, now: number) => DuePlan | null;
}

/**
 * A run started by a claim: the lean projection the scheduler needs to execute it.
 *
 * @example
 * ```ts
 * const lease: RunLease = { occurrenceId: run.occurrenceId, owner: 'instance-a', fence: run.fence };
 * ```
 */
export interface ClaimedRun {
  /** The job id. */
  readonly jobId: string;
  /** When the job's incarnation was created. */
  readonly createdAt: number;
  /**
   * The revision of the job's definition the run was started under (with `jobId` and `createdAt`,
   * identifies that definition).
   */
  readonly revision: number;
  /** The occurrence's scheduled time. */
  readonly scheduledAt: number;
  /** The occurrence id. */
  readonly occurrenceId: string;
  /** The entry's sequence number within its job. */
  readonly sequence: number;
  /** The fence the run is leased under. */
  readonly fence: number;
  /** When the run started (the claim's time). */
  readonly startedAt: number;
  /** When the lease expires, on the store's clock. */
  readonly leaseUntil: number;
}

/**
 * What {@link JobStore.claimDue} returns.
 *
 * @example
 * ```ts
 * const { runs, examined, now } = await store.claimDue(claim);
 * const more = examined === claim.limit; // more due jobs may be waiting
 * ```
 */
export interface DueClaimResult {
  /** The time the claim used (the store's own when it keeps time). */
  readonly now: number;
  /** How many due jobs were examined (planned, including `null` plans and conflicts). */
  readonly examined: number;
  /** The runs started, in the order their jobs were examined. */
  readonly runs: readonly ClaimedRun[];
  /**
   * Jobs whose plan repeated an occurrence already in the ledger (same occurrence id, or same job
   * and scheduled time as a scheduled entry: triggered runs do not count), including one written
   * for an earlier job of the same claim: nothing was written for them and they stay due. In the
   * order their jobs were examined.
   */
  readonly conflicts: readonly string[];
}

/**
 * Identifies a leased run: the owner and the fence it was claimed under.
 *
 * @example
 * ```ts
 * const lease: RunLease = { occurrenceId: run.occurrenceId, owner: 'instance-a', fence: run.fence };
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
 * A batched lease renewal: every lease of one owner, in one store transaction.
 *
 * @example
 * ```ts
 * const renewal = await store.renewLeases({
 *   owner: 'instance-a',
 *   leases: [{ occurrenceId: run.occurrenceId, fence: run.fence }],
 *   now: Date.now(),
 *   leaseDuration: 30_000,
 * });
 * ```
 */
export interface LeaseRenewalRequest {
  /** The owner of every lease. */
  readonly owner: string;
  /** The leases to extend (at most 10,000; no occurrence twice). */
  readonly leases: ReadonlyArray<{ readonly occurrenceId: string; readonly fence: number }>;
  /** The current time (a store that keeps time itself uses its own). */
  readonly now: number;
  /** Each lease is extended to the renewal's time plus this (ms). */
  readonly leaseDuration: number;
}

/**
 * Why a renewed lease needs its owner's attention.
 *
 * - `taken-over`: the entry is `running` under another owner or fence; not renewed;
 * - `gone`: the entry is no longer `running`, or no longer exists; not renewed;
 * - `removed` / `canceled`: renewed, but the job was ended that way: abort the run and record it.
 *
 * @example
 * ```ts
 * const reason: LostLeaseReason = 'taken-over';
 * ```
 */
export type LostLeaseReason = 'taken-over' | 'gone' | 'removed' | 'canceled';

/**
 * What {@link JobStore.renewLeases} returns.
 *
 * @example
 * ```ts
 * for (const lost of renewal.lost) abort(lost.occurrenceId, lost.reason);
 * ```
 */
export interface LeaseRenewal {
  /** The time the renewal used (the store's own when it keeps time). */
  readonly now: number;
  /** The new expiry of every renewed lease. */
  readonly leaseUntil: number;
  /** The leases that were not renewed, or whose job was removed or canceled, in request order. */
  readonly lost: ReadonlyArray<{ readonly occurrenceId: string; readonly reason: LostLeaseReason }>;
}

/**
 * The outcome of a run to record.
 *
 * @example
 * ```ts
 * const completion: RunCompletion = { ...lease, status: 'succeeded', finishedAt: now, result: { status: 200 } };
 * const [recorded] = await store.completeRuns([completion]); // false: the lease was taken over
 * ```
 */
export interface RunCompletion extends RunLease {
  /** The final status. */
  readonly status: Exclude<FinishedRunStatus, 'skipped'>;
  /** When the run finished. */
  readonly finishedAt: number;
  /** The scheduler's result payload (a JSON object, kept exactly), or `null`. */
  readonly result: JsonObject | null;
  /** Why it ended this way (for `canceled` and `abandoned`), else omitted. */
  readonly reason?: string;
  /**
   * Keep at most this many finished entries for the job. Absent or 0: the store's default (20
   * unless the adapter is configured otherwise).
   */
  readonly historyLimit?: number;
}

/**
 * A request to take over runs whose lease expired.
 *
 * @example
 * ```ts
 * const orphans = await store.claimExpiredRuns({ owner: 'instance-b', now, leaseDuration: 30_000, limit: 100 });
 * ```
 */
export interface ExpiredRunsClaim {
  /** The new owner. */
  readonly owner: string;
  /**
   * The current time (a store that keeps time itself uses its own): leases with
   * `leaseUntil < now` are expired (a lease is valid at `leaseUntil`).
   */
  readonly now: number;
  /** The new leases last this long (ms) from the claim's time. */
  readonly leaseDuration: number;
  /** At most this many runs: 0 to 10,000. */
  readonly limit: number;
}

/**
 * A run taken over by {@link JobStore.claimExpiredRuns}.
 *
 * @example
 * ```ts
 * for (const { job, run, previousOwner } of taken) console.log(run.occurrenceId, 'was', previousOwner);
 * ```
 */
export interface TakenOverRun {
  /** The run's job after the takeover. */
  readonly job: JobRecord;
  /** The run, now leased to the new owner under a new fence. */
  readonly run: RunRecord;
  /** The owner whose lease expired. */
  readonly previousOwner: string;
}

/**
 * A new definition for a job: {@link JobStore.updateJob}'s argument.
 *
 * @example
 * ```ts
 * const update: JobUpdate = {
 *   id: 'job-1',
 *   expectedRevision: job.revision,
 *   spec: { ...job.spec, every: 30_000 },
 *   nextRunAt: now + 30_000,
 *   now,
 * };
 * ```
 */
export interface JobUpdate {
  /** The job id. */
  readonly id: string;
  /** The revision the caller read: the update applies only if the job still has it. */
  readonly expectedRevision: number;
  /** The new job definition: a JSON object, kept exactly as given. */
  readonly spec: JsonObject;
  /** The job's next occurrence under the new definition, or `null` when it has none. */
  readonly nextRunAt: number | null;
  /** The time of the update. */
  readonly now: number;
}

/**
 * A triggered run to start now: {@link JobStore.startRun}'s argument.
 *
 * @example
 * ```ts
 * const start: RunStart = {
 *   jobId: 'job-1',
 *   occurrenceId: `job-1@manual-${crypto.randomUUID()}`,
 *   scheduledAt: now,
 *   owner: 'instance-a',
 *   leaseDuration: 30_000,
 *   now,
 * };
 * ```
 */
export interface RunStart {
  /** The job id. */
  readonly jobId: string;
  /** The new entry's occurrence id: not yet in the ledger (of any job). */
  readonly occurrenceId: string;
  /** The entry's scheduled time (it may equal a scheduled occurrence's). */
  readonly scheduledAt: number;
  /** The lease owner. */
  readonly owner: string;
  /** The lease lasts this long (ms) from the start: 1 to 2,147,483,647. */
  readonly leaseDuration: number;
  /** The current time (a store that keeps time itself uses its own). */
  readonly now: number;
}

/**
 * A batched lease release: {@link JobStore.releaseLeases}'s argument.
 *
 * @example
 * ```ts
 * const released = await store.releaseLeases({
 *   owner: 'instance-a',
 *   leases: [{ occurrenceId: run.occurrenceId, fence: run.fence }],
 *   now: Date.now(),
 * });
 * ```
 */
export interface LeaseRelease {
  /** The owner of every lease. */
  readonly owner: string;
  /** The leases to give up (at most 10,000; no occurrence twice). */
  readonly leases: ReadonlyArray<{ readonly occurrenceId: string; readonly fence: number }>;
  /** The current time (a store that keeps time itself uses its own). */
  readonly now: number;
}

/**
 * The outcome of a run's callback delivery: {@link JobStore.recordCallback}'s argument.
 *
 * @example
 * ```ts
 * const record: CallbackRecord = { occurrenceId: run.occurrenceId, callback: { status: 204, attempts: 1 } };
 * ```
 */
export interface CallbackRecord {
  /** The run's occurrence id. */
  readonly occurrenceId: string;
  /** The outcome, a JSON object kept exactly as given. */
  readonly callback: JsonObject;
}

/**
 * A status query (go-again's `JobStatusQuery`).
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
  /** Skip this many (an integer; negative is treated as 0). */
  readonly offset?: number;
  /** At most this many (an integer); 0, negative or absent means no limit. */
  readonly limit?: number;
}

/**
 * A history query (go-again's `JobHistoryQuery`).
 *
 * @example
 * ```ts
 * const lastFive = await store.history('job-1', { limit: 5 });
 * const since = await store.history('job-1', { fromSequence: 42 });
 * ```
 */
export interface HistoryQuery {
  /** Only entries with `sequence >= fromSequence` (an integer; when > 0). */
  readonly fromSequence?: number;
  /** Only the last `limit` entries (an integer; when > 0), still in ascending order. */
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
  /** Delete finished entries that finished before `now - maxAge` (ms). Absent or 0: no age pass. */
  readonly maxAge?: number;
  /** Keep at most this many finished entries per job (the newest). Absent or 0: no count pass. */
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
  /** Delete terminal jobs (and their ledgers) with no running entry, last updated before this time. */
  readonly finishedBefore: number;
}

/**
 * The store the scheduler runs on. Adapters do not implement it directly: they implement a
 * {@link StoreDriver} and wrap it with `createJobStore`, which enforces this contract's argument
 * rules, lifecycle and error wrapping for every adapter alike. Every adapter passes the
 * conformance suite in `@again/storage-conformance`. See `docs/storage-adapters.md`.
 *
 * Rules every method follows:
 * - **Identifiers** (job ids, occurrence ids, owners) and reasons are strings of 1 to 4,096
 *   well-formed UTF-16 characters without U+0000 (reasons may be empty): a lone surrogate or a NUL
 *   is refused, never silently replaced;
 * - **times** are integers from 0 to 8.64e15 (ms since the epoch), counts and limits integers;
 *   `NaN`, fractions and `Infinity` are refused;
 * - **specs and results** are JSON objects (plain objects, arrays, strings, finite numbers,
 *   booleans, `null`; `undefined` properties are dropped) and come back exactly as written, key
 *   order included; anything else is refused;
 * - an invalid argument rejects with `StorageError` code `ERR_STORAGE_INVALID_ARGUMENT` and writes
 *   nothing; a failing database rejects with code `ERR_STORAGE` and the driver's error as
 *   `cause`; unreadable stored data with `ERR_STORAGE_CORRUPT`;
 * - every returned object is a fresh copy;
 * - after `close()`, every call rejects with `ERR_STORAGE_CLOSED`.
 *
 * Jobs are operated in place with {@link JobStore.pauseJob}, {@link JobStore.resumeJob},
 * {@link JobStore.updateJob} (compare-and-set on the definition's revision) and
 * {@link JobStore.startRun} (a triggered run, outside the schedule).
 *
 * @example
 * ```ts
 * import type { JobStore } from '@again/storage';
 *
 * async function runDue(store: JobStore): Promise<void> {
 *   const { runs } = await store.claimDue({
 *     owner: 'me',
 *     now: Date.now(),
 *     limit: 100,
 *     leaseDuration: 30_000,
 *     plan: (job) => ({
 *       run: { scheduledAt: job.nextRunAt, occurrenceId: `${job.id}@${job.nextRunAt}` },
 *       skipped: [],
 *       nextRunAt: job.nextRunAt + 60_000,
 *     }),
 *   });
 *   await store.completeRuns(
 *     runs.map((run) => ({ occurrenceId: run.occurrenceId, owner: 'me', fence: run.fence, status: 'succeeded', finishedAt: Date.now(), result: null })),
 *   );
 * }
 * ```
 */
export interface JobStore {
  /** What the store can do. */
  readonly capabilities: StoreCapabilities;
  /**
   * Listens for wake-ups: the store calls `listener` when a job gets a due time: created, resumed
   * or updated (on any instance sharing the store). Present exactly when `capabilities.notifies` is `true`. A listener
   * that throws is ignored. Notifications are hints: polling stays the fallback.
   */
  subscribe?(listener: (wake: WakeEvent) => void): Promise<WakeSubscription>;
  /**
   * Create a job. If a job with the same id exists and is not terminal, throw `JobExistsError`.
   * If it exists and is terminal, replace it: a fresh status, counters at zero, its ledger deleted;
   * the new incarnation's `fence` is one more than the old one's, so a lease of the old incarnation
   * can never match a run of the new one, and its `revision` is 0 again. A job created with
   * `nextRunAt: null` is `completed` at once.
   */
  createJob(job: NewJob): Promise<JobRecord>;
  /** Read a job. */
  getJob(id: string): Promise<JobRecord | undefined>;
  /** Query jobs, sorted by id (byte-wise, go-again's order), with filters and paging. */
  queryJobs(query?: JobQuery): Promise<JobRecord[]>;
  /** Count jobs, optionally only those in the given states (empty or absent means all). */
  countJobs(states?: readonly JobState[]): Promise<number>;
  /**
   * Ids of jobs, sorted byte-wise (UTF-8 bytes, i.e. code points; SQL stores use a binary
   * collation), optionally only those in the given states (empty or absent means all).
   */
  jobIds(states?: readonly JobState[]): Promise<string[]>;
  /**
   * Set a terminal state (also on a paused job). A terminal job keeps its state unless `state` is
   * `removed`, which overrides everything. A terminal job gets `nextRunAt = null`. Returns the job after the call, or
   * `undefined` when it does not exist. A call that changes nothing writes nothing.
   */
  endJob(id: string, state: TerminalJobState, now: number): Promise<JobRecord | undefined>;
  /**
   * Pause a job: a `scheduled` or `running` job becomes `paused` (`updatedAt = now`). A paused job
   * keeps its `nextRunAt` but is never due: {@link JobStore.claimDue} and
   * {@link JobStore.nextDueAt} skip it. Its runs in flight finish normally, and completing them
   * keeps it paused (also when its schedule is exhausted). A job already paused, or terminal, is
   * left as it is (nothing is written).
   *
   * @returns the job after the call, or `undefined` when it does not exist
   */
  pauseJob(id: string, now: number): Promise<JobRecord | undefined>;
  /**
   * Resume a paused job: it takes its live state again (`running` while runs are active, else
   * `scheduled`, or `completed` when its `nextRunAt` is `null` and nothing runs), with
   * `updatedAt = now`. Any other job is left as it is (nothing is written). A store that notifies
   * wakes its subscribers with the job's `nextRunAt` when the resumed job can be due.
   *
   * @returns the job after the call, or `undefined` when it does not exist
   */
  resumeJob(id: string, now: number): Promise<JobRecord | undefined>;
  /**
   * Replace a job's definition and next occurrence, atomically, if it is not terminal and its
   * `revision` still equals `update.expectedRevision` (compare-and-set): `spec` and `nextRunAt`
   * are replaced, `revision` goes up by one and `updatedAt = now`. The state follows: a paused job
   * stays paused; otherwise it is `completed` when `nextRunAt` is `null` and nothing runs, else
   * `running` or `scheduled`. Runs already in flight are untouched (they keep their fence and
   * lease). A store that notifies wakes its subscribers when `nextRunAt` is not `null` and the
   * job is not paused.
   *
   * @returns the job after the update; `null` when it is terminal or its revision moved on
   *   (nothing written); `undefined` when it does not exist
   */
  updateJob(update: JobUpdate): Promise<JobRecord | null | undefined>;
  /**
   * Start a triggered run now, outside the schedule: a `running` ledger entry with
   * `trigger: true`, leased to `start.owner` until the start time plus `leaseDuration` (the
   * store's clock when it keeps time). Like a claim, it bumps the job's `fence`, takes the next
   * `sequence` and counts in `activeRuns`, and the job is `running`; unlike a claim it does not
   * count in `started` and does not touch `nextRunAt`. The ledger's one-entry-per-scheduled-time
   * rule does not apply to it: it may share `scheduledAt` with a scheduled occurrence.
   *
   * @returns the started run; `null` when the job is paused or terminal (nothing written);
   *   `undefined` when it does not exist
   * @throws {@link StorageError} with code `ERR_STORAGE_INVALID_ARGUMENT` when
   *   `start.occurrenceId` is already in the ledger (nothing written)
   */
  startRun(start: RunStart): Promise<ClaimedRun | null | undefined>;
  /** The earliest `nextRunAt` over `scheduled` and `running` jobs (not paused ones), or `null`. */
  nextDueAt(): Promise<number | null>;
  /** Claim due jobs in one transaction; see {@link DueClaim}. */
  claimDue(claim: DueClaim): Promise<DueClaimResult>;
  /** Extend an owner's leases in one transaction and report the lost ones; see {@link LeaseRenewalRequest}. */
  renewLeases(renewal: LeaseRenewalRequest): Promise<LeaseRenewal>;
  /**
   * Record run outcomes in one transaction (at most 10,000; no occurrence twice); returns, in
   * order, whether each was recorded. One is refused (false, nothing written for it) when its entry
   * is no longer `running` under this owner and fence. A recorded one updates the job's `runs`,
   * `activeRuns` and `lastRun`, applies `historyLimit`, and completes a job whose `nextRunAt` is
   * `null` when its last running entry finishes. The entry keeps its owner, gets the status,
   * `finishedAt`, `result` and `reason` (or `null`), and its `leaseUntil` becomes `null`. A terminal
   * or paused job keeps its state.
   */
  completeRuns(completions: readonly RunCompletion[]): Promise<boolean[]>;
  /**
   * Take over `running` entries whose lease expired: bump their job's fence, set the new owner,
   * fence and lease, and return them (with their jobs), earliest `leaseUntil` first. Runs of jobs
   * in a terminal or paused state are included (they still need an outcome), and a triggered run
   * stays one.
   */
  claimExpiredRuns(claim: ExpiredRunsClaim): Promise<TakenOverRun[]>;
  /**
   * Give leases up in one transaction (at most 10,000; no occurrence twice): each lease still held
   * (its entry `running` under this owner and fence) expires at once, its `leaseUntil` set to the
   * release time minus 1 (the store's clock when it keeps time), so that
   * {@link JobStore.claimExpiredRuns} on any instance takes the run over immediately. Leases no
   * longer held are left alone.
   *
   * @returns how many leases were released
   */
  releaseLeases(release: LeaseRelease): Promise<number>;
  /**
   * Record the outcome of a finished run's callback delivery on its ledger entry (and on the job's
   * `lastRun` when it is that entry), replacing an earlier one.
   *
   * @returns `true` when recorded; `false` (nothing written) when the entry does not exist, is
   *   still `running`, or is `skipped`
   */
  recordCallback(record: CallbackRecord): Promise<boolean>;
  /** A ledger entry by occurrence id. */
  getRun(occurrenceId: string): Promise<RunRecord | undefined>;
  /**
   * Finished and skipped entries of a job in ascending sequence, filtered like go-again's
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
   * Release resources once the calls already started have settled. Later calls reject with
   * `StorageError` code `ERR_STORAGE_CLOSED`, except `close()` itself, which is idempotent.
   */
  close(): Promise<void>;
}
