/**
 * Argument rules: the inputs on which adapters used to disagree (empty ids, NaN and fractional
 * times, unknown states, lone surrogates and U+0000, oversized batches) are refused the same way by
 * every store, and refused calls write nothing.
 *
 * @module
 */

import type { JobStore } from '@again/storage';
import {
  claim,
  completionOf,
  LEASE,
  must,
  newJob,
  runEach,
  runPlan,
  type SuiteContext,
  snapshot,
  startRun,
  storageErrorOf,
  T0,
  triggerOf,
} from '../harness.js';

/** A store call built from one argument value. */
type Call = (store: JobStore, value: unknown) => Promise<unknown>;

/** The calls taking a time, each with that time replaced by `value`. */
const TIME_CALLS: ReadonlyArray<[string, Call]> = [
  [
    'createJob job.now',
    (store, value) => store.createJob({ ...newJob('new'), now: value as number }),
  ],
  [
    'createJob job.nextRunAt',
    (store, value) => store.createJob({ ...newJob('new'), nextRunAt: value as number }),
  ],
  ['endJob now', (store, value) => store.endJob('job-1', 'removed', value as number)],
  ['pauseJob now', (store, value) => store.pauseJob('job-1', value as number)],
  ['resumeJob now', (store, value) => store.resumeJob('job-1', value as number)],
  [
    'updateJob update.now',
    (store, value) =>
      store.updateJob({
        id: 'job-2',
        expectedRevision: 0,
        spec: {},
        nextRunAt: T0,
        now: value as number,
      }),
  ],
  [
    'updateJob update.nextRunAt',
    (store, value) =>
      store.updateJob({
        id: 'job-2',
        expectedRevision: 0,
        spec: {},
        nextRunAt: value as number,
        now: T0,
      }),
  ],
  [
    'startRun start.now',
    (store, value) => store.startRun({ ...triggerOf('job-2', { now: T0 }), now: value as number }),
  ],
  [
    'startRun start.scheduledAt',
    (store, value) =>
      store.startRun({ ...triggerOf('job-2', { now: T0 }), scheduledAt: value as number }),
  ],
  [
    'releaseLeases release.now',
    (store, value) =>
      store.releaseLeases({
        owner: 'instance-a',
        leases: [{ occurrenceId: 'run-1', fence: 1 }],
        now: value as number,
      }),
  ],
  ['claimDue claim.now', (store, value) => claim(store, runEach(), { now: value as number })],
  [
    'claimDue plan.nextRunAt',
    (store, value) =>
      claim(store, (job) => runPlan(job.id, job.nextRunAt, value as number), { now: T0 + 5000 }),
  ],
  [
    'claimDue plan.run.scheduledAt',
    (store, value) =>
      claim(store, (job) => runPlan(job.id, value as number, T0 + 9000), { now: T0 + 5000 }),
  ],
  [
    'renewLeases renewal.now',
    (store, value) =>
      store.renewLeases({
        owner: 'instance-a',
        leases: [{ occurrenceId: 'run-1', fence: 1 }],
        now: value as number,
        leaseDuration: LEASE,
      }),
  ],
  [
    'completeRuns finishedAt',
    (store, value) =>
      store.completeRuns([
        {
          occurrenceId: 'run-1',
          owner: 'instance-a',
          fence: 1,
          status: 'succeeded',
          finishedAt: value as number,
          result: null,
        },
      ]),
  ],
  [
    'claimExpiredRuns claim.now',
    (store, value) =>
      store.claimExpiredRuns({ owner: 'b', now: value as number, leaseDuration: LEASE, limit: 10 }),
  ],
  [
    'pruneHistory retention.now',
    (store, value) => store.pruneHistory({ maxAge: 1, now: value as number }),
  ],
  [
    'pruneJobs retention.finishedBefore',
    (store, value) => store.pruneJobs({ finishedBefore: value as number }),
  ],
];

const BAD_TIMES: ReadonlyArray<[string, unknown]> = [
  ['NaN', Number.NaN],
  ['a fraction', T0 + 0.5],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['a negative time', -1],
  ['a time after 8.64e15', 8.64e15 + 1],
  ['a numeric string', String(T0)],
  ['a bigint', BigInt(T0)],
  ['a Date', new Date(T0)],
];

