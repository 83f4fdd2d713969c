/**
 * Defensive copies and JSON fidelity: nothing a caller does to an object it passed in or got back
 * changes the store, and specs and results come back exactly as written.
 *
 * @module
 */

import type { ClaimedRun, DuePlan, JobRecord, JsonObject, RunRecord } from '@again/storage';
import {
  claim,
  completionOf,
  finishRun,
  LEASE,
  must,
  newJob,
  occurrenceIdOf,
  renew,
  runPlan,
  type SuiteContext,
  snapshot,
  startRun,
  storageErrorOf,
  T0,
  triggerOf,
} from '../harness.js';

/** Scribbles over every field of a returned job (and its spec and last run). */
function scribbleJob(job: JobRecord | undefined): void {
  if (job === undefined) return;
  const mutable = job as { -readonly [K in keyof JobRecord]: JobRecord[K] };
  (mutable.spec as JsonObject).injected = 'mutated';
  delete (mutable.spec as JsonObject).kind;
  if (mutable.lastRun !== null) scribbleRun(mutable.lastRun);
  mutable.state = 'removed';
  mutable.runs = 999;
  mutable.nextRunAt = -1;
}

/** Scribbles over every field of a returned run (and its result). */
function scribbleRun(run: RunRecord | undefined): void {
  if (run === undefined) return;
  const mutable = run as { -readonly [K in keyof RunRecord]: RunRecord[K] };
  if (mutable.result !== null) (mutable.result as JsonObject).injected = 'mutated';
  mutable.status = 'failed';
  mutable.owner = 'intruder';
  mutable.fence = 999;
  mutable.sequence = 999;
}

/** A spec that exercises JSON: nesting, unicode, numbers of every kind, empty containers. */
const RICH_SPEC: JsonObject = {
  kind: 'http',
  request: {
    method: 'POST',
    url: 'https://example.test/hook?q=a%20b&lang=fr',
    headers: { 'content-type': 'application/json', 'x-trace': '' },
    body: { nested: { deeper: { deepest: [1, [2, [3, [4]]]] } } },
  },
  unicode: 'héllo wörld — 日本語 — 😀 — "quotes" \\ back\\slash \n\t \u2028 \u2029 \u007f',
  'key with spaces and ünïcode 🔑': true,
  numbers: {
    zero: 0,
    negative: -42,
    fraction: 0.1,
    tiny: 1e-7,
    huge: 1.7976931348623157e308,
    maxSafe: Number.MAX_SAFE_INTEGER,
    minSafe: Number.MIN_SAFE_INTEGER,
    exponent: 6.02214076e23,
    smallest: 5e-324,
    written: 1e21,
    negativeFraction: -0.000001,
  },
  flags: [true, false, null],
  empty: { object: {}, array: [], string: '' },
  long: 'x'.repeat(10_000),
};

/** Scribbles over a claimed run. */
function scribbleClaimed(run: ClaimedRun | undefined): void {
  if (run === undefined) return;
  const mutable = run as { -readonly [K in keyof ClaimedRun]: ClaimedRun[K] };
  mutable.fence = 999;
  mutable.leaseUntil = 0;
  mutable.occurrenceId = 'intruder';
}

/** A getter that throws when read. */
function throwingGetter(): JsonObject {
  const value = { ok: 1 };
  Object.defineProperty(value, 'boom', {
    enumerable: true,
    get() {
      throw new Error('conformance: a throwing getter');
    },
  });
  return value as JsonObject;
}

