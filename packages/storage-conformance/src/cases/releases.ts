/**
 * Lease releases: `releaseLeases` makes the leases an owner still holds expire at once, so that
 * any instance takes their runs over at the release time.
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
  snapshot,
  startRun,
  storageErrorOf,
  T0,
  trigger,
} from '../harness.js';

/** Registers the release cases. */
export function releaseCases({ describe, test, expect }: SuiteContext): void {
  describe('lease releases', () => {
    test('a released lease expires at once (leaseUntil = now - 1) and is taken over at the release time', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const { run: kept } = await startRun(store, 'job-2', { at: T0 + 1000, next: T0 + 2000 });
      const job = await store.getJob('job-1');
      const released = await store.releaseLeases({
        owner: 'instance-a',
        leases: [{ occurrenceId: run.occurrenceId, fence: run.fence }],
        now: T0 + 1500,
      });
      expect(released).toBe(1);
      expect(await store.getRun(run.occurrenceId)).toEqual({ ...run, leaseUntil: T0 + 1499 });
      // Nothing else changes: the job, and the owner's other lease.
      expect(await store.getJob('job-1')).toEqual(job);
      expect(await store.getRun(kept.occurrenceId)).toEqual(kept);

      const taken = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 1500,
        leaseDuration: LEASE,
        limit: 10,
      });
      expect(taken.map((entry) => [entry.run.occurrenceId, entry.previousOwner])).toEqual([
        [run.occurrenceId, 'instance-a'],
      ]);
      const takeover = must(taken[0], 'taken over');
      expect(takeover.run).toMatchObject({ owner: 'instance-b', leaseUntil: T0 + 1500 + LEASE });
      expect(takeover.run.fence).toBeGreaterThan(run.fence);
      // The releasing owner's lease is gone for good.
      expect((await renew(store, [run], { now: T0 + 1501 })).lost).toEqual([
        { occurrenceId: run.occurrenceId, reason: 'taken-over' },
      ]);
      expect(await finishRun(store, run)).toBe(false);
      expect(await finishRun(store, takeover.run)).toBe(true);
    });

    test('only leases still held are released: another owner or fence, finished, missing and gone entries are left alone', async ({
      store,
    }) => {
      const runs: RunRecord[] = [];
      for (const id of ['job-1', 'job-2', 'job-3', 'job-4']) {
        await store.createJob(newJob(id));
        runs.push((await startRun(store, id, { at: T0 + 1000, next: T0 + 2000 })).run);
      }
      const [r1, r2, r3, r4] = runs as [RunRecord, RunRecord, RunRecord, RunRecord];
      await finishRun(store, r3);
      const { run: r5 } = await startRun(store, 'job-4', {
        at: T0 + 2000,
        next: T0 + 3000,
        owner: 'instance-b',
      });
      const before = await snapshot(store);
      expect(
        await store.releaseLeases({
          owner: 'instance-a',
          leases: [
            { occurrenceId: r2.occurrenceId, fence: r2.fence + 1 },
            { occurrenceId: r3.occurrenceId, fence: r3.fence },
            { occurrenceId: 'missing@1', fence: 1 },
            { occurrenceId: r5.occurrenceId, fence: r5.fence },
          ],
          now: T0 + 1500,
        }),
      ).toBe(0);
      expect(await snapshot(store)).toEqual(before);
      expect(
        await store.releaseLeases({
          owner: 'instance-a',
          leases: [
            { occurrenceId: r4.occurrenceId, fence: r4.fence },
            { occurrenceId: r3.occurrenceId, fence: r3.fence },
            { occurrenceId: r1.occurrenceId, fence: r1.fence },
          ],
          now: T0 + 1600,
        }),
      ).toBe(2);
      expect((await store.getRun(r1.occurrenceId))?.leaseUntil).toBe(T0 + 1599);
      expect((await store.getRun(r4.occurrenceId))?.leaseUntil).toBe(T0 + 1599);
      expect(await store.getRun(r2.occurrenceId)).toEqual(r2);
      expect(await store.getRun(r5.occurrenceId)).toEqual(r5);
      expect((await store.getRun(r3.occurrenceId))?.leaseUntil).toBeNull();
    });

    test('an empty release releases nothing; one repeating an occurrence is refused and writes nothing', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const before = await snapshot(store);
      expect(await store.releaseLeases({ owner: 'instance-a', leases: [], now: T0 + 1500 })).toBe(
        0,
      );
      await storageErrorOf(
        expect,
        store.releaseLeases({
          owner: 'instance-a',
          leases: [
            { occurrenceId: run.occurrenceId, fence: run.fence },
            { occurrenceId: run.occurrenceId, fence: run.fence },
          ],
          now: T0 + 1500,
        }),
        'releaseLeases repeating an occurrence',
        'ERR_STORAGE_INVALID_ARGUMENT',
      );
      expect(await snapshot(store)).toEqual(before);
    });

    test('a released triggered run is taken over as a triggered run; a released lease can still be renewed until then', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await trigger(store, 'job-1', { now: T0 + 100 });
      expect(
        await store.releaseLeases({
          owner: 'instance-a',
          leases: [{ occurrenceId: run.occurrenceId, fence: run.fence }],
          now: T0 + 200,
        }),
      ).toBe(1);
      // Nobody took it over yet: its owner may renew it (an expired lease can be renewed).
      expect((await renew(store, [run], { now: T0 + 300 })).lost).toEqual([]);
      expect(
        await store.claimExpiredRuns({ owner: 'b', now: T0 + 300, leaseDuration: LEASE, limit: 5 }),
      ).toEqual([]);
      await store.releaseLeases({
        owner: 'instance-a',
        leases: [{ occurrenceId: run.occurrenceId, fence: run.fence }],
        now: T0 + 400,
      });
      const [taken] = await store.claimExpiredRuns({
        owner: 'b',
        now: T0 + 400,
        leaseDuration: LEASE,
        limit: 5,
      });
      expect(must(taken, 'taken over').run).toMatchObject({ trigger: true, owner: 'b' });
    });
  });
}
