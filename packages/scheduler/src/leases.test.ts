/**
 * The lease loop's promises: renewals on their own schedule, batched; what a lost or ended lease
 * does to a run; takeovers of a dead owner's runs, also when every slot is busy.
 */
import type { JobStore } from '@again/storage';
import { createMemoryStorage } from '@again/storage-memory';
import { createManualClock } from '@again/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, type Harness, tracked } from './test-utils/harness.js';
import { guardedClock } from './test-utils/spin-guard.js';
import { claimAsOtherOwner, never, spyStorage } from './test-utils/store-spy.js';

const t = tracked();

afterEach(() => t.flush());

/** Occurrence ids of every completion this spy saw written. */
function completed(spy: ReturnType<typeof spyStorage>): string[] {
  return spy.callsOf('completeRuns').flatMap((call) => call.args[0].map((c) => c.occurrenceId));
}

describe('lease renewal', () => {
  it('runs every leaseDuration/4 while a claim never settles; one call renews every held run', async () => {
    const target = await t.holding();
    const clock = createManualClock();
    const inner = createMemoryStorage();
    let hang = false;
    let hanging = 0;
    const spy = spyStorage(inner, {
      clock,
      hooks: {
        claimDue: (next, claim) => {
          if (!hang) return next(claim);
          hanging++;
          return never();
        },
      },
    });
    const h = await t.harness({ storage: spy.store, leaseDuration: 4_000 }, { clock });
    const start = clock.now();
    for (let i = 0; i < 3; i++) {
      await h.scheduler.schedule({
        schedule: { every: 60_000 },
        request: { url: `${target.url}/${i}` },
      });
    }
    await clock.advance(0);
    await target.waitForRequests(3);
    // The claim loop now hangs in a store call.
    hang = true;
    await h.scheduler.schedule({ schedule: { every: 60_000 }, request: { url: target.url } });
    await clock.advance(0);
    expect(hanging).toBe(1);

    for (let i = 0; i < 4; i++) await clock.advance(1_000);
    const renewals = spy.callsOf('renewLeases');
    expect(renewals.map((call) => call.at - start)).toEqual([1_000, 2_000, 3_000, 4_000]);
    for (const call of renewals) {
      expect(call.args[0].leases).toHaveLength(3);
      expect(call.args[0].owner).toBe(h.scheduler.instanceId);
    }
    const running = await inner.runningRuns();
    expect(running.map((run) => run.leaseUntil)).toEqual(Array(3).fill(start + 4_000 + 4_000));
    expect(hanging).toBe(1);
    expect(target.requests).toHaveLength(3);
  });
});

