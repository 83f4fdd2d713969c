/**
 * The driver's operations: the logic between the statements of `queries.ts`. Each one is a single
 * statement or one transaction (see `database.ts`), and reads and writes batches with a constant
 * number of statements whatever their size.
 *
 * Lock order, to keep concurrent operations free of deadlocks: ledger entries first (in
 * occurrence-id order), then job rows (in id order). Claims take job rows with `SKIP LOCKED`, so
 * they never wait for a row; completions, takeovers and job replacements take entries, then jobs.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
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
  type TerminalJobState,
} from '@again/storage';
import { type Database, type Executor, sqlState } from './database.js';
import type { PostgresClock } from './options.js';
import type { EntryColumns, Queries } from './queries.js';
import { type DueJobRow, lastRunJson, rowDecoder, toDueJobRow } from './rows.js';

const { int: num, text: str, jobState, toRunRow, toJobRow } = rowDecoder;

/** What every operation works with. */
export interface Context {
  readonly db: Database;
  readonly q: Queries;
  /** Whose clock claims, renewals and takeovers use. */
  readonly clock: PostgresClock;
  /** Whether `createJob`, `resumeJob` and `updateJob` send wake-ups. */
  readonly notifications: boolean;
  /** The history limit when a call passes none. */
  readonly defaultHistoryLimit: number;
}

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7999;

/** The time a claim, renewal or takeover uses: the database's, or the caller's. */
async function timeOf(ctx: Context, on: Executor, callerNow: number): Promise<number> {
  if (ctx.clock === 'caller') return callerNow;
  const [row] = await on.rows(ctx.q.databaseNow());
  if (row === undefined) throw new Error('the database returned no time');
  return num(row, 'now');
}

/** The state of a job that is not terminal, from what is running and what is next. */
function liveState(activeRuns: number, nextRunAt: number | null): JobState {
  if (activeRuns > 0) return 'running';
  return nextRunAt === null ? 'completed' : 'scheduled';
}

/** The history limit a write applies. */
function limitOf(ctx: Context, historyLimit: number | undefined): number {
  return historyLimit ?? ctx.defaultHistoryLimit;
}

/**
 * The NOTIFY payload of a wake-up, or `null` when it would be too long (a job id of thousands of
 * multi-byte characters): notifications are hints, and polling finds that job.
 */
export function wakePayload(jobId: string, at: number): string | null {
  const payload = JSON.stringify({ jobId, at });
  return Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES ? null : payload;
}

