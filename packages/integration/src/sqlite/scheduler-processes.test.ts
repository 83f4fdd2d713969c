// Real scheduler processes on one SQLite file, on the real clock with short intervals (real
// processes take real time; every assertion is about what happened, never about when).
import { createScheduler, type JobInput, type SchedulerLogger } from '@again/scheduler';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createTempDir, forkScript, has, type Worker } from '@again/test-utils';
import { createEgress } from '@again/url-guard';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTarget, type Target } from '../test-utils/target.js';

const dir = createTempDir();
afterAll(() => dir.remove());

const quiet: SchedulerLogger = { debug() {}, info() {}, warn() {}, error() {} };
const egress = createEgress({
  allowedSchemes: ['http'],
  allowIpLiterals: true,
  allowedAddresses: ['127.0.0.1'],
});

let target: Target;
const workers: Worker[] = [];

beforeEach(async () => {
  target = await startTarget();
});

afterEach(async () => {
  for (const worker of workers.splice(0)) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
  }
  await target.close();
});

/** Stores jobs in the file through a scheduler that stops before any of them is due. */
async function scheduleJobs(file: string, jobs: JobInput[]): Promise<void> {
  const storage = await createSqliteStorage(file);
  const scheduler = await createScheduler({ storage, egress, logger: quiet, pollInterval: null });
  for (const job of jobs) await scheduler.schedule(job);
  await scheduler.stop();
  await storage.close();
}

function startWorker(file: string, instanceId: string, leaseDuration: number): Worker {
  const worker = forkScript(new URL('./test-utils/scheduler-worker.mjs', import.meta.url), [
    file,
    instanceId,
    String(leaseDuration),
  ]);
  workers.push(worker);
  return worker;
}

interface LedgerRow {
  occurrence_id: string;
  job_id: string;
  scheduled_at: number;
  status: string;
  owner: string | null;
}

/** The whole ledger, after checking the file's integrity and the ledger's uniqueness. */
function readLedger(file: string): LedgerRow[] {
  const db = new Database(file, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(
      db
        .prepare(
          'select job_id, scheduled_at from again_runs group by job_id, scheduled_at having count(*) > 1',
        )
        .all(),
    ).toEqual([]);
    return db.prepare('select * from again_runs order by job_id, sequence').all() as LedgerRow[];
  } finally {
    db.close();
  }
}

describe('scheduler processes on one SQLite file', () => {
  it('two processes: every occurrence is started once, and the ledger has no duplicates', async () => {
    const file = dir.file();
    const jobIds = ['j1', 'j2', 'j3', 'j4'];
    const maxRuns = 5;
    await scheduleJobs(
      file,
      jobIds.map((id) => ({
        id,
        schedule: { every: 150, maxRuns, startAt: Date.now() + 1000 },
        request: { url: `${target.url}/${id}` },
      })),
    );
    const pair = [startWorker(file, 'p1', 30_000), startWorker(file, 'p2', 30_000)];
    for (const worker of pair) await worker.waitFor(has('done'));
    for (const worker of pair) expect(await worker.exited).toEqual({ code: 0, signal: null });

    // The target saw each idempotency key exactly once.
    expect([...target.keys.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    const ledger = readLedger(file);
    const started = ledger.filter((row) => row.status !== 'skipped');
    expect(started.every((row) => row.status === 'succeeded')).toBe(true);
    expect(started.map((row) => row.occurrence_id).sort()).toEqual([...target.keys.keys()].sort());
    expect(started).toHaveLength(jobIds.length * maxRuns);
    const storage = await createSqliteStorage(file);
    for (const id of jobIds) {
      expect(await storage.getJob(id)).toMatchObject({ state: 'completed', runs: maxRuns });
    }
    await storage.close();
  }, 30_000);

  it('a process SIGKILLed with runs in flight: nothing lost or duplicated, runs taken over', async () => {
    const file = dir.file();
    target.hold(true); // requests stay open: the runs are in flight when the process dies
    const lease = 1000;
    await scheduleJobs(file, [
      {
        id: 'rerun',
        schedule: { every: 200, maxRuns: 3, startAt: Date.now() + 800 },
        request: { url: `${target.url}/rerun`, timeout: 0 },
        retryPolicy: { maxRetries: 0 },
      },
      {
        id: 'skip',
        schedule: { every: 200, maxRuns: 3, startAt: Date.now() + 800 },
        request: { url: `${target.url}/skip`, timeout: 0 },
        retryPolicy: { maxRetries: 0 },
        missedRuns: 'skip',
      },
    ]);

    const doomed = startWorker(file, 'doomed', lease);
    await vi.waitFor(() => expect(target.keys.size).toBeGreaterThanOrEqual(4), {
      timeout: 15_000,
      interval: 20,
    });
    doomed.child.kill('SIGKILL');
    expect((await doomed.exited).signal).toBe('SIGKILL');
    const seenBeforeKill = new Map(target.keys);

    // Right after the kill: the file is sound and every run the target saw is in the ledger, once,
    // still running under the dead owner.
    const atKill = readLedger(file);
    for (const key of seenBeforeKill.keys()) {
      expect(atKill.filter((row) => row.occurrence_id === key)).toMatchObject([
        { status: 'running', owner: 'doomed' },
      ]);
    }

    target.hold(false);
    target.release();
    const rescuer = startWorker(file, 'rescuer', lease);
    await rescuer.waitFor(has('done'));
    expect(await rescuer.exited).toEqual({ code: 0, signal: null });

    const ledger = readLedger(file);
    expect(ledger.filter((row) => row.status === 'running')).toEqual([]);
    for (const key of seenBeforeKill.keys()) {
      const rows = ledger.filter((row) => row.occurrence_id === key);
      expect(rows).toHaveLength(1);
      // Taken over after the lease expired and finished per the job's missed-run policy: run
      // again ('run-once', the same idempotency key sent again) or abandoned ('skip').
      if (key.startsWith('rerun')) {
        expect(rows[0]).toMatchObject({ status: 'succeeded', owner: 'rescuer' });
        expect(target.keys.get(key)).toBe(2);
      } else {
        expect(rows[0]).toMatchObject({ status: 'abandoned', owner: 'rescuer' });
        expect(target.keys.get(key)).toBe(1);
      }
    }
    // Nothing the dead process never started was sent twice.
    for (const [key, count] of target.keys) {
      if (!seenBeforeKill.has(key)) expect(count).toBe(1);
    }
    const storage = await createSqliteStorage(file);
    for (const id of ['rerun', 'skip']) {
      expect(await storage.getJob(id)).toMatchObject({ state: 'completed', activeRuns: 0 });
    }
    await storage.close();
  }, 30_000);
});