/** Text arguments: ids, owners and reasons, each replaced by `value`. */
const TEXT_CALLS: ReadonlyArray<[string, Call]> = [
  ['createJob job.id', (store, value) => store.createJob(newJob(value as string))],
  ['getJob id', (store, value) => store.getJob(value as string)],
  ['endJob id', (store, value) => store.endJob(value as string, 'removed', T0)],
  ['history jobId', (store, value) => store.history(value as string)],
  ['runningRuns jobId', (store, value) => store.runningRuns(value as string)],
  ['getRun occurrenceId', (store, value) => store.getRun(value as string)],
  ['pauseJob id', (store, value) => store.pauseJob(value as string, T0)],
  ['resumeJob id', (store, value) => store.resumeJob(value as string, T0)],
  [
    'updateJob update.id',
    (store, value) =>
      store.updateJob({
        id: value as string,
        expectedRevision: 0,
        spec: {},
        nextRunAt: T0,
        now: T0,
      }),
  ],
  [
    'startRun start.jobId',
    (store, value) =>
      store.startRun({ ...triggerOf('job-2', { now: T0 }), jobId: value as string }),
  ],
  [
    'startRun start.occurrenceId',
    (store, value) =>
      store.startRun(triggerOf('job-2', { now: T0, occurrenceId: value as string })),
  ],
  [
    'startRun start.owner',
    (store, value) => store.startRun(triggerOf('job-2', { now: T0, owner: value as string })),
  ],
  [
    'releaseLeases release.owner',
    (store, value) =>
      store.releaseLeases({
        owner: value as string,
        leases: [{ occurrenceId: 'run-1', fence: 1 }],
        now: T0,
      }),
  ],
  [
    'releaseLeases leases[0].occurrenceId',
    (store, value) =>
      store.releaseLeases({
        owner: 'instance-a',
        leases: [{ occurrenceId: value as string, fence: 1 }],
        now: T0,
      }),
  ],
  [
    'recordCallback record.occurrenceId',
    (store, value) => store.recordCallback({ occurrenceId: value as string, callback: {} }),
  ],
  ['queryJobs query.ids', (store, value) => store.queryJobs({ ids: ['job-1', value as string] })],
  [
    'claimDue claim.owner',
    (store, value) => claim(store, runEach(), { now: T0 + 5000, owner: value as string }),
  ],
  [
    'claimDue plan.run.occurrenceId',
    (store, value) =>
      claim(
        store,
        (job) => ({
          run: { scheduledAt: job.nextRunAt, occurrenceId: value as string },
          skipped: [],
          nextRunAt: job.nextRunAt + 1000,
        }),
        { now: T0 + 5000 },
      ),
  ],
  [
    'claimDue plan.skipped[0].occurrenceId',
    (store, value) =>
      claim(
        store,
        (job) => ({
          run: null,
          skipped: [
            { scheduledAt: job.nextRunAt, occurrenceId: value as string, reason: 'missed' },
          ],
          nextRunAt: job.nextRunAt + 1000,
        }),
        { now: T0 + 5000 },
      ),
  ],
  [
    'renewLeases renewal.owner',
    (store, value) =>
      store.renewLeases({
        owner: value as string,
        leases: [{ occurrenceId: 'run-1', fence: 1 }],
        now: T0,
        leaseDuration: LEASE,
      }),
  ],
  [
    'renewLeases leases[0].occurrenceId',
    (store, value) =>
      store.renewLeases({
        owner: 'instance-a',
        leases: [{ occurrenceId: value as string, fence: 1 }],
        now: T0,
        leaseDuration: LEASE,
      }),
  ],
  [
    'completeRuns owner',
    (store, value) =>
      store.completeRuns([
        {
          occurrenceId: 'run-1',
          owner: value as string,
          fence: 1,
          status: 'failed',
          finishedAt: T0,
          result: null,
        },
      ]),
  ],
  [
    'claimExpiredRuns claim.owner',
    (store, value) =>
      store.claimExpiredRuns({ owner: value as string, now: T0, leaseDuration: LEASE, limit: 1 }),
  ],
];

