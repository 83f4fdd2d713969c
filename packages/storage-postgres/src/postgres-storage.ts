/**
 * `createPostgresStorage`: the `JobStore` of `@again/storage` on PostgreSQL.
 *
 * @module
 */

import { createJobStore, type JobStore, StorageError } from '@again/storage';
import { Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import { Database, guardPool } from './database.js';
import { toStorageError } from './errors.js';
import { WakeListener } from './listener.js';
import { migrate } from './migrate.js';
import type { Context } from './operations.js';
import { type PostgresStorageOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { PostgresDriver } from './postgres-driver.js';
import { Queries } from './queries.js';

/**
 * Opens a PostgreSQL store for `@again/scheduler`: jobs, the run ledger with its fenced leases, and
 * the history, in one schema that any number of scheduler instances, on any number of machines,
 * can share. Each occurrence is started once.
 *
 * Before it resolves, it creates the schema and its tables if needed (versioned kysely migrations
 * under an advisory lock, so instances starting together migrate once). The store it returns is
 * `createJobStore` of `@again/storage` around the PostgreSQL driver: every argument is checked
 * there, claims lock due jobs with `FOR UPDATE SKIP LOCKED` (instances never wait for each other's
 * jobs), batches are one statement each, and every failure rejects with a `StorageError` whose
 * `cause` is the node-postgres error. Its capabilities: `shared`; `notifies` unless
 * `notifications` is off (LISTEN/NOTIFY, with a listener that reconnects); `clock` with the default
 * `clock: 'database'` (lease expiry by the server's clock).
 *
 * @param options - the options, or just a connection string
 * @returns the open store; close it with `close()` (which ends the pool only if the store built it)
 * @throws StorageError with code `ERR_STORAGE_INVALID_ARGUMENT` for invalid options (before
 *   connecting), `ERR_STORAGE` when connecting or migrating fails (a pool the store built is ended)
 * @example
 * ```ts
 * import { createPostgresStorage } from '@again/storage-postgres';
 *
 * const store = await createPostgresStorage({
 *   connectionString: 'postgres://app@db.internal:5432/app',
 *   schema: 'scheduler',
 * });
 * // ... createScheduler({ storage: store, ... }) on every instance
 * await store.close();
 * ```
 * @example
 * ```ts
 * // Your own pool (left open by `close()`)
 * import pg from 'pg';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
 * pool.on('error', (error) => console.error('idle client error', error));
 * const store = await createPostgresStorage({ pool });
 * ```
 */
export async function createPostgresStorage(
  options: PostgresStorageOptions | string,
): Promise<JobStore> {
  const resolved = resolveOptions(options);
  const { pool, end } = await openPool(resolved);
  const guarded = guardPool(pool);
  const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: guarded }) });
  const q = new Queries(resolved.schema);
  const ctx: Context = {
    db: new Database(kysely),
    q,
    clock: resolved.clock,
    notifications: resolved.notifications,
    defaultHistoryLimit: resolved.defaultHistoryLimit,
  };
  try {
    await migrate(ctx.db, q);
  } catch (error) {
    const failure = setupError(error);
    try {
      await end();
    } catch (endError) {
      throw new StorageError('createPostgresStorage', failure.message, {
        cause: new AggregateError([failure.cause, endError], 'setup failed, then closing failed'),
        code: failure.code,
      });
    }
    throw failure;
  }
  const listener = resolved.notifications
    ? new WakeListener(guarded, q.channel, { listen: q.listenSql(), unlisten: q.unlistenSql() })
    : null;
  return createJobStore(new PostgresDriver(ctx, listener, end));
}

function setupError(error: unknown): StorageError {
  const failure = toStorageError('createPostgresStorage', error);
  return failure instanceof StorageError
    ? failure
    : new StorageError('createPostgresStorage', failure.message, { cause: failure });
}

/** The pool, and how `close()` ends it: never a pool the user passed. */
async function openPool(
  options: ResolvedOptions,
): Promise<{ pool: PostgresPool; end: () => Promise<void> }> {
  const source = options.source;
  if (source.kind === 'pool') return { pool: source.pool, end: async () => {} };
  let pool: PostgresPool;
  try {
    // Loaded only for a connection string: pg is a peer, and a user passing a pool has their own.
    const { default: pg } = await import('pg');
    const own = new pg.Pool({
      connectionString: source.connectionString,
      max: source.maxConnections,
    });
    // An idle client whose connection dies is dropped by the pool; without a listener its error
    // would crash the process.
    own.on('error', () => {});
    pool = own;
  } catch (error) {
    throw setupError(error);
  }
  let ended: Promise<void> | null = null;
  return {
    pool,
    end: () => {
      ended ??= pool.end();
      return ended;
    },
  };
}
