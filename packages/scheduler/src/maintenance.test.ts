/**
 * The maintenance loop's promise: on its own interval, it deletes history older than
 * `historyMaxAge` and finished jobs older than `finishedJobRetention`; off with
 * `maintenanceInterval: null`.
 */
import type { JobStore } from '@again/storage';
import { createMemoryStorage } from '@again/storage-memory';
import { createManualClock } from '@again/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { tracked } from './test-utils/harness.js';
import { claimAsOtherOwner, spyStorage } from './test-utils/store-spy.js';

const t = tracked();

afterEach(() => t.flush());

/**
 * At `now`: a job with one finished run (its history) that is not due again for a long time, and
 * a job that finished at once (created without a due time).
 */
async function oldData(store: JobStore, now: number): Promise<void> {
  const occurrenceId = await claimAsOtherOwner(
    store,
    { id: 'with-history', schedule: { every: 60_000 }, request: { url: 'http://127.0.0.1:2/' } },
    { owner: 'earlier', now, leaseDuration: 60_000, nextRunAt: now + 86_400_000 },
  );
  const run = await store.getRun(occurrenceId);
  const [recorded] = await store.completeRuns([
    {
      occurrenceId,
      owner: 'earlier',
      fence: run?.fence ?? -1,
      status: 'succeeded',
      finishedAt: now,
      result: null,
    },
  ]);
  expect(recorded).toBe(true);
  await store.createJob({ id: 'finished', spec: {}, nextRunAt: null, now });
}

describe('maintenance', () => {
  it('deletes old history and old finished jobs on its interval', async () => {
    const clock = createManualClock();
    const inner = createMemoryStorage();
    const start = clock.now();
    await oldData(inner, start);
    const spy = spyStorage(inner, { clock });
    await t.harness(
      {
        storage: spy.store,
        maintenanceInterval: 10_000,
        historyMaxAge: 50_000,
        finishedJobRetention: 100_000,
      },
      { clock },
    );
    const history = async () => (await inner.history('with-history'))?.length;

    await clock.advanceTo(start + 9_999);
    expect(spy.callsOf('pruneHistory')).toEqual([]);
    // Entries older than the age are deleted: at +50 s the entry is exactly 50 s old.
    await clock.advanceTo(start + 50_000);
    expect(await history()).toBe(1);
    await clock.advanceTo(start + 60_000);
    expect(await history()).toBe(0);
    // The job itself stays: it is not finished.
    expect((await inner.getJob('with-history'))?.state).toBe('scheduled');

    await clock.advanceTo(start + 100_000);
    expect((await inner.getJob('finished'))?.state).toBe('completed');
    await clock.advanceTo(start + 110_000);
    expect(await inner.getJob('finished')).toBeUndefined();

    expect(spy.callsOf('pruneHistory').map((call) => call.at - start)).toEqual(
      Array.from({ length: 11 }, (_, i) => (i + 1) * 10_000),
    );
    expect(spy.callsOf('pruneJobs').map((call) => call.at - start)).toEqual(
      Array.from({ length: 11 }, (_, i) => (i + 1) * 10_000),
    );
    const [first] = spy.callsOf('pruneHistory');
    expect(first?.args[0]).toEqual({ maxAge: 50_000, maxRowsPerJob: 20, now: start + 10_000 });
    expect(spy.callsOf('pruneJobs')[0]?.args[0]).toEqual({ finishedBefore: start - 90_000 });
  });

  it('is off with maintenanceInterval null', async () => {
    const clock = createManualClock();
    const inner = createMemoryStorage();
    const start = clock.now();
    await oldData(inner, start);
    const spy = spyStorage(inner, { clock });
    await t.harness(
      {
        storage: spy.store,
        maintenanceInterval: null,
        historyMaxAge: 1_000,
        finishedJobRetention: 1_000,
      },
      { clock },
    );
    for (let i = 0; i < 10; i++) await clock.advance(60_000);
    expect(spy.callsOf('pruneHistory')).toEqual([]);
    expect(spy.callsOf('pruneJobs')).toEqual([]);
    expect(await inner.history('with-history')).toHaveLength(1);
    expect((await inner.getJob('finished'))?.state).toBe('completed');
  });

  it('keeps history by age and finished jobs when both are null; still trims to historyLimit', async () => {
    const clock = createManualClock();
    const spy = spyStorage(createMemoryStorage(), { clock });
    await t.harness(
      {
        storage: spy.store,
        maintenanceInterval: 1_000,
        historyLimit: 5,
        historyMaxAge: null,
        finishedJobRetention: null,
      },
      { clock },
    );
    await clock.advance(1_000);
    expect(spy.callsOf('pruneHistory').map((call) => call.args[0])).toEqual([
      { maxRowsPerJob: 5, now: clock.now() },
    ]);
    expect(spy.callsOf('pruneJobs')).toEqual([]);
  });
});
