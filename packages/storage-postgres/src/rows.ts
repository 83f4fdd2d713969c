/**
 * Rows to the driver's records. JSON stays text (the contract's wrapper parses specs and results),
 * but every other value read back is checked: a row that does not decode is reported as corrupt,
 * never returned half-right.
 *
 * @module
 */

import {
  type DueRow,
  JOB_STATES,
  type JobRow,
  type JobState,
  type RunRow,
  type RunStatus,
} from '@again/storage';
import type { Row } from './queries.js';

/** A stored value that cannot be decoded. The driver reports it as `ERR_STORAGE_CORRUPT`. */
export class CorruptRowError extends Error {
  override readonly name: 'CorruptRowError' = 'CorruptRowError';
}

const RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>([
  'running',
  'succeeded',
  'failed',
  'canceled',
  'skipped',
  'abandoned',
]);
const STATES: ReadonlySet<string> = new Set<string>(JOB_STATES);

/**
 * A `bigint` column: node-postgres returns it as a string (it does not fit a JS number in
 * general); every value the store writes is a safe integer, so anything else is corrupt.
 */
export function num(row: Row, column: string): number {
  const value = row[column];
  const parsed = typeof value === 'string' ? Number(value) : value;
  if (typeof parsed === 'number' && Number.isSafeInteger(parsed)) return parsed;
  throw new CorruptRowError(`column ${column} is not an integer: ${String(value)}`);
}

function numOrNull(row: Row, column: string): number | null {
  return row[column] === null ? null : num(row, column);
}

/** A text column. */
export function str(row: Row, column: string): string {
  const value = row[column];
  if (typeof value === 'string') return value;
  throw new CorruptRowError(`column ${column} is not text`);
}

function strOrNull(row: Row, column: string): string | null {
  return row[column] === null ? null : str(row, column);
}

/** A boolean column (also in a `last_run` copy, where it is a JSON boolean). */
function bool(row: Row, column: string): boolean {
  const value = row[column];
  if (typeof value === 'boolean') return value;
  throw new CorruptRowError(`column ${column} is not a boolean`);
}

/** A job state column. */
export function jobState(row: Row, column = 'state'): JobState {
  const state = str(row, column);
  if (!STATES.has(state)) throw new CorruptRowError(`unknown job state ${state}`);
  return state as JobState;
}

/** Decodes a row of `again_runs` (or the `last_run` copy on a job). */
export function toRunRow(row: Row): RunRow {
  const status = str(row, 'status');
  if (!RUN_STATUSES.has(status)) throw new CorruptRowError(`unknown run status ${status}`);
  return {
    jobId: str(row, 'job_id'),
    scheduledAt: num(row, 'scheduled_at'),
    occurrenceId: str(row, 'occurrence_id'),
    sequence: num(row, 'sequence'),
    fence: num(row, 'fence'),
    status: status as RunStatus,
    trigger: bool(row, 'triggered'),
    owner: strOrNull(row, 'owner'),
    leaseUntil: numOrNull(row, 'lease_until'),
    startedAt: numOrNull(row, 'started_at'),
    finishedAt: numOrNull(row, 'finished_at'),
    reason: strOrNull(row, 'reason'),
    result: strOrNull(row, 'result'),
    callback: strOrNull(row, 'callback'),
  };
}

/**
 * A run as the job's `last_run` copy: the `again_runs` row as a JSON object (its result and
 * callback still JSON text inside it), so pruning the history never loses the last run. The
 * occurrence id is its first key (`recordCallback` finds the copy of an entry by that prefix) and
 * `triggered` and `callback` its last ones (migration `0002_operate_in_place` appended them to the
 * copies written before).
 */
export function lastRunJson(run: RunRow): string {
  return JSON.stringify({
    occurrence_id: run.occurrenceId,
    job_id: run.jobId,
    scheduled_at: run.scheduledAt,
    sequence: run.sequence,
    fence: run.fence,
    status: run.status,
    owner: run.owner,
    lease_until: run.leaseUntil,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    reason: run.reason,
    result: run.result,
    triggered: run.trigger,
    callback: run.callback,
  });
}

function lastRun(text: string): RunRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CorruptRowError('column last_run is not JSON', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorruptRowError('column last_run is not a JSON object');
  }
  return toRunRow(value as Row);
}

/** Decodes a row of `again_jobs`. */
export function toJobRow(row: Row): JobRow {
  const last = strOrNull(row, 'last_run');
  return {
    id: str(row, 'id'),
    spec: str(row, 'spec'),
    revision: num(row, 'revision'),
    state: jobState(row),
    nextRunAt: numOrNull(row, 'next_run_at'),
    fence: num(row, 'fence'),
    sequence: num(row, 'sequence'),
    started: num(row, 'started'),
    runs: num(row, 'runs'),
    activeRuns: num(row, 'active_runs'),
    createdAt: num(row, 'created_at'),
    updatedAt: num(row, 'updated_at'),
    lastRun: last === null ? null : lastRun(last),
  };
}

/** A due job as a claim reads it: what the planner sees, plus the counters the claim moves on. */
export interface DueJobRow extends DueRow {
  readonly fence: number;
  readonly sequence: number;
}

/** Decodes a row of the claim's due-job select. */
export function toDueJobRow(row: Row): DueJobRow {
  return {
    id: str(row, 'id'),
    createdAt: num(row, 'created_at'),
    revision: num(row, 'revision'),
    nextRunAt: num(row, 'next_run_at'),
    started: num(row, 'started'),
    activeRuns: num(row, 'active_runs'),
    spec: str(row, 'spec'),
    fence: num(row, 'fence'),
    sequence: num(row, 'sequence'),
  };
}
