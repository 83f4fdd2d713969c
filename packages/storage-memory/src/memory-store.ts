/**
 * The in-memory `JobStore`: the reference implementation of the `@again/storage` contract.
 *
 * Every method does its whole work synchronously before its promise settles, so each call is
 * atomic with respect to every other call on the store (JavaScript runs one call at a time).
 *
 * @module
 */

import {
  type ClaimResult,
  type ExpiredRunsClaim,
  type HistoryQuery,
  type HistoryRetention,
  isTerminalState,
  JobExistsError,
  type JobQuery,
  type JobRecord,
  type JobRetention,
  type JobState,
  type JobStore,
  type JsonObject,
  type NewJob,
  type OccurrenceClaim,
  positiveCount,
  type RunCompletion,
  type RunLease,
  type RunRecord,
  type RunStatus,
  StorageError,
  type TerminalJobState,
} from '@again/storage';
import { compareIds } from './compare-ids.js';
import { DueHeap } from './due-heap.js';
import { cloneJsonObject, copyJsonObject } from './json.js';
import { type MemoryStorageOptions, resolveMemoryStorageOptions } from './options.js';

/** A ledger entry as kept in memory (mutable). */
interface StoredRun {
  readonly jobId: string;
  readonly scheduledAt: number;
  readonly occurrenceId: string;
  readonly sequence: number;
  fence: number;
  status: RunStatus;
  owner: string | null;
  leaseUntil: number | null;
  readonly startedAt: number | null;
  finishedAt: number | null;
  reason: string | null;
  result: JsonObject | null;
}

/** A job as kept in memory (mutable), with its ledger. */
interface StoredJob {
  readonly id: string;
  readonly spec: JsonObject;
  state: JobState;
  nextRunAt: number | null;
  fence: number;
  sequence: number;
  started: number;
  runs: number;
  activeRuns: number;
  readonly createdAt: number;
  updatedAt: number;
  /**
   * The last finished entry (it outlives the entry's pruning). Finished entries never change
   * again, so the entry itself is kept; readers get copies.
   */
  lastRun: StoredRun | null;
  /** The job's entries in ascending sequence (bounded by the history limit plus running ones). */
  ledger: StoredRun[];
  /** How many of the ledger's entries are finished (not running). */
  finished: number;
  /** The due time the due index holds for the job (its `nextRunAt` while it is indexed). */
  dueAt: number;
  /** The job's position in the due index, -1 when it is not due at all. */
  heapIndex: number;
}

function copyRun(run: StoredRun | RunRecord): RunRecord {
  return {
    jobId: run.jobId,
    scheduledAt: run.scheduledAt,
    occurrenceId: run.occurrenceId,
    sequence: run.sequence,
    fence: run.fence,
    status: run.status,
    owner: run.owner,
    leaseUntil: run.leaseUntil,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    reason: run.reason,
    result: run.result === null ? null : cloneJsonObject(run.result),
  };
}

function copyJob(job: StoredJob): JobRecord {
  return {
    id: job.id,
    spec: cloneJsonObject(job.spec),
    state: job.state,
    nextRunAt: job.nextRunAt,
    fence: job.fence,
    sequence: job.sequence,
    started: job.started,
    runs: job.runs,
    activeRuns: job.activeRuns,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    lastRun: job.lastRun === null ? null : copyRun(job.lastRun),
  };
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && value > 0 ? value : undefined;
}

function byStartedAt(a: StoredRun, b: StoredRun): number {
  return (
    (a.startedAt ?? 0) - (b.startedAt ?? 0) ||
    compareIds(a.jobId, b.jobId) ||
    a.sequence - b.sequence
  );
}

function byLeaseUntil(a: StoredRun, b: StoredRun): number {
  return (
    (a.leaseUntil ?? 0) - (b.leaseUntil ?? 0) ||
    compareIds(a.jobId, b.jobId) ||
    a.sequence - b.sequence
  );
}

