/**
 * The driver's operations, each written once as a generator of compiled queries (see
 * `connection.ts` for how they run). Each one is a whole transaction: it reads, decides and writes
 * without anything else touching the database in between.
 *
 * Batches (a claim's due jobs, a renewal's leases, completions, takeovers) are read and written
 * with a constant number of statements, whatever their size: lists go to SQLite as one JSON
 * parameter, expanded with `json_each`, so the SQL text (and its cached prepared statement) is
 * the same for every batch and SQLite's limit on bound parameters never applies.
 *
 * @module
 */

import {
  type ClaimedRunRow,
  CorruptRowError,
  type DriverCompletion,
  type DriverDueClaim,
  type DriverDueClaimResult,
  type DriverJobUpdate,
  type DriverNewJob,
  type DriverStartRunResult,
  type DriverTakenOverRun,
  type DuePlan,
  isTerminalState,
  JobExistsError,
  type JobRow,
  type JobState,
  type LeaseRelease,
  type LeaseRenewal,
  type LeaseRenewalRequest,
  type RunRow,
  type RunStart,
  TERMINAL_JOB_STATES,
  type TerminalJobState,
} from '@again/storage';
import {
  type Compilable,
  DummyDriver,
  type Expression,
  Kysely,
  type RawBuilder,
  type SqlBool,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
} from 'kysely';
import type { Op, Row } from './connection.js';
import { DUE_JOB_COLUMNS, type DueJobRow, rowDecoder, toDueJobRow } from './rows.js';
import type { Tables } from './schema.js';

const { int: num, text: str, jobState, toRunRow, toJobRow } = rowDecoder;

/** The retention settings operations apply on write. */
export interface WriteRetention {
  /** The history limit when a call passes none. */
  readonly defaultHistoryLimit: number;
  /** The cap on every history limit (`Infinity`: none). */
  readonly historyMaxRowsPerJob: number;
  /** The maximum age of finished entries in ms (`Infinity`: none). */
  readonly historyMaxAge: number;
}

// Compiles queries only; they run on the store's connection. Stateless, so one instance serves all.
const db = new Kysely<Tables>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new SqliteIntrospector(kysely),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

/**
 * Jobs that can be due. Literal values, not parameters: SQLite uses a partial index only when the
 * query's condition implies the index's at prepare time (`again_jobs_due_order_idx`, migration
 * `0002_batched_claims`, has exactly this condition).
 */
const DUE_STATES = sql<SqlBool>`state in ('scheduled', 'running')`;

/** Running ledger entries; a literal for the partial index `again_runs_lease_idx`. */
const RUNNING = sql<SqlBool>`status = 'running'`;

/** Finished ledger entries; a literal for the partial index `again_runs_history_idx`. */
const FINISHED = sql<SqlBool>`status != 'running'`;

function* all(query: Compilable): Op<Row[]> {
  return (yield query.compile()).rows;
}

/** A select's rows as arrays of column values, in select order. */
function* arrays(query: Compilable): Op<unknown[][]> {
  return (yield { arrays: query.compile() }).arrays;
}

function* first(query: Compilable): Op<Row | undefined> {
  return (yield* all(query))[0];
}

function* exec(query: Compilable): Op<number> {
  return (yield query.compile()).changes;
}

/** A raw `sql` query, compiled for SQLite. */
function raw(query: RawBuilder<unknown>): Compilable {
  return { compile: () => query.compile(db) };
}

/** A list as one JSON parameter (expanded in SQL with `json_each`). */
function json(values: readonly unknown[]): RawBuilder<unknown> {
  return sql`${JSON.stringify(values)}`;
}

/**
 * `column in (<the list's values>)`: one parameter whatever the list's length, so the SQL text
 * (and its cached statement) is the same for every list, and there is no bound-variable limit.
 */
