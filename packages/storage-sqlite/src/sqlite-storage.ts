/**
 * `createSqliteStorage`: the `JobStore` of `@again/storage` on a SQLite file.
 *
 * @module
 */

import {
  type ClaimResult,
  type ExpiredRunsClaim,
  type HistoryQuery,
  type HistoryRetention,
  JOB_STATES,
  JobExistsError,
  type JobQuery,
  type JobRecord,
  type JobRetention,
  type JobState,
  type JobStore,
  type NewJob,
  type OccurrenceClaim,
  type RunCompletion,
  type RunLease,
  type RunRecord,
  StorageError,
  type StorageErrorCode,
  TERMINAL_JOB_STATES,
  type TerminalJobState,
} from '@again/storage';
import { CompiledQuery, Kysely, Migrator, type SqliteDatabase, SqliteDialect } from 'kysely';
import {
  type Connection,
  KyselyConnection,
  kyselyTransaction,
  type Op,
  SyncConnection,
  type TxMode,
} from './connection.js';
import * as ops from './operations.js';
import { type ResolvedOptions, resolveOptions, type SqliteStorageOptions } from './options.js';
import { CorruptRowError } from './rows.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, MIGRATIONS, migrationProvider } from './schema.js';

/**
 * The SQLite `JobStore`. Beyond the contract, `pruneHistory()` and `pruneJobs()` can be called
 * without arguments to apply the retention configured in {@link SqliteStorageOptions}.
 *
 * @example
 * ```ts
 * const storage: SqliteStorage = await createSqliteStorage('./jobs.db');
 * const deleted = await storage.pruneHistory(); // the configured retention
 * await storage.close();
 * ```
 */
export interface SqliteStorage extends JobStore {
  /**
   * Deletes finished ledger entries by age and by count per job, in one transaction.
   *
   * @param retention - the retention to apply; absent: `historyMaxAge` and `historyMaxRowsPerJob`
   *   from the options, at `now()` (nothing is deleted when neither is set)
   * @returns how many entries were deleted
   * @throws StorageError when the database fails (`cause` is the driver's error) or the store is
   *   closed (`ERR_STORAGE_CLOSED`)
   */
  pruneHistory(retention?: HistoryRetention): Promise<number>;
  /**
   * Deletes terminal jobs with no running entry (and their ledgers), in one transaction.
   *
   * @param retention - which jobs; absent: those last updated more than `jobRetention` ms before
   *   `now()` (nothing is deleted when `jobRetention` is not set)
   * @returns how many jobs were deleted
   * @throws StorageError when the database fails or the store is closed
   */
  pruneJobs(retention?: JobRetention): Promise<number>;
}

/**
 * Opens a SQLite store for `@again/scheduler`: the jobs, the run ledger with its fenced leases,
 * and the history, in one file that any number of scheduler processes can share.
 *
 * It puts the database in WAL mode, sets the busy timeout and `synchronous`, and brings the schema
 * up to date with versioned kysely migrations (recorded in the table `again_migrations`) before it
 * resolves. Every operation is one transaction (`BEGIN IMMEDIATE` when it writes), and every
 * failure rejects with a `StorageError` whose `cause` is the driver's error: nothing is swallowed.
 *
 * @param options - the options, or just the database file path
 * @returns the open store; close it with `close()`
 * @throws StorageError with code `ERR_STORAGE_INVALID_ARGUMENT` for invalid options,
 *   `ERR_STORAGE_CORRUPT` when the file is not a usable database, `ERR_STORAGE` when opening,
 *   configuring or migrating fails (nothing stays open that the store opened)
 * @example
 * ```ts
 * import { createSqliteStorage } from '@again/storage-sqlite';
 * import { createScheduler } from '@again/scheduler';
 *
 * const storage = await createSqliteStorage({ database: './jobs.db', historyMaxRowsPerJob: 50 });
 * const scheduler = createScheduler({ storage });
 * ```
 * @example
 * ```ts
 * // An existing better-sqlite3 database (left open by `close()`)
 * import Database from 'better-sqlite3';
 * const db = new Database('./app.db');
 * const storage = await createSqliteStorage({ database: db });
 * ```
 */
