/**
 * The claim loop's promises: it claims only what it can start, yields between batches, wakes on
 * the store's notifications (not on its own), and cancels jobs it cannot plan.
 */
import { createMemoryStorage } from '@again/storage-memory';
import { createManualClock } from '@again/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { occurrenceIdOf } from './occurrences.js';
import { eventually, tracked } from './test-utils/harness.js';
import { guardedClock } from './test-utils/spin-guard.js';
import { claimAsOtherOwner, spyStorage } from './test-utils/store-spy.js';

const t = tracked();

afterEach(() => t.flush());

describe('claims only what it can start', () => {
  it('asks for no more than the free slots; the rest stay due in storage and run when slots free', async () => {
    const target = await t.holding();
    const inner = createMemoryStorage();
    const asked: Array<{ limit: number; running: number }> = [];
    const spy = spyStorage(inner, {
      hooks: {
        claimDue: async (next, claim) => {
          asked.push({ limit: claim.limit, running: (await inner.runningRuns()).length });
          return next(claim);
        },
      },
    });
    const h = await t.harness({ concurrency: 3, storage: spy.store });
    for (let i = 0; i < 5; i++) {
      await h.scheduler.schedule({
        id: `job-${i}`,
        schedule: { every: 60_000 },
        request: { url: `${target.url}/${i}` },
      });
    }
    await h.clock.advance(0);
    await target.waitForRequests(3);
    // (Under load the planning budget may split the claim in two batches; each asks only for free slots.)
    const whileFull = asked.length;
    // Time passes while every slot is busy: nothing more is asked for.
    await h.clock.advance(10_000);
    expect(asked).toHaveLength(whileFull);
    expect(target.requests.map((r) => r.path)).toEqual(['/0', '/1', '/2']);
    expect(asked[0]).toEqual({ limit: 3, running: 0 }); // at startup
    for (const call of asked) expect(call.limit).toBeLessThanOrEqual(3 - call.running);
    expect((await inner.runningRuns()).map((run) => run.jobId)).toEqual([
      'job-0',
      'job-1',
      'job-2',
    ]);
    const waiting = (await inner.queryJobs()).filter((job) => job.state === 'scheduled');
    expect(waiting.map((job) => job.id)).toEqual(['job-3', 'job-4']);
    for (const job of waiting) expect(job.nextRunAt).toBeLessThan(h.clock.now());

    target.open();
    await target.waitForRequests(5);
    await eventually(async () =>
      expect((await h.scheduler.jobStatuses()).map((s) => s.runs)).toEqual([1, 1, 1, 1, 1]),
    );
    expect(asked.length).toBeGreaterThan(whileFull);
    for (const call of asked) expect(call.limit).toBeLessThanOrEqual(3 - call.running);
  });

  it('occurrences that fell behind while the slots were busy follow the missed-run policy when claimed', async () => {
    const target = await t.holding(1);
    const h = await t.harness({ concurrency: 1, missedRunGrace: 100 });
    const start = h.clock.now();
    await h.scheduler.schedule({
      id: 'a-hold',
      schedule: { every: 60_000 },
      request: { url: `${target.url}/hold` },
    });
    for (const policy of ['run-once', 'skip'] as const) {
      await h.scheduler.schedule({
        id: `b-${policy}`,
        schedule: { every: 1_000 },
        request: { url: `${target.url}/${policy}` },
        missedRuns: policy,
      });
    }
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await h.clock.advance(5_500);
    expect(target.requests.map((r) => r.path)).toEqual(['/hold']);
    expect(await h.scheduler.jobHistory('b-skip')).toEqual([]);

    target.open();
    await eventually(async () => expect((await h.scheduler.jobHistory('b-skip'))?.length).toBe(6));
    const missed = [0, 1_000, 2_000, 3_000, 4_000, 5_000];
    const skip = (await h.scheduler.jobHistory('b-skip')) ?? [];
    expect(skip.map((r) => [r.status, r.reason, r.scheduledAt.getTime() - start])).toEqual(
      missed.map((at) => ['skipped', 'missed', at]),
    );
    await eventually(async () => expect((await h.scheduler.jobStatus('b-run-once'))?.runs).toBe(1));
    const once = (await h.scheduler.jobHistory('b-run-once')) ?? [];
    expect(once.map((r) => [r.status, r.reason, r.scheduledAt.getTime() - start])).toEqual([
      ...missed.slice(0, 5).map((at) => ['skipped', 'missed', at]),
      ['succeeded', null, 5_000],
    ]);
    expect(target.requests.map((r) => r.path)).toEqual(['/hold', '/run-once']);
    expect(target.requests[1]?.headers['idempotency-key']).toBe(
      occurrenceIdOf('b-run-once', start + 5_000),
    );
    // Back on time, a skip job runs again.
    await h.clock.advanceTo(start + 6_000);
    await eventually(() => expect(target.requests.map((r) => r.path)).toContain('/skip'));
  });
});

