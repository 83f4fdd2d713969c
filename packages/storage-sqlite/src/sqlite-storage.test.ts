import { existsSync, writeFileSync } from 'node:fs';
import { JobExistsError, StorageError } from '@again/storage';
import { createTempDir } from '@again/test-utils';
import Database from 'better-sqlite3';
import { CamelCasePlugin, Kysely, Migrator, SqliteDialect } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLITE_STORAGE_DEFAULTS, type SqliteStorageOptions } from './options.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, migrationProvider } from './schema.js';
import { BUSY_SLICE, createSqliteStorage } from './sqlite-storage.js';
import {
  complete,
  intervalPlan,
  newJob,
  runTimes,
  sequences,
  start,
  T0,
} from './test-utils/jobs.js';

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

const ALL_MIGRATIONS = [
  { name: '0001_initial' },
  { name: '0002_batched_claims' },
  { name: '0003_operate_in_place' },
];

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
    ['a misspelt option', { database: ':memory:', busyTimeOut: 10 }],
    // The first release's options of the argument-less prunes, gone with them: refused, not ignored.
    ['jobRetention', { database: ':memory:', jobRetention: 60_000 }],
    ['now', { database: ':memory:', now: () => 0 }],
  ])('rejects %s with ERR_STORAGE_INVALID_ARGUMENT', async (_, options) => {
    const error = await rejection(createSqliteStorage(options as SqliteStorageOptions));
    expect(error.code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
    expect(error.operation).toBe('createSqliteStorage');
  });

  it('names every unknown option', async () => {
    const error = await rejection(
      createSqliteStorage({ database: ':memory:', a: 1, b: 2 } as SqliteStorageOptions),
    );
    expect(error.message).toContain('unknown options: a, b');
  });

  it('has documented defaults', () => {
    expect(SQLITE_STORAGE_DEFAULTS).toEqual({
      busyTimeout: 5000,
      synchronous: 'full',
      defaultHistoryLimit: 20,
      historyMaxAge: Number.POSITIVE_INFINITY,
      historyMaxRowsPerJob: Number.POSITIVE_INFINITY,
    });
    expect(Object.isFrozen(SQLITE_STORAGE_DEFAULTS)).toBe(true);
  });
});

