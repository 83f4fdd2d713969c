/**
 * The SQLite schema: kysely table types and the versioned migrations that create them.
 *
 * @module
 */

import type { Kysely, Migration, MigrationProvider, SqlBool } from 'kysely';
import { sql } from 'kysely';

/** The jobs table: one row per job id. */
export interface JobsTable {
  id: string;
  /** The job definition as JSON text. */
  spec: string;
  state: string;
  next_run_at: number | null;
  fence: number;
  sequence: number;
  started: number;
  runs: number;
  active_runs: number;
  created_at: number;
  updated_at: number;
  /** The last finished entry as JSON text (a copy, so history pruning never loses it). */
  last_run: string | null;
  /** The definition's revision (migration `0003_operate_in_place`). */
  revision: number;
}

/** The run ledger: one row per occurrence. */
export interface RunsTable {
  occurrence_id: string;
  job_id: string;
  scheduled_at: number;
  sequence: number;
  fence: number;
  status: string;
  owner: string | null;
  lease_until: number | null;
  started_at: number | null;
  finished_at: number | null;
  reason: string | null;
  /** The result payload as JSON text. */
  result: string | null;
  /** 1 for a triggered run (`startRun`), else 0 (migration `0003_operate_in_place`). */
  triggered: number;
  /** The callback outcome as JSON text (migration `0003_operate_in_place`). */
  callback: string | null;
}

/** The tables of the store, as kysely sees them. */
export interface Tables {
  again_jobs: JobsTable;
  again_runs: RunsTable;
}

/** The table kysely's `Migrator` records applied migrations in (ours, not kysely's default). */
export const MIGRATION_TABLE = 'again_migrations';

/** The lock table kysely's `Migrator` needs. */
export const MIGRATION_LOCK_TABLE = 'again_migrations_lock';

// Kysely runs migrations on a `Kysely<any>`: a migration must not depend on today's table types,
// which describe the *latest* schema. `Kysely<unknown>` keeps that promise without `any`.
type MigrationDb = Kysely<unknown>;

const STATES = `'scheduled', 'running', 'completed', 'canceled', 'removed', 'stopped'`;
/** The job states from `0003_operate_in_place` on (`paused` added). */
const STATES_V3 = `'scheduled', 'running', 'paused', 'completed', 'canceled', 'removed', 'stopped'`;
const STATUSES = `'running', 'succeeded', 'failed', 'canceled', 'skipped', 'abandoned'`;

