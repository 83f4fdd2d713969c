/**
 * Claims: `claimDue` picks due jobs earliest first, calls the planner once per job, and applies
 * every plan in one transaction, or nothing at all; conflicts, limits and `nextDueAt`.
 *
 * @module
 */

import type { DuePlan, JsonObject, RunRecord } from '@again/storage';
import {
  claim,
  finishRun,
  must,
  newJob,
  occurrenceIdOf,
  type Planner,
  rejectionOf,
  runEach,
  runPlan,
  type SuiteContext,
  sequencesOf,
  snapshot,
  startRun,
  storageErrorOf,
  T0,
} from '../harness.js';

/** A planner that records the ids it is asked about and leaves every job alone. */
function recorder(): { plan: Planner; ids: string[] } {
  const ids: string[] = [];
  return {
    ids,
    plan: (job) => {
      ids.push(job.id);
      return null;
    },
  };
}

/** Registers the claim cases. */
export function claimCases({ describe, test, expect, defaultHistoryLimit }: SuiteContext): void {
  describe('claims', () => {
    test('claimDue examines due jobs earliest first, ties by id byte-wise; never terminal, future or unscheduled ones', async ({
      store,
    }) => {
      await store.createJob(newJob('late', { nextRunAt: T0 + 3000 }));
      await store.createJob(newJob('\u{1F600}', { nextRunAt: T0 + 1000 }));
      await store.createJob(newJob('b-first', { nextRunAt: T0 + 1000 }));
      await store.createJob(newJob('\uFF61', { nextRunAt: T0 + 1000 }));
      await store.createJob(newJob('a-first', { nextRunAt: T0 + 1000 }));
      await store.createJob(newJob('middle', { nextRunAt: T0 + 2000 }));
      await store.createJob(newJob('ended', { nextRunAt: T0 + 500 }));
      await store.createJob(newJob('never', { nextRunAt: null }));
      await store.endJob('ended', 'stopped', T0 + 1);
      const ties = ['a-first', 'b-first', '\uFF61', '\u{1F600}'];

      const examine = async (now: number): Promise<string[]> => {
        const { plan, ids } = recorder();
        const result = await claim(store, plan, { now });
        expect({
          now,
          examined: result.examined,
          runs: result.runs,
          conflicts: result.conflicts,
        }).toEqual({ now, examined: ids.length, runs: [], conflicts: [] });
        return ids;
      };
      expect(await examine(T0 + 2500)).toEqual([...ties, 'middle']);
      // A job due exactly at the claim time is due.
      expect(await examine(T0 + 2000)).toEqual([...ties, 'middle']);
      expect(await examine(T0 + 1999)).toEqual(ties);
      expect(await examine(T0 + 999)).toEqual([]);
      expect(await examine(T0 + 10_000)).toEqual([...ties, 'middle', 'late']);

      // A running job whose next occurrence is due is due too; a claimed one moves back.
      await startRun(store, 'a-first', { at: T0 + 1000, next: T0 + 2500 });
      expect(await examine(T0 + 2500)).toEqual([...ties.slice(1), 'middle', 'a-first']);
    });

    test('limit bounds the jobs examined (null plans and conflicts count); the rest stay due', async ({
      store,
    }) => {
      for (let i = 1; i <= 5; i++) {
        await store.createJob(newJob(`job-${i}`, { nextRunAt: T0 + i * 1000 }));
      }
      const now = T0 + 10_000;
      const { plan: nothing, ids } = recorder();
      expect(await claim(store, nothing, { now, limit: 0 })).toEqual({
        now,
        examined: 0,
        runs: [],
        conflicts: [],
      });
      expect(ids).toEqual([]);
      // Null plans count against the limit and leave the jobs first in line.
      expect((await claim(store, nothing, { now, limit: 2 })).examined).toBe(2);
      expect((await claim(store, nothing, { now, limit: 2 })).examined).toBe(2);
      expect(ids).toEqual(['job-1', 'job-2', 'job-1', 'job-2']);

      const plan = runEach({ interval: 1_000_000 });
      const rounds: Array<{ examined: number; started: string[] }> = [];
      for (let round = 0; round < 4; round++) {
        const result = await claim(store, plan, { now, limit: 2 });
        rounds.push({ examined: result.examined, started: result.runs.map((run) => run.jobId) });
      }
      expect(rounds).toEqual([
        { examined: 2, started: ['job-1', 'job-2'] },
        { examined: 2, started: ['job-3', 'job-4'] },
        { examined: 1, started: ['job-5'] },
        { examined: 0, started: [] },
      ]);
    });

    test('a null plan leaves its job exactly as it was, while the other plans of the claim apply', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      await startRun(store, 'job-2', { at: T0 + 1000, next: T0 + 2000 });
      const job1 = await store.getJob('job-1');
      const job2 = await store.getJob('job-2');
      const result = await claim(
        store,
        (job) => (job.id === 'job-3' ? runPlan('job-3', T0 + 1000, T0 + 9000) : null),
        { now: T0 + 5000 },
      );
      await store.createJob(newJob('job-3'));
      expect(result).toEqual({ now: T0 + 5000, examined: 2, runs: [], conflicts: [] });
      expect(await store.getJob('job-1')).toEqual(job1);
      expect(await store.getJob('job-2')).toEqual(job2);
      expect(await store.history('job-1')).toEqual([]);

      const mixed = await claim(
        store,
        (job) => (job.id === 'job-3' ? runPlan('job-3', T0 + 1000, T0 + 9000) : null),
        { now: T0 + 5000 },
      );
      expect(mixed.examined).toBe(3);
      expect(mixed.runs.map((run) => run.jobId)).toEqual(['job-3']);
      expect(await store.getJob('job-1')).toEqual(job1);
      expect(await store.getJob('job-2')).toEqual(job2);
    });

    test('a job is examined once per claim, even when its plan leaves it due', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      let calls = 0;
      const result = await claim(
        store,
        (job) => {
          calls++;
          return runPlan(job.id, job.nextRunAt, job.nextRunAt + 1);
        },
        { now: T0 + 5000 },
      );
      expect({ calls, examined: result.examined, runs: result.runs.length }).toEqual({
        calls: 1,
        examined: 1,
        runs: 1,
      });
      expect(await store.getJob('job-1')).toMatchObject({ nextRunAt: T0 + 1001, activeRuns: 1 });
    });

    test('the claim returns its time and each run: startedAt now, leaseUntil now + leaseDuration', async ({
      store,
    }) => {
      const a = await store.createJob(newJob('job-a', { nextRunAt: T0 + 2000 }));
      const b = await store.createJob(newJob('job-b', { nextRunAt: T0 + 1000, now: T0 + 7 }));
      const now = T0 + 2500;
      const result = await store.claimDue({
        owner: 'instance-x',
        now,
        limit: 10,
        leaseDuration: 45_000,
        plan: runEach(),
      });
      expect(result.now).toBe(now);
      expect(result.examined).toBe(2);
      expect(result.conflicts).toEqual([]);
      const jobB = must(await store.getJob('job-b'), 'job-b exists');
      const jobA = must(await store.getJob('job-a'), 'job-a exists');
      expect(result.runs).toEqual([
        {
          jobId: 'job-b',
          createdAt: b.createdAt,
          revision: 0,
          scheduledAt: T0 + 1000,
          occurrenceId: occurrenceIdOf('job-b', T0 + 1000),
          sequence: 1,
          fence: jobB.fence,
          startedAt: now,
          leaseUntil: now + 45_000,
        },
        {
          jobId: 'job-a',
          createdAt: a.createdAt,
          revision: 0,
          scheduledAt: T0 + 2000,
          occurrenceId: occurrenceIdOf('job-a', T0 + 2000),
          sequence: 1,
          fence: jobA.fence,
          startedAt: now,
          leaseUntil: now + 45_000,
        },
      ]);
      for (const run of result.runs) {
        expect(await store.getRun(run.occurrenceId)).toEqual({
          jobId: run.jobId,
          scheduledAt: run.scheduledAt,
          occurrenceId: run.occurrenceId,
          sequence: run.sequence,
          fence: run.fence,
          status: 'running',
          trigger: false,
          owner: 'instance-x',
          leaseUntil: now + 45_000,
          startedAt: now,
          finishedAt: null,
          reason: null,
          result: null,
          callback: null,
        });
      }
      expect(jobB).toMatchObject({ state: 'running', nextRunAt: T0 + 2000, updatedAt: now });
    });

    test('the planner sees each due job (id, createdAt, nextRunAt, started, activeRuns) and the claim time', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1', { now: T0 + 3 }));
      await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      await store.createJob(newJob('job-2', { nextRunAt: T0 + 1500, now: T0 + 5 }));
      await store.endJob('job-2', 'removed', T0 + 6);
      await store.createJob(newJob('job-2', { nextRunAt: T0 + 1500, now: T0 + 9 }));
      const seen: Array<Record<string, number | string>> = [];
      await claim(
        store,
        (job, now) => {
          const { id, createdAt, nextRunAt, started, activeRuns } = job;
          seen.push({ id, createdAt, nextRunAt, started, activeRuns, now });
          return null;
        },
        { now: T0 + 2000 },
      );
      expect(seen).toEqual([
        {
          id: 'job-2',
          createdAt: T0 + 9,
          nextRunAt: T0 + 1500,
          started: 0,
          activeRuns: 0,
          now: T0 + 2000,
        },
        {
          id: 'job-1',
          createdAt: T0 + 3,
          nextRunAt: T0 + 2000,
          started: 1,
          activeRuns: 1,
          now: T0 + 2000,
        },
      ]);
    });

    test("the planner reads each job's spec exactly as written; a planner that never reads it works the same", async ({
      store,
    }) => {
      const specs: Record<string, JsonObject> = {
        'job-1': {
          zeta: 1,
          alpha: { y: [1, 'two', null], x: true },
          middle: 'text \u00e9 \u{1F600}',
        },
        'job-2': { kind: 'second', nested: { deeper: { deepest: [] } } },
      };
      for (const [id, spec] of Object.entries(specs)) await store.createJob(newJob(id, { spec }));
      const read: Record<string, string> = {};
      const texts: Record<string, string> = {};
      await claim(
        store,
        (job) => {
          read[job.id] = JSON.stringify(job.spec);
          texts[job.id] = job.specText;
          return null;
        },
        { now: T0 + 1000 },
      );
      expect(read).toEqual({
        'job-1': JSON.stringify(specs['job-1']),
        'job-2': JSON.stringify(specs['job-2']),
      });
      // `specText` is the definition's JSON text, exactly as written (key order included).
      expect(texts).toEqual(read);
      // A planner that never touches `spec` claims the same way.
      const result = await claim(
        store,
        (job) => runPlan(job.id, job.nextRunAt, job.nextRunAt + 1000),
        { now: T0 + 1000 },
      );
      expect(result.runs.map((run) => run.jobId)).toEqual(['job-1', 'job-2']);
      expect((await store.getJob('job-1'))?.spec).toEqual(specs['job-1']);
    });

    test('a skip-only plan writes its skipped entries, moves the job on and bumps the fence; no run starts', async ({
      store,
    }) => {
      const created = await store.createJob(newJob('job-1'));
      const result = await claim(
        store,
        () => ({
          run: null,
          skipped: [
            {
              scheduledAt: T0 + 1000,
              occurrenceId: occurrenceIdOf('job-1', T0 + 1000),
              reason: 'paused',
            },
            {
              scheduledAt: T0 + 2000,
              occurrenceId: occurrenceIdOf('job-1', T0 + 2000),
              reason: '',
            },
          ],
          nextRunAt: T0 + 3000,
        }),
        { now: T0 + 2100 },
      );
      expect(result).toEqual({ now: T0 + 2100, examined: 1, runs: [], conflicts: [] });
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job).toMatchObject({
        state: 'scheduled',
        nextRunAt: T0 + 3000,
        sequence: 2,
        started: 0,
        runs: 0,
        activeRuns: 0,
        updatedAt: T0 + 2100,
        lastRun: null,
      });
      expect(job.fence).toBeGreaterThan(created.fence);
      const skipped = (scheduledAt: number, sequence: number, reason: string): RunRecord => ({
        jobId: 'job-1',
        scheduledAt,
        occurrenceId: occurrenceIdOf('job-1', scheduledAt),
        sequence,
        fence: job.fence,
        status: 'skipped',
        trigger: false,
        owner: null,
        leaseUntil: null,
        startedAt: null,
        finishedAt: T0 + 2100,
        reason,
        result: null,
        callback: null,
      });
      expect(await store.history('job-1')).toEqual([
        skipped(T0 + 1000, 1, 'paused'),
        skipped(T0 + 2000, 2, ''),
      ]);
      expect(await store.getRun(occurrenceIdOf('job-1', T0 + 2000))).toEqual(
        skipped(T0 + 2000, 2, ''),
      );
      expect(await store.runningRuns()).toEqual([]);
    });

    test('skipped entries come before the run: sequences in order, counted in sequence, not in started or runs', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { job, run } = await startRun(store, 'job-1', {
        at: T0 + 3000,
        next: T0 + 4000,
        now: T0 + 3100,
        skipped: [
          { scheduledAt: T0 + 1000, reason: 'missed' },
          { scheduledAt: T0 + 2000, reason: 'missed' },
        ],
      });
      expect(job).toMatchObject({
        state: 'running',
        sequence: 3,
        started: 1,
        runs: 0,
        activeRuns: 1,
        nextRunAt: T0 + 4000,
        lastRun: null,
      });
      expect(run).toMatchObject({ scheduledAt: T0 + 3000, sequence: 3, status: 'running' });
      const history = must(await store.history('job-1'), 'history exists');
      expect(
        history.map(({ sequence, status, reason, finishedAt, fence }) => ({
          sequence,
          status,
          reason,
          finishedAt,
          fence,
        })),
      ).toEqual([
        {
          sequence: 1,
          status: 'skipped',
          reason: 'missed',
          finishedAt: T0 + 3100,
          fence: job.fence,
        },
        {
          sequence: 2,
          status: 'skipped',
          reason: 'missed',
          finishedAt: T0 + 3100,
          fence: job.fence,
        },
      ]);
      expect(await finishRun(store, run)).toBe(true);
      const after = must(await store.getJob('job-1'), 'job exists');
      expect(after).toMatchObject({ runs: 1, started: 1, sequence: 3, activeRuns: 0 });
      expect(after.lastRun?.sequence).toBe(3);
      expect(sequencesOf(await store.history('job-1'))).toEqual([1, 2, 3]);
    });

    test('an overlap skip keeps a running job running; the state follows the running entries', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const overlap = await claim(
        store,
        (job) => ({
          run: null,
          skipped: [
            {
              scheduledAt: job.nextRunAt,
              occurrenceId: occurrenceIdOf(job.id, job.nextRunAt),
              reason: 'overlap',
            },
          ],
          nextRunAt: job.nextRunAt + 1000,
        }),
        { now: T0 + 2000 },
      );
      expect(overlap.runs).toEqual([]);
      expect(await store.getJob('job-1')).toMatchObject({
        state: 'running',
        activeRuns: 1,
        sequence: 2,
        started: 1,
        nextRunAt: T0 + 3000,
      });
      expect(await finishRun(store, run)).toBe(true);
      expect(await store.getJob('job-1')).toMatchObject({
        state: 'scheduled',
        runs: 1,
        activeRuns: 0,
      });
      const history = must(await store.history('job-1'), 'history exists');
      expect(history.map(({ sequence, status, reason }) => ({ sequence, status, reason }))).toEqual(
        [
          { sequence: 1, status: 'succeeded', reason: null },
          { sequence: 2, status: 'skipped', reason: 'overlap' },
        ],
      );
    });

    test('a plan with nextRunAt null that starts nothing completes the job at once', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      const result = await claim(
        store,
        (job) =>
          job.id === 'job-1'
            ? {
                run: null,
                skipped: [
                  {
                    scheduledAt: T0 + 1000,
                    occurrenceId: occurrenceIdOf('job-1', T0 + 1000),
                    reason: 'missed',
                  },
                ],
                nextRunAt: null,
              }
            : { run: null, skipped: [], nextRunAt: null },
        { now: T0 + 5000 },
      );
      expect(result).toMatchObject({ examined: 2, runs: [], conflicts: [] });
      for (const id of ['job-1', 'job-2']) {
        expect(await store.getJob(id)).toMatchObject({
          id,
          state: 'completed',
          nextRunAt: null,
          activeRuns: 0,
          updatedAt: T0 + 5000,
        });
      }
      expect(await store.jobIds(['completed'])).toEqual(['job-1', 'job-2']);
      expect(await store.nextDueAt()).toBeNull();
      expect((await claim(store, runEach(), { now: T0 + 99_000 })).examined).toBe(0);
    });

    test('a plan with a run and nextRunAt null leaves the job running until that run finishes', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { job, run } = await startRun(store, 'job-1', { at: T0 + 1000, next: null });
      expect(job).toMatchObject({ state: 'running', nextRunAt: null, activeRuns: 1 });
      expect(await store.nextDueAt()).toBeNull();
      expect((await claim(store, runEach(), { now: T0 + 99_000 })).examined).toBe(0);
      expect(await finishRun(store, run, { status: 'failed' })).toBe(true);
      expect(await store.getJob('job-1')).toMatchObject({ state: 'completed', runs: 1 });
    });

    test('historyLimit applies after the skipped entries are written and never drops running entries', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const skips = [T0 + 2000, T0 + 3000, T0 + 4000];
      await claim(
        store,
        () => ({
          run: null,
          skipped: skips.map((at) => ({
            scheduledAt: at,
            occurrenceId: occurrenceIdOf('job-1', at),
            reason: 'overlap',
          })),
          nextRunAt: T0 + 5000,
        }),
        { now: T0 + 4000, historyLimit: 2 },
      );
      expect((await store.getJob('job-1'))?.sequence).toBe(4);
      expect(sequencesOf(await store.history('job-1'))).toEqual([3, 4]);
      expect(await store.getRun(occurrenceIdOf('job-1', T0 + 2000))).toBeUndefined();
      expect(await store.getRun(run.occurrenceId)).toEqual(run);
      expect(await store.runningRuns('job-1')).toEqual([run]);
      expect(await finishRun(store, run, { historyLimit: 3 })).toBe(true);
      expect(sequencesOf(await store.history('job-1'))).toEqual([1, 3, 4]);
    });

    test("without a historyLimit (or with 0) a claim's skips keep the store's default limit", async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const count = defaultHistoryLimit + 2;
      const skipMany = (from: number, historyLimit: number | null) =>
        claim(
          store,
          () => ({
            run: null,
            skipped: Array.from({ length: count }, (_, i) => ({
              scheduledAt: from + i,
              occurrenceId: occurrenceIdOf('job-1', from + i),
              reason: 'missed',
            })),
            nextRunAt: from + count,
          }),
          { now: from + count, historyLimit },
        );
      await skipMany(T0 + 1000, null);
      const history = must(await store.history('job-1'), 'history exists');
      expect(history).toHaveLength(defaultHistoryLimit);
      expect(history.at(-1)?.sequence).toBe(count);
      await skipMany(T0 + 1000 + count, 0);
      const after = must(await store.history('job-1'), 'history exists');
      expect(after).toHaveLength(defaultHistoryLimit);
      expect(after.at(-1)?.sequence).toBe(2 * count);
    });

    test('a plan repeating an occurrence in the ledger is a conflict: nothing written for its job, the others proceed', async ({
      store,
    }) => {
      for (const id of ['job-1', 'job-2', 'job-3', 'job-4', 'job-5'])
        await store.createJob(newJob(id));
      const done = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      await finishRun(store, done.run);
      const running = await startRun(store, 'job-4', { at: T0 + 1000, next: T0 + 2000 });
      const jobs = {
        'job-1': await store.getJob('job-1'),
        'job-2': await store.getJob('job-2'),
        'job-4': await store.getJob('job-4'),
        'job-5': await store.getJob('job-5'),
      };
      const plans: Record<string, DuePlan> = {
        // The same job and scheduled time as a finished entry, under a new occurrence id.
        'job-1': {
          run: { scheduledAt: T0 + 1000, occurrenceId: 'job-1@again' },
          skipped: [],
          nextRunAt: T0 + 3000,
        },
        // An occurrence id another job's entry holds.
        'job-2': {
          run: { scheduledAt: T0 + 1000, occurrenceId: done.run.occurrenceId },
          skipped: [],
          nextRunAt: T0 + 3000,
        },
        'job-3': runPlan('job-3', T0 + 1000, T0 + 3000),
        // A skipped entry repeating the running entry's time.
        'job-4': {
          run: { scheduledAt: T0 + 2000, occurrenceId: occurrenceIdOf('job-4', T0 + 2000) },
          skipped: [{ scheduledAt: T0 + 1000, occurrenceId: 'job-4@skip', reason: 'missed' }],
          nextRunAt: T0 + 3000,
        },
        // The running entry's own occurrence id, as a skipped entry of another job.
        'job-5': {
          run: null,
          skipped: [
            { scheduledAt: T0 + 1000, occurrenceId: running.run.occurrenceId, reason: 'x' },
          ],
          nextRunAt: T0 + 3000,
        },
      };
      const result = await claim(store, (job) => plans[job.id] ?? null, { now: T0 + 2000 });
      expect(result.examined).toBe(5);
      expect(result.runs.map((run) => run.jobId)).toEqual(['job-3']);
      // In the order the jobs were examined: job-2, job-3 and job-5 are due first.
      expect(result.conflicts).toEqual(['job-2', 'job-5', 'job-1', 'job-4']);
      for (const [id, job] of Object.entries(jobs)) {
        expect({ id, job: await store.getJob(id) }).toEqual({ id, job });
      }
      expect(await store.getRun('job-1@again')).toBeUndefined();
      expect(await store.getRun('job-4@skip')).toBeUndefined();
      expect(await store.getRun(occurrenceIdOf('job-4', T0 + 2000))).toBeUndefined();
      expect(await store.getRun(done.run.occurrenceId)).toMatchObject({
        jobId: 'job-1',
        status: 'succeeded',
      });
      expect(await store.getRun(running.run.occurrenceId)).toEqual(running.run);
      expect(sequencesOf(await store.history('job-1'))).toEqual([1]);
      expect(await store.history('job-5')).toEqual([]);
      // The conflicting jobs stay due: the next claim examines them again.
      const { plan, ids } = recorder();
      await claim(store, plan, { now: T0 + 2000 });
      expect(ids).toEqual(['job-2', 'job-5', 'job-1', 'job-4']);
    });

    test('two plans of one claim naming the same new occurrence: the first examined starts it, the second conflicts', async ({
      store,
    }) => {
      await store.createJob(newJob('job-a', { nextRunAt: T0 + 1000 }));
      await store.createJob(newJob('job-b', { nextRunAt: T0 + 2000 }));
      const jobB = await store.getJob('job-b');
      const result = await claim(
        store,
        (job) => ({
          run: { scheduledAt: job.nextRunAt, occurrenceId: 'shared-occurrence' },
          skipped: [],
          nextRunAt: job.nextRunAt + 10_000,
        }),
        { now: T0 + 5000 },
      );
      expect(result.runs.map((run) => [run.jobId, run.occurrenceId])).toEqual([
        ['job-a', 'shared-occurrence'],
      ]);
      expect(result.conflicts).toEqual(['job-b']);
      expect(await store.getJob('job-b')).toEqual(jobB);
      expect(await store.getRun('shared-occurrence')).toMatchObject({ jobId: 'job-a' });
    });

    test('a throwing planner: the claim rejects with that very error and writes nothing, not even jobs planned before', async ({
      store,
    }) => {
      for (const id of ['job-1', 'job-2', 'job-3', 'job-4']) await store.createJob(newJob(id));
      await startRun(store, 'job-4', { at: T0 + 1000, next: T0 + 1500 });
      const before = await snapshot(store);
      const failure = new Error('conformance: the planner failed');
      const throwOn =
        (id: string, thrown: unknown): Planner =>
        (job) => {
          if (job.id === id) throw thrown;
          return runPlan(job.id, job.nextRunAt, job.nextRunAt + 1000, [
            { scheduledAt: job.nextRunAt - 1, reason: 'missed' },
          ]);
        };
      const error = await rejectionOf(
        claim(store, throwOn('job-3', failure), { now: T0 + 2000 }),
        'a throwing planner',
      );
      expect(error).toBe(failure);
      expect(await snapshot(store)).toEqual(before);
      // Whatever it throws, even something that is not an Error.
      const odd = { reason: 'not an Error' };
      expect(
        await rejectionOf(
          claim(store, throwOn('job-1', odd), { now: T0 + 2000 }),
          'a planner throwing an object',
        ),
      ).toBe(odd);
      expect(await snapshot(store)).toEqual(before);
      // The store is not left broken.
      const result = await claim(store, runEach(), { now: T0 + 2000 });
      expect(result.runs.map((run) => run.jobId)).toEqual(['job-1', 'job-2', 'job-3', 'job-4']);
    });

    test('an invalid plan is refused with ERR_STORAGE_INVALID_ARGUMENT and writes nothing, not even jobs planned before', async ({
      store,
    }) => {
      for (const id of ['job-1', 'job-2', 'job-3']) await store.createJob(newJob(id));
      const before = await snapshot(store);
      const at = T0 + 1000;
      const run = { scheduledAt: at, occurrenceId: occurrenceIdOf('job-3', at) };
      const invalid: Array<[string, unknown]> = [
        [
          'the same time twice (run and skipped)',
          {
            run,
            skipped: [{ scheduledAt: at, occurrenceId: 'other', reason: 'x' }],
            nextRunAt: at + 1,
          },
        ],
        [
          'the same time twice (skipped)',
          {
            run: null,
            skipped: [
              { scheduledAt: at, occurrenceId: 'a', reason: 'x' },
              { scheduledAt: at, occurrenceId: 'b', reason: 'x' },
            ],
            nextRunAt: at + 1,
          },
        ],
        [
          'the same occurrence id twice',
          {
            run,
            skipped: [{ scheduledAt: at - 1, occurrenceId: run.occurrenceId, reason: 'x' }],
            nextRunAt: at + 1,
          },
        ],
        ['a NaN nextRunAt', { run, skipped: [], nextRunAt: Number.NaN }],
        [
          'a fractional scheduledAt',
          { run: { ...run, scheduledAt: at + 0.5 }, skipped: [], nextRunAt: at + 1 },
        ],
        [
          'a negative skipped time',
          {
            run: null,
            skipped: [{ scheduledAt: -1, occurrenceId: 'a', reason: 'x' }],
            nextRunAt: at + 1,
          },
        ],
        [
          'an empty occurrence id',
          { run: { ...run, occurrenceId: '' }, skipped: [], nextRunAt: at + 1 },
        ],
        [
          'a lone surrogate in an occurrence id',
          { run: { ...run, occurrenceId: 'job-3@\uD800' }, skipped: [], nextRunAt: at + 1 },
        ],
        [
          'U+0000 in a skip reason',
          {
            run: null,
            skipped: [{ scheduledAt: at, occurrenceId: 'a', reason: 'a\u0000b' }],
            nextRunAt: at + 1,
          },
        ],
        ['undefined instead of a plan', undefined],
        ['a plan without skipped', { run, nextRunAt: at + 1 }],
        ['a plan without run', { skipped: [], nextRunAt: at + 1 }],
      ];
      for (const [what, plan] of invalid) {
        await storageErrorOf(
          expect,
          claim(
            store,
            (job) =>
              job.id === 'job-3'
                ? (plan as DuePlan)
                : runPlan(job.id, job.nextRunAt, job.nextRunAt + 1000),
            { now: T0 + 2000 },
          ),
          `a claim whose plan has ${what}`,
          'ERR_STORAGE_INVALID_ARGUMENT',
        );
        expect({
          what,
          same: JSON.stringify(await snapshot(store)) === JSON.stringify(before),
        }).toEqual({ what, same: true });
      }
    });

    test('every applied plan bumps the fence, and each run holds the fence it was claimed under', async ({
      store,
    }) => {
      const created = await store.createJob(newJob('job-1'));
      let fence = created.fence;
      for (let i = 1; i <= 3; i++) {
        const at = T0 + i * 1000;
        const { job, run } = await startRun(store, 'job-1', { at, next: at + 1000 });
        expect(job.fence).toBeGreaterThan(fence);
        expect(run.fence).toBe(job.fence);
        fence = job.fence;
      }
      await claim(store, () => ({ run: null, skipped: [], nextRunAt: T0 + 5000 }), {
        now: T0 + 4000,
      });
      expect(must(await store.getJob('job-1'), 'job exists').fence).toBeGreaterThan(fence);
      // Overlapping runs keep their own fences.
      const fences = (await store.runningRuns('job-1')).map((run) => run.fence);
      expect(fences).toHaveLength(3);
      expect(new Set(fences).size).toBe(3);
    });

    test('nextDueAt is the earliest nextRunAt of a non-terminal job', async ({ store }) => {
      expect(await store.nextDueAt()).toBeNull();
      await store.createJob(newJob('job-1', { nextRunAt: T0 + 3000 }));
      expect(await store.nextDueAt()).toBe(T0 + 3000);
      await store.createJob(newJob('job-2', { nextRunAt: T0 + 1000 }));
      await store.createJob(newJob('job-3', { nextRunAt: T0 + 2000 }));
      expect(await store.nextDueAt()).toBe(T0 + 1000);
      await startRun(store, 'job-2', { at: T0 + 1000, next: T0 + 4000 });
      expect(await store.nextDueAt()).toBe(T0 + 2000);
      await store.endJob('job-3', 'removed', T0 + 1500);
      expect(await store.nextDueAt()).toBe(T0 + 3000);
      await store.endJob('job-1', 'canceled', T0 + 1500);
      expect(await store.nextDueAt()).toBe(T0 + 4000);
      await startRun(store, 'job-2', { at: T0 + 4000, next: null });
      expect(await store.nextDueAt()).toBeNull();
      // A past due time is still reported as it is.
      await store.createJob(newJob('job-3', { nextRunAt: T0 - 5000, now: T0 + 5000 }));
      expect(await store.nextDueAt()).toBe(T0 - 5000);
      // The earliest running job's due time counts too.
      await store.createJob(newJob('job-4', { nextRunAt: T0 - 9000, now: T0 + 5000 }));
      await claim(
        store,
        (job) => (job.id === 'job-4' ? runPlan('job-4', T0 - 9000, T0 - 8000) : null),
        { now: T0 + 5000 },
      );
      expect(await store.nextDueAt()).toBe(T0 - 8000);
    });
  });
}
