/**
 * How store operations reach SQLite.
 *
 * Every operation is written once, as a generator that yields compiled kysely queries and receives
 * their results (see `operations.ts`). A connection drives it inside a transaction:
 *
 * - on a better-sqlite3 database (a file path or a `Database` the user passed) the whole
 *   transaction runs **synchronously**, between `BEGIN IMMEDIATE` and `COMMIT`, in one turn of the
 *   event loop. This matters: SQLite's busy handler sleeps the thread, so if a transaction stayed
 *   open across an `await`, a second connection to the same file in the same process could start
 *   its own `BEGIN IMMEDIATE`, sleep on the lock for the whole busy timeout, and never let the
 *   first one finish. Run synchronously, a transaction can only ever wait for another *process*.
 * - on a `Kysely` instance the user passed (its driver is not reachable synchronously), it runs
 *   asynchronously on one connection reserved with `connection()`, between `begin immediate` and
 *   `commit`; kysely's SQLite driver serialises everything else on that instance meanwhile.
 *
 * `BEGIN IMMEDIATE` takes the write lock before the first read, so a transaction that reads then
 * writes never has to upgrade its lock midway (a deferred transaction that does gets SQLITE_BUSY at
 * once in WAL mode, without waiting for the busy timeout).
 *
 * Write transactions also take the process's lock of the file (see `file-lock.ts`): an async one
 * holds it throughout, a synchronous one waits for it only while an async one holds it.
 *
 * @module
 */

import type { CompiledQuery, Kysely, SqliteDatabase, SqliteStatement } from 'kysely';
import { CompiledQuery as Compiled } from 'kysely';
import type { FileLock } from './file-lock.js';

/** A row as the driver returns it. */
export type Row = Record<string, unknown>;

/**
 * A select whose rows the operation reads as arrays of column values, in select order: no object
 * is built per row (for a claim's read of hundreds of due jobs, a measurable share of its time).
 */
export interface ArrayRowsQuery {
  readonly arrays: CompiledQuery;
}

/** What an operation yields: a query, or a select read as arrays. */
export type Step = CompiledQuery | ArrayRowsQuery;

/** What a query yields back to an operation. */
export interface QueryResult {
  /** The rows (queries that return rows, including `RETURNING`), unless read as arrays. */
  readonly rows: Row[];
  /** The rows of an {@link ArrayRowsQuery}, else empty. */
  readonly arrays: unknown[][];
  /** The number of rows changed (statements that return no rows). */
  readonly changes: number;
}

/** A store operation: yields queries, receives their results, returns its value. */
export type Op<T> = Generator<Step, T, QueryResult>;

const NO_ARRAYS: unknown[][] = [];

function isArrayRows(step: Step): step is ArrayRowsQuery {
  return 'arrays' in step;
}

/**
 * How an operation runs:
 * - `write`: in a `BEGIN IMMEDIATE` transaction (it reads then writes, or writes several times);
 * - `read`: in a deferred transaction (several reads that must see one snapshot);
 * - `single`: without a transaction (one statement, atomic on its own; also the pragmas, which
 *   must not run inside a transaction).
 */
export type TxMode = 'write' | 'read' | 'single';

/** An open connection the store runs its operations on. */
export interface Connection {
  /** Runs an operation and returns its value; rejects with the driver's error. */
  run<T>(op: Op<T>, mode: TxMode): Promise<T>;
  /** A kysely instance that executes on this connection (for the migrator). */
  readonly kysely: Kysely<unknown>;
}

const BEGIN: Record<Exclude<TxMode, 'single'>, CompiledQuery> = {
  write: Compiled.raw('begin immediate'),
  read: Compiled.raw('begin'),
};
const COMMIT = Compiled.raw('commit');
const ROLLBACK = Compiled.raw('rollback');

/**
 * The error to throw when a transaction failed and rolling it back failed too: the first failure
 * stays the one reported, and the rollback's failure is not lost.
 */
function rollbackFailure(error: unknown, rollbackError: unknown): AggregateError {
  return new AggregateError([error, rollbackError], 'transaction failed, then rollback failed', {
    cause: error,
  });
}

/**
 * A connection on a better-sqlite3 database (structurally kysely's `SqliteDatabase`), running each
 * operation synchronously. Prepared statements are cached by SQL text: operations compile a fixed
 * set of query shapes (lists are passed as one JSON parameter), so the cache stays small.
 */
export class SyncConnection implements Connection {
  readonly kysely: Kysely<unknown>;
  readonly #db: SqliteDatabase & { readonly inTransaction?: boolean };
  readonly #lock: FileLock | null;
  readonly #statements = new Map<string, SqliteStatement>();

  constructor(db: SqliteDatabase, kysely: Kysely<unknown>, lock: FileLock | null) {
    this.#db = db;
    this.kysely = kysely;
    this.#lock = lock;
  }