function freshJob(job: DriverNewJob, state: JobState, fence: number): JobRow {
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

/**
 * See `JobStore.createJob`. A new id is one statement (the insert, with its wake-up). An id held by
 * a terminal job is replaced in a transaction: its ledger is locked and deleted, and the row gets a
 * new incarnation whose fence is one more than the old one's.
 */
export async function createJob(ctx: Context, job: DriverNewJob): Promise<JobRow> {
  const { db, q } = ctx;
  const state = liveState(0, job.nextRunAt);
  const payload =
    ctx.notifications && job.nextRunAt !== null ? wakePayload(job.id, job.nextRunAt) : null;
  // A concurrent delete of the old job (pruneJobs) sends us back to the insert; bounded, because
  // each turn needs another job of this id to be created and deleted meanwhile.
  for (let turn = 0; turn < 10; turn++) {
    if ((await db.rows(q.insertJob(job, state, payload))).length > 0) {
      return freshJob(job, state, 0);
    }
    const fence = await db.transaction(async (tx) => {
      const [current] = await tx.rows(q.jobState(job.id, false));
      if (current === undefined) return null;
      if (!isTerminalState(jobState(current))) throw new JobExistsError(job.id);
      await tx.rows(q.lockLedger(job.id));
      const [locked] = await tx.rows(q.jobState(job.id, true));
      if (locked === undefined) return null;
      if (!isTerminalState(jobState(locked))) throw new JobExistsError(job.id);
      const next = num(locked, 'fence') + 1;
      await tx.changes(q.deleteLedger(job.id));
      await tx.changes(q.replaceJob(job, state, next));
      if (payload !== null) await tx.rows(q.notify(payload));
      return next;
    });
    if (fence !== null) return freshJob(job, state, fence);
  }
  throw new Error(`job ${job.id} was deleted and re-created concurrently too many times`);
}

/** See `JobStore.getJob`. */
export async function getJob(ctx: Context, id: string): Promise<JobRow | undefined> {
  const [row] = await ctx.db.rows(ctx.q.job(id));
  return row === undefined ? undefined : toJobRow(row);
}

/** See `JobStore.queryJobs`. */
export async function queryJobs(
  ctx: Context,
  query: {
    readonly ids: readonly string[];
    readonly states: readonly JobState[];
    readonly offset: number;
    readonly limit: number | undefined;
  },
): Promise<JobRow[]> {
  return (await ctx.db.rows(ctx.q.queryJobs(query))).map(toJobRow);
}

/** See `JobStore.countJobs`. */
export async function countJobs(ctx: Context, states: readonly JobState[]): Promise<number> {
  const [row] = await ctx.db.rows(ctx.q.countJobs(states));
  return row === undefined ? 0 : num(row, 'count');
}

/** See `JobStore.jobIds`. */
export async function jobIds(ctx: Context, states: readonly JobState[]): Promise<string[]> {
  return (await ctx.db.rows(ctx.q.jobIds(states))).map((row) => str(row, 'id'));
}

/** See `JobStore.endJob`: one update that changes only what it must, then a read if it did not. */
export async function endJob(
  ctx: Context,
  id: string,
  state: TerminalJobState,
  now: number,
): Promise<JobRow | undefined> {
  const [changed] = await ctx.db.rows(ctx.q.endJob(id, state, now));
  if (changed !== undefined) return toJobRow(changed);
  return getJob(ctx, id);
}

/** See `JobStore.pauseJob`: one update that changes only a live job, then a read if it did not. */
export async function pauseJob(ctx: Context, id: string, now: number): Promise<JobRow | undefined> {
  const [changed] = await ctx.db.rows(ctx.q.pauseJob(id, now));
  if (changed !== undefined) return toJobRow(changed);
  return getJob(ctx, id);
}

/**
 * See `JobStore.resumeJob`: one statement resumes a paused job and sends its wake-up (delivered
 * when it commits), then a read if nothing changed.
 */
export async function resumeJob(
  ctx: Context,
  id: string,
  now: number,
): Promise<JobRow | undefined> {
  const [changed] = await ctx.db.rows(ctx.q.resumeJob(id, now, ctx.notifications));
  if (changed !== undefined) return toJobRow(changed);
  return getJob(ctx, id);
}

/**
 * See `JobStore.updateJob`: one statement applies the compare-and-set (the update locks the row
 * and re-checks the revision and state on it) with its wake-up; when it changed nothing, a read
 * tells a missing job (`undefined`) from a refused update (`null`).
 */
export async function updateJob(
  ctx: Context,
  update: DriverJobUpdate,
): Promise<JobRow | null | undefined> {
  const [changed] = await ctx.db.rows(ctx.q.updateJob(update, ctx.notifications));
  if (changed !== undefined) return toJobRow(changed);
  return (await getJob(ctx, update.id)) === undefined ? undefined : null;
}

/**
 * See `JobStore.startRun`. One transaction: lock the job row (with the start's time), then one
 * statement inserts the triggered entry (`on conflict do nothing`: an occurrence id already in the
 * ledger, even one a concurrent transaction is writing, writes nothing) and moves the job on.
 */
export function startRun(ctx: Context, start: RunStart): Promise<DriverStartRunResult> {
  const { q } = ctx;
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx.rows(
      q.lockJobForStart(start.jobId, ctx.clock === 'caller' ? start.now : null),
    );
    if (row === undefined) return undefined;
    const job = toJobRow(row);
    if (job.state !== 'scheduled' && job.state !== 'running') return null;
    const now = num(row, 'now');
    const run: ClaimedRunRow = {
      jobId: job.id,
      createdAt: job.createdAt,
      revision: job.revision,
      scheduledAt: start.scheduledAt,
      occurrenceId: start.occurrenceId,
      sequence: job.sequence + 1,
      fence: job.fence + 1,
      startedAt: now,
      leaseUntil: now + start.leaseDuration,
    };
    const moved = await tx.rows(q.startRun({ ...run, owner: start.owner }));
    return moved.length === 0 ? 'occurrence-exists' : run;
  });
}

