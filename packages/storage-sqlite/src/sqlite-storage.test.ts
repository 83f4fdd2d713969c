import { existsSync, writeFileSync } from 'node:fs';
import { JobExistsError, StorageError } from '@again/storage';
import Database from 'better-sqlite3';
import { CamelCasePlugin, Kysely, SqliteDialect } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLITE_STORAGE_DEFAULTS, type SqliteStorageOptions } from './options.js';
import { createSqliteStorage } from './sqlite-storage.js';
import { newJob, runTimes, sequences, start, T0 } from './test-utils/jobs.js';
import { createTempDir } from './test-utils/temp-dir.js';

const dir = createTempDir();
afterAll(() => dir.remove());

async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('expected a rejection');
}

/** Opens a second, raw connection on a store's file, closed after `fn`. */
function withRaw<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('createSqliteStorage: options', () => {
  it.each<[string, unknown]>([
    ['an empty path', ''],
    ['a blank path', '   '],
    ['no options', undefined],
    ['a number', 42],
    ['no database', {}],
    ['a database of the wrong kind', { database: { query: () => 1 } }],
    ['a negative busyTimeout', { database: ':memory:', busyTimeout: -1 }],
    ['a fractional busyTimeout', { database: ':memory:', busyTimeout: 1.5 }],
    ['a busyTimeout beyond a C int', { database: ':memory:', busyTimeout: 2 ** 31 }],
    ['an infinite busyTimeout', { database: ':memory:', busyTimeout: Number.POSITIVE_INFINITY }],
    ['an unknown synchronous', { database: ':memory:', synchronous: 'off' }],
    ['a zero defaultHistoryLimit', { database: ':memory:', defaultHistoryLimit: 0 }],
    ['a NaN historyMaxAge', { database: ':memory:', historyMaxAge: Number.NaN }],
    ['a zero historyMaxRowsPerJob', { database: ':memory:', historyMaxRowsPerJob: 0 }],
    ['a string jobRetention', { database: ':memory:', jobRetention: '1d' }],
    ['a now that is not a function', { database: ':memory:', now: 5 }],
  ])('rejects %s with ERR_STORAGE_INVALID_ARGUMENT', async (_, options) => {
    const error = await rejection(createSqliteStorage(options as SqliteStorageOptions));
    expect(error.code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
    expect(error.operation).toBe('createSqliteStorage');
  });

  it('has documented defaults', () => {
    expect(SQLITE_STORAGE_DEFAULTS).toMatchObject({
      busyTimeout: 5000,
      synchronous: 'full',
      defaultHistoryLimit: 20,
      historyMaxAge: Number.POSITIVE_INFINITY,
      historyMaxRowsPerJob: Number.POSITIVE_INFINITY,
      jobRetention: Number.POSITIVE_INFINITY,
    });
    expect(Object.isFrozen(SQLITE_STORAGE_DEFAULTS)).toBe(true);
  });
});

describe('createSqliteStorage: setup', () => {
  it('creates the schema with WAL, its own migration table and the claim/history indexes', async () => {
    const file = dir.file();
    const store = await createSqliteStorage(file);
    await store.close();
    withRaw(file, (db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const names = (type: string) =>
        (
          db
            .prepare('select name from sqlite_master where type = ? order by name')
            .all(type) as Array<{ name: string }>
        ).map((row) => row.name);
      expect(names('table')).toEqual([
        'again_jobs',
        'again_migrations',
        'again_migrations_lock',
        'again_runs',
      ]);
      expect(names('index')).toEqual(
        expect.arrayContaining([
          'again_jobs_due_idx',
          'again_runs_finished_idx',
          'again_runs_job_sequence_idx',
          'again_runs_lease_idx',
        ]),
      );
      expect(db.prepare('select name from again_migrations').all()).toEqual([
        { name: '0001_initial' },
      ]);
      const columns = (index: string) =>
        (db.pragma(`index_info(${index})`) as Array<{ name: string }>).map((c) => c.name);
      expect(columns('again_jobs_due_idx')).toEqual(['state', 'next_run_at']);
      expect(columns('again_runs_job_sequence_idx')).toEqual(['job_id', 'sequence']);
      expect(columns('again_runs_finished_idx')).toEqual(['finished_at']);
    });
  });

  it('due-time claims and history reads use the indexes', async () => {
    const file = dir.file();
    await (await createSqliteStorage(file)).close();
    withRaw(file, (db) => {
      const plan = (query: string) =>
        (db.prepare(`explain query plan ${query}`).all() as Array<{ detail: string }>)
          .map((row) => row.detail)
          .join('; ');
      expect(
        plan(
          "select * from again_jobs where state in ('scheduled', 'running') and next_run_at <= 5",
        ),
      ).toContain('again_jobs_due_idx');
      expect(
        plan(
          "select * from again_runs where job_id = 'a' and status != 'running' order by sequence",
        ),
      ).toContain('again_runs_job_sequence_idx');
      expect(plan('delete from again_runs where finished_at < 5')).toContain(
        'again_runs_finished_idx',
      );
      expect(
        plan("select * from again_runs where status = 'running' and lease_until < 5"),
      ).toContain('again_runs_lease_idx');
    });
  });

  it('applies the busy timeout and synchronous options to the connection', async () => {
    const database = new Database(dir.file());
    const store = await createSqliteStorage({ database, busyTimeout: 1234, synchronous: 'normal' });
    expect(database.pragma('busy_timeout', { simple: true })).toBe(1234);
    expect(database.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    await store.close();
    // A database the user passed stays open.
    expect(database.open).toBe(true);
    database.close();
  });

  it('reopening a migrated file does not migrate again', async () => {
    const file = dir.file();
    await (await createSqliteStorage(file)).close();
    const applied = () =>
      withRaw(file, (db) => db.prepare('select name, timestamp from again_migrations').all());
    const before = applied();
    await (await createSqliteStorage(file)).close();
    expect(applied()).toEqual(before);
  });

  it('stores created concurrently on a fresh file in one process all open (one migration)', async () => {
    const file = dir.file();
    const stores = await Promise.all(Array.from({ length: 4 }, () => createSqliteStorage(file)));
    await stores[0]?.createJob(newJob('a'));
    for (const store of stores) expect(await store.countJobs()).toBe(1);
    await Promise.all(stores.map((store) => store.close()));
    withRaw(file, (db) =>
      expect(db.prepare('select count(*) as n from again_migrations').get()).toEqual({ n: 1 }),
    );
  });

  it('closes a database it opened from a path (the WAL is checkpointed away)', async () => {
    const file = dir.file();
    const store = await createSqliteStorage(file);
    await store.createJob(newJob('a'));
    expect(existsSync(`${file}-wal`)).toBe(true);
    await store.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    await store.close(); // idempotent
  });

  it("opens ':memory:' (no WAL there, nothing to share)", async () => {
    const store = await createSqliteStorage(':memory:');
    await store.createJob(newJob('a'));
    await runTimes(store, 'a', 2);
    expect(sequences(await store.history('a'))).toEqual([1, 2]);
    await store.close();
  });

  it('runs on a Kysely instance with plugins and leaves it open', async () => {
    const kysely = new Kysely<unknown>({
      dialect: new SqliteDialect({ database: new Database(dir.file()) }),
      plugins: [new CamelCasePlugin()],
    });
    const store = await createSqliteStorage({ database: kysely });
    await store.createJob(newJob('a'));
    await runTimes(store, 'a', 2);
    expect(await store.getJob('a')).toMatchObject({ runs: 2, activeRuns: 0, nextRunAt: T0 + 3000 });
    await store.close();
    // Still usable by its owner.
    const rows = await kysely
      .withoutPlugins()
      .selectFrom('again_jobs' as never)
      .selectAll()
      .execute();
    expect(rows).toHaveLength(1);
    await kysely.destroy();
  });

  it('reads integers from a database with safeIntegers on', async () => {
    const database = new Database(dir.file());
    database.defaultSafeIntegers(true);
    const store = await createSqliteStorage({ database });
    await store.createJob(newJob('a'));
    await runTimes(store, 'a', 1);
    const job = await store.getJob('a');
    expect(job).toMatchObject({ nextRunAt: T0 + 2000, runs: 1, fence: 1, sequence: 1 });
    expect(typeof job?.nextRunAt).toBe('number');
    expect(await store.nextDueAt()).toBe(T0 + 2000);
    expect(await store.countJobs()).toBe(1);
    await store.close();
    database.close();
  });

  it('accepts a file path as the only argument and keeps everything across a reopen', async () => {
    const file = dir.file();
    const first = await createSqliteStorage(file);
    await first.createJob(newJob('a'));
    await runTimes(first, 'a', 3);
    const running = await start(first, 'a', { owner: 'gone' });
    await first.close();

    const second = await createSqliteStorage(file);
    const job = await second.getJob('a');
    expect(job).toMatchObject({
      state: 'running',
      runs: 3,
      started: 4,
      activeRuns: 1,
      sequence: 4,
      nextRunAt: T0 + 5000,
      spec: { kind: 'test', id: 'a' },
    });
    expect(job?.lastRun).toMatchObject({
      sequence: 3,
      status: 'succeeded',
      result: { sequence: 3 },
    });
    expect(sequences(await second.history('a'))).toEqual([1, 2, 3]);
    expect(await second.runningRuns()).toEqual([running]);
    await second.close();
  });
});

describe('retention options', () => {
  it('historyMaxRowsPerJob caps the history limit of every write', async () => {
    const store = await createSqliteStorage({ database: dir.file(), historyMaxRowsPerJob: 2 });
    await store.createJob(newJob('a'));
    await runTimes(store, 'a', 4, { historyLimit: 4 });
    expect(sequences(await store.history('a'))).toEqual([3, 4]);
    expect(await store.getJob('a')).toMatchObject({ runs: 4 });
    await store.close();
  });

  it('historyMaxAge deletes old entries of the job on write', async () => {
    const store = await createSqliteStorage({ database: dir.file(), historyMaxAge: 3_600_000 });
    await store.createJob(newJob('a'));
    // Run 1 finishes 2 h before run 2: writing run 2 drops it.
    let i = 0;
    await runTimes(store, 'a', 2, {
      finishedAt: (run) => run.scheduledAt + (i++ === 0 ? -7_200_000 : 10),
    });
    expect(sequences(await store.history('a'))).toEqual([2]);
    await store.close();
  });

  it('defaultHistoryLimit applies when a call passes none', async () => {
    const store = await createSqliteStorage({ database: dir.file(), defaultHistoryLimit: 3 });
    await store.createJob(newJob('a'));
    await runTimes(store, 'a', 5);
    expect(sequences(await store.history('a'))).toEqual([3, 4, 5]);
    await store.close();
  });

  it('pruneHistory() applies the configured retention at now()', async () => {
    const now = T0 + 10 * 3_600_000;
    const store = await createSqliteStorage({
      database: dir.file(),
      historyMaxAge: 90 * 60_000,
      historyMaxRowsPerJob: 2,
      defaultHistoryLimit: 10,
      now: () => now,
    });
    // 3 jobs x 4 runs finishing at now - 4 h, -3 h, -2 h, -1 h (the seed's pruning test).
    for (const id of ['a', 'b', 'c']) {
      await store.createJob(newJob(id));
      let hoursAgo = 4;
      await runTimes(store, id, 4, {
        historyLimit: 10,
        finishedAt: () => now - hoursAgo-- * 3_600_000,
      });
    }
    // Written with the age bound applied per write at each finish time, so all 4 runs are kept
    // (each is within 90 min of the next), but the row cap of 2 applied on write:
    for (const id of ['a', 'b', 'c']) expect(sequences(await store.history(id))).toEqual([3, 4]);
    // Now, at `now`, the age pass deletes run 3 (2 h old) of every job; run 4 (1 h) stays.
    expect(await store.pruneHistory()).toBe(3);
    for (const id of ['a', 'b', 'c']) expect(sequences(await store.history(id))).toEqual([4]);
    await store.close();
  });

  it('pruneHistory() without configured retention deletes nothing', async () => {
    const store = await createSqliteStorage(dir.file());
    await store.createJob(newJob('a'));
    await runTimes(store, 'a', 3);
    expect(await store.pruneHistory()).toBe(0);
    expect(sequences(await store.history('a'))).toEqual([1, 2, 3]);
    await store.close();
  });

  it('pruneJobs() deletes terminal jobs older than jobRetention, with their ledger', async () => {
    let now = T0;
    const store = await createSqliteStorage({
      database: dir.file(),
      jobRetention: 60_000,
      now: () => now,
    });
    for (const id of ['done', 'live', 'fresh']) await store.createJob(newJob(id));
    await runTimes(store, 'done', 2);
    await store.endJob('done', 'completed', T0 + 5000);
    await store.endJob('fresh', 'removed', T0 + 100_000);
    now = T0 + 100_000;
    expect(await store.pruneJobs()).toBe(1);
    expect(await store.jobIds()).toEqual(['fresh', 'live']);
    expect(await store.getRun('done@1700000001000')).toBeUndefined();
    await store.close();
  });

  it('pruneJobs() without jobRetention deletes nothing', async () => {
    const store = await createSqliteStorage(dir.file());
    await store.createJob(newJob('a'));
    await store.endJob('a', 'removed', T0);
    expect(await store.pruneJobs()).toBe(0);
    expect(await store.countJobs()).toBe(1);
    await store.close();
  });
});

describe('failures are typed and never swallowed', () => {
  it('a file that is not a database: ERR_STORAGE_CORRUPT with SQLITE_NOTADB as cause', async () => {
    const file = dir.file();
    writeFileSync(file, Buffer.alloc(8192, 7));
    const error = await rejection(createSqliteStorage(file));
    expect(error.code).toBe('ERR_STORAGE_CORRUPT');
    expect(error.operation).toBe('createSqliteStorage');
    expect((error.cause as { code?: string }).code).toBe('SQLITE_NOTADB');
  });

  it('a path in a missing directory: ERR_STORAGE with the driver error as cause', async () => {
    const error = await rejection(createSqliteStorage(`${dir.path}/missing/dir/jobs.db`));
    expect(error.code).toBe('ERR_STORAGE');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('an undecodable row: ERR_STORAGE_CORRUPT on every read that meets it', async () => {
    const file = dir.file();
    const store = await createSqliteStorage(file);
    await store.createJob(newJob('a'));
    await store.createJob(newJob('b'));
    withRaw(file, (db) => db.prepare("update again_jobs set spec = '{oops' where id = 'b'").run());
    expect(await store.getJob('a')).toMatchObject({ id: 'a' });
    for (const read of [store.getJob('b'), store.queryJobs(), store.dueJobs(T0 + 1000, 10)]) {
      const error = await rejection(read);
      expect(error.code).toBe('ERR_STORAGE_CORRUPT');
    }
    await store.close();
  });

  it('a read-only database: reads work, writes reject with SQLITE_READONLY as cause', async () => {
    const file = dir.file();
    const writer = await createSqliteStorage(file);
    await writer.createJob(newJob('a'));
    await writer.close();
    const database = new Database(file, { readonly: true });
    const store = await createSqliteStorage({ database });
    expect(await store.jobIds()).toEqual(['a']);
    const error = await rejection(store.createJob(newJob('b')));
    expect(error).toMatchObject({ code: 'ERR_STORAGE', operation: 'createJob' });
    expect((error.cause as { code?: string }).code).toBe('SQLITE_READONLY');
    const ended = await rejection(store.endJob('a', 'removed', T0));
    expect((ended.cause as { code?: string }).code).toBe('SQLITE_READONLY');
    await store.close();
    database.close();
  });

  it('a dropped table: the operations that need it reject, and a failed claim writes nothing', async () => {
    const file = dir.file();
    const store = await createSqliteStorage(file);
    await store.createJob(newJob('a'));
    withRaw(file, (db) => db.exec('drop table again_runs'));
    for (const [operation, call] of [
      ['history', () => store.history('a')],
      ['getRun', () => store.getRun('a@1')],
      ['runningRuns', () => store.runningRuns()],
      ['claimOccurrence', () => start(store, 'a')],
      ['pruneJobs', () => store.pruneJobs({ finishedBefore: T0 })],
    ] as const) {
      const error = await rejection(call());
      expect(error).toMatchObject({ code: 'ERR_STORAGE', operation });
      expect((error.cause as { code?: string }).code).toBe('SQLITE_ERROR');
    }
    // The claim rolled back: the job did not move.
    expect(await store.getJob('a')).toMatchObject({
      nextRunAt: T0 + 1000,
      fence: 0,
      state: 'scheduled',
    });
    await store.close();
  });

  it('a database closed underneath the store: every call rejects with the driver error', async () => {
    const database = new Database(dir.file());
    const store = await createSqliteStorage({ database });
    await store.createJob(newJob('a'));
    database.close();
    for (const call of [
      () => store.getJob('a'),
      () => start(store, 'a'),
      () => store.countJobs(),
    ]) {
      const error = await rejection(call());
      expect(error.code).toBe('ERR_STORAGE');
      expect(error.cause).toBeInstanceOf(TypeError);
    }
  });

  it('SQLITE_BUSY with busyTimeout 0 while another connection holds the write lock', async () => {
    const file = dir.file();
    const store = await createSqliteStorage({ database: file, busyTimeout: 0 });
    await store.createJob(newJob('a'));
    const other = new Database(file);
    other.exec('begin immediate');
    try {
      const error = await rejection(start(store, 'a'));
      expect(error).toMatchObject({ code: 'ERR_STORAGE', operation: 'claimOccurrence' });
      expect((error.cause as { code?: string }).code).toBe('SQLITE_BUSY');
      const created = await rejection(store.createJob(newJob('b')));
      expect((created.cause as { code?: string }).code).toBe('SQLITE_BUSY');
      // WAL: reads are not blocked by a writer.
      expect(await store.getJob('a')).toMatchObject({ nextRunAt: T0 + 1000, fence: 0 });
    } finally {
      other.exec('rollback');
      other.close();
    }
    // Once the lock is gone the same call succeeds.
    expect((await start(store, 'a')).sequence).toBe(1);
    await store.close();
  });

  it('migrating takes the write lock up front: SQLITE_BUSY with busyTimeout 0, nothing created', async () => {
    const file = dir.file();
    const other = new Database(file);
    other.pragma('journal_mode = wal');
    other.exec('begin immediate');
    try {
      const error = await rejection(createSqliteStorage({ database: file, busyTimeout: 0 }));
      expect(error.code).toBe('ERR_STORAGE');
      expect((error.cause as { code?: string }).code).toBe('SQLITE_BUSY');
    } finally {
      other.exec('rollback');
    }
    expect(other.prepare("select name from sqlite_master where type = 'table'").all()).toEqual([]);
    other.close();
  });

  it('rejects invalid arguments with ERR_STORAGE_INVALID_ARGUMENT and writes nothing', async () => {
    const store = await createSqliteStorage(dir.file());
    await store.createJob(newJob('a'));
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['createJob', () => store.createJob({ ...newJob('b'), nextRunAt: Number.NaN })],
      ['createJob', () => store.createJob({ ...newJob('b'), spec: { n: 1n } as never })],
      ['createJob', () => store.createJob({ ...newJob('b'), spec: [] as never })],
      ['createJob', () => store.createJob({ ...newJob('b'), id: 7 as never })],
      ['queryJobs', () => store.queryJobs({ states: ['done' as never] })],
      ['endJob', () => store.endJob('a', 'running' as never, T0)],
      ['dueJobs', () => store.dueJobs(Number.NaN, 10)],
      [
        'claimOccurrence',
        () =>
          store.claimOccurrence({
            jobId: 'a',
            expectedNextRunAt: T0 + 1000,
            nextRunAt: Number.POSITIVE_INFINITY,
            now: T0,
          }),
      ],
      [
        'claimOccurrence',
        () =>
          store.claimOccurrence({
            jobId: 'a',
            expectedNextRunAt: T0 + 1000,
            nextRunAt: T0 + 2000,
            skipped: [{ scheduledAt: T0 + 1000, occurrenceId: 'x', reason: 'missed' }],
            run: { scheduledAt: T0 + 1000, occurrenceId: 'y', owner: 'o', leaseUntil: T0 + 5000 },
            now: T0,
          }),
      ],
      [
        'completeRun',
        () =>
          store.completeRun({
            occurrenceId: 'a@1',
            owner: 'o',
            fence: 1,
            status: 'running' as never,
            finishedAt: T0,
            result: null,
          }),
      ],
      [
        'renewLease',
        () => store.renewLease({ occurrenceId: 'a@1', owner: 'o', fence: 1 }, Number.NaN),
      ],
      ['pruneHistory', () => store.pruneHistory({ now: Number.NaN, maxAge: 1 })],
    ];
    for (const [operation, call] of calls) {
      const error = await rejection(call());
      expect(error).toMatchObject({ code: 'ERR_STORAGE_INVALID_ARGUMENT', operation });
    }
    expect(await store.jobIds()).toEqual(['a']);
    expect(await store.getJob('a')).toMatchObject({ nextRunAt: T0 + 1000, fence: 0, sequence: 0 });
    await store.close();
  });

  it('a duplicate id is a JobExistsError, not a StorageError', async () => {
    const store = await createSqliteStorage(dir.file());
    await store.createJob(newJob('a'));
    const error = await store.createJob(newJob('a')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobExistsError);
    expect(error).toMatchObject({ code: 'ERR_JOB_EXISTS', jobId: 'a' });
    await store.close();
  });

  it('after close(), calls reject with ERR_STORAGE_CLOSED; close() waits for calls in flight', async () => {
    const kysely = new Kysely<unknown>({
      dialect: new SqliteDialect({ database: new Database(dir.file()) }),
    });
    const store = await createSqliteStorage({ database: kysely });
    const inFlight = store.createJob(newJob('a'));
    await store.close();
    expect(await inFlight).toMatchObject({ id: 'a' });
    const error = await rejection(store.getJob('a'));
    expect(error.code).toBe('ERR_STORAGE_CLOSED');
    await kysely.destroy();
  });
});
