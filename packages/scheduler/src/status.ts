/**
 * Status and queries: the public views of jobs and their history, and the checks of what a caller
 * asks for.
 *
 * @module
 */
import {
  JOB_STATES,
  type JobQuery,
  type JobRecord,
  type JobState,
  type RunRecord,
  type RunStatus,
} from '@again/storage';
import * as v from 'valibot';
import type { CallbackPayload } from './callback.js';
import type { JobIssue } from './errors.js';
import { JOB_ID_SCHEMA } from './job-schema.js';
import { isObject } from './scheduler-options.js';

/**
 * A job's status, with go-again's fields plus `nextRunAt`.
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
 * One history entry: a finished run or a skipped occurrence (go-again's `JobRun`).
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
  /** `true` for a run started by `trigger()`, not by the schedule. */
  readonly trigger: boolean;
  /** What became of the run's callback, once its delivery ended; `null` before, or without one. */
  readonly callback: CallbackOutcome | null;
}

/**
 * What became of a run's callback (recorded on its history entry once delivery ended).
 *
 * @example
 * ```ts
 * const [run] = (await scheduler.jobHistory(id)) ?? [];
 * if (run?.callback?.delivered === false) console.log(run.callback.error, run.callback.attempts);
 * ```
 */
export interface CallbackOutcome {
  /** `true` when the callback endpoint answered 2xx. */
  readonly delivered: boolean;
  /** Attempts made. */
  readonly attempts: number;
  /** The last status received, or `null` when no response arrived. */
  readonly statusCode: number | null;
  /** Why it was not delivered, or `null`. */
  readonly error: string | null;
  /** When delivery ended (ISO-8601 UTC). */
  readonly finishedAt: string;
}

/**
 * Filters for {@link Scheduler.queryJobStatuses} (go-again's `JobStatusQuery`).
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
 * Filters for {@link Scheduler.queryJobHistory} (go-again's `JobHistoryQuery`).
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

/** A paging field: a safe integer (go-again's rules for negative and zero values apply). */
function integerField(path: string, value: unknown, issues: JobIssue[]): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  issues.push({ path, message: 'must be an integer' });
  return 0;
}

/** A job record as the public status. */
export function toStatus(job: JobRecord): JobStatus {
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

/** A ledger entry as a public history entry. */
export function toRun(run: RunRecord): JobRun {
  return {
    sequence: run.sequence,
    // history() returns finished and skipped entries only.
    status: run.status as Exclude<RunStatus, 'running'>,
    scheduledAt: new Date(run.scheduledAt),
    occurrenceId: run.occurrenceId,
    payload: (run.result ?? null) as CallbackPayload | null,
    reason: run.reason,
    trigger: run.trigger,
    callback: (run.callback ?? null) as CallbackOutcome | null,
  };
}

/**
 * Checks a job id given to a method (status, history, remove): a malformed one can never name a
 * job, so it is a caller's mistake, not a storage failure.
 *
 * @param id - what the caller passed
 * @returns the id
 * @throws {@link InvalidQueryError} (path `id`) when it is not a well-formed job id
 */
export function checkJobId(id: unknown): string {
  const result = v.safeParse(JOB_ID_SCHEMA, id, { abortPipeEarly: true });
  if (!result.success) {
    throw new InvalidQueryError([{ path: 'id', message: result.issues[0].message }]);
  }
  return result.output;
}

/**
 * Checks a status query and normalises it for the store.
 *
 * @param query - what the caller passed
 * @returns the store query, or `null` when it can match no job (every id it lists is malformed)
 * @throws {@link InvalidQueryError} listing every problem
 */
export function checkStatusQuery(query: unknown): JobQuery | null {
  if (!isObject(query)) throw new InvalidQueryError([{ path: '', message: 'must be an object' }]);
  const issues: JobIssue[] = [];
  const q: { -readonly [K in keyof JobQuery]: JobQuery[K] } = {};
  const { ids, states, offset, limit } = query as JobStatusQuery;
  if (ids !== undefined) {
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
      issues.push({ path: 'ids', message: 'must be an array of strings' });
    } else {
      // An id that cannot name a job matches nothing, like an unknown one.
      q.ids = ids.filter((id) => v.is(JOB_ID_SCHEMA, id));
    }
  }
  if (states !== undefined) {
    if (!Array.isArray(states)) {
      issues.push({ path: 'states', message: 'must be an array of job states' });
    } else {
      for (const state of states) {
        if (!JOB_STATES.includes(state)) {
          issues.push({ path: 'states', message: `unknown job state "${String(state)}"` });
        }
      }
      q.states = [...states];
    }
  }
  if (offset !== undefined) q.offset = integerField('offset', offset, issues);
  if (limit !== undefined) q.limit = integerField('limit', limit, issues);
  if (issues.length > 0) throw new InvalidQueryError(issues);
  return ids !== undefined && ids.length > 0 && q.ids?.length === 0 ? null : q;
}

/**
 * Checks a history query.
 *
 * @param query - what the caller passed
 * @returns the store query
 * @throws {@link InvalidQueryError} listing every problem
 */
export function checkHistoryQuery(query: unknown): { fromSequence?: number; limit?: number } {
  if (!isObject(query)) throw new InvalidQueryError([{ path: '', message: 'must be an object' }]);
  const issues: JobIssue[] = [];
  const q: { fromSequence?: number; limit?: number } = {};
  const { fromSequence, limit } = query as JobHistoryQuery;
  if (fromSequence !== undefined)
    q.fromSequence = integerField('fromSequence', fromSequence, issues);
  if (limit !== undefined) q.limit = integerField('limit', limit, issues);
  if (issues.length > 0) throw new InvalidQueryError(issues);
  return q;
}
