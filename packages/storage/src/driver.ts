/**
 * The driver contract: what a storage adapter implements. `createJobStore(driver)` wraps a driver
 * into a {@link JobStore}, checking every argument, the store's lifecycle and its errors once for
 * every adapter (kysely's `Driver` and `RuntimeDriver` split the same way).
 *
 * A driver receives arguments that are already valid and normalised, and keeps JSON as text: specs
 * and results arrive serialised and go back serialised, so every adapter stores exactly the same
 * text and the wrapper alone parses it (and makes every returned object a fresh copy).
 *
 * @module
 */

import type {
  ClaimedRun,
  DueClaimResult,
  DuePlan,
  JobState,
  LeaseRelease,
  LeaseRenewal,
  LeaseRenewalRequest,
  RunCompletion,
  RunStart,
  RunStatus,
  StoreCapabilities,
  TerminalJobState,
  WakeEvent,
  WakeSubscription,
} from './types.js';

/**
 * A job as a driver returns it: a `JobRecord` with its JSON still as text.
 *
 * @example
 * ```ts
 * const row: JobRow = { id: 'a', spec: '{}', revision: 0, state: 'scheduled', nextRunAt: 1, fence: 0,
 *   sequence: 0, started: 0, runs: 0, activeRuns: 0, createdAt: 0, updatedAt: 0, lastRun: null };
 * ```
 */
export interface JobRow {
  readonly id: string;
  /** The job definition as JSON text, exactly as the driver received it. */
  readonly spec: string;
  readonly revision: number;
  readonly state: JobState;
  readonly nextRunAt: number | null;
  readonly fence: number;
  readonly sequence: number;
  readonly started: number;
  readonly runs: number;
  readonly activeRuns: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastRun: RunRow | null;
}

/**
 * A ledger entry as a driver returns it: a `RunRecord` with its result and callback still as text.
 *
 * @example
 * ```ts
 * const row: RunRow = { jobId: 'a', scheduledAt: 1, occurrenceId: 'a@1', sequence: 1, fence: 1,
 *   status: 'running', trigger: false, owner: 'me', leaseUntil: 30_001, startedAt: 1, finishedAt: null,
 *   reason: null, result: null, callback: null };
 * ```
 */
export interface RunRow {
  readonly jobId: string;
  readonly scheduledAt: number;
  readonly occurrenceId: string;
  readonly sequence: number;
  readonly fence: number;
  readonly status: RunStatus;
  readonly trigger: boolean;
  readonly owner: string | null;
  readonly leaseUntil: number | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly reason: string | null;
  /** The result payload as JSON text, or `null`. */
  readonly result: string | null;
  /** The callback outcome as JSON text, or `null`. */
  readonly callback: string | null;
}

/**
 * A due job as a driver hands it to the planner: its spec still as text (the wrapper parses it
 * only if the planner reads it).
 *
 * @example
 * ```ts
 * const due: DueRow = { id: 'a', createdAt: 0, revision: 0, nextRunAt: 1_000, started: 0, activeRuns: 0, spec: '{}' };
 * ```
 */
export interface DueRow {
  readonly id: string;
  readonly createdAt: number;
  readonly revision: number;
  readonly nextRunAt: number;
  readonly started: number;
  readonly activeRuns: number;
  readonly spec: string;
}

/**
 * `createJob`'s argument, checked: the spec is JSON text.
 *
 * @example
 * ```ts
 * const job: DriverNewJob = { id: 'a', spec: '{"every":1000}', nextRunAt: 1_000, now: 0 };
 * ```
 */
export interface DriverNewJob {
  readonly id: string;
  readonly spec: string;
  readonly nextRunAt: number | null;
  readonly now: number;
}

/**
 * `claimDue`'s argument, checked. `plan` is the caller's planner wrapped by the store: it checks
 * and copies each plan, and throws when one is invalid (the driver then writes nothing and
 * rethrows). `historyLimit` is `undefined` for the driver's default.
 *
 * @example
 * ```ts
 * const claim: DriverDueClaim = { owner: 'me', now: 1_000, limit: 10, leaseDuration: 30_000,
 *   historyLimit: undefined, plan: () => null };
 * ```
 */
export interface DriverDueClaim {
  readonly owner: string;
  readonly now: number;
  readonly limit: number;
  readonly leaseDuration: number;
  readonly historyLimit: number | undefined;
  readonly plan: (job: DueRow, now: number) => DuePlan | null;
}

/**
 * A run started by a claim or by `startRun`, as a driver returns it: the same as `ClaimedRun`.
 *
 * @example
 * ```ts
 * const run: ClaimedRunRow = { jobId: 'a', createdAt: 0, revision: 0, scheduledAt: 1_000,
 *   occurrenceId: 'a@1000', sequence: 1, fence: 1, startedAt: 1_000, leaseUntil: 31_000 };
 * ```
 */
export type ClaimedRunRow = ClaimedRun;

/**
 * What a driver's `claimDue` returns: the same as `DueClaimResult`.
 *
 * @example
 * ```ts
 * const result: DriverDueClaimResult = { now: 1_000, examined: 0, runs: [], conflicts: [] };
 * ```
 */
export type DriverDueClaimResult = DueClaimResult;

/**
 * `updateJob`'s argument, checked: the spec is JSON text.
 *
 * @example
 * ```ts
 * const update: DriverJobUpdate = { id: 'a', expectedRevision: 0, spec: '{"every":500}', nextRunAt: 1_500, now: 1_000 };
 * ```
 */