describe('yields to the event loop between batches', () => {
  it('an immediate queued when a batch is claimed runs before the next batch is claimed', async () => {
    const target = await t.server();
    const log: string[] = [];
    let batch = 0;
    const spy = spyStorage(createMemoryStorage(), {
      hooks: {
        claimDue: (next, claim) => {
          const n = ++batch;
          log.push(`claim ${n}`);
          setImmediate(() => log.push(`immediate ${n}`));
          return next(claim);
        },
      },
    });
    const h = await t.harness({ storage: spy.store, claimBatchSize: 2 });
    for (let i = 0; i < 6; i++) {
      await h.scheduler.schedule({
        schedule: { every: 60_000 },
        request: { url: `${target.url}/${i}` },
      });
    }
    log.length = 0; // the startup claim
    batch = 0;
    await h.clock.advance(0);
    // Three full batches of two, then one that finds nothing left (more when the planning budget
    // cuts a batch short under load): an immediate ran between every two.
    expect(batch).toBeGreaterThanOrEqual(4);
    expect(log).toEqual(
      Array.from({ length: batch }, (_, i) => [`claim ${i + 1}`, `immediate ${i + 1}`]).flat(),
    );
    for (const call of spy.callsOf('claimDue')) expect(call.args[0].limit).toBe(2);
    await target.waitForRequests(6);
  });
});

