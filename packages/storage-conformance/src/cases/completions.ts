/**
 * Completion batches: `completeRuns` answers each completion in order, records the ones whose lease
 * still holds, and refuses a malformed batch as a whole.
 *
 * @module
 */

import type { RunRecord } from '@again/storage';
import {
  completionOf,
  must,
  newJob,
  type SuiteContext,
  sequencesOf,
  snapshot,
  startRun,
  storageErrorOf,
  T0,
} from '../harness.js';

/** Registers the completion cases. */
export function completionCases({ describe, test, expect }: SuiteContext): void {
  describe('completion batches', () => {
    test('a batch records some and refuses others, answering in order; refused ones write nothing', async ({
      store,
    }) => {
      for (const id of ['job-1', 'job-2', 'job-3', 'job-4', 'job-5'])
        await store.createJob(newJob(id));
      const started: RunRecord[] = [];
      for (const id of ['job-1', 'job-2', 'job-3', 'job-4', 'job-5']) {
        started.push((await startRun(store, id, { at: T0 + 1000, next: T0 + 2000 })).run);
      }
      const [r1, r2, r3, r4, r5] = started as [
        RunRecord,
        RunRecord,
        RunRecord,
        RunRecord,
        RunRecord,
      ];
      expect(await store.completeRuns([completionOf(r3)])).toEqual([true]);
      const before = {
        r2: await store.getRun(r2.occurrenceId),
        r3: await store.getRun(r3.occurrenceId),
        r4: await store.getRun(r4.occurrenceId),
        job2: await store.getJob('job-2'),
        job3: await store.getJob('job-3'),
        job4: await store.getJob('job-4'),
      };

      const recorded = await store.completeRuns([
        completionOf(r1, { finishedAt: T0 + 1100, result: { n: 1 } }),
        completionOf(r2, { fence: r2.fence + 1 }),
        completionOf(r5, { status: 'canceled', reason: 'job removed', result: null }),
        completionOf(r3, { status: 'failed' }),
        { ...completionOf(r1), occurrenceId: 'missing@1' },
        completionOf(r4, { owner: 'instance-z' }),
      ]);
      expect(recorded).toEqual([true, false, true, false, false, false]);

      expect(await store.getRun(r1.occurrenceId)).toMatchObject({
        status: 'succeeded',
        finishedAt: T0 + 1100,
        result: { n: 1 },
        leaseUntil: null,
      });
      expect(await store.getRun(r5.occurrenceId)).toMatchObject({
        status: 'canceled',
        reason: 'job removed',
        result: null,
      });
      expect({
        r2: await store.getRun(r2.occurrenceId),
        r3: await store.getRun(r3.occurrenceId),
        r4: await store.getRun(r4.occurrenceId),
        job2: await store.getJob('job-2'),
        job3: await store.getJob('job-3'),
        job4: await store.getJob('job-4'),
      }).toEqual(before);
      expect(await store.getJob('job-1')).toMatchObject({
        runs: 1,
        activeRuns: 0,
        state: 'scheduled',
      });
      expect(await store.getJob('job-5')).toMatchObject({ runs: 1, activeRuns: 0 });
    });

    test('a batch repeating an occurrence is refused as an invalid argument and writes nothing', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      const { run: r1 } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const { run: r2 } = await startRun(store, 'job-2', { at: T0 + 1000, next: T0 + 2000 });
      const before = await snapshot(store);
      await storageErrorOf(
        expect,
        store.completeRuns([
          completionOf(r1),
          completionOf(r2),
          completionOf(r1, { status: 'failed' }),
        ]),
        'completeRuns repeating an occurrence',
        'ERR_STORAGE_INVALID_ARGUMENT',
      );
      expect(await snapshot(store)).toEqual(before);
      expect(await store.completeRuns([completionOf(r1), completionOf(r2)])).toEqual([true, true]);
    });

    test('an empty batch records nothing and answers []', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const before = await snapshot(store);
      expect(await store.completeRuns([])).toEqual([]);
      expect(await snapshot(store)).toEqual(before);
    });

    test('completing two overlapping runs of one job in one batch counts both and completes a finished schedule', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const first = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const last = await startRun(store, 'job-1', { at: T0 + 2000, next: null });
      expect(last.job).toMatchObject({ state: 'running', activeRuns: 2 });
      expect(
        await store.completeRuns([
          completionOf(first.run, { finishedAt: T0 + 2500 }),
          completionOf(last.run, { finishedAt: T0 + 2600 }),
        ]),
      ).toEqual([true, true]);
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job).toMatchObject({ state: 'completed', runs: 2, activeRuns: 0, nextRunAt: null });
      expect(job.lastRun?.occurrenceId).toBe(last.run.occurrenceId);
      expect(sequencesOf(await store.history('job-1'))).toEqual([1, 2]);
    });

    test('each completion of a batch applies its own historyLimit', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      const runs: RunRecord[] = [];
      for (let i = 0; i < 3; i++) {
        for (const id of ['job-1', 'job-2']) {
          const at = T0 + (i + 1) * 1000;
          runs.push((await startRun(store, id, { at, next: at + 1000 })).run);
        }
      }
      expect(
        await store.completeRuns(
          runs.map((run) => completionOf(run, { historyLimit: run.jobId === 'job-1' ? 1 : 5 })),
        ),
      ).toEqual([true, true, true, true, true, true]);
      expect(sequencesOf(await store.history('job-1'))).toEqual([3]);
      expect(sequencesOf(await store.history('job-2'))).toEqual([1, 2, 3]);
    });
  });
}
