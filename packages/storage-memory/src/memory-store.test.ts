import { type JobStore, StorageError } from '@again/storage';
import { runStorageConformance } from '@again/storage-conformance';
import * as vitest from 'vitest';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage, MEMORY_STORAGE_DEFAULTS } from './index.js';

runStorageConformance({
  name: 'memory',
  create: async () => createMemoryStorage(),
  vitest,
});

runStorageConformance({
  name: 'memory (historyLimit 3)',
  create: async () => createMemoryStorage({ historyLimit: 3 }),
  defaultHistoryLimit: 3,
  vitest,
});

async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

async function finishNext(store: JobStore, id: string, historyLimit?: number): Promise<void> {
  const job = await store.getJob(id);
  const at = job?.nextRunAt as number;
  const claim = await store.claimDue({
    owner: 'a',
    now: at,
    limit: 10_000,
    leaseDuration: 60_000,
    plan: (due) =>
      due.id === id
        ? {
            run: { scheduledAt: at, occurrenceId: `${id}@${at}` },
            skipped: [],
            nextRunAt: at + 1000,
          }
        : null,
    ...(historyLimit === undefined ? {} : { historyLimit }),
  });
  const run = claim.runs[0];
  if (run === undefined) throw new Error('claim lost');
  const [recorded] = await store.completeRuns([
    {
      occurrenceId: run.occurrenceId,
      owner: 'a',
      fence: run.fence,
      status: 'succeeded',
      finishedAt: at + 1,
      result: null,
      ...(historyLimit === undefined ? {} : { historyLimit }),
    },
  ]);
  expect(recorded).toBe(true);
}

describe('createMemoryStorage options', () => {
  it('defaults the history limit to 20', async () => {
    expect(MEMORY_STORAGE_DEFAULTS).toEqual({ historyLimit: 20 });
    const store = createMemoryStorage();
    await store.createJob({ id: 'a', spec: {}, nextRunAt: 1000, now: 0 });
    for (let i = 0; i < 25; i++) await finishNext(store, 'a');
    expect(await store.history('a')).toHaveLength(20);
  });

  it.each([
    [{ historyLimit: 0 }],
    [{ historyLimit: -1 }],
    [{ historyLimit: 1.5 }],
    [{ historyLimit: Number.NaN }],
    [{ historyLimit: '5' as unknown as number }],
  ])('rejects %o with ERR_STORAGE_INVALID_ARGUMENT', (options) => {
    let caught: unknown;
    try {
      createMemoryStorage(options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StorageError);
    expect(caught).toMatchObject({
      code: 'ERR_STORAGE_INVALID_ARGUMENT',
      operation: 'createMemoryStorage',
    });
  });

  it('rejects an unknown option key, naming it', () => {
    expect(() => createMemoryStorage({ historyLimt: 5 } as never)).toThrow(
      /historyLimt is not an option of the memory store/,
    );
  });

  it('rejects options that are not an object', () => {
    expect(() => createMemoryStorage(null as unknown as undefined)).toThrow(StorageError);
  });

  it('a call with a historyLimit overrides the configured default', async () => {
    const store = createMemoryStorage({ historyLimit: 2 });
    await store.createJob({ id: 'a', spec: {}, nextRunAt: 1000, now: 0 });
    for (let i = 0; i < 5; i++) await finishNext(store, 'a', 4);
    expect((await store.history('a'))?.map((run) => run.sequence)).toEqual([2, 3, 4, 5]);
    await finishNext(store, 'a');
    expect((await store.history('a'))?.map((run) => run.sequence)).toEqual([5, 6]);
  });
});

describe('memory store due index', () => {
  it('stays correct through many reschedules, removals and re-creations', async () => {
    const store = createMemoryStorage();
    const count = 3000;
    for (let i = 0; i < count; i++) {
      await store.createJob({ id: `job-${i}`, spec: {}, nextRunAt: 1000 + (i % 7), now: 0 });
    }
    // Reschedule every job several times (each moves it in the heap).
    const expected = new Map<string, number | null>();
    for (let i = 0; i < count; i++) expected.set(`job-${i}`, 1000 + (i % 7));
    for (let round = 0; round < 4; round++) {
      const result = await store.claimDue({
        owner: 'a',
        now: 8.64e15,
        limit: count,
        leaseDuration: 1000,
        plan: (job) => {
          const index = Number(job.id.slice(4));
          const next = job.nextRunAt + 1000 + ((index * 31 + round) % 13);
          expected.set(job.id, next);
          return { run: null, skipped: [], nextRunAt: next };
        },
      });
      expect(result.examined).toBe(count);
    }
    for (let i = 0; i < count; i += 3) {
      await store.endJob(`job-${i}`, 'removed', 9);
      expected.set(`job-${i}`, null);
    }
    for (let i = 0; i < count; i += 9) {
      await store.createJob({ id: `job-${i}`, spec: {}, nextRunAt: 4500 + i, now: 10 });
      expected.set(`job-${i}`, 4500 + i);
    }
    const live = [...expected.entries()]
      .filter((entry): entry is [string, number] => entry[1] !== null)
      .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    expect(await store.nextDueAt()).toBe(live[0]?.[1]);
    const order = async (now: number, limit: number): Promise<Array<[string, number]>> => {
      const seen: Array<[string, number]> = [];
      await store.claimDue({
        owner: 'a',
        now,
        limit,
        leaseDuration: 1000,
        plan: (job) => {
          seen.push([job.id, job.nextRunAt]);
          return null;
        },
      });
      return seen;
    };
    expect(await order(5005, count)).toEqual(live.filter(([, at]) => at <= 5005));
    expect((await order(8.64e15, 10)).map(([id]) => id)).toEqual(
      live.slice(0, 10).map(([id]) => id),
    );
  });
});

describe('memory store close', () => {
  it('drops the data and names the operation in the error', async () => {
    const store = createMemoryStorage();
    await store.createJob({ id: 'a', spec: {}, nextRunAt: 1, now: 0 });
    await store.close();
    const error = await rejection(store.getJob('a'));
    expect(error).toMatchObject({ code: 'ERR_STORAGE_CLOSED', operation: 'getJob' });
  });
});
