/**
 * The PostgreSQL driver: the `StoreDriver` that `createJobStore` wraps into the PostgreSQL
 * `JobStore`.
 *
 * @module
 */

import type {
  DriverCompletion,
  DriverDueClaim,
  DriverDueClaimResult,
  DriverJobUpdate,
  DriverNewJob,
  DriverStartRunResult,
  DriverTakenOverRun,
  JobRow,
  JobState,
  LeaseRelease,
  LeaseRenewal,
  LeaseRenewalRequest,
  RunRow,
  RunStart,
  StoreCapabilities,
  StoreDriver,
  TerminalJobState,
  WakeEvent,
  WakeSubscription,
} from '@again/storage';
import { toStorageError } from './errors.js';
import type { WakeListener } from './listener.js';
import * as ops from './operations.js';

/**
 * Runs each driver call as one operation of `operations.ts`. Capabilities: shared (any number of
 * instances on the database), notifies when it has a listener, keeps time when its clock is the
 * database's.
 */
export class PostgresDriver implements StoreDriver {
  readonly capabilities: StoreCapabilities;
  readonly subscribe?: (listener: (wake: WakeEvent) => void) => Promise<WakeSubscription>;
  readonly #ctx: ops.Context;
  readonly #listener: WakeListener | null;
  readonly #closePool: () => Promise<void>;

  /**
   * @param ctx - the migrated database and the store's settings
   * @param listener - the wake-up listener, or `null` without notifications
   * @param closePool - ends what the store opened (nothing the user passed in)
   */
  constructor(ctx: ops.Context, listener: WakeListener | null, closePool: () => Promise<void>) {
    this.#ctx = ctx;
    this.#listener = listener;
    this.#closePool = closePool;
    this.capabilities = Object.freeze({
      shared: true,
      notifies: listener !== null,
      clock: ctx.clock === 'database',
    });
    if (listener !== null) {
      this.subscribe = (wake) => this.#run('subscribe', () => listener.subscribe(wake));
    }
  }

  /** Runs one operation; every failure becomes a `StorageError` (or stays a `JobExistsError`). */
  async #run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw toStorageError(operation, error);
    }
  }

  createJob(job: DriverNewJob): Promise<JobRow> {
    return this.#run('createJob', () => ops.createJob(this.#ctx, job));
  }

  getJob(id: string): Promise<JobRow | undefined> {
    return this.#run('getJob', () => ops.getJob(this.#ctx, id));
  }

  queryJobs(query: {
    readonly ids: readonly string[];
    readonly states: readonly JobState[];
    readonly offset: number;
    readonly limit: number | undefined;
  }): Promise<JobRow[]> {
    return this.#run('queryJobs', () => ops.queryJobs(this.#ctx, query));
  }

  countJobs(states: readonly JobState[]): Promise<number> {
    return this.#run('countJobs', () => ops.countJobs(this.#ctx, states));
  }

  jobIds(states: readonly JobState[]): Promise<string[]> {
    return this.#run('jobIds', () => ops.jobIds(this.#ctx, states));
  }

  endJob(id: string, state: TerminalJobState, now: number): Promise<JobRow | undefined> {
    return this.#run('endJob', () => ops.endJob(this.#ctx, id, state, now));
  }

  pauseJob(id: string, now: number): Promise<JobRow | undefined> {
    return this.#run('pauseJob', () => ops.pauseJob(this.#ctx, id, now));
  }

  resumeJob(id: string, now: number): Promise<JobRow | undefined> {
    return this.#run('resumeJob', () => ops.resumeJob(this.#ctx, id, now));
  }

  updateJob(update: DriverJobUpdate): Promise<JobRow | null | undefined> {
    return this.#run('updateJob', () => ops.updateJob(this.#ctx, update));
  }

  startRun(start: RunStart): Promise<DriverStartRunResult> {
    return this.#run('startRun', () => ops.startRun(this.#ctx, start));
  }

  nextDueAt(): Promise<number | null> {
    return this.#run('nextDueAt', () => ops.nextDueAt(this.#ctx));
  }

  claimDue(claim: DriverDueClaim): Promise<DriverDueClaimResult> {
    return this.#run('claimDue', () => ops.claimDue(this.#ctx, claim));
  }

  renewLeases(renewal: LeaseRenewalRequest): Promise<LeaseRenewal> {
    return this.#run('renewLeases', () => ops.renewLeases(this.#ctx, renewal));
  }

  completeRuns(completions: readonly DriverCompletion[]): Promise<boolean[]> {
    return this.#run('completeRuns', () => ops.completeRuns(this.#ctx, completions));
  }

  claimExpiredRuns(claim: {
    readonly owner: string;
    readonly now: number;
    readonly leaseDuration: number;
    readonly limit: number;
  }): Promise<DriverTakenOverRun[]> {
    return this.#run('claimExpiredRuns', () => ops.claimExpiredRuns(this.#ctx, claim));
  }

  releaseLeases(release: LeaseRelease): Promise<number> {
    return this.#run('releaseLeases', () => ops.releaseLeases(this.#ctx, release));
  }

  recordCallback(record: {
    readonly occurrenceId: string;
    readonly callback: string;
  }): Promise<boolean> {
    return this.#run('recordCallback', () => ops.recordCallback(this.#ctx, record));
  }

  getRun(occurrenceId: string): Promise<RunRow | undefined> {
    return this.#run('getRun', () => ops.getRun(this.#ctx, occurrenceId));
  }

  history(
    jobId: string,
    query: { readonly fromSequence: number | undefined; readonly limit: number | undefined },
  ): Promise<RunRow[] | undefined> {
    return this.#run('history', () => ops.history(this.#ctx, jobId, query));
  }

  runningRuns(jobId: string | undefined): Promise<RunRow[]> {
    return this.#run('runningRuns', () => ops.runningRuns(this.#ctx, jobId));
  }

  pruneHistory(retention: {
    readonly maxAge: number | undefined;
    readonly maxRowsPerJob: number | undefined;
    readonly now: number;
  }): Promise<number> {
    return this.#run('pruneHistory', () => ops.pruneHistory(this.#ctx, retention));
  }

  pruneJobs(retention: { readonly finishedBefore: number }): Promise<number> {
    return this.#run('pruneJobs', () => ops.pruneJobs(this.#ctx, retention));
  }

  close(): Promise<void> {
    return this.#run('close', async () => {
      try {
        await this.#listener?.close();
      } finally {
        await this.#closePool();
      }
    });
  }
}
