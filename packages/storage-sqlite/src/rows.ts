/**
 * Rows to records. Every value read back is checked: a row that does not decode is reported as
 * corrupt, never returned half-right.
 *
 * @module
 */

import {
  JOB_STATES,
  type JobRecord,
  type JobState,
  type JsonObject,
  type RunRecord,
  type RunStatus,
} from '@again/storage';
import type { Row } from './connection.js';
import type { RunsTable } from './schema.js';

/** A stored value that cannot be decoded. The store reports it as `ERR_STORAGE_CORRUPT`. */
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

// Integers come back as numbers, or as bigints when the user's database has `safeIntegers` on.
function num(row: Row, column: string): number {
  const value = row[column];
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new CorruptRowError(`column ${column} is not a number`);
}

function numOrNull(row: Row, column: string): number | null {
  return row[column] === null ? null : num(row, column);
}

function str(row: Row, column: string): string {
  const value = row[column];
  if (typeof value === 'string') return value;
  throw new CorruptRowError(`column ${column} is not text`);
}

function strOrNull(row: Row, column: string): string | null {
  return row[column] === null ? null : str(row, column);
}

function jsonObject(text: string, column: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CorruptRowError(`column ${column} is not JSON`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorruptRowError(`column ${column} is not a JSON object`);
  }
  return value as JsonObject;
}

/** Decodes a row of `again_runs`. */
export function toRun(row: Row): RunRecord {
  const status = str(row, 'status');
  if (!RUN_STATUSES.has(status)) throw new CorruptRowError(`unknown run status ${status}`);
  const result = strOrNull(row, 'result');
  return {
    jobId: str(row, 'job_id'),
    scheduledAt: num(row, 'scheduled_at'),
    occurrenceId: str(row, 'occurrence_id'),
    sequence: num(row, 'sequence'),
    fence: num(row, 'fence'),
    status: status as RunStatus,
    owner: strOrNull(row, 'owner'),
    leaseUntil: numOrNull(row, 'lease_until'),
    startedAt: numOrNull(row, 'started_at'),
    finishedAt: numOrNull(row, 'finished_at'),
    reason: strOrNull(row, 'reason'),
    result: result === null ? null : jsonObject(result, 'result'),
  };
}

/** Encodes a run record the way `toRun` decodes it (the job's `last_run` copy). */
export function runToJson(run: RunRecord): string {
  return JSON.stringify(runToRow(run));
}

/** A run record as a row of `again_runs`. */
export function runToRow(run: RunRecord): RunsTable {
  return {
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
    result: run.result === null ? null : JSON.stringify(run.result),
  };
}

/** Decodes a row of `again_jobs`. */
export function toJob(row: Row): JobRecord {
  const state = str(row, 'state');
  if (!STATES.has(state)) throw new CorruptRowError(`unknown job state ${state}`);
  const lastRun = strOrNull(row, 'last_run');
  return {
    id: str(row, 'id'),
    spec: jsonObject(str(row, 'spec'), 'spec'),
    state: state as JobState,
    nextRunAt: numOrNull(row, 'next_run_at'),
    fence: num(row, 'fence'),
    sequence: num(row, 'sequence'),
    started: num(row, 'started'),
    runs: num(row, 'runs'),
    activeRuns: num(row, 'active_runs'),
    createdAt: num(row, 'created_at'),
    updatedAt: num(row, 'updated_at'),
    lastRun: lastRun === null ? null : toRun(jsonObject(lastRun, 'last_run')),
  };
}
