/**
 * Rows to the driver's records: `@again/storage`'s decoders with node-postgres's scalars, the
 * claim's due-job row, and the `last_run` copy as the driver writes it. A row that does not decode
 * throws `CorruptRowError`, which the driver reports as `ERR_STORAGE_CORRUPT`.
 *
 * @module
 */

import {
  CorruptRowError,
  createRowDecoder,
  type DueRow,
  type RowDecoder,
  type RunRow,
  readText,
} from '@again/storage';
import type { Row } from './queries.js';

/**
 * A `bigint` column: node-postgres returns it as a string (it does not fit a JS number in
 * general); every value the store writes is a safe integer, so anything else is corrupt. The
 * `last_run` copy holds JSON numbers.
 */
function readInt(value: unknown, column: string): number {
  const parsed = typeof value === 'string' ? Number(value) : value;
  if (typeof parsed === 'number' && Number.isSafeInteger(parsed)) return parsed;
  throw new CorruptRowError(`column ${column} is not an integer: ${String(value)}`);
}

/** A boolean column (also in a `last_run` copy, where it is a JSON boolean). */
function readBool(value: unknown, column: string): boolean {
  if (typeof value === 'boolean') return value;
  throw new CorruptRowError(`column ${column} is not a boolean`);
}

/**
 * The decoders of node-postgres rows: `int` (a `bigint` column), `text`, `jobState`, `toRunRow` (a
 * row of `again_runs`, or the `last_run` copy on a job) and `toJobRow` (a row of `again_jobs`).
 */
export const rowDecoder: RowDecoder = createRowDecoder({ int: readInt, bool: readBool });

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

/** A due job as a claim reads it: what the planner sees, plus the counters the claim moves on. */
export interface DueJobRow extends DueRow {
  readonly fence: number;
  readonly sequence: number;
}

/** Decodes a row of the claim's due-job select. */
export function toDueJobRow(row: Row): DueJobRow {
  return {
    id: readText(row.id, 'id'),
    createdAt: readInt(row.created_at, 'created_at'),
    revision: readInt(row.revision, 'revision'),
    nextRunAt: readInt(row.next_run_at, 'next_run_at'),
    started: readInt(row.started, 'started'),
    activeRuns: readInt(row.active_runs, 'active_runs'),
    spec: readText(row.spec, 'spec'),
    fence: readInt(row.fence, 'fence'),
    sequence: readInt(row.sequence, 'sequence'),
  };
}
