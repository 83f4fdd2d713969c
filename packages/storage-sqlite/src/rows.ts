/**
 * Rows to the driver's records: `@again/storage`'s decoders with SQLite's scalars, and the claim's
 * due-job row, read as an array. A row that does not decode throws `CorruptRowError`, which the
 * driver reports as `ERR_STORAGE_CORRUPT`.
 *
 * @module
 */

import {
  CorruptRowError,
  createRowDecoder,
  type DueRow,
  type RowDecoder,
  readText,
} from '@again/storage';

/** Integers come back as numbers, or as bigints when the user's database has `safeIntegers` on. */
function readInt(value: unknown, column: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new CorruptRowError(`column ${column} is not a number`);
}

/**
 * A 0/1 column as a boolean; so is `triggered` in a `last_run` copy, which SQLite's `json_object`
 * (in `completeRuns` and `recordCallback`) writes as the JSON number 0 or 1.
 */
function readBool(value: unknown, column: string): boolean {
  const flag = readInt(value, column);
  if (flag !== 0 && flag !== 1) throw new CorruptRowError(`column ${column} is not 0 or 1`);
  return flag === 1;
}

/**
 * The decoders of SQLite rows: `int`, `text`, `jobState`, `toRunRow` (a row of `again_runs`, or the
 * `last_run` copy on a job: that row as a JSON object, its `result` and `callback` still JSON text
 * inside it, written by SQLite's `json_object` in `completeRuns` and `recordCallback`) and
 * `toJobRow` (a row of `again_jobs`).
 */
export const rowDecoder: RowDecoder = createRowDecoder({ int: readInt, bool: readBool });

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

/** Decodes a row of the claim's due-job select, read as an array of {@link DUE_JOB_COLUMNS}. */
export function toDueJobRow(values: readonly unknown[]): DueJobRow {
  return {
    id: readText(values[0], 'id'),
    createdAt: readInt(values[1], 'created_at'),
    revision: readInt(values[2], 'revision'),
    nextRunAt: readInt(values[3], 'next_run_at'),
    started: readInt(values[4], 'started'),
    activeRuns: readInt(values[5], 'active_runs'),
    spec: readText(values[6], 'spec'),
    fence: readInt(values[7], 'fence'),
    sequence: readInt(values[8], 'sequence'),
  };
}