/** See `JobStore.nextDueAt`. */
export async function nextDueAt(ctx: Context): Promise<number | null> {
  const [row] = await ctx.db.rows(ctx.q.nextDueAt());
  return row === undefined || row.at === null ? null : num(row, 'at');
}

/** The writes of a claim, one array per column, and what it returns. */
interface ClaimWrites {
  readonly entries: EntryColumns;
  readonly jobs: {
    id: string[];
    fence: number[];
    sequence: number[];
    started: number[];
    activeRuns: number[];
    nextRunAt: Array<number | null>;
    state: string[];
  };
  readonly runs: Array<DriverDueClaimResult['runs'][number]>;
  /** The jobs left alone because their plan repeats an occurrence, in examined order. */
  readonly conflicts: string[];
  /** The jobs that got skipped entries (their history is trimmed). */
  readonly trimmed: string[];
}

/**
 * Turns the plans of a claim into its writes. A job conflicts when it is in `taken` (its entries
 * repeat the ledger) or repeats an occurrence id an earlier job of this claim writes.
 */
function claimWrites(
  due: readonly DueJobRow[],
  plans: ReadonlyArray<DuePlan | null>,
  taken: ReadonlySet<string>,
  claim: DriverDueClaim,
  now: number,
): ClaimWrites {
  const leaseUntil = now + claim.leaseDuration;
  const entries: EntryColumns = {
    occurrenceId: [],
    jobId: [],
    scheduledAt: [],
    sequence: [],
    fence: [],
    status: [],
    owner: [],
    leaseUntil: [],
    startedAt: [],
    finishedAt: [],
    reason: [],
  };
  const push = (values: { [K in keyof EntryColumns]: EntryColumns[K][number] }): void => {
    for (const key of Object.keys(entries) as Array<keyof EntryColumns>) {
      (entries[key] as unknown[]).push(values[key]);
    }
  };
  const writes: ClaimWrites = {
    entries,
    jobs: {
      id: [],
      fence: [],
      sequence: [],
      started: [],
      activeRuns: [],
      nextRunAt: [],
      state: [],
    },
    runs: [],
    conflicts: [],
    trimmed: [],
  };
  // Occurrence ids are unique in the store: two jobs of one batch cannot both take one.
  const claimedIds = new Set<string>();
  for (const [index, job] of due.entries()) {
    const plan = plans[index] ?? null;
    if (plan === null) continue;
    const planned = plan.run === null ? plan.skipped : [...plan.skipped, plan.run];
    if (taken.has(job.id) || planned.some((entry) => claimedIds.has(entry.occurrenceId))) {
      writes.conflicts.push(job.id);
      continue;
    }
    for (const entry of planned) claimedIds.add(entry.occurrenceId);
    const fence = job.fence + 1;
    let sequence = job.sequence;
    for (const skip of plan.skipped) {
      push({
        occurrenceId: skip.occurrenceId,
        jobId: job.id,
        scheduledAt: skip.scheduledAt,
        sequence: ++sequence,
        fence,
        status: 'skipped',
        owner: null,
        leaseUntil: null,
        startedAt: null,
        finishedAt: now,
        reason: skip.reason,
      });
    }
    let { started, activeRuns } = job;
    if (plan.run !== null) {
      started++;
      activeRuns++;
      const { occurrenceId, scheduledAt } = plan.run;
      push({
        occurrenceId,
        jobId: job.id,
        scheduledAt,
        sequence: ++sequence,
        fence,
        status: 'running',
        owner: claim.owner,
        leaseUntil,
        startedAt: now,
        finishedAt: null,
        reason: null,
      });
      writes.runs.push({
        jobId: job.id,
        createdAt: job.createdAt,
        revision: job.revision,
        scheduledAt,
        occurrenceId,
        sequence,
        fence,
        startedAt: now,
        leaseUntil,
      });
    }
    const { jobs } = writes;
    jobs.id.push(job.id);
    jobs.fence.push(fence);
    jobs.sequence.push(sequence);
    jobs.started.push(started);
    jobs.activeRuns.push(activeRuns);
    jobs.nextRunAt.push(plan.nextRunAt);
    jobs.state.push(liveState(activeRuns, plan.nextRunAt));
    if (plan.skipped.length > 0) writes.trimmed.push(job.id);
  }
  return writes;
}