export interface DriverJobUpdate {
  readonly id: string;
  readonly expectedRevision: number;
  readonly spec: string;
  readonly nextRunAt: number | null;
  readonly now: number;
}

/**
 * What a driver's `startRun` returns: the run started; `null` when the job is paused or
 * terminal; `undefined` when it does not exist; `'occurrence-exists'` when the occurrence id is
 * already in the ledger (the wrapper refuses that as an invalid argument). Nothing is written
 * unless a run is returned.
 *
 * @example
 * ```ts
 * const outcome: DriverStartRunResult = 'occurrence-exists';
 * ```
 */
export type DriverStartRunResult = ClaimedRunRow | null | undefined | 'occurrence-exists';

/**
 * One completion, checked: the result is JSON text, `reason` is `null` when absent and
 * `historyLimit` is `undefined` for the driver's default.
 *
 * @example
 * ```ts
 * const completion: DriverCompletion = { occurrenceId: 'a@1', owner: 'me', fence: 1, status: 'succeeded',
 *   finishedAt: 2, result: '{"ok":true}', reason: null, historyLimit: undefined };
 * ```
 */
export interface DriverCompletion {
  readonly occurrenceId: string;
  readonly owner: string;
  readonly fence: number;
  readonly status: RunCompletion['status'];
  readonly finishedAt: number;
  readonly result: string | null;
  readonly reason: string | null;
  readonly historyLimit: number | undefined;
}

/**
 * A run taken over, as a driver returns it.
 *
 * @example
 * ```ts
 * const taken: DriverTakenOverRun = { job: jobRow, run: runRow, previousOwner: 'instance-a' };
 * ```
 */
export interface DriverTakenOverRun {
  readonly job: JobRow;
  readonly run: RunRow;
  readonly previousOwner: string;
}

/**
 * The storage an adapter implements. Each method does what the {@link JobStore} method of the same
 * name promises, on arguments the wrapper has checked and normalised:
 *
 * - lists of states are never absent (`[]` means all), states are known ones;
 * - `queryJobs` gets an integer `offset >= 0` and a `limit` (`undefined` = none);
 * - `history` gets `fromSequence` and `limit` as positive integers or `undefined`;
 * - retention values are positive integers or `undefined`;
 * - batches are non-empty and never repeat an occurrence;
 * - specs, results and callbacks are JSON text.
 *
 * A driver may throw anything when the database fails: the wrapper turns it into a
 * `StorageError` with the error as `cause`. It throws `JobExistsError` for a taken id and may
 * throw `StorageError` with code `ERR_STORAGE_CORRUPT` for data it cannot read.
 *
 * @example
 * ```ts
 * import { createJobStore, type StoreDriver } from '@again/storage';
 *
 * export function createMyStorage(): JobStore {
 *   const driver: StoreDriver = new MyDriver();
 *   return createJobStore(driver, { name: 'my-storage' });
 * }
 * ```
 */
export interface StoreDriver {
  readonly capabilities: StoreCapabilities;
  subscribe?(listener: (wake: WakeEvent) => void): Promise<WakeSubscription>;
  createJob(job: DriverNewJob): Promise<JobRow>;
  getJob(id: string): Promise<JobRow | undefined>;
  queryJobs(query: {
    readonly ids: readonly string[];
    readonly states: readonly JobState[];
    readonly offset: number;
    readonly limit: number | undefined;
  }): Promise<JobRow[]>;
  countJobs(states: readonly JobState[]): Promise<number>;
  jobIds(states: readonly JobState[]): Promise<string[]>;
  endJob(id: string, state: TerminalJobState, now: number): Promise<JobRow | undefined>;
  pauseJob(id: string, now: number): Promise<JobRow | undefined>;
  resumeJob(id: string, now: number): Promise<JobRow | undefined>;
  updateJob(update: DriverJobUpdate): Promise<JobRow | null | undefined>;
  startRun(start: RunStart): Promise<DriverStartRunResult>;
  nextDueAt(): Promise<number | null>;
  claimDue(claim: DriverDueClaim): Promise<DriverDueClaimResult>;
  renewLeases(renewal: LeaseRenewalRequest): Promise<LeaseRenewal>;
  completeRuns(completions: readonly DriverCompletion[]): Promise<boolean[]>;
  claimExpiredRuns(claim: {
    readonly owner: string;
    readonly now: number;
    readonly leaseDuration: number;
    readonly limit: number;
  }): Promise<DriverTakenOverRun[]>;
  releaseLeases(release: LeaseRelease): Promise<number>;
  recordCallback(record: {
    readonly occurrenceId: string;
    readonly callback: string;
  }): Promise<boolean>;
  getRun(occurrenceId: string): Promise<RunRow | undefined>;
  history(
    jobId: string,
    query: { readonly fromSequence: number | undefined; readonly limit: number | undefined },
  ): Promise<RunRow[] | undefined>;
  runningRuns(jobId: string | undefined): Promise<RunRow[]>;
  pruneHistory(retention: {
    readonly maxAge: number | undefined;
    readonly maxRowsPerJob: number | undefined;
    readonly now: number;
  }): Promise<number>;
  pruneJobs(retention: { readonly finishedBefore: number }): Promise<number>;
  close(): Promise<void>;
}
