// Several real processes on one SQLite file, at the adapter level (batched claimDue, completeRuns,
// renewLeases, claimExpiredRuns; no scheduler): racing claims and a SIGKILL in the middle of
// claims. The workers run on virtual time (no sleeps); only process start-up and the SQLite work
// itself take real time.

import { createTempDir, forkScript, has } from '@again/test-utils';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStorage } from './sqlite-storage.js';
import { T0 } from './test-utils/jobs.js';

const dir = createTempDir();
afterAll(() => dir.remove());

/** The workers' virtual time: every occurrence of the tests is due by then. */
const CLAIM_NOW = T0 + 10 ** 12;
const LEASE = 5000;
const EVERY = 1000;

/** Forks a claim worker on `file` (see `test-utils/claim-worker.mjs`). */
function claimWorker(file: string, owner: string, mode: 'race' | 'crash') {
  const args = [file, owner, String(CLAIM_NOW), String(LEASE), String(EVERY), mode];
  return forkScript(new URL('./test-utils/claim-worker.mjs', import.meta.url), args);
}

/** The plan the workers use (interval jobs ending at their spec's `last`). */
function plan(job: { id: string; nextRunAt: number; spec: Record<string, unknown> }) {
  const at = job.nextRunAt;
  return {
    run: { scheduledAt: at, occurrenceId: `${job.id}@${at}` },
    skipped: [],
    nextRunAt: at + EVERY <= Number(job.spec.last) ? at + EVERY : null,
  };
}

/** Creates `count` interval jobs (1 s apart occurrences from T0 up to `last`). */
async function seed(file: string, count: number, last: number): Promise<void> {
  const store = await createSqliteStorage(file);
  for (let i = 0; i < count; i++) {
    await store.createJob({ id: `job-${i}`, spec: { last }, nextRunAt: T0, now: T0 });
  }
  await store.close();
}

/** What must hold in the ledger of every job, whatever instant a process died at. */
function checkInvariants(file: string): void {
  const db = new Database(file, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const duplicates = db
      .prepare(
        'select job_id, scheduled_at, count(*) as n from again_runs group by job_id, scheduled_at having n > 1',
      )
      .all();
    expect(duplicates).toEqual([]);
    const mismatches = db
      .prepare(
        `select j.id, j.sequence, j.started, j.runs, j.active_runs,
                (select max(sequence) from again_runs r where r.job_id = j.id) as max_sequence,
                (select count(*) from again_runs r where r.job_id = j.id and r.status <> 'skipped') as claimed,
                (select count(*) from again_runs r where r.job_id = j.id
                   and r.status not in ('running', 'skipped')) as finished,
                (select count(*) from again_runs r where r.job_id = j.id and r.status = 'running') as running
           from again_jobs j`,
      )
      .all() as Array<Record<string, number | null>>;
    for (const job of mismatches) {
      expect(job.sequence).toBe(job.max_sequence ?? 0);
      expect(job.started).toBe(job.claimed);
      expect(job.runs).toBe(job.finished);
      expect(job.active_runs).toBe(job.running);
    }
  } finally {
    db.close();
  }
}

