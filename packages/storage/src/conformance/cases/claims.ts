/**
 * Occurrence claims: compare-and-set, terminal jobs, ledger uniqueness, races between instances,
 * and the due-time reads (`dueJobs`, `nextDueAt`).
 *
 * @module
 */

import type { ClaimResult, JobStore, RunRecord } from '../../types.js';
import {
  finishRun,
  GENEROUS_HISTORY_LIMIT,
  idsOf,
  must,
  newJob,
  occurrenceIdOf,
  type SuiteContext,
  sequencesOf,
  startRun,
  T0,
} from '../harness.js';

/** Registers the claim cases. */
export function claimCases({ describe, test, expect }: SuiteContext): void {
  describe('occurrence claims', () => {
    test('a claim loses when nextRunAt changed (compare-and-set) and writes nothing', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const won = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const job = await store.getJob('job-1');
      const lost = await store.claimOccurrence({
        jobId: 'job-1',
        expectedNextRunAt: T0 + 1000,
        nextRunAt: T0 + 2000,
        run: {
          scheduledAt: T0 + 1500,
          occurrenceId: occurrenceIdOf('job-1', T0 + 1500),
          owner: 'instance-b',
          leaseUntil: T0 + 90_000,
        },
        skipped: [{ scheduledAt: T0 + 1400, occurrenceId: 'job-1@skip', reason: 'missed' }],
        now: T0 + 1001,
      });
      expect(lost).toBeNull();
      expect(await store.getJob('job-1')).toEqual(job);
      expect(await store.runningRuns()).toEqual([won.run]);
      expect(await store.getRun(occurrenceIdOf('job-1', T0 + 1500))).toBeUndefined();
      expect(await store.getRun('job-1@skip')).toBeUndefined();
      expect(await store.history('job-1')).toEqual([]);
    });

    test('claims on missing or terminal jobs return null and write nothing', async ({ store }) => {
      expect(
        await store.claimOccurrence({
          jobId: 'missing',
          expectedNextRunAt: T0 + 1000,
          nextRunAt: T0 + 2000,
          now: T0 + 1000,
        }),
      ).toBeNull();
      for (const state of ['completed', 'canceled', 'removed', 'stopped'] as const) {
        const id = `job-${state}`;
        await store.createJob(newJob(id));
        const ended = await store.endJob(id, state, T0 + 1);
        const claim = await store.claimOccurrence({
          jobId: id,
          expectedNextRunAt: T0 + 1000,
          nextRunAt: T0 + 2000,
          run: {
            scheduledAt: T0 + 1000,
            occurrenceId: occurrenceIdOf(id, T0 + 1000),
            owner: 'instance-a',
            leaseUntil: T0 + 60_000,
          },
          now: T0 + 1000,
        });
        expect({ state, claim }).toEqual({ state, claim: null });
        expect(await store.getJob(id)).toEqual(ended);
        expect(await store.getRun(occurrenceIdOf(id, T0 + 1000))).toBeUndefined();
      }
      expect(await store.runningRuns()).toEqual([]);
    });

    test('a claim repeating an occurrence already in the ledger is refused and writes nothing', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2', { nextRunAt: T0 + 5000 }));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      await finishRun(store, run);
      const job1 = await store.getJob('job-1');
      const job2 = await store.getJob('job-2');

      // Same (jobId, scheduledAt) as an existing entry, under a new occurrence id.
      const sameTime = await store.claimOccurrence({
        jobId: 'job-1',
        expectedNextRunAt: T0 + 2000,
        nextRunAt: T0 + 3000,
        run: {
          scheduledAt: T0 + 1000,
          occurrenceId: 'job-1@again',
          owner: 'instance-a',
          leaseUntil: T0 + 60_000,
        },
        now: T0 + 2000,
      });
      expect(sameTime).toBeNull();
      // Same (jobId, scheduledAt) as an existing entry, as a skipped occurrence.
      const sameSkip = await store.claimOccurrence({
        jobId: 'job-1',
        expectedNextRunAt: T0 + 2000,
        nextRunAt: T0 + 3000,
        skipped: [{ scheduledAt: T0 + 1000, occurrenceId: 'job-1@skip', reason: 'missed' }],
        now: T0 + 2000,
      });
      expect(sameSkip).toBeNull();
      // An occurrence id another job's entry already uses.
      const sameId = await store.claimOccurrence({
        jobId: 'job-2',
        expectedNextRunAt: T0 + 5000,
        nextRunAt: T0 + 6000,
        run: {
          scheduledAt: T0 + 5000,
          occurrenceId: run.occurrenceId,
          owner: 'instance-a',
          leaseUntil: T0 + 60_000,
        },
        now: T0 + 5000,
      });
      expect(sameId).toBeNull();

      expect(await store.getJob('job-1')).toEqual(job1);
      expect(await store.getJob('job-2')).toEqual(job2);
      expect(await store.getRun('job-1@again')).toBeUndefined();
      expect(await store.getRun('job-1@skip')).toBeUndefined();
      expect((await store.getRun(run.occurrenceId))?.jobId).toBe('job-1');
      expect(sequencesOf(await store.history('job-1'))).toEqual([1]);
      expect(await store.history('job-2')).toEqual([]);
      expect(await store.runningRuns()).toEqual([]);
    });

    test('50 concurrent claims of one occurrence: exactly one wins', async ({ instances }) => {
      const stores = await instances(5);
      const store = must(stores[0], 'first instance');
      await store.createJob(newJob('job-1'));
      const claims = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          must(stores[index % stores.length], 'an instance').claimOccurrence({
            jobId: 'job-1',
            expectedNextRunAt: T0 + 1000,
            nextRunAt: T0 + 2000,
            run: {
              scheduledAt: T0 + 1000,
              occurrenceId: occurrenceIdOf('job-1', T0 + 1000),
              owner: `instance-${index}`,
              leaseUntil: T0 + 60_000,
            },
            now: T0 + 1000,
          }),
        ),
      );
      const winners = claims.filter((claim): claim is ClaimResult => claim !== null);
      expect(winners).toHaveLength(1);
      const winner = must(winners[0], 'one winner');
      expect(await store.runningRuns()).toEqual([winner.run]);
      expect(await store.getJob('job-1')).toMatchObject({
        started: 1,
        activeRuns: 1,
        sequence: 1,
        nextRunAt: T0 + 2000,
      });
    });

    test('instances racing over many occurrences claim each exactly once', async ({
      instances,
    }) => {
      const stores = await instances(4);
      const store = must(stores[0], 'first instance');
      const jobIds = ['job-a', 'job-b', 'job-c', 'job-d', 'job-e'];
      const occurrences = 8;
      for (const id of jobIds) await store.createJob(newJob(id));
      const won: RunRecord[] = [];

      // Every instance runs the same loop: read the job, claim its due occurrence, finish it.
      const instanceLoop = async (instance: JobStore, name: string): Promise<void> => {
        for (let round = 0; round < occurrences * jobIds.length * 2; round++) {
          let progressed = false;
          for (const id of jobIds) {
            const job = await instance.getJob(id);
            if (job?.nextRunAt == null) continue;
            progressed = true;
            const at = job.nextRunAt;
            const last = at >= T0 + occurrences * 1000;
            const claim = await instance.claimOccurrence({
              jobId: id,
              expectedNextRunAt: at,
              nextRunAt: last ? null : at + 1000,
              run: {
                scheduledAt: at,
                occurrenceId: occurrenceIdOf(id, at),
                owner: name,
                leaseUntil: at + 60_000,
              },
              historyLimit: GENEROUS_HISTORY_LIMIT,
              now: at,
            });
            if (claim?.run) {
              won.push(claim.run);
              expect(await finishRun(instance, claim.run, { finishedAt: at + 5 })).toBe(true);
            }
          }
          if (!progressed) return;
        }
      };
      await Promise.all(
        stores.map((instance, index) => instanceLoop(instance, `instance-${index}`)),
      );

      expect(won).toHaveLength(jobIds.length * occurrences);
      for (const id of jobIds) {
        const times = won.filter((run) => run.jobId === id).map((run) => run.scheduledAt);
        expect({ id, times: [...times].sort((a, b) => a - b) }).toEqual({
          id,
          times: Array.from({ length: occurrences }, (_, i) => T0 + (i + 1) * 1000),
        });
        const history = must(await store.history(id), 'history exists');
        expect(history.map((run) => run.scheduledAt)).toEqual(
          Array.from({ length: occurrences }, (_, i) => T0 + (i + 1) * 1000),
        );
        expect(new Set(history.map((run) => run.occurrenceId)).size).toBe(occurrences);
        expect(await store.getJob(id)).toMatchObject({
          state: 'completed',
          runs: occurrences,
          started: occurrences,
          activeRuns: 0,
          sequence: occurrences,
        });
      }
    });

    test('dueJobs returns due, non-terminal jobs earliest first (ties by id), at most limit', async ({
      store,
    }) => {
      await store.createJob(newJob('late', { nextRunAt: T0 + 3000 }));
      await store.createJob(newJob('b-first', { nextRunAt: T0 + 1000 }));
      await store.createJob(newJob('a-first', { nextRunAt: T0 + 1000 }));
      await store.createJob(newJob('middle', { nextRunAt: T0 + 2000 }));
      await store.createJob(newJob('ended', { nextRunAt: T0 + 500 }));
      await store.createJob(newJob('never', { nextRunAt: null }));
      await store.endJob('ended', 'stopped', T0 + 1);

      expect(idsOf(await store.dueJobs(T0 + 2500, 10))).toEqual(['a-first', 'b-first', 'middle']);
      expect(idsOf(await store.dueJobs(T0 + 2000, 10))).toEqual(['a-first', 'b-first', 'middle']);
      expect(idsOf(await store.dueJobs(T0 + 1999, 10))).toEqual(['a-first', 'b-first']);
      expect(idsOf(await store.dueJobs(T0 + 2500, 2))).toEqual(['a-first', 'b-first']);
      expect(idsOf(await store.dueJobs(T0 + 2500, 1))).toEqual(['a-first']);
      expect(await store.dueJobs(T0 + 2500, 0)).toEqual([]);
      expect(await store.dueJobs(T0 + 999, 10)).toEqual([]);
      expect(idsOf(await store.dueJobs(T0 + 10_000, 100))).toEqual([
        'a-first',
        'b-first',
        'middle',
        'late',
      ]);

      // A running job whose next occurrence is due is due too; a claimed one moves back.
      await startRun(store, 'a-first', { at: T0 + 1000, next: T0 + 2500 });
      expect(idsOf(await store.dueJobs(T0 + 2500, 10))).toEqual(['b-first', 'middle', 'a-first']);
      const [first] = await store.dueJobs(T0 + 2500, 1);
      expect(first).toEqual(await store.getJob('b-first'));
      // The read changes nothing.
      expect(idsOf(await store.dueJobs(T0 + 2500, 10))).toEqual(['b-first', 'middle', 'a-first']);
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
    });
  });
}
