/**
 * Leases: batched renewal with the reason of every lost lease, expiry and takeover with fencing, and
 * the stale owner's refused writes.
 *
 * @module
 */

import type { RunRecord } from '@again/storage';
import {
  finishRun,
  LEASE,
  must,
  newJob,
  renew,
  type SuiteContext,
  sequencesOf,
  snapshot,
  startRun,
  storageErrorOf,
  T0,
} from '../harness.js';

/** Registers the lease cases. */
export function leaseCases({ describe, test, expect }: SuiteContext): void {
  describe('leases and takeover', () => {
    test("renewLeases extends an owner's leases to now + leaseDuration and reports the time it used", async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      const { run: r1 } = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        leaseDuration: 30_000,
      });
      const { run: r2 } = await startRun(store, 'job-2', {
        at: T0 + 1000,
        next: T0 + 2000,
        leaseDuration: 30_000,
      });
      const renewal = await renew(store, [r1, r2], { now: T0 + 11_000, leaseDuration: 50_000 });
      expect(renewal).toEqual({ now: T0 + 11_000, leaseUntil: T0 + 61_000, lost: [] });
      expect(await store.getRun(r1.occurrenceId)).toEqual({ ...r1, leaseUntil: T0 + 61_000 });
      expect(await store.getRun(r2.occurrenceId)).toEqual({ ...r2, leaseUntil: T0 + 61_000 });
      // Renewal moves nothing else.
      expect(await store.getJob('job-1')).toMatchObject({
        fence: r1.fence,
        activeRuns: 1,
        state: 'running',
      });
      // A shorter renewal shortens the lease: the lease is what the owner last asked for.
      await renew(store, [r1], { now: T0 + 12_000, leaseDuration: 1000 });
      expect((await store.getRun(r1.occurrenceId))?.leaseUntil).toBe(T0 + 13_000);
    });

    test('a lease held under another owner or fence is lost as taken-over and not renewed', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const lease = { occurrenceId: run.occurrenceId };
      const cases: Array<[string, string, number]> = [
        ['another owner', 'instance-b', run.fence],
        ['a later fence', 'instance-a', run.fence + 1],
        ['an earlier fence', 'instance-a', run.fence - 1],
      ];
      for (const [what, owner, fence] of cases) {
        const renewal = await store.renewLeases({
          owner,
          leases: [{ ...lease, fence: Math.max(fence, 0) }],
          now: T0 + 5000,
          leaseDuration: LEASE,
        });
        expect({ what, lost: renewal.lost }).toEqual({
          what,
          lost: [{ occurrenceId: run.occurrenceId, reason: 'taken-over' }],
        });
      }
      expect(await store.getRun(run.occurrenceId)).toEqual(run);
    });

    test('a finished, missing or deleted entry is lost as gone', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      const { run: finished } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      await finishRun(store, finished);
      const { run: deleted } = await startRun(store, 'job-2', { at: T0 + 1000, next: T0 + 2000 });
      await store.endJob('job-2', 'removed', T0 + 1001);
      await store.createJob(newJob('job-2', { nextRunAt: T0 + 9000, now: T0 + 1002 }));
      const renewal = await store.renewLeases({
        owner: 'instance-a',
        leases: [
          { occurrenceId: finished.occurrenceId, fence: finished.fence },
          { occurrenceId: 'missing@1', fence: 1 },
          { occurrenceId: deleted.occurrenceId, fence: deleted.fence },
        ],
        now: T0 + 5000,
        leaseDuration: LEASE,
      });
      expect(renewal.lost).toEqual([
        { occurrenceId: finished.occurrenceId, reason: 'gone' },
        { occurrenceId: 'missing@1', reason: 'gone' },
        { occurrenceId: deleted.occurrenceId, reason: 'gone' },
      ]);
      expect((await store.getRun(finished.occurrenceId))?.leaseUntil).toBeNull();
      expect(await store.getRun(deleted.occurrenceId)).toBeUndefined();
      expect(await store.getRun('missing@1')).toBeUndefined();
    });

    test('runs of a removed or canceled job are renewed but reported; stopped and completed jobs are not', async ({
      store,
    }) => {
      const runs: Record<string, RunRecord> = {};
      for (const state of ['removed', 'canceled', 'stopped', 'completed'] as const) {
        const id = `job-${state}`;
        await store.createJob(newJob(id));
        runs[state] = (await startRun(store, id, { at: T0 + 1000, next: T0 + 2000 })).run;
        await store.endJob(id, state, T0 + 1500);
      }
      const ordered = ['removed', 'stopped', 'canceled', 'completed'].map((state) =>
        must(runs[state], `the run of the ${state} job`),
      );
      const renewal = await renew(store, ordered, { now: T0 + 5000 });
      expect(renewal.lost).toEqual([
        { occurrenceId: runs.removed?.occurrenceId, reason: 'removed' },
        { occurrenceId: runs.canceled?.occurrenceId, reason: 'canceled' },
      ]);
      for (const run of ordered) {
        expect({
          id: run.jobId,
          leaseUntil: (await store.getRun(run.occurrenceId))?.leaseUntil,
        }).toEqual({
          id: run.jobId,
          leaseUntil: T0 + 5000 + LEASE,
        });
      }
    });

    test('an expired lease that nobody took over can still be renewed', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        leaseDuration: 1000,
      });
      expect(run.leaseUntil).toBe(T0 + 2000);
      const renewal = await renew(store, [run], { now: T0 + 200_000, leaseDuration: 30_000 });
      expect(renewal).toEqual({ now: T0 + 200_000, leaseUntil: T0 + 230_000, lost: [] });
      expect((await store.getRun(run.occurrenceId))?.leaseUntil).toBe(T0 + 230_000);
      // Renewed, it is no longer expired at that time.
      expect(
        await store.claimExpiredRuns({
          owner: 'instance-b',
          now: T0 + 200_001,
          leaseDuration: LEASE,
          limit: 10,
        }),
      ).toEqual([]);
    });

    test('lost leases are reported in the order of the batch, mixed with renewed ones', async ({
      store,
    }) => {
      const ids = ['job-1', 'job-2', 'job-3', 'job-4', 'job-5'];
      const runs: RunRecord[] = [];
      for (const id of ids) {
        await store.createJob(newJob(id));
        runs.push((await startRun(store, id, { at: T0 + 1000, next: T0 + 2000 })).run);
      }
      const [r1, r2, r3, r4, r5] = runs as [RunRecord, RunRecord, RunRecord, RunRecord, RunRecord];
      await store.endJob('job-2', 'canceled', T0 + 1500);
      await finishRun(store, r3);
      await store.endJob('job-5', 'removed', T0 + 1500);
      const renewal = await store.renewLeases({
        owner: 'instance-a',
        leases: [r5, r4, r3, r2, r1].map((run, index) => ({
          occurrenceId: run.occurrenceId,
          fence: index === 1 ? run.fence + 1 : run.fence,
        })),
        now: T0 + 5000,
        leaseDuration: LEASE,
      });
      expect(renewal.lost).toEqual([
        { occurrenceId: r5.occurrenceId, reason: 'removed' },
        { occurrenceId: r4.occurrenceId, reason: 'taken-over' },
        { occurrenceId: r3.occurrenceId, reason: 'gone' },
        { occurrenceId: r2.occurrenceId, reason: 'canceled' },
      ]);
      expect((await store.getRun(r1.occurrenceId))?.leaseUntil).toBe(T0 + 5000 + LEASE);
      expect((await store.getRun(r4.occurrenceId))?.leaseUntil).toBe(r4.leaseUntil);
    });

    test('an empty renewal renews nothing; one repeating an occurrence is refused and writes nothing', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const before = await snapshot(store);
      expect(
        await store.renewLeases({
          owner: 'instance-a',
          leases: [],
          now: T0 + 5000,
          leaseDuration: 1000,
        }),
      ).toEqual({ now: T0 + 5000, leaseUntil: T0 + 6000, lost: [] });
      expect(await snapshot(store)).toEqual(before);
      await storageErrorOf(
        expect,
        store.renewLeases({
          owner: 'instance-a',
          leases: [
            { occurrenceId: run.occurrenceId, fence: run.fence },
            { occurrenceId: run.occurrenceId, fence: run.fence },
          ],
          now: T0 + 5000,
          leaseDuration: LEASE,
        }),
        'renewLeases repeating an occurrence',
        'ERR_STORAGE_INVALID_ARGUMENT',
      );
      expect(await snapshot(store)).toEqual(before);
    });

    test('claimExpiredRuns takes over only expired leases: new owner, fence and leaseDuration, and the previous owner', async ({
      store,
    }) => {
      for (const id of ['job-1', 'job-2', 'job-3']) await store.createJob(newJob(id));
      const expired = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        leaseDuration: 4000,
        owner: 'instance-a',
      });
      const boundary = await startRun(store, 'job-2', {
        at: T0 + 1000,
        next: T0 + 2000,
        leaseDuration: 5000,
      });
      const alive = await startRun(store, 'job-3', {
        at: T0 + 1000,
        next: T0 + 2000,
        leaseDuration: 9000,
      });

      const taken = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 6000,
        leaseDuration: 60_000,
        limit: 10,
      });
      expect(taken).toHaveLength(1);
      const { job, run, previousOwner } = must(taken[0], 'one run taken over');
      expect(previousOwner).toBe('instance-a');
      expect(job.id).toBe('job-1');
      expect(job.fence).toBeGreaterThan(expired.job.fence);
      expect(job).toMatchObject({ state: 'running', activeRuns: 1, runs: 0, started: 1 });
      expect(run).toEqual({
        ...expired.run,
        owner: 'instance-b',
        fence: job.fence,
        leaseUntil: T0 + 66_000,
      });
      expect(await store.getRun(run.occurrenceId)).toEqual(run);
      expect(await store.getJob('job-1')).toEqual(job);

      // A lease is valid up to and including leaseUntil; later leases are untouched.
      expect(await store.getRun(boundary.run.occurrenceId)).toEqual(boundary.run);
      expect(await store.getRun(alive.run.occurrenceId)).toEqual(alive.run);
      expect(await store.getJob('job-2')).toEqual(boundary.job);
      expect(await store.getJob('job-3')).toEqual(alive.job);

      // Nothing left to take at the same time; a later takeover names the new holder.
      expect(
        await store.claimExpiredRuns({
          owner: 'instance-c',
          now: T0 + 6000,
          leaseDuration: LEASE,
          limit: 10,
        }),
      ).toEqual([]);
      const again = await store.claimExpiredRuns({
        owner: 'instance-c',
        now: T0 + 70_000,
        leaseDuration: LEASE,
        limit: 10,
      });
      expect(again.map((entry) => [entry.run.jobId, entry.previousOwner])).toEqual([
        ['job-2', 'instance-a'],
        ['job-3', 'instance-a'],
        ['job-1', 'instance-b'],
      ]);
    });

    test('claimExpiredRuns honours limit and takes the earliest leases first', async ({
      store,
    }) => {
      const durations = [4000, 2000, 3000];
      for (const [index, leaseDuration] of durations.entries()) {
        const id = `job-${index}`;
        await store.createJob(newJob(id));
        await startRun(store, id, { at: T0 + 1000, next: T0 + 2000, leaseDuration });
      }
      const claim = { owner: 'instance-b', now: T0 + 10_000, leaseDuration: LEASE };
      expect(await store.claimExpiredRuns({ ...claim, limit: 0 })).toEqual([]);
      const firstTwo = await store.claimExpiredRuns({ ...claim, limit: 2 });
      expect(firstTwo.map(({ job }) => job.id)).toEqual(['job-1', 'job-2']);
      const rest = await store.claimExpiredRuns({ ...claim, limit: 2 });
      expect(rest.map(({ job }) => job.id)).toEqual(['job-0']);
      expect(await store.claimExpiredRuns({ ...claim, limit: 2 })).toEqual([]);
      const owners = (await store.runningRuns()).map((run) => run.owner);
      expect(owners).toEqual(['instance-b', 'instance-b', 'instance-b']);
    });

    test('after a takeover the stale owner cannot renew or complete, and nothing is written', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const stale = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        owner: 'instance-a',
        leaseDuration: 4000,
      });
      const [takeover] = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 9000,
        leaseDuration: LEASE,
        limit: 1,
      });
      const fresh = must(takeover, 'the run was taken over');
      const before = await snapshot(store);

      const renewal = await renew(store, [stale.run], { now: T0 + 9100 });
      expect(renewal.lost).toEqual([
        { occurrenceId: stale.run.occurrenceId, reason: 'taken-over' },
      ]);
      expect(
        await finishRun(store, stale.run, {
          status: 'succeeded',
          finishedAt: T0 + 9500,
          result: { from: 'stale' },
        }),
      ).toBe(false);
      // The stale owner's name with the new fence, or the new owner's name with the old fence: refused.
      expect(await finishRun(store, stale.run, { fence: fresh.run.fence })).toBe(false);
      expect(await finishRun(store, stale.run, { owner: 'instance-b' })).toBe(false);
      expect(await snapshot(store)).toEqual(before);

      expect(
        await finishRun(store, fresh.run, {
          status: 'failed',
          finishedAt: T0 + 9600,
          result: null,
        }),
      ).toBe(true);
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job).toMatchObject({ runs: 1, activeRuns: 0, state: 'scheduled' });
      expect(job.lastRun).toMatchObject({ owner: 'instance-b', status: 'failed', result: null });
      expect(sequencesOf(await store.history('job-1'))).toEqual([1]);
      // Once finished, the stale lease is gone.
      expect((await renew(store, [stale.run], { now: T0 + 9700 })).lost).toEqual([
        { occurrenceId: stale.run.occurrenceId, reason: 'gone' },
      ]);
    });

    test('an owner that takes over its own run must use the new fence', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      const before = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        owner: 'instance-a',
        leaseDuration: 4000,
      });
      const [again] = await store.claimExpiredRuns({
        owner: 'instance-a',
        now: T0 + 6000,
        leaseDuration: LEASE,
        limit: 5,
      });
      const after = must(again, 'the run was taken over');
      expect(after.previousOwner).toBe('instance-a');
      expect(after.run.owner).toBe('instance-a');
      expect(after.run.fence).toBeGreaterThan(before.run.fence);
      expect((await renew(store, [before.run], { now: T0 + 6001 })).lost).toEqual([
        { occurrenceId: before.run.occurrenceId, reason: 'taken-over' },
      ]);
      expect(await finishRun(store, before.run)).toBe(false);
      expect((await renew(store, [after.run], { now: T0 + 6002 })).lost).toEqual([]);
      expect(await finishRun(store, after.run)).toBe(true);
    });

    test('runs of a terminal job can be taken over and finished; the state stays', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000, leaseDuration: 4000 });
      await store.endJob('job-1', 'removed', T0 + 1500);
      const [taken] = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 6000,
        leaseDuration: LEASE,
        limit: 5,
      });
      const { job, run } = must(taken, 'the run was taken over');
      expect(job.state).toBe('removed');
      expect(await finishRun(store, run, { status: 'canceled', reason: 'job removed' })).toBe(true);
      expect(await store.getJob('job-1')).toMatchObject({
        state: 'removed',
        activeRuns: 0,
        runs: 1,
      });
      expect(await store.runningRuns()).toEqual([]);
    });
  });
}