/**
 * The migrations, by name. Names sort in the order they apply; a released migration never changes,
 * a schema change is a new entry.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_initial': {
    async up(db: MigrationDb): Promise<void> {
      await db.schema
        .createTable('again_jobs')
        .addColumn('id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(sql.raw(`state in (${STATES})`)))
        .addColumn('next_run_at', 'integer')
        .addColumn('fence', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('sequence', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('started', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('runs', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('active_runs', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .addColumn('last_run', 'text')
        .execute();
      // Due-time claims: `state in (scheduled, running) and next_run_at <= ?`, earliest first.
      await db.schema
        .createIndex('again_jobs_due_idx')
        .on('again_jobs')
        .columns(['state', 'next_run_at'])
        .execute();

      await db.schema
        .createTable('again_runs')
        .addColumn('occurrence_id', 'text', (c) => c.primaryKey().notNull())
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('scheduled_at', 'integer', (c) => c.notNull())
        .addColumn('sequence', 'integer', (c) => c.notNull())
        .addColumn('fence', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql.raw(`status in (${STATUSES})`)))
        .addColumn('owner', 'text')
        .addColumn('lease_until', 'integer')
        .addColumn('started_at', 'integer')
        .addColumn('finished_at', 'integer')
        .addColumn('reason', 'text')
        .addColumn('result', 'text')
        // The occurrence identity: an occurrence is written to the ledger at most once.
        .addUniqueConstraint('again_runs_occurrence_uq', ['job_id', 'scheduled_at'])
        .execute();
      // History by job, in sequence order (also makes sequences unique per job).
      await db.schema
        .createIndex('again_runs_job_sequence_idx')
        .unique()
        .on('again_runs')
        .columns(['job_id', 'sequence'])
        .execute();
      // History by finish time (age retention).
      await db.schema
        .createIndex('again_runs_finished_idx')
        .on('again_runs')
        .column('finished_at')
        .execute();
      // Running entries by lease expiry (takeover of expired leases, running runs).
      await db.schema
        .createIndex('again_runs_lease_idx')
        .on('again_runs')
        .column('lease_until')
        .where(sql.ref('status'), '=', 'running')
        .execute();
    },
    async down(db: MigrationDb): Promise<void> {
      await db.schema.dropTable('again_runs').execute();
      await db.schema.dropTable('again_jobs').execute();
    },
  },
  // Batched claims (storage contract v2).
  // - They read due jobs in `(next_run_at, id)` order. On `(state, next_run_at)` SQLite had to read
  //   and sort every due job to return the first `limit` (two ranges, one per live state); this
  //   partial index holds only the jobs that can be due, in claim order, so a claim reads `limit`
  //   entries however long the backlog, and `nextDueAt` reads one. The old index goes: with both,
  //   SQLite's planner (without ANALYZE statistics) picks the old one.
  // - They insert running entries, which have no `finished_at`: the age index now leaves them out
  //   (one index write less per claimed run; age retention only looks for finished entries).
  // - Batched completions trim each job's history to its newest entries: walking the finished
  //   entries of a job needed a table read per entry to skip the running ones; this partial index
  //   holds the finished entries only, so the walk reads the index alone (also history reads).
  '0002_batched_claims': {
    async up(db: MigrationDb): Promise<void> {
      await db.schema.dropIndex('again_jobs_due_idx').execute();
      await db.schema
        .createIndex('again_jobs_due_order_idx')
        .on('again_jobs')
        .columns(['next_run_at', 'id'])
        .where(sql.raw<SqlBool>(`state in ('scheduled', 'running')`))
        .execute();
      await db.schema.dropIndex('again_runs_finished_idx').execute();
      await db.schema
        .createIndex('again_runs_finished_idx')
        .on('again_runs')
        .column('finished_at')
        .where(sql.raw<SqlBool>('finished_at is not null'))
        .execute();
      await db.schema
        .createIndex('again_runs_history_idx')
        .on('again_runs')
        .columns(['job_id', 'sequence'])
        .where(sql.raw<SqlBool>(`status != 'running'`))
        .execute();
    },
    async down(db: MigrationDb): Promise<void> {
      await db.schema.dropIndex('again_runs_history_idx').execute();
      await db.schema.dropIndex('again_runs_finished_idx').execute();
      await db.schema
        .createIndex('again_runs_finished_idx')
        .on('again_runs')
        .column('finished_at')
        .execute();
      await db.schema.dropIndex('again_jobs_due_order_idx').execute();
      await db.schema
        .createIndex('again_jobs_due_idx')
        .on('again_jobs')
        .columns(['state', 'next_run_at'])
        .execute();
    },
  },
  // Operating jobs in place (pause, resume, update, trigger) and callback outcomes.
  // - Jobs get a `revision` (compare-and-set of `updateJob`) and the state `paused`, which the
  //   `state` CHECK must allow; runs get `triggered` (a run started by `startRun`) and `callback`.
  // - A triggered run may share `(job_id, scheduled_at)` with a scheduled entry: the occurrence
  //   identity becomes a partial unique index over scheduled entries (`triggered = 0`).
  // SQLite can change neither a CHECK nor a table constraint in place, so both tables are rebuilt
  // the standard way (https://sqlite.org/lang_altertable.html#otheralter): create the new table,
  // copy the rows, drop the old one, rename, re-create the indexes, all inside the migration's
  // transaction (no foreign keys, triggers or views refer to them). Each job's `last_run` copy
  // gains the two new run fields, so it decodes like a run written today.
  '0003_operate_in_place': {
    async up(db: MigrationDb): Promise<void> {
      await rebuildJobs(db, STATES_V3, {
        columns: 'revision integer not null default 0',
        select: `0,
          case when json_valid(last_run)
            then json_set(last_run, '$.triggered', 0, '$.callback', null) else last_run end`,
        insert: 'revision, last_run',
      });
      await rebuildRuns(db, {
        columns: `triggered integer not null default 0 check (triggered in (0, 1)),
          callback text`,
        constraint: '',
        select: '0, null',
        insert: 'triggered, callback',
      });
      // The occurrence identity, now over scheduled entries only.
      await db.schema
        .createIndex('again_runs_occurrence_uq')
        .unique()
        .on('again_runs')
        .columns(['job_id', 'scheduled_at'])
        .where(sql.raw<SqlBool>('triggered = 0'))
        .execute();
    },
    async down(db: MigrationDb): Promise<void> {
      // Paused jobs take their live state; a triggered run that shares its scheduled time with a
      // scheduled entry of its job cannot be kept, and fails the migration (nothing is changed).
      await rebuildJobs(db, STATES, {
        columns: '',
        select: `json_remove(last_run, '$.triggered', '$.callback')`,
        insert: 'last_run',
        state: `case when state != 'paused' then state when active_runs > 0 then 'running'
          when next_run_at is null then 'completed' else 'scheduled' end`,
      });
      await rebuildRuns(db, {
        columns: '',
        constraint: ', constraint again_runs_occurrence_uq unique (job_id, scheduled_at)',
        select: '',
        insert: '',
      });
    },
  },
});

/** How `0003_operate_in_place` rebuilds a table: its extra columns and how they are filled. */
interface Rebuild {
  /** Column definitions after the columns of `0002` (empty: none). */
  readonly columns: string;
  /** The select expressions of the columns named in `insert` (empty: none). */
  readonly select: string;
  /** The columns filled by `select`, after those of `0002` (empty: none). */
  readonly insert: string;
}

