/**
 * Every SQL statement of the store, in one place (like pg-boss's `plans.js`): the migrations, the
 * advisory lock, LISTEN/NOTIFY and each operation's reads and writes. `operations.ts` holds the
 * logic between them and writes no SQL of its own.
 *
 * Batches (a claim's entries, a renewal's leases, completions, takeovers) go to PostgreSQL as one
 * array parameter per column, expanded with `unnest`, so a batch of any size is one statement with
 * a fixed text. Times are `bigint` milliseconds since the epoch; node-postgres returns them (and
 * every `bigint` counter) as strings, which `rows.ts` turns back into numbers.
 *
 * @module
 */

import { type Migration, type RawBuilder, sql } from 'kysely';

/** A row as node-postgres returns it. */
export type Row = Record<string, unknown>;

/** A statement, executed with `.execute(db)` on the store's kysely (or one of its connections). */
export type Query = RawBuilder<Row>;

/** The first key of the store's advisory locks (`'agai'`); the second is `hashtext(schema)`. */
export const ADVISORY_LOCK_CLASS = 0x61676169;

/** The table kysely's `Migrator` records applied migrations in. */
export const MIGRATION_TABLE = 'again_migrations';

/** The lock table kysely's `Migrator` needs. */
export const MIGRATION_LOCK_TABLE = 'again_migrations_lock';

const STATES = sql.raw(`'scheduled', 'running', 'completed', 'canceled', 'removed', 'stopped'`);
/** The job states from `0002_operate_in_place` on (`paused` added). */
const STATES_V2 = sql.raw(
  `'scheduled', 'running', 'paused', 'completed', 'canceled', 'removed', 'stopped'`,
);
const STATUSES = sql.raw(`'running', 'succeeded', 'failed', 'canceled', 'skipped', 'abandoned'`);

/** Jobs that can be due. Literal, so the planner matches the partial index `again_jobs_due_idx`. */
const DUE_STATES = sql.raw(`state in ('scheduled', 'running')`);

/** The state of a live job `j` (neither paused nor terminal) from what runs and what is next. */
const LIVE_STATE = sql.raw(`case when j.active_runs > 0 then 'running'
  when j.next_run_at is null then 'completed' else 'scheduled' end`);

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7999;

/** The time on the database's clock, in ms since the epoch (not `now()`, which is frozen per transaction). */
const CLOCK_MS = sql.raw(`floor(extract(epoch from clock_timestamp()) * 1000)::bigint`);

/** A ledger entry to insert, one array per column (see {@link Queries.insertEntries}). */
export interface EntryColumns {
  readonly occurrenceId: string[];
  readonly jobId: string[];
  readonly scheduledAt: number[];
  readonly sequence: number[];
  readonly fence: number[];
  readonly status: string[];
  readonly owner: Array<string | null>;
  readonly leaseUntil: Array<number | null>;
  readonly startedAt: Array<number | null>;
  readonly finishedAt: Array<number | null>;
  readonly reason: Array<string | null>;
}

/** The statements of one store, bound to its schema. */
export class Queries {
  /** The schema. */
  readonly schema: string;
  /** The NOTIFY channel of the schema's wake-ups. */
  readonly channel: string;
  readonly #jobs: RawBuilder<unknown>;
  readonly #runs: RawBuilder<unknown>;

  /** @param schema - a validated identifier (see `options.ts`) */
  constructor(schema: string) {
    this.schema = schema;
    this.channel = `${schema}.again_wake`;
    this.#jobs = sql.table(`${schema}.again_jobs`);
    this.#runs = sql.table(`${schema}.again_runs`);
  }

  // --- migrations ------------------------------------------------------------------------------

