/**
 * Retention: pruning history by age and count, and pruning finished jobs.
 *
 * @module
 */

import type { JobStore } from '@again/storage';
import {
  finishRun,
  must,
  newJob,
  type SuiteContext,
  sequencesOf,
  startRun,
  T0,
} from '../harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Runs four occurrences of `jobId` finishing 4 h, 3 h, 1 h and 30 min before `T0 + 10 h`. */
async function fourRunsAcrossHours(store: JobStore, jobId: string): Promise<void> {
  const now = T0 + 10 * HOUR;
  const finishedAt = [now - 4 * HOUR, now - 3 * HOUR, now - HOUR, now - 30 * MINUTE];
  for (const [index, finish] of finishedAt.entries()) {
    const at = T0 + (index + 1) * 1000;
    const { run } = await startRun(store, jobId, { at, next: at + 1000 });
    if (!(await finishRun(store, run, { finishedAt: finish }))) {
      throw new Error(`conformance: completion of ${run.occurrenceId} was refused`);
    }
  }
}

/** Registers the retention cases. */
export function retentionCases({ describe, test, expect }: SuiteContext): void {
  describe('retention', () => {
    test('pruneHistory by age and count (3 jobs x 4 runs, 90 min + 2 rows → 6 deleted)', async ({
      store,
    }) => {
      for (const id of ['job-1', 'job-2', 'job-3']) {
        await store.createJob(newJob(id));
        await fourRunsAcrossHours(store, id);
      }
      const deleted = await store.pruneHistory({
        maxAge: 90 * MINUTE,
        maxRowsPerJob: 2,
        now: T0 + 10 * HOUR,
      });
      expect(deleted).toBe(6);
      for (const id of ['job-1', 'job-2', 'job-3']) {
        expect({ id, sequences: sequencesOf(await store.history(id)) }).toEqual({
          id,
          sequences: [3, 4],
        });
        // Pruning never changes the job's counters or last run.
        expect(await store.getJob(id)).toMatchObject({ runs: 4, sequence: 4 });
        expect((await store.getJob(id))?.lastRun?.sequence).toBe(4);
      }
    });

    test('pruneHistory by age only deletes entries finished before now - maxAge', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await fourRunsAcrossHours(store, 'job-1');
      const now = T0 + 10 * HOUR;
      expect(await store.pruneHistory({ maxAge: 5 * HOUR, now })).toBe(0);
      // The entry finished exactly at the bound (now - 3 h) is kept.
      expect(await store.pruneHistory({ maxAge: 3 * HOUR, now })).toBe(1);
      expect(sequencesOf(await store.history('job-1'))).toEqual([2, 3, 4]);
      expect(await store.pruneHistory({ maxAge: 45 * MINUTE, now })).toBe(2);
      expect(sequencesOf(await store.history('job-1'))).toEqual([4]);
    });

    test('pruneHistory by count keeps the newest entries of each job', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      await fourRunsAcrossHours(store, 'job-1');
      await fourRunsAcrossHours(store, 'job-2');
      await store.createJob(newJob('job-3'));
      const now = T0 + 10 * HOUR;
      expect(await store.pruneHistory({ maxRowsPerJob: 3, now })).toBe(2);
      expect(sequencesOf(await store.history('job-1'))).toEqual([2, 3, 4]);
      expect(await store.pruneHistory({ maxRowsPerJob: 1, now })).toBe(4);
      expect(sequencesOf(await store.history('job-1'))).toEqual([4]);
      expect(sequencesOf(await store.history('job-2'))).toEqual([4]);
      expect(await store.history('job-3')).toEqual([]);
    });

    test('pruneHistory without bounds, or with bounds <= 0, deletes nothing', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      await fourRunsAcrossHours(store, 'job-1');
      const now = T0 + 10 * HOUR;
      expect(await store.pruneHistory({ now })).toBe(0);
      expect(await store.pruneHistory({ maxAge: 0, maxRowsPerJob: 0, now })).toBe(0);
      expect(await store.pruneHistory({ maxAge: -1, maxRowsPerJob: -1, now })).toBe(0);
      expect(sequencesOf(await store.history('job-1'))).toEqual([1, 2, 3, 4]);
    });

    test('pruneHistory never deletes running entries', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const { run: done } = await startRun(store, 'job-1', { at: T0 + 2000, next: T0 + 3000 });
      await finishRun(store, done, { finishedAt: T0 + 2100 });
      const deleted = await store.pruneHistory({
        maxAge: 1,
        maxRowsPerJob: 1,
        now: T0 + 100 * HOUR,
      });
      expect(deleted).toBe(1);
      expect(await store.getRun(run.occurrenceId)).toEqual(run);
      expect(await store.runningRuns()).toEqual([run]);
      expect(await store.history('job-1')).toEqual([]);
      expect(await finishRun(store, run)).toBe(true);
    });

    test('pruneJobs deletes old terminal jobs with their ledger, never non-terminal ones', async ({
      store,
    }) => {
      await store.createJob(newJob('old-done'));
      const { run } = await startRun(store, 'old-done', { at: T0 + 1000, next: T0 + 2000 });
      await finishRun(store, run, { finishedAt: T0 + 1100 });
      await store.endJob('old-done', 'completed', T0 + 2000);
      await store.createJob(newJob('old-removed'));
      await store.endJob('old-removed', 'removed', T0 + 2000);
      await store.createJob(newJob('new-done'));
      await store.endJob('new-done', 'stopped', T0 + 9000);
      await store.createJob(newJob('old-scheduled', { now: T0 - HOUR }));
      await store.createJob(newJob('old-running', { now: T0 - HOUR }));
      const { run: running } = await startRun(store, 'old-running', {
        at: T0 + 1000,
        next: T0 + 2000,
        now: T0 + 1000,
      });
      // A terminal job whose run is still in flight is not finished yet.
      await store.createJob(newJob('old-ended-running'));
      const { run: inFlight } = await startRun(store, 'old-ended-running', {
        at: T0 + 1000,
        next: T0 + 2000,
      });
      await store.endJob('old-ended-running', 'canceled', T0 + 2000);

      expect(await store.pruneJobs({ finishedBefore: T0 + 5000 })).toBe(2);
      expect(await store.jobIds()).toEqual([
        'new-done',
        'old-ended-running',
        'old-running',
        'old-scheduled',
      ]);
      expect(await store.getJob('old-done')).toBeUndefined();
      expect(await store.history('old-done')).toBeUndefined();
      expect(await store.getRun(run.occurrenceId)).toBeUndefined();
      expect(await store.getRun(running.occurrenceId)).toEqual(running);
      expect(await store.getRun(inFlight.occurrenceId)).toMatchObject({ status: 'running' });
      // The bound is exclusive: updatedAt === finishedBefore is kept.
      expect(await store.pruneJobs({ finishedBefore: T0 + 9000 })).toBe(0);
      expect(await store.pruneJobs({ finishedBefore: T0 + 9001 })).toBe(1);
      expect(await store.getJob('new-done')).toBeUndefined();

      // Once its run finishes, the ended job is finished and can be pruned.
      expect(await finishRun(store, inFlight, { finishedAt: T0 + 3000 })).toBe(true);
      const ended = must(await store.getJob('old-ended-running'), 'job exists');
      expect(await store.pruneJobs({ finishedBefore: ended.updatedAt + 1 })).toBe(1);
      expect(await store.jobIds()).toEqual(['old-running', 'old-scheduled']);
      // A pruned id can be created again from scratch.
      const again = await store.createJob(newJob('old-done', { now: T0 + 20_000 }));
      expect(again).toMatchObject({ state: 'scheduled', runs: 0, sequence: 0 });
      expect(await store.history('old-done')).toEqual([]);
    });
  });
}
