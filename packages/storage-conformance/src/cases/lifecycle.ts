/**
 * `close()`: later calls are refused, close is idempotent, and calls already started settle with
 * their results.
 *
 * @module
 */

import { type JobStore, StorageError } from '@again/storage';
import {
  claim,
  LEASE,
  must,
  newJob,
  rejectionOf,
  runEach,
  type SuiteContext,
  startRun,
  T0,
  triggerOf,
} from '../harness.js';

/**
 * Every store method, called with valid arguments; the calls a store could answer without its
 * driver (an empty batch, a zero limit, no retention bound) are included on purpose.
 */
const CALLS: ReadonlyArray<[string, (store: JobStore) => Promise<unknown>]> = [
  ['createJob', (store) => store.createJob(newJob('job-2'))],
  ['getJob', (store) => store.getJob('job-1')],
  ['queryJobs', (store) => store.queryJobs({})],
  ['countJobs', (store) => store.countJobs()],
  ['jobIds', (store) => store.jobIds()],
  ['endJob', (store) => store.endJob('job-1', 'removed', T0 + 1)],
  ['pauseJob', (store) => store.pauseJob('job-1', T0 + 1)],
  ['resumeJob', (store) => store.resumeJob('job-1', T0 + 1)],
  [
    'updateJob',
    (store) =>
      store.updateJob({ id: 'job-1', expectedRevision: 0, spec: {}, nextRunAt: T0, now: T0 + 1 }),
  ],
  ['startRun', (store) => store.startRun(triggerOf('job-1', { now: T0 + 1 }))],
  ['nextDueAt', (store) => store.nextDueAt()],
  ['claimDue', (store) => claim(store, runEach(), { now: T0 + 5000 })],
  ['claimDue with limit 0', (store) => claim(store, runEach(), { now: T0 + 5000, limit: 0 })],
  [
    'renewLeases',
    (store) =>
      store.renewLeases({
        owner: 'instance-a',
        leases: [{ occurrenceId: 'job-1@1', fence: 1 }],
        now: T0 + 9000,
        leaseDuration: LEASE,
      }),
  ],
  [
    'renewLeases with no lease',
    (store) =>
      store.renewLeases({ owner: 'instance-a', leases: [], now: T0 + 9000, leaseDuration: LEASE }),
  ],
  [
    'completeRuns',
    (store) =>
      store.completeRuns([
        {
          occurrenceId: 'job-1@1',
          owner: 'instance-a',
          fence: 1,
          status: 'succeeded',
          finishedAt: T0 + 2000,
          result: null,
        },
      ]),
  ],
  ['completeRuns with no completion', (store) => store.completeRuns([])],
  [
    'claimExpiredRuns',
    (store) =>
      store.claimExpiredRuns({ owner: 'b', now: T0 + 9000, leaseDuration: LEASE, limit: 5 }),
  ],
  [
    'claimExpiredRuns with limit 0',
    (store) =>
      store.claimExpiredRuns({ owner: 'b', now: T0 + 9000, leaseDuration: LEASE, limit: 0 }),
  ],
  [
    'releaseLeases',
    (store) =>
      store.releaseLeases({
        owner: 'instance-a',
        leases: [{ occurrenceId: 'job-1@1', fence: 1 }],
        now: T0 + 9000,
      }),
  ],
  [
    'releaseLeases with no lease',
    (store) => store.releaseLeases({ owner: 'instance-a', leases: [], now: T0 + 9000 }),
  ],
  [
    'recordCallback',
    (store) => store.recordCallback({ occurrenceId: 'job-1@1', callback: { status: 200 } }),
  ],
  ['getRun', (store) => store.getRun('job-1@1')],
  ['history', (store) => store.history('job-1')],
  ['runningRuns', (store) => store.runningRuns()],
  ['pruneHistory', (store) => store.pruneHistory({ maxRowsPerJob: 1, now: T0 })],
  ['pruneHistory without bounds', (store) => store.pruneHistory({ now: T0 })],
  ['pruneJobs', (store) => store.pruneJobs({ finishedBefore: T0 })],
  ['subscribe', (store) => must(store.subscribe, 'subscribe').call(store, () => {})],
];

/** Registers the lifecycle cases. */
export function lifecycleCases({ describe, test, expect }: SuiteContext): void {
  describe('lifecycle', () => {
    test('after close() every method rejects with StorageError ERR_STORAGE_CLOSED', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.close();
      for (const [name, call] of CALLS) {
        // `subscribe` exists only on a store that notifies.
        if (name === 'subscribe' && store.subscribe === undefined) continue;
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
    });

    test('close() is idempotent: repeated and concurrent calls all resolve', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      await Promise.all([store.close(), store.close(), store.close()]);
      await store.close();
      const error = await rejectionOf(store.getJob('job-1'), 'getJob after close()');
      expect((error as StorageError).code).toBe('ERR_STORAGE_CLOSED');
    });

    test('calls started before close() still settle with their results', async ({ store }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2', { nextRunAt: T0 + 9000 }));
      const { run } = await startRun(store, 'job-2', { at: T0 + 9000, next: null });
      const started = Promise.all([
        store.createJob(newJob('job-3')),
        store.getJob('job-1'),
        claim(store, (job) => (job.id === 'job-1' ? runEach()(job, T0) : null), {
          now: T0 + 1000,
        }),
        store.completeRuns([
          {
            occurrenceId: run.occurrenceId,
            owner: must(run.owner, 'owner'),
            fence: run.fence,
            status: 'succeeded',
            finishedAt: T0 + 9100,
            result: null,
          },
        ]),
        store.jobIds(['completed']),
      ]);
      const closing = store.close();
      const [created, read, claimed, completed, completedIds] = await started;
      await closing;
      expect(created).toMatchObject({ id: 'job-3', state: 'scheduled' });
      expect(read).toMatchObject({ id: 'job-1', spec: { kind: 'test', id: 'job-1' } });
      expect(claimed.runs.map((entry) => entry.jobId)).toEqual(['job-1']);
      expect(completed).toEqual([true]);
      // Whether it ran before or after the completion, the read saw a consistent store.
      expect(completedIds.filter((id) => id !== 'job-2')).toEqual([]);
      const error = await rejectionOf(store.countJobs(), 'countJobs after close()');
      expect((error as StorageError).code).toBe('ERR_STORAGE_CLOSED');
    });
  });
}