/** The in-memory store. Not exported: users get it from {@link createMemoryStorage}. */
class MemoryJobStore implements JobStore {
  readonly #historyLimit: number;
  readonly #jobs = new Map<string, StoredJob>();
  /** Every ledger entry by occurrence id. */
  readonly #runs = new Map<string, StoredRun>();
  /** The running entries (the only ones leases, takeovers and `runningRuns` look at). */
  readonly #running = new Set<StoredRun>();
  /** Non-terminal jobs with a `nextRunAt`, by `(nextRunAt, id)`. */
  readonly #due = new DueHeap<StoredJob>();
  /** How many jobs are in each state (so `countJobs` is O(1) per state). */
  readonly #stateCounts = new Map<JobState, number>();
  /** Every id in byte-wise order, rebuilt lazily after ids are added or deleted. */
  #sortedIds: string[] | null = [];
  #closed = false;

  constructor(historyLimit: number) {
    this.#historyLimit = historyLimit;
  }

  async createJob(input: NewJob): Promise<JobRecord> {
    this.#open('createJob');
    if (typeof input?.id !== 'string' || input.id === '') {
      throw invalid('createJob', 'id must be a non-empty string');
    }
    if (input.nextRunAt !== null && !Number.isFinite(input.nextRunAt)) {
      throw invalid('createJob', 'nextRunAt must be a finite number or null');
    }
    if (!Number.isFinite(input.now)) throw invalid('createJob', 'now must be a finite number');
    const spec = copyJsonObject(input.spec, 'createJob', 'spec');
    const existing = this.#jobs.get(input.id);
    if (existing !== undefined && !isTerminalState(existing.state)) {
      throw new JobExistsError(input.id);
    }
    if (existing === undefined) {
      this.#sortedIds = null;
    } else {
      this.#dropLedger(existing);
      this.#due.remove(existing);
      this.#countState(existing.state, -1);
    }
    const job: StoredJob = {
      id: input.id,
      spec,
      state: input.nextRunAt === null ? 'completed' : 'scheduled',
      nextRunAt: input.nextRunAt,
      // The fence carries on across incarnations so that old leases never match new runs.
      fence: existing?.fence ?? 0,
      sequence: 0,
      started: 0,
      runs: 0,
      activeRuns: 0,
      createdAt: input.now,
      updatedAt: input.now,
      lastRun: null,
      ledger: [],
      finished: 0,
      dueAt: 0,
      heapIndex: -1,
    };
    this.#jobs.set(job.id, job);
    this.#countState(job.state, 1);
    this.#reindex(job);
    return copyJob(job);
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    this.#open('getJob');
    const job = this.#jobs.get(id);
    return job === undefined ? undefined : copyJob(job);
  }

  async queryJobs(query: JobQuery = {}): Promise<JobRecord[]> {
    this.#open('queryJobs');
    const ids = query.ids !== undefined && query.ids.length > 0 ? new Set(query.ids) : undefined;
    const jobs = this.#filtered(query.states).filter((job) => ids === undefined || ids.has(job.id));
    const offset = Math.floor(Math.max(query.offset ?? 0, 0));
    const limit = positiveCount(query.limit);
    const page = jobs.slice(offset, limit === undefined ? undefined : offset + limit);
    return page.map(copyJob);
  }

  async countJobs(states?: readonly JobState[]): Promise<number> {
    this.#open('countJobs');
    if (states === undefined || states.length === 0) return this.#jobs.size;
    let count = 0;
    for (const state of new Set(states)) count += this.#stateCounts.get(state) ?? 0;
    return count;
  }

  async jobIds(states?: readonly JobState[]): Promise<string[]> {
    this.#open('jobIds');
    return this.#filtered(states).map((job) => job.id);
  }

  async endJob(id: string, state: TerminalJobState, now: number): Promise<JobRecord | undefined> {
    this.#open('endJob');
    const job = this.#jobs.get(id);
    if (job === undefined) return undefined;
    if (!isTerminalState(job.state)) {
      this.#setState(job, state);
      job.nextRunAt = null;
      job.updatedAt = now;
      this.#reindex(job);
    } else if (state === 'removed' && job.state !== 'removed') {
      this.#setState(job, 'removed');
      job.updatedAt = now;
    }
    return copyJob(job);
  }

  async dueJobs(now: number, limit: number): Promise<JobRecord[]> {
    this.#open('dueJobs');
    const due: JobRecord[] = [];
    if (!(limit > 0)) return due;
    for (const job of this.#due.ascending()) {
      if (job.dueAt > now) break;
      due.push(copyJob(job));
      if (due.length >= limit) break;
    }
    return due;
  }