/** Reasons: like ids, but an empty one is allowed. */
const REASON_CALLS: ReadonlyArray<[string, Call]> = [
  [
    'claimDue plan.skipped[0].reason',
    (store, value) =>
      claim(
        store,
        (job) => ({
          run: null,
          skipped: [
            { scheduledAt: job.nextRunAt, occurrenceId: 'skip-1', reason: value as string },
          ],
          nextRunAt: job.nextRunAt + 1000,
        }),
        { now: T0 + 5000 },
      ),
  ],
  [
    'completeRuns reason',
    (store, value) =>
      store.completeRuns([
        {
          occurrenceId: 'run-1',
          owner: 'instance-a',
          fence: 1,
          status: 'canceled',
          finishedAt: T0,
          result: null,
          reason: value as string,
        },
      ]),
  ],
];

const BAD_TEXT: ReadonlyArray<[string, unknown]> = [
  ['a lone high surrogate', 'job-\uD800'],
  ['a lone low surrogate', '\uDC00-job'],
  ['a reversed surrogate pair', 'job-\uDE00\uD83D'],
  ['U+0000', 'job\u00001'],
  ['a number', 42],
  ['null', null],
  ['4,097 characters', 'x'.repeat(4097)],
];

/** Counts, limits and durations, each replaced by `value`. */
const COUNT_CALLS: ReadonlyArray<[string, Call, readonly unknown[]]> = [
  [
    'claimDue claim.limit',
    (store, value) => claim(store, runEach(), { now: T0 + 5000, limit: value as number }),
    [-1, 1.5, 10_001, Number.NaN],
  ],
  [
    'claimDue claim.leaseDuration',
    (store, value) => claim(store, runEach(), { now: T0 + 5000, leaseDuration: value as number }),
    [0, -1, 1.5, 2 ** 31, Number.POSITIVE_INFINITY],
  ],
  [
    'claimDue claim.historyLimit',
    (store, value) => claim(store, runEach(), { now: T0 + 5000, historyLimit: value as number }),
    [-1, 1.5, Number.NaN],
  ],
  [
    'renewLeases renewal.leaseDuration',
    (store, value) =>
      store.renewLeases({
        owner: 'a',
        leases: [{ occurrenceId: 'r', fence: 1 }],
        now: T0,
        leaseDuration: value as number,
      }),
    [0, 1.5, 2 ** 31],
  ],
  [
    'renewLeases leases[0].fence',
    (store, value) =>
      store.renewLeases({
        owner: 'a',
        leases: [{ occurrenceId: 'r', fence: value as number }],
        now: T0,
        leaseDuration: LEASE,
      }),
    [-1, 1.5, Number.NaN],
  ],
  [
    'completeRuns fence',
    (store, value) =>
      store.completeRuns([
        {
          occurrenceId: 'r',
          owner: 'a',
          fence: value as number,
          status: 'failed',
          finishedAt: T0,
          result: null,
        },
      ]),
    [-1, 1.5],
  ],
  [
    'completeRuns historyLimit',
    (store, value) =>
      store.completeRuns([
        {
          occurrenceId: 'r',
          owner: 'a',
          fence: 1,
          status: 'failed',
          finishedAt: T0,
          result: null,
          historyLimit: value as number,
        },
      ]),
    [-1, 2.5],
  ],
  [
    'claimExpiredRuns claim.limit',
    (store, value) =>
      store.claimExpiredRuns({ owner: 'b', now: T0, leaseDuration: LEASE, limit: value as number }),
    [-1, 1.5, 10_001],
  ],
  [
    'claimExpiredRuns claim.leaseDuration',
    (store, value) =>
      store.claimExpiredRuns({ owner: 'b', now: T0, leaseDuration: value as number, limit: 1 }),
    [0, 1.5],
  ],
  [
    'updateJob update.expectedRevision',
    (store, value) =>
      store.updateJob({
        id: 'job-2',
        expectedRevision: value as number,
        spec: {},
        nextRunAt: T0,
        now: T0,
      }),
    [-1, 1.5, Number.NaN, '0'],
  ],
  [
    'startRun start.leaseDuration',
    (store, value) =>
      store.startRun(triggerOf('job-2', { now: T0, leaseDuration: value as number })),
    [0, -1, 1.5, 2 ** 31],
  ],
  [
    'releaseLeases leases[0].fence',
    (store, value) =>
      store.releaseLeases({
        owner: 'a',
        leases: [{ occurrenceId: 'run-1', fence: value as number }],
        now: T0,
      }),
    [-1, 1.5, Number.NaN],
  ],
  [
    'queryJobs query.limit',
    (store, value) => store.queryJobs({ limit: value as number }),
    [2.5, Number.NaN, '2'],
  ],
  [
    'queryJobs query.offset',
    (store, value) => store.queryJobs({ offset: value as number }),
    [1.5, Number.POSITIVE_INFINITY],
  ],
  [
    'history query.limit',
    (store, value) => store.history('job-1', { limit: value as number }),
    [1.5, Number.NaN],
  ],
  [
    'history query.fromSequence',
    (store, value) => store.history('job-1', { fromSequence: value as number }),
    [0.5],
  ],
  [
    'pruneHistory retention.maxRowsPerJob',
    (store, value) => store.pruneHistory({ maxRowsPerJob: value as number, now: T0 }),
    [3.5, Number.NaN],
  ],
  [
    'pruneHistory retention.maxAge',
    (store, value) => store.pruneHistory({ maxAge: value as number, now: T0 }),
    [0.5, Number.POSITIVE_INFINITY],
  ],
];