/** Values that are not JSON, each inside an otherwise valid object. */
function nonJson(): Array<[string, unknown]> {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const deepCycle: Record<string, unknown> = { list: [] };
  (deepCycle.list as unknown[]).push({ back: deepCycle });
  // biome-ignore lint/suspicious/noSparseArray: a sparse array is what is under test
  const sparse = [1, , 3];
  return [
    ['a Date', { at: new Date(T0) }],
    ['a Map', { map: new Map([['a', 1]]) }],
    ['a Set', { set: new Set([1]) }],
    [
      'a class instance',
      {
        point: new (class Point {
          x = 1;
        })(),
      },
    ],
    ['a BigInt', { n: 1n }],
    ['a function', { f: () => 1 }],
    ['a symbol', { s: Symbol('s') }],
    ['NaN', { n: Number.NaN }],
    ['Infinity', { deep: { n: Number.POSITIVE_INFINITY } }],
    ['-Infinity', { list: [Number.NEGATIVE_INFINITY] }],
    ['an undefined array item', { list: [1, undefined] }],
    ['a sparse array hole', { list: sparse }],
    ['a cycle', cycle],
    ['a cycle through an array', deepCycle],
    ['a throwing getter', throwingGetter()],
    ['a typed array', { bytes: new Uint8Array(2) }],
    ['a boxed string', { s: new String('x') }],
    ['an array instead of an object', [1, 2]],
    ['null instead of an object', null],
    ['a string instead of an object', '{}'],
  ];
}

/** JSON.stringify of `value`, which also shows key order. */
function text(value: unknown): string {
  return JSON.stringify(value);
}