/** Whether two plans of a claim name the same occurrence id. */
function shareAnOccurrence(plans: ReadonlyArray<DuePlan | null>): boolean {
  const ids = new Set<string>();
  for (const plan of plans) {
    if (plan === null) continue;
    for (const entry of plan.run === null ? plan.skipped : [...plan.skipped, plan.run]) {
      if (ids.has(entry.occurrenceId)) return true;
      ids.add(entry.occurrenceId);
    }
  }
  return false;
}

/**
 * See `JobStore.claimDue`. One transaction: lock the due jobs (`FOR UPDATE SKIP LOCKED`, with the
 * claim's time in the same statement), plan each (synchronously, before anything is written),
 * then one statement finds the ledger conflicts, inserts every other job's entries and moves
 * those jobs on, and one trims the history of the jobs that got skipped entries. When two plans
 * of the claim name the same occurrence (a planner bug the contract still defines), whether the
 * second conflicts depends on whether the first does: that claim reads the conflicts first and
 * writes with two more statements.
 *
 * A unique violation means a concurrent claim of another job wrote one of our occurrence ids after
 * our conflict read: the transaction is run again, and the retry reports that job as a conflict.
 */
export function claimDue(ctx: Context, claim: DriverDueClaim): Promise<DriverDueClaimResult> {
  const { q } = ctx;
  return ctx.db.transaction(
    async (tx) => {
      const rows = await tx.rows(q.dueJobs(ctx.clock === 'caller' ? claim.now : null, claim.limit));
      const [first] = rows;
      if (first === undefined) {
        return { now: await timeOf(ctx, tx, claim.now), examined: 0, runs: [], conflicts: [] };
      }
      const now = num(first, 'now');
      const due = rows.map(toDueJobRow);
      // Plan every job before writing anything: a planner that throws leaves the store untouched.
      const plans = due.map((job) => claim.plan(job, now));

      let writes: ClaimWrites;
      if (!shareAnOccurrence(plans)) {
        writes = claimWrites(due, plans, new Set(), claim, now);
        if (writes.jobs.id.length > 0) {
          const conflicting = await tx.rows(q.applyClaim(writes.entries, writes.jobs, now));
          if (conflicting.length > 0) {
            // The jobs' fates are independent: drop the conflicting ones from the answer.
            const taken = new Set(conflicting.map((row) => str(row, 'job_id')));
            writes = {
              ...writes,
              runs: writes.runs.filter((run) => !taken.has(run.jobId)),
              conflicts: due.map((job) => job.id).filter((id) => taken.has(id)),
              trimmed: writes.trimmed.filter((id) => !taken.has(id)),
            };
          }
        }
      } else {
        const keys = {
          occurrenceId: [] as string[],
          jobId: [] as string[],
          scheduledAt: [] as number[],
        };
        for (const [index, job] of due.entries()) {
          const plan = plans[index] ?? null;
          if (plan === null) continue;
          for (const entry of plan.run === null ? plan.skipped : [...plan.skipped, plan.run]) {
            keys.occurrenceId.push(entry.occurrenceId);
            keys.jobId.push(job.id);
            keys.scheduledAt.push(entry.scheduledAt);
          }
        }
        const taken = new Set(
          (await tx.rows(q.ledgerConflicts(keys))).map((row) => str(row, 'job_id')),
        );
        writes = claimWrites(due, plans, taken, claim, now);
        if (writes.entries.occurrenceId.length > 0) {
          await tx.changes(q.insertEntries(writes.entries));
        }
        if (writes.jobs.id.length > 0) await tx.changes(q.updateClaimedJobs(writes.jobs, now));
      }
      if (writes.trimmed.length > 0) {
        await tx.changes(q.trimJobs(writes.trimmed, limitOf(ctx, claim.historyLimit)));
      }
      return { now, examined: due.length, runs: writes.runs, conflicts: writes.conflicts };
    },
    (error) => sqlState(error) === '23505',
  );
}