export async function createSqliteStorage(
  options: SqliteStorageOptions | string,
): Promise<SqliteStorage> {
  const resolved = resolveOptions(options);
  const { connection, close } = await open(resolved);
  try {
    await configure(connection, resolved);
    await migrate(connection);
  } catch (error) {
    const failure = toStorageError('createSqliteStorage', error);
    try {
      close();
    } catch (closeError) {
      throw new StorageError('createSqliteStorage', failure.message, {
        cause: new AggregateError([failure.cause, closeError], 'setup failed, then close failed'),
        code: failure.code,
      });
    }
    throw failure;
  }
  return new SqliteJobStore(connection, close, resolved);
}

/** Opens the connection; `close` closes what the store opened (and nothing the user passed). */
async function open(options: ResolvedOptions): Promise<{ connection: Connection; close(): void }> {
  const input = options.database;
  if (input.kind === 'kysely') {
    return { connection: new KyselyConnection(input.kysely), close: () => {} };
  }
  if (input.kind === 'sqlite') {
    return { connection: syncConnection(input.database), close: () => {} };
  }
  let database: SqliteDatabase;
  try {
    // Loaded only for a path: better-sqlite3 is a peer, and a user passing a Kysely instance may
    // run on another driver package.
    const { default: Database } = await import('better-sqlite3');
    database = new Database(input.path);
  } catch (error) {
    throw toStorageError('createSqliteStorage', error);
  }
  return { connection: syncConnection(database), close: () => database.close() };
}

function syncConnection(database: SqliteDatabase): SyncConnection {
  // The migrator needs an executing Kysely; this one runs on the same database. It is never
  // destroyed (that would close the database): the store closes the database itself.
  return new SyncConnection(
    database,
    new Kysely<unknown>({ dialect: new SqliteDialect({ database }) }),
  );
}

function* pragma(statement: string): Op<Record<string, unknown> | undefined> {
  return (yield CompiledQuery.raw(`pragma ${statement}`)).rows[0];
}

/** WAL, busy timeout, synchronous: per connection, outside any transaction. */
async function configure(connection: Connection, options: ResolvedOptions): Promise<void> {
  await connection.run(pragma(`busy_timeout = ${options.busyTimeout}`), 'single');
  const mode = await connection.run(pragma('journal_mode = wal'), 'single');
  const journal = String(mode?.journal_mode ?? '').toLowerCase();
  // An in-memory database reports `memory`: WAL needs a file, and there is no other process anyway.
  if (journal !== 'wal' && journal !== 'memory') {
    throw new StorageError('createSqliteStorage', `could not enable WAL (journal_mode=${journal})`);
  }
  await connection.run(pragma(`synchronous = ${options.synchronous}`), 'single');
}

const MIGRATION_NAMES = Object.keys(MIGRATIONS).sort();

// Migrations of stores created concurrently in one process run one after the other: a migration
// holds the write lock across awaits (kysely's Migrator is async), and a second connection in the
// same process waiting synchronously for that lock would block the very event loop that has to
// release it. Other processes just wait for the lock (busy timeout).
let migrationQueue: Promise<unknown> = Promise.resolve();

/** Brings the schema up to date (a no-op read when it already is). */
async function migrate(connection: Connection): Promise<void> {
  const applied = await connection.run(ops.appliedMigrations(MIGRATION_TABLE), 'read');
  if (
    applied.length === MIGRATION_NAMES.length &&
    MIGRATION_NAMES.every((n) => applied.includes(n))
  ) {
    return;
  }
  const run = migrationQueue.then(() => migrateNow(connection.kysely));
  migrationQueue = run.catch(() => undefined);
  await run;
}

/**
 * Runs kysely's `Migrator` inside one `BEGIN IMMEDIATE` transaction: another process migrating the
 * same file waits for it, then finds nothing left to do; a failed migration leaves no trace. (Kysely
 * does not wrap SQLite migrations in a transaction itself, so it runs them on ours.)
 */
