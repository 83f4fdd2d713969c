/**
 * Runs and history: a run's life from claim to completion, outcomes, completion of a finished
 * schedule, history retention on completion, history queries, getRun and runningRuns.
 *
 * @module
 */

import type { RunRecord } from '@again/storage';
import {
  claim,
  finishRun,
  must,
  newJob,
  occurrenceIdOf,
  runEach,
  runTimes,
  type SuiteContext,
  sequencesOf,
  startRun,
  T0,
} from '../harness.js';

/** Registers the run and history cases. */
export function runCases({ describe, test, expect, defaultHistoryLimit }: SuiteContext): void {
  describe('runs and history', () => {
    test('a claim starts a run: job running with activeRuns 1 and a leased ledger entry', async ({
      store,
    }) => {
      const created = await store.createJob(newJob('job-1'));
      const { job, run, claimed } = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        now: T0 + 1003,
        owner: 'instance-a',
        leaseDuration: 30_000,
      });
      expect(job).toMatchObject({
        id: 'job-1',
        state: 'running',
        nextRunAt: T0 + 2000,
        sequence: 1,
        started: 1,
        runs: 0,
        activeRuns: 1,
        createdAt: T0,
        updatedAt: T0 + 1003,
        lastRun: null,
      });
      expect(job.fence).toBeGreaterThan(created.fence);
      const expected: RunRecord = {
        jobId: 'job-1',
        scheduledAt: T0 + 1000,
        occurrenceId: occurrenceIdOf('job-1', T0 + 1000),
        sequence: 1,
        fence: job.fence,
        status: 'running',
        trigger: false,
        owner: 'instance-a',
        leaseUntil: T0 + 31_003,
        startedAt: T0 + 1003,
        finishedAt: null,
        reason: null,
        result: null,
        callback: null,
      };
      expect(run).toEqual(expected);
      expect(claimed).toEqual({
        jobId: 'job-1',
        createdAt: T0,
        revision: 0,
        scheduledAt: T0 + 1000,
        occurrenceId: expected.occurrenceId,
        sequence: 1,
        fence: job.fence,
        startedAt: T0 + 1003,
        leaseUntil: T0 + 31_003,
      });
      expect(await store.getJob('job-1')).toEqual(job);
      expect(await store.getRun(run.occurrenceId)).toEqual(expected);
      expect(await store.runningRuns()).toEqual([expected]);
      expect(await store.history('job-1')).toEqual([]);
    });

    test('completion: scheduled, runs 1, activeRuns 0, lastRun set; a second run gives [1, 2]', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      expect(
        await finishRun(store, run, { finishedAt: T0 + 1400, result: { status: 200, body: 'ok' } }),
      ).toBe(true);

      const finished: RunRecord = {
        ...run,
        status: 'succeeded',
        leaseUntil: null,
        finishedAt: T0 + 1400,
        reason: null,
        result: { status: 200, body: 'ok' },
      };
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job).toMatchObject({
        state: 'scheduled',
        runs: 1,
        activeRuns: 0,
        started: 1,
        sequence: 1,
        nextRunAt: T0 + 2000,
      });
      expect(job.lastRun).toEqual(finished);
      expect(await store.getRun(run.occurrenceId)).toEqual(finished);
      expect(await store.history('job-1')).toEqual([finished]);
      expect(await store.runningRuns()).toEqual([]);
      // A finished entry cannot be completed twice.
      expect(await finishRun(store, run, { status: 'failed' })).toBe(false);
      expect(await store.getRun(run.occurrenceId)).toEqual(finished);

      expect(await runTimes(store, 'job-1', 1)).toEqual([2]);
      expect(sequencesOf(await store.history('job-1'))).toEqual([1, 2]);
      expect(await store.getJob('job-1')).toMatchObject({ state: 'scheduled', runs: 2 });
    });

    test('records failed, canceled and abandoned outcomes with their reason', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      const outcomes = [
        { status: 'failed', reason: undefined, result: { error: 'HTTP 503' } },
        { status: 'canceled', reason: 'job removed', result: null },
        { status: 'abandoned', reason: 'lease expired', result: null },
      ] as const;
      for (const [index, outcome] of outcomes.entries()) {
        const at = T0 + (index + 1) * 1000;
        const { run } = await startRun(store, 'job-1', { at, next: at + 1000 });
        expect(
          await finishRun(store, run, {
            status: outcome.status,
            result: outcome.result,
            ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
          }),
        ).toBe(true);
      }
      const history = must(await store.history('job-1'), 'history exists');
      expect(history.map(({ status, reason, result }) => ({ status, reason, result }))).toEqual([
        { status: 'failed', reason: null, result: { error: 'HTTP 503' } },
        { status: 'canceled', reason: 'job removed', result: null },
        { status: 'abandoned', reason: 'lease expired', result: null },
      ]);
      expect(await store.getJob('job-1')).toMatchObject({ runs: 3, activeRuns: 0, started: 3 });
      expect((await store.getJob('job-1'))?.lastRun?.status).toBe('abandoned');
    });

    test('a job with nextRunAt null completes exactly when its last running entry finishes', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const first = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const last = await startRun(store, 'job-1', { at: T0 + 2000, next: null });
      expect(last.job).toMatchObject({ state: 'running', activeRuns: 2, nextRunAt: null });
      expect((await claim(store, runEach(), { now: T0 + 10_000_000 })).examined).toBe(0);

      expect(await finishRun(store, first.run, { finishedAt: T0 + 2500 })).toBe(true);
      expect(await store.getJob('job-1')).toMatchObject({
        state: 'running',
        activeRuns: 1,
        runs: 1,
      });

      expect(await finishRun(store, last.run, { finishedAt: T0 + 2600 })).toBe(true);
      expect(await store.getJob('job-1')).toMatchObject({
        state: 'completed',
        activeRuns: 0,
        runs: 2,
        nextRunAt: null,
      });
      expect(await store.jobIds(['completed'])).toEqual(['job-1']);
    });

    test('history keeps the last historyLimit entries and runs counts all (4 runs, limit 2)', async ({
      store,
    }) => {
      for (const id of ['job-1', 'job-10', 'job-2']) await store.createJob(newJob(id));
      expect(await runTimes(store, 'job-1', 4, { historyLimit: 2 })).toEqual([1, 2, 3, 4]);
      expect(sequencesOf(await store.history('job-1'))).toEqual([3, 4]);
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job).toMatchObject({ runs: 4, sequence: 4 });
      expect(job.lastRun?.sequence).toBe(4);
      expect(await store.getRun(occurrenceIdOf('job-1', T0 + 1000))).toBeUndefined();
      expect(await store.history('missing')).toBeUndefined();
      expect(await store.history('job-10')).toEqual([]);
      expect((await store.queryJobs()).map((j) => j.id)).toEqual(['job-1', 'job-10', 'job-2']);
    });

    test('without a historyLimit the store applies its default limit', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      const count = defaultHistoryLimit + 2;
      await runTimes(store, 'job-1', count, { historyLimit: null });
      const history = must(await store.history('job-1'), 'history exists');
      expect(history).toHaveLength(defaultHistoryLimit);
      expect(history.at(-1)?.sequence).toBe(count);
      expect(history[0]?.sequence).toBe(3);
      // A zero limit also means the default.
      await runTimes(store, 'job-1', 1, { historyLimit: 0 });
      expect(await store.history('job-1')).toHaveLength(defaultHistoryLimit);
      expect(await store.getJob('job-1')).toMatchObject({ runs: count + 1 });
    });

    test('history queries filter like go-again (fromSequence, tail limit)', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      await runTimes(store, 'job-1', 4);
      const query = async (q: { fromSequence?: number; limit?: number } | undefined) =>
        sequencesOf(await store.history('job-1', q));
      expect(await query(undefined)).toEqual([1, 2, 3, 4]);
      expect(await query({})).toEqual([1, 2, 3, 4]);
      expect(await query({ fromSequence: 3 })).toEqual([3, 4]);
      expect(await query({ limit: 2 })).toEqual([3, 4]);
      expect(await query({ fromSequence: 2, limit: 1 })).toEqual([4]);
      expect(await query({ fromSequence: 2, limit: 10 })).toEqual([2, 3, 4]);
      expect(await query({ fromSequence: 99 })).toEqual([]);
      expect(await query({ fromSequence: 0, limit: 0 })).toEqual([1, 2, 3, 4]);
      expect(await query({ fromSequence: -5, limit: -1 })).toEqual([1, 2, 3, 4]);
      expect(await query({ fromSequence: 4, limit: 4 })).toEqual([4]);
      expect(await store.history('missing', { fromSequence: 1 })).toBeUndefined();
    });

    test('getRun finds running, finished and skipped entries by occurrence id', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run: finished } = await startRun(store, 'job-1', {
        at: T0 + 2000,
        next: T0 + 3000,
        skipped: [{ scheduledAt: T0 + 1000, reason: 'missed' }],
      });
      await finishRun(store, finished);
      const { run: running } = await startRun(store, 'job-1', { at: T0 + 3000, next: T0 + 4000 });
      expect(await store.getRun(occurrenceIdOf('job-1', T0 + 1000))).toMatchObject({
        jobId: 'job-1',
        scheduledAt: T0 + 1000,
        status: 'skipped',
        sequence: 1,
      });
      expect(await store.getRun(finished.occurrenceId)).toMatchObject({
        status: 'succeeded',
        sequence: 2,
      });
      expect(await store.getRun(running.occurrenceId)).toEqual(running);
      expect(await store.getRun('missing@1')).toBeUndefined();
    });

    test('runningRuns lists running entries oldest first (by startedAt), optionally per job', async ({
      store,
    }) => {
      await store.createJob(newJob('job-a'));
      await store.createJob(newJob('job-b', { nextRunAt: T0 + 2000 }));
      // job-a's occurrence is scheduled earlier but starts later.
      const b1 = await startRun(store, 'job-b', { at: T0 + 2000, next: T0 + 3000, now: T0 + 2000 });
      const a1 = await startRun(store, 'job-a', { at: T0 + 1000, next: T0 + 2000, now: T0 + 2500 });
      const b2 = await startRun(store, 'job-b', { at: T0 + 3000, next: T0 + 4000, now: T0 + 3000 });
      const a2 = await startRun(store, 'job-a', { at: T0 + 2000, next: T0 + 3000, now: T0 + 3000 });
      const done = await startRun(store, 'job-a', {
        at: T0 + 3000,
        next: T0 + 4000,
        now: T0 + 3001,
      });
      await finishRun(store, done.run);

      expect(await store.runningRuns()).toEqual([b1.run, a1.run, a2.run, b2.run]);
      expect(await store.runningRuns('job-a')).toEqual([a1.run, a2.run]);
      expect(await store.runningRuns('job-b')).toEqual([b1.run, b2.run]);
      expect(await store.runningRuns('missing')).toEqual([]);
    });
  });
}
