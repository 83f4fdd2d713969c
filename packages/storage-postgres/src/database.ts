/**
 * How operations reach PostgreSQL: single statements on any pooled connection, and transactions on
 * one reserved connection, through kysely's `PostgresDialect`.
 *
 * Transactions are `READ COMMITTED` (set explicitly, whatever the database's default): the store's
 * correctness comes from row locks (`FOR UPDATE`, `SKIP LOCKED`) and from statements that
 * re-check their conditions on the row they lock, not from snapshots. A transaction that fails
 * with a deadlock or a serialization failure was rolled back by the server and is run again, a few
 * times; nothing else is retried here: in particular a failure of `COMMIT` itself (a connection
 * lost at that moment) leaves the outcome unknown, so it is reported, never repeated.
 *
 * @module
 */

import { type Kysely, type PostgresPool, sql } from 'kysely';
import type { Query, Row } from './queries.js';

/** What an operation runs its statements on: the pool, or one transaction's connection. */
export interface Executor {
  /** Runs a statement and returns its rows. */
  rows(query: Query): Promise<Row[]>;
  /** Runs a statement and returns how many rows it changed. */
  changes(query: Query): Promise<number>;
}

/** How often a transaction runs when it keeps failing with a deadlock or serialization failure. */
const MAX_ATTEMPTS = 5;

/** SQLSTATEs that mean "rolled back because of another transaction: run it again". */
const TRANSIENT: ReadonlySet<string> = new Set(['40P01', '40001']);

/** The SQLSTATE of a node-postgres error, if any. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function executorOn(db: Kysely<unknown>): Executor {
  return {
    rows: async (query) => (await query.execute(db)).rows,
    changes: async (query) => Number((await query.execute(db)).numAffectedRows ?? 0n),
  };
}

/** The store's access to the database. */
export class Database implements Executor {
  readonly #kysely: Kysely<unknown>;
  readonly #pool: Executor;

  /** @param kysely - a kysely instance on the store's pool (without plugins) */
  constructor(kysely: Kysely<unknown>) {
    this.#kysely = kysely;
    this.#pool = executorOn(kysely);
  }

  rows(query: Query): Promise<Row[]> {
    return this.#pool.rows(query);
  }

  changes(query: Query): Promise<number> {
    return this.#pool.changes(query);
  }

  /**
   * Runs `body` on one connection reserved for it (session state, such as an advisory lock, stays
   * on that connection).
   */
  session<T>(body: (db: Kysely<unknown>) => Promise<T>): Promise<T> {
    return this.#kysely.connection().execute(body);
  }

  /**
   * Runs `body` in a `READ COMMITTED` transaction on one connection and commits; rolls back and
   * rethrows the body's error. Runs it again (from the start) when it fails with a deadlock, a
   * serialization failure, or an error `retry` accepts.
   *
   * @param body - the transaction's work; may run more than once, so it must not keep state
   *   between attempts
   * @param retry - other errors after which the whole transaction is worth running again
   */
  async transaction<T>(
    body: (tx: Executor) => Promise<T>,
    retry: (error: unknown) => boolean = () => false,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#kysely.connection().execute(async (db) => {
          await sql`begin isolation level read committed`.execute(db);
          let result: T;
          try {
            result = await body(executorOn(db));
          } catch (error) {
            try {
              await sql`rollback`.execute(db);
            } catch {
              // The connection is gone (the server rolled back) and the pool drops it; the body's
              // error is the one to report.
            }
            throw error;
          }
          const commit = await sql<{ command?: unknown }>`commit`.execute(db);
          // PostgreSQL answers COMMIT with ROLLBACK when the transaction had failed.
          if (commit.rows[0]?.command === 'ROLLBACK') {
            throw new Error('the transaction was rolled back at commit');
          }
          return result;
        });
      } catch (error) {
        const state = sqlState(error);
        const again = (state !== undefined && TRANSIENT.has(state)) || retry(error);
        if (attempt < MAX_ATTEMPTS && again) continue;
        throw error;
      }
    }
  }
}

function ignore(): void {}

/**
 * The pool the store runs on: the given one, with an `'error'` listener added to each client it
 * hands out. node-postgres emits an `'error'` on a checked-out client whose connection dies (a
 * backend terminated mid-transaction, a server restart), and an `'error'` nobody listens to
 * crashes the process; the failure itself reaches the store through the query it broke, and the
 * pool drops the dead client when it is released.
 *
 * @param pool - the user's pool or the store's own
 * @returns a pool with the same connections
 */
export function guardPool(pool: PostgresPool): PostgresPool {
  const guarded = new WeakSet<object>();
  return {
    connect: async () => {
      const client = await pool.connect();
      const events = client as unknown as { on?: (event: string, listener: () => void) => void };
      if (!guarded.has(client) && typeof events.on === 'function') {
        events.on('error', ignore);
        guarded.add(client);
      }
      return client;
    },
    end: () => pool.end(),
  };
}
