import { type JobStore, StorageError, type WakeEvent } from '@again/storage';
import {
  backendPids,
  createTestPool,
  PG_URL,
  pgTestContext,
  taggedConnection,
  terminateBackends,
} from '@again/test-utils/postgres';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { wakePayload } from './operations.js';
import type { PostgresStorageOptions } from './options.js';
import { createPostgresStorage } from './postgres-storage.js';
import { ADVISORY_LOCK_CLASS, MIGRATION_LOCK_TABLE, MIGRATION_TABLE, Queries } from './queries.js';
import { claimAll, databaseNow, job, listenerPids, runEach } from './test-utils/jobs.js';

const pg_ = await pgTestContext('store');
const { admin } = pg_;

/** Stores opened by a test, closed after it. */
const opened: JobStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

async function open(
  schema: string,
  options: Omit<PostgresStorageOptions, 'schema'> = {},
): Promise<JobStore> {
  const store = await createPostgresStorage({
    ...(options.pool === undefined ? { connectionString: PG_URL, maxConnections: 4 } : {}),
    ...options,
    schema,
  });
  opened.push(store);
  return store;
}

async function storageError(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

describe.skipIf(pg_.skipReason !== null)('createPostgresStorage on PostgreSQL', () => {
  describe('migrations', () => {
    it('six stores opened at once on a fresh schema migrate it once, and all work', async () => {
      const schema = pg_.schema();
      const stores = await Promise.all(
        Array.from({ length: 6 }, () =>
          createPostgresStorage({ connectionString: PG_URL, schema, maxConnections: 2 }),
        ),
      );
      opened.push(...stores);
      const { rows } = await admin.query(
        `select name, count(*)::int as count from "${schema}".again_migrations group by name
          order by name`,
      );
      expect(rows).toEqual([
        { name: '0001_initial', count: 1 },
        { name: '0002_operate_in_place', count: 1 },
      ]);
      const tables = await admin.query(
        `select table_name from information_schema.tables where table_schema = $1 order by 1`,
        [schema],
      );
      expect(tables.rows.map((row) => row.table_name)).toEqual([
        'again_jobs',
        'again_migrations',
        'again_migrations_lock',
        'again_runs',
      ]);
      await stores[0]?.createJob(job('shared'));
      for (const store of stores) expect(await store.jobIds()).toEqual(['shared']);
    });

    it('waits for the schema advisory lock before migrating; an up-to-date schema needs no lock', async () => {
      const schema = pg_.schema();
      const holder = await admin.connect();
      try {
        await holder.query('select pg_advisory_lock($1, hashtext($2))', [
          ADVISORY_LOCK_CLASS,
          schema,
        ]);
        let settled = false;
        const opening = open(schema).finally(() => {
          settled = true;
        });
        await vi.waitFor(
          async () => {
            const { rows } = await admin.query(
              `select count(*)::int as waiting from pg_locks
                where locktype = 'advisory' and not granted and classid = $1::int::oid`,
              [ADVISORY_LOCK_CLASS],
            );
            expect(rows[0]?.waiting).toBe(1);
          },
          { timeout: 10_000, interval: 10 },
        );
        expect(settled).toBe(false);
        const schemaRow = await admin.query('select to_regnamespace($1) as oid', [schema]);
        expect(schemaRow.rows[0]?.oid).toBeNull();

        await holder.query('select pg_advisory_unlock($1, hashtext($2))', [
          ADVISORY_LOCK_CLASS,
          schema,
        ]);
        const store = await opening;
        expect(await store.countJobs()).toBe(0);

        // Migrated: another store opens while the lock is held by someone else.
        await holder.query('select pg_advisory_lock($1, hashtext($2))', [
          ADVISORY_LOCK_CLASS,
          schema,
        ]);
        const second = await open(schema);
        expect(await second.countJobs()).toBe(0);
      } finally {
        await holder.query('select pg_advisory_unlock_all()');
        holder.release();
      }
    });
  });

  describe('upgrades', () => {
    /** A migrator on `schema`, with the store's migrations, and how to dispose of it. */
    function migratorOn(schema: string): { migrator: Migrator; destroy: () => Promise<void> } {
      const pool = createTestPool({ max: 1 });
      const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
      const q = new Queries(schema);
      const migrator = new Migrator({
        db: kysely,
        provider: { getMigrations: async () => q.migrations() },
        migrationTableSchema: schema,
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: MIGRATION_LOCK_TABLE,
      });
      return { migrator, destroy: () => kysely.destroy() };
    }

    it('upgrades a schema at 0001 with data in it: rows, leases and last runs kept, 0002 applied', async () => {
      const schema = pg_.schema();
      await admin.query(`create schema "${schema}"`);
      const { migrator, destroy } = migratorOn(schema);
      try {
        expect((await migrator.migrateTo('0001_initial')).error).toBeUndefined();
      } finally {
        await destroy();
      }
      // As the first release wrote them (the last run as lastRunJson wrote it then, its result
      // holding escapes): a finished, a skipped and a running entry, and a completed job.
      const result = JSON.stringify({ s: 'nul \u0000 lone \ud800 😀', n: [1, 2] });
      const finished = {
        occurrence_id: 'old@1000',
        job_id: 'old',
        scheduled_at: 1000,
        sequence: 1,
        fence: 1,
        status: 'succeeded',
        owner: 'v1',
        lease_until: null,
        started_at: 1000,
        finished_at: 1005,
        reason: null,
        result,
      };
      const running = {
        ...finished,
        occurrence_id: 'old@3000',
        scheduled_at: 3000,
        sequence: 3,
        fence: 3,
        status: 'running',
        lease_until: 61_000,
        started_at: 3000,
        finished_at: null,
        result: null,
      };
      const skipped = {
        ...finished,
        occurrence_id: 'old@2000',
        scheduled_at: 2000,
        sequence: 2,
        fence: 3,
        status: 'skipped',
        owner: null,
        started_at: null,
        finished_at: 3000,
        reason: 'missed',
        result: null,
      };
      await admin.query(
        `insert into "${schema}".again_jobs (id, spec, state, next_run_at, fence, sequence,
           started, runs, active_runs, created_at, updated_at, last_run)
         values ('old', '{"every":1000}', 'running', 4000, 3, 3, 2, 1, 1, 0, 3000, $1),
                ('done', '{}', 'completed', null, 0, 0, 0, 0, 0, 0, 0, null)`,
        [JSON.stringify(finished)],
      );
      for (const row of [finished, skipped, running]) {
        await admin.query(
          `insert into "${schema}".again_runs (occurrence_id, job_id, scheduled_at, sequence, fence,
             status, owner, lease_until, started_at, finished_at, reason, result)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          Object.values(row),
        );
      }

      const store = await open(schema, { clock: 'caller' });
      const read = await store.getJob('old');
      expect(read).toMatchObject({
        spec: { every: 1000 },
        revision: 0,
        state: 'running',
        nextRunAt: 4000,
        fence: 3,
        sequence: 3,
        started: 2,
        runs: 1,
        activeRuns: 1,
        lastRun: { occurrenceId: 'old@1000', trigger: false, callback: null, owner: 'v1' },
      });
      expect(JSON.stringify(read?.lastRun?.result)).toBe(result);
      expect(await store.getJob('done')).toMatchObject({ state: 'completed', revision: 0 });
      expect(
        (await store.history('old'))?.map((run) => [run.sequence, run.trigger, run.callback]),
      ).toEqual([
        [1, false, null],
        [2, false, null],
      ]);
      expect(await store.runningRuns()).toMatchObject([
        { occurrenceId: 'old@3000', trigger: false },
      ]);

      // The unique (job, time) still holds for scheduled entries, not for triggered ones.
      const conflict = await store.claimDue({
        owner: 'v2',
        now: 4000,
        limit: 10,
        leaseDuration: 1000,
        plan: (due) => ({
          run: { scheduledAt: 1000, occurrenceId: 'old@again' },
          skipped: [],
          nextRunAt: due.nextRunAt,
        }),
      });
      expect(conflict.conflicts).toEqual(['old']);
      expect(
        await store.startRun({
          jobId: 'old',
          occurrenceId: 'old!manual',
          scheduledAt: 1000,
          owner: 'v2',
          leaseDuration: 1000,
          now: 4001,
        }),
      ).toMatchObject({ sequence: 4, fence: 4, revision: 0 });
      expect(await store.pauseJob('old', 4002)).toMatchObject({ state: 'paused' });
      expect(await store.recordCallback({ occurrenceId: 'old@1000', callback: { ok: 1 } })).toBe(
        true,
      );
      expect((await store.getJob('old'))?.lastRun?.callback).toEqual({ ok: 1 });
      expect(
        await store.completeRuns([
          {
            occurrenceId: 'old@3000',
            owner: 'v1',
            fence: 3,
            status: 'failed',
            finishedAt: 4003,
            result: null,
          },
        ]),
      ).toEqual([true]);
      expect(await store.getJob('old')).toMatchObject({
        state: 'paused',
        runs: 2,
        activeRuns: 1,
        lastRun: { occurrenceId: 'old@3000', status: 'failed', trigger: false, callback: null },
      });
      const constraints = await admin.query(
        `select pg_get_constraintdef(oid) as def from pg_constraint
          where conname = 'again_jobs_state_check' and connamespace = $1::regnamespace`,
        [schema],
      );
      expect(String(constraints.rows[0]?.def)).toContain("'paused'");
      const index = await admin.query(
        `select indexdef from pg_indexes where schemaname = $1 and indexname = 'again_runs_occurrence_uq'`,
        [schema],
      );
      expect(String(index.rows[0]?.indexdef)).toMatch(/UNIQUE INDEX .* WHERE \(NOT triggered\)/);
    });

    it('0002 migrates down to the 0001 shape when the data fits it, and up again', async () => {
      const schema = pg_.schema();
      const store = await open(schema, { clock: 'caller' });
      await store.createJob(job('a', 1000));
      await store.createJob(job('b', 1000));
      const { runs } = await claimAll(store, 'x', { now: 1000 });
      const run = runs.find((entry) => entry.jobId === 'a');
      await store.completeRuns([
        {
          occurrenceId: run?.occurrenceId ?? '',
          owner: 'x',
          fence: run?.fence ?? 0,
          status: 'succeeded',
          finishedAt: 1010,
          result: { quote: '"\\' },
        },
      ]);
      await store.recordCallback({
        occurrenceId: run?.occurrenceId ?? '',
        callback: { said: 'a "quoted" \\ callback' },
      });
      await store.pauseJob('a', 1020);
      await store.startRun({
        jobId: 'b',
        occurrenceId: 'b!manual',
        scheduledAt: 5,
        owner: 'x',
        leaseDuration: 1000,
        now: 1030,
      });
      await store.close();
      opened.splice(opened.indexOf(store), 1);
      const before = await admin.query(
        `select last_run from "${schema}".again_jobs where id = 'a'`,
      );

      const { migrator, destroy } = migratorOn(schema);
      try {
        expect((await migrator.migrateTo('0001_initial')).error).toBeUndefined();
      } finally {
        await destroy();
      }
      const jobs = await admin.query(
        `select id, state, last_run from "${schema}".again_jobs order by id`,
      );
      expect(jobs.rows.map((row) => [row.id, row.state])).toEqual([
        ['a', 'scheduled'],
        ['b', 'running'],
      ]);
      const lastRun = JSON.parse(String(jobs.rows[0]?.last_run)) as Record<string, unknown>;
      expect(Object.keys(lastRun)).not.toContain('callback');
      expect(Object.keys(lastRun)).not.toContain('triggered');
      expect(lastRun.result).toBe('{"quote":"\\"\\\\"}');
      const columns = await admin.query(
        `select column_name from information_schema.columns
          where table_schema = $1 and column_name in ('revision', 'triggered', 'callback')`,
        [schema],
      );
      expect(columns.rows).toEqual([]);
      const duplicate = admin.query(
        `insert into "${schema}".again_runs (occurrence_id, job_id, scheduled_at, sequence, fence,
           status) values ('b@dup', 'b', 5, 9, 9, 'skipped')`,
      );
      await expect(duplicate).rejects.toMatchObject({ code: '23505' });

      const reopened = await open(schema, { clock: 'caller' });
      expect(await reopened.getJob('a')).toMatchObject({
        state: 'scheduled',
        revision: 0,
        lastRun: { trigger: false, callback: null, result: { quote: '"\\' } },
      });
      expect((await reopened.getRun('b!manual'))?.trigger).toBe(false);
      expect(before.rows[0]?.last_run).toContain('"callback":');
    });
  });

  describe('clocks', () => {
    it("by default, due times and leases follow the database's clock, not the caller's now", async () => {
      const schema = pg_.schema();
      const store = await open(schema);
      expect(store.capabilities).toEqual({ shared: true, notifies: true, clock: true });
      await store.createJob(job('a', 1_000));

      const before = await databaseNow(admin);
      // now: 0 would find nothing due (the job is due at 1000): the database's clock decides.
      const claimed = await claimAll(store, 'instance-a', { now: 0, leaseDuration: 30_000 });
      const after = await databaseNow(admin);
      expect(claimed.now).toBeGreaterThanOrEqual(before);
      expect(claimed.now).toBeLessThanOrEqual(after);
      const run = claimed.runs[0];
      expect(claimed.runs).toHaveLength(1);
      expect(run).toMatchObject({ startedAt: claimed.now, leaseUntil: claimed.now + 30_000 });
      const stored = await admin.query(
        `select lease_until::float8 as lease, started_at::float8 as started
           from "${schema}".again_runs`,
      );
      expect(stored.rows).toEqual([{ lease: claimed.now + 30_000, started: claimed.now }]);

      // A caller whose clock is far ahead takes nothing over: the lease has not expired here.
      expect(
        await store.claimExpiredRuns({
          owner: 'instance-b',
          now: 8.64e15,
          leaseDuration: 30_000,
          limit: 10,
        }),
      ).toEqual([]);

      // A renewal uses the database's time too; a 1 ms lease has expired by the next takeover,
      // although the caller says it is 1970.
      const renewal = await store.renewLeases({
        owner: 'instance-a',
        leases: [{ occurrenceId: run?.occurrenceId ?? '', fence: run?.fence ?? 0 }],
        now: 0,
        leaseDuration: 1,
      });
      expect(renewal.now).toBeGreaterThanOrEqual(claimed.now);
      expect(renewal).toMatchObject({ leaseUntil: renewal.now + 1, lost: [] });
      await vi.waitFor(async () => {
        expect(await databaseNow(admin)).toBeGreaterThan(renewal.leaseUntil);
      });
      const taken = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: 0,
        leaseDuration: 30_000,
        limit: 10,
      });
      expect(
        taken.map(({ run: r, previousOwner }) => [r.occurrenceId, r.owner, previousOwner]),
      ).toEqual([['a@1000', 'instance-b', 'instance-a']]);
      expect(taken[0]?.run.leaseUntil).toBeGreaterThan(renewal.leaseUntil);
    });

    it("triggered runs lease and released leases expire on the database's clock", async () => {
      const store = await open(pg_.schema());
      await store.createJob(job('a', 8.64e15));
      const before = await databaseNow(admin);
      const started = await store.startRun({
        jobId: 'a',
        occurrenceId: 'a!manual',
        scheduledAt: 0,
        owner: 'instance-a',
        leaseDuration: 3_600_000,
        now: 0,
      });
      const after = await databaseNow(admin);
      expect(started?.startedAt).toBeGreaterThanOrEqual(before);
      expect(started?.startedAt).toBeLessThanOrEqual(after);
      expect(started?.leaseUntil).toBe((started?.startedAt ?? 0) + 3_600_000);
      expect((await store.getJob('a'))?.updatedAt).toBe(started?.startedAt);
      // Released with a caller's time of 0, the lease expires at the database's time: a takeover
      // on the database's clock takes it at once, whatever the caller says.
      expect(
        await store.releaseLeases({
          owner: 'instance-a',
          leases: [{ occurrenceId: 'a!manual', fence: started?.fence ?? 0 }],
          now: 0,
        }),
      ).toBe(1);
      const released = (await store.getRun('a!manual'))?.leaseUntil ?? 0;
      expect(released).toBeGreaterThanOrEqual(after - 1);
      await vi.waitFor(async () => {
        expect(await databaseNow(admin)).toBeGreaterThan(released);
      });
      const taken = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: 0,
        leaseDuration: 1000,
        limit: 10,
      });
      expect(taken.map(({ run }) => [run.occurrenceId, run.trigger, run.owner])).toEqual([
        ['a!manual', true, 'instance-b'],
      ]);
    });

    it("with clock: 'caller', the store follows the times each call passes", async () => {
      const store = await open(pg_.schema(), { clock: 'caller' });
      expect(store.capabilities.clock).toBe(false);
      await store.createJob(job('a', 5_000));
      expect((await claimAll(store, 'x', { now: 4_999 })).runs).toEqual([]);
      const claimed = await claimAll(store, 'x', { now: 5_000, leaseDuration: 100 });
      expect(claimed.now).toBe(5_000);
      expect(claimed.runs[0]).toMatchObject({ startedAt: 5_000, leaseUntil: 5_100 });
    });
  });

  describe('claims', () => {
    it('skip jobs another transaction holds instead of waiting for them', async () => {
      const schema = pg_.schema();
      const store = await open(schema, { clock: 'caller' });
      for (const id of ['j1', 'j2', 'j3']) await store.createJob(job(id));
      const locker = await admin.connect();
      try {
        await locker.query('begin');
        await locker.query(`select 1 from "${schema}".again_jobs where id = 'j1' for update`);
        // Resolves while j1 is locked (a claim that waited would time the test out).
        const first = await claimAll(store, 'a');
        expect(first.runs.map((run) => run.jobId)).toEqual(['j2', 'j3']);
        expect(first.examined).toBe(2);
        await locker.query('rollback');
      } finally {
        locker.release();
      }
      expect((await claimAll(store, 'a')).runs.map((run) => run.jobId)).toEqual(['j1']);
    });
  });

  describe('wake-ups (LISTEN/NOTIFY)', () => {
    it('a job created on one store wakes a subscriber on another; other schemas hear nothing', async () => {
      const schema = pg_.schema();
      const a = await open(schema);
      const b = await open(schema);
      const elsewhere = await open(pg_.schema());
      const heard: WakeEvent[] = [];
      const heardElsewhere: WakeEvent[] = [];
      const subscription = await b.subscribe?.((wake) => heard.push(wake));
      const other = await elsewhere.subscribe?.((wake) => heardElsewhere.push(wake));
      await a.createJob(job('x', 5_000));
      await a.createJob(job('none', null as unknown as number));
      await elsewhere.createJob(job('own', 6_000));
      await vi.waitFor(() => expect(heard).toEqual([{ jobId: 'x', at: 5_000 }]));
      await vi.waitFor(() => expect(heardElsewhere).toEqual([{ jobId: 'own', at: 6_000 }]));
      await subscription?.close();
      await other?.close();
    });

    it('notifications: false sends no NOTIFY and offers no subscribe', async () => {
      const schema = pg_.schema();
      const quiet = await open(schema, { notifications: false });
      const loud = await open(schema);
      expect(quiet.capabilities).toEqual({ shared: true, notifies: false, clock: true });
      expect(quiet.subscribe).toBeUndefined();
      const listener = await admin.connect();
      const payloads: string[] = [];
      listener.on('notification', (message) => payloads.push(message.payload ?? ''));
      try {
        await listener.query(`LISTEN "${schema}.again_wake"`);
        await quiet.createJob(job('quiet', 5_000));
        await loud.createJob(job('loud', 5_000));
        // NOTIFYs arrive in commit order: once the second is here, the first would have been.
        await vi.waitFor(() => expect(payloads).toHaveLength(1));
        expect(JSON.parse(payloads[0] ?? '')).toEqual({ jobId: 'loud', at: 5_000 });
      } finally {
        await listener.query('UNLISTEN *');
        listener.release();
      }
    });

    it('the listener reconnects after its backend is terminated, and hears again', async () => {
      const schema = pg_.schema();
      const a = await open(schema);
      const b = await open(schema);
      const heard: string[] = [];
      const subscription = await b.subscribe?.((wake) => heard.push(wake.jobId));
      await a.createJob(job('before', 5_000));
      await vi.waitFor(() => expect(heard).toEqual(['before']));

      const [pid, ...others] = await listenerPids(admin, schema);
      expect(others).toEqual([]);
      await terminateBackends(admin, [pid!]);
      await vi.waitFor(
        async () => {
          const pids = await listenerPids(admin, schema);
          expect(pids).toHaveLength(1);
          expect(pids[0]).not.toBe(pid);
        },
        { timeout: 15_000, interval: 20 },
      );
      await a.createJob(job('after', 6_000));
      await vi.waitFor(() => expect(heard).toEqual(['before', 'after']));

      await subscription?.close();
      // The last subscription gives the connection back (UNLISTEN): nobody listens any more.
      await vi.waitFor(async () => expect(await listenerPids(admin, schema)).toEqual([]));
    });

    it('a wake-up too long for NOTIFY is not sent; the job is created all the same', async () => {
      expect(wakePayload('a'.repeat(100), 5)).toBe(`{"jobId":"${'a'.repeat(100)}","at":5}`);
      const long = '日'.repeat(4096); // 12,288 bytes in UTF-8: PostgreSQL refuses 8000 or more
      expect(wakePayload(long, 5)).toBeNull();
      const store = await open(pg_.schema());
      await store.createJob(job(long, 5_000));
      expect(await store.jobIds()).toEqual([long]);
    });
  });

  describe('connection loss', () => {
    it('a backend terminated in the middle of a claim: nothing is written, the next claim works', async () => {
      const schema = pg_.schema();
      const { url, app } = taggedConnection();
      const store = await open(schema, { connectionString: url, clock: 'caller' });
      await store.createJob(job('a'));
      const before = await store.getJob('a');

      // Block the claim's insert into the ledger, so its transaction is surely open.
      const locker = await admin.connect();
      let claimError: unknown;
      try {
        await locker.query('begin');
        await locker.query(`lock table "${schema}".again_runs in share mode`);
        const claiming = claimAll(store, 'instance-a').then(
          () => undefined,
          (error: unknown) => error,
        );
        const pid = await vi.waitFor(
          async () => {
            const { rows } = await admin.query<{ pid: number }>(
              `select pid from pg_stat_activity
                where application_name = $1 and wait_event_type = 'Lock'`,
              [app],
            );
            expect(rows).toHaveLength(1);
            return rows[0]?.pid;
          },
          { timeout: 10_000, interval: 10 },
        );
        await terminateBackends(admin, [pid!]);
        claimError = await claiming;
      } finally {
        await locker.query('rollback');
        locker.release();
      }
      expect(claimError).toBeInstanceOf(StorageError);
      const error = claimError as StorageError;
      expect(error.code).toBe('ERR_STORAGE');
      expect(error.operation).toBe('claimDue');
      expect((error.cause as { code?: string }).code).toBe('57P01');
      expect(error.message).toMatch(/no connection to the server: 57P01/);

      // The transaction rolled back: the job did not move, the ledger is empty.
      expect(await store.getJob('a')).toEqual(before);
      expect(await store.runningRuns()).toEqual([]);
      expect(await store.history('a')).toEqual([]);
      // The pool replaced the connection: the next claim starts the occurrence, once.
      const again = await claimAll(store, 'instance-a');
      expect(again.runs.map((run) => run.occurrenceId)).toEqual(['a@1000']);
      expect(await store.getJob('a')).toMatchObject({ fence: 1, sequence: 1, activeRuns: 1 });
    });

    it('every backend of the pool terminated between operations: the store goes on, nothing lost or doubled', async () => {
      const schema = pg_.schema();
      const { url, app } = taggedConnection();
      const store = await open(schema, {
        connectionString: url,
        clock: 'caller',
        notifications: false,
      });
      const ids = Array.from({ length: 20 }, (_, i) => `job-${String(i).padStart(2, '0')}`);
      for (const id of ids) await store.createJob(job(id));
      const first = await claimAll(store, 'a', { limit: 10 });
      // Warm the pool up to several connections, then kill them all (a server restart, as seen
      // from the pool).
      await Promise.all(ids.map((id) => store.getJob(id)));
      const pids = await backendPids(admin, app);
      expect(pids.length).toBeGreaterThan(1);
      await terminateBackends(admin, pids);

      const recorded = await store.completeRuns(
        first.runs.map((run) => ({
          occurrenceId: run.occurrenceId,
          owner: 'a',
          fence: run.fence,
          status: 'succeeded',
          finishedAt: 20_000,
          result: null,
        })),
      );
      expect(recorded).toEqual(first.runs.map(() => true));
      const second = await claimAll(store, 'a', { limit: 100 });
      const started = [...first.runs, ...second.runs].map((run) => run.jobId);
      expect(started.sort()).toEqual(ids);
      expect(await backendPids(admin, app)).not.toContain(pids[0]);
      const { rows } = await admin.query(
        `select job_id, count(*)::int as entries from "${schema}".again_runs group by job_id
          having count(*) <> 1`,
      );
      expect(rows).toEqual([]);
    });
  });

  describe('pool ownership', () => {
    it('close() leaves a pool it was given open, and gives back every connection it took', async () => {
      const pool = createTestPool({ max: 3 });
      try {
        const store = await createPostgresStorage({ pool, schema: pg_.schema() });
        await store.createJob(job('a'));
        const subscription = await store.subscribe?.(() => {});
        expect(pool.totalCount - pool.idleCount).toBe(1); // the LISTEN connection
        await store.close();
        await subscription?.close();
        expect(pool.ending).toBe(false);
        expect(pool.totalCount).toBe(pool.idleCount);
        expect((await pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await pool.end();
      }
    });

    it('close() ends the pool it built from a connection string, listener included', async () => {
      const { url, app } = taggedConnection();
      const store = await createPostgresStorage({ connectionString: url, schema: pg_.schema() });
      const subscription = await store.subscribe?.(() => {});
      await Promise.all([store.countJobs(), store.jobIds(), store.nextDueAt()]);
      expect((await backendPids(admin, app)).length).toBeGreaterThan(1);
      await store.close();
      await vi.waitFor(async () => expect(await backendPids(admin, app)).toEqual([]));
      await subscription?.close(); // idempotent after close
      const closed = await storageError(store.countJobs());
      expect(closed.code).toBe('ERR_STORAGE_CLOSED');
    });
  });

  describe('errors', () => {
    it('a server that cannot be reached fails the factory with ERR_STORAGE and the socket error', async () => {
      const url = new URL(PG_URL);
      url.port = '1';
      const error = await storageError(
        createPostgresStorage({ connectionString: url.toString(), schema: pg_.schema() }),
      );
      expect(error.code).toBe('ERR_STORAGE');
      expect(error.operation).toBe('createPostgresStorage');
      expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
      expect(error.message).toMatch(/no connection to the server: ECONNREFUSED/);
    });

    it('a schema dropped underneath: ERR_STORAGE with the SQLSTATE and the driver error as cause', async () => {
      const schema = pg_.schema();
      const store = await open(schema);
      await pg_.drop(schema);
      const error = await storageError(store.getJob('a'));
      expect(error.code).toBe('ERR_STORAGE');
      expect(error.operation).toBe('getJob');
      expect((error.cause as { code?: string }).code).toBe('42P01');
      expect(error.message).toMatch(/^getJob: 42P01: relation .* does not exist/);
    });

    it('a row that does not decode is ERR_STORAGE_CORRUPT', async () => {
      const schema = pg_.schema();
      const store = await open(schema);
      await store.createJob(job('a'));
      await admin.query(`update "${schema}".again_jobs set last_run = 'not json'`);
      const error = await storageError(store.getJob('a'));
      expect(error.code).toBe('ERR_STORAGE_CORRUPT');
    });
  });

  describe('JSON', () => {
    it('keeps specs and results as text, exactly as JSON.stringify wrote them', async () => {
      const schema = pg_.schema();
      const store = await open(schema, { clock: 'caller' });
      const spec = { z: 1, a: 'nul \u0000 lone \uD800', nested: { b: [1.5, -0], a: null } };
      await store.createJob({ id: 'a', spec, nextRunAt: 1_000, now: 0 });
      const { runs } = await store.claimDue({
        owner: 'x',
        now: 1_000,
        limit: 1,
        leaseDuration: 1_000,
        plan: runEach,
      });
      const run = runs[0];
      await store.completeRuns([
        {
          occurrenceId: run?.occurrenceId ?? '',
          owner: 'x',
          fence: run?.fence ?? 0,
          status: 'succeeded',
          finishedAt: 1_010,
          result: spec,
        },
      ]);
      const columns = await admin.query(
        `select table_name, column_name, data_type from information_schema.columns
          where table_schema = $1 and column_name in ('spec', 'result', 'last_run', 'callback')
          order by 1, 2`,
        [schema],
      );
      expect(columns.rows.map((row) => row.data_type)).toEqual(['text', 'text', 'text', 'text']);
      const text = JSON.stringify(spec);
      expect(text).toBe('{"z":1,"a":"nul \\u0000 lone \\ud800","nested":{"b":[1.5,0],"a":null}}');
      const stored = await admin.query(
        `select j.spec, r.result from "${schema}".again_jobs as j
          join "${schema}".again_runs as r on r.job_id = j.id`,
      );
      expect(stored.rows).toEqual([{ spec: text, result: text }]);
      expect((await store.getJob('a'))?.spec).toEqual({
        ...spec,
        nested: { b: [1.5, 0], a: null },
      });
    });
  });
});