  async nextDueAt(): Promise<number | null> {
    this.#open('nextDueAt');
    return this.#due.peek()?.dueAt ?? null;
  }

  async claimOccurrence(claim: OccurrenceClaim): Promise<ClaimResult | null> {
    this.#open('claimOccurrence');
    const job = this.#jobs.get(claim.jobId);
    if (
      job === undefined ||
      isTerminalState(job.state) ||
      job.nextRunAt !== claim.expectedNextRunAt
    ) {
      return null;
    }
    const skipped = claim.skipped ?? [];
    const entries =
      claim.run === undefined
        ? skipped
        : skipped.length === 0
          ? [claim.run]
          : [...skipped, claim.run];
    if (!this.#allNew(job, entries)) return null;
    job.fence++;
    for (const entry of skipped) {
      this.#append(job, {
        jobId: job.id,
        scheduledAt: entry.scheduledAt,
        occurrenceId: entry.occurrenceId,
        sequence: ++job.sequence,
        fence: job.fence,
        status: 'skipped',
        owner: null,
        leaseUntil: null,
        startedAt: null,
        finishedAt: claim.now,
        reason: entry.reason,
        result: null,
      });
    }
    let run: StoredRun | null = null;
    if (claim.run !== undefined) {
      run = {
        jobId: job.id,
        scheduledAt: claim.run.scheduledAt,
        occurrenceId: claim.run.occurrenceId,
        sequence: ++job.sequence,
        fence: job.fence,
        status: 'running',
        owner: claim.run.owner,
        leaseUntil: claim.run.leaseUntil,
        startedAt: claim.now,
        finishedAt: null,
        reason: null,
        result: null,
      };
      this.#append(job, run);
      this.#running.add(run);
      job.started++;
      job.activeRuns++;
    }
    job.nextRunAt = claim.nextRunAt;
    job.updatedAt = claim.now;
    this.#setState(job, this.#liveState(job));
    this.#trim(job, claim.historyLimit);
    this.#reindex(job);
    return { job: copyJob(job), run: run === null ? null : copyRun(run) };
  }

  async renewLease(lease: RunLease, leaseUntil: number): Promise<boolean> {
    this.#open('renewLease');
    const run = this.#leased(lease);
    if (run === undefined) return false;
    run.leaseUntil = leaseUntil;
    return true;
  }

  async completeRun(completion: RunCompletion): Promise<boolean> {
    this.#open('completeRun');
    const run = this.#leased(completion);
    if (run === undefined) return false;
    const result =
      completion.result === null
        ? null
        : copyJsonObject(completion.result, 'completeRun', 'result');
    const job = this.#jobs.get(run.jobId) as StoredJob;
    run.status = completion.status;
    run.finishedAt = completion.finishedAt;
    run.result = result;
    run.reason = completion.reason ?? null;
    run.leaseUntil = null;
    this.#running.delete(run);
    job.finished++;
    job.runs++;
    job.activeRuns = Math.max(job.activeRuns - 1, 0);
    job.lastRun = run;
    job.updatedAt = Math.max(job.updatedAt, completion.finishedAt);
    if (!isTerminalState(job.state)) this.#setState(job, this.#liveState(job));
    this.#trim(job, completion.historyLimit);
    return true;
  }

  async claimExpiredRuns(
    claim: ExpiredRunsClaim,
  ): Promise<Array<{ job: JobRecord; run: RunRecord }>> {
    this.#open('claimExpiredRuns');
    if (!(claim.limit > 0)) return [];
    const expired: StoredRun[] = [];
    for (const run of this.#running) {
      if (run.leaseUntil !== null && run.leaseUntil < claim.now) expired.push(run);
    }
    expired.sort(byLeaseUntil);
    return expired.slice(0, claim.limit).map((run) => {
      const job = this.#jobs.get(run.jobId) as StoredJob;
      job.fence++;
      job.updatedAt = Math.max(job.updatedAt, claim.now);
      run.fence = job.fence;
      run.owner = claim.owner;
      run.leaseUntil = claim.leaseUntil;
      return { job: copyJob(job), run: copyRun(run) };
    });
  }

  async getRun(occurrenceId: string): Promise<RunRecord | undefined> {
    this.#open('getRun');
    const run = this.#runs.get(occurrenceId);
    return run === undefined ? undefined : copyRun(run);
  }

  async history(jobId: string, query: HistoryQuery = {}): Promise<RunRecord[] | undefined> {
    this.#open('history');
    const job = this.#jobs.get(jobId);
    if (job === undefined) return undefined;
    const from = positive(query.fromSequence);
    let entries = job.ledger.filter(
      (run) => run.status !== 'running' && (from === undefined || run.sequence >= from),
    );
    const limit = positiveCount(query.limit);
    if (limit !== undefined) entries = entries.slice(-limit);
    return entries.map(copyRun);
  }

  async runningRuns(jobId?: string): Promise<RunRecord[]> {
    this.#open('runningRuns');
    const runs =
      jobId === undefined
        ? [...this.#running]
        : (this.#jobs.get(jobId)?.ledger.filter((run) => run.status === 'running') ?? []);
    return runs.sort(byStartedAt).map(copyRun);
  }

  async pruneHistory(retention: HistoryRetention): Promise<number> {
    this.#open('pruneHistory');
    const maxAge = positive(retention.maxAge);
    const maxRows = positiveCount(retention.maxRowsPerJob);
    if (maxAge === undefined && maxRows === undefined) return 0;
    const cutoff = maxAge === undefined ? undefined : retention.now - maxAge;
    let deleted = 0;
    for (const job of this.#jobs.values()) {
      if (cutoff !== undefined) {
        const before = job.ledger.length;
        job.ledger = job.ledger.filter((run) => {
          const old =
            run.status !== 'running' && run.finishedAt !== null && run.finishedAt < cutoff;
          if (old) this.#forget(job, run);
          return !old;
        });
        deleted += before - job.ledger.length;
      }
      if (maxRows !== undefined) deleted += this.#trimTo(job, maxRows);
    }
    return deleted;
  }

  async pruneJobs(retention: JobRetention): Promise<number> {
    this.#open('pruneJobs');
    let deleted = 0;
    for (const job of [...this.#jobs.values()]) {
      if (
        isTerminalState(job.state) &&
        job.activeRuns === 0 &&
        job.updatedAt < retention.finishedBefore
      ) {
        this.#dropLedger(job);
        this.#due.remove(job);
        this.#jobs.delete(job.id);
        this.#countState(job.state, -1);
        deleted++;
      }
    }
    if (deleted > 0) this.#sortedIds = null;
    return deleted;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#jobs.clear();
    this.#runs.clear();
    this.#running.clear();
    this.#due.clear();
    this.#stateCounts.clear();
    this.#sortedIds = [];
  }

  #open(operation: string): void {
    if (this.#closed) {
      throw new StorageError(operation, 'the store is closed', { code: 'ERR_STORAGE_CLOSED' });
    }
  }

  /** The running entry this lease holds, if it still holds it. */
  #leased(lease: RunLease): StoredRun | undefined {
    const run = this.#runs.get(lease.occurrenceId);
    return run !== undefined &&
      run.status === 'running' &&
      run.owner === lease.owner &&
      run.fence === lease.fence
      ? run
      : undefined;
  }

  #setState(job: StoredJob, state: JobState): void {
    if (job.state === state) return;
    this.#countState(job.state, -1);
    this.#countState(state, 1);
    job.state = state;
  }

  #countState(state: JobState, delta: number): void {
    this.#stateCounts.set(state, (this.#stateCounts.get(state) ?? 0) + delta);
  }

  /** The state of a non-terminal job from its running entries and next occurrence. */
  #liveState(job: StoredJob): JobState {
    if (job.activeRuns > 0) return 'running';
    return job.nextRunAt === null ? 'completed' : 'scheduled';
  }

  /** Jobs in byte-wise id order, optionally only those in `states`. */
  #filtered(states: readonly JobState[] | undefined): StoredJob[] {
    if (this.#sortedIds === null) this.#sortedIds = [...this.#jobs.keys()].sort(compareIds);
    const wanted = states !== undefined && states.length > 0 ? new Set(states) : undefined;
    const jobs: StoredJob[] = [];
    for (const id of this.#sortedIds) {
      const job = this.#jobs.get(id) as StoredJob;
      if (wanted === undefined || wanted.has(job.state)) jobs.push(job);
    }
    return jobs;
  }

  /**
   * Whether none of `entries` repeats a `(jobId, scheduledAt)` or an occurrence id of the ledger,
   * or one another. The job's ledger is short (history limit plus running entries): a scan is fine.
   */
  #allNew(
    job: StoredJob,
    entries: ReadonlyArray<{ scheduledAt: number; occurrenceId: string }>,
  ): boolean {
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index] as { scheduledAt: number; occurrenceId: string };
      if (this.#runs.has(entry.occurrenceId)) return false;
      for (const run of job.ledger) if (run.scheduledAt === entry.scheduledAt) return false;
      for (let other = 0; other < index; other++) {
        const earlier = entries[other];
        if (
          earlier?.scheduledAt === entry.scheduledAt ||
          earlier?.occurrenceId === entry.occurrenceId
        ) {
          return false;
        }
      }
    }
    return true;
  }

  #append(job: StoredJob, run: StoredRun): void {
    job.ledger.push(run);
    if (run.status !== 'running') job.finished++;
    this.#runs.set(run.occurrenceId, run);
  }

  /** Unlinks an entry from the store's indexes (the caller removes it from `job.ledger`). */
  #forget(job: StoredJob, run: StoredRun): void {
    if (run.status === 'running') {
      this.#running.delete(run);
    } else {
      job.finished--;
    }
    this.#runs.delete(run.occurrenceId);
  }

  #dropLedger(job: StoredJob): void {
    for (const run of job.ledger) this.#forget(job, run);
    job.ledger = [];
  }

  /** Applies a call's history limit, or the store's default. */
  #trim(job: StoredJob, historyLimit: number | undefined): void {
    this.#trimTo(job, positiveCount(historyLimit) ?? this.#historyLimit);
  }

  /** Keeps the newest `limit` finished entries; running entries always stay. Returns the deleted count. */
  #trimTo(job: StoredJob, limit: number): number {
    const excess = job.finished - limit;
    if (excess <= 0) return 0;
    let left = excess;
    job.ledger = job.ledger.filter((run) => {
      if (left > 0 && run.status !== 'running') {
        left--;
        this.#forget(job, run);
        return false;
      }
      return true;
    });
    return excess;
  }

  /** Points the due index at the job's current due time (or takes the job out of it). */
  #reindex(job: StoredJob): void {
    if (job.nextRunAt !== null && !isTerminalState(job.state)) {
      job.dueAt = job.nextRunAt;
      this.#due.update(job);
    } else {
      this.#due.remove(job);
    }
  }
}