describe('wake-ups from the store', () => {
  /** Two instances on one memory store, each with its own clock (polling is off). */
  async function twoInstances() {
    const inner = createMemoryStorage();
    const start = Date.UTC(2026, 0, 1);
    const a = spyStorage(inner);
    const b = spyStorage(inner);
    const clockA = createManualClock(start);
    const clockB = createManualClock(start);
    const ha = await t.harness({ concurrency: 1, storage: a.store }, { clock: clockA });
    const hb = await t.harness({ concurrency: 1, storage: b.store }, { clock: clockB });
    return { inner, a, b, ha, hb, clockA, clockB };
  }

  it('a job scheduled on a busy instance is claimed by the other, woken by the notification', async () => {
    const slow = await t.holding();
    const fast = await t.server();
    const { inner, a, ha, hb, clockA, clockB } = await twoInstances();
    // B fills its only slot.
    await hb.scheduler.schedule({
      id: 'hold',
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${slow.url}/hold` },
    });
    await clockB.advance(0);
    await slow.waitForRequests(1);
    await clockA.advance(0); // A was woken too; nothing is left for it
    const claimsBefore = a.callsOf('claimDue').length;

    // B cannot start it; A hears of it from the store (it has no other reason to look).
    await hb.scheduler.schedule({
      id: 'job',
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${fast.url}/job` },
    });
    await clockB.advance(0);
    expect(a.callsOf('claimDue')).toHaveLength(claimsBefore);
    await clockA.advance(0);
    expect(a.callsOf('claimDue').length).toBeGreaterThan(claimsBefore);
    await fast.waitForRequests(1);
    await eventually(async () =>
      expect((await inner.getJob('job'))?.lastRun?.owner).toBe(ha.scheduler.instanceId),
    );
  });

  it('a notification for a re-used id from another instance is not taken for its own', async () => {
    const slow = await t.holding();
    const fast = await t.server();
    const { inner, ha, hb, clockA, clockB } = await twoInstances();
    await hb.scheduler.schedule({
      id: 'hold',
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${slow.url}/hold` },
    });
    await clockB.advance(0);
    await slow.waitForRequests(1);
    await clockA.advance(0);
    // A schedules and runs job x to its end.
    const x = { id: 'x', schedule: { every: 60_000, maxRuns: 1 } } as const;
    await ha.scheduler.schedule({ ...x, request: { url: `${fast.url}/x1` } });
    await clockA.advance(0);
    await eventually(async () => expect((await inner.getJob('x'))?.state).toBe('completed'));
    // Busy B schedules x again: only A can run it, once the store tells it.
    await hb.scheduler.schedule({ ...x, request: { url: `${fast.url}/x2` } });
    await clockA.advance(0);
    await eventually(() => expect(fast.requests.map((r) => r.path)).toEqual(['/x1', '/x2']), 2_000);
  });

  it('ignores its own notification, even one that arrives after its claim (no extra claim)', async () => {
    const target = await t.server();
    const held: Array<() => void> = [];
    // A store whose notifications arrive late (like a database's, over the network).
    const spy = spyStorage(createMemoryStorage(), {
      hooks: { subscribe: (next, listener) => next((wake) => held.push(() => listener(wake))) },
    });
    const h = await t.harness({ storage: spy.store });
    await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    const claims = spy.callsOf('claimDue').length;
    expect(held).toHaveLength(1);
    for (const deliver of held.splice(0)) deliver();
    await h.clock.advance(0);
    expect(spy.callsOf('claimDue')).toHaveLength(claims);
  });
});

describe('jobs it cannot plan', () => {
  it('cancels a job whose stored definition is not a job definition, with an error log', async () => {
    const storage = createMemoryStorage();
    const clock = createManualClock();
    await storage.createJob({
      id: 'corrupt',
      spec: { schedule: 'every minute', request: 'somewhere' },
      nextRunAt: clock.now(),
      now: clock.now(),
    });
    const h = await t.harness({}, { storage, clock });
    await h.clock.advance(0);
    expect((await storage.getJob('corrupt'))?.state).toBe('canceled');
    expect(await storage.runningRuns()).toEqual([]);
    const [logged, ...others] = h.logger.at('error');
    expect(others).toEqual([]);
    expect(logged?.message).toMatch(/unreadable; canceling the job/);
    expect(logged?.context.jobId).toBe('corrupt');
  });

  it('cancels a job whose next occurrence is already in its history (a conflict), with an error log', async () => {
    const target = await t.server();
    const storage = createMemoryStorage();
    const clock = createManualClock();
    // Another writer left the job due at an occurrence it already started.
    const occurrenceId = await claimAsOtherOwner(
      storage,
      { id: 'conflict', schedule: { every: 60_000 }, request: { url: `${target.url}/` } },
      { owner: 'other', now: clock.now(), leaseDuration: 60_000, nextRunAt: clock.now() },
    );
    const h = await t.harness({}, { storage, clock });
    await h.clock.advance(0);
    expect((await storage.getJob('conflict'))?.state).toBe('canceled');
    const error = h.logger.at('error').find((e) => e.context.jobId === 'conflict');
    expect(error?.message).toMatch(/already in its history/);
    // Nothing of this instance's was written for it.
    expect((await storage.getRun(occurrenceId))?.owner).toBe('other');
    expect(target.requests).toHaveLength(0);
  });
});

describe('storage failures', () => {
  it('a claim retried after a failure waits for a free slot instead of re-arming its timer in a loop', async () => {
    const target = await t.holding();
    const clock = guardedClock(createManualClock());
    const storage = createMemoryStorage();
    const start = clock.now();
    // A dead owner's run, taken over (and started) at the second takeover pass, +1 s.
    await claimAsOtherOwner(
      storage,
      { id: 'orphan', schedule: { every: 60_000 }, request: { url: `${target.url}/orphan` } },
      { owner: 'dead', now: start, leaseDuration: 500 },
    );
    let failing = false;
    const spy = spyStorage(storage, {
      clock,
      hooks: {
        claimDue: (next, claim) =>
          failing ? Promise.reject(new Error('injected claimDue failure')) : next(claim),
      },
    });
    const h = await t.harness(
      { storage: spy.store, concurrency: 1, pollInterval: 1_000 },
      { clock },
    );
    await clock.advanceTo(start + 100);
    failing = true;
    await h.scheduler.schedule({
      id: 'job',
      schedule: { every: 60_000 },
      request: { url: `${target.url}/job` },
    });
    await clock.advance(0); // the claim fails: retried in 1 s
    failing = false;
    expect(h.logger.at('error').map((e) => e.context.operation)).toEqual(['claimDue']);
    await clock.advanceTo(start + 1_000);
    await target.waitForRequests(1); // the only slot is taken by the orphan
    const armed = clock.armed;
    await clock.advanceTo(start + 3_000);
    expect(clock.armed - armed).toBeLessThan(20);
    expect(target.requests.map((r) => r.path)).toEqual(['/orphan']);
    expect((await storage.getJob('job'))?.state).toBe('scheduled');
  });
});
