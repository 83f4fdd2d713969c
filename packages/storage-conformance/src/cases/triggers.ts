/**
 * Triggered runs: `startRun` starts a run outside the schedule, leased and fenced like a claimed
 * one, beside scheduled occurrences (even at the same scheduled time), without counting in
 * `started` or moving `nextRunAt`.
 *
 * @module
 */

import type { RunRecord } from '@again/storage';
import {
  claim,
  completionOf,
  finishRun,
  LEASE,
  must,
  newJob,
  occurrenceIdOf,
  renew,
  runEach,
  type SuiteContext,
  sequencesOf,
  snapshot,
  startRun,
  storageErrorOf,
  T0,
  trigger,
  triggerIdOf,
  triggerOf,
} from '../harness.js';

/** Registers the triggered-run cases. */
export function triggerCases({ describe, test, expect }: SuiteContext): void {
  describe('triggered runs', () => {
    test('startRun starts a leased run now: trigger true, fence and sequence bumped, activeRuns but not started, nextRunAt untouched', async ({
      store,
    }) => {
      const created = await store.createJob(newJob('job-1', { nextRunAt: T0 + 5000 }));
      const claimed = must(
        await store.startRun({
          jobId: 'job-1',
          occurrenceId: 'job-1!manual',
          scheduledAt: T0 + 1000,
          owner: 'instance-x',
          leaseDuration: 20_000,
          now: T0 + 1003,
        }),
        'startRun starts the run',
      );
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job).toEqual({
        ...created,
        state: 'running',
        fence: created.fence + 1,
        sequence: 1,
        started: 0,
        activeRuns: 1,
        nextRunAt: T0 + 5000,
        updatedAt: T0 + 1003,
      });
      expect(claimed).toEqual({
        jobId: 'job-1',
        createdAt: T0,
        revision: 0,
        scheduledAt: T0 + 1000,
        occurrenceId: 'job-1!manual',
        sequence: 1,
        fence: job.fence,
        startedAt: T0 + 1003,
        leaseUntil: T0 + 21_003,
      });
      const expected: RunRecord = {
        jobId: 'job-1',
        scheduledAt: T0 + 1000,
        occurrenceId: 'job-1!manual',
        sequence: 1,
        fence: job.fence,
        status: 'running',
        trigger: true,
        owner: 'instance-x',
        leaseUntil: T0 + 21_003,
        startedAt: T0 + 1003,
        finishedAt: null,
        reason: null,
        result: null,
        callback: null,
      };
      expect(await store.getRun('job-1!manual')).toEqual(expected);
      expect(await store.runningRuns()).toEqual([expected]);
      expect(await store.history('job-1')).toEqual([]);
      // Not due before its nextRunAt; the planner sees no scheduled start.
      expect(await store.nextDueAt()).toBe(T0 + 5000);
      expect((await claim(store, runEach(), { now: T0 + 4999 })).examined).toBe(0);
      const started: number[] = [];
      await claim(
        store,
        (due) => {
          started.push(due.started, due.activeRuns);
          return null;
        },
        { now: T0 + 5000 },
      );
      expect(started).toEqual([0, 1]);
    });

    test('a triggered run and a scheduled occurrence may share a scheduled time, in either order', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1', { nextRunAt: T0 + 1000 }));
      await store.createJob(newJob('job-2', { nextRunAt: T0 + 1000 }));
      // job-1: triggered at the scheduled time first, then the scheduled occurrence is claimed.
      const triggered = await trigger(store, 'job-1', { at: T0 + 1000, now: T0 + 900 });
      const result = await claim(store, runEach(), { now: T0 + 1000 });
      expect(result.conflicts).toEqual([]);
      expect(result.runs.map((run) => run.occurrenceId)).toEqual([
        occurrenceIdOf('job-1', T0 + 1000),
        occurrenceIdOf('job-2', T0 + 1000),
      ]);
      // job-2: claimed first, then triggered at the same scheduled time.
      const second = await trigger(store, 'job-2', { at: T0 + 1000, now: T0 + 1001 });
      for (const id of ['job-1', 'job-2']) {
        expect({ id, job: await store.getJob(id) }).toMatchObject({
          id,
          job: { state: 'running', activeRuns: 2, started: 1, sequence: 2 },
        });
      }
      const scheduled = must(await store.getRun(occurrenceIdOf('job-1', T0 + 1000)), 'run');
      expect(scheduled).toMatchObject({ trigger: false, scheduledAt: T0 + 1000, sequence: 2 });
      expect(triggered.run).toMatchObject({ trigger: true, scheduledAt: T0 + 1000, sequence: 1 });
      // Both finish and both are history.
      expect(
        await store.completeRuns([
          completionOf(triggered.run),
          completionOf(scheduled),
          completionOf(second.run),
        ]),
      ).toEqual([true, true, true]);
      const history = must(await store.history('job-1'), 'history exists');
      expect(history.map((run) => [run.sequence, run.trigger, run.status])).toEqual([
        [1, true, 'succeeded'],
        [2, false, 'succeeded'],
      ]);
      expect(await store.getJob('job-1')).toMatchObject({
        state: 'scheduled',
        runs: 2,
        activeRuns: 0,
        started: 1,
        nextRunAt: T0 + 2000,
      });
      // Two triggered runs may share a time too (each has its own occurrence id).
      await trigger(store, 'job-1', { at: T0 + 1000, now: T0 + 3000, occurrenceId: 'again-1' });
      await trigger(store, 'job-1', { at: T0 + 1000, now: T0 + 3000, occurrenceId: 'again-2' });
      expect(await store.getJob('job-1')).toMatchObject({ activeRuns: 2, sequence: 4 });
    });

    test('an occurrence id already in the ledger is refused as an invalid argument and nothing is written', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      const { run: finished } = await startRun(store, 'job-1', {
        at: T0 + 2000,
        next: T0 + 3000,
        skipped: [{ scheduledAt: T0 + 1000, reason: 'missed' }],
      });
      await finishRun(store, finished);
      const { run: running } = await startRun(store, 'job-2', { at: T0 + 1000, next: T0 + 2000 });
      const triggered = await trigger(store, 'job-2', { now: T0 + 1500 });
      const before = await snapshot(store);
      const taken = [
        ['a finished entry of the job', 'job-1', finished.occurrenceId],
        ['a skipped entry of the job', 'job-1', occurrenceIdOf('job-1', T0 + 1000)],
        ['a running entry of another job', 'job-1', running.occurrenceId],
        ['a triggered run', 'job-2', triggered.run.occurrenceId],
      ] as const;
      for (const [what, jobId, occurrenceId] of taken) {
        await storageErrorOf(
          expect,
          store.startRun(triggerOf(jobId, { now: T0 + 5000, occurrenceId })),
          `startRun reusing ${what}`,
          'ERR_STORAGE_INVALID_ARGUMENT',
        );
      }
      expect(await snapshot(store)).toEqual(before);
    });

    test('startRun on a paused or terminal job is null and writes nothing; on a missing job undefined', async ({
      store,
    }) => {
      for (const id of ['paused', 'removed', 'completed']) await store.createJob(newJob(id));
      await store.pauseJob('paused', T0 + 1);
      await store.endJob('removed', 'removed', T0 + 1);
      await store.endJob('completed', 'completed', T0 + 1);
      const before = await snapshot(store);
      for (const id of ['paused', 'removed', 'completed']) {
        expect({ id, started: await store.startRun(triggerOf(id, { now: T0 + 2 })) }).toEqual({
          id,
          started: null,
        });
      }
      expect(await store.startRun(triggerOf('missing', { now: T0 + 2 }))).toBeUndefined();
      expect(await snapshot(store)).toEqual(before);
      // Resumed, it can be triggered.
      await store.resumeJob('paused', T0 + 3);
      expect(await store.startRun(triggerOf('paused', { now: T0 + 4 }))).toMatchObject({
        jobId: 'paused',
      });
    });

    test('triggered runs renew, complete, are taken over (still triggered) and finish a completed schedule', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const last = await startRun(store, 'job-1', { at: T0 + 1000, next: null });
      const a = await trigger(store, 'job-1', { now: T0 + 1100, leaseDuration: 1000 });
      const b = await trigger(store, 'job-1', { now: T0 + 1200, at: T0 + 7 });
      expect(b.claimed.fence).toBeGreaterThan(a.claimed.fence);
      expect((await renew(store, [b.run], { now: T0 + 1300 })).lost).toEqual([]);
      expect(await store.getRun(b.run.occurrenceId)).toMatchObject({
        leaseUntil: T0 + 1300 + LEASE,
      });
      const [taken] = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 5000,
        leaseDuration: LEASE,
        limit: 10,
      });
      const takeover = must(taken, 'the expired triggered run was taken over');
      expect(takeover.run).toMatchObject({
        occurrenceId: a.run.occurrenceId,
        trigger: true,
        owner: 'instance-b',
      });
      expect(takeover.previousOwner).toBe('instance-a');
      expect(await finishRun(store, a.run)).toBe(false);
      expect(await finishRun(store, takeover.run, { status: 'failed' })).toBe(true);
      expect(await finishRun(store, last.run)).toBe(true);
      expect(await store.getJob('job-1')).toMatchObject({ state: 'running', activeRuns: 1 });
      expect(await finishRun(store, b.run)).toBe(true);
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job).toMatchObject({ state: 'completed', runs: 3, started: 1, activeRuns: 0 });
      expect(job.lastRun).toMatchObject({ occurrenceId: b.run.occurrenceId, trigger: true });
      expect(sequencesOf(await store.history('job-1'))).toEqual([1, 2, 3]);
      expect(
        must(await store.history('job-1'), 'history').map((run) => [run.occurrenceId, run.trigger]),
      ).toEqual([
        [last.run.occurrenceId, false],
        [triggerIdOf('job-1', T0 + 1100), true],
        [triggerIdOf('job-1', T0 + 7), true],
      ]);
      // A completed job cannot be triggered any more.
      expect(await store.startRun(triggerOf('job-1', { now: T0 + 9000 }))).toBeNull();
    });
  });
}