async function migrateNow(kysely: Kysely<unknown>): Promise<void> {
  await kyselyTransaction(kysely, 'write', async (db) => {
    const { error } = await new Migrator({
      db,
      provider: migrationProvider,
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
    }).migrateToLatest();
    if (error !== undefined) throw error;
  });
}

function driverCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Wraps a failure in a `StorageError` (typed errors of the contract pass through). */
function toStorageError(operation: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  if (error instanceof CorruptRowError) {
    return new StorageError(operation, `unreadable data: ${error.message}`, {
      cause: error,
      code: 'ERR_STORAGE_CORRUPT',
    });
  }
  const code = driverCode(error) ?? driverCode((error as { cause?: unknown } | null)?.cause);
  // SQLITE_CORRUPT and its extended codes (SQLITE_CORRUPT_VTAB, ...), and "file is not a database".
  const storageCode: StorageErrorCode =
    code !== undefined && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
      ? 'ERR_STORAGE_CORRUPT'
      : 'ERR_STORAGE';
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError(operation, code === undefined ? message : `${code}: ${message}`, {
    cause: error,
    code: storageCode,
  });
}

const STATES: ReadonlySet<string> = new Set<string>(JOB_STATES);
const TERMINAL: ReadonlySet<string> = new Set<string>(TERMINAL_JOB_STATES);

/** Argument checks: a wrong value must fail loudly, not be stored as NULL (SQLite stores NaN so). */
class Check {
  readonly #operation: string;
  constructor(operation: string) {
    this.#operation = operation;
  }
  fail(message: string): never {
    throw new StorageError(this.#operation, `invalid argument: ${message}`, {
      code: 'ERR_STORAGE_INVALID_ARGUMENT',
    });
  }
  object(name: string, value: unknown): void {
    if (typeof value !== 'object' || value === null) this.fail(`${name} must be an object`);
  }
  string(name: string, value: unknown): void {
    if (typeof value !== 'string') this.fail(`${name} must be a string`);
  }
  time(name: string, value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.fail(`${name} must be a finite number (ms since the epoch)`);
    }
  }
  timeOrNull(name: string, value: unknown): void {
    if (value !== null) this.time(name, value);
  }
  /** A JSON object that survives `JSON.stringify` (no BigInt, no cycles). */
  json(name: string, value: unknown): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(`${name} must be a JSON object`);
    }
    try {
      JSON.stringify(value);
    } catch (error) {
      throw new StorageError(this.#operation, `invalid argument: ${name} is not JSON`, {
        cause: error,
        code: 'ERR_STORAGE_INVALID_ARGUMENT',
      });
    }
  }
  number(name: string, value: unknown): void {
    if (typeof value !== 'number' || Number.isNaN(value)) this.fail(`${name} must be a number`);
  }
  optionalNumber(name: string, value: unknown): void {
    if (value !== undefined) this.number(name, value);
  }
  states(value: unknown): void {
    if (value === undefined) return;
    if (!Array.isArray(value) || value.some((state) => !STATES.has(state))) {
      this.fail(`states must be an array of job states (${JOB_STATES.join(', ')})`);
    }
  }
}

