// The real @again/scheduler on a SQLite file: a scheduler restarted on the same file resumes its
// jobs (counts, history and nextRunAt preserved), or cancels them with onRestart: 'cancel'.
// Time is a manual clock; HTTP is real, to a 127.0.0.1 target.
import { createScheduler, type Scheduler, type SchedulerLogger } from '@again/scheduler';
import type { JobStore } from '@again/storage';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createManualClock, createTempDir, type ManualClock } from '@again/test-utils';
import { createEgress } from '@again/url-guard';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTarget, type Target } from '../test-utils/target.js';

const dir = createTempDir();
afterAll(() => dir.remove());

const START = Date.UTC(2026, 0, 1);
const quiet: SchedulerLogger = { debug() {}, info() {}, warn() {}, error() {} };
const egress = createEgress({
  allowedSchemes: ['http'],
  allowIpLiterals: true,
  allowedAddresses: ['127.0.0.1'],
});

let target: Target;
let clock: ManualClock;
const open: Array<{ scheduler: Scheduler; storage: JobStore }> = [];

beforeEach(async () => {
  target = await startTarget();
  clock = createManualClock(START);
});

afterEach(async () => {
  for (const { scheduler, storage } of open.splice(0)) {
    await scheduler.stop({ timeout: 0 });
    await storage.close();
  }
  await target.close();
});

async function startScheduler(
  file: string,
  instanceId: string,
  options: { onRestart?: 'resume' | 'cancel' } = {},
): Promise<{ scheduler: Scheduler; storage: JobStore }> {
  const storage = await createSqliteStorage(file);
  const scheduler = await createScheduler({
    storage,
    egress,
    clock,
    instanceId,
    logger: quiet,
    ...options,
  });
  const handle = { scheduler, storage };
  open.push(handle);
  return handle;
}

async function stopScheduler(handle: { scheduler: Scheduler; storage: JobStore }) {
  open.splice(open.indexOf(handle), 1);
  await handle.scheduler.stop();
  await handle.storage.close();
}

/** Advances to the next occurrence and waits until `jobs` have recorded `runs` runs each. */
async function tick(scheduler: Scheduler, jobs: string[], runs: number): Promise<void> {
  await clock.advance(1000);
  await vi.waitFor(
    async () => {
      for (const id of jobs) expect((await scheduler.jobStatus(id))?.runs).toBe(runs);
    },
    { timeout: 10_000, interval: 20 },
  );
}

describe('@again/scheduler on SQLite', () => {
  it('a scheduler restarted on the same file resumes its jobs where they were', async () => {
    const file = dir.file();
    const first = await startScheduler(file, 'first');
    for (const id of ['a', 'b']) {
      await first.scheduler.schedule({
        id,
        schedule: { every: 1000, startAt: START + 1000 },
        request: { url: `${target.url}/${id}` },
      });
    }
    for (let runs = 1; runs <= 3; runs++) await tick(first.scheduler, ['a', 'b'], runs);
    const statuses = await first.scheduler.jobStatuses();
    const histories = await Promise.all(['a', 'b'].map((id) => first.scheduler.jobHistory(id)));
    expect(statuses.map((s) => [s.jobId, s.state, s.runs, s.nextRunAt?.getTime()])).toEqual([
      ['a', 'scheduled', 3, START + 4000],
      ['b', 'scheduled', 3, START + 4000],
    ]);
    await stopScheduler(first);

    // A new process would see exactly this: a new store and scheduler on the same file.
    const second = await startScheduler(file, 'second');
    expect(await second.scheduler.jobStatuses()).toEqual(statuses);
    expect(await Promise.all(['a', 'b'].map((id) => second.scheduler.jobHistory(id)))).toEqual(
      histories,
    );
    expect(await second.scheduler.jobIds()).toEqual(['a', 'b']);

    await tick(second.scheduler, ['a', 'b'], 4);
    for (const id of ['a', 'b']) {
      const history = await second.scheduler.jobHistory(id);
      expect(history?.map((run) => [run.sequence, run.status, run.scheduledAt.getTime()])).toEqual(
        [1, 2, 3, 4].map((k) => [k, 'succeeded', START + k * 1000]),
      );
      expect(await second.storage.getRun(history?.[3]?.occurrenceId ?? '')).toMatchObject({
        owner: 'second',
      });
    }
    // Every occurrence reached the target once: 4 per job, no key twice.
    expect(target.keys.size).toBe(8);
    expect([...target.keys.values()].every((count) => count === 1)).toBe(true);
  });

  it("onRestart: 'cancel' marks the jobs found in the file canceled, and nothing runs", async () => {
    const file = dir.file();
    const first = await startScheduler(file, 'first');
    await first.scheduler.schedule({
      id: 'a',
      schedule: { every: 1000, startAt: START + 1000 },
      request: { url: `${target.url}/a` },
    });
    await tick(first.scheduler, ['a'], 1);
    await stopScheduler(first);

    const second = await startScheduler(file, 'second', { onRestart: 'cancel' });
    expect(await second.scheduler.jobStatus('a')).toMatchObject({ state: 'canceled', runs: 1 });
    expect(await second.scheduler.jobCount()).toBe(0);
    await clock.advance(5000);
    expect(target.total()).toBe(1);
    expect(await second.storage.getJob('a')).toMatchObject({ state: 'canceled', nextRunAt: null });
  });
});
