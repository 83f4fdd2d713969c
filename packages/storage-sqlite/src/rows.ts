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
import type { Row } from './connection.js';

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

/** Integers come back as numbers, or as bigints when the user's database has `safeIntegers` on. */
export function num(row: Row, column: string): number {
  const value = row[column];
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new CorruptRowError(`column ${column} is not a number`);
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

/** A 0/1 column as a boolean. */
function flag(row: Row, column: string): boolean {
  const value = num(row, column);
  if (value !== 0 && value !== 1) throw new CorruptRowError(`column ${column} is not 0 or 1`);
  return value === 1;
}

/** A job state column. */
export function jobState(row: Row): JobState {
  const state = str(row, 'state');
  if (!STATES.has(state)) throw new CorruptRowError(`unknown job state ${state}`);
  return state as JobState;
}

/**
 * Decodes a row of `again_runs`, or the `last_run` copy on a job: that row as a JSON object (its
 * `result` and `callback` still JSON text inside it), written by SQLite's `json_object` in
 * `completeRuns` and `recordCallback`.
 */
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
    trigger: flag(row, 'triggered'),
    owner: strOrNull(row, 'owner'),
    leaseUntil: numOrNull(row, 'lease_until'),
    startedAt: numOrNull(row, 'started_at'),
    finishedAt: numOrNull(row, 'finished_at'),
    reason: strOrNull(row, 'reason'),
    result: strOrNull(row, 'result'),
    callback: strOrNull(row, 'callback'),
  };
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

/** The columns of the claim's due-job select, in the order {@link toDueJobRow} reads them. */
export const DUE_JOB_COLUMNS = [
  'id',
  'created_at',
  'revision',
  'next_run_at',
  'started',
  'active_runs',
  'spec',
  'fence',
  'sequence',
] as const;

function numAt(values: readonly unknown[], index: number): number {
  const value = values[index];
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new CorruptRowError(`column ${DUE_JOB_COLUMNS[index]} is not a number`);
}

function strAt(values: readonly unknown[], index: number): string {
  const value = values[index];
  if (typeof value === 'string') return value;
  throw new CorruptRowError(`column ${DUE_JOB_COLUMNS[index]} is not text`);
}

/** Decodes a row of the claim's due-job select, read as an array of {@link DUE_JOB_COLUMNS}. */
export function toDueJobRow(values: readonly unknown[]): DueJobRow {
  return {
    id: strAt(values, 0),
    createdAt: numAt(values, 1),
    revision: numAt(values, 2),
    nextRunAt: numAt(values, 3),
    started: numAt(values, 4),
    activeRuns: numAt(values, 5),
    spec: strAt(values, 6),
    fence: numAt(values, 7),
    sequence: numAt(values, 8),
  };
}