/** Rebuilds `again_jobs` with the given states and extra columns; `last_run` is in `insert`. */
async function rebuildJobs(
  db: MigrationDb,
  states: string,
  extra: Rebuild & { readonly state?: string },
): Promise<void> {
  const base = `id, spec, state, next_run_at, fence, sequence, started, runs, active_runs,
    created_at, updated_at`;
  await sql
    .raw(`create table again_jobs_rebuilt (
      id text primary key not null,
      spec text not null,
      state text not null check (state in (${states})),
      next_run_at integer,
      fence integer not null default 0,
      sequence integer not null default 0,
      started integer not null default 0,
      runs integer not null default 0,
      active_runs integer not null default 0,
      created_at integer not null,
      updated_at integer not null,
      last_run text${extra.columns === '' ? '' : `,\n      ${extra.columns}`}
    )`)
    .execute(db);
  const select = base.replace('state,', `${extra.state ?? 'state'},`);
  await sql
    .raw(`insert into again_jobs_rebuilt (${base}, ${extra.insert})
      select ${select}, ${extra.select} from again_jobs`)
    .execute(db);
  await sql`drop table again_jobs`.execute(db);
  await sql`alter table again_jobs_rebuilt rename to again_jobs`.execute(db);
  await db.schema
    .createIndex('again_jobs_due_order_idx')
    .on('again_jobs')
    .columns(['next_run_at', 'id'])
    .where(sql.raw<SqlBool>(`state in ('scheduled', 'running')`))
    .execute();
}

/** Rebuilds `again_runs` with the given extra columns and table constraint, and its indexes. */
async function rebuildRuns(
  db: MigrationDb,
  extra: Rebuild & { readonly constraint: string },
): Promise<void> {
  const base = `occurrence_id, job_id, scheduled_at, sequence, fence, status, owner, lease_until,
    started_at, finished_at, reason, result`;
  await sql
    .raw(`create table again_runs_rebuilt (
      occurrence_id text primary key not null,
      job_id text not null,
      scheduled_at integer not null,
      sequence integer not null,
      fence integer not null,
      status text not null check (status in (${STATUSES})),
      owner text,
      lease_until integer,
      started_at integer,
      finished_at integer,
      reason text,
      result text${extra.columns === '' ? '' : `,\n      ${extra.columns}`}${extra.constraint}
    )`)
    .execute(db);
  const columns = extra.insert === '' ? base : `${base}, ${extra.insert}`;
  const values = extra.select === '' ? base : `${base}, ${extra.select}`;
  await sql
    .raw(`insert into again_runs_rebuilt (${columns}) select ${values} from again_runs`)
    .execute(db);
  await sql`drop table again_runs`.execute(db);
  await sql`alter table again_runs_rebuilt rename to again_runs`.execute(db);
  // The indexes of `0001` and `0002`, as they were.
  await db.schema
    .createIndex('again_runs_job_sequence_idx')
    .unique()
    .on('again_runs')
    .columns(['job_id', 'sequence'])
    .execute();
  await db.schema
    .createIndex('again_runs_finished_idx')
    .on('again_runs')
    .column('finished_at')
    .where(sql.raw<SqlBool>('finished_at is not null'))
    .execute();
  await db.schema
    .createIndex('again_runs_history_idx')
    .on('again_runs')
    .columns(['job_id', 'sequence'])
    .where(sql.raw<SqlBool>(`status != 'running'`))
    .execute();
  await db.schema
    .createIndex('again_runs_lease_idx')
    .on('again_runs')
    .column('lease_until')
    .where(sql.ref('status'), '=', 'running')
    .execute();
}

/**
 * The in-code migration provider given to kysely's `Migrator` (no migration files to ship or find).
 */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
