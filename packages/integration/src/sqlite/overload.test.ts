// The engine under overload, in real processes on one SQLite file: offered more work than it can
// run, with short leases, the scheduler must keep every promise. Real processes take real time:
// the workload is short, and the assertions are about what happened (deliveries, the ledger) and
// about bounds the engine promises (renewal gaps, takeover, stop), with room for a busy machine.
import { createScheduler, type JobInput } from '@again/scheduler';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createTempDir } from '@again/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type LoadWorker, readLedger, runningOf, startLoadWorker } from '../test-utils/load.js';
import { doubleDeliveries, startTarget, type Target } from '../test-utils/target.js';

const dir = createTempDir();
afterAll(() => dir.remove());

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const workers: LoadWorker[] = [];
let target: Target | undefined;

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.kill();
  await target?.close();
});

async function storeJobs(file: string, jobs: JobInput[]): Promise<void> {
  const storage = await createSqliteStorage(file);
  const scheduler = await createScheduler({
    storage,
    unsafeAllowAnyUrl: true,
    logger: quiet,
    pollInterval: null,
  });
  for (const job of jobs) await scheduler.schedule(job);
  await scheduler.stop();
  await storage.close();
}

const LEASE = 2_000;
const POLL = 300;
const STOP_TIMEOUT = 300;

describe('three scheduler processes on one SQLite file, overloaded', () => {
  it('no double delivery by live instances, renewals in time, a dead instance taken over, stop bounded', async () => {
    const file = dir.file();
    const server = await startTarget({ delay: 400 }); // every run is in flight for 400 ms
    target = server;
    // 60 jobs every 200 ms: 300 occurrences/s offered; 3 x 20 slots / 0.4 s = 150/s of capacity.
    await storeJobs(
      file,
      Array.from({ length: 60 }, (_, i) => ({
        id: `job-${i}`,
        schedule: { every: 200, startAt: Date.now() + 1_500 },
        request: { url: `${server.url}/${i}`, timeout: 0 },
        retryPolicy: { maxRetries: 0 },
      })),
    );
    const start = (instanceId: string, runFor: number): LoadWorker => {
      const worker = startLoadWorker({
        instanceId,
        file,
        target: server.url,
        leaseDuration: LEASE,
        pollInterval: POLL,
        concurrency: 20,
        stopTimeout: STOP_TIMEOUT,
        runFor,
        // Keep the whole history, so every delivery can be found in the ledger.
        historyLimit: 10_000,
      });
      workers.push(worker);
      return worker;
    };
    const live = [start('live-1', 5_000), start('live-2', 5_000)];
    const doomed = start('doomed', 60_000);
    await Promise.all([...live, doomed].map((worker) => worker.ready));

    // Let the dead instance hold runs, then kill it in the middle of its work.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(runningOf(file, 'doomed')).toBeGreaterThan(0);
    await doomed.kill();
    const killedAt = Date.now();
    let takenOverAfter = Number.POSITIVE_INFINITY;
    while (Date.now() - killedAt < 10_000) {
      if (runningOf(file, 'doomed') === 0) {
        takenOverAfter = Date.now() - killedAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stats = await Promise.all(live.map((worker) => worker.done));

    // Every expired lease of the dead instance was taken over within lease plus poll interval
    // (plus room for a busy machine).
    expect(takenOverAfter).toBeLessThanOrEqual(LEASE + POLL + 1_000);
    // No occurrence was delivered twice by the instances that stayed alive.
    expect(doubleDeliveries(server.deliveries, new Set(['live-1', 'live-2']))).toEqual([]);
    for (const s of stats) {
      expect(s.errors).toEqual([]);
      expect(s.sent).toBeGreaterThan(0);
      // No renewal gap reached half the lease.
      expect(s.longestRenewalGap).toBeLessThan(LEASE / 2);
      // stop() kept its bound (a run in flight is 400 ms: it had to abort and record them).
      expect(s.stopMs).toBeLessThanOrEqual(STOP_TIMEOUT + 150);
    }

    const ledger = readLedger(file);
    expect(ledger.integrity).toBe('ok');
    expect(ledger.repeated).toEqual([]);
    // The dead instance's runs were all taken over. What is still `running` is what stop() aborted
    // and gave back: its lease already expired, for the next instance to take over at once.
    const running = ledger.rows.filter((row) => row.status === 'running');
    expect(running.filter((row) => row.owner === 'doomed')).toEqual([]);
    expect(running.length).toBeGreaterThan(0);
    for (const row of running) expect(Number(row.lease_until)).toBeLessThan(Date.now());
    // The load was shed by policy, in the open: late occurrences are recorded as missed.
    expect(
      ledger.rows.some((row) => row.status === 'skipped' && row.reason?.startsWith('missed')),
    ).toBe(true);
    // Every delivery is accounted for in the ledger.
    const inLedger = new Set(ledger.rows.map((row) => row.occurrence_id));
    expect([...server.deliveries.keys()].filter((key) => !inLedger.has(key))).toEqual([]);
  }, 60_000);
});