/**
 * See `JobStore.renewLeases`. One transaction: lock the running entries among the leases, in
 * occurrence-id order (the order completions lock them in: a renewal and a completion of the same
 * owner's runs, which a scheduler sends concurrently, never deadlock), then one update extends
 * those the owner still holds under their fence and reads their jobs' states.
 */
export function renewLeases(ctx: Context, renewal: LeaseRenewalRequest): Promise<LeaseRenewal> {
  const { q } = ctx;
  return ctx.db.transaction(async (tx) => {
    const now = await timeOf(ctx, tx, renewal.now);
    const leaseUntil = now + renewal.leaseDuration;
    const running = new Map<string, RunRow>();
    const rows = await tx.rows(q.lockRunning(renewal.leases.map((lease) => lease.occurrenceId)));
    for (const row of rows) {
      const run = toRunRow(row);
      running.set(run.occurrenceId, run);
    }
    const held = renewal.leases.filter((lease) => {
      const run = running.get(lease.occurrenceId);
      return run !== undefined && run.owner === renewal.owner && run.fence === lease.fence;
    });
    const states = new Map<string, unknown>();
    if (held.length > 0) {
      const renewed = await tx.rows(
        q.renewLeases(
          held.map((lease) => lease.occurrenceId),
          leaseUntil,
        ),
      );
      for (const row of renewed) states.set(str(row, 'occurrence_id'), row.job_state);
    }
    const lost: Array<LeaseRenewal['lost'][number]> = [];
    for (const { occurrenceId } of renewal.leases) {
      if (states.has(occurrenceId)) {
        const state = states.get(occurrenceId);
        if (state === 'removed' || state === 'canceled') lost.push({ occurrenceId, reason: state });
      } else {
        lost.push({ occurrenceId, reason: running.has(occurrenceId) ? 'taken-over' : 'gone' });
      }
    }
    return { now, leaseUntil, lost };
  });
}

/** A recorded completion: the call's values and the entry as it becomes. */
interface Recorded {
  readonly completion: DriverCompletion;
  readonly run: RunRow;
  readonly limit: number;
}

/**
 * See `JobStore.completeRuns`. One transaction: lock the running entries (only the lease's holder,
 * under the fence it holds, finishes one), then per round one statement records the outcomes and
 * moves the jobs on (counting from each job's current row, which it locks), and one trims the
 * histories.
 *
 * The history limit applies after each completion, as if they were recorded one by one. That is
 * one round when every completion of a job has the same limit (the usual case). When one job's
 * completions have different limits, its k-th completion is recorded in round k.
 */
export function completeRuns(
  ctx: Context,
  completions: readonly DriverCompletion[],
): Promise<boolean[]> {
  const { q } = ctx;
  return ctx.db.transaction(async (tx) => {
    const entries = new Map<string, RunRow>();
    const rows = await tx.rows(q.lockRunning(completions.map((c) => c.occurrenceId)));
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
      const recorded: Recorded = {
        completion,
        run: {
          ...run,
          status: completion.status,
          leaseUntil: null,
          finishedAt: completion.finishedAt,
          reason: completion.reason,
          result: completion.result,
        },
        limit: limitOf(ctx, completion.historyLimit),
      };
      const list = byJob.get(run.jobId);
      if (list === undefined) byJob.set(run.jobId, [recorded]);
      else list.push(recorded);
    }
    // Round k holds the k-th completion of each job whose limits differ and every completion of
    // the other jobs (round 0).
    const rounds: Recorded[][] = [];
    for (const list of byJob.values()) {
      const uniform = list.every((recorded) => recorded.limit === list[0]?.limit);
      for (const [index, recorded] of list.entries()) {
        const round = rounds[uniform ? 0 : index];
        if (round === undefined) rounds.push([recorded]);
        else round.push(recorded);
      }
    }
    for (const round of rounds) await recordRound(ctx, tx, round);
    return results;
  });
}

