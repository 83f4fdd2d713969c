/**
 * Options of {@link createSqliteStorage}, their defaults and their validation.
 *
 * @module
 */

import { StorageError } from '@again/storage';
import type { Kysely, SqliteDatabase } from 'kysely';

/**
 * A Kysely instance of any table shape, as {@link SqliteStorageOptions.database} accepts it. The
 * store only runs its own tables' queries on it. (Kysely types "some Kysely instance" as
 * `Kysely<any>`: a user's `Kysely<TheirTables>` is not assignable to `Kysely<unknown>`.)
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import { Kysely, SqliteDialect } from 'kysely';
 *
 * const kysely: AnyKysely = new Kysely<MyTables>({
 *   dialect: new SqliteDialect({ database: new Database('./app.db') }),
 * });
 * const storage = await createSqliteStorage({ database: kysely });
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: any Kysely<DB> must be accepted; we never use its table types.
export type AnyKysely = Kysely<any>;

/**
 * How SQLite syncs commits to disk (`PRAGMA synchronous`), in WAL mode:
 * - `full`: every commit is on disk when it returns (survives power loss);
 * - `normal`: commits survive a crash of the process, and the database is never corrupted, but the
 *   last commits can be lost on power loss or an OS crash. Much faster.
 *
 * @example
 * ```ts
 * const synchronous: SqliteSynchronous = 'normal';
 * const storage = await createSqliteStorage({ database: './jobs.db', synchronous });
 * ```
 */
export type SqliteSynchronous = 'full' | 'normal';

/**
 * Options of {@link createSqliteStorage}.
 *
 * @example
 * ```ts
 * const options: SqliteStorageOptions = {
 *   database: './jobs.db',
 *   historyMaxRowsPerJob: 100,
 *   historyMaxAge: 7 * 24 * 3_600_000,
 * };
 * const storage = await createSqliteStorage(options);
 * ```
 */
export interface SqliteStorageOptions {
  /**
   * The database:
   * - a file path (created if missing; `':memory:'` for a private in-memory database). The store
   *   opens it with better-sqlite3 and closes it in `close()`;
   * - an open better-sqlite3 `Database` (any object with kysely's `SqliteDatabase` shape). The store
   *   uses it and leaves it open in `close()`;
   * - a `Kysely` instance on SQLite. The store runs on one of its connections (reserved per
   *   operation) and leaves it open in `close()`. Prefer one of the other two when you can: they
   *   run each transaction synchronously on cached prepared statements, which is faster. Stores of
   *   one process on one file, of any kind, wait for each other's write transactions (see the
   *   README).
   */
  readonly database: string | SqliteDatabase | AnyKysely;
  /**
   * How long an operation waits for another process's write lock, in ms, before it fails with
   * `SQLITE_BUSY`. The wait does not block the event loop: SQLite waits on the thread for at most
   * a few milliseconds at a time, and the store tries again after an asynchronous pause. (Stores of
   * this process on the same file wait for each other asynchronously too.)
   *
   * @defaultValue 5000
   */
  readonly busyTimeout?: number;
  /**
   * `PRAGMA synchronous` (the journal is always WAL).
   *
   * @defaultValue 'full'
   */
  readonly synchronous?: SqliteSynchronous;
  /**
   * The history limit per job when a call passes none (go-again's `HistoryLimit`).
   *
   * @defaultValue 20
   */
  readonly defaultHistoryLimit?: number;
  /**
   * Finished entries older than this (ms, by `finishedAt`) are deleted on every write to their
   * job's history (a completion, a claim that records skipped occurrences), measured from the
   * write's time. The whole store is pruned by the scheduler's maintenance (`pruneHistory`).
   *
   * @defaultValue Infinity (kept)
   */
  readonly historyMaxAge?: number;
  /**
   * At most this many finished entries are kept per job, whatever history limit a call passes.
   *
   * @defaultValue Infinity (only the history limit applies)
   */
  readonly historyMaxRowsPerJob?: number;
}

/**
 * The defaults of {@link SqliteStorageOptions}.
 *
 * @example
 * ```ts
 * SQLITE_STORAGE_DEFAULTS.busyTimeout; // 5000
 * ```
 */
export const SQLITE_STORAGE_DEFAULTS: {
  readonly busyTimeout: number;
  readonly synchronous: SqliteSynchronous;
  readonly defaultHistoryLimit: number;
  readonly historyMaxAge: number;
  readonly historyMaxRowsPerJob: number;
} = Object.freeze({
  busyTimeout: 5000,
  synchronous: 'full',
  defaultHistoryLimit: 20,
  historyMaxAge: Number.POSITIVE_INFINITY,
  historyMaxRowsPerJob: Number.POSITIVE_INFINITY,
});

