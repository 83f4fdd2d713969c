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
});

/**
 * The in-code migration provider given to kysely's `Migrator` (no migration files to ship or find).
 */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