describe('createSqliteStorage: setup', () => {
  it('is a JobStore shared across processes, without notifications or a clock of its own', async () => {
    const store = await createSqliteStorage(dir.file());
    expect(store.capabilities).toEqual({ shared: true, notifies: false, clock: false });
    expect(store.subscribe).toBeUndefined();
    // The prunes take their retention from the caller: the argument-less forms are gone.
    const prune = store.pruneHistory as () => Promise<number>;
    expect((await rejection(prune())).code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
    await store.close();
  });

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
          'again_jobs_due_order_idx',
          'again_runs_finished_idx',
          'again_runs_history_idx',
          'again_runs_job_sequence_idx',
          'again_runs_lease_idx',
          'again_runs_occurrence_uq',
        ]),
      );
      // The occurrence identity is an index over scheduled entries (no table constraint left).
      expect(
        names('index').filter((name) => /^sqlite_autoindex_again_(jobs|runs)_/.test(name)),
      ).toEqual(['sqlite_autoindex_again_jobs_1', 'sqlite_autoindex_again_runs_1']);
      expect(names('index')).not.toContain('again_jobs_due_idx');
      expect(db.prepare('select name from again_migrations order by name').all()).toEqual(
        ALL_MIGRATIONS,
      );
      const columns = (index: string) =>
        (db.pragma(`index_info(${index})`) as Array<{ name: string }>).map((c) => c.name);
      expect(columns('again_jobs_due_order_idx')).toEqual(['next_run_at', 'id']);
      expect(columns('again_runs_job_sequence_idx')).toEqual(['job_id', 'sequence']);
      expect(columns('again_runs_finished_idx')).toEqual(['finished_at']);
      expect(columns('again_runs_history_idx')).toEqual(['job_id', 'sequence']);
      // The partial ones, by their conditions (what the queries' literals must imply).
      const partial = (index: string) =>
        String(
          (db.prepare('select sql from sqlite_master where name = ?').get(index) as { sql: string })
            .sql,
        ).replace(/^.* where /i, '');
      expect(partial('again_jobs_due_order_idx')).toBe(`state in ('scheduled', 'running')`);
      expect(partial('again_runs_finished_idx')).toBe('finished_at is not null');
      expect(partial('again_runs_history_idx')).toBe(`status != 'running'`);
      expect(partial('again_runs_lease_idx')).toBe(`"status" = 'running'`);
      expect(columns('again_runs_occurrence_uq')).toEqual(['job_id', 'scheduled_at']);
      expect(partial('again_runs_occurrence_uq')).toBe('triggered = 0');
    });
  });

  it('the statements the store runs use the indexes: claims never sort the due jobs', async () => {
    // A Kysely instance with a log shows the exact SQL (and parameters) of every statement.
    const file = dir.file();
    const statements: Array<{ sql: string; parameters: readonly unknown[] }> = [];
    let logging = false;
    const kysely = new Kysely<unknown>({
      dialect: new SqliteDialect({ database: new Database(file) }),
      log: (event) => {
        if (logging) statements.push({ sql: event.query.sql, parameters: event.query.parameters });
      },
    });
    const store = await createSqliteStorage({ database: kysely });
    // The store's own statements, not the migrations'.
    logging = true;
    await store.createJob(newJob('a'));
    const run = await start(store, 'a', { skip: [-500] });
    await complete(store, run);
    await store.pauseJob('a', T0);
    await store.resumeJob('a', T0);
    await store.updateJob({
      id: 'a',
      expectedRevision: 0,
      spec: {},
      nextRunAt: T0 + 2000,
      now: T0,
    });
    const manual = await store.startRun({
      jobId: 'a',
      occurrenceId: 'a!manual',
      scheduledAt: T0 + 2000,
      owner: 'instance-a',
      leaseDuration: 1000,
      now: T0 + 1500,
    });
    await store.releaseLeases({
      owner: 'instance-a',
      leases: [{ occurrenceId: 'a!manual', fence: manual?.fence ?? 0 }],
      now: T0 + 1600,
    });
    await store.recordCallback({ occurrenceId: run.occurrenceId, callback: { status: 204 } });
    // A plan repeating a scheduled occurrence: the claim's conflict read runs.
    const conflict = await store.claimDue({
      owner: 'instance-a',
      now: T0 + 5000,
      limit: 10,
      leaseDuration: 1000,
      plan: (due) => ({
        run: { scheduledAt: run.scheduledAt, occurrenceId: 'a@again' },
        skipped: [],
        nextRunAt: due.nextRunAt + 1000,
      }),
    });
    expect(conflict.conflicts).toEqual(['a']);
    await store.nextDueAt();
    await store.history('a');
    await store.claimExpiredRuns({ owner: 'b', now: T0, leaseDuration: 1000, limit: 10 });
    await store.pruneHistory({ maxAge: 1000, now: T0 });
    await store.close();
    await kysely.destroy();
    const plans = withRaw(file, (db) =>
      statements
        .filter(({ sql }) => /^(select|update|delete|insert)/i.test(sql.trim()))
        .map(({ sql, parameters }) => ({
          sql,
          plan: (
            db.prepare(`explain query plan ${sql}`).all(...parameters) as Array<{
              detail: string;
            }>
          )
            .map((row) => row.detail)
            .join('; '),
        })),
    );
    if (process.env.SHOW_PLANS) console.log(plans);
    const planOf = (pattern: RegExp) => {
      const found = plans.filter(({ sql }) => pattern.test(sql));
      expect(found.length).toBeGreaterThan(0);
      return found.map(({ plan }) => plan).join(' | ');
    };
    const claim = planOf(/from "again_jobs" where state in .* order by "next_run_at"/);
    expect(claim).toContain('again_jobs_due_order_idx');
    expect(claim).not.toContain('TEMP B-TREE');
    expect(planOf(/min\("next_run_at"\)/)).toContain('again_jobs_due_order_idx');
    expect(planOf(/status = 'running' and "r"."lease_until" </)).toContain('again_runs_lease_idx');
    expect(planOf(/"job_id" = \? and status != 'running' order by "sequence"/)).toMatch(
      /again_runs_(history|job_sequence)_idx/,
    );
    // The history trim walks the finished entries of each job only (the partial index; its
    // condition is the query's, so SQLite never reads a row to check it).
    expect(planOf(/select e.value as job_id,/)).toContain(
      'SEARCH n USING INDEX again_runs_history_idx (job_id=?)',
    );
    expect(planOf(/delete from "again_runs" where "finished_at" </)).toContain(
      'again_runs_finished_idx',
    );
    // A claim's conflict read looks scheduled entries up by the occurrence identity's index.
    expect(planOf(/r.triggered = 0/)).toContain('again_runs_occurrence_uq');
    // Batched writes find their rows by key, never by scanning a table.
    for (const { sql, plan } of plans) {
      if (/json_each/.test(sql))
        expect(plan, sql).not.toMatch(/SCAN (again_jobs|again_runs|r|n)\b/);
    }
  });

  it('upgrades a file of the first release (0001 only): data kept, 0002 applied', async () => {
    const file = dir.file();
    const database = new Database(file);
    database.pragma('journal_mode = wal');
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
    const migrator = new Migrator({
      db: kysely,
      provider: migrationProvider,
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
    });
    expect((await migrator.migrateTo('0001_initial')).error).toBeUndefined();
    // A job and a finished run as the first release wrote them (last_run as a row copy).
    const lastRun = {
      occurrence_id: `old@${T0}`,
      job_id: 'old',
      scheduled_at: T0,
      sequence: 1,
      fence: 1,
      status: 'succeeded',
      owner: 'v1',
      lease_until: null,
      started_at: T0,
      finished_at: T0 + 5,
      reason: null,
      result: '{"status":200}',
    };
    database
      .prepare(
        `insert into again_jobs (id, spec, state, next_run_at, fence, sequence, started, runs,
           active_runs, created_at, updated_at, last_run)
         values ('old', '{"every":1000}', 'scheduled', ?, 1, 1, 1, 1, 0, ?, ?, ?)`,
      )
      .run(T0 + 1000, T0, T0 + 5, JSON.stringify(lastRun));
    database
      .prepare(
        `insert into again_runs values (@occurrence_id, @job_id, @scheduled_at, @sequence,
           @fence, @status, @owner, @lease_until, @started_at, @finished_at, @reason, @result)`,
      )
      .run(lastRun);
    await kysely.destroy();

    const store = await createSqliteStorage(file);
    expect(await store.getJob('old')).toMatchObject({
      spec: { every: 1000 },
      nextRunAt: T0 + 1000,
      runs: 1,
      lastRun: { occurrenceId: `old@${T0}`, result: { status: 200 }, owner: 'v1' },
    });
    expect(await store.nextDueAt()).toBe(T0 + 1000);
    const run = await start(store, 'old');
    expect(run).toMatchObject({ sequence: 2, fence: 2, scheduledAt: T0 + 1000 });
    await store.close();
    withRaw(file, (db) => {
      expect(db.prepare('select name from again_migrations order by name').all()).toEqual(
        ALL_MIGRATIONS,
      );
    });
  });

  it('upgrades a file at 0002 with data in it: rows, leases and last runs kept, 0003 applied', async () => {
    const file = dir.file();
    const database = new Database(file);
    database.pragma('journal_mode = wal');
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
    const migrator = new Migrator({
      db: kysely,
      provider: migrationProvider,
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
    });
    expect((await migrator.migrateTo('0002_batched_claims')).error).toBeUndefined();
    // As the 0002 release wrote them: a finished run (also the job's last_run copy, with a result
    // holding escapes), a running one, a skipped one, and a second, completed job.
    const result = JSON.stringify({ s: '\u0000 é \ud800', n: [1, 2] });
    const finished = {
      occurrence_id: `old@${T0}`,
      job_id: 'old',
      scheduled_at: T0,
      sequence: 1,
      fence: 1,
      status: 'succeeded',
      owner: 'v2',
      lease_until: null,
      started_at: T0,
      finished_at: T0 + 5,
      reason: null,
      result,
    };
    const running = {
      ...finished,
      occurrence_id: `old@${T0 + 1000}`,
      scheduled_at: T0 + 1000,
      sequence: 3,
      fence: 3,
      status: 'running',
      lease_until: T0 + 61_000,
      started_at: T0 + 1000,
      finished_at: null,
      result: null,
    };
    const skipped = {
      ...finished,
      occurrence_id: `old@${T0 + 500}`,
      scheduled_at: T0 + 500,
      sequence: 2,
      fence: 3,
      status: 'skipped',
      owner: null,
      started_at: null,
      finished_at: T0 + 1000,
      reason: 'missed',
      result: null,
    };
    const insertJob = database.prepare(
      `insert into again_jobs (id, spec, state, next_run_at, fence, sequence, started, runs,
         active_runs, created_at, updated_at, last_run) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    insertJob.run(
      'old',
      '{"every":1000}',
      'running',
      T0 + 2000,
      3,
      3,
      2,
      1,
      1,
      T0,
      T0 + 1000,
      JSON.stringify(finished),
    );
    insertJob.run('done', '{}', 'completed', null, 0, 0, 0, 0, 0, T0, T0, null);
    const insertRun = database.prepare(
      `insert into again_runs values (@occurrence_id, @job_id, @scheduled_at, @sequence,
         @fence, @status, @owner, @lease_until, @started_at, @finished_at, @reason, @result)`,
    );
    for (const row of [finished, skipped, running]) insertRun.run(row);
    await kysely.destroy();

    const store = await createSqliteStorage(file);
    const job = await store.getJob('old');
    expect(job).toMatchObject({
      spec: { every: 1000 },
      revision: 0,
      state: 'running',
      nextRunAt: T0 + 2000,
      fence: 3,
      sequence: 3,
      started: 2,
      runs: 1,
      activeRuns: 1,
      lastRun: { occurrenceId: `old@${T0}`, trigger: false, callback: null, owner: 'v2' },
    });
    expect(JSON.stringify(job?.lastRun?.result)).toBe(result);
    expect(await store.getJob('done')).toMatchObject({ state: 'completed', revision: 0 });
    const history = await store.history('old');
    expect(history?.map((run) => [run.sequence, run.status, run.trigger, run.callback])).toEqual([
      [1, 'succeeded', false, null],
      [2, 'skipped', false, null],
    ]);
    const [lease] = await store.runningRuns();
    expect(lease).toMatchObject({ occurrenceId: `old@${T0 + 1000}`, trigger: false, fence: 3 });

    // The new rules work on the old rows: the unique (job, time) holds for scheduled entries only.
    const conflict = await store.claimDue({
      owner: 'v3',
      now: T0 + 2000,
      limit: 10,
      leaseDuration: 1000,
      plan: (due) => ({
        run: { scheduledAt: T0, occurrenceId: 'old@again' },
        skipped: [],
        nextRunAt: due.nextRunAt,
      }),
    });
    expect(conflict.conflicts).toEqual(['old']);
    const triggered = await store.startRun({
      jobId: 'old',
      occurrenceId: 'old!manual',
      scheduledAt: T0,
      owner: 'v3',
      leaseDuration: 1000,
      now: T0 + 2001,
    });
    expect(triggered).toMatchObject({ sequence: 4, fence: 4, revision: 0 });
    expect(await store.pauseJob('old', T0 + 2002)).toMatchObject({ state: 'paused' });
    expect(
      await store.completeRuns([
        {
          occurrenceId: `old@${T0 + 1000}`,
          owner: 'v2',
          fence: 3,
          status: 'failed',
          finishedAt: T0 + 2003,
          result: null,
        },
      ]),
    ).toEqual([true]);
    expect(await store.recordCallback({ occurrenceId: `old@${T0}`, callback: { ok: 1 } })).toBe(
      true,
    );
    expect(await store.getJob('old')).toMatchObject({
      state: 'paused',
      activeRuns: 1,
      runs: 2,
      lastRun: { occurrenceId: `old@${T0 + 1000}`, status: 'failed', callback: null },
    });
    expect(
      await store.updateJob({
        id: 'old',
        expectedRevision: 0,
        spec: { every: 5 },
        nextRunAt: T0 + 9000,
        now: T0 + 2004,
      }),
    ).toMatchObject({ revision: 1, state: 'paused' });
    await store.close();
    withRaw(file, (db) => {
      expect(db.prepare('select name from again_migrations order by name').all()).toEqual(
        ALL_MIGRATIONS,
      );
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('select count(*) as n from again_runs').get()).toEqual({ n: 4 });
    });
  });

  it('0003 migrates down to the 0002 shape when the data fits it (paused jobs take their live state)', async () => {
    const file = dir.file();
    const store = await createSqliteStorage(file);
    await store.createJob(newJob('a'));
    await store.createJob(newJob('b'));
    const run = await start(store, 'a');
    await complete(store, run);
    await store.recordCallback({ occurrenceId: run.occurrenceId, callback: { ok: 1 } });
    await store.pauseJob('a', T0 + 2000);
    await store.startRun({
      jobId: 'b',
      occurrenceId: 'b!manual',
      scheduledAt: T0 + 5,
      owner: 'x',
      leaseDuration: 1000,
      now: T0 + 5,
    });
    await store.close();

    const kysely = new Kysely<unknown>({
      dialect: new SqliteDialect({ database: new Database(file) }),
    });
    const migrator = new Migrator({
      db: kysely,
      provider: migrationProvider,
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
    });
    expect((await migrator.migrateTo('0002_batched_claims')).error).toBeUndefined();
    await kysely.destroy();
    withRaw(file, (db) => {
      expect(db.prepare('select id, state from again_jobs order by id').all()).toEqual([
        { id: 'a', state: 'scheduled' },
        { id: 'b', state: 'running' },
      ]);
      const columns = (table: string) =>
        (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name);
      expect(columns('again_jobs')).not.toContain('revision');
      expect(columns('again_runs')).not.toContain('triggered');
      const lastRun = db.prepare(`select last_run from again_jobs where id = 'a'`).get() as {
        last_run: string;
      };
      expect(Object.keys(JSON.parse(lastRun.last_run))).not.toContain('callback');
      expect(() =>
        db
          .prepare(`insert into again_runs (occurrence_id, job_id, scheduled_at, sequence, fence,
            status) values ('b@dup', 'b', ?, 9, 9, 'skipped')`)
          .run(T0 + 5),
      ).toThrow(/UNIQUE/);
    });
    // And up again on open.
    const reopened = await createSqliteStorage(file);
    expect(await reopened.getJob('a')).toMatchObject({ state: 'scheduled', revision: 0 });
    expect((await reopened.getRun('b!manual'))?.trigger).toBe(false);
    await reopened.close();
  });

  it('applies the busy timeout and synchronous options to the connection', async () => {
    const database = new Database(dir.file());
    const store = await createSqliteStorage({ database, busyTimeout: 1234, synchronous: 'normal' });
    // SQLite itself waits on the thread only this long; the rest of the 1234 ms is waited for
    // asynchronously by the store.
    expect(database.pragma('busy_timeout', { simple: true })).toBe(BUSY_SLICE);
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
    const kysely = new Kysely<unknown>({
      dialect: new SqliteDialect({ database: new Database(file) }),
    });
    // Path stores and a Kysely-backed one: the migration's transaction spans awaits.
    const stores = await Promise.all([
      createSqliteStorage(file),
      createSqliteStorage({ database: kysely }),
      createSqliteStorage(file),
      createSqliteStorage(file),
    ]);
    await stores[0]?.createJob(newJob('a'));
    for (const store of stores) expect(await store.countJobs()).toBe(1);
    await Promise.all(stores.map((store) => store.close()));
    await kysely.destroy();
    withRaw(file, (db) =>
      expect(db.prepare('select count(*) as n from again_migrations').get()).toEqual({ n: 3 }),
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
    const run = await start(store, 'a');
    const [taken] = await store.claimExpiredRuns({
      owner: 'b',
      now: run.leaseUntil + 1,
      leaseDuration: 1000,
      limit: 1,
    });
    expect(taken?.run).toMatchObject({ fence: 3, owner: 'b', leaseUntil: run.leaseUntil + 1001 });
    expect(typeof taken?.run.leaseUntil).toBe('number');
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
    expect(await second.runningRuns()).toEqual([
      {
        jobId: 'a',
        scheduledAt: running.scheduledAt,
        occurrenceId: running.occurrenceId,
        sequence: 4,
        fence: running.fence,
        status: 'running',
        trigger: false,
        owner: 'gone',
        leaseUntil: running.leaseUntil,
        startedAt: running.startedAt,
        finishedAt: null,
        reason: null,
        result: null,
        callback: null,
      },
    ]);
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
    await store.createJob(newJob('b'));
    await runTimes(store, 'b', 1, { finishedAt: (run) => run.scheduledAt - 7_200_000 });
    // Run 1 finishes 2 h before run 2: writing run 2 drops it (and only in its own job).
    let i = 0;
    await runTimes(store, 'a', 2, {
      finishedAt: (run) => run.scheduledAt + (i++ === 0 ? -7_200_000 : 10),
    });
    expect(sequences(await store.history('a'))).toEqual([2]);
    expect(sequences(await store.history('b'))).toEqual([1]);
    await store.close();
  });

  it('defaultHistoryLimit applies when a call passes none', async () => {
    const store = await createSqliteStorage({ database: dir.file(), defaultHistoryLimit: 3 });
    await store.createJob(newJob('a'));
    await runTimes(store, 'a', 5);
    expect(sequences(await store.history('a'))).toEqual([3, 4, 5]);
    await store.close();
  });

  it('a claim that records skipped entries trims that history, capped and aged', async () => {
    const store = await createSqliteStorage({
      database: dir.file(),
      historyMaxRowsPerJob: 3,
      historyMaxAge: 60_000,
    });
    await store.createJob(newJob('a'));
    await store.createJob(newJob('b'));
    await runTimes(store, 'b', 1, { finishedAt: () => T0 - 3_600_000 });
    // 5 skipped + a run: the cap keeps the newest 3 finished entries.
    await start(store, 'a', { skip: [-5, -4, -3, -2, -1], historyLimit: 10 });
    expect(sequences(await store.history('a'))).toEqual([3, 4, 5]);
    // b's old entry was not touched by a's claim.
    expect(sequences(await store.history('b'))).toEqual([1]);
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
    for (const id of ['a', 'b', 'c']) await store.createJob(newJob(id));
    await start(store, 'c');
    withRaw(file, (db) => {
      db.prepare("update again_jobs set spec = '{oops' where id = 'b'").run();
      db.prepare("update again_runs set fence = 'x' where job_id = 'c'").run();
    });
    expect(await store.getJob('a')).toMatchObject({ id: 'a' });
    for (const read of [
      store.getJob('b'),
      store.queryJobs(),
      store.runningRuns(),
      store.getRun(`c@${T0 + 1000}`),
      // A planner that reads the spec of b meets it.
      store.claimDue({
        owner: 'x',
        now: T0 + 1000,
        limit: 10,
        leaseDuration: 1000,
        plan: (job) => (job.spec.kind === 'test' ? null : null),
      }),
    ]) {
      const error = await rejection(read);
      expect(error.code).toBe('ERR_STORAGE_CORRUPT');
    }
    // Nothing was written by the failed claim.
    expect(await store.getJob('a')).toMatchObject({ fence: 0, sequence: 0 });
    await store.close();
  });

  it('a due job whose counters do not decode: the claim rejects with ERR_STORAGE_CORRUPT', async () => {
    const file = dir.file();
    const store = await createSqliteStorage(file);
    await store.createJob(newJob('a'));
    await store.createJob(newJob('b'));
    withRaw(file, (db) => db.prepare("update again_jobs set fence = 'x' where id = 'b'").run());
    const error = await rejection(start(store, 'a'));
    expect(error).toMatchObject({ code: 'ERR_STORAGE_CORRUPT', operation: 'claimDue' });
    expect(await store.getJob('a')).toMatchObject({ fence: 0, sequence: 0 });
    await store.close();
  });

  it('a job whose sequence counter is behind its ledger: the claim fails, it is no conflict', async () => {
    const file = dir.file();
    const store = await createSqliteStorage(file);
    await store.createJob(newJob('a'));
    await store.createJob(newJob('b', T0 + 500));
    await runTimes(store, 'a', 1);
    // The job forgets its ledger's sequence: its next entry would repeat sequence 1.
    withRaw(file, (db) => db.prepare("update again_jobs set sequence = 0 where id = 'a'").run());
    const error = await rejection(
      store.claimDue({
        owner: 'x',
        now: T0 + 2000,
        limit: 10,
        leaseDuration: 1000,
        plan: intervalPlan(1000),
      }),
    );
    expect(error).toMatchObject({ code: 'ERR_STORAGE', operation: 'claimDue' });
    expect((error.cause as { code?: string }).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    // Nothing was written, for b either.
    expect(await store.getJob('b')).toMatchObject({ fence: 0, sequence: 0, state: 'scheduled' });
    expect(await store.runningRuns()).toEqual([]);
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
    for (const [operation, call] of [
      ['createJob', () => store.createJob(newJob('b'))],
      ['endJob', () => store.endJob('a', 'removed', T0)],
      ['claimDue', () => start(store, 'a')],
    ] as const) {
      const error = await rejection(call());
      expect(error).toMatchObject({ code: 'ERR_STORAGE', operation });
      expect((error.cause as { code?: string }).code).toBe('SQLITE_READONLY');
    }
    await store.close();
    database.close();
  });

  it('a dropped table: the operations that need it reject, and a failed claim writes nothing', async () => {
    const file = dir.file();
    const store = await createSqliteStorage(file);
    await store.createJob(newJob('a'));
    withRaw(file, (db) => db.exec('drop table again_runs'));
    const lease = { occurrenceId: 'a@1', owner: 'o', fence: 1 };
    for (const [operation, call] of [
      ['history', () => store.history('a')],
      ['getRun', () => store.getRun('a@1')],
      ['runningRuns', () => store.runningRuns()],
      ['claimDue', () => start(store, 'a')],
      [
        'renewLeases',
        () => store.renewLeases({ owner: 'o', leases: [lease], now: T0, leaseDuration: 1 }),
      ],
      [
        'completeRuns',
        () => store.completeRuns([{ ...lease, status: 'failed', finishedAt: T0, result: null }]),
      ],
      [
        'claimExpiredRuns',
        () => store.claimExpiredRuns({ owner: 'o', now: T0, leaseDuration: 1, limit: 1 }),
      ],
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
      expect(error).toMatchObject({ code: 'ERR_STORAGE', operation: 'claimDue' });
      expect((error.cause as { code?: string }).code).toBe('SQLITE_BUSY');
      const created = await rejection(store.createJob(newJob('b')));
      expect((created.cause as { code?: string }).code).toBe('SQLITE_BUSY');
      const renewed = await rejection(
        store.renewLeases({
          owner: 'o',
          leases: [{ occurrenceId: 'a@1', fence: 1 }],
          now: T0,
          leaseDuration: 1,
        }),
      );
      expect((renewed.cause as { code?: string }).code).toBe('SQLITE_BUSY');
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

  it("waits for another process's write lock without blocking the event loop, up to busyTimeout", async () => {
    const file = dir.file();
    const store = await createSqliteStorage({ database: file, busyTimeout: 5_000 });
    await store.createJob(newJob('a'));
    const other = new Database(file);
    other.exec('begin immediate');
    let turns = 0;
    const ticking = setInterval(() => turns++, 1);
    try {
      const claimed = start(store, 'a');
      // The claim waits for the lock; meanwhile the event loop keeps turning.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(turns).toBeGreaterThan(10);
      other.exec('rollback');
      expect((await claimed).sequence).toBe(1);
    } finally {
      clearInterval(ticking);
      if (other.inTransaction) other.exec('rollback');
      other.close();
    }
    // A lock held longer than busyTimeout: SQLITE_BUSY, nothing written.
    const short = await createSqliteStorage({ database: file, busyTimeout: 50 });
    const holder = new Database(file);
    holder.exec('begin immediate');
    try {
      const error = await rejection(short.createJob(newJob('b')));
      expect((error.cause as { code?: string }).code).toBe('SQLITE_BUSY');
    } finally {
      holder.exec('rollback');
      holder.close();
    }
    expect(await short.getJob('b')).toBeUndefined();
    await short.close();
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

  it('a planner that throws: its own error, nothing written', async () => {
    const store = await createSqliteStorage(dir.file());
    await store.createJob(newJob('a'));
    await store.createJob(newJob('b'));
    const boom = new Error('boom');
    const error = await store
      .claimDue({
        owner: 'o',
        now: T0 + 1000,
        limit: 10,
        leaseDuration: 1000,
        plan: (job) => {
          if (job.id === 'b') throw boom;
          return intervalPlan(1000)(job);
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBe(boom);
    expect(await store.runningRuns()).toEqual([]);
    expect(await store.getJob('a')).toMatchObject({ fence: 0, sequence: 0, state: 'scheduled' });
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