/** The database, told apart. */
export type DatabaseInput =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'sqlite'; readonly database: SqliteDatabase }
  | { readonly kind: 'kysely'; readonly kysely: AnyKysely };

/** Validated options, defaults applied. */
export interface ResolvedOptions {
  readonly database: DatabaseInput;
  readonly busyTimeout: number;
  readonly synchronous: SqliteSynchronous;
  readonly defaultHistoryLimit: number;
  readonly historyMaxAge: number;
  readonly historyMaxRowsPerJob: number;
}

/** Every option's name: any other key is refused (a misspelt option must not pass silently). */
const OPTION_KEYS: ReadonlySet<string> = new Set<keyof SqliteStorageOptions>([
  'database',
  'busyTimeout',
  'synchronous',
  'defaultHistoryLimit',
  'historyMaxAge',
  'historyMaxRowsPerJob',
]);

function invalid(message: string): StorageError {
  return new StorageError('createSqliteStorage', message, { code: 'ERR_STORAGE_INVALID_ARGUMENT' });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function databaseInput(value: unknown): DatabaseInput {
  if (typeof value === 'string') {
    if (value.trim() === '') throw invalid('database must be a file path, not an empty string');
    return { kind: 'path', path: value };
  }
  if (isObject(value)) {
    // Duck typing rather than `instanceof Kysely`: the user's kysely may be another copy.
    if (typeof value.connection === 'function' && typeof value.withoutPlugins === 'function') {
      return { kind: 'kysely', kysely: value as unknown as AnyKysely };
    }
    if (typeof value.prepare === 'function' && typeof value.close === 'function') {
      return { kind: 'sqlite', database: value as unknown as SqliteDatabase };
    }
  }
  throw invalid('database must be a file path, a better-sqlite3 Database or a Kysely instance');
}

// A whole number of ms, or Infinity where "no limit" makes sense.
function amount(
  name: string,
  value: unknown,
  fallback: number,
  {
    min,
    infinite,
    max = Number.MAX_SAFE_INTEGER,
  }: { min: number; infinite: boolean; max?: number },
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    value >= min &&
    (value <= max || (infinite && value === Number.POSITIVE_INFINITY)) &&
    (Number.isSafeInteger(value) || (infinite && value === Number.POSITIVE_INFINITY));
  if (!ok) {
    const range = `${min}..${max === Number.MAX_SAFE_INTEGER ? '' : max}`;
    throw invalid(
      `${name} must be a whole number in ${range}${infinite ? ' or Infinity' : ''}, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Validates options and applies defaults.
 *
 * @throws StorageError with code `ERR_STORAGE_INVALID_ARGUMENT`, naming the first invalid option.
 */
export function resolveOptions(input: SqliteStorageOptions | string): ResolvedOptions {
  const options: unknown = typeof input === 'string' ? { database: input } : input;
  if (!isObject(options)) throw invalid('options must be an object or a file path');
  const unknown = Object.keys(options).filter((key) => !OPTION_KEYS.has(key));
  if (unknown.length > 0) {
    throw invalid(`unknown option${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
  }
  const d = SQLITE_STORAGE_DEFAULTS;
  const synchronous = options.synchronous ?? d.synchronous;
  if (synchronous !== 'full' && synchronous !== 'normal') {
    throw invalid(`synchronous must be 'full' or 'normal', got ${String(synchronous)}`);
  }
  return {
    database: databaseInput(options.database),
    // SQLite keeps the busy timeout in a C int.
    busyTimeout: amount('busyTimeout', options.busyTimeout, d.busyTimeout, {
      min: 0,
      max: 2 ** 31 - 1,
      infinite: false,
    }),
    synchronous,
    defaultHistoryLimit: amount(
      'defaultHistoryLimit',
      options.defaultHistoryLimit,
      d.defaultHistoryLimit,
      { min: 1, infinite: false },
    ),
    historyMaxAge: amount('historyMaxAge', options.historyMaxAge, d.historyMaxAge, {
      min: 1,
      infinite: true,
    }),
    historyMaxRowsPerJob: amount(
      'historyMaxRowsPerJob',
      options.historyMaxRowsPerJob,
      d.historyMaxRowsPerJob,
      { min: 1, infinite: true },
    ),
  };
}
