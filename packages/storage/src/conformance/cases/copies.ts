/**
 * Defensive copies and JSON fidelity: nothing a caller does to an object it passed in or got back
 * changes the store, and specs and results come back exactly as written.
 *
 * @module
 */

import type { JobRecord, JsonObject, RunRecord } from '../../types.js';
import {
  finishRun,
  leaseOf,
  must,
  newJob,
  occurrenceIdOf,
  type SuiteContext,
  startRun,
  T0,
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
  unicode: 'héllo wörld — 日本語 — 😀 — \u0000 nul — "quotes" \\ back\\slash \n\t',
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
  },
  flags: [true, false, null],
  empty: { object: {}, array: [], string: '' },
  long: 'x'.repeat(10_000),
};

/** Registers the copy and JSON cases. */
export function copyCases({ describe, test, expect }: SuiteContext): void {
  describe('defensive copies and JSON', () => {
    test('returned jobs and runs are copies: mutating them never changes the store', async ({
      store,
    }) => {
      scribbleJob(await store.createJob(newJob('job-1', { spec: { kind: 'test', list: [1] } })));
      const claimed = await startRun(store, 'job-1', {
        at: T0 + 1000,
        next: T0 + 2000,
        leaseUntil: T0 + 5000,
      });
      const { run } = claimed;
      const pristineRun = structuredClone(run);
      scribbleJob(claimed.job);
      scribbleRun(claimed.run);
      expect(await finishRun(store, pristineRun, { result: { body: { ok: true } } })).toBe(true);

      const snapshotJob = structuredClone(await store.getJob('job-1'));
      const snapshotHistory = structuredClone(await store.history('job-1'));
      scribbleJob(await store.getJob('job-1'));
      for (const job of await store.queryJobs()) scribbleJob(job);
      for (const entry of (await store.history('job-1')) ?? []) scribbleRun(entry);
      scribbleRun(await store.getRun(run.occurrenceId));
      for (const job of await store.dueJobs(T0 + 5000, 10)) scribbleJob(job);
      expect(await store.getJob('job-1')).toEqual(snapshotJob);
      expect(await store.history('job-1')).toEqual(snapshotHistory);
      expect(await store.getRun(run.occurrenceId)).toEqual(must(snapshotHistory, 'history')[0]);
      expect(snapshotJob?.spec).toEqual({ kind: 'test', list: [1] });
      expect(snapshotJob?.lastRun?.result).toEqual({ body: { ok: true } });

      // Running entries, takeovers and ended jobs too.
      const second = await startRun(store, 'job-1', {
        at: T0 + 2000,
        next: T0 + 3000,
        leaseUntil: T0 + 5000,
      });
      for (const entry of await store.runningRuns()) scribbleRun(entry);
      expect(await store.getRun(second.run.occurrenceId)).toEqual(second.run);
      const taken = await store.claimExpiredRuns({
        owner: 'instance-b',
        now: T0 + 6000,
        leaseUntil: T0 + 70_000,
        limit: 5,
      });
      const pristineTaken = structuredClone(taken);
      for (const { job, run: entry } of taken) {
        scribbleJob(job);
        scribbleRun(entry);
      }
      expect(await store.getRun(second.run.occurrenceId)).toEqual(pristineTaken[0]?.run);
      expect(
        await store.renewLease(leaseOf(must(pristineTaken[0], 'taken').run), T0 + 80_000),
      ).toBe(true);
      const ended = await store.endJob('job-1', 'stopped', T0 + 7000);
      const pristineEnded = structuredClone(ended);
      scribbleJob(ended);
      expect(await store.getJob('job-1')).toEqual(pristineEnded);
    });

    test('inputs are copied: mutating a spec, result or claim after the call changes nothing', async ({
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

      const skipped = [
        {
          scheduledAt: T0 + 1000,
          occurrenceId: occurrenceIdOf('job-1', T0 + 1000),
          reason: 'missed',
        },
      ];
      const runInput = {
        scheduledAt: T0 + 2000,
        occurrenceId: occurrenceIdOf('job-1', T0 + 2000),
        owner: 'instance-a',
        leaseUntil: T0 + 60_000,
      };
      const claimed = must(
        await store.claimOccurrence({
          jobId: 'job-1',
          expectedNextRunAt: T0 + 1000,
          nextRunAt: T0 + 3000,
          run: runInput,
          skipped,
          now: T0 + 2000,
        }),
        'claim wins',
      );
      const first = must(skipped[0], 'skipped entry');
      first.reason = 'changed';
      first.scheduledAt = 0;
      runInput.owner = 'instance-z';
      runInput.leaseUntil = 0;
      expect(await store.getRun(occurrenceIdOf('job-1', T0 + 1000))).toMatchObject({
        reason: 'missed',
        scheduledAt: T0 + 1000,
      });
      expect(await store.getRun(runInput.occurrenceId)).toEqual(claimed.run);

      const result: JsonObject = { body: { items: [1, 2] }, status: 200 };
      expect(await finishRun(store, must(claimed.run, 'run'), { result })).toBe(true);
      ((result.body as JsonObject).items as number[]).push(3);
      result.status = 500;
      const job = must(await store.getJob('job-1'), 'job exists');
      expect(job.lastRun?.result).toEqual({ body: { items: [1, 2] }, status: 200 });
      expect((await store.getRun(runInput.occurrenceId))?.result).toEqual({
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
  });
}