/** A job with a running run (`run-1`, owner `instance-a`) and a due job: what most calls touch. */
async function seed(store: JobStore): Promise<void> {
  await store.createJob(newJob('job-1'));
  await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000, occurrenceId: 'run-1' });
  await store.createJob(newJob('job-2', { nextRunAt: T0 + 3000 }));
}

/** Registers the argument-rule cases. */
export function argumentCases({ describe, test, expect }: SuiteContext): void {
  /** Expects every call of `calls` with every value of `values` to be refused, writing nothing. */
  async function refusesAll(
    store: JobStore,
    calls: ReadonlyArray<[string, Call]>,
    values: ReadonlyArray<[string, unknown]>,
  ): Promise<void> {
    await seed(store);
    const before = JSON.stringify(await snapshot(store));
    for (const [call, run] of calls) {
      for (const [what, value] of values) {
        await storageErrorOf(
          expect,
          run(store, value),
          `${call} with ${what}`,
          'ERR_STORAGE_INVALID_ARGUMENT',
        );
      }
    }
    expect(JSON.stringify(await snapshot(store))).toBe(before);
  }

  describe('argument rules', () => {
    test('times must be integers from 0 to 8.64e15: NaN, fractions, Infinity and negative times are refused, writing nothing', async ({
      store,
    }) => {
      await refusesAll(store, TIME_CALLS, BAD_TIMES);
    });

    test('the extreme times 0 and 8.64e15 are kept exactly', async ({ store }) => {
      const created = await store.createJob({ id: 'job-1', spec: {}, nextRunAt: 8.64e15, now: 0 });
      expect(created).toMatchObject({ createdAt: 0, updatedAt: 0, nextRunAt: 8.64e15 });
      expect(await store.getJob('job-1')).toEqual(created);
      expect(await store.nextDueAt()).toBe(8.64e15);
      await store.createJob({ id: 'job-2', spec: {}, nextRunAt: 8.64e15 - 10, now: 0 });
      const result = await claim(
        store,
        (job) => (job.id === 'job-2' ? runPlan('job-2', 8.64e15 - 10, 8.64e15) : null),
        { now: 8.64e15 - 5, leaseDuration: 5 },
      );
      expect(result.runs).toMatchObject([
        { scheduledAt: 8.64e15 - 10, startedAt: 8.64e15 - 5, leaseUntil: 8.64e15 },
      ]);
      expect(await store.getJob('job-2')).toMatchObject({
        state: 'running',
        nextRunAt: 8.64e15,
        updatedAt: 8.64e15 - 5,
      });
    });

    test('ids, owners and occurrence ids must be non-empty well-formed text without U+0000 (never replaced), at most 4,096 characters', async ({
      store,
    }) => {
      await refusesAll(store, TEXT_CALLS, [['an empty string', ''], ...BAD_TEXT]);
    });

    test('reasons follow the same rules but may be empty; an empty reason is kept as ""', async ({
      store,
    }) => {
      await refusesAll(store, REASON_CALLS, BAD_TEXT);
      const run = must(await store.getRun('run-1'), 'run-1 exists');
      expect(
        await store.completeRuns([
          completionOf(run, { status: 'canceled', reason: '', result: null }),
        ]),
      ).toEqual([true]);
      expect(await store.getRun('run-1')).toMatchObject({ status: 'canceled', reason: '' });
      expect((await store.getJob('job-1'))?.lastRun).toMatchObject({ reason: '' });
    });

    test('ids of 4,096 characters are kept, astral characters (two units each) included', async ({
      store,
    }) => {
      const ascii = 'a'.repeat(4096);
      const astral = '\u{1F600}'.repeat(2048);
      for (const id of [ascii, astral]) {
        const created = await store.createJob(newJob(id, { spec: {} }));
        expect(created.id === id).toBe(true);
        expect((await store.getJob(id))?.id === id).toBe(true);
      }
      expect((await store.jobIds()).map((id) => id.length)).toEqual([4096, 4096]);
      const owner = 'o'.repeat(4096);
      const result = await claim(
        store,
        (job) => ({
          run: { scheduledAt: job.nextRunAt, occurrenceId: `${job.id.slice(0, 4090)}-run` },
          skipped: [],
          nextRunAt: null,
        }),
        { now: T0 + 1000, owner },
      );
      expect(result.runs).toHaveLength(2);
      for (const claimed of result.runs) {
        expect((await store.getRun(claimed.occurrenceId))?.owner === owner).toBe(true);
      }
    });

    test('unknown states and non-terminal end states are refused', async ({ store }) => {
      await seed(store);
      const before = JSON.stringify(await snapshot(store));
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['countJobs', () => store.countJobs(['scheduled', 'bogus' as never])],
        ['jobIds', () => store.jobIds(['Running' as never])],
        ['queryJobs', () => store.queryJobs({ states: ['' as never] })],
        ['endJob running', () => store.endJob('job-1', 'running' as never, T0 + 1)],
        ['endJob scheduled', () => store.endJob('job-1', 'scheduled' as never, T0 + 1)],
        ['endJob bogus', () => store.endJob('job-1', 'bogus' as never, T0 + 1)],
        [
          'completeRuns status skipped',
          () =>
            store.completeRuns([
              {
                occurrenceId: 'run-1',
                owner: 'instance-a',
                fence: 1,
                status: 'skipped' as never,
                finishedAt: T0,
                result: null,
              },
            ]),
        ],
        [
          'completeRuns status running',
          () =>
            store.completeRuns([
              {
                occurrenceId: 'run-1',
                owner: 'instance-a',
                fence: 1,
                status: 'running' as never,
                finishedAt: T0,
                result: null,
              },
            ]),
        ],
      ];
      for (const [what, call] of calls) {
        await storageErrorOf(expect, call(), what, 'ERR_STORAGE_INVALID_ARGUMENT');
      }
      expect(JSON.stringify(await snapshot(store))).toBe(before);
    });

    test('counts, limits, fences and durations must be integers in range', async ({ store }) => {
      await seed(store);
      const before = JSON.stringify(await snapshot(store));
      for (const [call, run, values] of COUNT_CALLS) {
        for (const value of values) {
          await storageErrorOf(
            expect,
            run(store, value),
            `${call} with ${String(value)}`,
            'ERR_STORAGE_INVALID_ARGUMENT',
          );
        }
      }
      expect(JSON.stringify(await snapshot(store))).toBe(before);
    });

    test('batches of more than 10,000 entries are refused', async ({ store }) => {
      await seed(store);
      const before = JSON.stringify(await snapshot(store));
      const many = Array.from({ length: 10_001 }, (_, index) => `run-${index}`);
      await storageErrorOf(
        expect,
        store.renewLeases({
          owner: 'instance-a',
          leases: many.map((occurrenceId) => ({ occurrenceId, fence: 1 })),
          now: T0,
          leaseDuration: LEASE,
        }),
        'renewLeases with 10,001 leases',
        'ERR_STORAGE_INVALID_ARGUMENT',
      );
      await storageErrorOf(
        expect,
        store.completeRuns(
          many.map((occurrenceId) => ({
            occurrenceId,
            owner: 'instance-a',
            fence: 1,
            status: 'failed' as const,
            finishedAt: T0,
            result: null,
          })),
        ),
        'completeRuns with 10,001 completions',
        'ERR_STORAGE_INVALID_ARGUMENT',
      );
      await storageErrorOf(
        expect,
        store.releaseLeases({
          owner: 'instance-a',
          leases: many.map((occurrenceId) => ({ occurrenceId, fence: 1 })),
          now: T0,
        }),
        'releaseLeases with 10,001 leases',
        'ERR_STORAGE_INVALID_ARGUMENT',
      );
      expect(JSON.stringify(await snapshot(store))).toBe(before);
    });
  });
}