describe('renewal results', () => {
  /** One held run on a scheduler with a 4 s lease (renewed each second). */
  async function heldRun() {
    const target = await t.holding();
    const clock = createManualClock();
    const inner = createMemoryStorage();
    const spy = spyStorage(inner, { clock });
    const h = await t.harness({ storage: spy.store, leaseDuration: 4_000 }, { clock });
    const id = await h.scheduler.schedule({
      id: 'job',
      schedule: { every: 60_000 },
      request: { url: `${target.url}/` },
    });
    await clock.advance(0);
    await target.waitForRequests(1);
    const [run] = await inner.runningRuns();
    if (run === undefined) throw new Error('no run');
    return { target, clock, inner, spy, h, id, run };
  }

  const lostWarning = (h: Harness) =>
    h.logger.at('warn').filter((e) => /lease was lost; its result is not recorded/.test(e.message));

  it.each([
    {
      reason: 'taken-over',
      // Another instance takes the lease over (the store takes the time it is given).
      act: (store: JobStore, now: number) =>
        store.claimExpiredRuns({
          owner: 'thief',
          now: now + 10_000,
          leaseDuration: 60_000,
          limit: 1,
        }),
      owner: 'thief',
      status: 'running',
    },
    {
      reason: 'gone',
      // Another instance takes it over and records it.
      act: async (store: JobStore, now: number) => {
        const [taken] = await store.claimExpiredRuns({
          owner: 'thief',
          now: now + 10_000,
          leaseDuration: 60_000,
          limit: 1,
        });
        if (taken === undefined) throw new Error('nothing taken over');
        const { occurrenceId, fence } = taken.run;
        await store.completeRuns([
          {
            occurrenceId,
            fence,
            owner: 'thief',
            status: 'succeeded',
            finishedAt: now,
            result: null,
          },
        ]);
      },
      owner: 'thief',
      status: 'succeeded',
    },
  ])(
    '$reason: aborts the run and records nothing for it',
    async ({ reason, act, owner, status }) => {
      const { target, clock, inner, spy, h, run } = await heldRun();
      await act(inner, clock.now());
      await clock.advance(1_000);
      await eventually(() => expect(target.requests[0]?.response.clientAborted).toBe(true));
      await eventually(() => expect(lostWarning(h)).toHaveLength(1));
      const lost = h.logger.at('warn').filter((e) => /lost the lease/.test(e.message));
      expect(lost.map((e) => e.context.reason)).toEqual([reason]);
      await clock.advance(1_000);
      expect(completed(spy)).toEqual([]);
      expect(await inner.getRun(run.occurrenceId)).toMatchObject({ owner, status });
    },
  );

  it.each(['removed', 'canceled'] as const)(
    'job %s elsewhere: aborts the run and records it canceled with that reason',
    async (state) => {
      const { target, clock, inner, spy, h, id, run } = await heldRun();
      await inner.endJob(id, state, clock.now());
      expect(completed(spy)).toEqual([]);
      await clock.advance(1_000);
      await eventually(() => expect(target.requests[0]?.response.clientAborted).toBe(true));
      await eventually(async () =>
        expect(await h.scheduler.jobHistory(id)).toMatchObject([
          { status: 'canceled', reason: state, occurrenceId: run.occurrenceId },
        ]),
      );
      expect(completed(spy)).toEqual([run.occurrenceId]);
      expect(lostWarning(h)).toEqual([]);
      expect(await inner.runningRuns()).toEqual([]);
    },
  );

  it('renewals failing for a whole lease abort the run as lease-lost; nothing is recorded', async () => {
    const { target, clock, inner, spy, h, run } = await heldRun();
    spy.hooks.renewLeases = () => Promise.reject(new Error('injected renewLeases failure'));
    for (let i = 0; i < 3; i++) await clock.advance(1_000);
    // Three failed renewals: the lease (4 s) still holds.
    const failures = () =>
      h.logger.at('error').filter((e) => e.context.operation === 'renewLeases');
    expect(failures()).toHaveLength(3);
    await clock.settle();
    expect(target.requests[0]?.response.clientAborted).toBe(false);
    expect(lostWarning(h)).toEqual([]);
    await clock.advance(1_000);
    expect(failures()).toHaveLength(4);
    await eventually(() => expect(target.requests[0]?.response.clientAborted).toBe(true));
    await eventually(() => expect(lostWarning(h)).toHaveLength(1));
    await clock.advance(1_000);
    expect(completed(spy)).toEqual([]);
    // Left running in the store, for an instance to take over once the lease expires.
    expect(await inner.getRun(run.occurrenceId)).toMatchObject({
      status: 'running',
      owner: h.scheduler.instanceId,
    });
  });
});

