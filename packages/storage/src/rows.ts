/**
 * Decoding SQL rows into the driver's records, for adapter authors. A SQL adapter reads the same
 * columns back (`again_jobs`, `again_runs`, a job's `last_run` copy as a JSON object) and checks
 * every value the same way; only how a database returns an integer or a boolean differs. An adapter
 * gives {@link createRowDecoder} its two scalar readers and gets the rest. JSON columns stay text
 * (the wrapper parses specs and results); every other value is checked, and a row that does not
 * decode throws {@link CorruptRowError}, never comes back half-right.
 *
 * @module
 */

import type { JobRow, RunRow } from './driver.js';
import { JOB_STATES, type JobState, type RunStatus } from './types.js';

/**
 * A stored value that cannot be decoded. The decoders of {@link createRowDecoder} throw it; an
 * adapter's error mapping reports it as a `StorageError` with code `ERR_STORAGE_CORRUPT` and this
 * error as `cause`.
 *
 * @example
 * ```ts
 * if (error instanceof CorruptRowError) {
 *   return new StorageError(operation, `unreadable data: ${error.message}`, {
 *     cause: error,
 *     code: 'ERR_STORAGE_CORRUPT',
 *   });
 * }
 * ```
 */
export class CorruptRowError extends Error {
  override readonly name: 'CorruptRowError' = 'CorruptRowError';
  /** A stable code, named like every @again error code. */
  readonly code: 'ERR_STORAGE_CORRUPT_ROW' = 'ERR_STORAGE_CORRUPT_ROW';
}

/**
 * A row as a database client returns it: column name to value.
 *
 * @example
 * ```ts
 * const row: SqlRow = { id: 'a', revision: 0, state: 'scheduled' };
 * ```
 */
export type SqlRow = Readonly<Record<string, unknown>>;

/**
 * How a database returns integers and booleans: each reader takes one value and its column name
 * (for the message) and returns the decoded value or throws {@link CorruptRowError}. They are
 * also used on the values of a job's `last_run` copy, as `JSON.parse` returns them.
 *
 * @example
 * ```ts
 * // SQLite: integers as number (or bigint with `safeIntegers`), booleans as 0/1.
 * function int(value: unknown, column: string): number {
 *   if (typeof value === 'number') return value;
 *   if (typeof value === 'bigint') return Number(value);
 *   throw new CorruptRowError(`column ${column} is not a number`);
 * }
 * const readers: ScalarReaders = {
 *   int,
 *   bool: (value, column) => {
 *     const flag = int(value, column);
 *     if (flag !== 0 && flag !== 1) throw new CorruptRowError(`column ${column} is not 0 or 1`);
 *     return flag === 1;
 *   },
 * };
 * ```
 */
export interface ScalarReaders {
  /** An integer column (times, counters). */
  readonly int: (value: unknown, column: string) => number;
  /** A boolean column (`triggered`). */
  readonly bool: (value: unknown, column: string) => boolean;
}

/**
 * Reads a text column's value, the same on every database.
 *
 * @param value - the value a row holds
 * @param column - its column, for the message
 * @returns the string
 * @throws {@link CorruptRowError} `column <column> is not text` when it is not a string
 *
 * @example
 * ```ts
 * const id = readText(values[0], 'id'); // a row read as an array
 * ```
 */
export function readText(value: unknown, column: string): string {
  if (typeof value === 'string') return value;
  throw new CorruptRowError(`column ${column} is not text`);
}

/**
 * The row decoders of one database, made by {@link createRowDecoder}. Each throws
 * {@link CorruptRowError} on a value that does not decode. A row costs the record it decodes to
 * (and, for `last_run`, its `JSON.parse`), no closures.
 *
 * @example
 * ```ts
 * const { int, text, toJobRow } = createRowDecoder(readers);
 * const next = int(row, 'fence') + 1;
 * ```
 */