  /**
   * The migrations, by name, for kysely's `Migrator`. Names sort in the order they apply; a
   * released migration never changes, a schema change is a new entry.
   */
  migrations(): Record<string, Migration> {
    const J = this.#jobs;
    const R = this.#runs;
    const { schema } = this;
    return {
      '0001_initial': {
        async up(db) {
          // Ids use the "C" collation: byte-wise (code point) order, the contract's id order,
          // whatever the database's default collation is.
          await sql`create table ${J} (
            id text collate "C" not null primary key,
            spec text not null,
            state text not null check (state in (${STATES})),
            next_run_at bigint,
            fence bigint not null default 0,
            sequence bigint not null default 0,
            started bigint not null default 0,
            runs bigint not null default 0,
            active_runs bigint not null default 0,
            created_at bigint not null,
            updated_at bigint not null,
            last_run text
          )`.execute(db);
          // Claims and nextDueAt: only the jobs that can be due, in claim order.
          await sql`create index again_jobs_due_idx on ${J} (next_run_at, id)
            where state in ('scheduled', 'running')`.execute(db);
          await sql`create table ${R} (
            occurrence_id text collate "C" not null primary key,
            job_id text collate "C" not null,
            scheduled_at bigint not null,
            sequence bigint not null,
            fence bigint not null,
            status text not null check (status in (${STATUSES})),
            owner text,
            lease_until bigint,
            started_at bigint,
            finished_at bigint,
            reason text,
            result text,
            constraint again_runs_occurrence_uq unique (job_id, scheduled_at)
          )`.execute(db);
          // History by job in sequence order (and sequences unique per job).
          await sql`create unique index again_runs_job_sequence_idx on ${R} (job_id, sequence)`.execute(
            db,
          );
          // Age retention.
          await sql`create index again_runs_finished_idx on ${R} (finished_at)
            where status <> 'running'`.execute(db);
          // Takeover of expired leases.
          await sql`create index again_runs_lease_idx on ${R} (lease_until)
            where status = 'running'`.execute(db);
        },
        async down(db) {
          await sql`drop table ${R}`.execute(db);
          await sql`drop table ${J}`.execute(db);
        },
      },
      // Operating jobs in place (pause, resume, update, trigger) and callback outcomes: jobs get a
      // `revision` and the state `paused`; runs get `triggered` (started by `startRun`) and
      // `callback`; a triggered run may share `(job_id, scheduled_at)` with a scheduled entry, so
      // the occurrence identity becomes a partial unique index over scheduled entries. Each job's
      // `last_run` copy (JSON text, written by `lastRunJson`, which ends with `result`) gains the
      // two new fields as its last keys, so it decodes like a run written today. Adding a column
      // with a constant default rewrites no table.
      '0002_operate_in_place': {
        async up(db) {
          await sql`alter table ${J} drop constraint again_jobs_state_check,
            add constraint again_jobs_state_check check (state in (${STATES_V2})),
            add column revision bigint not null default 0`.execute(db);
          await sql`update ${J} set last_run = left(last_run, -1) || ',"triggered":false,"callback":null}'
            where right(last_run, 1) = '}'`.execute(db);
          await sql`alter table ${R} drop constraint again_runs_occurrence_uq,
            add column triggered boolean not null default false,
            add column callback text`.execute(db);
          await sql`create unique index again_runs_occurrence_uq on ${R} (job_id, scheduled_at)
            where not triggered`.execute(db);
        },
        async down(db) {
          // Paused jobs take their live state; a triggered run that shares its scheduled time
          // with a scheduled entry of its job cannot be kept, and fails the migration.
          await sql`drop index ${sql.table(`${schema}.again_runs_occurrence_uq`)}`.execute(db);
          await sql`alter table ${R} drop column triggered, drop column callback,
            add constraint again_runs_occurrence_uq unique (job_id, scheduled_at)`.execute(db);
          await sql`update ${J} as j set state = ${LIVE_STATE} where j.state = 'paused'`.execute(
            db,
          );
          await sql`update ${J} set last_run = regexp_replace(last_run,
              ',"triggered":(true|false),"callback":(null|"(?:[^"\\\\]|\\\\.)*")}$', '}')
            where last_run is not null`.execute(db);
          await sql`alter table ${J} drop column revision, drop constraint again_jobs_state_check,
            add constraint again_jobs_state_check check (state in (${STATES}))`.execute(db);
        },
      },
    };
  }

  /** The names of the applied migrations, or no row at all before the first one. */
  appliedMigrations(): Query {
    return sql<Row>`select name from ${sql.table(`${this.schema}.${MIGRATION_TABLE}`)}`;
  }

  /** Whether the migration table exists (`exists`: boolean). */
  migrationTableExists(): Query {
    return sql<Row>`select to_regclass(${`"${this.schema}"."${MIGRATION_TABLE}"`}) is not null as exists`;
  }

