/**
 * The in-memory store: the reference driver of the `@again/storage` contract.
 *
 * Every method does its whole work synchronously before its promise settles, so each call is
 * atomic with respect to every other call on the store (JavaScript runs one call at a time).
 * Specs and results are kept as the JSON text the contract's wrapper hands over, which is both the
 * exact copy the contract promises and the compact form a large number of idle jobs needs.
 *
 * @module
 */

import {
  type ClaimedRunRow,
  createJobStore,
  type DriverCompletion,
  type DriverDueClaim,
  type DriverDueClaimResult,
  type DriverJobUpdate,
  type DriverNewJob,
  type DriverStartRunResult,
  type DriverTakenOverRun,
  type DuePlan,
  isTerminalState,
  JobExistsError,
  type JobRow,
  type JobState,
  type JobStore,
  type LeaseRelease,
  type LeaseRenewal,
  type LeaseRenewalRequest,
  type RunRow,
  type RunStart,
  type RunStatus,
  type StoreCapabilities,
  type StoreDriver,
  type TerminalJobState,
  type WakeEvent,
  type WakeSubscription,
} from '@again/storage';
import { compareIds } from './compare-ids.js';
import { DueHeap } from './due-heap.js';
import { type MemoryStorageOptions, resolveMemoryStorageOptions } from './options.js';

/** A ledger entry as kept in memory (mutable). */
interface StoredRun {
  readonly jobId: string;
  readonly scheduledAt: number;
  readonly occurrenceId: string;
  readonly sequence: number;
  fence: number;
  status: RunStatus;
  /** Started by `startRun`, not by the schedule. */
  readonly trigger: boolean;
  owner: string | null;
  leaseUntil: number | null;
  readonly startedAt: number | null;
  finishedAt: number | null;
  reason: string | null;
  result: string | null;
  callback: string | null;
}

