// SIGKILL at many random moments, on a slow store (a delay before every write, so kills land
// while writes are pending as well as in between), then one process that runs to the end: it
// must leave no run `running`, the file sound, and no occurrence started twice by the survivor.
import { createScheduler, type JobInput } from '@again/scheduler';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createTempDir } from '@again/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type LoadWorker, readLedger, startLoadWorker } from '../test-utils/load.js';
import { startTarget, type Target } from '../test-utils/target.js';

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

const KILLS = 8;
const MAX_RUNS = 10;

describe('SIGKILL at random moments on a slow store', () => {
  it('ends with no run left running and every started occurrence accounted for', async () => {
    const file = dir.file();
    const server = await startTarget({ delay: 60 });
    target = server;
    const jobs = Array.from({ length: 30 }, (_, i) => ({
      id: `job-${i}`,
      schedule: { every: 150, maxRuns: MAX_RUNS, startAt: Date.now() + 1_000 },
      request: { url: `${server.url}/${i}`, timeout: 0 },
      retryPolicy: { maxRetries: 0 },
    }));
    await storeJobs(file, jobs);
    const common = {
      file,
      target: server.url,
      leaseDuration: 600,
      pollInterval: 100,
      concurrency: 10,
      stopTimeout: 2_000,
      // Keep the whole history, so every delivery can be found in the ledger.
      historyLimit: 1_000,
    };
    const killed = new Set<string>();
    for (let kill = 0; kill < KILLS; kill++) {
      const instanceId = `killed-${kill}`;
      const worker = startLoadWorker({
        ...common,
        instanceId,
        writeDelay: [0, 40],
        runFor: 60_000,
      });
      workers.push(worker);
      await worker.ready;
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 600));
      await worker.kill();
      killed.add(instanceId);
    }
    const survivor = startLoadWorker({ ...common, instanceId: 'survivor' });
    workers.push(survivor);
    const stats = await survivor.done;
    expect(stats.errors).toEqual([]);

    const ledger = readLedger(file);
    expect(ledger.integrity).toBe('ok');
    expect(ledger.repeated).toEqual([]);
    expect(ledger.rows.filter((row) => row.status === 'running')).toEqual([]);
    // Every job ran its course: each of its occurrences is in the ledger, finished one way or
    // another (the missed-run policy decided about those a dead instance held).
    const storage = await createSqliteStorage(file);
    for (const job of jobs) {
      expect(await storage.getJob(job.id)).toMatchObject({ state: 'completed', activeRuns: 0 });
    }
    await storage.close();
    // A delivery is repeated only after an instance was killed holding it.
    const inLedger = new Set(ledger.rows.map((row) => row.occurrence_id));
    const missing = [...server.deliveries.keys()].filter((key) => !inLedger.has(key));
    expect(missing).toEqual([]);
    const repeatedByLive = [...server.deliveries].filter(
      ([, by]) => !by.slice(0, -1).every((delivery) => killed.has(delivery.by)),
    );
    expect(repeatedByLive).toEqual([]);
  }, 120_000);
});
