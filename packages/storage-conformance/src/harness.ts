/**
 * The suite's internals: the per-test store lifecycle and small helpers shared by the cases.
 *
 * @module
 */

import {
  type ClaimedRun,
  type DueClaim,
  type DueClaimResult,
  type DuePlan,
  type JobRecord,
  type JobStore,
  type JsonObject,
  type LeaseRenewal,
  type NewJob,
  type RunCompletion,
  type RunRecord,
  type RunStart,
  STORAGE_LIMITS,
  StorageError,
  type StorageErrorCode,
  type WakeEvent,
} from '@again/storage';
import type { ConformanceAssertion } from './api.js';

/** The stores one test works with. */
export interface Harness {
  /** A fresh, empty store. */
  readonly store: JobStore;
  /**
   * `count` handles on the store's data, the first being `store` itself: peers opened with
   * `openPeer`, or `store` repeated when the adapter has no peers.
   */
  instances(count: number): Promise<JobStore[]>;
}

/** Options of one registered test. */
export interface TestOptions {
  /** Run the test even on a store that keeps its own clock (the capability tests). */
  readonly anyClock?: boolean;
}

/** What every case file gets. */
export interface SuiteContext {
  /** Groups tests. */
  readonly describe: (name: string, factory: () => void) => void;
  /** Registers a test that runs `body` on a fresh store. */
  readonly test: (
    name: string,
    body: (harness: Harness) => Promise<void>,
    options?: TestOptions,
  ) => void;
  /** The runner's `expect`. */
  readonly expect: (actual: unknown) => ConformanceAssertion;
  /** The adapter's default history limit. */
  readonly defaultHistoryLimit: number;
}

/** Why the suite cannot test a store that keeps its own clock. */
export const CLOCK_MESSAGE: string =
  "conformance: the store keeps its own clock (capabilities.clock is true), so it cannot follow the suite's fixed times. " +
  "create() must return a store that follows the caller's times: an adapter with its own clock offers a mode for this " +
  '(for example an option that makes it use the `now` each call passes).';

/** A fixed, realistic epoch time every case starts from (2023-11-14T22:13:20Z). */
export const T0 = 1_700_000_000_000;

/**
 * The history limit the helpers pass when a test gives none, so that only the tests of the default
 * limit depend on the adapter's configured default.
 */
export const GENEROUS_HISTORY_LIMIT = 1000;

/** One minute, the default lease length of the helpers. */
export const LEASE = 60_000;

/** The default lease owner of the helpers. */
export const OWNER = 'instance-a';

/** The largest claim: every due job of a test is examined. */
export const ALL: number = STORAGE_LIMITS.batch;

/** The occurrence id the helpers use: `<jobId>@<scheduledAt>`. */
export function occurrenceIdOf(jobId: string, scheduledAt: number): string {
  return `${jobId}@${scheduledAt}`;
}

/** A new job: `nextRunAt` defaults to `T0 + 1000`, `now` to `T0`. */
export function newJob(
  id: string,
  overrides: { nextRunAt?: number | null; now?: number; spec?: JsonObject } = {},
): NewJob {
  return {
    id,
    spec: overrides.spec ?? { kind: 'test', id },
    nextRunAt: overrides.nextRunAt === undefined ? T0 + 1000 : overrides.nextRunAt,
    now: overrides.now ?? T0,
  };
}

/** Returns `value`, or fails the test with `message` when it is `null` or `undefined`. */
export function must<T>(value: T | null | undefined, message: string): T {
  if (value === null || value === undefined) {
    throw new Error(`conformance: ${message}`);
  }
  return value;
}

/** Awaits `promise` and returns what it rejected with; fails the test if it resolved. */
export async function rejectionOf(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`conformance: ${what} resolved, expected a rejection`);
}

/**
 * Awaits `promise`, expects a `StorageError` with `code`, and returns it. The result is an object
 * `{ what, ... }` so a failing case names the call in the runner's diff.
 */
export async function storageErrorOf(
  expect: SuiteContext['expect'],
  promise: Promise<unknown>,
  what: string,
  code: StorageErrorCode,
): Promise<StorageError> {
  const error = await rejectionOf(promise, what);
  expect({ what, isStorageError: error instanceof StorageError }).toEqual({
    what,
    isStorageError: true,
  });
  expect({ what, code: (error as StorageError).code }).toEqual({ what, code });
  return error as StorageError;
}