describe('takeover', () => {
  const LEASE = 4_000;
  const POLL = 1_000;
  /** The dead owner's lease. */
  const DEAD_LEASE = 1_000;

  it('takes over a dead owner’s expired run within its lease plus the poll interval and runs it', async () => {
    const target = await t.server();
    const clock = createManualClock();
    const storage = createMemoryStorage();
    const start = clock.now();
    const occurrenceId = await claimAsOtherOwner(
      storage,
      { id: 'orphan', schedule: { every: 60_000 }, request: { url: `${target.url}/orphan` } },
      { owner: 'dead', now: start, leaseDuration: DEAD_LEASE },
    );
    const h = await t.harness({ leaseDuration: LEASE, pollInterval: POLL }, { storage, clock });
    await clock.advance(DEAD_LEASE);
    // A lease is valid at its expiry time.
    expect((await storage.getRun(occurrenceId))?.owner).toBe('dead');
    await clock.advance(POLL);
    expect(clock.now()).toBe(start + DEAD_LEASE + POLL);
    expect((await storage.getRun(occurrenceId))?.owner).toBe(h.scheduler.instanceId);
    const [request] = await target.waitForRequests(1);
    expect(request?.headers['idempotency-key']).toBe(occurrenceId);
    await eventually(async () =>
      expect((await h.scheduler.jobHistory('orphan'))?.map((r) => r.status)).toEqual(['succeeded']),
    );
    const info = h.logger.at('info').find((e) => /owner lost its lease/.test(e.message));
    expect(info?.context).toMatchObject({ occurrenceId, previousOwner: 'dead' });
  });

  it('with every slot busy, a taken-over run waits in the queue with its lease renewed and starts first', async () => {
    const target = await t.holding(1);
    const clock = createManualClock();
    const inner = createMemoryStorage();
    const spy = spyStorage(inner, { clock });
    const start = clock.now();
    const orphan = await claimAsOtherOwner(
      inner,
      { id: 'b-orphan', schedule: { every: 60_000 }, request: { url: `${target.url}/orphan` } },
      { owner: 'dead', now: start, leaseDuration: DEAD_LEASE },
    );
    const h = await t.harness(
      { concurrency: 1, leaseDuration: LEASE, pollInterval: POLL, storage: spy.store },
      { clock },
    );
    for (const id of ['a-own', 'c-next']) {
      await h.scheduler.schedule({
        id,
        schedule: { every: 60_000 },
        request: { url: `${target.url}/${id}` },
      });
    }
    await clock.advance(0);
    await target.waitForRequests(1);
    await clock.advance(DEAD_LEASE + POLL);
    expect((await inner.getRun(orphan))?.owner).toBe(h.scheduler.instanceId);
    const takenAt = clock.now();

    // Two leases' worth of time while the only slot stays busy.
    for (let i = 0; i < 2 * LEASE; i += 1_000) await clock.advance(1_000);
    expect(target.requests.map((r) => r.path)).toEqual(['/a-own']);
    expect(await inner.getRun(orphan)).toMatchObject({
      status: 'running',
      owner: h.scheduler.instanceId,
      leaseUntil: clock.now() + LEASE,
    });
    const renewedSince = spy.callsOf('renewLeases').filter((call) => call.at > takenAt);
    expect(renewedSince).toHaveLength(8);
    for (const call of renewedSince) {
      expect(call.args[0].leases.map((lease) => lease.occurrenceId).sort()).toEqual(
        [orphan, (await inner.runningRuns('a-own'))[0]?.occurrenceId].sort(),
      );
    }

    target.open();
    await target.waitForRequests(3);
    expect(target.requests.map((r) => r.path)).toEqual(['/a-own', '/orphan', '/c-next']);
  });

  it('takes over no more runs than it can queue while every slot is busy', async () => {
    const target = await t.holding(1);
    const clock = createManualClock();
    const storage = createMemoryStorage();
    const start = clock.now();
    const orphans: string[] = [];
    for (const id of ['orphan-1', 'orphan-2', 'orphan-3']) {
      orphans.push(
        await claimAsOtherOwner(
          storage,
          { id, schedule: { every: 60_000 }, request: { url: `${target.url}/${id}` } },
          { owner: 'dead', now: start, leaseDuration: DEAD_LEASE },
        ),
      );
    }
    const h = await t.harness(
      { concurrency: 1, leaseDuration: LEASE, pollInterval: POLL },
      { storage, clock },
    );
    await h.scheduler.schedule({
      id: 'own',
      schedule: { every: 60_000 },
      request: { url: `${target.url}/own` },
    });
    await clock.advance(0);
    await target.waitForRequests(1);
    for (let i = 0; i < 5; i++) await clock.advance(POLL);
    const owners = async () =>
      Promise.all(orphans.map(async (id) => (await storage.getRun(id))?.owner));
    // One waits in the queue; the others stay expired in the store, for any instance to take.
    expect(await owners()).toEqual([h.scheduler.instanceId, 'dead', 'dead']);
    target.open();
    await target.waitForRequests(2);
    for (let i = 0; i < 2; i++) {
      await clock.advance(POLL);
      await target.waitForRequests(3 + i);
    }
    expect(target.requests.map((r) => r.path)).toEqual([
      '/own',
      '/orphan-1',
      '/orphan-2',
      '/orphan-3',
    ]);
  });

  it("with missed-run policy 'skip', records the orphaned run abandoned and does not run it", async () => {
    const target = await t.server();
    const clock = createManualClock();
    const storage = createMemoryStorage();
    const occurrenceId = await claimAsOtherOwner(
      storage,
      {
        id: 'orphan',
        schedule: { every: 60_000 },
        request: { url: `${target.url}/` },
        missedRuns: 'skip',
      },
      { owner: 'dead', now: clock.now(), leaseDuration: DEAD_LEASE },
    );
    const h = await t.harness({ leaseDuration: LEASE, pollInterval: POLL }, { storage, clock });
    await clock.advance(DEAD_LEASE + POLL);
    await eventually(async () =>
      expect(await h.scheduler.jobHistory('orphan')).toMatchObject([
        { status: 'abandoned', reason: 'owner-lost', occurrenceId },
      ]),
    );
    expect(await storage.runningRuns()).toEqual([]);
    expect(target.requests).toHaveLength(0);
  });

  it.each(['canceled', 'removed'] as const)(
    'records the orphaned run of a %s job canceled, without running it',
    async (state) => {
      const target = await t.server();
      const clock = createManualClock();
      const storage = createMemoryStorage();
      const occurrenceId = await claimAsOtherOwner(
        storage,
        { id: 'orphan', schedule: { every: 60_000 }, request: { url: `${target.url}/` } },
        { owner: 'dead', now: clock.now(), leaseDuration: DEAD_LEASE },
      );
      await storage.endJob('orphan', state, clock.now());
      const h = await t.harness({ leaseDuration: LEASE, pollInterval: POLL }, { storage, clock });
      await clock.advance(DEAD_LEASE + POLL);
      await eventually(async () =>
        expect(await h.scheduler.jobHistory('orphan')).toMatchObject([
          { status: 'canceled', reason: `job ${state}`, occurrenceId },
        ]),
      );
      expect(await storage.runningRuns()).toEqual([]);
      expect((await storage.getJob('orphan'))?.state).toBe(state);
      expect(target.requests).toHaveLength(0);
    },
  );

  it('a taken-over run waiting in the queue starts as soon as a slot frees, without a poll', async () => {
    const target = await t.holding();
    const clock = createManualClock();
    const storage = createMemoryStorage();
    const start = clock.now();
    for (const id of ['orphan-1', 'orphan-2']) {
      await claimAsOtherOwner(
        storage,
        { id, schedule: { every: 60_000 }, request: { url: `${target.url}/${id}` } },
        { owner: 'dead', now: start, leaseDuration: DEAD_LEASE },
      );
    }
    const h = await t.harness(
      { concurrency: 2, leaseDuration: LEASE, pollInterval: POLL },
      { storage, clock },
    );
    // Claimed half a poll after the takeover passes' phase: the claim loop's next look (+1.5 s) is
    // before the takeover (+2 s), so none follows it.
    await h.scheduler.schedule({
      id: 'own',
      schedule: { every: 60_000, startAt: start + 500 },
      request: { url: `${target.url}/own` },
    });
    await clock.advanceTo(start + 500);
    await target.waitForRequests(1);
    // Both are taken over: one takes the free slot, the other waits.
    await clock.advanceTo(start + DEAD_LEASE + POLL);
    await target.waitForRequests(2);
    expect(target.requests.map((r) => r.path)).toEqual(['/own', '/orphan-1']);
    expect((await storage.runningRuns()).every((r) => r.owner === h.scheduler.instanceId)).toBe(
      true,
    );
    // The clock stands still from here: nothing but the freed slots can start the waiting run.
    target.open();
    await eventually(() => expect(target.requests).toHaveLength(3), 2_000);
    expect(target.requests[2]?.path).toBe('/orphan-2');
  });
});

describe('stopping', () => {
  it('no takeover passes once stopping, and no timer re-armed in a loop for them', async () => {
    const target = await t.holding();
    const clock = guardedClock(createManualClock());
    const spy = spyStorage(createMemoryStorage(), { clock });
    const h = await t.harness({ storage: spy.store, pollInterval: 1_000 }, { clock });
    await h.scheduler.schedule({ schedule: { every: 60_000 }, request: { url: target.url } });
    await clock.advance(0);
    await target.waitForRequests(1);
    const start = clock.now();
    const armed = clock.armed;
    const takeovers = spy.callsOf('claimExpiredRuns').length;
    const stopped = h.scheduler.stop({ timeout: 10_000 });
    // Takeover passes were due every second of the drain part.
    await clock.advanceTo(start + 5_000);
    expect(clock.armed - armed).toBeLessThan(20);
    expect(spy.callsOf('claimExpiredRuns')).toHaveLength(takeovers);
    await clock.advanceTo(start + 10_000);
    await stopped;
  });
});