  /** Waits for the schema's migration lock (a session-level advisory lock). */
  lockMigrations(): Query {
    return sql<Row>`select pg_advisory_lock(${sql.lit(ADVISORY_LOCK_CLASS)}, hashtext(${this.schema}))`;
  }

  /** Releases the schema's migration lock. */
  unlockMigrations(): Query {
    return sql<Row>`select pg_advisory_unlock(${sql.lit(ADVISORY_LOCK_CLASS)}, hashtext(${this.schema}))`;
  }

  // --- time and notifications ------------------------------------------------------------------

  /** The database's time in ms (`now`). */
  databaseNow(): Query {
    return sql<Row>`select ${CLOCK_MS} as now`;
  }

  /** The LISTEN statement of the wake-up channel (run on the listener's own connection). */
  listenSql(): string {
    return `LISTEN "${this.channel}"`;
  }

  /** The UNLISTEN statement of the wake-up channel. */
  unlistenSql(): string {
    return `UNLISTEN "${this.channel}"`;
  }

  /** Sends a wake-up (delivered when the transaction commits, dropped if it rolls back). */
  notify(payload: string): Query {
    return sql<Row>`select pg_notify(${this.channel}, ${payload})`;
  }

  // --- jobs ------------------------------------------------------------------------------------

  /**
   * Inserts a new job unless its id exists (then returns no row); with a `payload`, also sends the
   * wake-up in the same statement, only when the row was inserted.
   */
  insertJob(
    job: { id: string; spec: string; nextRunAt: number | null; now: number },
    state: string,
    payload: string | null,
  ): Query {
    const insert = sql`insert into ${this.#jobs} (id, spec, revision, state, next_run_at, fence,
        sequence, started, runs, active_runs, created_at, updated_at, last_run)
      values (${job.id}, ${job.spec}, 0, ${state}, ${job.nextRunAt}, 0, 0, 0, 0, 0, ${job.now},
        ${job.now}, null)
      on conflict (id) do nothing
      returning id`;
    if (payload === null) return sql<Row>`${insert}`;
    return sql<Row>`with inserted as (${insert})
      select id, pg_notify(${this.channel}, ${payload}) from inserted`;
  }

  /** A job's state and fence, optionally locked. */
  jobState(id: string, lock: boolean): Query {
    return sql<Row>`select state, fence from ${this.#jobs} where id = ${id}
      ${lock ? sql`for update` : sql``}`;
  }

  /** Locks every ledger entry of a job (before its row: the store's lock order is runs, then jobs). */
  lockLedger(jobId: string): Query {
    return sql<Row>`select occurrence_id from ${this.#runs} where job_id = ${jobId}
      order by occurrence_id for update`;
  }

  /** Deletes a job's ledger. */
  deleteLedger(jobId: string): Query {
    return sql<Row>`delete from ${this.#runs} where job_id = ${jobId}`;
  }

  /** Replaces a terminal job with a new incarnation. */
  replaceJob(
    job: { id: string; spec: string; nextRunAt: number | null; now: number },
    state: string,
    fence: number,
  ): Query {
    return sql<Row>`update ${this.#jobs} set spec = ${job.spec}, revision = 0, state = ${state},
        next_run_at = ${job.nextRunAt}, fence = ${fence}, sequence = 0, started = 0, runs = 0,
        active_runs = 0, created_at = ${job.now}, updated_at = ${job.now}, last_run = null
      where id = ${job.id}`;
  }

  /** One job. */
  job(jobId: string): Query {
    return sql<Row>`select * from ${this.#jobs} where id = ${jobId}`;
  }

  /** Jobs by id and state (empty lists: all), by id, paged. */
  queryJobs(query: {
    ids: readonly string[];
    states: readonly string[];
    offset: number;
    limit: number | undefined;
  }): Query {
    return sql<Row>`select * from ${this.#jobs}
      ${whereJobs(query.ids, query.states)}
      order by id offset ${query.offset} limit ${query.limit ?? null}`;
  }

  /** How many jobs are in `states` (empty: all). */
  countJobs(states: readonly string[]): Query {
    return sql<Row>`select count(*) as count from ${this.#jobs} ${whereJobs([], states)}`;
  }