/** Everything a caller can read back from a store: to prove a refused call wrote nothing. */
export async function snapshot(store: JobStore): Promise<unknown> {
  const jobs = await store.queryJobs();
  const histories: Record<string, RunRecord[] | undefined> = {};
  for (const job of jobs) histories[job.id] = await store.history(job.id);
  return {
    jobs,
    histories,
    running: await store.runningRuns(),
    nextDueAt: await store.nextDueAt(),
  };
}

/** A planner. */
export type Planner = DueClaim['plan'];

/** The plan that runs the job's due occurrence and moves it on to `next`. */
export function runPlan(
  jobId: string,
  at: number,
  next: number | null,
  skipped: ReadonlyArray<{ readonly scheduledAt: number; readonly reason: string }> = [],
): DuePlan {
  return {
    run: { scheduledAt: at, occurrenceId: occurrenceIdOf(jobId, at) },
    skipped: skipped.map((entry) => ({
      scheduledAt: entry.scheduledAt,
      occurrenceId: occurrenceIdOf(jobId, entry.scheduledAt),
      reason: entry.reason,
    })),
    nextRunAt: next,
  };
}

/**
 * A planner that runs every due job's occurrence and moves it on by `interval` (default 1000), or to
 * `null` once the occurrence is at or after `last`.
 */
export function runEach(options: { interval?: number; last?: number } = {}): Planner {
  const interval = options.interval ?? 1000;
  return (job) => {
    const at = job.nextRunAt;
    const done = options.last !== undefined && at >= options.last;
    return runPlan(job.id, at, done ? null : at + interval);
  };
}

/** Options of {@link claim}. */
export interface ClaimOptions {
  /** The claim time. */
  readonly now: number;
  /** The lease owner. @defaultValue `OWNER` */
  readonly owner?: string;
  /** @defaultValue `ALL` */
  readonly limit?: number;
  /** @defaultValue `LEASE` */
  readonly leaseDuration?: number;
  /** The history limit; `null` passes none. @defaultValue `GENEROUS_HISTORY_LIMIT` */
  readonly historyLimit?: number | null;
}

/** Claims due jobs with `plan`. */
export function claim(
  store: JobStore,
  plan: Planner,
  options: ClaimOptions,
): Promise<DueClaimResult> {
  // `=== undefined`, not `??`: the argument-rule cases pass null on purpose.
  return store.claimDue({
    owner: options.owner === undefined ? OWNER : options.owner,
    now: options.now,
    limit: options.limit === undefined ? ALL : options.limit,
    leaseDuration: options.leaseDuration === undefined ? LEASE : options.leaseDuration,
    ...withHistoryLimit(options.historyLimit),
    plan,
  });
}

function withHistoryLimit(limit: number | null | undefined): { historyLimit?: number } {
  return limit === null ? {} : { historyLimit: limit ?? GENEROUS_HISTORY_LIMIT };
}

/** Options of {@link startRun}. */
export interface StartRunOptions {
  /** The occurrence's scheduled time. */
  readonly at: number;
  /** The job's next occurrence after this one. */
  readonly next: number | null;
  /** The claim time; the job must be due at it. @defaultValue `at` */
  readonly now?: number;
  /** The lease owner. @defaultValue `OWNER` */
  readonly owner?: string;
  /** @defaultValue `LEASE` */
  readonly leaseDuration?: number;
  /** The occurrence id. @defaultValue `occurrenceIdOf(jobId, at)` */
  readonly occurrenceId?: string;
  /** Skipped occurrences to write before the run. */
  readonly skipped?: ReadonlyArray<{ scheduledAt: number; reason: string }>;
  /** The history limit of the claim; `null` passes none. @defaultValue `GENEROUS_HISTORY_LIMIT` */
  readonly historyLimit?: number | null;
}

/** A started run: the job and the entry as read back, and what the claim returned. */
export interface StartedRun {
  readonly job: JobRecord;
  readonly run: RunRecord;
  readonly claimed: ClaimedRun;
}

