/**
 * Updates: `updateJob` replaces a job's definition and next occurrence by compare-and-set on its
 * revision, and leaves the runs in flight alone.
 *
 * @module
 */

import type { JobUpdate } from '@again/storage';
import {
  claim,
  finishRun,
  LEASE,
  must,
  newJob,
  renew,
  runEach,
  runTimes,
  type SuiteContext,
  snapshot,
  startRun,
  T0,
} from '../harness.js';

/** An update of `id` from `expectedRevision` (spec `{ version }`, next at `nextRunAt`). */
function updateOf(
  id: string,
  expectedRevision: number,
  version: number,
  nextRunAt: number | null,
  now: number,
): JobUpdate {
  return { id, expectedRevision, spec: { kind: 'test', version }, nextRunAt, now };
}

/** Registers the update cases. */
export function updateCases({ describe, test, expect }: SuiteContext): void {
  describe('updates', () => {
    test('updateJob replaces spec and nextRunAt and bumps revision; a stale expectedRevision gets null and writes nothing', async ({
      store,
    }) => {
      const created = await store.createJob(newJob('job-1', { nextRunAt: T0 + 5000 }));
      expect(created.revision).toBe(0);
      const updated = must(
        await store.updateJob(updateOf('job-1', 0, 2, T0 + 2000, T0 + 10)),
        'updateJob returns the job',
      );
      expect(updated).toEqual({
        ...created,
        spec: { kind: 'test', version: 2 },
        revision: 1,
        nextRunAt: T0 + 2000,
        updatedAt: T0 + 10,
      });
      expect(await store.getJob('job-1')).toEqual(updated);
      expect(await store.nextDueAt()).toBe(T0 + 2000);

      const before = await snapshot(store);
      expect(await store.updateJob(updateOf('job-1', 0, 3, T0 + 9000, T0 + 20))).toBeNull();
      expect(await store.updateJob(updateOf('job-1', 2, 3, T0 + 9000, T0 + 20))).toBeNull();
      expect(await snapshot(store)).toEqual(before);
      expect(await store.updateJob(updateOf('job-1', 1, 3, T0 + 9000, T0 + 30))).toMatchObject({
        revision: 2,
        spec: { kind: 'test', version: 3 },
        nextRunAt: T0 + 9000,
      });
      expect(await store.updateJob(updateOf('missing', 0, 1, T0, T0))).toBeUndefined();
    });

    test('a terminal job is not updated (null, nothing written); re-created, its revision is 0 again', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.updateJob(updateOf('job-1', 0, 2, T0 + 2000, T0 + 1));
      await store.updateJob(updateOf('job-1', 1, 3, T0 + 3000, T0 + 2));
      await store.endJob('job-1', 'stopped', T0 + 3);
      const before = await snapshot(store);
      expect(await store.updateJob(updateOf('job-1', 2, 4, T0 + 4000, T0 + 4))).toBeNull();
      expect(await snapshot(store)).toEqual(before);
      const fresh = await store.createJob(newJob('job-1', { now: T0 + 5 }));
      expect(fresh.revision).toBe(0);
      expect((await store.getJob('job-1'))?.revision).toBe(0);
      expect(await store.updateJob(updateOf('job-1', 0, 5, T0 + 6000, T0 + 6))).toMatchObject({
        revision: 1,
        state: 'scheduled',
      });
    });

    test('the state follows the update: completed at once when nextRunAt is null and nothing runs, else after the last run', async ({
      store,
    }) => {
      await store.createJob(newJob('idle'));
      expect(await store.updateJob(updateOf('idle', 0, 2, null, T0 + 1))).toMatchObject({
        state: 'completed',
        nextRunAt: null,
        revision: 1,
        updatedAt: T0 + 1,
      });
      expect(await store.jobIds(['completed'])).toEqual(['idle']);

      await store.createJob(newJob('busy'));
      const { run } = await startRun(store, 'busy', { at: T0 + 1000, next: T0 + 2000 });
      expect(await store.updateJob(updateOf('busy', 0, 2, null, T0 + 1001))).toMatchObject({
        state: 'running',
        nextRunAt: null,
        activeRuns: 1,
      });
      expect(await store.nextDueAt()).toBeNull();
      expect(await finishRun(store, run)).toBe(true);
      expect(await store.getJob('busy')).toMatchObject({ state: 'completed', runs: 1 });

      // Back from a null nextRunAt: a running job with none left is due again after an update.
      await store.createJob(newJob('again'));
      const last = await startRun(store, 'again', { at: T0 + 1000, next: null });
      expect(await store.updateJob(updateOf('again', 0, 2, T0 + 4000, T0 + 1001))).toMatchObject({
        state: 'running',
        nextRunAt: T0 + 4000,
      });
      expect(await finishRun(store, last.run)).toBe(true);
      expect(await store.getJob('again')).toMatchObject({ state: 'scheduled' });
      expect(await store.nextDueAt()).toBe(T0 + 4000);
    });

    test('a paused job stays paused when updated, and is due at the new time once resumed', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1', { nextRunAt: T0 + 1000 }));
      await store.pauseJob('job-1', T0 + 1);
      expect(await store.updateJob(updateOf('job-1', 0, 2, T0 + 500, T0 + 2))).toMatchObject({
        state: 'paused',
        nextRunAt: T0 + 500,
        revision: 1,
      });
      expect(await store.nextDueAt()).toBeNull();
      expect((await claim(store, runEach(), { now: T0 + 99_000 })).examined).toBe(0);
      // Even with nextRunAt null it stays paused (not completed) until resumed.
      expect(await store.updateJob(updateOf('job-1', 1, 3, null, T0 + 3))).toMatchObject({
        state: 'paused',
        nextRunAt: null,
      });
      await store.updateJob(updateOf('job-1', 2, 4, T0 + 700, T0 + 4));
      expect(await store.resumeJob('job-1', T0 + 5)).toMatchObject({
        state: 'scheduled',
        nextRunAt: T0 + 700,
      });
      expect(await store.nextDueAt()).toBe(T0 + 700);
    });

    test('runs in flight keep their lease and fence; the next claim plans with the new definition and revision', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1', { spec: { kind: 'test', version: 1 } }));
      const { run, job } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const updated = must(
        await store.updateJob(updateOf('job-1', 0, 2, T0 + 1500, T0 + 1001)),
        'updateJob result',
      );
      expect(updated).toMatchObject({
        fence: job.fence,
        sequence: job.sequence,
        started: 1,
        activeRuns: 1,
        state: 'running',
      });
      expect(await store.getRun(run.occurrenceId)).toEqual(run);
      expect((await renew(store, [run], { now: T0 + 1100 })).lost).toEqual([]);

      const seen: unknown[] = [];
      const result = await claim(
        store,
        (due) => {
          seen.push({ revision: due.revision, spec: due.spec, specText: due.specText });
          return runEach()(due, T0 + 1500);
        },
        { now: T0 + 1500 },
      );
      const spec = { kind: 'test', version: 2 };
      expect(seen).toEqual([{ revision: 1, spec, specText: JSON.stringify(spec) }]);
      expect(result.runs).toMatchObject([{ revision: 1, scheduledAt: T0 + 1500 }]);
      expect(await finishRun(store, run, { finishedAt: T0 + 1600 })).toBe(true);
      expect(await store.getJob('job-1')).toMatchObject({
        runs: 1,
        activeRuns: 1,
        revision: 1,
        spec,
      });
    });

    test('ClaimedRun.revision and DueJob.revision follow updates; a created job starts at 0', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const [first] = await runTimes(store, 'job-1', 1);
      expect(first).toBe(1);
      let job = must(await store.getJob('job-1'), 'job exists');
      for (let revision = 0; revision < 3; revision++) {
        job = must(
          await store.updateJob(
            updateOf('job-1', revision, revision + 2, job.nextRunAt, T0 + 3000 + revision),
          ),
          'updateJob result',
        );
      }
      const { claimed } = await startRun(store, 'job-1', { at: T0 + 2000, next: T0 + 3000 });
      expect(claimed.revision).toBe(3);
      expect((await store.getJob('job-1'))?.revision).toBe(3);
      expect(
        await store.claimExpiredRuns({
          owner: 'b',
          now: T0 + 2000 + LEASE + 1,
          leaseDuration: LEASE,
          limit: 1,
        }),
      ).toMatchObject([{ job: { revision: 3 } }]);
    });
  });
}
