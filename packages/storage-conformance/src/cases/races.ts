/**
 * Races across instances: concurrent claims, takeovers and completions on one store's data (over
 * peers when the adapter opens them) start, take and record each occurrence exactly once.
 *
 * @module
 */

import { type ClaimedRun, type JobStore, type RunCompletion, StorageError } from '@again/storage';
import {
  claim,
  finishRun,
  GENEROUS_HISTORY_LIMIT,
  LEASE,
  must,
  newJob,
  occurrenceIdOf,
  runEach,
  runPlan,
  type SuiteContext,
  startRun,
  T0,
  triggerOf,
} from '../harness.js';

/** Registers the race cases. */
export function raceCases({ describe, test, expect }: SuiteContext): void {
  describe('races across instances', () => {
    test('50 concurrent claims of one due job over 5 instances start it exactly once', async ({
      instances,
    }) => {
      const stores = await instances(5);
      const store = must(stores[0], 'first instance');
      await store.createJob(newJob('job-1'));
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          claim(must(stores[index % stores.length], 'an instance'), runEach(), {
            now: T0 + 1000,
            owner: `instance-${index}`,
          }),
        ),
      );
      const runs = results.flatMap((result) => result.runs);
      expect(runs).toHaveLength(1);
      const winner = must(runs[0], 'one winner');
      expect(results.flatMap((result) => result.conflicts)).toEqual([]);
      expect((await store.runningRuns()).map((run) => run.occurrenceId)).toEqual([
        winner.occurrenceId,
      ]);
      expect(await store.getJob('job-1')).toMatchObject({
        started: 1,
        activeRuns: 1,
        sequence: 1,
        nextRunAt: T0 + 2000,
      });
    });

    test('concurrent claims re-planning one occurrence: one run, the others conflict or find nothing', async ({
      instances,
    }) => {
      const stores = await instances(4);
      const store = must(stores[0], 'first instance');
      await store.createJob(newJob('job-1'));
      // Every plan starts the same occurrence and leaves the job due, so later claims see it again.
      const plan = () => runPlan('job-1', T0 + 1000, T0 + 1000);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          claim(must(stores[index % stores.length], 'an instance'), plan, {
            now: T0 + 1000,
            owner: `instance-${index}`,
          }),
        ),
      );
      expect(results.flatMap((result) => result.runs)).toHaveLength(1);
      for (const result of results) {
        if (result.runs.length > 0) continue;
        expect({ examined: result.examined, conflicts: result.conflicts }).toEqual(
          result.examined === 0
            ? { examined: 0, conflicts: [] }
            : { examined: 1, conflicts: ['job-1'] },
        );
      }
      expect(await store.getJob('job-1')).toMatchObject({ started: 1, activeRuns: 1, sequence: 1 });
      expect(await store.history('job-1')).toEqual([]);
    });

    test('instances claiming concurrently over many due jobs start each occurrence exactly once', async ({
      instances,
    }) => {
      const stores = await instances(4);
      const store = must(stores[0], 'first instance');
      const ids = Array.from({ length: 24 }, (_, index) => `job-${String(index).padStart(2, '0')}`);
      const occurrences = 5;
      const last = T0 + occurrences * 1000;
      await Promise.all(
        ids.map((id, index) =>
          must(stores[index % stores.length], 'an instance').createJob(newJob(id)),
        ),
      );
      const started: ClaimedRun[] = [];
      const now = T0 + 10_000;

      // Every instance runs the same loop: claim a few due jobs, renew, complete them, repeat.
      const instanceLoop = async (instance: JobStore, owner: string): Promise<void> => {
        for (let turn = 0; turn < 10_000; turn++) {
          const result = await claim(instance, runEach({ last }), { now, owner, limit: 4 });
          started.push(...result.runs);
          if (result.runs.length > 0) {
            const leases = result.runs.map((run) => ({
              occurrenceId: run.occurrenceId,
              fence: run.fence,
            }));
            const renewal = await instance.renewLeases({
              owner,
              leases,
              now,
              leaseDuration: LEASE,
            });
            expect(renewal.lost).toEqual([]);
            const completions: RunCompletion[] = result.runs.map((run) => ({
              occurrenceId: run.occurrenceId,
              owner,
              fence: run.fence,
              status: 'succeeded',
              finishedAt: run.scheduledAt + 5,
              result: { owner },
              historyLimit: GENEROUS_HISTORY_LIMIT,
            }));
            expect(await instance.completeRuns(completions)).toEqual(completions.map(() => true));
          } else {
            const next = await instance.nextDueAt();
            if (next === null || next > now) return;
          }
        }
        throw new Error(`conformance: ${owner} never ran out of due jobs`);
      };
      await Promise.all(
        stores.map((instance, index) => instanceLoop(instance, `instance-${index}`)),
      );

      const times = Array.from({ length: occurrences }, (_, i) => T0 + (i + 1) * 1000);
      expect(started).toHaveLength(ids.length * occurrences);
      expect(new Set(started.map((run) => run.occurrenceId)).size).toBe(started.length);
      for (const id of ids) {
        const mine = started.filter((run) => run.jobId === id).map((run) => run.scheduledAt);
        expect({ id, times: mine.sort((a, b) => a - b) }).toEqual({ id, times });
        const history = must(await store.history(id), 'history exists');
        expect({
          id,
          history: history.map((run) => [run.sequence, run.scheduledAt, run.occurrenceId]),
        }).toEqual({
          id,
          history: times.map((at, i) => [i + 1, at, occurrenceIdOf(id, at)]),
        });
        expect(await store.getJob(id)).toMatchObject({
          state: 'completed',
          runs: occurrences,
          started: occurrences,
          activeRuns: 0,
          sequence: occurrences,
        });
      }
      expect(await store.runningRuns()).toEqual([]);
      expect(await store.countJobs(['completed'])).toBe(ids.length);
    });

    test('concurrent takeovers of expired runs take each run exactly once', async ({
      instances,
    }) => {
      const stores = await instances(5);
      const store = must(stores[0], 'first instance');
      const ids = Array.from({ length: 12 }, (_, index) => `job-${String(index).padStart(2, '0')}`);
      for (const id of ids) await store.createJob(newJob(id));
      await claim(store, runEach(), { now: T0 + 1000, leaseDuration: 1000 });
      const taken = (
        await Promise.all(
          Array.from({ length: 10 }, (_, index) =>
            must(stores[index % stores.length], 'an instance').claimExpiredRuns({
              owner: `taker-${index}`,
              now: T0 + 5000,
              leaseDuration: LEASE,
              limit: 3,
            }),
          ),
        )
      ).flat();
      expect(taken.map(({ run }) => run.jobId).sort()).toEqual(ids);
      expect(taken.every(({ previousOwner }) => previousOwner === 'instance-a')).toBe(true);
      for (const { run } of taken) {
        expect({ id: run.jobId, stored: await store.getRun(run.occurrenceId) }).toEqual({
          id: run.jobId,
          stored: run,
        });
      }
    });

    test('concurrent updates with the same expectedRevision over peers: exactly one wins', async ({
      instances,
    }) => {
      const stores = await instances(4);
      const store = must(stores[0], 'first instance');
      await store.createJob(newJob('job-1'));
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(
          Array.from({ length: 12 }, (_, index) =>
            must(stores[index % stores.length], 'an instance').updateJob({
              id: 'job-1',
              expectedRevision: round,
              spec: { round, writer: index },
              nextRunAt: T0 + 10_000 + index,
              now: T0 + 100 * round + index,
            }),
          ),
        );
        const winners = answers.flatMap((answer, index) => (answer ? [index] : []));
        expect({ round, winners: winners.length }).toEqual({ round, winners: 1 });
        expect(answers.filter((answer) => answer === null)).toHaveLength(11);
        const winner = must(winners[0], 'a winner');
        expect(await store.getJob('job-1')).toMatchObject({
          revision: round + 1,
          spec: { round, writer: winner },
          nextRunAt: T0 + 10_000 + winner,
        });
      }
    });

    test('concurrent triggers with one occurrence id over peers: exactly one starts, the others are refused', async ({
      instances,
    }) => {
      const stores = await instances(4);
      const store = must(stores[0], 'first instance');
      await store.createJob(newJob('job-1'));
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, index) =>
          must(stores[index % stores.length], 'an instance')
            .startRun(
              triggerOf('job-1', { now: T0 + 10, occurrenceId: 'job-1!once', owner: `o-${index}` }),
            )
            .then(
              (run) => (run ? 'started' : String(run)),
              (error: unknown) =>
                error instanceof StorageError ? error.code : `unexpected: ${String(error)}`,
            ),
        ),
      );
      expect(outcomes.filter((outcome) => outcome === 'started')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'ERR_STORAGE_INVALID_ARGUMENT')).toHaveLength(
        11,
      );
      expect(await store.getJob('job-1')).toMatchObject({
        activeRuns: 1,
        sequence: 1,
        started: 0,
        state: 'running',
      });
      expect((await store.runningRuns()).map((run) => run.occurrenceId)).toEqual(['job-1!once']);
    });

    test('a lease released on one instance is taken over by a peer at once, exactly once', async ({
      instances,
    }) => {
      const stores = await instances(4);
      const [owner, ...peers] = stores as [JobStore, ...JobStore[]];
      const ids = Array.from({ length: 6 }, (_, index) => `job-${index}`);
      for (const id of ids) await owner.createJob(newJob(id));
      const claimed = await claim(owner, runEach(), { now: T0 + 1000, owner: 'leaving' });
      expect(claimed.runs).toHaveLength(ids.length);
      const released = await owner.releaseLeases({
        owner: 'leaving',
        leases: claimed.runs.map((run) => ({ occurrenceId: run.occurrenceId, fence: run.fence })),
        now: T0 + 1100,
      });
      expect(released).toBe(ids.length);
      const taken = (
        await Promise.all(
          Array.from({ length: 9 }, (_, index) =>
            must(peers[index % peers.length], 'a peer').claimExpiredRuns({
              owner: `peer-${index}`,
              now: T0 + 1100,
              leaseDuration: LEASE,
              limit: 2,
            }),
          ),
        )
      ).flat();
      expect(taken.map(({ run }) => run.jobId).sort()).toEqual(ids);
      expect(taken.every(({ previousOwner }) => previousOwner === 'leaving')).toBe(true);
      // The leaving instance's leases are lost to the takeovers.
      const renewal = await owner.renewLeases({
        owner: 'leaving',
        leases: claimed.runs.map((run) => ({ occurrenceId: run.occurrenceId, fence: run.fence })),
        now: T0 + 1200,
        leaseDuration: LEASE,
      });
      expect(renewal.lost.map((lost) => lost.reason)).toEqual(ids.map(() => 'taken-over'));
      for (const { run } of taken) {
        expect(await finishRun(must(peers[0], 'a peer'), run)).toBe(true);
      }
      expect(await owner.runningRuns()).toEqual([]);
    });

    test('concurrent completions of one run by its owner: exactly one is recorded', async ({
      instances,
    }) => {
      const stores = await instances(4);
      const store = must(stores[0], 'first instance');
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          must(stores[index % stores.length], 'an instance').completeRuns([
            {
              occurrenceId: run.occurrenceId,
              owner: 'instance-a',
              fence: run.fence,
              status: 'succeeded',
              finishedAt: T0 + 1100 + index,
              result: { index },
            },
          ]),
        ),
      );
      expect(answers.flat().filter(Boolean)).toHaveLength(1);
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job).toMatchObject({ runs: 1, activeRuns: 0 });
      const recorded = must(await store.getRun(run.occurrenceId), 'run exists');
      expect(recorded.result).toEqual({ index: answers.findIndex((answer) => answer[0] === true) });
      expect(await store.history('job-1')).toEqual([recorded]);
    });
  });
}