  async run<T>(op: Op<T>, mode: TxMode): Promise<T> {
    // An async transaction of this process holds the file: wait for it rather than sleep in the
    // busy handler on the thread it needs.
    if (mode === 'write' && this.#lock?.busy === true) {
      return this.#lock.run(() => this.runSync(op, mode));
    }
    return this.runSync(op, mode);
  }

  /** {@link run}, without the promise. */
  runSync<T>(op: Op<T>, mode: TxMode): T {
    if (mode === 'single') return this.#drive(op);
    this.#execute(BEGIN[mode]);
    let value: T;
    try {
      value = this.#drive(op);
      this.#execute(COMMIT);
    } catch (error) {
      // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR, ...);
      // better-sqlite3 tells whether a transaction is still open.
      if (this.#db.inTransaction !== false) {
        try {
          this.#execute(ROLLBACK);
        } catch (rollbackError) {
          throw rollbackFailure(error, rollbackError);
        }
      }
      throw error;
    }
    return value;
  }

  #drive<T>(op: Op<T>): T {
    let step = op.next();
    while (!step.done) step = op.next(this.#execute(step.value));
    return step.value;
  }

  #execute(step: Step): QueryResult {
    const arrays = isArrayRows(step);
    const query = arrays ? step.arrays : step;
    let statement = this.#statements.get(query.sql);
    if (statement === undefined) {
      statement = this.#db.prepare(query.sql);
      this.#statements.set(query.sql, statement);
    }
    if (!statement.reader) {
      return {
        rows: [],
        arrays: NO_ARRAYS,
        changes: Number(statement.run(query.parameters).changes),
      };
    }
    if (!arrays) {
      return { rows: statement.all(query.parameters) as Row[], arrays: NO_ARRAYS, changes: 0 };
    }
    // better-sqlite3's raw mode returns arrays; any other SqliteDatabase gets its objects' values.
    const { raw } = statement as { raw?: (on: boolean) => unknown };
    if (typeof raw !== 'function') {
      const rows = statement.all(query.parameters) as Row[];
      return { rows: [], arrays: rows.map((row) => Object.values(row)), changes: 0 };
    }
    raw.call(statement, true);
    try {
      return { rows: [], arrays: statement.all(query.parameters) as unknown[][], changes: 0 };
    } finally {
      raw.call(statement, false);
    }
  }
}

/** A connection on a user's `Kysely` instance, running each operation on one reserved connection. */
export class KyselyConnection implements Connection {
  readonly kysely: Kysely<unknown>;
  readonly #lock: FileLock | null;

  /** `kysely` must run without plugins (they would rewrite our column names in results). */
  constructor(kysely: Kysely<unknown>, lock: FileLock | null) {
    this.kysely = kysely;
    this.#lock = lock;
  }

  run<T>(op: Op<T>, mode: TxMode): Promise<T> {
    const drive = async (db: Kysely<unknown>): Promise<T> => {
      let step = op.next();
      while (!step.done) {
        const query = step.value;
        const arrays = isArrayRows(query);
        const result = await db.executeQuery(arrays ? query.arrays : query);
        const rows = result.rows as Row[];
        step = op.next({
          rows: arrays ? [] : rows,
          // Object keys keep the select's column order (none of ours is an integer-like name).
          arrays: arrays ? rows.map((row) => Object.values(row)) : NO_ARRAYS,
          changes: Number(result.numAffectedRows ?? 0n),
        });
      }
      return step.value;
    };
    if (mode === 'single') return this.kysely.connection().execute(drive);
    return kyselyTransaction(this.kysely, mode, drive, this.#lock);
  }
}

/**
 * Runs `body` in a transaction on one connection reserved from `kysely` (`begin immediate` for
 * `write`, `begin` for `read`), committing when it resolves and rolling back when it throws. A
 * `write` holds `lock` (the process's lock of the file) from before `begin` to after `commit`.
 */
export function kyselyTransaction<T>(
  kysely: Kysely<unknown>,
  mode: Exclude<TxMode, 'single'>,
  body: (db: Kysely<unknown>) => Promise<T>,
  lock: FileLock | null,
): Promise<T> {
  if (mode === 'write' && lock !== null) {
    return lock.run(() => kyselyTransaction(kysely, mode, body, null));
  }
  return kysely.connection().execute(async (db) => {
    await db.executeQuery(BEGIN[mode]);
    let value: T;
    try {
      value = await body(db);
      await db.executeQuery(COMMIT);
    } catch (error) {
      try {
        await db.executeQuery(ROLLBACK);
      } catch (rollbackError) {
        throw rollbackFailure(error, rollbackError);
      }
      throw error;
    }
    return value;
  });
}