function inList(
  column: 'id' | 'state' | 'occurrence_id',
  values: readonly string[],
): Expression<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${json(values)}))`;
}

function selectJob(id: string) {
  return db.selectFrom('again_jobs').selectAll().where('id', '=', id);
}

/** The state of a live job (neither paused nor terminal), from what runs and what is next. */
function liveState(activeRuns: number, nextRunAt: number | null): JobState {
  if (activeRuns > 0) return 'running';
  return nextRunAt === null ? 'completed' : 'scheduled';
}

/** Whether a job takes its state from its runs and next occurrence (not paused, not terminal). */
function isLive(state: JobState): boolean {
  return state === 'scheduled' || state === 'running';
}

/**
 * A ledger entry `r` as the JSON object of a job's `last_run` copy (the format `toRunRow` reads;
 * its `result` and `callback` stay JSON text inside it).
 */
const LAST_RUN_OF_R = sql.raw(`json_object('occurrence_id', r.occurrence_id, 'job_id', r.job_id,
  'scheduled_at', r.scheduled_at, 'sequence', r.sequence, 'fence', r.fence, 'status', r.status,
  'owner', r.owner, 'lease_until', r.lease_until, 'started_at', r.started_at,
  'finished_at', r.finished_at, 'reason', r.reason, 'result', r.result,
  'triggered', r.triggered, 'callback', r.callback)`);

/** The history limit a write applies: the call's, else the default, capped by the configuration. */
function effectiveLimit(historyLimit: number | undefined, retention: WriteRetention): number {
  return Math.min(historyLimit ?? retention.defaultHistoryLimit, retention.historyMaxRowsPerJob);
}

/**
 * Deletes finished entries beyond the newest `limit` of every job; returns how many. An entry goes
 * when its sequence is below the `limit`-th newest of its job (a correlated subquery: maintenance,
 * not a hot path).
 */
function* trimAllByCount(limit: number): Op<number> {
  return yield* exec(
    db
      .deleteFrom('again_runs as r')
      .where(FINISHED)
      .where('r.sequence', '<', (eb) =>
        eb
          .selectFrom('again_runs as newer')
          .select('newer.sequence')
          .where(sql<SqlBool>`newer.status != 'running'`)
          .whereRef('newer.job_id', '=', 'r.job_id')
          .orderBy('newer.sequence', 'desc')
          .limit(1)
          .offset(limit - 1),
      ),
  );
}

/** Deletes finished entries of every job that finished before `cutoff`; returns how many. */
function* trimAllByAge(cutoff: number): Op<number> {
  return yield* exec(db.deleteFrom('again_runs').where('finished_at', '<', cutoff).where(FINISHED));
}

/**
 * Keeps the newest `limit` finished entries of each listed job: one read finds, per job, the
 * sequence of its `limit`-th newest finished entry (walking its `(job_id, sequence)` index from
 * the top), one delete removes the finished entries below it.
 */
function* trimJobsByCount(jobIds: readonly string[], limit: number): Op<void> {
  const cuts = yield* all(
    raw(sql`select e.value as job_id,
        (select n.sequence from again_runs as n
          where n.job_id = e.value and n.status != 'running'
          order by n.sequence desc limit 1 offset ${limit - 1}) as cut
      from json_each(${json(jobIds)}) as e`),
  );
  const below: Array<[string, number]> = [];
  for (const row of cuts) if (row.cut !== null) below.push([str(row, 'job_id'), num(row, 'cut')]);
  if (below.length === 0) return;
  yield* exec(
    raw(sql`delete from again_runs where occurrence_id in (
      select r.occurrence_id from json_each(${json(below)}) as e
        join again_runs as r on r.job_id = e.value ->> 0 and r.sequence < e.value ->> 1
       where r.status != 'running')`),
  );
}

/** Deletes the finished entries of each listed job that finished before its cutoff. */
function* trimJobsByAge(cutoffs: ReadonlyArray<readonly [string, number]>): Op<void> {
  yield* exec(
    raw(sql`delete from again_runs where occurrence_id in (
      select r.occurrence_id from json_each(${json(cutoffs)}) as e
        join again_runs as r on r.job_id = e.value ->> 0
       where r.status != 'running' and r.finished_at < e.value ->> 1)`),
  );
}

/** See `JobStore.createJob`. */
export function* createJob(job: DriverNewJob): Op<JobRow> {
  const existing = yield* first(
    db.selectFrom('again_jobs').select(['state', 'fence']).where('id', '=', job.id),
  );
  let fence = 0;
  if (existing !== undefined) {
    if (!isTerminalState(jobState(existing))) throw new JobExistsError(job.id);
    // A new incarnation: its ledger goes, its fence moves on so no old lease can ever match.
    fence = num(existing, 'fence') + 1;
    yield* exec(db.deleteFrom('again_runs').where('job_id', '=', job.id));
    yield* exec(db.deleteFrom('again_jobs').where('id', '=', job.id));
  }
  const state = liveState(0, job.nextRunAt);
  yield* exec(
    db.insertInto('again_jobs').values({
      id: job.id,
      spec: job.spec,
      state,
      next_run_at: job.nextRunAt,
      fence,
      sequence: 0,
      started: 0,
      runs: 0,
      active_runs: 0,
      created_at: job.now,
      updated_at: job.now,
      last_run: null,
      revision: 0,
    }),
  );
  return {
    id: job.id,
    spec: job.spec,
    revision: 0,
    state,
    nextRunAt: job.nextRunAt,
    fence,
    sequence: 0,
    started: 0,
    runs: 0,
    activeRuns: 0,
    createdAt: job.now,
    updatedAt: job.now,
    lastRun: null,
  };
}

/** See `JobStore.getJob`. */
export function* getJob(id: string): Op<JobRow | undefined> {
  const row = yield* first(selectJob(id));
  return row === undefined ? undefined : toJobRow(row);
}

/** See `JobStore.queryJobs`. */
export function* queryJobs(query: {
  readonly ids: readonly string[];
  readonly states: readonly JobState[];
  readonly offset: number;
  readonly limit: number | undefined;
}): Op<JobRow[]> {
  let select = db.selectFrom('again_jobs').selectAll();
  if (query.ids.length > 0) select = select.where(inList('id', query.ids));
  if (query.states.length > 0) select = select.where(inList('state', query.states));
  // SQLite needs a LIMIT before an OFFSET; -1 means none.
  const rows = yield* all(
    select
      .orderBy('id')
      .limit(query.limit ?? -1)
      .offset(query.offset),
  );
  return rows.map(toJobRow);
}

/** See `JobStore.countJobs`. */
export function* countJobs(states: readonly JobState[]): Op<number> {
  let select = db.selectFrom('again_jobs').select((eb) => eb.fn.countAll<number>().as('count'));
  if (states.length > 0) select = select.where(inList('state', states));
  const row = yield* first(select);
  return row === undefined ? 0 : num(row, 'count');
}

/** See `JobStore.jobIds`. */
export function* jobIds(states: readonly JobState[]): Op<string[]> {
  let select = db.selectFrom('again_jobs').select('id');
  if (states.length > 0) select = select.where(inList('state', states));
  const rows = yield* all(select.orderBy('id'));
  return rows.map((row) => str(row, 'id'));
}

/** See `JobStore.endJob`. */
export function* endJob(id: string, state: TerminalJobState, now: number): Op<JobRow | undefined> {
  const row = yield* first(selectJob(id));
  if (row === undefined) return undefined;
  const job = toJobRow(row);
  // A terminal job keeps its state unless `removed` overrides it; a call that changes nothing
  // writes nothing.
  if (isTerminalState(job.state) && (state !== 'removed' || job.state === 'removed')) return job;
  yield* exec(
    db
      .updateTable('again_jobs')
      .set({ state, next_run_at: null, updated_at: now })
      .where('id', '=', id),
  );
  return { ...job, state, nextRunAt: null, updatedAt: now };
}

/** See `JobStore.pauseJob`: a live job becomes paused; anything else is left as it is. */
export function* pauseJob(id: string, now: number): Op<JobRow | undefined> {
  const row = yield* first(selectJob(id));
  if (row === undefined) return undefined;
  const job = toJobRow(row);
  if (!isLive(job.state)) return job;
  yield* exec(
    db.updateTable('again_jobs').set({ state: 'paused', updated_at: now }).where('id', '=', id),
  );
  return { ...job, state: 'paused', updatedAt: now };
}

/** See `JobStore.resumeJob`: a paused job takes its live state; anything else is left as it is. */
export function* resumeJob(id: string, now: number): Op<JobRow | undefined> {
  const row = yield* first(selectJob(id));
  if (row === undefined) return undefined;
  const job = toJobRow(row);
  if (job.state !== 'paused') return job;
  const state = liveState(job.activeRuns, job.nextRunAt);
  yield* exec(db.updateTable('again_jobs').set({ state, updated_at: now }).where('id', '=', id));
  return { ...job, state, updatedAt: now };
}

/**
 * See `JobStore.updateJob`: one read of the job and, when it is not terminal and still has the
 * expected revision, one update (the read and the write are one `BEGIN IMMEDIATE` transaction, so
 * no other update can come between them).
 */
export function* updateJob(update: DriverJobUpdate): Op<JobRow | null | undefined> {
  const row = yield* first(selectJob(update.id));
  if (row === undefined) return undefined;
  const job = toJobRow(row);
  if (isTerminalState(job.state) || job.revision !== update.expectedRevision) return null;
  const state = job.state === 'paused' ? 'paused' : liveState(job.activeRuns, update.nextRunAt);
  const revision = job.revision + 1;
  yield* exec(
    db
      .updateTable('again_jobs')
      .set({
        spec: update.spec,
        revision,
        next_run_at: update.nextRunAt,
        state,
        updated_at: update.now,
      })
      .where('id', '=', update.id),
  );
  return {
    ...job,
    spec: update.spec,
    revision,
    nextRunAt: update.nextRunAt,
    state,
    updatedAt: update.now,
  };
}

/**
 * See `JobStore.startRun`: one read of the job, one of the occurrence id, then the triggered entry
 * and the job's counters (fence, sequence, active runs; not `started`).
 */
export function* startRun(start: RunStart): Op<DriverStartRunResult> {
  const row = yield* first(selectJob(start.jobId));
  if (row === undefined) return undefined;
  const job = toJobRow(row);
  if (!isLive(job.state)) return null;
  const taken = yield* first(
    db
      .selectFrom('again_runs')
      .select('occurrence_id')
      .where('occurrence_id', '=', start.occurrenceId),
  );
  if (taken !== undefined) return 'occurrence-exists';
  const run: ClaimedRunRow = {
    jobId: job.id,
    createdAt: job.createdAt,
    revision: job.revision,
    scheduledAt: start.scheduledAt,
    occurrenceId: start.occurrenceId,
    sequence: job.sequence + 1,
    fence: job.fence + 1,
    startedAt: start.now,
    leaseUntil: start.now + start.leaseDuration,
  };
  yield* exec(
    db.insertInto('again_runs').values({
      occurrence_id: run.occurrenceId,
      job_id: run.jobId,
      scheduled_at: run.scheduledAt,
      sequence: run.sequence,
      fence: run.fence,
      status: 'running',
      owner: start.owner,
      lease_until: run.leaseUntil,
      started_at: run.startedAt,
      finished_at: null,
      reason: null,
      result: null,
      triggered: 1,
      callback: null,
    }),
  );
  yield* exec(
    db
      .updateTable('again_jobs')
      .set({
        fence: run.fence,
        sequence: run.sequence,
        active_runs: job.activeRuns + 1,
        state: 'running',
        updated_at: start.now,
      })
      .where('id', '=', job.id),
  );
  return run;
}

/** See `JobStore.nextDueAt`. */
export function* nextDueAt(): Op<number | null> {
  const row = yield* first(
    db
      .selectFrom('again_jobs')
      .select((eb) => eb.fn.min('next_run_at').as('at'))
      .where(DUE_STATES),
  );
  return row === undefined || row.at === null ? null : num(row, 'at');
}

/** What a claim writes, planned from the due jobs and their plans. */
interface ClaimWrites {
  /** Runs to insert: `[occurrenceId, jobId, scheduledAt, sequence, fence]`. */
  readonly runs: Array<[string, string, number, number, number]>;
  /** Skipped entries to insert: the same, then the reason. */
  readonly skipped: Array<[string, string, number, number, number, string]>;
  /**
   * Jobs to update, grouped by what their step adds (`entries added/runs started (0 or 1)/new
   * state`): each group is one statement, its shared values parameters, its jobs
   * `[id, nextRunAt]` in JSON. A claim usually has one group (one run each, no skipped entry).
   */
  readonly jobs: Map<string, Array<[string, number | null]>>;
  /** The runs started, for the result. */
  readonly started: Array<DriverDueClaimResult['runs'][number]>;
  /** Jobs whose plan repeats an occurrence (in the ledger, or earlier in this claim). */
  readonly conflicts: string[];
  /** Jobs that got skipped entries (their history is trimmed). */
  readonly trimmed: string[];
}

/**
 * Plans a claim's writes: every non-null plan of a job not in `taken` moves its job one step
 * (fence + 1, one sequence number per entry). A job repeating an occurrence id that an earlier job
 * of the claim takes is a conflict: occurrence ids are unique in the store.
 */
function claimWrites(
  due: readonly DueJobRow[],
  plans: ReadonlyArray<DuePlan | null>,
  claim: DriverDueClaim,
  taken: ReadonlySet<string>,
): ClaimWrites {
  const { now } = claim;
  const leaseUntil = now + claim.leaseDuration;
  const writes: ClaimWrites = {
    runs: [],
    skipped: [],
    jobs: new Map(),
    started: [],
    conflicts: [],
    trimmed: [],
  };
  const claimedIds = new Set<string>();
  for (const [index, job] of due.entries()) {
    const plan = plans[index];
    if (plan === null || plan === undefined) continue;
    const { run, skipped } = plan;
    if (
      taken.has(job.id) ||
      (run !== null && claimedIds.has(run.occurrenceId)) ||
      skipped.some((entry) => claimedIds.has(entry.occurrenceId))
    ) {
      writes.conflicts.push(job.id);
      continue;
    }
    const fence = job.fence + 1;
    let sequence = job.sequence;
    for (const entry of skipped) {
      claimedIds.add(entry.occurrenceId);
      sequence++;
      writes.skipped.push([
        entry.occurrenceId,
        job.id,
        entry.scheduledAt,
        sequence,
        fence,
        entry.reason,
      ]);
    }
    if (run !== null) {
      claimedIds.add(run.occurrenceId);
      sequence++;
      writes.runs.push([run.occurrenceId, job.id, run.scheduledAt, sequence, fence]);
      writes.started.push({
        jobId: job.id,
        createdAt: job.createdAt,
        revision: job.revision,
        scheduledAt: run.scheduledAt,
        occurrenceId: run.occurrenceId,
        sequence,
        fence,
        startedAt: now,
        leaseUntil,
      });
    }
    const ran = run === null ? 0 : 1;
    const state = liveState(job.activeRuns + ran, plan.nextRunAt);
    const step = `${sequence - job.sequence}/${ran}/${state}`;
    const group = writes.jobs.get(step);
    if (group === undefined) writes.jobs.set(step, [[job.id, plan.nextRunAt]]);
    else group.push([job.id, plan.nextRunAt]);
    if (skipped.length > 0) writes.trimmed.push(job.id);
  }
  return writes;
}

/**
 * Inserts a claim's entries, one statement for the runs and one for the skipped ones (the values
 * all entries share are parameters, not JSON: every field read from JSON costs). With `ifNew`,
 * entries that would repeat an occurrence are left out (`on conflict do nothing`); returns how
 * many were inserted.
 */
function* insertClaimEntries(
  writes: ClaimWrites,
  claim: DriverDueClaim,
  ifNew: boolean,
): Op<number> {
  const orNothing = ifNew ? sql`where true on conflict do nothing` : sql``;
  let inserted = 0;
  if (writes.skipped.length > 0) {
    inserted += yield* exec(
      raw(sql`insert into again_runs (occurrence_id, job_id, scheduled_at, sequence, fence, status,
          finished_at, reason)
        select value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, 'skipped',
          ${claim.now}, value ->> 5
        from json_each(${json(writes.skipped)}) ${orNothing}`),
    );
  }
  if (writes.runs.length > 0) {
    inserted += yield* exec(
      raw(sql`insert into again_runs (occurrence_id, job_id, scheduled_at, sequence, fence, status,
          owner, lease_until, started_at)
        select value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, 'running',
          ${claim.owner}, ${claim.now + claim.leaseDuration}, ${claim.now}
        from json_each(${json(writes.runs)}) ${orNothing}`),
    );
  }
  return inserted;
}

/**
 * The jobs whose plan repeats an occurrence already in the ledger: the same occurrence id, or the
 * same job and scheduled time as a scheduled entry (triggered runs share times freely). Every plan
 * counts, also those of jobs the first pass left out.
 */
function* ledgerConflicts(
  due: readonly DueJobRow[],
  plans: ReadonlyArray<DuePlan | null>,
): Op<Set<string>> {
  const keys: Array<[string, string, number]> = [];
  for (const [index, job] of due.entries()) {
    const plan = plans[index];
    if (plan === null || plan === undefined) continue;
    for (const entry of plan.skipped) keys.push([entry.occurrenceId, job.id, entry.scheduledAt]);
    if (plan.run !== null) keys.push([plan.run.occurrenceId, job.id, plan.run.scheduledAt]);
  }
  const rows = yield* all(
    raw(sql`select distinct e.value ->> 1 as job_id from json_each(${json(keys)}) as e
      where exists (select 1 from again_runs as r where r.occurrence_id = e.value ->> 0)
         or exists (select 1 from again_runs as r
                     where r.job_id = e.value ->> 1 and r.scheduled_at = e.value ->> 2
                       and r.triggered = 0)`),
  );
  return new Set(rows.map((row) => str(row, 'job_id')));
}

/**
 * See `JobStore.claimDue`. One transaction and a constant number of statements: one read of the
 * due jobs (with their specs), then every plan (synchronously, before anything is written), then
 * the entries with one insert per kind (run, skipped), the jobs with one update per kind of step
 * (usually one), and the history trim of the jobs that got skipped entries.
 *
 * Conflicts are found optimistically. An occurrence already in the ledger is rare (the claim
 * moves each job past the occurrences it writes), so the entries are inserted first, `on conflict
 * do nothing`, inside a savepoint. When fewer rows went in than were planned, the savepoint is
 * rolled back, one read finds the jobs whose entries are in the ledger, and the other jobs are
 * written again, now without that clause (any other constraint failure is an error).
 */
export function* claimDue(
  claim: DriverDueClaim,
  retention: WriteRetention,
): Op<DriverDueClaimResult> {
  const { now } = claim;
  const rows = yield* arrays(
    db
      .selectFrom('again_jobs')
      .select(DUE_JOB_COLUMNS)
      .where(DUE_STATES)
      .where('next_run_at', '<=', now)
      .orderBy('next_run_at')
      .orderBy('id')
      .limit(claim.limit),
  );
  const due = rows.map(toDueJobRow);
  // Plan every job before writing anything: a planner that throws leaves the store untouched.
  const plans = due.map((job) => claim.plan(job, now));

  let writes = claimWrites(due, plans, claim, new Set());
  yield* exec(raw(sql`savepoint again_claim`));
  const planned = writes.runs.length + writes.skipped.length;
  if ((yield* insertClaimEntries(writes, claim, true)) !== planned) {
    yield* exec(raw(sql`rollback to again_claim`));
    writes = claimWrites(due, plans, claim, yield* ledgerConflicts(due, plans));
    yield* insertClaimEntries(writes, claim, false);
  }
  yield* exec(raw(sql`release again_claim`));

  for (const [step, jobs] of writes.jobs) {
    const [added, ran, state] = step.split('/');
    yield* exec(
      raw(sql`update again_jobs set fence = fence + 1, sequence = sequence + ${Number(added)},
          started = started + ${Number(ran)}, active_runs = active_runs + ${Number(ran)},
          next_run_at = e.value ->> 1, state = ${state}, updated_at = ${now}
        from json_each(${json(jobs)}) as e
        where again_jobs.id = e.value ->> 0`),
    );
  }
  if (writes.trimmed.length > 0) {
    yield* trimJobsByCount(writes.trimmed, effectiveLimit(claim.historyLimit, retention));
    if (Number.isFinite(retention.historyMaxAge)) {
      const cutoff = now - retention.historyMaxAge;
      yield* trimJobsByAge(writes.trimmed.map((id) => [id, cutoff] as const));
    }
  }
  return { now, examined: due.length, runs: writes.started, conflicts: writes.conflicts };
}

/** See `JobStore.renewLeases`: one read of every lease's entry and job, one update. */
export function* renewLeases(renewal: LeaseRenewalRequest): Op<LeaseRenewal> {
  const { leases } = renewal;
  const rows = yield* all(
    raw(sql`select e.key as i, r.status, r.owner, r.fence, j.state
      from json_each(${json(leases.map((lease) => lease.occurrenceId))}) as e
      left join again_runs as r on r.occurrence_id = e.value
      left join again_jobs as j on j.id = r.job_id`),
  );
  const found: Array<Row | undefined> = [];
  for (const row of rows) found[num(row, 'i')] = row;
  const leaseUntil = renewal.now + renewal.leaseDuration;
  const renewed: string[] = [];
  const lost: Array<LeaseRenewal['lost'][number]> = [];
  for (const [index, lease] of leases.entries()) {
    const row = found[index];
    const { occurrenceId } = lease;
    if (row === undefined || row.status !== 'running') {
      lost.push({ occurrenceId, reason: 'gone' });
    } else if (row.owner !== renewal.owner || num(row, 'fence') !== lease.fence) {
      lost.push({ occurrenceId, reason: 'taken-over' });
    } else {
      renewed.push(occurrenceId);
      if (row.state === 'removed' || row.state === 'canceled') {
        lost.push({ occurrenceId, reason: row.state });
      }
    }
  }
  if (renewed.length > 0) {
    yield* exec(
      db
        .updateTable('again_runs')
        .set({ lease_until: leaseUntil })
        .where(inList('occurrence_id', renewed)),
    );
  }
  return { now: renewal.now, leaseUntil, lost };
}

/** A recorded completion and the job of its entry. */
interface Recorded {
  readonly completion: DriverCompletion;
  readonly jobId: string;
  readonly limit: number;
}

/** The columns `completeRuns` reads of each entry, in array order. */
const COMPLETED_COLUMNS = ['occurrence_id', 'job_id', 'status', 'owner', 'fence'] as const;

/**
 * See `JobStore.completeRuns`. One transaction: one read of the entries (fenced: only the lease's
 * holder, under the fence it holds, finishes a running entry), then per round one update of the
 * entries, one of their jobs (counters, state and the `last_run` copy computed by SQLite from the
 * rows just written) and the history trims.
 *
 * The history limit applies after each completion, as if they were recorded one by one. That is
 * one round when every completion of a job has the same limit (the usual case: keeping the newest
 * `limit` entries after each of them keeps the newest `limit` in the end). When one job's
 * completions have different limits, its k-th completion is recorded in round k.
 */
export function* completeRuns(
  completions: readonly DriverCompletion[],
  retention: WriteRetention,
): Op<boolean[]> {
  const rows = yield* arrays(
    db
      .selectFrom('again_runs')
      .select(COMPLETED_COLUMNS)
      .where(
        inList(
          'occurrence_id',
          completions.map((completion) => completion.occurrenceId),
        ),
      ),
  );
  const entries = new Map<unknown, unknown[]>();
  for (const row of rows) entries.set(row[0], row);
  const results: boolean[] = [];
  const byJob = new Map<string, Recorded[]>();
  for (const completion of completions) {
    const row = entries.get(completion.occurrenceId);
    const ok =
      row !== undefined &&
      row[2] === 'running' &&
      row[3] === completion.owner &&
      Number(row[4]) === completion.fence;
    results.push(ok);
    if (!ok) continue;
    const jobId = row[1];
    if (typeof jobId !== 'string') throw new CorruptRowError('column job_id is not text');
    const recorded = {
      completion,
      jobId,
      limit: effectiveLimit(completion.historyLimit, retention),
    };
    const list = byJob.get(jobId);
    if (list === undefined) byJob.set(jobId, [recorded]);
    else list.push(recorded);
  }
  // Round k holds the k-th completion of each job whose limits differ (round k - 1 exists by then,
  // so a missing round is always the next one) and every completion of the other jobs (round 0).
  const rounds: Recorded[][] = [];
  for (const list of byJob.values()) {
    const uniform = list.every((recorded) => recorded.limit === list[0]?.limit);
    for (const [index, recorded] of list.entries()) {
      const round = rounds[uniform ? 0 : index];
      if (round === undefined) rounds.push([recorded]);
      else round.push(recorded);
    }
  }
  for (const round of rounds) yield* recordRound(round, retention);
  return results;
}

/** Writes one round of completions (at most one limit per job in it), with the history trims. */
function* recordRound(round: readonly Recorded[], retention: WriteRetention): Op<void> {
  yield* exec(
    raw(sql`update again_runs set status = e.value ->> 1, finished_at = e.value ->> 2,
        result = e.value ->> 3, reason = e.value ->> 4, lease_until = null
      from json_each(${json(
        round.map(({ completion: c }) => [
          c.occurrenceId,
          c.status,
          c.finishedAt,
          c.result,
          c.reason,
        ]),
      )}) as e
      where again_runs.occurrence_id = e.value ->> 0`),
  );
  // Per job: how many finished, the last of them (its `last_run`), the latest finish, the limit.
  const jobs = new Map<string, { count: number; last: string; latest: number; limit: number }>();
  for (const { completion, jobId, limit } of round) {
    const job = jobs.get(jobId);
    if (job === undefined) {
      jobs.set(jobId, {
        count: 1,
        last: completion.occurrenceId,
        latest: completion.finishedAt,
        limit,
      });
    } else {
      job.count++;
      job.last = completion.occurrenceId;
      job.latest = Math.max(job.latest, completion.finishedAt);
    }
  }
  const values = [...jobs].map(([id, job]) => [id, job.count, job.last, job.latest]);
  // A terminal or paused job keeps its state; a live one completes when nothing runs and nothing
  // is next.
  // `last_run` is the finished entry's row as a JSON object (the format `toJobRow` reads).
  yield* exec(
    raw(sql`update again_jobs set runs = runs + (e.value ->> 1),
        active_runs = max(active_runs - (e.value ->> 1), 0),
        state = case
          when state not in ('scheduled', 'running') then state
          when active_runs - (e.value ->> 1) > 0 then 'running'
          when next_run_at is null then 'completed'
          else 'scheduled' end,
        updated_at = max(updated_at, e.value ->> 3),
        last_run = (select ${LAST_RUN_OF_R} from again_runs as r
          where r.occurrence_id = e.value ->> 2)
      from json_each(${json(values)}) as e
      where again_jobs.id = e.value ->> 0`),
  );
  const byLimit = new Map<number, string[]>();
  for (const [id, { limit }] of jobs) {
    const ids = byLimit.get(limit);
    if (ids === undefined) byLimit.set(limit, [id]);
    else ids.push(id);
  }
  for (const [limit, ids] of byLimit) yield* trimJobsByCount(ids, limit);
  if (Number.isFinite(retention.historyMaxAge)) {
    yield* trimJobsByAge(
      [...jobs].map(([id, { latest }]) => [id, latest - retention.historyMaxAge] as const),
    );
  }
}

/**
 * See `JobStore.claimExpiredRuns`: one read of the expired entries (by the partial lease index),
 * one of their jobs, one update of each. Every takeover bumps its job's fence, so two runs of one
 * job taken together get two fences.
 */
export function* claimExpiredRuns(claim: {
  readonly owner: string;
  readonly now: number;
  readonly leaseDuration: number;
  readonly limit: number;
}): Op<DriverTakenOverRun[]> {
  const expired = (yield* all(
    db
      .selectFrom('again_runs as r')
      .selectAll('r')
      .where(RUNNING)
      .where('r.lease_until', '<', claim.now)
      // Only entries whose job exists (the ledger is deleted with its job; a stray one is left).
      .where(({ exists, selectFrom }) =>
        exists(selectFrom('again_jobs as j').select('j.id').whereRef('j.id', '=', 'r.job_id')),
      )
      .orderBy('r.lease_until')
      .orderBy('r.job_id')
      .orderBy('r.sequence')
      .limit(claim.limit),
  )).map(toRunRow);
  if (expired.length === 0) return [];
  const jobs = new Map<string, JobRow>();
  const jobRows = yield* all(
    db
      .selectFrom('again_jobs')
      .selectAll()
      .where(inList('id', [...new Set(expired.map((run) => run.jobId))])),
  );
  for (const row of jobRows) {
    const job = toJobRow(row);
    jobs.set(job.id, job);
  }
  const leaseUntil = claim.now + claim.leaseDuration;
  const taken: DriverTakenOverRun[] = [];
  for (const run of expired) {
    const before = jobs.get(run.jobId);
    if (before === undefined) throw new CorruptRowError(`run ${run.occurrenceId} has no job`);
    if (run.owner === null) {
      throw new CorruptRowError(`running entry ${run.occurrenceId} has no owner`);
    }
    const job: JobRow = {
      ...before,
      fence: before.fence + 1,
      updatedAt: Math.max(before.updatedAt, claim.now),
    };
    jobs.set(job.id, job);
    taken.push({
      job,
      run: { ...run, fence: job.fence, owner: claim.owner, leaseUntil },
      previousOwner: run.owner,
    });
  }
  yield* exec(
    raw(sql`update again_runs set owner = ${claim.owner}, lease_until = ${leaseUntil},
        fence = e.value ->> 1
      from json_each(${json(taken.map(({ run }) => [run.occurrenceId, run.fence]))}) as e
      where again_runs.occurrence_id = e.value ->> 0`),
  );
  const finalJobs = [...new Set(taken.map(({ job }) => job.id))].map((id) => {
    const job = jobs.get(id) as JobRow;
    return [id, job.fence, job.updatedAt];
  });
  yield* exec(
    raw(sql`update again_jobs set fence = e.value ->> 1, updated_at = e.value ->> 2
      from json_each(${json(finalJobs)}) as e
      where again_jobs.id = e.value ->> 0`),
  );
  return taken;
}

/**
 * See `JobStore.releaseLeases`: one update of the leases still held (running, same owner and
 * fence), which expire at once; returns how many.
 */
export function* releaseLeases(release: LeaseRelease): Op<number> {
  return yield* exec(
    raw(sql`update again_runs set lease_until = ${release.now - 1}
      from json_each(${json(release.leases.map((lease) => [lease.occurrenceId, lease.fence]))}) as e
      where again_runs.occurrence_id = e.value ->> 0 and again_runs.fence = e.value ->> 1
        and again_runs.status = 'running' and again_runs.owner = ${release.owner}`),
  );
}

/**
 * See `JobStore.recordCallback`: one read of the entry; when it is finished, one update of it and
 * one of its job's `last_run` copy when the copy is that entry.
 */
export function* recordCallback(record: {
  readonly occurrenceId: string;
  readonly callback: string;
}): Op<boolean> {
  const entry = yield* first(
    db
      .selectFrom('again_runs')
      .select(['job_id', 'status'])
      .where('occurrence_id', '=', record.occurrenceId),
  );
  if (entry === undefined || entry.status === 'running' || entry.status === 'skipped') {
    return false;
  }
  yield* exec(
    db
      .updateTable('again_runs')
      .set({ callback: record.callback })
      .where('occurrence_id', '=', record.occurrenceId),
  );
  yield* exec(
    raw(sql`update again_jobs set last_run = (select ${LAST_RUN_OF_R} from again_runs as r
        where r.occurrence_id = ${record.occurrenceId})
      where id = ${str(entry, 'job_id')} and last_run ->> '$.occurrence_id' = ${record.occurrenceId}`),
  );
  return true;
}

/** See `JobStore.getRun`. */
export function* getRun(occurrenceId: string): Op<RunRow | undefined> {
  const row = yield* first(
    db.selectFrom('again_runs').selectAll().where('occurrence_id', '=', occurrenceId),
  );
  return row === undefined ? undefined : toRunRow(row);
}

/** See `JobStore.history`. */
export function* history(
  jobId: string,
  query: { readonly fromSequence: number | undefined; readonly limit: number | undefined },
): Op<RunRow[] | undefined> {
  const job = yield* first(db.selectFrom('again_jobs').select('id').where('id', '=', jobId));
  if (job === undefined) return undefined;
  let select = db.selectFrom('again_runs').selectAll().where('job_id', '=', jobId).where(FINISHED);
  if (query.fromSequence !== undefined) select = select.where('sequence', '>=', query.fromSequence);
  if (query.limit !== undefined) {
    // The last `limit` entries, read newest first, returned oldest first.
    const rows = yield* all(select.orderBy('sequence', 'desc').limit(query.limit));
    return rows.map(toRunRow).reverse();
  }
  return (yield* all(select.orderBy('sequence'))).map(toRunRow);
}

/** See `JobStore.runningRuns`. */
export function* runningRuns(jobId: string | undefined): Op<RunRow[]> {
  let select = db.selectFrom('again_runs').selectAll().where(RUNNING);
  if (jobId !== undefined) select = select.where('job_id', '=', jobId);
  const rows = yield* all(select.orderBy('started_at').orderBy('job_id').orderBy('sequence'));
  return rows.map(toRunRow);
}

/** See `JobStore.pruneHistory`: the age pass over all jobs, then the count pass per job. */
export function* pruneHistory(retention: {
  readonly maxAge: number | undefined;
  readonly maxRowsPerJob: number | undefined;
  readonly now: number;
}): Op<number> {
  let deleted = 0;
  if (retention.maxAge !== undefined)
    deleted += yield* trimAllByAge(retention.now - retention.maxAge);
  if (retention.maxRowsPerJob !== undefined)
    deleted += yield* trimAllByCount(retention.maxRowsPerJob);
  return deleted;
}

/** Terminal jobs with no running entry, last updated before `before`. */
function prunable(before: number) {
  return db
    .selectFrom('again_jobs as j')
    .select('j.id')
    .where('j.state', 'in', TERMINAL_JOB_STATES)
    .where('j.updated_at', '<', before)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('again_runs as r')
            .select('r.occurrence_id')
            .whereRef('r.job_id', '=', 'j.id')
            .where('r.status', '=', 'running'),
        ),
      ),
    );
}

/** See `JobStore.pruneJobs`: the jobs and their ledgers, in one transaction. */
export function* pruneJobs(retention: { readonly finishedBefore: number }): Op<number> {
  yield* exec(
    db.deleteFrom('again_runs').where('job_id', 'in', prunable(retention.finishedBefore)),
  );
  return yield* exec(
    db.deleteFrom('again_jobs').where('id', 'in', prunable(retention.finishedBefore)),
  );
}

/** The names of the migrations applied to the database, or `[]` before the first one. */
export function* appliedMigrations(migrationTable: string): Op<string[]> {
  const table = yield* first(
    raw(sql`select name from sqlite_master where type = 'table' and name = ${migrationTable}`),
  );
  if (table === undefined) return [];
  const rows = yield* all(raw(sql`select name from ${sql.table(migrationTable)}`));
  return rows.map((row) => str(row, 'name'));
}

/** The file of the main database, as SQLite reports it (`''` in memory or temporary). */
export function* databaseFile(): Op<string> {
  const rows = yield* all(raw(sql`select file from pragma_database_list where name = 'main'`));
  const row = rows[0];
  return row === undefined || row.file === null ? '' : str(row, 'file');
}