  /** The ids of the jobs in `states` (empty: all), in byte order. */
  jobIds(states: readonly string[]): Query {
    return sql<Row>`select id from ${this.#jobs} ${whereJobs([], states)} order by id`;
  }

  /**
   * Ends a job: a live or paused job gets `state`, a terminal one only `removed` (which overrides
   * the rest). Returns the row when it changed, no row when it did not (or does not exist).
   */
  endJob(jobId: string, state: string, now: number): Query {
    return sql<Row>`update ${this.#jobs} set state = ${state}, next_run_at = null,
        updated_at = ${now}
      where id = ${jobId}
        and (state in ('scheduled', 'running', 'paused')
          or (${state}::text = 'removed' and state <> 'removed'))
      returning *`;
  }

  /** Pauses a live job; returns its row when it changed, no row otherwise. */
  pauseJob(jobId: string, now: number): Query {
    return sql<Row>`update ${this.#jobs} set state = 'paused', updated_at = ${now}
      where id = ${jobId} and state in ('scheduled', 'running')
      returning *`;
  }

  /**
   * The wake-up of the job row `r` (an alias of the statement): sent, in the statement's
   * transaction, when `notify` and `condition` hold and the job has a due time whose payload fits
   * NOTIFY (notifications are hints: polling finds a job whose wake-up was not sent). The
   * expression's value is unused.
   */
  #wake(notify: boolean, condition: RawBuilder<unknown>): RawBuilder<unknown> {
    if (!notify) return sql`null`;
    const payload = sql`json_build_object('jobId', r.id, 'at', r.next_run_at)::text`;
    return sql`case when ${condition} and r.next_run_at is not null
        and octet_length(${payload}) <= ${sql.lit(MAX_PAYLOAD_BYTES)}
      then pg_notify(${this.channel}, ${payload}) end`;
  }

  /**
   * Resumes a paused job into its live state; returns its row when it changed, no row otherwise.
   * With `notify`, wakes the schema's listeners when the job can be due.
   */
  resumeJob(jobId: string, now: number, notify: boolean): Query {
    return sql<Row>`with resumed as (
        update ${this.#jobs} as j set state = ${LIVE_STATE}, updated_at = ${now}
        where j.id = ${jobId} and j.state = 'paused'
        returning j.*
      )
      select r.*, ${this.#wake(notify, sql`r.state <> 'completed'`)} as woke from resumed as r`;
  }

  /**
   * Replaces a job's definition and next occurrence if it is not terminal and still has the
   * expected revision (the update re-checks both on the row it locks, so of two concurrent
   * updates from one revision only the first applies); returns its row when it changed, no row
   * otherwise. With `notify`, wakes the schema's listeners when the job is not paused.
   */
  updateJob(
    update: {
      id: string;
      expectedRevision: number;
      spec: string;
      nextRunAt: number | null;
      now: number;
    },
    notify: boolean,
  ): Query {
    return sql<Row>`with updated as (
        update ${this.#jobs} as j set spec = ${update.spec}, revision = j.revision + 1,
            next_run_at = ${update.nextRunAt}::bigint,
            state = case when j.state = 'paused' then 'paused'
              when j.active_runs > 0 then 'running'
              when ${update.nextRunAt}::bigint is null then 'completed' else 'scheduled' end,
            updated_at = ${update.now}
        where j.id = ${update.id} and j.revision = ${update.expectedRevision}
          and j.state in ('scheduled', 'running', 'paused')
        returning j.*
      )
      select r.*, ${this.#wake(notify, sql`r.state <> 'paused'`)} as woke from updated as r`;
  }

  /**
   * Locks a job row for a triggered run, with the start's time (`now`): the caller's, or with
   * `now` null the database's.
   */
  lockJobForStart(jobId: string, now: number | null): Query {
    const time = now === null ? CLOCK_MS : sql`${now}::bigint`;
    return sql<Row>`select j.*, ${time} as now from ${this.#jobs} as j where j.id = ${jobId}
      for update`;
  }

  /**
   * Inserts a triggered run and moves its job on (fence, sequence, active runs; not `started`),
   * in one statement; no row when the occurrence id is already in the ledger (nothing written).
   */
  startRun(run: {
    jobId: string;
    occurrenceId: string;
    scheduledAt: number;
    sequence: number;
    fence: number;
    owner: string;
    startedAt: number;
    leaseUntil: number;
  }): Query {
    return sql<Row>`with inserted as (
        insert into ${this.#runs} (occurrence_id, job_id, scheduled_at, sequence, fence, status,
            owner, lease_until, started_at, triggered)
          values (${run.occurrenceId}, ${run.jobId}, ${run.scheduledAt}, ${run.sequence},
            ${run.fence}, 'running', ${run.owner}, ${run.leaseUntil}, ${run.startedAt}, true)
          on conflict (occurrence_id) do nothing
          returning occurrence_id
      )
      update ${this.#jobs} as j set fence = ${run.fence}, sequence = ${run.sequence},
          active_runs = j.active_runs + 1, state = 'running', updated_at = ${run.startedAt}
        where j.id = ${run.jobId} and exists (select 1 from inserted)
        returning j.id`;
  }

  /** The earliest due time of the live jobs (`at`). */
  nextDueAt(): Query {
    return sql<Row>`select min(next_run_at) as at from ${this.#jobs} where ${DUE_STATES}`;
  }

  // --- claims ----------------------------------------------------------------------------------

  /**
   * Locks up to `limit` due jobs, earliest first, skipping the rows other transactions hold: two
   * instances claiming at once never wait for each other and never get the same job. Each row
   * carries the claim's time (`now`): the caller's, or with `now` null the database's, read once
   * (a materialized CTE, so the filter and the returned time are the same reading).
   */
  dueJobs(now: number | null, limit: number): Query {
    const J = this.#jobs;
    const columns = sql`j.id, j.created_at, j.revision, j.next_run_at, j.started, j.active_runs,
      j.spec, j.fence, j.sequence`;
    const order = sql`order by j.next_run_at, j.id limit ${limit} for update of j skip locked`;
    if (now !== null) {
      return sql<Row>`select ${columns}, ${now}::bigint as now from ${J} as j
        where j.${DUE_STATES} and j.next_run_at <= ${now} ${order}`;
    }
    return sql<Row>`with clock as materialized (select ${CLOCK_MS} as now)
      select ${columns}, (select now from clock) as now from ${J} as j
      where j.${DUE_STATES} and j.next_run_at <= (select now from clock) ${order}`;
  }

  /**
   * Writes a claim in one statement: finds the jobs whose entries repeat an occurrence already in
   * the ledger (the same occurrence id, or the same job and scheduled time as a scheduled entry:
   * triggered runs share times freely), inserts the entries of
   * every other job and moves those jobs on; returns the conflicting jobs (`job_id`). Only for a
   * claim whose plans share no occurrence among themselves (the jobs' fates are then independent).
   */
  applyClaim(
    e: EntryColumns,
    v: {
      id: string[];
      fence: number[];
      sequence: number[];
      started: number[];
      activeRuns: number[];
      nextRunAt: Array<number | null>;
      state: string[];
    },
    now: number,
  ): Query {
    const J = this.#jobs;
    const R = this.#runs;
    return sql<Row>`with k as (
        select * from unnest(${e.occurrenceId}::text[], ${e.jobId}::text[],
          ${e.scheduledAt}::bigint[], ${e.sequence}::bigint[], ${e.fence}::bigint[],
          ${e.status}::text[], ${e.owner}::text[], ${e.leaseUntil}::bigint[],
          ${e.startedAt}::bigint[], ${e.finishedAt}::bigint[], ${e.reason}::text[])
          as k(occurrence_id, job_id, scheduled_at, sequence, fence, status, owner, lease_until,
            started_at, finished_at, reason)
      ),
      conflicts as (
        select distinct k.job_id from k
        where exists (select 1 from ${R} as r where r.occurrence_id = k.occurrence_id)
           or exists (select 1 from ${R} as r
                       where r.job_id = k.job_id and r.scheduled_at = k.scheduled_at
                         and not r.triggered)
      ),
      inserted as (
        insert into ${R} (occurrence_id, job_id, scheduled_at, sequence, fence, status, owner,
            lease_until, started_at, finished_at, reason)
          select * from k where k.job_id not in (select job_id from conflicts)
      ),
      moved as (
        update ${J} as j set fence = v.fence, sequence = v.sequence, started = v.started,
            active_runs = v.active_runs, next_run_at = v.next_run_at, state = v.state,
            updated_at = ${now}
          from unnest(${v.id}::text[], ${v.fence}::bigint[], ${v.sequence}::bigint[],
            ${v.started}::bigint[], ${v.activeRuns}::bigint[], ${v.nextRunAt}::bigint[],
            ${v.state}::text[]) as v(id, fence, sequence, started, active_runs, next_run_at, state)
          where j.id = v.id and v.id not in (select job_id from conflicts)
      )
      select job_id from conflicts`;
  }

  /**
   * The jobs among the keys whose entry repeats an occurrence already in the ledger: the same
   * occurrence id, or the same job and scheduled time as a scheduled entry.
   */
  ledgerConflicts(keys: {
    occurrenceId: readonly string[];
    jobId: readonly string[];
    scheduledAt: readonly number[];
  }): Query {
    const R = this.#runs;
    return sql<Row>`select distinct k.job_id
      from unnest(${keys.occurrenceId}::text[], ${keys.jobId}::text[], ${keys.scheduledAt}::bigint[])
        as k(occurrence_id, job_id, scheduled_at)
      where exists (select 1 from ${R} as r where r.occurrence_id = k.occurrence_id)
         or exists (select 1 from ${R} as r
                     where r.job_id = k.job_id and r.scheduled_at = k.scheduled_at
                       and not r.triggered)`;
  }

  /** Inserts ledger entries. */
  insertEntries(e: EntryColumns): Query {
    return sql<Row>`insert into ${this.#runs} (occurrence_id, job_id, scheduled_at, sequence, fence,
        status, owner, lease_until, started_at, finished_at, reason)
      select * from unnest(${e.occurrenceId}::text[], ${e.jobId}::text[], ${e.scheduledAt}::bigint[],
        ${e.sequence}::bigint[], ${e.fence}::bigint[], ${e.status}::text[], ${e.owner}::text[],
        ${e.leaseUntil}::bigint[], ${e.startedAt}::bigint[], ${e.finishedAt}::bigint[],
        ${e.reason}::text[])`;
  }

  /** Moves claimed jobs on. */
  updateClaimedJobs(
    v: {
      id: string[];
      fence: number[];
      sequence: number[];
      started: number[];
      activeRuns: number[];
      nextRunAt: Array<number | null>;
      state: string[];
    },
    now: number,
  ): Query {
    return sql<Row>`update ${this.#jobs} as j set fence = v.fence, sequence = v.sequence,
        started = v.started, active_runs = v.active_runs, next_run_at = v.next_run_at,
        state = v.state, updated_at = ${now}
      from unnest(${v.id}::text[], ${v.fence}::bigint[], ${v.sequence}::bigint[],
        ${v.started}::bigint[], ${v.activeRuns}::bigint[], ${v.nextRunAt}::bigint[], ${v.state}::text[])
        as v(id, fence, sequence, started, active_runs, next_run_at, state)
      where j.id = v.id`;
  }

  /**
   * Keeps the newest `limit` finished entries of each listed job: per job, the sequence of its
   * `limit`-th newest finished entry (read from the top of `(job_id, sequence)`), and the finished
   * entries below it go.
   */
  trimJobs(jobIds: readonly string[], limit: number): Query {
    const R = this.#runs;
    return sql<Row>`delete from ${R} as r
      using (
        select k.job_id,
          (select n.sequence from ${R} as n
            where n.job_id = k.job_id and n.status <> 'running'
            order by n.sequence desc offset ${limit - 1} limit 1) as cut
        from unnest(${jobIds}::text[]) as k(job_id)
      ) as c
      where r.job_id = c.job_id and r.sequence < c.cut and r.status <> 'running'`;
  }

  // --- leases ----------------------------------------------------------------------------------

  /** Extends the listed leases (locked and checked by the caller); returns their jobs' states. */
  renewLeases(occurrenceIds: readonly string[], leaseUntil: number): Query {
    return sql<Row>`update ${this.#runs} as r set lease_until = ${leaseUntil}
      where r.occurrence_id = any(${occurrenceIds}::text[])
      returning r.occurrence_id, (select j.state from ${this.#jobs} as j where j.id = r.job_id) as job_state`;
  }

  /**
   * Makes the listed leases (locked and checked by the caller) expire at `leaseUntil`; returns how
   * many.
   */
  releaseLeases(occurrenceIds: readonly string[], leaseUntil: number): Query {
    return sql<Row>`update ${this.#runs} set lease_until = ${leaseUntil}
      where occurrence_id = any(${occurrenceIds}::text[])`;
  }

  // --- completions -----------------------------------------------------------------------------

  /** Locks the listed entries that are running, in a fixed order. */
  lockRunning(occurrenceIds: readonly string[]): Query {
    return sql<Row>`select * from ${this.#runs}
      where occurrence_id = any(${occurrenceIds}::text[]) and status = 'running'
      order by occurrence_id
      for update`;
  }

  /** Locks the listed jobs, in a fixed order (after their entries). */
  lockJobs(jobIds: readonly string[]): Query {
    return sql<Row>`select * from ${this.#jobs} where id = any(${jobIds}::text[])
      order by id for update`;
  }

  /**
   * Records outcomes in one statement: the entries get their status, and each job counts them
   * (`runs` up, `active_runs` down, its last run, its update time) from its current row, which the
   * update locks (after the entries: the store's lock order). A live job's state follows what
   * still runs and what is next; a terminal job keeps its state. `v` has one row per completion,
   * `jobs` one row per job (with how many of the completions are its).
   */
  completeRuns(
    v: {
      occurrenceId: string[];
      status: string[];
      finishedAt: number[];
      result: Array<string | null>;
      reason: Array<string | null>;
    },
    jobs: { id: string[]; count: number[]; lastRun: string[]; finishedAt: number[] },
  ): Query {
    return sql<Row>`with finished as (
        update ${this.#runs} as r set status = v.status, finished_at = v.finished_at,
            result = v.result, reason = v.reason, lease_until = null
          from unnest(${v.occurrenceId}::text[], ${v.status}::text[], ${v.finishedAt}::bigint[],
            ${v.result}::text[], ${v.reason}::text[])
            as v(occurrence_id, status, finished_at, result, reason)
          where r.occurrence_id = v.occurrence_id
      )
      update ${this.#jobs} as j set runs = j.runs + c.count,
          active_runs = greatest(j.active_runs - c.count, 0),
          last_run = c.last_run,
          updated_at = greatest(j.updated_at, c.finished_at),
          state = case
            when j.state not in ('scheduled', 'running') then j.state
            when j.active_runs - c.count > 0 then 'running'
            when j.next_run_at is null then 'completed'
            else 'scheduled' end
        from unnest(${jobs.id}::text[], ${jobs.count}::bigint[], ${jobs.lastRun}::text[],
          ${jobs.finishedAt}::bigint[]) as c(id, count, last_run, finished_at)
        where j.id = c.id`;
  }

  /** Locks one ledger entry. */
  lockRun(occurrenceId: string): Query {
    return sql<Row>`select * from ${this.#runs} where occurrence_id = ${occurrenceId} for update`;
  }

  /**
   * Records a callback outcome on an entry (locked by the caller), and on its job's `last_run`
   * copy when that copy is this entry (its text starts with the entry's occurrence id:
   * `lastRunJson` writes that key first).
   */
  recordCallback(
    run: { occurrenceId: string; jobId: string },
    callback: string,
    lastRun: string,
  ): Query {
    const prefix = `{"occurrence_id":${JSON.stringify(run.occurrenceId)},`;
    return sql<Row>`with recorded as (
        update ${this.#runs} set callback = ${callback} where occurrence_id = ${run.occurrenceId}
      )
      update ${this.#jobs} set last_run = ${lastRun}
        where id = ${run.jobId} and left(last_run, char_length(${prefix}::text)) = ${prefix}`;
  }

  // --- takeovers -------------------------------------------------------------------------------

  /**
   * Locks up to `limit` running entries whose lease expired before `now`, earliest expiry first,
   * skipping entries another transaction holds (another instance taking them over, or their
   * owner completing them).
   */
  expiredRuns(now: number, limit: number): Query {
    return sql<Row>`select r.* from ${this.#runs} as r
      where r.status = 'running' and r.lease_until < ${now}
        and exists (select 1 from ${this.#jobs} as j where j.id = r.job_id)
      order by r.lease_until, r.job_id, r.sequence
      limit ${limit}
      for update of r skip locked`;
  }

  /** Gives entries to a new owner under new fences. */
  takeOverRuns(
    owner: string,
    leaseUntil: number,
    v: { occurrenceId: string[]; fence: number[] },
  ): Query {
    return sql<Row>`update ${this.#runs} as r set owner = ${owner}, lease_until = ${leaseUntil},
        fence = v.fence
      from unnest(${v.occurrenceId}::text[], ${v.fence}::bigint[]) as v(occurrence_id, fence)
      where r.occurrence_id = v.occurrence_id`;
  }

  /** Sets jobs' fences and update times. */
  updateFences(v: { id: string[]; fence: number[]; updatedAt: number[] }): Query {
    return sql<Row>`update ${this.#jobs} as j set fence = v.fence, updated_at = v.updated_at
      from unnest(${v.id}::text[], ${v.fence}::bigint[], ${v.updatedAt}::bigint[])
        as v(id, fence, updated_at)
      where j.id = v.id`;
  }

  // --- reads of the ledger ---------------------------------------------------------------------

  /** One ledger entry. */
  run(occurrenceId: string): Query {
    return sql<Row>`select * from ${this.#runs} where occurrence_id = ${occurrenceId}`;
  }

  /**
   * A job's finished entries in ascending sequence, in one statement (one snapshot): no row when
   * the job does not exist, one row of nulls (`job_id` null) when it has no entry.
   */
  history(jobId: string, fromSequence: number | undefined, limit: number | undefined): Query {
    return sql<Row>`select h.* from ${this.#jobs} as j
      left join lateral (
        select * from ${this.#runs} as r
        where r.job_id = j.id and r.status <> 'running' and r.sequence >= ${fromSequence ?? 0}
        order by r.sequence desc
        limit ${limit ?? null}
      ) as h on true
      where j.id = ${jobId}
      order by h.sequence`;
  }

  /** Running entries, optionally of one job, oldest first. */
  runningRuns(jobId: string | undefined): Query {
    return sql<Row>`select * from ${this.#runs}
      where status = 'running' ${jobId === undefined ? sql`` : sql`and job_id = ${jobId}`}
      order by started_at, job_id, sequence`;
  }

  // --- retention -------------------------------------------------------------------------------

  /** Deletes finished entries that finished before `cutoff`. */
  pruneHistoryByAge(cutoff: number): Query {
    return sql<Row>`delete from ${this.#runs} where status <> 'running' and finished_at < ${cutoff}`;
  }

  /** Deletes finished entries beyond the newest `limit` of every job. */
  pruneHistoryByCount(limit: number): Query {
    const R = this.#runs;
    return sql<Row>`delete from ${R} as r
      using (
        select occurrence_id from (
          select occurrence_id,
            row_number() over (partition by job_id order by sequence desc) as position
          from ${R} where status <> 'running'
        ) as ranked
        where position > ${limit}
      ) as old
      where r.occurrence_id = old.occurrence_id`;
  }

  /** Deletes the ledgers of the jobs {@link Queries.pruneJobs} deletes (runs first: the lock order). */
  pruneJobLedgers(finishedBefore: number): Query {
    return sql<Row>`delete from ${this.#runs} where job_id in (${this.#prunable(finishedBefore)})`;
  }

  /** Deletes terminal jobs with no running entry, last updated before `finishedBefore`. */
  pruneJobs(finishedBefore: number): Query {
    return sql<Row>`delete from ${this.#jobs} where id in (${this.#prunable(finishedBefore)})`;
  }

  #prunable(before: number): RawBuilder<unknown> {
    return sql`select j.id from ${this.#jobs} as j
      where j.state in ('completed', 'canceled', 'removed', 'stopped') and j.updated_at < ${before}
        and not exists (select 1 from ${this.#runs} as r
                         where r.job_id = j.id and r.status = 'running')`;
  }
}

/** `where` of the job lists: by ids and states, an empty list meaning all. */
function whereJobs(ids: readonly string[], states: readonly string[]): RawBuilder<unknown> {
  const conditions: Array<RawBuilder<unknown>> = [];
  if (ids.length > 0) conditions.push(sql`id = any(${ids}::text[])`);
  if (states.length > 0) conditions.push(sql`state = any(${states}::text[])`);
  return conditions.length === 0 ? sql`` : sql`where ${sql.join(conditions, sql` and `)}`;
}