/** Registers the copy and JSON cases. */
export function copyCases({ describe, test, expect }: SuiteContext): void {
  describe('defensive copies and JSON', () => {
    test('returned jobs, runs and claims are copies: mutating them never changes the store', async ({
      store,
    }) => {
      scribbleJob(await store.createJob(newJob('job-1', { spec: { kind: 'test', list: [1] } })));
      const result = await claim(
        store,
        (job) => runPlan(job.id, job.nextRunAt, job.nextRunAt + 1000),
        { now: T0 + 1000, leaseDuration: 4000 },
      );
      const pristine = structuredClone(result);
      scribbleClaimed(result.runs[0]);
      (result.conflicts as string[]).push('intruder');
      const claimed = must(pristine.runs[0], 'a run started');
      const run = must(await store.getRun(claimed.occurrenceId), 'the run exists');
      expect(run).toMatchObject({ fence: claimed.fence, leaseUntil: claimed.leaseUntil });
      scribbleRun(await store.getRun(run.occurrenceId));
      expect(await finishRun(store, run, { result: { body: { ok: true } } })).toBe(true);

      const snapshotJob = structuredClone(await store.getJob('job-1'));
      const snapshotHistory = structuredClone(await store.history('job-1'));
      scribbleJob(await store.getJob('job-1'));
      for (const job of await store.queryJobs()) scribbleJob(job);
      for (const entry of (await store.history('job-1')) ?? []) scribbleRun(entry);
      scribbleRun(await store.getRun(run.occurrenceId));
      expect(await store.getJob('job-1')).toEqual(snapshotJob);
      expect(await store.history('job-1')).toEqual(snapshotHistory);
      expect(await store.getRun(run.occurrenceId)).toEqual(must(snapshotHistory, 'history')[0]);
      expect(snapshotJob?.spec).toEqual({ kind: 'test', list: [1] });
      expect(snapshotJob?.lastRun?.result).toEqual({ body: { ok: true } });

      // The planner's view of a spec is its own too.
      await claim(
        store,
        (job) => {
          (job.spec as JsonObject).injected = 'mutated';
          (job.spec.list as number[]).push(2);
          return null;
        },
        { now: T0 + 2000 },
      );
      expect((await store.getJob('job-1'))?.spec).toEqual({ kind: 'test', list: [1] });

      // Running entries, takeovers, renewals and ended jobs too.
      const second = await startRun(store, 'job-1', {
        at: T0 + 2000,
        next: T0 + 3000,
        leaseDuration: 3000,
      });
      for (const entry of await store.runningRuns()) scribbleRun(entry);
      expect(await store.getRun(second.run.occurrenceId)).toEqual(second.run);
      const taken = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 6000,
        leaseDuration: LEASE,
        limit: 5,
      });
      const pristineTaken = structuredClone(taken);
      for (const { job, run: entry } of taken) {
        scribbleJob(job);
        scribbleRun(entry);
      }
      const takenRun = must(pristineTaken[0], 'taken').run;
      expect(await store.getRun(second.run.occurrenceId)).toEqual(takenRun);
      const renewal = await renew(store, [takenRun], { now: T0 + 7000 });
      (renewal.lost as unknown[]).push({ occurrenceId: 'x', reason: 'gone' });
      expect((await renew(store, [takenRun], { now: T0 + 7000 })).lost).toEqual([]);
      const ended = await store.endJob('job-1', 'stopped', T0 + 7000);
      const pristineEnded = structuredClone(ended);
      scribbleJob(ended);
      expect(await store.getJob('job-1')).toEqual(pristineEnded);
    });

    test('inputs are copied: mutating a spec, a plan or a result after the call changes nothing', async ({
      store,
    }) => {
      const spec: JsonObject = { kind: 'test', nested: { value: 1 }, list: [1, 2] };
      await store.createJob({ id: 'job-1', spec, nextRunAt: T0 + 1000, now: T0 });
      (spec.nested as JsonObject).value = 2;
      (spec.list as number[]).push(3);
      spec.extra = true;
      expect((await store.getJob('job-1'))?.spec).toEqual({
        kind: 'test',
        nested: { value: 1 },
        list: [1, 2],
      });

      const plan = {
        run: { scheduledAt: T0 + 2000, occurrenceId: occurrenceIdOf('job-1', T0 + 2000) },
        skipped: [
          {
            scheduledAt: T0 + 1000,
            occurrenceId: occurrenceIdOf('job-1', T0 + 1000),
            reason: 'missed',
          },
        ],
        nextRunAt: (T0 + 3000) as number | null,
      };
      const result = await claim(store, () => plan as DuePlan, { now: T0 + 2000 });
      const claimed = must(result.runs[0], 'a run started');
      const first = must(plan.skipped[0], 'skipped entry');
      first.reason = 'changed';
      first.scheduledAt = 0;
      plan.run.occurrenceId = 'changed';
      plan.nextRunAt = null;
      expect(await store.getRun(occurrenceIdOf('job-1', T0 + 1000))).toMatchObject({
        reason: 'missed',
        scheduledAt: T0 + 1000,
      });
      expect(await store.getRun(claimed.occurrenceId)).toMatchObject({
        occurrenceId: occurrenceIdOf('job-1', T0 + 2000),
      });
      expect((await store.getJob('job-1'))?.nextRunAt).toBe(T0 + 3000);

      const run = must(await store.getRun(claimed.occurrenceId), 'run exists');
      const payload: JsonObject = { body: { items: [1, 2] }, status: 200 };
      const completion = completionOf(run, { result: payload });
      expect(await store.completeRuns([completion])).toEqual([true]);
      ((payload.body as JsonObject).items as number[]).push(3);
      payload.status = 500;
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job.lastRun?.result).toEqual({ body: { items: [1, 2] }, status: 200 });
      expect((await store.getRun(run.occurrenceId))?.result).toEqual({
        body: { items: [1, 2] },
        status: 200,
      });
    });

    test('spec and result survive a JSON round trip (nesting, unicode, numbers)', async ({
      store,
    }) => {
      const created = await store.createJob(newJob('job-1', { spec: structuredClone(RICH_SPEC) }));
      expect(created.spec).toEqual(RICH_SPEC);
      expect((await store.getJob('job-1'))?.spec).toEqual(RICH_SPEC);
      expect((await store.queryJobs({ ids: ['job-1'] }))[0]?.spec).toEqual(RICH_SPEC);
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const result: JsonObject = { echo: structuredClone(RICH_SPEC), status: 201 };
      expect(await finishRun(store, run, { result })).toBe(true);
      expect((await store.getRun(run.occurrenceId))?.result).toEqual(result);
      expect((await store.getJob('job-1'))?.lastRun?.result).toEqual(result);
      expect((await store.history('job-1'))?.[0]?.result).toEqual(result);
      // Unicode job ids and occurrence ids round-trip too.
      const id = 'jöb-😀-日本';
      await store.createJob(newJob(id));
      const unicode = await startRun(store, id, { at: T0 + 1000, next: T0 + 2000 });
      expect(unicode.run.occurrenceId).toBe(`${id}@${T0 + 1000}`);
      expect((await store.getRun(unicode.run.occurrenceId))?.jobId).toBe(id);
      expect(await store.jobIds()).toEqual(['job-1', id]);
    });

    test('lone surrogates and U+0000 inside JSON strings and keys are kept exactly', async ({
      store,
    }) => {
      const spec: JsonObject = {
        nul: 'a\u0000b',
        high: 'x\uD800y',
        low: '\uDC00',
        reversed: '\uDE00\uD83D',
        pair: '\uD83D\uDE00',
        list: ['\uDBFF', '\u0000', ''],
        'key\u0000with nul': 1,
        '\uD800 lone key': { '\uDFFF': true },
      };
      const expected = text(spec);
      const created = await store.createJob(newJob('job-1', { spec }));
      expect(text(created.spec)).toBe(expected);
      expect(text((await store.getJob('job-1'))?.spec)).toBe(expected);
      expect((await store.getJob('job-1'))?.spec.nul).toBe('a\u0000b');
      expect(String((await store.getJob('job-1'))?.spec.high).length).toBe(3);
      const seen: string[] = [];
      await claim(
        store,
        (job) => {
          seen.push(text(job.spec));
          return runPlan(job.id, job.nextRunAt, job.nextRunAt + 1000);
        },
        { now: T0 + 1000 },
      );
      expect(seen).toEqual([expected]);
      const run = must(await store.getRun(occurrenceIdOf('job-1', T0 + 1000)), 'run exists');
      expect(await finishRun(store, run, { result: spec })).toBe(true);
      expect(text((await store.getRun(run.occurrenceId))?.result)).toBe(expected);
      expect(text((await store.getJob('job-1'))?.lastRun?.result)).toBe(expected);
    });

    test('key order and "__proto__" keys are kept exactly; undefined properties are dropped, -0 is 0', async ({
      store,
    }) => {
      const spec = JSON.parse(
        '{"zeta":1,"alpha":{"z":[{"b":1,"a":2}],"a":null},"__proto__":{"polluted":true},"middle":"m","10":"ten","2":"two"}',
      ) as JsonObject;
      const expected = text(spec);
      const created = await store.createJob(newJob('job-1', { spec }));
      for (const [where, value] of [
        ['createJob', created.spec],
        ['getJob', (await store.getJob('job-1'))?.spec],
        ['queryJobs', (await store.queryJobs())[0]?.spec],
      ] as const) {
        expect({ where, text: text(value) }).toEqual({ where, text: expected });
        expect({ where, proto: Object.getPrototypeOf(value) === Object.prototype }).toEqual({
          where,
          proto: true,
        });
        expect({ where, own: Object.keys(value ?? {}).includes('__proto__') }).toEqual({
          where,
          own: true,
        });
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();

      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      expect(await finishRun(store, run, { result: spec })).toBe(true);
      expect(text((await store.getRun(run.occurrenceId))?.result)).toBe(expected);
      expect(text((await store.history('job-1'))?.[0]?.result)).toBe(expected);

      const loose = { a: undefined, b: -0, c: [-0], d: { e: undefined } } as unknown as JsonObject;
      const cleaned = await store.createJob(newJob('job-2', { spec: loose }));
      expect(text(cleaned.spec)).toBe('{"b":0,"c":[0],"d":{}}');
      expect(Object.is((await store.getJob('job-2'))?.spec.b, 0)).toBe(true);
    });

    test('a spec that is not JSON is refused with ERR_STORAGE_INVALID_ARGUMENT and nothing is written', async ({
      store,
    }) => {
      for (const [what, spec] of nonJson()) {
        await storageErrorOf(
          expect,
          store.createJob({ id: 'job-1', spec: spec as JsonObject, nextRunAt: T0 + 1000, now: T0 }),
          `createJob with ${what} in its spec`,
          'ERR_STORAGE_INVALID_ARGUMENT',
        );
      }
      expect(await store.countJobs()).toBe(0);
      expect(await store.getJob('job-1')).toBeUndefined();
      expect(await store.nextDueAt()).toBeNull();
    });

    test('updates, triggered runs and callbacks: inputs and returned objects are copies; the new spec and the callback come back exactly', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const spec: JsonObject = structuredClone(RICH_SPEC);
      const updated = must(
        await store.updateJob({
          id: 'job-1',
          expectedRevision: 0,
          spec,
          nextRunAt: T0 + 1000,
          now: T0 + 1,
        }),
        'updateJob result',
      );
      expect(text(updated.spec)).toBe(text(RICH_SPEC));
      (spec.request as JsonObject).method = 'GET';
      scribbleJob(updated);
      const stored = must(await store.getJob('job-1'), 'job exists');
      expect(text(stored.spec)).toBe(text(RICH_SPEC));
      expect(stored.revision).toBe(1);
      scribbleJob(await store.pauseJob('job-1', T0 + 2));
      scribbleJob(await store.resumeJob('job-1', T0 + 3));
      expect(await store.getJob('job-1')).toMatchObject({ state: 'scheduled', revision: 1 });

      const start = triggerOf('job-1', { now: T0 + 10 });
      const claimed = must(await store.startRun(start), 'startRun result');
      const pristine = structuredClone(claimed);
      scribbleClaimed(claimed);
      (start as { occurrenceId: string }).occurrenceId = 'changed';
      const run = must(await store.getRun(pristine.occurrenceId), 'run exists');
      expect(run).toMatchObject({ fence: pristine.fence, leaseUntil: pristine.leaseUntil });
      expect(await finishRun(store, run)).toBe(true);

      const callback = JSON.parse(
        '{"zeta":1,"__proto__":{"p":true},"alpha":[{"b":1,"a":"\\u0000 \\ud800"}],"nul":"a\\u0000b","lone":"\\udc00x","escaped":"\\\\u0000"}',
      ) as JsonObject;
      const expected = text(callback);
      expect(await store.recordCallback({ occurrenceId: run.occurrenceId, callback })).toBe(true);
      callback.zeta = 2;
      for (const [where, value] of [
        ['getRun', (await store.getRun(run.occurrenceId))?.callback],
        ['history', (await store.history('job-1'))?.[0]?.callback],
        ['lastRun', (await store.getJob('job-1'))?.lastRun?.callback],
      ] as const) {
        expect({ where, text: text(value) }).toEqual({ where, text: expected });
      }
      const rich: JsonObject = { echo: structuredClone(RICH_SPEC) };
      expect(await store.recordCallback({ occurrenceId: run.occurrenceId, callback: rich })).toBe(
        true,
      );
      scribbleRun(await store.getRun(run.occurrenceId));
      scribbleJob(await store.getJob('job-1'));
      expect((await store.getRun(run.occurrenceId))?.callback).toEqual(rich);
      expect((await store.getJob('job-1'))?.lastRun?.callback).toEqual(rich);
    });

    test('a spec given to updateJob or a callback that is not JSON is refused and nothing is written', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      const { run } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      expect(await finishRun(store, run)).toBe(true);
      const before = await snapshot(store);
      for (const [what, value] of nonJson()) {
        await storageErrorOf(
          expect,
          store.updateJob({
            id: 'job-1',
            expectedRevision: 0,
            spec: value as JsonObject,
            nextRunAt: T0 + 5000,
            now: T0 + 5,
          }),
          `updateJob with ${what} in its spec`,
          'ERR_STORAGE_INVALID_ARGUMENT',
        );
        await storageErrorOf(
          expect,
          store.recordCallback({ occurrenceId: run.occurrenceId, callback: value as JsonObject }),
          `recordCallback with ${what} in its callback`,
          'ERR_STORAGE_INVALID_ARGUMENT',
        );
      }
      expect(await snapshot(store)).toEqual(before);
    });

    test('a result that is not JSON is refused and nothing of its batch is written', async ({
      store,
    }) => {
      await store.createJob(newJob('job-1'));
      await store.createJob(newJob('job-2'));
      const { run: r1 } = await startRun(store, 'job-1', { at: T0 + 1000, next: T0 + 2000 });
      const { run: r2 } = await startRun(store, 'job-2', { at: T0 + 1000, next: T0 + 2000 });
      const before = await snapshot(store);
      for (const [what, result] of nonJson()) {
        if (result === null) continue; // a null result is allowed
        await storageErrorOf(
          expect,
          store.completeRuns([
            completionOf(r1),
            completionOf(r2, { result: result as JsonObject }),
          ]),
          `completeRuns with ${what} in a result`,
          'ERR_STORAGE_INVALID_ARGUMENT',
        );
      }
      expect(await snapshot(store)).toEqual(before);
      expect(await store.completeRuns([completionOf(r1), completionOf(r2)])).toEqual([true, true]);
    });
  });
}