/** Writes one round of completions (at most one limit per job in it), with the history trims. */
async function recordRound(ctx: Context, tx: Executor, round: readonly Recorded[]): Promise<void> {
  const { q } = ctx;
  const jobs = new Map<string, { count: number; lastRun: string; finishedAt: number }>();
  const limits = new Map<number, string[]>();
  for (const { completion, run, limit } of round) {
    const job = jobs.get(run.jobId);
    // The round's last completion of a job is its last run.
    jobs.set(run.jobId, {
      count: (job?.count ?? 0) + 1,
      lastRun: lastRunJson(run),
      finishedAt: Math.max(job?.finishedAt ?? 0, completion.finishedAt),
    });
    const ids = limits.get(limit);
    if (ids === undefined) limits.set(limit, [run.jobId]);
    else if (!ids.includes(run.jobId)) ids.push(run.jobId);
  }
  // Jobs in id order, the order takeovers lock them in.
  const counted = [...jobs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  await tx.changes(
    q.completeRuns(
      {
        occurrenceId: round.map(({ completion }) => completion.occurrenceId),
        status: round.map(({ completion }) => completion.status),
        finishedAt: round.map(({ completion }) => completion.finishedAt),
        result: round.map(({ completion }) => completion.result),
        reason: round.map(({ completion }) => completion.reason),
      },
      {
        id: counted.map(([id]) => id),
        count: counted.map(([, job]) => job.count),
        lastRun: counted.map(([, job]) => job.lastRun),
        finishedAt: counted.map(([, job]) => job.finishedAt),
      },
    ),
  );
  for (const [limit, ids] of limits) await tx.changes(q.trimJobs(ids, limit));
}

/**
 * See `JobStore.claimExpiredRuns`. One transaction: lock expired entries (`SKIP LOCKED`, so
 * concurrent takers share them out instead of queueing), lock their jobs, then one update of the
 * entries and one of the jobs. Every takeover bumps its job's fence, so two runs of one job taken
 * together get two fences.
 */
export function claimExpiredRuns(
  ctx: Context,
  claim: {
    readonly owner: string;
    readonly now: number;
    readonly leaseDuration: number;
    readonly limit: number;
  },
): Promise<DriverTakenOverRun[]> {
  const { q } = ctx;
  return ctx.db.transaction(async (tx) => {
    const now = await timeOf(ctx, tx, claim.now);
    const expired = (await tx.rows(q.expiredRuns(now, claim.limit))).map(toRunRow);
    if (expired.length === 0) return [];
    const jobs = new Map<string, JobRow>();
    for (const row of await tx.rows(q.lockJobs([...new Set(expired.map((run) => run.jobId))]))) {
      const job = toJobRow(row);
      jobs.set(job.id, job);
    }
    const leaseUntil = now + claim.leaseDuration;
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
        updatedAt: Math.max(before.updatedAt, now),
      };
      jobs.set(job.id, job);
      taken.push({
        job,
        run: { ...run, fence: job.fence, owner: claim.owner, leaseUntil },
        previousOwner: run.owner,
      });
    }
    await tx.changes(
      q.takeOverRuns(claim.owner, leaseUntil, {
        occurrenceId: taken.map(({ run }) => run.occurrenceId),
        fence: taken.map(({ run }) => run.fence),
      }),
    );
    const finalJobs = [...new Set(taken.map(({ job }) => job.id))].map(
      (id) => jobs.get(id) as JobRow,
    );
    await tx.changes(
      q.updateFences({
        id: finalJobs.map((job) => job.id),
        fence: finalJobs.map((job) => job.fence),
        updatedAt: finalJobs.map((job) => job.updatedAt),
      }),
    );
    // Each entry comes back with its job as its own takeover left it (as the reference driver).
    return taken;
  });
}

