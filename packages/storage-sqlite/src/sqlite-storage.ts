/**
 * `createSqliteStorage`: the `JobStore` of `@again/storage` on a SQLite file.
 *
 * @module
 */

import { createJobStore, type JobStore, StorageError } from '@again/storage';
import { CompiledQuery, Kysely, Migrator, type SqliteDatabase, SqliteDialect } from 'kysely';
import { whileBusy } from './busy.js';
import {
  type Connection,
  KyselyConnection,
  kyselyTransaction,
  type Op,
  SyncConnection,
} from './connection.js';
import { toStorageError } from './errors.js';
import { acquireFileLock, type FileLock } from './file-lock.js';
import * as ops from './operations.js';
import { type ResolvedOptions, resolveOptions, type SqliteStorageOptions } from './options.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, MIGRATIONS, migrationProvider } from './schema.js';
import { SqliteDriver } from './sqlite-driver.js';

/**
 * Opens a SQLite store for `@again/scheduler`: the jobs, the run ledger with its fenced leases,
 * and the history, in one file that any number of scheduler processes can share.
 *
 * It puts the database in WAL mode, sets the busy timeout and `synchronous`, and brings the schema
 * up to date with versioned kysely migrations (recorded in the table `again_migrations`) before it
 * resolves. The store it returns is `createJobStore` of `@again/storage` around the SQLite driver:
 * every argument is checked there, every operation is one transaction (`BEGIN IMMEDIATE` when it
 * writes), batches (claims, renewals, completions, takeovers) are read and written with a constant
 * number of statements, and every failure rejects with a `StorageError` whose `cause` is the
 * driver's error: nothing is swallowed. Its capabilities: `shared` (other processes can open the
 * file), no `notifies`, no `clock`.
 *
 * @param options - the options, or just the database file path
 * @returns the open store; close it with `close()`
 * @throws StorageError with code `ERR_STORAGE_INVALID_ARGUMENT` for invalid options,
 *   `ERR_STORAGE_CORRUPT` when the file is not a usable database, `ERR_STORAGE` when opening,
 *   configuring or migrating fails (nothing stays open that the store opened)
 * @example
 * ```ts
 * import { createSqliteStorage } from '@again/storage-sqlite';
 *
 * const store = await createSqliteStorage({ database: './jobs.db', historyMaxRowsPerJob: 50 });
 * const { runs } = await store.claimDue({
 *   owner: 'instance-a',
 *   now: Date.now(),
 *   limit: 100,
 *   leaseDuration: 30_000,
 *   plan: (job) => ({
 *     run: { scheduledAt: job.nextRunAt, occurrenceId: `${job.id}@${job.nextRunAt}` },
 *     skipped: [],
 *     nextRunAt: job.nextRunAt + 60_000,
 *   }),
 * });
 * ```
 * @example
 * ```ts
 * // An existing better-sqlite3 database (left open by `close()`)
 * import Database from 'better-sqlite3';
 * const db = new Database('./app.db');
 * const store = await createSqliteStorage({ database: db });
 * ```
 */
export async function createSqliteStorage(
  options: SqliteStorageOptions | string,
): Promise<JobStore> {
  const resolved = resolveOptions(options);
  const opened = await open(resolved);
  let release = (): void => {};
  const closeAll = (): void => {
    release();
    opened.close();
  };
  let connection: Connection;
  try {
    const setup = opened.connect(null);
    // A fresh file another process is setting up at the same moment can be locked: the pragmas
    // are idempotent, so they are simply tried again.
    await whileBusy(resolved.busyTimeout, () => configure(setup, resolved));
    const handle = acquireFileLock(await setup.run(ops.databaseFile(), 'single'));
    if (handle !== null) release = handle.release;
    const lock = handle?.lock ?? null;
    connection = opened.connect(lock);
    const migrating = connection;
    await whileBusy(resolved.busyTimeout, () => migrate(migrating, lock));
  } catch (error) {
    const failure = setupError(error);
    try {
      closeAll();
    } catch (closeError) {
      throw new StorageError('createSqliteStorage', failure.message, {
        cause: new AggregateError([failure.cause, closeError], 'setup failed, then close failed'),
        code: failure.code,
      });
    }
    throw failure;
  }
  return createJobStore(new SqliteDriver(connection, closeAll, resolved, resolved.busyTimeout));
}

