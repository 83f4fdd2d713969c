/**
 * The SQLite driver: the `StoreDriver` that `createJobStore` wraps into the SQLite `JobStore`.
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
} from '@again/storage';
import { whileBusy } from './busy.js';
import type { Connection, Op, TxMode } from './connection.js';
import { toStorageError } from './errors.js';
import * as ops from './operations.js';

/**
 * Shared: other processes open the same file. No notifications (SQLite has no channel between
 * connections) and no clock of its own (the scheduler's time is used).
 */
const CAPABILITIES: StoreCapabilities = Object.freeze({
  shared: true,
  notifies: false,
  clock: false,
});

/**
 * Runs each driver call as one operation of `operations.ts` on the store's connection: a
 * `BEGIN IMMEDIATE` transaction when it writes (`write`), a deferred one when it reads several
 * times (`read`), none for a single statement (`single`).
 */
export class SqliteDriver implements StoreDriver {
  readonly capabilities: StoreCapabilities = CAPABILITIES;
  readonly #connection: Connection;
  readonly #close: () => void;
  readonly #retention: ops.WriteRetention;
  readonly #busyTimeout: number;

  /**
   * @param connection - the open, configured and migrated connection
   * @param close - closes what the store opened (nothing the user passed in)
   * @param retention - the history limits applied on write
   * @param busyTimeout - how long an operation waits for another process's write lock, in all (ms)
   */
  constructor(
    connection: Connection,
    close: () => void,
    retention: ops.WriteRetention,
    busyTimeout: number,
  ) {
    this.#connection = connection;
    this.#close = close;
    this.#retention = retention;
    this.#busyTimeout = busyTimeout;
  }

  /**
   * Runs one operation; every failure becomes a `StorageError` (or stays a `JobExistsError`).
   *
   * When another process holds the write lock, SQLite fails the transaction with `SQLITE_BUSY`
   * after a short wait on the thread (the connection's `busy_timeout` is a few milliseconds, see
   * `BUSY_SLICE`), and the operation is tried again after an asynchronous pause: the event loop
   * keeps turning (lease renewals, timers, I/O) while this process waits for another one, for up to
   * `busyTimeout` in all. A busy transaction wrote nothing (it never started, or was rolled back),
   * so running the operation again is safe.
   */
  async #run<T>(operation: string, mode: TxMode, op: () => Op<T>): Promise<T> {
    try {
      return await whileBusy(this.#busyTimeout, () => this.#connection.run(op(), mode));
    } catch (error) {
      throw toStorageError(operation, error);
    }
  }

  createJob(job: DriverNewJob): Promise<JobRow> {
    return this.#run('createJob', 'write', () => ops.createJob(job));
  }

  getJob(id: string): Promise<JobRow | undefined> {
    return this.#run('getJob', 'single', () => ops.getJob(id));
  }

  queryJobs(query: {
    readonly ids: readonly string[];
    readonly states: readonly JobState[];
    readonly offset: number;
    readonly limit: number | undefined;
  }): Promise<JobRow[]> {
    return this.#run('queryJobs', 'single', () => ops.queryJobs(query));
  }

  countJobs(states: readonly JobState[]): Promise<number> {
    return this.#run('countJobs', 'single', () => ops.countJobs(states));
  }

  jobIds(states: readonly JobState[]): Promise<string[]> {
    return this.#run('jobIds', 'single', () => ops.jobIds(states));
  }

  endJob(id: string, state: TerminalJobState, now: number): Promise<JobRow | undefined> {
    return this.#run('endJob', 'write', () => ops.endJob(id, state, now));
  }

  pauseJob(id: string, now: number): Promise<JobRow | undefined> {
    return this.#run('pauseJob', 'write', () => ops.pauseJob(id, now));
  }

  resumeJob(id: string, now: number): Promise<JobRow | undefined> {
    return this.#run('resumeJob', 'write', () => ops.resumeJob(id, now));
  }

  updateJob(update: DriverJobUpdate): Promise<JobRow | null | undefined> {
    return this.#run('updateJob', 'write', () => ops.updateJob(update));
  }

  startRun(start: RunStart): Promise<DriverStartRunResult> {
    return this.#run('startRun', 'write', () => ops.startRun(start));
  }

  nextDueAt(): Promise<number | null> {
    return this.#run('nextDueAt', 'single', () => ops.nextDueAt());
  }

  claimDue(claim: DriverDueClaim): Promise<DriverDueClaimResult> {
    return this.#run('claimDue', 'write', () => ops.claimDue(claim, this.#retention));
  }

  renewLeases(renewal: LeaseRenewalRequest): Promise<LeaseRenewal> {
    return this.#run('renewLeases', 'write', () => ops.renewLeases(renewal));
  }

  completeRuns(completions: readonly DriverCompletion[]): Promise<boolean[]> {
    return this.#run('completeRuns', 'write', () => ops.completeRuns(completions, this.#retention));
  }

  claimExpiredRuns(claim: {
    readonly owner: string;
    readonly now: number;
    readonly leaseDuration: number;
    readonly limit: number;
  }): Promise<DriverTakenOverRun[]> {
    return this.#run('claimExpiredRuns', 'write', () => ops.claimExpiredRuns(claim));
  }

  releaseLeases(release: LeaseRelease): Promise<number> {
    return this.#run('releaseLeases', 'write', () => ops.releaseLeases(release));
  }

  recordCallback(record: {
    readonly occurrenceId: string;
    readonly callback: string;
  }): Promise<boolean> {
    return this.#run('recordCallback', 'write', () => ops.recordCallback(record));
  }

  getRun(occurrenceId: string): Promise<RunRow | undefined> {
    return this.#run('getRun', 'single', () => ops.getRun(occurrenceId));
  }

  history(
    jobId: string,
    query: { readonly fromSequence: number | undefined; readonly limit: number | undefined },
  ): Promise<RunRow[] | undefined> {
    return this.#run('history', 'read', () => ops.history(jobId, query));
  }

  runningRuns(jobId: string | undefined): Promise<RunRow[]> {
    return this.#run('runningRuns', 'single', () => ops.runningRuns(jobId));
  }

  pruneHistory(retention: {
    readonly maxAge: number | undefined;
    readonly maxRowsPerJob: number | undefined;
    readonly now: number;
  }): Promise<number> {
    return this.#run('pruneHistory', 'write', () => ops.pruneHistory(retention));
  }

  pruneJobs(retention: { readonly finishedBefore: number }): Promise<number> {
    return this.#run('pruneJobs', 'write', () => ops.pruneJobs(retention));
  }

  async close(): Promise<void> {
    try {
      this.#close();
    } catch (error) {
      throw toStorageError('close', error);
    }
  }
}
