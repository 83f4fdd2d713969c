/**
 * The store's operations, each written once as a generator of compiled queries (see
 * `connection.ts` for how they run). Each one is a whole transaction: it reads, decides and writes
 * without anything else touching the database in between.
 *
 * @module
 */

import {
  type ClaimResult,
  type ExpiredRunsClaim,
  type HistoryQuery,
  type HistoryRetention,
  isTerminalState,
  JobExistsError,
  type JobQuery,
  type JobRecord,
  type JobRetention,
  type JobState,
  type NewJob,
  type OccurrenceClaim,
  positiveCount,
  type RunCompletion,
  type RunLease,
  type RunRecord,
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
import { runToJson, runToRow, toJob, toRun } from './rows.js';
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

const ACTIVE_STATES: readonly JobState[] = ['scheduled', 'running'];

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

/**
 * `column in (<the JSON array's values>)`: one parameter whatever the list's length, so the SQL text
 * (and its cached statement) is the same for every list, and there is no bound-variable limit.
 */
function inList(column: 'id' | 'state', values: readonly string[]): Expression<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(values)}))`;
}

function selectJob(id: string) {
  return db.selectFrom('again_jobs').selectAll().where('id', '=', id);
}

/** The state of a job that is not terminal, from what is running and what is next. */
function liveState(activeRuns: number, nextRunAt: number | null): JobState {
  if (activeRuns > 0) return 'running';
  return nextRunAt === null ? 'completed' : 'scheduled';
}

/**
 * Deletes finished entries beyond the newest `limit` of their job (of one job, or of every job);
 * returns how many. An entry goes when its sequence is below the `limit`-th newest of its job.
 */
function* trimByCount(limit: number, jobId?: string): Op<number> {
  let query = db
    .deleteFrom('again_runs as r')
    .where('r.status', '!=', 'running')
    .where('r.sequence', '<', (eb) => {
      const newer = eb
        .selectFrom('again_runs as newer')
        .select('newer.sequence')
        .where('newer.status', '!=', 'running');
      // One job: a plain subquery, evaluated once. Every job: correlated with the outer row.
      return (
        jobId === undefined
          ? newer.whereRef('newer.job_id', '=', 'r.job_id')
          : newer.where('newer.job_id', '=', jobId)
      )
        .orderBy('newer.sequence', 'desc')
        .limit(1)
        .offset(limit - 1);
    });
  if (jobId !== undefined) query = query.where('r.job_id', '=', jobId);
  return yield* exec(query);
}

/** Deletes finished entries (of one job, or all) that finished before `cutoff`; returns how many. */
function* trimByAge(cutoff: number, jobId?: string): Op<number> {
  let query = db
    .deleteFrom('again_runs')
    .where('finished_at', '<', cutoff)
    .where('status', '!=', 'running');
  if (jobId !== undefined) query = query.where('job_id', '=', jobId);
  return yield* exec(query);
}

/** Applies the history limit of a write plus the configured retention to one job. */
function* retainOnWrite(
  jobId: string,
  historyLimit: number | undefined,
  now: number,
  retention: WriteRetention,
): Op<void> {
  const limit = positiveCount(historyLimit) ?? retention.defaultHistoryLimit;
  yield* trimByCount(Math.min(limit, retention.historyMaxRowsPerJob), jobId);
  if (Number.isFinite(retention.historyMaxAge)) {
    yield* trimByAge(now - retention.historyMaxAge, jobId);
  }
}

/** See `JobStore.createJob`. */
export function* createJob(job: NewJob): Op<JobRecord> {
  const existing = yield* first(
    db.selectFrom('again_jobs').select(['state', 'fence']).where('id', '=', job.id),
  );
  let fence = 0;
  if (existing !== undefined) {
    const previous = toJobHead(existing);
    if (!isTerminalState(previous.state)) throw new JobExistsError(job.id);
    // A new incarnation: its ledger goes, its fence moves on so no old lease can ever match.
    fence = previous.fence + 1;
    yield* exec(db.deleteFrom('again_runs').where('job_id', '=', job.id));
    yield* exec(db.deleteFrom('again_jobs').where('id', '=', job.id));
  }
  const row = {
    id: job.id,
    spec: JSON.stringify(job.spec),
    state: liveState(0, job.nextRunAt),
    next_run_at: job.nextRunAt,
    fence,
    sequence: 0,
    started: 0,
    runs: 0,
    active_runs: 0,
    created_at: job.now,
    updated_at: job.now,
    last_run: null,
  };
  yield* exec(db.insertInto('again_jobs').values(row));
  return toJob(row);
}

// The state and fence of a job row, checked like a whole row would be.
function toJobHead(row: Row): { state: JobState; fence: number } {
  return toJob({
    id: '',
    spec: '{}',
    next_run_at: null,
    sequence: 0,
    started: 0,
    runs: 0,
    active_runs: 0,
    created_at: 0,
    updated_at: 0,
    last_run: null,
    ...row,
  });
}

/** See `JobStore.getJob`. */
export function* getJob(id: string): Op<JobRecord | undefined> {
  const row = yield* first(selectJob(id));
  return row === undefined ? undefined : toJob(row);
}

/** See `JobStore.queryJobs`. */
export function* queryJobs(query: JobQuery): Op<JobRecord[]> {
  let select = db.selectFrom('again_jobs').selectAll();
  if (query.ids !== undefined && query.ids.length > 0)
    select = select.where(inList('id', query.ids));
  if (query.states !== undefined && query.states.length > 0) {
    select = select.where(inList('state', query.states));
  }
  const offset =
    query.offset !== undefined && query.offset > 0 && Number.isFinite(query.offset)
      ? Math.floor(query.offset)
      : 0;
  // SQLite needs a LIMIT before an OFFSET; -1 means none.
  const limit = positiveCount(query.limit) ?? -1;
  const rows = yield* all(select.orderBy('id').limit(limit).offset(offset));
  return rows.map(toJob);
}

/** See `JobStore.countJobs`. */
export function* countJobs(states: readonly JobState[] | undefined): Op<number> {
  let select = db.selectFrom('again_jobs').select((eb) => eb.fn.countAll<number>().as('count'));
  if (states !== undefined && states.length > 0) select = select.where(inList('state', states));
  const row = yield* first(select);
  return Number(row?.count ?? 0);
}

/** See `JobStore.jobIds`. */
export function* jobIds(states: readonly JobState[] | undefined): Op<string[]> {
  let select = db.selectFrom('again_jobs').select('id');
  if (states !== undefined && states.length > 0) select = select.where(inList('state', states));
  const rows = yield* all(select.orderBy('id'));
  return rows.map((row) => String(row.id));
}

/** See `JobStore.endJob`. */
export function* endJob(
  id: string,
  state: TerminalJobState,
  now: number,
): Op<JobRecord | undefined> {
  const row = yield* first(selectJob(id));
  if (row === undefined) return undefined;
  const job = toJob(row);
  // A terminal job keeps its state unless `removed` overrides it; a call that changes nothing
  // writes nothing.
  if (isTerminalState(job.state) && (state !== 'removed' || job.state === 'removed')) return job;
  const changes = { state, next_run_at: null, updated_at: now };
  yield* exec(db.updateTable('again_jobs').set(changes).where('id', '=', id));
  return toJob({ ...row, ...changes });
}

/** See `JobStore.dueJobs`. */
export function* dueJobs(now: number, limit: number): Op<JobRecord[]> {
  if (!(limit > 0)) return [];
  const rows = yield* all(
    db
      .selectFrom('again_jobs')
      .selectAll()
      .where('state', 'in', ACTIVE_STATES)
      .where('next_run_at', '<=', now)
      .orderBy('next_run_at')
      .orderBy('id')
      .limit(positiveCount(limit) ?? -1),
  );
  return rows.map(toJob);
}

/** See `JobStore.nextDueAt`. */
export function* nextDueAt(): Op<number | null> {
  const row = yield* first(
    db
      .selectFrom('again_jobs')
      .select((eb) => eb.fn.min('next_run_at').as('at'))
      .where('state', 'in', ACTIVE_STATES),
  );
  const at = row?.at;
  return at === null || at === undefined ? null : Number(at);
}

/** See `JobStore.claimOccurrence`. */
export function* claimOccurrence(
  claim: OccurrenceClaim,
  retention: WriteRetention,
): Op<ClaimResult | null> {
  const row = yield* first(selectJob(claim.jobId));
  if (row === undefined) return null;
  const job = toJob(row);
  if (isTerminalState(job.state) || job.nextRunAt !== claim.expectedNextRunAt) return null;

  const skipped = claim.skipped ?? [];
  const entries = [...skipped, ...(claim.run === undefined ? [] : [claim.run])];
  // An occurrence already in the ledger was handled before: the claim loses, writing nothing.
  for (const entry of entries) {
    const taken = yield* first(
      db
        .selectFrom('again_runs')
        .select('occurrence_id')
        .where((eb) =>
          eb.or([
            eb('occurrence_id', '=', entry.occurrenceId),
            eb.and([eb('job_id', '=', claim.jobId), eb('scheduled_at', '=', entry.scheduledAt)]),
          ]),
        )
        .limit(1),
    );
    if (taken !== undefined) return null;
  }

  const fence = job.fence + 1;
  let sequence = job.sequence;
  for (const entry of skipped) {
    sequence += 1;
    const skippedRun: RunRecord = {
      jobId: claim.jobId,
      scheduledAt: entry.scheduledAt,
      occurrenceId: entry.occurrenceId,
      sequence,
      fence,
      status: 'skipped',
      owner: null,
      leaseUntil: null,
      startedAt: null,
      finishedAt: claim.now,
      reason: entry.reason,
      result: null,
    };
    yield* exec(db.insertInto('again_runs').values(runToRow(skippedRun)));
  }
  let run: RunRecord | null = null;
  if (claim.run !== undefined) {
    sequence += 1;
    run = {
      jobId: claim.jobId,
      scheduledAt: claim.run.scheduledAt,
      occurrenceId: claim.run.occurrenceId,
      sequence,
      fence,
      status: 'running',
      owner: claim.run.owner,
      leaseUntil: claim.run.leaseUntil,
      startedAt: claim.now,
      finishedAt: null,
      reason: null,
      result: null,
    };
    yield* exec(db.insertInto('again_runs').values(runToRow(run)));
  }
  const started = job.started + (run === null ? 0 : 1);
  const activeRuns = job.activeRuns + (run === null ? 0 : 1);
  const changes = {
    fence,
    sequence,
    started,
    active_runs: activeRuns,
    next_run_at: claim.nextRunAt,
    state: liveState(activeRuns, claim.nextRunAt),
    updated_at: claim.now,
  };
  yield* exec(db.updateTable('again_jobs').set(changes).where('id', '=', claim.jobId));
  if (skipped.length > 0)
    yield* retainOnWrite(claim.jobId, claim.historyLimit, claim.now, retention);
  return { job: toJob({ ...row, ...changes }), run };
}

/** See `JobStore.renewLease`. One statement: atomic without a transaction. */
export function* renewLease(lease: RunLease, leaseUntil: number): Op<boolean> {
  const changed = yield* exec(
    db
      .updateTable('again_runs')
      .set({ lease_until: leaseUntil })
      .where('occurrence_id', '=', lease.occurrenceId)
      .where('owner', '=', lease.owner)
      .where('fence', '=', lease.fence)
      .where('status', '=', 'running'),
  );
  return changed > 0;
}

/** See `JobStore.completeRun`. */
export function* completeRun(completion: RunCompletion, retention: WriteRetention): Op<boolean> {
  // Fenced: only the lease's holder, under the fence it holds, finishes a running entry.
  const row = yield* first(
    db
      .updateTable('again_runs')
      .set({
        status: completion.status,
        lease_until: null,
        finished_at: completion.finishedAt,
        reason: completion.reason ?? null,
        result: completion.result === null ? null : JSON.stringify(completion.result),
      })
      .where('occurrence_id', '=', completion.occurrenceId)
      .where('owner', '=', completion.owner)
      .where('fence', '=', completion.fence)
      .where('status', '=', 'running')
      .returningAll(),
  );
  if (row === undefined) return false;
  const finished = toRun(row);
  const jobRow = yield* first(selectJob(finished.jobId));
  if (jobRow !== undefined) {
    const job = toJob(jobRow);
    const activeRuns = Math.max(0, job.activeRuns - 1);
    yield* exec(
      db
        .updateTable('again_jobs')
        .set({
          runs: job.runs + 1,
          active_runs: activeRuns,
          last_run: runToJson(finished),
          state: isTerminalState(job.state) ? job.state : liveState(activeRuns, job.nextRunAt),
          updated_at: completion.finishedAt,
        })
        .where('id', '=', finished.jobId),
    );
  }
  yield* retainOnWrite(finished.jobId, completion.historyLimit, completion.finishedAt, retention);
  return true;
}

/** See `JobStore.claimExpiredRuns`. */
export function* claimExpiredRuns(
  claim: ExpiredRunsClaim,
): Op<Array<{ job: JobRecord; run: RunRecord }>> {
  if (!(claim.limit > 0)) return [];
  const expired = (yield* all(
    db
      .selectFrom('again_runs')
      .selectAll()
      .where('status', '=', 'running')
      .where('lease_until', '<', claim.now)
      .orderBy('lease_until')
      .orderBy('job_id')
      .orderBy('sequence')
      .limit(positiveCount(claim.limit) ?? -1),
  )).map(toRun);
  const taken: RunRecord[] = [];
  for (const run of expired) {
    const bumped = yield* first(
      db
        .updateTable('again_jobs')
        .set((eb) => ({ fence: eb('fence', '+', 1), updated_at: claim.now }))
        .where('id', '=', run.jobId)
        .returning('fence'),
    );
    // A run always has its job (the ledger is deleted with it); if not, fence the run on its own.
    const fence = bumped === undefined ? run.fence + 1 : Number(bumped.fence);
    yield* exec(
      db
        .updateTable('again_runs')
        .set({ owner: claim.owner, fence, lease_until: claim.leaseUntil })
        .where('occurrence_id', '=', run.occurrenceId),
    );
    taken.push({ ...run, owner: claim.owner, fence, leaseUntil: claim.leaseUntil });
  }
  const result: Array<{ job: JobRecord; run: RunRecord }> = [];
  for (const run of taken) {
    const jobRow = yield* first(selectJob(run.jobId));
    if (jobRow !== undefined) result.push({ job: toJob(jobRow), run });
  }
  return result;
}

/** See `JobStore.getRun`. */
export function* getRun(occurrenceId: string): Op<RunRecord | undefined> {
  const row = yield* first(
    db.selectFrom('again_runs').selectAll().where('occurrence_id', '=', occurrenceId),
  );
  return row === undefined ? undefined : toRun(row);
}

/** See `JobStore.history`. */
export function* history(jobId: string, query: HistoryQuery): Op<RunRecord[] | undefined> {
  const job = yield* first(db.selectFrom('again_jobs').select('id').where('id', '=', jobId));
  if (job === undefined) return undefined;
  let select = db
    .selectFrom('again_runs')
    .selectAll()
    .where('job_id', '=', jobId)
    .where('status', '!=', 'running');
  if (query.fromSequence !== undefined && query.fromSequence > 0) {
    select = select.where('sequence', '>=', query.fromSequence);
  }
  const limit = positiveCount(query.limit);
  if (limit !== undefined) {
    // The last `limit` entries, read newest first, returned oldest first.
    const rows = yield* all(select.orderBy('sequence', 'desc').limit(limit));
    return rows.map(toRun).reverse();
  }
  return (yield* all(select.orderBy('sequence'))).map(toRun);
}

/** See `JobStore.runningRuns`. */
export function* runningRuns(jobId: string | undefined): Op<RunRecord[]> {
  let select = db.selectFrom('again_runs').selectAll().where('status', '=', 'running');
  if (jobId !== undefined) select = select.where('job_id', '=', jobId);
  const rows = yield* all(select.orderBy('started_at').orderBy('job_id').orderBy('sequence'));
  return rows.map(toRun);
}

/** See `JobStore.pruneHistory`: the age pass over all jobs, then the count pass per job. */
export function* pruneHistory(retention: HistoryRetention): Op<number> {
  let deleted = 0;
  if (retention.maxAge !== undefined && retention.maxAge > 0 && Number.isFinite(retention.maxAge)) {
    deleted += yield* trimByAge(retention.now - retention.maxAge);
  }
  const maxRows = positiveCount(retention.maxRowsPerJob);
  if (maxRows !== undefined) {
    deleted += yield* trimByCount(maxRows);
  }
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
export function* pruneJobs(retention: JobRetention): Op<number> {
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
  return rows.map((row) => String(row.name));
}
