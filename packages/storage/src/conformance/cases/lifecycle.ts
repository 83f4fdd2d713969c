/**
 * Concurrent use of one store, and `close()`.
 *
 * @module
 */

import { StorageError } from '../../errors.js';
import type { JobStore } from '../../types.js';
import {
  must,
  newJob,
  rejectionOf,
  runTimes,
  type SuiteContext,
  sequencesOf,
  T0,
} from '../harness.js';

/** Every store method, called with harmless arguments. */
const CALLS: ReadonlyArray<[keyof JobStore, (store: JobStore) => Promise<unknown>]> = [
  ['createJob', (store) => store.createJob(newJob('job-2'))],
  ['getJob', (store) => store.getJob('job-1')],
  ['queryJobs', (store) => store.queryJobs({})],
  ['countJobs', (store) => store.countJobs()],
  ['jobIds', (store) => store.jobIds()],
  ['endJob', (store) => store.endJob('job-1', 'removed', T0 + 1)],
  ['dueJobs', (store) => store.dueJobs(T0 + 5000, 10)],
  ['nextDueAt', (store) => store.nextDueAt()],
  [
    'claimOccurrence',
    (store) =>
      store.claimOccurrence({
        jobId: 'job-1',
        expectedNextRunAt: T0 + 1000,
        nextRunAt: T0 + 2000,
        now: T0 + 1000,
      }),
  ],
  [
    'renewLease',
    (store) => store.renewLease({ occurrenceId: 'job-1@1', owner: 'a', fence: 1 }, T0 + 9000),
  ],
  [
    'completeRun',
    (store) =>
      store.completeRun({
        occurrenceId: 'job-1@1',
        owner: 'a',
        fence: 1,
        status: 'succeeded',
        finishedAt: T0 + 2000,
        result: null,
      }),
  ],
  [
    'claimExpiredRuns',
    (store) => store.claimExpiredRuns({ owner: 'b', now: T0 + 9000, leaseUntil: T0, limit: 5 }),
  ],
  ['getRun', (store) => store.getRun('job-1@1')],
  ['history', (store) => store.history('job-1')],
  ['runningRuns', (store) => store.runningRuns()],
  ['pruneHistory', (store) => store.pruneHistory({ maxRowsPerJob: 1, now: T0 })],
  ['pruneJobs', (store) => store.pruneJobs({ finishedBefore: T0 })],
];

/** Registers the lifecycle cases. */
export function lifecycleCases({ describe, test, expect }: SuiteContext): void {
  describe('concurrency and lifecycle', () => {
    test('24 concurrent jobs x 5 runs each: 24 jobs, each with runs 5 and history [1..5]', async ({
      instances,
    }) => {
      const stores = await instances(3);
      const store = must(stores[0], 'first instance');
      const ids = Array.from({ length: 24 }, (_, index) => `job-${index}`);
      await Promise.all(
        ids.map(async (id, index) => {
          const instance = must(stores[index % stores.length], 'an instance');
          await instance.createJob(newJob(id));
          await runTimes(instance, id, 5, { owner: `instance-${index % stores.length}` });
        }),
      );
      expect(await store.countJobs()).toBe(24);
      expect(await store.jobIds()).toEqual([...ids].sort());
      for (const job of await store.queryJobs()) {
        expect({ id: job.id, runs: job.runs, activeRuns: job.activeRuns }).toEqual({
          id: job.id,
          runs: 5,
          activeRuns: 0,
        });
        expect(sequencesOf(await store.history(job.id))).toEqual([1, 2, 3, 4, 5]);
      }
      expect(await store.runningRuns()).toEqual([]);
    });

    test('after close() every call rejects with StorageError ERR_STORAGE_CLOSED', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.close();
      for (const [name, call] of CALLS) {
        const error = await rejectionOf(call(store), `${name} after close()`);
        expect({ name, isStorageError: error instanceof StorageError }).toEqual({
          name,
          isStorageError: true,
        });
        expect({ name, code: (error as StorageError).code }).toEqual({
          name,
          code: 'ERR_STORAGE_CLOSED',
        });
      }
      // close() itself is idempotent.
      await store.close();
    });
  });
}