/**
 * Starts the occurrence `at` of `jobId` with a claim whose planner leaves every other due job alone;
 * fails the test if the claim does not start it.
 */
export async function startRun(
  store: JobStore,
  jobId: string,
  options: StartRunOptions,
): Promise<StartedRun> {
  const plan = runPlan(jobId, options.at, options.next, options.skipped);
  const occurrenceId = options.occurrenceId ?? occurrenceIdOf(jobId, options.at);
  const result = await claim(
    store,
    (job) =>
      job.id === jobId ? { ...plan, run: { scheduledAt: options.at, occurrenceId } } : null,
    {
      now: options.now ?? options.at,
      ...(options.owner === undefined ? {} : { owner: options.owner }),
      ...(options.leaseDuration === undefined ? {} : { leaseDuration: options.leaseDuration }),
      ...(options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit }),
    },
  );
  const claimed = must(
    result.runs.find((run) => run.jobId === jobId),
    `the claim of ${jobId} at ${options.at} started no run (conflicts: ${JSON.stringify(result.conflicts)})`,
  );
  return {
    claimed,
    job: must(await store.getJob(jobId), `job ${jobId} exists`),
    run: must(await store.getRun(claimed.occurrenceId), `run ${claimed.occurrenceId} exists`),
  };
}

/** Options of {@link triggerOf}. */
export interface TriggerOptions {
  /** The start time. */
  readonly now: number;
  /** The entry's scheduled time. @defaultValue `now` */
  readonly at?: number;
  /** The lease owner. @defaultValue `OWNER` */
  readonly owner?: string;
  /** @defaultValue `LEASE` */
  readonly leaseDuration?: number;
  /** The occurrence id. @defaultValue `triggerIdOf(jobId, at)` */
  readonly occurrenceId?: string;
}

/** The occurrence id the helpers give a triggered run: `<jobId>!<scheduledAt>`. */
export function triggerIdOf(jobId: string, scheduledAt: number): string {
  return `${jobId}!${scheduledAt}`;
}

/** The `startRun` argument of a triggered run of `jobId`. */
export function triggerOf(jobId: string, options: TriggerOptions): RunStart {
  // `=== undefined`, not `??`: the argument-rule cases pass null on purpose.
  const at = options.at === undefined ? options.now : options.at;
  return {
    jobId,
    occurrenceId:
      options.occurrenceId === undefined ? triggerIdOf(jobId, at) : options.occurrenceId,
    scheduledAt: at,
    owner: options.owner === undefined ? OWNER : options.owner,
    leaseDuration: options.leaseDuration === undefined ? LEASE : options.leaseDuration,
    now: options.now,
  };
}

/** Starts a triggered run of `jobId`; fails the test if the store does not start it. */
export async function trigger(
  store: JobStore,
  jobId: string,
  options: TriggerOptions,
): Promise<StartedRun> {
  const started = await store.startRun(triggerOf(jobId, options));
  const claimed = must(started, `startRun of ${jobId} at ${options.now} started no run`);
  return {
    claimed,
    job: must(await store.getJob(jobId), `job ${jobId} exists`),
    run: must(await store.getRun(claimed.occurrenceId), `run ${claimed.occurrenceId} exists`),
  };
}

/** Options of {@link completionOf}. */
export interface FinishRunOptions {
  /** The final status. @defaultValue `'succeeded'` */
  readonly status?: RunCompletion['status'];
  /** When it finished. @defaultValue `run.scheduledAt + 10` */
  readonly finishedAt?: number;
  /** The result payload. @defaultValue `{ sequence: run.sequence }` */
  readonly result?: JsonObject | null;
  /** The reason. */
  readonly reason?: string;
  /** The history limit; `null` passes none. @defaultValue `GENEROUS_HISTORY_LIMIT` */
  readonly historyLimit?: number | null;
  /** The owner to complete as. @defaultValue `run.owner` */
  readonly owner?: string;
  /** The fence to complete under. @defaultValue `run.fence` */
  readonly fence?: number;
}