function setupError(error: unknown): StorageError {
  const failure = toStorageError('createSqliteStorage', error);
  return failure instanceof StorageError
    ? failure
    : new StorageError('createSqliteStorage', failure.message, { cause: failure });
}

/** The opened database: `connect` makes connections on it, `close` closes what the store opened. */
interface Opened {
  connect(lock: FileLock | null): Connection;
  close(): void;
}

/** Opens the database (nothing to open for a `Database` or `Kysely` the user passed). */
async function open(options: ResolvedOptions): Promise<Opened> {
  const input = options.database;
  if (input.kind === 'kysely') {
    // Plugins (e.g. CamelCasePlugin) would rewrite our column names in results: run without them.
    const kysely = input.kysely.withoutPlugins();
    return { connect: (lock) => new KyselyConnection(kysely, lock), close: () => {} };
  }
  if (input.kind === 'sqlite') {
    return { connect: (lock) => syncConnection(input.database, lock), close: () => {} };
  }
  let database: SqliteDatabase;
  try {
    // Loaded only for a path: better-sqlite3 is a peer, and a user passing a Kysely instance may
    // run on another driver package.
    const { default: Database } = await import('better-sqlite3');
    database = new Database(input.path);
  } catch (error) {
    throw setupError(error);
  }
  return { connect: (lock) => syncConnection(database, lock), close: () => database.close() };
}

function syncConnection(database: SqliteDatabase, lock: FileLock | null): SyncConnection {
  // The migrator needs an executing Kysely; this one runs on the same database. It is never
  // destroyed (that would close the database): the store closes the database itself.
  return new SyncConnection(
    database,
    new Kysely<unknown>({ dialect: new SqliteDialect({ database }) }),
    lock,
  );
}

function* pragma(statement: string): Op<Record<string, unknown> | undefined> {
  return (yield CompiledQuery.raw(`pragma ${statement}`)).rows[0];
}

/**
 * How long SQLite itself waits on the thread for another process's lock (ms) before an operation
 * fails with `SQLITE_BUSY` and the driver tries it again after an asynchronous pause (up to the
 * store's `busyTimeout` in all): a busy wait blocks the event loop, so it is kept this short.
 */
export const BUSY_SLICE = 5;

/** WAL, busy timeout, synchronous: per connection, outside any transaction. */
async function configure(connection: Connection, options: ResolvedOptions): Promise<void> {
  const slice = Math.min(options.busyTimeout, BUSY_SLICE);
  await connection.run(pragma(`busy_timeout = ${slice}`), 'single');
  const mode = await connection.run(pragma('journal_mode = wal'), 'single');
  const journal = String(mode?.journal_mode ?? '').toLowerCase();
  // An in-memory database reports `memory`: WAL needs a file, and there is no other process anyway.
  if (journal !== 'wal' && journal !== 'memory') {
    throw new StorageError('createSqliteStorage', `could not enable WAL (journal_mode=${journal})`);
  }
  await connection.run(pragma(`synchronous = ${options.synchronous}`), 'single');
}

const MIGRATION_NAMES = Object.keys(MIGRATIONS).sort();

/** Brings the schema up to date (a no-op read when it already is). */
async function migrate(connection: Connection, lock: FileLock | null): Promise<void> {
  const applied = await connection.run(ops.appliedMigrations(MIGRATION_TABLE), 'read');
  if (
    applied.length === MIGRATION_NAMES.length &&
    MIGRATION_NAMES.every((n) => applied.includes(n))
  ) {
    return;
  }
  await migrateNow(connection.kysely, lock);
}

/**
 * Runs kysely's `Migrator` inside one `BEGIN IMMEDIATE` transaction: another process migrating the
 * same file waits for it, then finds nothing left to do; a failed migration leaves no trace. (Kysely
 * does not wrap SQLite migrations in a transaction itself, so it runs them on ours.) The
 * transaction spans awaits, so it holds the process's lock of the file: stores on the file in this
 * process wait for it instead of sleeping in SQLite's busy handler.
 */
async function migrateNow(kysely: Kysely<unknown>, lock: FileLock | null): Promise<void> {
  await kyselyTransaction(
    kysely,
    'write',
    async (db) => {
      const { error } = await new Migrator({
        db,
        provider: migrationProvider,
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: MIGRATION_LOCK_TABLE,
      }).migrateToLatest();
      if (error !== undefined) throw error;
    },
    lock,
  );
}