export interface RowDecoder {
  /** An integer column of a row, by the adapter's `int` reader. */
  readonly int: (row: SqlRow, column: string) => number;
  /** A text column of a row. */
  readonly text: (row: SqlRow, column: string) => string;
  /** The `state` column of a job row: one of `JOB_STATES`, else `unknown job state <state>`. */
  readonly jobState: (row: SqlRow) => JobState;
  /**
   * A row of `again_runs` (`job_id`, `scheduled_at`, `occurrence_id`, `sequence`, `fence`,
   * `status`, `triggered`, `owner`, `lease_until`, `started_at`, `finished_at`, `reason`, `result`,
   * `callback`), or a job's `last_run` copy parsed from JSON: the same keys in one object.
   */
  readonly toRunRow: (row: SqlRow) => RunRow;
  /**
   * A row of `again_jobs` (`id`, `spec`, `revision`, `state`, `next_run_at`, `fence`,
   * `sequence`, `started`, `runs`, `active_runs`, `created_at`, `updated_at`, `last_run`), its
   * `last_run` the JSON text of the last run as an object with the keys of `toRunRow`, or `null`.
   */
  readonly toJobRow: (row: SqlRow) => JobRow;
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
 * Makes the row decoders of a database from how it returns integers and booleans. Call it once,
 * at module level: the decoders it returns are made once and run for every row.
 *
 * @param readers - the database's integer and boolean readers
 * @returns the decoders of `again_jobs` and `again_runs` rows, and of single columns
 *
 * @example
 * ```ts
 * import { CorruptRowError, createRowDecoder } from '@again/storage';
 *
 * // node-postgres: bigint columns as strings, booleans as booleans.
 * export const { int, text, jobState, toRunRow, toJobRow } = createRowDecoder({
 *   int: (value, column) => {
 *     const parsed = typeof value === 'string' ? Number(value) : value;
 *     if (typeof parsed === 'number' && Number.isSafeInteger(parsed)) return parsed;
 *     throw new CorruptRowError(`column ${column} is not an integer: ${String(value)}`);
 *   },
 *   bool: (value, column) => {
 *     if (typeof value === 'boolean') return value;
 *     throw new CorruptRowError(`column ${column} is not a boolean`);
 *   },
 * });
 * ```
 */
export function createRowDecoder(readers: ScalarReaders): RowDecoder {
  const readInt = readers.int;
  const readBool = readers.bool;

  function int(row: SqlRow, column: string): number {
    return readInt(row[column], column);
  }

  function intOrNull(row: SqlRow, column: string): number | null {
    const value = row[column];
    return value === null ? null : readInt(value, column);
  }

  function text(row: SqlRow, column: string): string {
    return readText(row[column], column);
  }

  function textOrNull(row: SqlRow, column: string): string | null {
    const value = row[column];
    return value === null ? null : readText(value, column);
  }

  function jobState(row: SqlRow): JobState {
    const state = text(row, 'state');
    if (!STATES.has(state)) throw new CorruptRowError(`unknown job state ${state}`);
    return state as JobState;
  }

  function toRunRow(row: SqlRow): RunRow {
    const status = text(row, 'status');
    if (!RUN_STATUSES.has(status)) throw new CorruptRowError(`unknown run status ${status}`);
    return {
      jobId: text(row, 'job_id'),
      scheduledAt: int(row, 'scheduled_at'),
      occurrenceId: text(row, 'occurrence_id'),
      sequence: int(row, 'sequence'),
      fence: int(row, 'fence'),
      status: status as RunStatus,
      trigger: readBool(row.triggered, 'triggered'),
      owner: textOrNull(row, 'owner'),
      leaseUntil: intOrNull(row, 'lease_until'),
      startedAt: intOrNull(row, 'started_at'),
      finishedAt: intOrNull(row, 'finished_at'),
      reason: textOrNull(row, 'reason'),
      result: textOrNull(row, 'result'),
      callback: textOrNull(row, 'callback'),
    };
  }

  function lastRun(json: string): RunRow {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new CorruptRowError('column last_run is not JSON', { cause: error });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new CorruptRowError('column last_run is not a JSON object');
    }
    return toRunRow(value as SqlRow);
  }

  function toJobRow(row: SqlRow): JobRow {
    const last = textOrNull(row, 'last_run');
    return {
      id: text(row, 'id'),
      spec: text(row, 'spec'),
      revision: int(row, 'revision'),
      state: jobState(row),
      nextRunAt: intOrNull(row, 'next_run_at'),
      fence: int(row, 'fence'),
      sequence: int(row, 'sequence'),
      started: int(row, 'started'),
      runs: int(row, 'runs'),
      activeRuns: int(row, 'active_runs'),
      createdAt: int(row, 'created_at'),
      updatedAt: int(row, 'updated_at'),
      lastRun: last === null ? null : lastRun(last),
    };
  }

  return { int, text, jobState, toRunRow, toJobRow };
}
