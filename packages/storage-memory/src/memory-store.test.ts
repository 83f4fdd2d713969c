import { type JobStore, type JsonObject, StorageError } from '@again/storage';
import { runStorageConformance } from '@again/storage/conformance';
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
  const claim = await store.claimOccurrence({
    jobId: id,
    expectedNextRunAt: at,
    nextRunAt: at + 1000,
    run: { scheduledAt: at, occurrenceId: `${id}@${at}`, owner: 'a', leaseUntil: at + 60_000 },
    now: at,
    ...(historyLimit === undefined ? {} : { historyLimit }),
  });
  const run = claim?.run;
  if (!run) throw new Error('claim lost');
  await store.completeRun({
    occurrenceId: run.occurrenceId,
    owner: 'a',
    fence: run.fence,
    status: 'succeeded',
    finishedAt: at + 1,
    result: null,
    ...(historyLimit === undefined ? {} : { historyLimit }),
  });
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

describe('memory store input checks', () => {
  it.each([
    ['a Date', { when: new Date(0) }, 'spec.when'],
    ['a Map', { map: new Map() }, 'spec.map'],
    ['NaN', { n: Number.NaN }, 'spec.n'],
    ['Infinity', { deep: { n: Number.POSITIVE_INFINITY } }, 'spec.deep.n'],
    ['a bigint', { n: 1n }, 'spec.n'],
    ['a function', { f: () => 1 }, 'spec.f'],
    ['undefined in an array', { list: [1, undefined] }, 'spec.list[1]'],
    ['a class instance', { x: new (class Point {})() }, 'spec.x'],
  ])(
    'refuses a spec holding %s, naming the path, and writes nothing',
    async (_what, spec, path) => {
      const store = createMemoryStorage();
      const error = await rejection(
        store.createJob({ id: 'a', spec: spec as unknown as JsonObject, nextRunAt: 1, now: 0 }),
      );
      expect(error.code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
      expect(error.operation).toBe('createJob');
      expect(error.message).toContain(path);
      expect(await store.countJobs()).toBe(0);
    },
  );

  it('refuses a circular spec', async () => {
    const store = createMemoryStorage();
    const spec: Record<string, unknown> = { a: 1 };
    spec.self = spec;
    const error = await rejection(
      store.createJob({ id: 'a', spec: spec as JsonObject, nextRunAt: 1, now: 0 }),
    );
    expect(error.code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
  });

  it('accepts shared (non-circular) references, drops undefined properties and -0', async () => {
    const store = createMemoryStorage();
    const shared = { x: 1 };
    const spec = { a: shared, b: shared, gone: undefined, zero: -0 };
    const job = await store.createJob({
      id: 'a',
      spec: spec as unknown as JsonObject,
      nextRunAt: 1,
      now: 0,
    });
    expect(job.spec).toStrictEqual({ a: { x: 1 }, b: { x: 1 }, zero: 0 });
    expect(Object.is(job.spec.zero, 0)).toBe(true);
  });

  it('keeps a "__proto__" key as plain data', async () => {
    const store = createMemoryStorage();
    const spec = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as JsonObject;
    const job = await store.createJob({ id: 'a', spec, nextRunAt: 1, now: 0 });
    expect(Object.keys(job.spec)).toEqual(['__proto__', 'ok']);
    expect(Object.getPrototypeOf(job.spec)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(job.spec)).toBe('{"__proto__":{"polluted":true},"ok":1}');
  });

  it('refuses a result that is not JSON and leaves the run running', async () => {
    const store = createMemoryStorage();
    await store.createJob({ id: 'a', spec: {}, nextRunAt: 1000, now: 0 });
    const claim = await store.claimOccurrence({
      jobId: 'a',
      expectedNextRunAt: 1000,
      nextRunAt: 2000,
      run: { scheduledAt: 1000, occurrenceId: 'a@1000', owner: 'o', leaseUntil: 9000 },
      now: 1000,
    });
    const fence = claim?.run?.fence as number;
    const error = await rejection(
      store.completeRun({
        occurrenceId: 'a@1000',
        owner: 'o',
        fence,
        status: 'succeeded',
        finishedAt: 1100,
        result: { at: new Date(0) } as unknown as JsonObject,
      }),
    );
    expect(error).toMatchObject({ code: 'ERR_STORAGE_INVALID_ARGUMENT', operation: 'completeRun' });
    expect(await store.getRun('a@1000')).toMatchObject({ status: 'running' });
    expect(await store.getJob('a')).toMatchObject({ runs: 0, activeRuns: 1 });
  });

  it.each([
    ['an empty id', { id: '', spec: {}, nextRunAt: 1, now: 0 }],
    ['a non-string id', { id: 7, spec: {}, nextRunAt: 1, now: 0 }],
    ['a NaN nextRunAt', { id: 'a', spec: {}, nextRunAt: Number.NaN, now: 0 }],
    ['a missing now', { id: 'a', spec: {}, nextRunAt: 1 }],
    ['an array spec', { id: 'a', spec: [], nextRunAt: 1, now: 0 }],
    ['a null spec', { id: 'a', spec: null, nextRunAt: 1, now: 0 }],
  ])('refuses %s', async (_what, input) => {
    const store = createMemoryStorage();
    const error = await rejection(store.createJob(input as never));
    expect(error.code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
    expect(await store.countJobs()).toBe(0);
  });
});

describe('memory store due index', () => {
  it('stays correct through many reschedules, removals and re-creations', async () => {
    const store = createMemoryStorage();
    const count = 3000;
    for (let i = 0; i < count; i++) {
      await store.createJob({ id: `job-${i}`, spec: {}, nextRunAt: 1000 + (i % 7), now: 0 });
    }
    // Reschedule every job several times (each leaves a stale heap entry behind).
    const expected = new Map<string, number | null>();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < count; i++) {
        const id = `job-${i}`;
        const job = await store.getJob(id);
        const at = job?.nextRunAt as number;
        const next = at + 1000 + ((i * 31 + round) % 13);
        await store.claimOccurrence({ jobId: id, expectedNextRunAt: at, nextRunAt: next, now: at });
        expected.set(id, next);
      }
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
    const due = await store.dueJobs(5005, 100_000);
    expect(due.map((job) => [job.id, job.nextRunAt])).toEqual(live.filter(([, at]) => at <= 5005));
    const firstTen = await store.dueJobs(Number.MAX_SAFE_INTEGER, 10);
    expect(firstTen.map((job) => job.id)).toEqual(live.slice(0, 10).map(([id]) => id));
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
