/**
 * Leases: renewal, expiry and takeover with fencing, and the stale owner's refused writes.
 *
 * @module
 */

import {
  finishRun,
  leaseOf,
  must,
  newJob,
  type SuiteContext,
  sequencesOf,
  startRun,
  T0,
} from '../harness.js';

/** Registers the lease cases. */
export function leaseCases({ describe, test, expect }: SuiteContext): void {
  describe('leases and takeover', () => {
    test('renewLease extends the lease only for its owner and fence', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        owner: 'instance-a',
        leaseUntil: T0 + 31_000,
      });
      const lease = leaseOf(run);
      expect(await store.renewLease(lease, T0 + 61_000)).toBe(true);
      expect(await store.getRun(run.occurrenceId)).toEqual({ ...run, leaseUntil: T0 + 61_000 });

      expect(await store.renewLease({ ...lease, owner: 'instance-b' }, T0 + 99_000)).toBe(false);
      expect(await store.renewLease({ ...lease, fence: lease.fence + 1 }, T0 + 99_000)).toBe(false);
      expect(await store.renewLease({ ...lease, fence: lease.fence - 1 }, T0 + 99_000)).toBe(false);
      expect(await store.renewLease({ ...lease, occurrenceId: 'missing@1' }, T0 + 99_000)).toBe(
        false,
      );
      expect((await store.getRun(run.occurrenceId))?.leaseUntil).toBe(T0 + 61_000);

      // An expired lease nobody took over can still be renewed.
      expect(await store.renewLease(lease, T0 + 200_000)).toBe(true);
      expect((await store.getRun(run.occurrenceId))?.leaseUntil).toBe(T0 + 200_000);

      expect(await finishRun(store, run)).toBe(true);
      expect(await store.renewLease(lease, T0 + 300_000)).toBe(false);
      expect((await store.getRun(run.occurrenceId))?.leaseUntil).toBeNull();
    });

    test('claimExpiredRuns takes over only expired leases and bumps the fence', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      await store.createJob(newJob('job-3'));
      const expired = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        leaseUntil: T0 + 5000,
      });
      const boundary = await startRun(store, 'job-2', {
        at: T0 + 1000,
        next: T0 + 2000,
        leaseUntil: T0 + 6000,
      });
      const alive = await startRun(store, 'job-3', {
        at: T0 + 1000,
        next: T0 + 2000,
        leaseUntil: T0 + 10_000,
      });

      const taken = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 6000,
        leaseUntil: T0 + 66_000,
        limit: 10,
      });
      expect(taken).toHaveLength(1);
      const [first] = taken;
      const { job, run } = must(first, 'one run taken over');
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

      // Nothing left to take at the same time.
      expect(
        await store.claimExpiredRuns({
          owner: 'instance-c',
          now: T0 + 6000,
          leaseUntil: T0 + 66_000,
          limit: 10,
        }),
      ).toEqual([]);
    });

    test('claimExpiredRuns honours limit and takes the earliest leases first', async ({
      store,
    }) => {
      const leases = [T0 + 4000, T0 + 2000, T0 + 3000];
      for (const [index, leaseUntil] of leases.entries()) {
        const id = `job-${index}`;
        await store.createJob(newJob(id));
        await startRun(store, id, { at: T0 + 1000, next: T0 + 2000, leaseUntil });
      }
      const claim = { owner: 'instance-b', now: T0 + 10_000, leaseUntil: T0 + 70_000 };
      expect(await store.claimExpiredRuns({ ...claim, limit: 0 })).toEqual([]);
      const firstTwo = await store.claimExpiredRuns({ ...claim, limit: 2 });
      expect(firstTwo.map(({ job }) => job.id)).toEqual(['job-1', 'job-2']);
      const rest = await store.claimExpiredRuns({ ...claim, limit: 2 });
      expect(rest.map(({ job }) => job.id)).toEqual(['job-0']);
      expect(await store.claimExpiredRuns({ ...claim, limit: 2 })).toEqual([]);
      const owners = (await store.runningRuns()).map((run) => run.owner);
      expect(owners).toEqual(['instance-b', 'instance-b', 'instance-b']);
    });

    test('after a takeover the stale owner cannot complete or renew, and nothing is written', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const stale = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        owner: 'instance-a',
        leaseUntil: T0 + 5000,
      });
      const [takeover] = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 9000,
        leaseUntil: T0 + 69_000,
        limit: 1,
      });
      const fresh = must(takeover, 'the run was taken over');
      const jobBefore = await store.getJob('job-1');

      expect(await store.renewLease(leaseOf(stale.run), T0 + 99_000)).toBe(false);
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

      expect(await store.getRun(stale.run.occurrenceId)).toEqual(fresh.run);
      expect(await store.getJob('job-1')).toEqual(jobBefore);
      expect(await store.history('job-1')).toEqual([]);

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
    });

    test('an owner that takes over its own run must use the new fence', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      const before = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        owner: 'instance-a',
        leaseUntil: T0 + 5000,
      });
      const [again] = await store.claimExpiredRuns({
        owner: 'instance-a',
        now: T0 + 6000,
        leaseUntil: T0 + 66_000,
        limit: 5,
      });
      const after = must(again, 'the run was taken over');
      expect(after.run.owner).toBe('instance-a');
      expect(after.run.fence).toBeGreaterThan(before.run.fence);
      expect(await store.renewLease(leaseOf(before.run), T0 + 99_000)).toBe(false);
      expect(await finishRun(store, before.run)).toBe(false);
      expect(await store.renewLease(leaseOf(after.run), T0 + 99_000)).toBe(true);
      expect(await finishRun(store, after.run)).toBe(true);
    });

    test('runs of a terminal job can be taken over and finished; the state stays', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000, leaseUntil: T0 + 5000 });
      await store.endJob('job-1', 'removed', T0 + 1500);
      const [taken] = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 6000,
        leaseUntil: T0 + 66_000,
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
