/**
 * Pausing and resuming: a paused job keeps its next occurrence but is never due, its runs in
 * flight finish without un-pausing it, and resuming gives it its live state back.
 *
 * @module
 */

import { JobExistsError } from '@again/storage';
import {
  claim,
  finishRun,
  idsOf,
  LEASE,
  must,
  newJob,
  rejectionOf,
  renew,
  runEach,
  type SuiteContext,
  snapshot,
  startRun,
  T0,
} from '../harness.js';

/** Registers the pause and resume cases. */
export function pauseCases({ describe, test, expect }: SuiteContext): void {
  describe('pause and resume', () => {
    test('pauseJob: a scheduled job becomes paused, keeps its nextRunAt, and is never due', async ({
      store,
    }) => {
      const created = await store.createJob(newJob('job-1', { nextRunAt: T0 + 1000 }));
      await store.createJob(newJob('job-2', { nextRunAt: T0 + 3000 }));
      const paused = must(await store.pauseJob('job-1', T0 + 5), 'pauseJob returns the job');
      expect(paused).toEqual({ ...created, state: 'paused', updatedAt: T0 + 5 });
      expect(await store.getJob('job-1')).toEqual(paused);
      expect(await store.countJobs(['paused'])).toBe(1);
      expect(await store.jobIds(['paused'])).toEqual(['job-1']);
      expect(idsOf(await store.queryJobs({ states: ['paused'] }))).toEqual(['job-1']);
      expect(await store.countJobs(['scheduled', 'running'])).toBe(1);
      // Never due: neither claims nor nextDueAt see it, however late.
      expect(await store.nextDueAt()).toBe(T0 + 3000);
      const planned: string[] = [];
      await claim(
        store,
        (job) => {
          planned.push(job.id);
          return null;
        },
        { now: T0 + 10_000_000 },
      );
      expect(planned).toEqual(['job-2']);
      const result = await claim(store, runEach(), { now: T0 + 10_000_000 });
      expect(result.runs.map((run) => run.jobId)).toEqual(['job-2']);
      expect(await store.getJob('job-1')).toEqual(paused);
      await store.endJob('job-2', 'removed', T0 + 6);
      expect(await store.nextDueAt()).toBeNull();
      // Pausing again writes nothing.
      expect(await store.pauseJob('job-1', T0 + 50)).toEqual(paused);
      expect(await store.getJob('job-1')).toEqual(paused);
      expect(await store.pauseJob('missing', T0 + 5)).toBeUndefined();
    });

    test('resumeJob: a paused job takes its live state again and is due at its nextRunAt', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1', { nextRunAt: T0 + 1000 }));
      const paused = must(await store.pauseJob('job-1', T0 + 5), 'pauseJob result');
      const resumed = must(await store.resumeJob('job-1', T0 + 7), 'resumeJob returns the job');
      expect(resumed).toEqual({ ...paused, state: 'scheduled', updatedAt: T0 + 7 });
      expect(await store.getJob('job-1')).toEqual(resumed);
      expect(await store.nextDueAt()).toBe(T0 + 1000);
      expect(await store.countJobs(['paused'])).toBe(0);
      const result = await claim(store, runEach(), { now: T0 + 1000 });
      expect(result.runs.map((run) => run.occurrenceId)).toEqual([`job-1@${T0 + 1000}`]);
      // Resuming a job that is not paused writes nothing.
      const running = must(await store.getJob('job-1'), 'job exists');
      expect(running.state).toBe('running');
      expect(await store.resumeJob('job-1', T0 + 2000)).toEqual(running);
      expect(await store.getJob('job-1')).toEqual(running);
      expect(await store.resumeJob('missing', T0 + 5)).toBeUndefined();
    });

    test('a running job paused: its run renews and finishes normally, and the job stays paused', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const paused = must(await store.pauseJob('job-1', T0 + 1001), 'pauseJob result');
      expect(paused).toMatchObject({
        state: 'paused',
        activeRuns: 1,
        nextRunAt: T0 + 2000,
        updatedAt: T0 + 1001,
        fence: run.fence,
      });
      expect(await store.runningRuns('job-1')).toEqual([run]);
      const renewal = await renew(store, [run], { now: T0 + 1100 });
      expect(renewal.lost).toEqual([]);
      expect(await finishRun(store, run, { finishedAt: T0 + 1500 })).toBe(true);
      const after = must(await store.getJob('job-1'), 'job exists');
      expect(after).toMatchObject({
        state: 'paused',
        runs: 1,
        activeRuns: 0,
        nextRunAt: T0 + 2000,
      });
      expect(after.lastRun?.occurrenceId).toBe(run.occurrenceId);
      expect(await store.nextDueAt()).toBeNull();
      expect((await claim(store, runEach(), { now: T0 + 99_000 })).examined).toBe(0);
      const resumed = must(await store.resumeJob('job-1', T0 + 3000), 'resumeJob result');
      expect(resumed).toMatchObject({ state: 'scheduled', nextRunAt: T0 + 2000, runs: 1 });
      expect((await claim(store, runEach(), { now: T0 + 3000 })).runs).toHaveLength(1);
    });

    test('resuming while runs are active gives running; a paused job whose schedule is exhausted stays paused until resumed, then completes', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      const { run: first } = await startRun(store, 'job-1', { at: T0 + 1000, next: null });
      const { run: second } = await startRun(store, 'job-2', { at: T0 + 1000, next: null });
      await store.pauseJob('job-1', T0 + 1001);
      await store.pauseJob('job-2', T0 + 1001);
      // job-1 resumes while its run is active.
      expect(await store.resumeJob('job-1', T0 + 1002)).toMatchObject({
        state: 'running',
        activeRuns: 1,
        nextRunAt: null,
        updatedAt: T0 + 1002,
      });
      expect(await finishRun(store, first)).toBe(true);
      expect(await store.getJob('job-1')).toMatchObject({ state: 'completed', activeRuns: 0 });
      // job-2's last run finishes while it is paused: it stays paused, not completed.
      expect(await finishRun(store, second)).toBe(true);
      expect(await store.getJob('job-2')).toMatchObject({
        state: 'paused',
        activeRuns: 0,
        runs: 1,
        nextRunAt: null,
      });
      expect(await store.jobIds(['completed'])).toEqual(['job-1']);
      expect(await store.resumeJob('job-2', T0 + 2000)).toMatchObject({
        state: 'completed',
        nextRunAt: null,
        updatedAt: T0 + 2000,
      });
      expect(await store.jobIds(['completed'])).toEqual(['job-1', 'job-2']);
      expect(await store.nextDueAt()).toBeNull();
    });

    test('terminal jobs are neither paused nor resumed; a paused job can be ended, is not prunable, and its id stays taken', async ({
      store,
    }) => {
      await store.createJob(newJob('ended'));
      const ended = must(await store.endJob('ended', 'canceled', T0 + 1), 'endJob result');
      const before = await snapshot(store);
      expect(await store.pauseJob('ended', T0 + 2)).toEqual(ended);
      expect(await store.resumeJob('ended', T0 + 3)).toEqual(ended);
      expect(await snapshot(store)).toEqual(before);

      await store.createJob(newJob('job-1'));
      await store.pauseJob('job-1', T0 + 2);
      const error = await rejectionOf(
        store.createJob(newJob('job-1', { now: T0 + 3 })),
        'createJob over a paused job',
      );
      expect(error).toBeInstanceOf(JobExistsError);
      expect(await store.pruneJobs({ finishedBefore: T0 + 1_000_000 })).toBe(1);
      expect(await store.jobIds()).toEqual(['job-1']);
      const removed = must(await store.endJob('job-1', 'removed', T0 + 4), 'endJob result');
      expect(removed).toMatchObject({ state: 'removed', nextRunAt: null, updatedAt: T0 + 4 });
      expect(await store.resumeJob('job-1', T0 + 5)).toEqual(removed);
      expect(await store.nextDueAt()).toBeNull();
    });

    test("a paused job's expired run is taken over and finished; the job stays paused", async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000, leaseDuration: 1000 });
      await store.pauseJob('job-1', T0 + 1001);
      const [taken] = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 5000,
        leaseDuration: LEASE,
        limit: 10,
      });
      const { job, run } = must(taken, 'the run was taken over');
      expect(job.state).toBe('paused');
      expect(run.owner).toBe('instance-b');
      expect(await finishRun(store, run, { status: 'abandoned', reason: 'lease expired' })).toBe(
        true,
      );
      expect(await store.getJob('job-1')).toMatchObject({ state: 'paused', activeRuns: 0 });
    });
  });
}
