/**
 * Jobs: create, read, query, count, ids, terminal states and id reuse.
 *
 * @module
 */

import { JobExistsError, type JobStore, type TerminalJobState } from '@again/storage';
import {
  claim,
  finishRun,
  idsOf,
  LEASE,
  must,
  newJob,
  occurrenceIdOf,
  rejectionOf,
  renew,
  runTimes,
  type SuiteContext,
  sequencesOf,
  startRun,
  T0,
} from '../harness.js';

/** Registers the job cases. */
export function jobCases({ describe, test, expect }: SuiteContext): void {
  describe('jobs', () => {
    test('creates jobs, rejects a duplicate id with JobExistsError, counts and lists ids', async ({
      store,
    }) => {
      for (const id of ['job-1', 'job-2', 'job-10']) await store.createJob(newJob(id));
      const before = await store.getJob('job-2');

      const error = await rejectionOf(
        store.createJob(newJob('job-2', { nextRunAt: T0 + 5000, now: T0 + 1 })),
        'a duplicate createJob',
      );
      expect(error).toBeInstanceOf(JobExistsError);
      expect((error as JobExistsError).code).toBe('ERR_JOB_EXISTS');
      expect((error as JobExistsError).jobId).toBe('job-2');
      expect(await store.getJob('job-2')).toEqual(before);

      expect(await store.countJobs()).toBe(3);
      expect(await store.jobIds()).toEqual(['job-1', 'job-10', 'job-2']);
      expect(await store.getJob('missing')).toBeUndefined();

      const removed = must(
        await store.endJob('job-2', 'removed', T0 + 2),
        'endJob returns the job',
      );
      expect(removed.state).toBe('removed');
      expect(await store.countJobs(['scheduled', 'running'])).toBe(2);
      expect(await store.jobIds(['scheduled', 'running'])).toEqual(['job-1', 'job-10']);
      expect(await store.jobIds(['removed'])).toEqual(['job-2']);
      expect(await store.countJobs(['removed'])).toBe(1);
      expect(await store.countJobs([])).toBe(3);
      expect(await store.jobIds([])).toEqual(['job-1', 'job-10', 'job-2']);
      expect(await store.endJob('missing', 'removed', T0 + 3)).toBeUndefined();
    });

    test('initialises a new job: scheduled, counters at zero, no last run, empty history', async ({
      store,
    }) => {
      const created = await store.createJob(
        newJob('job-1', { nextRunAt: T0 + 1000, now: T0, spec: { url: 'https://example.test' } }),
      );
      expect(created).toMatchObject({
        id: 'job-1',
        spec: { url: 'https://example.test' },
        revision: 0,
        state: 'scheduled',
        nextRunAt: T0 + 1000,
        sequence: 0,
        started: 0,
        runs: 0,
        activeRuns: 0,
        createdAt: T0,
        updatedAt: T0,
        lastRun: null,
      });
      expect(Number.isSafeInteger(created.fence)).toBe(true);
      expect(await store.getJob('job-1')).toEqual(created);
      expect(await store.history('job-1')).toEqual([]);
      expect(await store.runningRuns('job-1')).toEqual([]);
    });

    test('a job created with nextRunAt null is completed at once and never due', async ({
      store,
    }) => {
      const created = await store.createJob(newJob('once', { nextRunAt: null }));
      expect(created.state).toBe('completed');
      expect(created.nextRunAt).toBeNull();
      const planned: string[] = [];
      const result = await claim(
        store,
        (job) => {
          planned.push(job.id);
          return null;
        },
        { now: T0 + 10_000_000 },
      );
      expect({ planned, examined: result.examined }).toEqual({ planned: [], examined: 0 });
      expect(await store.nextDueAt()).toBeNull();
      expect(await store.jobIds(['completed'])).toEqual(['once']);
      // Terminal, so the id can be created again.
      const again = await store.createJob(newJob('once', { nextRunAt: T0 + 50, now: T0 + 1 }));
      expect(again.state).toBe('scheduled');
    });

    test('sorts ids byte-wise (code point order), not by locale or UTF-16 units', async ({
      store,
    }) => {
      const ids = ['job-2', 'b', 'B', 'job-10', 'a', 'é', '\u{1F600}', '\uFF61', 'job-1', 'Z', '_'];
      for (const id of ids) await store.createJob(newJob(id));
      const expected = [
        'B',
        'Z',
        '_',
        'a',
        'b',
        'job-1',
        'job-10',
        'job-2',
        'é',
        '\uFF61',
        '\u{1F600}',
      ];
      expect(await store.jobIds()).toEqual(expected);
      expect(idsOf(await store.queryJobs())).toEqual(expected);
    });

    test('endJob sets a terminal state, clears nextRunAt and touches updatedAt', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const ended = must(await store.endJob('job-1', 'stopped', T0 + 5), 'endJob returns the job');
      expect(ended).toMatchObject({ id: 'job-1', state: 'stopped', nextRunAt: null });
      expect(ended.updatedAt).toBe(T0 + 5);
      expect(await store.getJob('job-1')).toEqual(ended);
      expect(await store.nextDueAt()).toBeNull();
    });

    test('removed overrides a terminal state; other terminal states are kept', async ({
      store,
    }) => {
      const cases: Array<[TerminalJobState, TerminalJobState, TerminalJobState]> = [
        ['removed', 'removed', 'removed'],
        ['removed', 'stopped', 'removed'],
        ['removed', 'completed', 'removed'],
        ['completed', 'canceled', 'completed'],
        ['canceled', 'stopped', 'canceled'],
        ['stopped', 'completed', 'stopped'],
        ['completed', 'removed', 'removed'],
        ['canceled', 'removed', 'removed'],
        ['stopped', 'removed', 'removed'],
      ];
      for (const [index, [first, second, expected]] of cases.entries()) {
        const id = `job-${index}`;
        await store.createJob(newJob(id));
        await store.endJob(id, first, T0 + 1);
        const after = must(await store.endJob(id, second, T0 + 2), 'endJob returns the job');
        expect({ id, state: after.state }).toEqual({ id, state: expected });
        expect({ id, state: (await store.getJob(id))?.state }).toEqual({ id, state: expected });
        // A call that changes nothing leaves `updatedAt` alone.
        const updatedAt = expected === first ? T0 + 1 : T0 + 2;
        expect({ id, updatedAt: after.updatedAt }).toEqual({ id, updatedAt });
      }
    });

    test('a run finishing after a terminal state keeps the state and still counts', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const ended = must(await store.endJob('job-1', 'completed', T0 + 1001), 'endJob result');
      expect(ended).toMatchObject({ state: 'completed', nextRunAt: null, activeRuns: 1 });
      expect(await finishRun(store, run, { finishedAt: T0 + 1500 })).toBe(true);
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job).toMatchObject({ state: 'completed', runs: 1, activeRuns: 0, nextRunAt: null });
      expect(job.lastRun?.occurrenceId).toBe(run.occurrenceId);
    });

    test('createJob over a terminal job starts a fresh status and an empty history', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1', { spec: { version: 1 } }));
      expect(await runTimes(store, 'job-1', 2)).toEqual([1, 2]);
      await store.endJob('job-1', 'completed', T0 + 10_000);

      const fresh = await store.createJob(
        newJob('job-1', { nextRunAt: T0 + 21_000, now: T0 + 20_000, spec: { version: 2 } }),
      );
      expect(fresh).toMatchObject({
        id: 'job-1',
        spec: { version: 2 },
        revision: 0,
        state: 'scheduled',
        nextRunAt: T0 + 21_000,
        sequence: 0,
        started: 0,
        runs: 0,
        activeRuns: 0,
        createdAt: T0 + 20_000,
        updatedAt: T0 + 20_000,
        lastRun: null,
      });
      expect(await store.history('job-1')).toEqual([]);
      expect(await store.getRun(occurrenceIdOf('job-1', T0 + 1000))).toBeUndefined();

      expect(await runTimes(store, 'job-1', 1)).toEqual([1]);
      expect(sequencesOf(await store.history('job-1'))).toEqual([1]);
      expect(await store.getJob('job-1')).toMatchObject({ state: 'scheduled', runs: 1 });
    });

    test("a re-created job's fence is the old one + 1", async ({ store }) => {
      await store.createJob(newJob('job-1'));
      await runTimes(store, 'job-1', 2);
      await startRun(store, 'job-1', { at: T0 + 3000, next: T0 + 4000 });
      // A takeover moves the fence on too.
      const taken = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 3000 + LEASE + 1,
        leaseDuration: LEASE,
        limit: 10,
      });
      expect(taken).toHaveLength(1);
      const ended = must(await store.endJob('job-1', 'canceled', T0 + 5000), 'endJob result');
      expect(ended.fence).toBe(must(taken[0], 'taken').job.fence);
      const fresh = await store.createJob(newJob('job-1', { now: T0 + 6000 }));
      expect(fresh.fence).toBe(ended.fence + 1);
      expect((await store.getJob('job-1'))?.fence).toBe(ended.fence + 1);
      // Also when the old incarnation never ran, and when it completed at creation.
      await store.createJob(newJob('job-2', { nextRunAt: null }));
      const completed = must(await store.getJob('job-2'), 'job-2 exists');
      expect((await store.createJob(newJob('job-2', { now: T0 + 1 }))).fence).toBe(
        completed.fence + 1,
      );
    });

    test('createJob over a terminal job with a running entry drops it and fences out its lease', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const old = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const ended = must(await store.endJob('job-1', 'removed', T0 + 1001), 'endJob result');

      const fresh = await store.createJob(
        newJob('job-1', { nextRunAt: T0 + 1000, now: T0 + 1002 }),
      );
      // The fence moves on, so no lease of the old incarnation can match a new run.
      expect(fresh.fence).toBe(ended.fence + 1);
      expect(fresh.activeRuns).toBe(0);
      expect(await store.runningRuns()).toEqual([]);
      expect(await store.getRun(old.run.occurrenceId)).toBeUndefined();
      // The old lease names an entry that is gone: not renewed, not completed.
      const gone = await renew(store, [old.run], { now: T0 + 1002 });
      expect(gone.lost).toEqual([{ occurrenceId: old.run.occurrenceId, reason: 'gone' }]);
      expect(await finishRun(store, old.run)).toBe(false);
      expect(await store.getRun(old.run.occurrenceId)).toBeUndefined();

      // The new incarnation claims the same occurrence id with the same owner...
      const renewed = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        now: T0 + 1003,
      });
      expect(renewed.run.occurrenceId).toBe(old.run.occurrenceId);
      expect(renewed.run.fence).toBeGreaterThan(old.run.fence);
      // ...and the old incarnation's lease matches nothing.
      const renewal = await renew(store, [old.run], { now: T0 + 1004 });
      expect(renewal.lost).toEqual([{ occurrenceId: old.run.occurrenceId, reason: 'taken-over' }]);
      expect(await finishRun(store, old.run, { result: { stale: true } })).toBe(false);
      expect(await store.getRun(renewed.run.occurrenceId)).toEqual(renewed.run);
      expect(await finishRun(store, renewed.run)).toBe(true);
      expect(await store.getJob('job-1')).toMatchObject({ runs: 1, activeRuns: 0 });
    });

    test('queries by state and ids and pages like go-again', async ({ store }) => {
      await seedFourJobs(store);
      const ids = async (query: Parameters<JobStore['queryJobs']>[0]) =>
        idsOf(await store.queryJobs(query));

      expect(await ids(undefined)).toEqual(['job-1', 'job-2', 'job-3', 'job-4']);
      expect(await ids({})).toEqual(['job-1', 'job-2', 'job-3', 'job-4']);
      expect(await ids({ states: ['scheduled', 'running'] })).toEqual(['job-1', 'job-2']);
      expect(await ids({ ids: ['job-4', 'missing', 'job-2', 'job-2'] })).toEqual([
        'job-2',
        'job-4',
      ]);
      expect(await ids({ offset: 1, limit: 2 })).toEqual(['job-2', 'job-3']);
      expect(await ids({ offset: -1, limit: 1 })).toEqual(['job-1']);
      expect(await ids({ offset: 10 })).toEqual([]);
      expect(await ids({ offset: 4 })).toEqual([]);
      expect(await ids({ offset: 3 })).toEqual(['job-4']);
      expect(await ids({ limit: 0 })).toEqual(['job-1', 'job-2', 'job-3', 'job-4']);
      expect(await ids({ limit: -3 })).toEqual(['job-1', 'job-2', 'job-3', 'job-4']);
      expect(await ids({ ids: [], states: [] })).toEqual(['job-1', 'job-2', 'job-3', 'job-4']);
      expect(
        await ids({ ids: ['job-1', 'job-3', 'job-4'], states: ['completed', 'removed'] }),
      ).toEqual(['job-3', 'job-4']);
      expect(await ids({ states: ['completed', 'removed'], offset: 1, limit: 5 })).toEqual([
        'job-4',
      ]);
      expect(await ids({ ids: ['missing'] })).toEqual([]);
      expect(await ids({ states: ['canceled'] })).toEqual([]);

      const [running] = await store.queryJobs({ states: ['running'] });
      expect(running).toMatchObject({ id: 'job-2', state: 'running', activeRuns: 1, started: 1 });
      expect(running).toEqual(await store.getJob('job-2'));
    });

    test('counts and lists ids by state', async ({ store }) => {
      await seedFourJobs(store);
      expect(await store.countJobs()).toBe(4);
      expect(await store.countJobs(['scheduled'])).toBe(1);
      expect(await store.countJobs(['running'])).toBe(1);
      expect(await store.countJobs(['completed', 'removed'])).toBe(2);
      expect(await store.countJobs(['stopped'])).toBe(0);
      expect(await store.jobIds(['running', 'removed'])).toEqual(['job-2', 'job-4']);
      expect(await store.jobIds(['canceled'])).toEqual([]);
    });
  });
}

/** job-1 scheduled, job-2 running, job-3 completed, job-4 removed. */
async function seedFourJobs(store: JobStore): Promise<void> {
  for (const id of ['job-3', 'job-1', 'job-4', 'job-2']) await store.createJob(newJob(id));
  await startRun(store, 'job-2', { at: T0 + 1000, next: T0 + 2000 });
  await store.endJob('job-3', 'completed', T0 + 1);
  await store.endJob('job-4', 'removed', T0 + 1);
}