/** A job as kept in memory (mutable), with its ledger. */
interface StoredJob {
  readonly id: string;
  spec: string;
  revision: number;
  state: JobState;
  nextRunAt: number | null;
  fence: number;
  sequence: number;
  started: number;
  runs: number;
  activeRuns: number;
  readonly createdAt: number;
  updatedAt: number;
  /** The last finished entry (it outlives the entry's pruning; finished entries never change). */
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

const CAPABILITIES: StoreCapabilities = Object.freeze({
  shared: false,
  notifies: true,
  clock: false,
});

function runRow(run: StoredRun): RunRow {
  return {
    jobId: run.jobId,
    scheduledAt: run.scheduledAt,
    occurrenceId: run.occurrenceId,
    sequence: run.sequence,
    fence: run.fence,
    status: run.status,
    trigger: run.trigger,
    owner: run.owner,
    leaseUntil: run.leaseUntil,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    reason: run.reason,
    result: run.result,
    callback: run.callback,
  };
}

function jobRow(job: StoredJob): JobRow {
  return {
    id: job.id,
    spec: job.spec,
    revision: job.revision,
    state: job.state,
    nextRunAt: job.nextRunAt,
    fence: job.fence,
    sequence: job.sequence,
    started: job.started,
    runs: job.runs,
    activeRuns: job.activeRuns,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    lastRun: job.lastRun === null ? null : runRow(job.lastRun),
  };
}

/** Whether a job takes its state from its runs and next occurrence (not paused, not terminal). */
function isLive(state: JobState): boolean {
  return state === 'scheduled' || state === 'running';
}

/** What a claim or `startRun` returns of a run it started. */
function claimedRow(job: StoredJob, run: StoredRun): ClaimedRunRow {
  return {
    jobId: job.id,
    createdAt: job.createdAt,
    revision: job.revision,
    scheduledAt: run.scheduledAt,
    occurrenceId: run.occurrenceId,
    sequence: run.sequence,
    fence: run.fence,
    startedAt: run.startedAt as number,
    leaseUntil: run.leaseUntil as number,
  };
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

/**
 * The in-memory driver. Not part of the package's API (users get the store from
 * {@link createMemoryStorage}); exported from this module for the conformance mutants, which wrap
 * it in broken drivers.
 *
 * @example
 * ```ts
 * const store = createJobStore(new MemoryDriver(20));
 * ```
 */
export class MemoryDriver implements StoreDriver {
  readonly capabilities: StoreCapabilities = CAPABILITIES;
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
  readonly #listeners = new Set<(wake: WakeEvent) => void>();
  /** Every id in byte-wise order, rebuilt lazily after ids are added or deleted. */
  #sortedIds: string[] | null = [];

  constructor(historyLimit: number) {
    this.#historyLimit = historyLimit;
  }

  async subscribe(listener: (wake: WakeEvent) => void): Promise<WakeSubscription> {
    // Each subscription is its own entry, even for the same function.
    const entry = (wake: WakeEvent): void => listener(wake);
    this.#listeners.add(entry);
    return {
      close: async () => {
        this.#listeners.delete(entry);
      },
    };
  }

  async createJob(input: DriverNewJob): Promise<JobRow> {
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
      spec: input.spec,
      revision: 0,
      state: input.nextRunAt === null ? 'completed' : 'scheduled',
      nextRunAt: input.nextRunAt,
      // A new incarnation's fence is above every fence of the old one: no old lease matches.
      fence: existing === undefined ? 0 : existing.fence + 1,
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
    if (job.nextRunAt !== null) this.#notify({ jobId: job.id, at: job.nextRunAt });
    return jobRow(job);
  }

  async getJob(id: string): Promise<JobRow | undefined> {
    const job = this.#jobs.get(id);
    return job === undefined ? undefined : jobRow(job);
  }

  async queryJobs(query: {
    ids: readonly string[];
    states: readonly JobState[];
    offset: number;
    limit: number | undefined;
  }): Promise<JobRow[]> {
    const ids = query.ids.length > 0 ? new Set(query.ids) : undefined;
    const jobs = this.#filtered(query.states).filter((job) => ids === undefined || ids.has(job.id));
    const end = query.limit === undefined ? undefined : query.offset + query.limit;
    return jobs.slice(query.offset, end).map(jobRow);
  }

  async countJobs(states: readonly JobState[]): Promise<number> {
    if (states.length === 0) return this.#jobs.size;
    let count = 0;
    for (const state of states) count += this.#stateCounts.get(state) ?? 0;
    return count;
  }

  async jobIds(states: readonly JobState[]): Promise<string[]> {
    return this.#filtered(states).map((job) => job.id);
  }

  async endJob(id: string, state: TerminalJobState, now: number): Promise<JobRow | undefined> {
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
    return jobRow(job);
  }

  async pauseJob(id: string, now: number): Promise<JobRow | undefined> {
    const job = this.#jobs.get(id);
    if (job === undefined) return undefined;
    if (isLive(job.state)) {
      this.#setState(job, 'paused');
      job.updatedAt = now;
      this.#reindex(job);
    }
    return jobRow(job);
  }

  async resumeJob(id: string, now: number): Promise<JobRow | undefined> {
    const job = this.#jobs.get(id);
    if (job === undefined) return undefined;
    if (job.state === 'paused') {
      this.#setState(job, this.#liveState(job));
      job.updatedAt = now;
      this.#reindex(job);
      // A job resumed as completed has no next occurrence: nothing to wake for.
      if (job.nextRunAt !== null) this.#notify({ jobId: job.id, at: job.nextRunAt });
    }
    return jobRow(job);
  }

  async updateJob(update: DriverJobUpdate): Promise<JobRow | null | undefined> {
    const job = this.#jobs.get(update.id);
    if (job === undefined) return undefined;
    if (isTerminalState(job.state) || job.revision !== update.expectedRevision) return null;
    job.spec = update.spec;
    job.revision++;
    job.nextRunAt = update.nextRunAt;
    job.updatedAt = update.now;
    if (job.state !== 'paused') this.#setState(job, this.#liveState(job));
    this.#reindex(job);
    if (job.state !== 'paused' && job.nextRunAt !== null) {
      this.#notify({ jobId: job.id, at: job.nextRunAt });
    }
    return jobRow(job);
  }

  async startRun(start: RunStart): Promise<DriverStartRunResult> {
    const job = this.#jobs.get(start.jobId);
    if (job === undefined) return undefined;
    if (!isLive(job.state)) return null;
    if (this.#runs.has(start.occurrenceId)) return 'occurrence-exists';
    job.fence++;
    const run = this.#startEntry(job, start, start, true);
    job.updatedAt = start.now;
    this.#setState(job, 'running');
    return claimedRow(job, run);
  }

  async nextDueAt(): Promise<number | null> {
    return this.#due.peek()?.dueAt ?? null;
  }

  async claimDue(claim: DriverDueClaim): Promise<DriverDueClaimResult> {
    const { now } = claim;
    const selected: StoredJob[] = [];
    for (const job of this.#due.ascending()) {
      if (job.dueAt > now || selected.length >= claim.limit) break;
      selected.push(job);
    }
    // Plan every job before writing anything: a planner that throws leaves the store untouched.
    const plans = selected.map((job) =>
      claim.plan(
        {
          id: job.id,
          createdAt: job.createdAt,
          revision: job.revision,
          nextRunAt: job.dueAt,
          started: job.started,
          activeRuns: job.activeRuns,
          spec: job.spec,
        },
        now,
      ),
    );
    const runs: Array<DriverDueClaimResult['runs'][number]> = [];
    const conflicts: string[] = [];
    for (const [index, job] of selected.entries()) {
      const plan = plans[index] as DuePlan | null;
      if (plan === null) continue;
      if (!this.#allNew(job, plan)) {
        conflicts.push(job.id);
        continue;
      }
      const run = this.#apply(job, plan, claim);
      if (run !== null) runs.push(claimedRow(job, run));
    }
    return { now, examined: selected.length, runs, conflicts };
  }

  /**
   * Appends a running entry leased to `lease.owner` under the job's current fence, and counts it
   * as active.
   */
  #startEntry(
    job: StoredJob,
    occurrence: { readonly scheduledAt: number; readonly occurrenceId: string },
    lease: { readonly owner: string; readonly now: number; readonly leaseDuration: number },
    trigger: boolean,
  ): StoredRun {
    const run: StoredRun = {
      jobId: job.id,
      scheduledAt: occurrence.scheduledAt,
      occurrenceId: occurrence.occurrenceId,
      sequence: ++job.sequence,
      fence: job.fence,
      status: 'running',
      trigger,
      owner: lease.owner,
      leaseUntil: lease.now + lease.leaseDuration,
      startedAt: lease.now,
      finishedAt: null,
      reason: null,
      result: null,
      callback: null,
    };
    this.#append(job, run);
    this.#running.add(run);
    job.activeRuns++;
    return run;
  }

  /** Writes one job's step; returns the run it started, if any. */
  #apply(job: StoredJob, plan: DuePlan, claim: DriverDueClaim): StoredRun | null {
    const { now } = claim;
    job.fence++;
    for (const entry of plan.skipped) {
      this.#append(job, {
        jobId: job.id,
        scheduledAt: entry.scheduledAt,
        occurrenceId: entry.occurrenceId,
        sequence: ++job.sequence,
        fence: job.fence,
        status: 'skipped',
        trigger: false,
        owner: null,
        leaseUntil: null,
        startedAt: null,
        finishedAt: now,
        reason: entry.reason,
        result: null,
        callback: null,
      });
    }
    let run: StoredRun | null = null;
    if (plan.run !== null) {
      run = this.#startEntry(job, plan.run, claim, false);
      job.started++;
    }
    job.nextRunAt = plan.nextRunAt;
    job.updatedAt = now;
    this.#setState(job, this.#liveState(job));
    if (plan.skipped.length > 0) this.#trimTo(job, claim.historyLimit ?? this.#historyLimit);
    this.#reindex(job);
    return run;
  }

  async renewLeases(renewal: LeaseRenewalRequest): Promise<LeaseRenewal> {
    const leaseUntil = renewal.now + renewal.leaseDuration;
    const lost: Array<LeaseRenewal['lost'][number]> = [];
    for (const lease of renewal.leases) {
      const run = this.#runs.get(lease.occurrenceId);
      if (run === undefined || run.status !== 'running') {
        lost.push({ occurrenceId: lease.occurrenceId, reason: 'gone' });
      } else if (run.owner !== renewal.owner || run.fence !== lease.fence) {
        lost.push({ occurrenceId: lease.occurrenceId, reason: 'taken-over' });
      } else {
        run.leaseUntil = leaseUntil;
        const state = this.#jobs.get(run.jobId)?.state;
        if (state === 'removed' || state === 'canceled') {
          lost.push({ occurrenceId: lease.occurrenceId, reason: state });
        }
      }
    }
    return { now: renewal.now, leaseUntil, lost };
  }

  async completeRuns(completions: readonly DriverCompletion[]): Promise<boolean[]> {
    return completions.map((completion) => this.#complete(completion));
  }

  #complete(completion: DriverCompletion): boolean {
    const run = this.#runs.get(completion.occurrenceId);
    if (
      run === undefined ||
      run.status !== 'running' ||
      run.owner !== completion.owner ||
      run.fence !== completion.fence
    ) {
      return false;
    }
    const job = this.#jobs.get(run.jobId) as StoredJob;
    run.status = completion.status;
    run.finishedAt = completion.finishedAt;
    run.result = completion.result;
    run.reason = completion.reason;
    run.leaseUntil = null;
    this.#running.delete(run);
    job.finished++;
    job.runs++;
    job.activeRuns = Math.max(job.activeRuns - 1, 0);
    job.lastRun = run;
    job.updatedAt = Math.max(job.updatedAt, completion.finishedAt);
    if (isLive(job.state)) this.#setState(job, this.#liveState(job));
    this.#trimTo(job, completion.historyLimit ?? this.#historyLimit);
    return true;
  }

  async claimExpiredRuns(claim: {
    owner: string;
    now: number;
    leaseDuration: number;
    limit: number;
  }): Promise<DriverTakenOverRun[]> {
    const expired: StoredRun[] = [];
    for (const run of this.#running) {
      if (run.leaseUntil !== null && run.leaseUntil < claim.now) expired.push(run);
    }
    expired.sort(byLeaseUntil);
    return expired.slice(0, claim.limit).map((run) => {
      const job = this.#jobs.get(run.jobId) as StoredJob;
      const previousOwner = run.owner as string;
      job.fence++;
      job.updatedAt = Math.max(job.updatedAt, claim.now);
      run.fence = job.fence;
      run.owner = claim.owner;
      run.leaseUntil = claim.now + claim.leaseDuration;
      return { job: jobRow(job), run: runRow(run), previousOwner };
    });
  }

  async releaseLeases(release: LeaseRelease): Promise<number> {
    let released = 0;
    for (const lease of release.leases) {
      const run = this.#runs.get(lease.occurrenceId);
      if (
        run !== undefined &&
        run.status === 'running' &&
        run.owner === release.owner &&
        run.fence === lease.fence
      ) {
        // Expired at once: any instance's takeover at the release time takes it.
        run.leaseUntil = release.now - 1;
        released++;
      }
    }
    return released;
  }

  async recordCallback(record: { occurrenceId: string; callback: string }): Promise<boolean> {
    const run = this.#runs.get(record.occurrenceId);
    if (run === undefined || run.status === 'running' || run.status === 'skipped') return false;
    // The job's `lastRun` is this very object when it is the last run, so it sees the callback too.
    run.callback = record.callback;
    return true;
  }

  async getRun(occurrenceId: string): Promise<RunRow | undefined> {
    const run = this.#runs.get(occurrenceId);
    return run === undefined ? undefined : runRow(run);
  }

  async history(
    jobId: string,
    query: { fromSequence: number | undefined; limit: number | undefined },
  ): Promise<RunRow[] | undefined> {
    const job = this.#jobs.get(jobId);
    if (job === undefined) return undefined;
    const from = query.fromSequence ?? 0;
    let entries = job.ledger.filter((run) => run.status !== 'running' && run.sequence >= from);
    if (query.limit !== undefined) entries = entries.slice(-query.limit);
    return entries.map(runRow);
  }

  async runningRuns(jobId: string | undefined): Promise<RunRow[]> {
    const runs =
      jobId === undefined
        ? [...this.#running]
        : (this.#jobs.get(jobId)?.ledger.filter((run) => run.status === 'running') ?? []);
    return runs.sort(byStartedAt).map(runRow);
  }

  async pruneHistory(retention: {
    maxAge: number | undefined;
    maxRowsPerJob: number | undefined;
    now: number;
  }): Promise<number> {
    const cutoff = retention.maxAge === undefined ? undefined : retention.now - retention.maxAge;
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
      if (retention.maxRowsPerJob !== undefined) {
        deleted += this.#trimTo(job, retention.maxRowsPerJob);
      }
    }
    return deleted;
  }

  async pruneJobs(retention: { finishedBefore: number }): Promise<number> {
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
    this.#jobs.clear();
    this.#runs.clear();
    this.#running.clear();
    this.#due.clear();
    this.#stateCounts.clear();
    this.#listeners.clear();
    this.#sortedIds = [];
  }

  /** Tells the listeners after the current call has returned (never from inside it). */
  #notify(wake: WakeEvent): void {
    if (this.#listeners.size === 0) return;
    const listeners = [...this.#listeners];
    queueMicrotask(() => {
      for (const listener of listeners) listener(wake);
    });
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

  /** The state of a live job from its running entries and next occurrence. */
  #liveState(job: StoredJob): JobState {
    if (job.activeRuns > 0) return 'running';
    return job.nextRunAt === null ? 'completed' : 'scheduled';
  }

  /** Jobs in byte-wise id order, optionally only those in `states`. */
  #filtered(states: readonly JobState[]): StoredJob[] {
    if (this.#sortedIds === null) this.#sortedIds = [...this.#jobs.keys()].sort(compareIds);
    const wanted = states.length > 0 ? new Set(states) : undefined;
    const jobs: StoredJob[] = [];
    for (const id of this.#sortedIds) {
      const job = this.#jobs.get(id) as StoredJob;
      if (wanted === undefined || wanted.has(job.state)) jobs.push(job);
    }
    return jobs;
  }

  /**
   * Whether no entry of `plan` repeats an occurrence id of the store or the scheduled time of a
   * scheduled entry of the job's ledger (triggered runs share times freely; the plan itself was
   * checked for repeats). The ledger is short: a scan is fine.
   */
  #allNew(job: StoredJob, plan: DuePlan): boolean {
    const entries = plan.run === null ? plan.skipped : [...plan.skipped, plan.run];
    for (const entry of entries) {
      if (this.#runs.has(entry.occurrenceId)) return false;
      for (const run of job.ledger) {
        if (!run.trigger && run.scheduledAt === entry.scheduledAt) return false;
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
    if (job.nextRunAt !== null && isLive(job.state)) {
      job.dueAt = job.nextRunAt;
      this.#due.update(job);
    } else {
      this.#due.remove(job);
    }
  }
}

/**
 * Creates an in-memory {@link JobStore}: the reference implementation of the `@again/storage`
 * contract, for tests, development and single-process schedulers whose jobs need not survive a
 * restart. Every call is atomic, every returned object is a fresh copy, and specs and results are
 * kept as JSON text, exactly what a SQL store would keep. Due times are indexed in a binary heap,
 * so claims and `nextDueAt` stay fast with hundreds of thousands of jobs.
 *
 * Its capabilities: not shared across processes (schedulers need not poll it), notifies (several
 * schedulers in one process on one store wake each other), keeps no clock of its own.
 *
 * @param options - `historyLimit`, the default number of finished entries kept per job
 * @returns a store; `close()` drops its data
 * @throws StorageError with code `ERR_STORAGE_INVALID_ARGUMENT` when `options` is invalid
 * @example
 * ```ts
 * import { createMemoryStorage } from '@again/storage-memory';
 *
 * const store = createMemoryStorage();
 * await store.createJob({ id: 'report', spec: { url: 'https://example.com' }, nextRunAt: 1000, now: 0 });
 * console.log(await store.nextDueAt()); // 1000
 * ```
 */
export function createMemoryStorage(options?: MemoryStorageOptions): JobStore {
  const resolved = resolveMemoryStorageOptions(options);
  return createJobStore(new MemoryDriver(resolved.historyLimit));
}