/** The completion of a leased run by its owner. */
export function completionOf(run: RunRecord, options: FinishRunOptions = {}): RunCompletion {
  return {
    occurrenceId: run.occurrenceId,
    owner: options.owner ?? must(run.owner, 'a running entry has an owner'),
    fence: options.fence ?? run.fence,
    status: options.status ?? 'succeeded',
    finishedAt: options.finishedAt ?? run.scheduledAt + 10,
    result: options.result === undefined ? { sequence: run.sequence } : options.result,
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...withHistoryLimit(options.historyLimit),
  };
}

/** Completes one leased run as its owner; returns whether it was recorded. */
export async function finishRun(
  store: JobStore,
  run: RunRecord,
  options: FinishRunOptions = {},
): Promise<boolean> {
  const recorded = await store.completeRuns([completionOf(run, options)]);
  return must(recorded[0], 'completeRuns answers every completion');
}

/** Renews one lease as `owner` (default: the run's owner) at `now`. */
export function renew(
  store: JobStore,
  runs: readonly RunRecord[],
  options: { now: number; owner?: string; leaseDuration?: number },
): Promise<LeaseRenewal> {
  return store.renewLeases({
    owner: options.owner ?? must(runs[0]?.owner, 'a running entry has an owner'),
    leases: runs.map((run) => ({ occurrenceId: run.occurrenceId, fence: run.fence })),
    now: options.now,
    leaseDuration: options.leaseDuration ?? LEASE,
  });
}

/**
 * Runs the next `count` occurrences of an interval job one after the other (claim at `nextRunAt`,
 * next = +`interval`, complete 10 ms later) and returns the finished entries' sequences.
 */
export async function runTimes(
  store: JobStore,
  jobId: string,
  count: number,
  options: { interval?: number; historyLimit?: number | null; owner?: string } = {},
): Promise<number[]> {
  const interval = options.interval ?? 1000;
  const sequences: number[] = [];
  for (let i = 0; i < count; i++) {
    const job = must(await store.getJob(jobId), `job ${jobId} exists`);
    const at = must(job.nextRunAt, `job ${jobId} has a next occurrence`);
    const limit = options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit };
    const { run } = await startRun(store, jobId, {
      at,
      next: at + interval,
      ...(options.owner === undefined ? {} : { owner: options.owner }),
      ...limit,
    });
    if (!(await finishRun(store, run, limit))) {
      throw new Error(`conformance: completion of ${run.occurrenceId} was refused`);
    }
    sequences.push(run.sequence);
  }
  return sequences;
}

/** The sequences of a list of entries. */
export function sequencesOf(runs: readonly RunRecord[] | undefined): number[] | undefined {
  return runs?.map((run) => run.sequence);
}

/** The ids of a list of jobs. */
export function idsOf(jobs: readonly JobRecord[]): string[] {
  return jobs.map((job) => job.id);
}

/** The lease of a running entry, as its owner holds it. */
export function leaseOf(run: RunRecord): { occurrenceId: string; owner: string; fence: number } {
  return {
    occurrenceId: run.occurrenceId,
    owner: must(run.owner, 'a running entry has an owner'),
    fence: run.fence,
  };
}

/** Collects wake-ups and lets a test wait for a particular one. */
export interface WakeCollector {
  /** The listener to subscribe. */
  readonly listener: (wake: WakeEvent) => void;
  /** Every wake-up received so far, in order. */
  readonly seen: readonly WakeEvent[];
  /** Resolves with the first wake-up (received or to come) for `jobId` (and `at`, when given). */
  next(jobId: string, at?: number | null): Promise<WakeEvent>;
}

/** A new {@link WakeCollector}. */
export function wakeCollector(): WakeCollector {
  const seen: WakeEvent[] = [];
  const waiters: Array<{
    match: (wake: WakeEvent) => boolean;
    resolve: (wake: WakeEvent) => void;
  }> = [];
  return {
    seen,
    listener: (wake) => {
      seen.push(wake);
      for (let index = waiters.length - 1; index >= 0; index--) {
        const waiter = waiters[index];
        if (waiter?.match(wake)) {
          waiters.splice(index, 1);
          waiter.resolve(wake);
        }
      }
    },
    next: (jobId, at) => {
      const match = (wake: WakeEvent): boolean =>
        wake.jobId === jobId && (at === undefined || wake.at === at);
      const found = seen.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}