function invalid(operation: string, message: string): StorageError {
  return new StorageError(operation, message, { code: 'ERR_STORAGE_INVALID_ARGUMENT' });
}

/**
 * Creates an in-memory {@link JobStore}: the reference implementation of the `@again/storage`
 * contract, for tests, development and single-process schedulers whose jobs need not survive a
 * restart. Every call is atomic, every returned object is a fresh copy, and specs and results must
 * be JSON (exactly what a SQL store would keep). Due times are indexed in a binary heap, so
 * `dueJobs` and `nextDueAt` stay fast with hundreds of thousands of jobs.
 *
 * @param options - `historyLimit`, the default number of finished entries kept per job
 * @returns a store; `close()` drops its data
 * @throws {@link StorageError} with code `ERR_STORAGE_INVALID_ARGUMENT` when `options` is invalid
 * @example
 * ```ts
 * import { createMemoryStorage } from '@again/storage-memory';
 *
 * const store = createMemoryStorage();
 * await store.createJob({ id: 'report', spec: { url: 'https://example.com' }, nextRunAt: 1000, now: 0 });
 * const [due] = await store.dueJobs(1000, 10);
 * console.log(due?.id); // 'report'
 * ```
 */
export function createMemoryStorage(options?: MemoryStorageOptions): JobStore {
  const resolved = resolveMemoryStorageOptions(options);
  return new MemoryJobStore(resolved.historyLimit);
}