/**
 * See `JobStore.releaseLeases`. One transaction: lock the running entries among the leases in
 * occurrence-id order (the order renewals and completions lock them in), then one update makes
 * those the owner still holds under their fences expire at once (the release time minus 1, on the
 * store's clock).
 */
export function releaseLeases(ctx: Context, release: LeaseRelease): Promise<number> {
  const { q } = ctx;
  return ctx.db.transaction(async (tx) => {
    const rows = await tx.rows(q.lockRunning(release.leases.map((lease) => lease.occurrenceId)));
    const running = new Map<string, RunRow>();
    for (const row of rows) {
      const run = toRunRow(row);
      running.set(run.occurrenceId, run);
    }
    const held = release.leases.filter((lease) => {
      const run = running.get(lease.occurrenceId);
      return run !== undefined && run.owner === release.owner && run.fence === lease.fence;
    });
    if (held.length === 0) return 0;
    const now = await timeOf(ctx, tx, release.now);
    return tx.changes(
      q.releaseLeases(
        held.map((lease) => lease.occurrenceId),
        now - 1,
      ),
    );
  });
}

/**
 * See `JobStore.recordCallback`. One transaction: lock the entry; when it is finished, one
 * statement records the outcome on it and on its job's `last_run` copy when the copy is that entry
 * (lock order: the entry, then the job).
 */
export function recordCallback(
  ctx: Context,
  record: { readonly occurrenceId: string; readonly callback: string },
): Promise<boolean> {
  const { q } = ctx;
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx.rows(q.lockRun(record.occurrenceId));
    if (row === undefined) return false;
    const run = toRunRow(row);
    if (run.status === 'running' || run.status === 'skipped') return false;
    await tx.changes(
      q.recordCallback(run, record.callback, lastRunJson({ ...run, callback: record.callback })),
    );
    return true;
  });
}

/** See `JobStore.getRun`. */
export async function getRun(ctx: Context, occurrenceId: string): Promise<RunRow | undefined> {
  const [row] = await ctx.db.rows(ctx.q.run(occurrenceId));
  return row === undefined ? undefined : toRunRow(row);
}

/** See `JobStore.history`: one statement, so the job and its entries are read in one snapshot. */
export async function history(
  ctx: Context,
  jobId: string,
  query: { readonly fromSequence: number | undefined; readonly limit: number | undefined },
): Promise<RunRow[] | undefined> {
  const rows = await ctx.db.rows(ctx.q.history(jobId, query.fromSequence, query.limit));
  if (rows.length === 0) return undefined;
  return rows.filter((row) => row.occurrence_id !== null).map(toRunRow);
}

/** See `JobStore.runningRuns`. */
export async function runningRuns(ctx: Context, jobId: string | undefined): Promise<RunRow[]> {
  return (await ctx.db.rows(ctx.q.runningRuns(jobId))).map(toRunRow);
}

/** See `JobStore.pruneHistory`: the age pass, then the count pass, in one transaction. */
export function pruneHistory(
  ctx: Context,
  retention: {
    readonly maxAge: number | undefined;
    readonly maxRowsPerJob: number | undefined;
    readonly now: number;
  },
): Promise<number> {
  const { q } = ctx;
  return ctx.db.transaction(async (tx) => {
    let deleted = 0;
    if (retention.maxAge !== undefined) {
      deleted += await tx.changes(q.pruneHistoryByAge(retention.now - retention.maxAge));
    }
    if (retention.maxRowsPerJob !== undefined) {
      deleted += await tx.changes(q.pruneHistoryByCount(retention.maxRowsPerJob));
    }
    return deleted;
  });
}

/** See `JobStore.pruneJobs`: the ledgers, then the jobs, in one transaction. */
export function pruneJobs(
  ctx: Context,
  retention: { readonly finishedBefore: number },
): Promise<number> {
  const { q } = ctx;
  return ctx.db.transaction(async (tx) => {
    await tx.changes(q.pruneJobLedgers(retention.finishedBefore));
    return tx.changes(q.pruneJobs(retention.finishedBefore));
  });
}
