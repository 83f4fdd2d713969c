/**
 * The suite's internals: the per-test store lifecycle and small helpers shared by the cases.
 *
 * @module
 */

import type {
  ClaimResult,
  JobRecord,
  JobStore,
  JsonObject,
  NewJob,
  RunCompletion,
  RunRecord,
} from '../types.js';
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

/** What every case file gets. */
export interface SuiteContext {
  /** Groups tests. */
  readonly describe: (name: string, factory: () => void) => void;
  /** Registers a test that runs `body` on a fresh store. */
  readonly test: (name: string, body: (harness: Harness) => Promise<void>) => void;
  /** The runner's `expect`. */
  readonly expect: (actual: unknown) => ConformanceAssertion;
  /** The adapter's default history limit. */
  readonly defaultHistoryLimit: number;
}

/** A fixed, realistic epoch time every case starts from (2023-11-14T22:13:20Z). */
export const T0 = 1_700_000_000_000;

/**
 * The history limit the helpers pass when a test gives none, so that only the test of the default
 * limit depends on the adapter's configured default.
 */
export const GENEROUS_HISTORY_LIMIT = 1000;

/** One minute, the default lease length of the helpers. */
export const LEASE = 60_000;

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

/** Options of {@link startRun}. */
export interface StartRunOptions {
  /** The occurrence's scheduled time. */
  readonly at: number;
  /** The job's `nextRunAt` the claim expects. @defaultValue `at` */
  readonly expected?: number;
  /** The job's next occurrence after this one. */
  readonly next: number | null;
  /** The claim time. @defaultValue `at` */
  readonly now?: number;
  /** The lease owner. @defaultValue `'instance-a'` */
  readonly owner?: string;
  /** The lease expiry. @defaultValue `now + LEASE` */
  readonly leaseUntil?: number;
  /** The occurrence id. @defaultValue `occurrenceIdOf(jobId, at)` */
  readonly occurrenceId?: string;
  /** Skipped occurrences to write before the run. */
  readonly skipped?: ReadonlyArray<{ scheduledAt: number; reason: string }>;
  /** The history limit of the claim; `null` passes none. @defaultValue `GENEROUS_HISTORY_LIMIT` */
  readonly historyLimit?: number | null;
}

/** Claims and starts the occurrence `at` of `jobId`; fails the test if the claim loses. */
export async function startRun(
  store: JobStore,
  jobId: string,
  options: StartRunOptions,
): Promise<{ job: JobRecord; run: RunRecord }> {
  const now = options.now ?? options.at;
  const result: ClaimResult | null = await store.claimOccurrence({
    jobId,
    expectedNextRunAt: options.expected ?? options.at,
    nextRunAt: options.next,
    run: {
      scheduledAt: options.at,
      occurrenceId: options.occurrenceId ?? occurrenceIdOf(jobId, options.at),
      owner: options.owner ?? 'instance-a',
      leaseUntil: options.leaseUntil ?? now + LEASE,
    },
    ...(options.skipped === undefined
      ? {}
      : {
          skipped: options.skipped.map((entry) => ({
            scheduledAt: entry.scheduledAt,
            occurrenceId: occurrenceIdOf(jobId, entry.scheduledAt),
            reason: entry.reason,
          })),
        }),
    ...withHistoryLimit(options.historyLimit),
    now,
  });
  const claimed = must(result, `claim of ${jobId} at ${options.at} lost`);
  return { job: claimed.job, run: must(claimed.run, `claim of ${jobId} started no run`) };
}

function withHistoryLimit(limit: number | null | undefined): { historyLimit?: number } {
  return limit === null ? {} : { historyLimit: limit ?? GENEROUS_HISTORY_LIMIT };
}

/** Options of {@link finishRun}. */
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

/** Completes a leased run as its owner. */
export function finishRun(
  store: JobStore,
  run: RunRecord,
  options: FinishRunOptions = {},
): Promise<boolean> {
  return store.completeRun({
    occurrenceId: run.occurrenceId,
    owner: options.owner ?? must(run.owner, 'a running entry has an owner'),
    fence: options.fence ?? run.fence,
    status: options.status ?? 'succeeded',
    finishedAt: options.finishedAt ?? run.scheduledAt + 10,
    result: options.result === undefined ? { sequence: run.sequence } : options.result,
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...withHistoryLimit(options.historyLimit),
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
    const { run } = await startRun(store, jobId, {
      at,
      next: at + interval,
      ...(options.owner === undefined ? {} : { owner: options.owner }),
      ...(options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit }),
    });
    const done = await finishRun(store, run, {
      ...(options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit }),
    });
    if (!done) throw new Error(`conformance: completion of ${run.occurrenceId} was refused`);
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

/** Awaits `promise` and returns what it rejected with; fails the test if it resolved. */
export async function rejectionOf(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`conformance: ${what} resolved, expected a rejection`);
}

/** The lease of a running entry, as its owner holds it. */
export function leaseOf(run: RunRecord): { occurrenceId: string; owner: string; fence: number } {
  return {
    occurrenceId: run.occurrenceId,
    owner: must(run.owner, 'a running entry has an owner'),
    fence: run.fence,
  };
}
