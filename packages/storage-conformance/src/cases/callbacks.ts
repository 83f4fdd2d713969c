/**
 * Callback outcomes: `recordCallback` keeps the outcome of a finished run's callback delivery on
 * its ledger entry (and on the job's `lastRun` when it is that entry).
 *
 * @module
 */

import {
  claim,
  finishRun,
  must,
  newJob,
  occurrenceIdOf,
  runTimes,
  type SuiteContext,
  snapshot,
  startRun,
  T0,
  trigger,
} from '../harness.js';

/** Registers the callback cases. */
export function callbackCases({ describe, test, expect }: SuiteContext): void {
  describe('callback outcomes', () => {
    test("recordCallback stores the outcome on a finished entry, the job's lastRun and its history; a later one replaces it", async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      expect(await finishRun(store, run, { finishedAt: T0 + 1100 })).toBe(true);
      const finished = must(await store.getRun(run.occurrenceId), 'run exists');
      expect(finished.callback).toBeNull();
      const job = must(await store.getJob('job-1'), 'job exists');

      const outcome = { status: 204, attempts: 2, deliveredAt: T0 + 1200 };
      expect(
        await store.recordCallback({ occurrenceId: run.occurrenceId, callback: outcome }),
      ).toBe(true);
      const recorded = { ...finished, callback: outcome };
      expect(await store.getRun(run.occurrenceId)).toEqual(recorded);
      expect(await store.history('job-1')).toEqual([recorded]);
      // The job row changes only in its copy of the last run.
      expect(await store.getJob('job-1')).toEqual({ ...job, lastRun: recorded });

      const retried = { status: 500, attempts: 3, error: 'gave up' };
      expect(
        await store.recordCallback({ occurrenceId: run.occurrenceId, callback: retried }),
      ).toBe(true);
      expect((await store.getRun(run.occurrenceId))?.callback).toEqual(retried);
      expect((await store.getJob('job-1'))?.lastRun?.callback).toEqual(retried);
    });

    test('every finished status takes a callback; running, skipped and missing entries do not (false, nothing written)', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const statuses = ['succeeded', 'failed', 'canceled', 'abandoned'] as const;
      for (const [index, status] of statuses.entries()) {
        const at = T0 + (index + 1) * 1000;
        const { run } = await startRun(store, 'job-1', { at, next: at + 1000 });
        expect(await finishRun(store, run, { status })).toBe(true);
        expect({
          status,
          recorded: await store.recordCallback({
            occurrenceId: run.occurrenceId,
            callback: { status },
          }),
        }).toEqual({ status, recorded: true });
      }
      expect(
        must(await store.history('job-1'), 'history').map((run) => run.callback?.status),
      ).toEqual([...statuses]);

      const { run: running } = await startRun(store, 'job-1', {
        at: T0 + 9000,
        next: T0 + 10_000,
        skipped: [{ scheduledAt: T0 + 8000, reason: 'missed' }],
      });
      const { run: triggered } = await trigger(store, 'job-1', { now: T0 + 9001 });
      const before = await snapshot(store);
      for (const [what, occurrenceId] of [
        ['a running entry', running.occurrenceId],
        ['a running triggered entry', triggered.occurrenceId],
        ['a skipped entry', occurrenceIdOf('job-1', T0 + 8000)],
        ['a missing entry', 'missing@1'],
      ] as const) {
        expect({
          what,
          recorded: await store.recordCallback({ occurrenceId, callback: { ok: true } }),
        }).toEqual({ what, recorded: false });
      }
      expect(await snapshot(store)).toEqual(before);
      // Once finished, the triggered run takes one.
      expect(await finishRun(store, triggered)).toBe(true);
      expect(
        await store.recordCallback({ occurrenceId: triggered.occurrenceId, callback: { ok: 1 } }),
      ).toBe(true);
      expect((await store.getJob('job-1'))?.lastRun).toMatchObject({
        occurrenceId: triggered.occurrenceId,
        callback: { ok: 1 },
      });
    });

    test("a callback on an older entry leaves the job's lastRun alone; a pruned entry takes none", async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await runTimes(store, 'job-1', 3);
      const last = must((await store.getJob('job-1'))?.lastRun, 'a last run');
      const first = occurrenceIdOf('job-1', T0 + 1000);
      expect(await store.recordCallback({ occurrenceId: first, callback: { n: 1 } })).toBe(true);
      expect((await store.getRun(first))?.callback).toEqual({ n: 1 });
      expect((await store.getJob('job-1'))?.lastRun).toEqual(last);

      expect(await store.pruneHistory({ maxRowsPerJob: 1, now: T0 + 10_000 })).toBe(2);
      expect(await store.recordCallback({ occurrenceId: first, callback: { n: 2 } })).toBe(false);
      expect(await store.getRun(first)).toBeUndefined();
      // The claim after it still works on the job (nothing else was touched).
      expect((await claim(store, () => null, { now: T0 + 10_000 })).examined).toBe(1);
    });
  });
}
