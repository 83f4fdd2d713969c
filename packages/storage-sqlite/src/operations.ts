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
  type DriverCompletion,
  type DriverDueClaim,
  type DriverDueClaimResult,
  type DriverNewJob,
  type DriverTakenOverRun,
  type DuePlan,
  isTerminalState,
  JobExistsError,
  type JobRow,
  type JobState,
  type LeaseRenewal,
  type LeaseRenewalRequest,
  type RunRow,
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
import {
  CorruptRowError,
  jobState,
  lastRunJson,
  num,
  str,
  toDueJobRow,
  toJobRow,
  toRunRow,
} from './rows.js';
import type { Tables } from './schema.js';

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
 * `0002_due_order`, has exactly this condition).
 */
const DUE_STATES = sql<SqlBool>`state in ('scheduled', 'running')`;

/** Running ledger entries; a literal for the partial index `again_runs_lease_idx`. */
const RUNNING = sql<SqlBool>`status = 'running'`;

function* all(query: Compilable): Op<Row[]> {
  return (yield query.compile()).rows;
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

/** The state of a job that is not terminal, from what is running and what is next. */
function liveState(activeRuns: number, nextRunAt: number | null): JobState {
  if (activeRuns > 0) return 'running';
  return nextRunAt === null ? 'completed' : 'scheduled';
}

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
      .where('r.status', '!=', 'running')
      .where('r.sequence', '<', (eb) =>
        eb
          .selectFrom('again_runs as newer')
          .select('newer.sequence')
          .where('newer.status', '!=', 'running')
          .whereRef('newer.job_id', '=', 'r.job_id')
          .orderBy('newer.sequence', 'desc')
          .limit(1)
          .offset(limit - 1),
      ),
  );
}

/** Deletes finished entries of every job that finished before `cutoff`; returns how many. */
function* trimAllByAge(cutoff: number): Op<number> {
  return yield* exec(
    db.deleteFrom('again_runs').where('finished_at', '<', cutoff).where('status', '!=', 'running'),
  );
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
    }),
  );
  return {
    id: job.id,
    spec: job.spec,
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

/** A ledger entry to insert, in the column order of {@link insertEntries}. */
type EntryValues = [
  occurrenceId: string,
  jobId: string,
  scheduledAt: number,
  sequence: number,
  fence: number,
  status: 'running' | 'skipped',
  owner: string | null,
  leaseUntil: number | null,
  startedAt: number | null,
  finishedAt: number | null,
  reason: string | null,
];

/** Inserts ledger entries with one statement. */
function* insertEntries(entries: readonly EntryValues[]): Op<void> {
  yield* exec(
    raw(sql`insert into again_runs (occurrence_id, job_id, scheduled_at, sequence, fence, status,
        owner, lease_until, started_at, finished_at, reason)
      select value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
        value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10
      from json_each(${json(entries)})`),
  );
}

/**
 * The jobs among `keys` (`[occurrenceId, jobId, scheduledAt]`) that repeat an occurrence already
 * in the ledger: the same occurrence id, or the same job and scheduled time.
 */
function* ledgerConflicts(keys: ReadonlyArray<readonly [string, string, number]>): Op<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = yield* all(
    raw(sql`select distinct e.value ->> 1 as job_id from json_each(${json(keys)}) as e
      where exists (select 1 from again_runs as r where r.occurrence_id = e.value ->> 0)
         or exists (select 1 from again_runs as r
                     where r.job_id = e.value ->> 1 and r.scheduled_at = e.value ->> 2)`),
  );
  return new Set(rows.map((row) => str(row, 'job_id')));
}

/**
 * See `JobStore.claimDue`. One transaction, a constant number of statements: one read of the due
 * jobs (with their specs), then every plan (synchronously, before anything is written), one read
 * for ledger conflicts, one insert of every entry, one update of every job, and the history trim
 * of the jobs that got skipped entries.
 */