class SqliteJobStore implements SqliteStorage {
  readonly #connection: Connection;
  readonly #close: () => void;
  readonly #options: ResolvedOptions;
  readonly #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(connection: Connection, close: () => void, options: ResolvedOptions) {
    this.#connection = connection;
    this.#close = close;
    this.#options = options;
  }

  /** Runs one operation as `operation`, mapping every failure to a `StorageError`. */
  async #run<T>(operation: string, mode: TxMode, op: () => Op<T>): Promise<T> {
    if (this.#closed) {
      throw new StorageError(operation, 'the store is closed', { code: 'ERR_STORAGE_CLOSED' });
    }
    const running = this.#connection.run(op(), mode);
    this.#pending.add(running);
    try {
      return await running;
    } catch (error) {
      if (error instanceof JobExistsError) throw error;
      throw toStorageError(operation, error);
    } finally {
      this.#pending.delete(running);
    }
  }

  async createJob(job: NewJob): Promise<JobRecord> {
    const check = new Check('createJob');
    check.object('job', job);
    check.string('job.id', job.id);
    check.json('job.spec', job.spec);
    check.timeOrNull('job.nextRunAt', job.nextRunAt);
    check.time('job.now', job.now);
    return this.#run('createJob', 'write', () => ops.createJob(job));
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    new Check('getJob').string('id', id);
    return this.#run('getJob', 'single', () => ops.getJob(id));
  }

  async queryJobs(query: JobQuery = {}): Promise<JobRecord[]> {
    const check = new Check('queryJobs');
    check.object('query', query);
    if (
      query.ids !== undefined &&
      (!Array.isArray(query.ids) || query.ids.some((id) => typeof id !== 'string'))
    ) {
      check.fail('query.ids must be an array of strings');
    }
    check.states(query.states);
    check.optionalNumber('query.offset', query.offset);
    check.optionalNumber('query.limit', query.limit);
    return this.#run('queryJobs', 'single', () => ops.queryJobs(query));
  }

  async countJobs(states?: readonly JobState[]): Promise<number> {
    new Check('countJobs').states(states);
    return this.#run('countJobs', 'single', () => ops.countJobs(states));
  }

  async jobIds(states?: readonly JobState[]): Promise<string[]> {
    new Check('jobIds').states(states);
    return this.#run('jobIds', 'single', () => ops.jobIds(states));
  }

  async endJob(id: string, state: TerminalJobState, now: number): Promise<JobRecord | undefined> {
    const check = new Check('endJob');
    check.string('id', id);
    if (!TERMINAL.has(state)) check.fail(`state must be one of ${TERMINAL_JOB_STATES.join(', ')}`);
    check.time('now', now);
    return this.#run('endJob', 'write', () => ops.endJob(id, state, now));
  }

  async dueJobs(now: number, limit: number): Promise<JobRecord[]> {
    const check = new Check('dueJobs');
    check.time('now', now);
    check.number('limit', limit);
    return this.#run('dueJobs', 'single', () => ops.dueJobs(now, limit));
  }

  async nextDueAt(): Promise<number | null> {
    return this.#run('nextDueAt', 'single', () => ops.nextDueAt());
  }

  async claimOccurrence(claim: OccurrenceClaim): Promise<ClaimResult | null> {
    const check = new Check('claimOccurrence');
    check.object('claim', claim);
    check.string('claim.jobId', claim.jobId);
    check.time('claim.expectedNextRunAt', claim.expectedNextRunAt);
    check.timeOrNull('claim.nextRunAt', claim.nextRunAt);
    check.time('claim.now', claim.now);
    check.optionalNumber('claim.historyLimit', claim.historyLimit);
    const entries: Array<{ scheduledAt: unknown; occurrenceId: unknown }> = [];
    if (claim.skipped !== undefined) {
      if (!Array.isArray(claim.skipped)) check.fail('claim.skipped must be an array');
      for (const [i, entry] of claim.skipped.entries()) {
        check.object(`claim.skipped[${i}]`, entry);
        check.string(`claim.skipped[${i}].reason`, entry.reason);
        entries.push(entry);
      }
    }
    if (claim.run !== undefined) {
      check.object('claim.run', claim.run);
      check.string('claim.run.owner', claim.run.owner);
      check.time('claim.run.leaseUntil', claim.run.leaseUntil);
      entries.push(claim.run);
    }
    for (const entry of entries) {
      check.time('scheduledAt', entry.scheduledAt);
      check.string('occurrenceId', entry.occurrenceId);
    }
    if (
      new Set(entries.map((e) => e.scheduledAt)).size !== entries.length ||
      new Set(entries.map((e) => e.occurrenceId)).size !== entries.length
    ) {
      check.fail('a claim must not repeat a scheduledAt or an occurrenceId');
    }
    return this.#run('claimOccurrence', 'write', () => ops.claimOccurrence(claim, this.#options));
  }

  async renewLease(lease: RunLease, leaseUntil: number): Promise<boolean> {
    const check = new Check('renewLease');
    checkLease(check, lease);
    check.time('leaseUntil', leaseUntil);
    // One UPDATE: atomic on its own.
    return this.#run('renewLease', 'single', () => ops.renewLease(lease, leaseUntil));
  }

  async completeRun(completion: RunCompletion): Promise<boolean> {
    const check = new Check('completeRun');
    checkLease(check, completion);
    if (!['succeeded', 'failed', 'canceled', 'abandoned'].includes(completion.status)) {
      check.fail('completion.status must be succeeded, failed, canceled or abandoned');
    }
    check.time('completion.finishedAt', completion.finishedAt);
    if (completion.result !== null) check.json('completion.result', completion.result);
    if (completion.reason !== undefined) check.string('completion.reason', completion.reason);
    check.optionalNumber('completion.historyLimit', completion.historyLimit);
    return this.#run('completeRun', 'write', () => ops.completeRun(completion, this.#options));
  }

  async claimExpiredRuns(
    claim: ExpiredRunsClaim,
  ): Promise<Array<{ job: JobRecord; run: RunRecord }>> {
    const check = new Check('claimExpiredRuns');
    check.object('claim', claim);
    check.string('claim.owner', claim.owner);
    check.time('claim.now', claim.now);
    check.time('claim.leaseUntil', claim.leaseUntil);
    check.number('claim.limit', claim.limit);
    return this.#run('claimExpiredRuns', 'write', () => ops.claimExpiredRuns(claim));
  }

  async getRun(occurrenceId: string): Promise<RunRecord | undefined> {
    new Check('getRun').string('occurrenceId', occurrenceId);
    return this.#run('getRun', 'single', () => ops.getRun(occurrenceId));
  }

  async history(jobId: string, query: HistoryQuery = {}): Promise<RunRecord[] | undefined> {
    const check = new Check('history');
    check.string('jobId', jobId);
    check.object('query', query);
    check.optionalNumber('query.fromSequence', query.fromSequence);
    check.optionalNumber('query.limit', query.limit);
    return this.#run('history', 'read', () => ops.history(jobId, query));
  }

  async runningRuns(jobId?: string): Promise<RunRecord[]> {
    if (jobId !== undefined) new Check('runningRuns').string('jobId', jobId);
    return this.#run('runningRuns', 'single', () => ops.runningRuns(jobId));
  }

  async pruneHistory(retention?: HistoryRetention): Promise<number> {
    const check = new Check('pruneHistory');
    let applied: HistoryRetention;
    if (retention === undefined) {
      const { historyMaxAge, historyMaxRowsPerJob } = this.#options;
      applied = {
        ...(Number.isFinite(historyMaxAge) ? { maxAge: historyMaxAge } : {}),
        ...(Number.isFinite(historyMaxRowsPerJob) ? { maxRowsPerJob: historyMaxRowsPerJob } : {}),
        now: this.#options.now(),
      };
    } else {
      check.object('retention', retention);
      check.optionalNumber('retention.maxAge', retention.maxAge);
      check.optionalNumber('retention.maxRowsPerJob', retention.maxRowsPerJob);
      applied = retention;
    }
    check.time('retention.now', applied.now);
    return this.#run('pruneHistory', 'write', () => ops.pruneHistory(applied));
  }

  async pruneJobs(retention?: JobRetention): Promise<number> {
    const check = new Check('pruneJobs');
    let finishedBefore: number;
    if (retention === undefined) {
      // Nothing configured: a cutoff before every job, so the call still checks the database.
      finishedBefore = Number.isFinite(this.#options.jobRetention)
        ? this.#options.now() - this.#options.jobRetention
        : Number.NEGATIVE_INFINITY;
    } else {
      check.object('retention', retention);
      finishedBefore = retention.finishedBefore;
    }
    check.number('retention.finishedBefore', finishedBefore);
    return this.#run('pruneJobs', 'write', () => ops.pruneJobs({ finishedBefore }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Operations already started finish first (their results are still delivered).
    await Promise.allSettled([...this.#pending]);
    try {
      this.#close();
    } catch (error) {
      throw toStorageError('close', error);
    }
  }
}

function checkLease(check: Check, lease: RunLease): void {
  check.object('lease', lease);
  check.string('occurrenceId', lease.occurrenceId);
  check.string('owner', lease.owner);
  check.number('fence', lease.fence);
}