describe('several processes on one file (adapter level)', () => {
  it('processes opening a fresh file at once migrate it once, without SQLITE_BUSY', async () => {
    const file = dir.file();
    const workers = ['p1', 'p2', 'p3'].map((owner) => claimWorker(file, owner, 'race'));
    await Promise.all(workers.map((w) => w.waitFor(has('ready'))));
    for (const worker of workers) worker.child.send('go');
    for (const worker of workers) {
      expect((await worker.waitFor(has('done'))).done).toEqual([]);
      expect(await worker.exited).toEqual({ code: 0, signal: null });
    }
    const db = new Database(file, { readonly: true });
    expect(db.prepare('select name from again_migrations order by name').all()).toEqual([
      { name: '0001_initial' },
      { name: '0002_batched_claims' },
      { name: '0003_operate_in_place' },
    ]);
    db.close();
  }, 30_000);

  it('racing processes claim every occurrence exactly once, with no SQLITE_BUSY', async () => {
    const file = dir.file();
    const jobs = 6;
    const perJob = 15;
    await seed(file, jobs, T0 + (perJob - 1) * 1000);

    const workers = ['p1', 'p2', 'p3'].map((owner) => claimWorker(file, owner, 'race'));
    await Promise.all(workers.map((w) => w.waitFor(has('ready'))));
    for (const worker of workers) worker.child.send('go');
    const won = await Promise.all(
      workers.map(async (w) => (await w.waitFor(has('done'))).done as string[]),
    );
    for (const worker of workers) expect(await worker.exited).toEqual({ code: 0, signal: null });

    const all = won.flat();
    expect(all).toHaveLength(jobs * perJob);
    expect(new Set(all).size).toBe(jobs * perJob);

    const store = await createSqliteStorage(file);
    for (let i = 0; i < jobs; i++) {
      const job = await store.getJob(`job-${i}`);
      expect(job).toMatchObject({
        state: 'completed',
        runs: perJob,
        started: perJob,
        nextRunAt: null,
      });
      const history = await store.history(`job-${i}`, { limit: 0 });
      expect(history?.map((run) => run.scheduledAt)).toEqual(
        Array.from({ length: perJob }, (_, k) => T0 + k * 1000),
      );
    }
    await store.close();
    checkInvariants(file);
  }, 30_000);

  it('a process SIGKILLed mid-claims loses and duplicates nothing; its leases are taken over', async () => {
    const file = dir.file();
    await seed(file, 4, Number.MAX_SAFE_INTEGER);

    const worker = claimWorker(file, 'doomed', 'crash');
    await worker.waitFor(has('ready'));
    worker.child.send('go');
    // Kill it once it has reported 60 claims (it is claiming and completing flat out meanwhile).
    const claims = () => worker.messages.filter(has('claimed')).length;
    await worker.waitFor((m): m is { claimed: string } => has('claimed')(m) && claims() >= 60);
    worker.child.kill('SIGKILL');
    expect((await worker.exited).signal).toBe('SIGKILL');
    const seen = worker.messages.filter(has('claimed')).map((m) => m.claimed as string);
    expect(seen.length).toBeGreaterThanOrEqual(60);

    checkInvariants(file);
    const store = await createSqliteStorage(file);
    // Every occurrence whose claim was reported is in the ledger, once (the key is unique).
    for (const id of seen) expect(await store.getRun(id)).toMatchObject({ occurrenceId: id });

    // The worker left every other run running; their leases (virtual time) have expired.
    const running = await store.runningRuns();
    expect(running.length).toBeGreaterThan(0);
    expect(running.every((run) => run.owner === 'doomed')).toBe(true);
    const later = CLAIM_NOW + LEASE + 1;
    const taken = await store.claimExpiredRuns({
      owner: 'rescuer',
      now: later,
      leaseDuration: 60_000,
      limit: 10_000,
    });
    expect(taken.map((t) => t.run.occurrenceId).sort()).toEqual(
      running.map((run) => run.occurrenceId).sort(),
    );
    const stale = [];
    for (const { job, run, previousOwner } of taken) {
      const before = running.find((r) => r.occurrenceId === run.occurrenceId);
      expect(previousOwner).toBe('doomed');
      expect(run.owner).toBe('rescuer');
      expect(run.fence).toBeGreaterThan(before?.fence ?? Number.POSITIVE_INFINITY);
      expect(job.fence).toBeGreaterThanOrEqual(run.fence);
      stale.push({ occurrenceId: run.occurrenceId, fence: before?.fence ?? 0 });
    }
    // The dead owner's leases are fenced out...
    const renewal = await store.renewLeases({
      owner: 'doomed',
      leases: stale,
      now: later,
      leaseDuration: LEASE,
    });
    expect(renewal.lost).toEqual(
      stale.map(({ occurrenceId }) => ({ occurrenceId, reason: 'taken-over' })),
    );
    // ...and the new owner finishes them (as a missed-run policy would: abandoned), in one batch.
    const recorded = await store.completeRuns(
      taken.map(({ run }) => ({
        occurrenceId: run.occurrenceId,
        owner: 'rescuer',
        fence: run.fence,
        status: 'abandoned',
        reason: 'lease expired',
        finishedAt: later,
        result: null,
      })),
    );
    expect(recorded).toEqual(taken.map(() => true));
    expect(await store.runningRuns()).toEqual([]);
    for (const job of await store.queryJobs()) expect(job.activeRuns).toBe(0);

    // Scheduling goes on from where it stopped: the next occurrences are new to the ledger.
    const next = await store.claimDue({
      owner: 'rescuer',
      now: CLAIM_NOW,
      limit: 10,
      leaseDuration: LEASE,
      plan,
    });
    expect(next).toMatchObject({ examined: 4, conflicts: [] });
    expect(next.runs).toHaveLength(4);
    await store.close();
    checkInvariants(file);
  }, 30_000);
});