export function* claimDue(
  claim: DriverDueClaim,
  retention: WriteRetention,
): Op<DriverDueClaimResult> {
  const { now, owner } = claim;
  const rows = yield* all(
    db
      .selectFrom('again_jobs')
      .select([
        'id',
        'created_at',
        'next_run_at',
        'started',
        'active_runs',
        'spec',
        'fence',
        'sequence',
      ])
      .where(DUE_STATES)
      .where('next_run_at', '<=', now)
      .orderBy('next_run_at')
      .orderBy('id')
      .limit(claim.limit),
  );
  const due = rows.map(toDueJobRow);
  // Plan every job before writing anything: a planner that throws leaves the store untouched.
  const plans = due.map((job) => claim.plan(job, now));

  const keys: Array<[string, string, number]> = [];
  for (const [index, job] of due.entries()) {
    const plan = plans[index];
    if (plan === null || plan === undefined) continue;
    for (const entry of plan.skipped) keys.push([entry.occurrenceId, job.id, entry.scheduledAt]);
    if (plan.run !== null) keys.push([plan.run.occurrenceId, job.id, plan.run.scheduledAt]);
  }
  const taken = yield* ledgerConflicts(keys);

  const leaseUntil = now + claim.leaseDuration;
  const entries: EntryValues[] = [];
  const jobs: Array<[string, number, number, number, number, number | null, JobState]> = [];
  const runs: Array<DriverDueClaimResult['runs'][number]> = [];
  const conflicts: string[] = [];
  const trimmed: string[] = [];
  // Occurrence ids are unique in the store: two jobs of one batch cannot both take one.
  const claimedIds = new Set<string>();
  for (const [index, job] of due.entries()) {
    const plan = plans[index] as DuePlan | null;
    if (plan === null) continue;
    const planned = plan.run === null ? plan.skipped : [...plan.skipped, plan.run];
    if (taken.has(job.id) || planned.some((entry) => claimedIds.has(entry.occurrenceId))) {
      conflicts.push(job.id);
      continue;
    }
    for (const entry of planned) claimedIds.add(entry.occurrenceId);
    const fence = job.fence + 1;
    let sequence = job.sequence;
    for (const skip of plan.skipped) {
      sequence++;
      entries.push([
        skip.occurrenceId,
        job.id,
        skip.scheduledAt,
        sequence,
        fence,
        'skipped',
        null,
        null,
        null,
        now,
        skip.reason,
      ]);
    }
    let { started, activeRuns } = job;
    if (plan.run !== null) {
      sequence++;
      started++;
      activeRuns++;
      const { occurrenceId, scheduledAt } = plan.run;
      entries.push([
        occurrenceId,
        job.id,
        scheduledAt,
        sequence,
        fence,
        'running',
        owner,
        leaseUntil,
        now,
        null,
        null,
      ]);
      runs.push({
        jobId: job.id,
        createdAt: job.createdAt,
        scheduledAt,
        occurrenceId,
        sequence,
        fence,
        startedAt: now,
        leaseUntil,
      });
    }
    jobs.push([
      job.id,
      fence,
      sequence,
      started,
      activeRuns,
      plan.nextRunAt,
      liveState(activeRuns, plan.nextRunAt),
    ]);
    if (plan.skipped.length > 0) trimmed.push(job.id);
  }

  if (entries.length > 0) yield* insertEntries(entries);
  if (jobs.length > 0) {
    yield* exec(
      raw(sql`update again_jobs set fence = e.value ->> 1, sequence = e.value ->> 2,
          started = e.value ->> 3, active_runs = e.value ->> 4, next_run_at = e.value ->> 5,
          state = e.value ->> 6, updated_at = ${now}
        from json_each(${json(jobs)}) as e
        where again_jobs.id = e.value ->> 0`),
    );
  }
  if (trimmed.length > 0) {
    yield* trimJobsByCount(trimmed, effectiveLimit(claim.historyLimit, retention));
    if (Number.isFinite(retention.historyMaxAge)) {
      const cutoff = now - retention.historyMaxAge;
      yield* trimJobsByAge(trimmed.map((id) => [id, cutoff] as const));
    }
  }
  return { now, examined: due.length, runs, conflicts };
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

/** A job as a batch of completions moves it on. */
interface CompletedJob {
  readonly id: string;
  readonly state: JobState;
  readonly nextRunAt: number | null;
  runs: number;
  activeRuns: number;
  updatedAt: number;
  lastRun: string | null;
}

/** A recorded completion: the call's values and the entry as it becomes. */
interface Recorded {
  readonly completion: DriverCompletion;
  readonly run: RunRow;
  readonly limit: number;
}

/**
 * See `JobStore.completeRuns`. One transaction: one read of the entries (fenced: only the lease's
 * holder, under the fence it holds, finishes a running entry), one read of their jobs, then per
 * round one update of the entries, one of the jobs and the history trims.
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
  const rows = yield* all(
    db
      .selectFrom('again_runs')
      .selectAll()
      .where(
        inList(
          'occurrence_id',
          completions.map((completion) => completion.occurrenceId),
        ),
      ),
  );
  const entries = new Map<string, RunRow>();
  for (const row of rows) {
    const run = toRunRow(row);
    entries.set(run.occurrenceId, run);
  }
  const results: boolean[] = [];
  const byJob = new Map<string, Recorded[]>();
  for (const completion of completions) {
    const run = entries.get(completion.occurrenceId);
    const ok =
      run !== undefined &&
      run.status === 'running' &&
      run.owner === completion.owner &&
      run.fence === completion.fence;
    results.push(ok);
    if (!ok) continue;
    const finished: RunRow = {
      ...run,
      status: completion.status,
      leaseUntil: null,
      finishedAt: completion.finishedAt,
      reason: completion.reason,
      result: completion.result,
    };
    const recorded = {
      completion,
      run: finished,
      limit: effectiveLimit(completion.historyLimit, retention),
    };
    const list = byJob.get(run.jobId);
    if (list === undefined) byJob.set(run.jobId, [recorded]);
    else list.push(recorded);
  }
  if (byJob.size === 0) return results;

  const jobs = new Map<string, CompletedJob>();
  const jobRows = yield* all(
    db
      .selectFrom('again_jobs')
      .select(['id', 'state', 'next_run_at', 'runs', 'active_runs', 'updated_at', 'last_run'])
      .where(inList('id', [...byJob.keys()])),
  );
  for (const row of jobRows) {
    const nextRunAt = row.next_run_at === null ? null : num(row, 'next_run_at');
    jobs.set(str(row, 'id'), {
      id: str(row, 'id'),
      state: jobState(row),
      nextRunAt,
      runs: num(row, 'runs'),
      activeRuns: num(row, 'active_runs'),
      updatedAt: num(row, 'updated_at'),
      lastRun: null,
    });
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
  for (const round of rounds) yield* recordRound(round, jobs, retention);
  return results;
}

/** Writes one round of completions (at most one limit per job in it), with the history trims. */
function* recordRound(
  round: readonly Recorded[],
  jobs: Map<string, CompletedJob>,
  retention: WriteRetention,
): Op<void> {
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
  const touched = new Map<string, CompletedJob>();
  const limits = new Map<number, string[]>();
  const latest = new Map<string, number>();
  for (const { completion, run, limit } of round) {
    const job = jobs.get(run.jobId);
    if (job !== undefined) {
      job.runs++;
      job.activeRuns = Math.max(job.activeRuns - 1, 0);
      job.updatedAt = Math.max(job.updatedAt, completion.finishedAt);
      job.lastRun = lastRunJson(run);
      touched.set(job.id, job);
    }
    if (!latest.has(run.jobId)) {
      const ids = limits.get(limit);
      if (ids === undefined) limits.set(limit, [run.jobId]);
      else ids.push(run.jobId);
    }
    latest.set(run.jobId, Math.max(latest.get(run.jobId) ?? 0, completion.finishedAt));
  }
  if (touched.size > 0) {
    const values = [...touched.values()].map((job) => [
      job.id,
      job.runs,
      job.activeRuns,
      job.lastRun,
      // A terminal job keeps its state; a live one completes when nothing runs and nothing is next.
      isTerminalState(job.state) ? job.state : liveState(job.activeRuns, job.nextRunAt),
      job.updatedAt,
    ]);
    yield* exec(
      raw(sql`update again_jobs set runs = e.value ->> 1, active_runs = e.value ->> 2,
          last_run = e.value ->> 3, state = e.value ->> 4, updated_at = e.value ->> 5
        from json_each(${json(values)}) as e
        where again_jobs.id = e.value ->> 0`),
    );
  }
  for (const [limit, ids] of limits) yield* trimJobsByCount(ids, limit);
  if (Number.isFinite(retention.historyMaxAge)) {
    yield* trimJobsByAge(
      [...latest].map(([id, finishedAt]) => [id, finishedAt - retention.historyMaxAge] as const),
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
    if (run.owner === null)
      throw new CorruptRowError(`running entry ${run.occurrenceId} has no owner`);
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
  let select = db
    .selectFrom('again_runs')
    .selectAll()
    .where('job_id', '=', jobId)
    .where('status', '!=', 'running');
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
