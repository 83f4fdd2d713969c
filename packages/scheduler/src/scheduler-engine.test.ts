/**
 * The engine's own rules: completion, lifetime, id reuse, cancellation, stop, concurrency,
 * overlap, missed runs after a restart, several instances, leases, timers and idempotency.
 */
import { createRetrier } from '@again/retry';
import type { JobStore } from '@again/storage';
import { createMemoryStorage } from '@again/storage-memory';
import { createManualClock, gate } from '@again/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CallbackPayload } from './callback.js';
import { InvalidJobError, SchedulerStoppedError } from './errors.js';
import { occurrenceIdOf } from './occurrences.js';
import { createScheduler, type Scheduler } from './scheduler.js';
import { eventually, faultyStorage, recordingLogger, tracked } from './test-utils/harness.js';
import { MAX_TIMER_DELAY, systemClock } from './timer.js';

const { cleanups, server, holding, harness, flush } = tracked();

afterEach(async () => {
  vi.useRealTimers();
  await flush();
});

const state = async (s: Scheduler, id: string) => (await s.jobStatus(id))?.state;

describe('completion (W9)', () => {
  it('completes exactly when the last run finishes, not one interval later', async () => {
    const target = await server();
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await eventually(async () => expect(await state(h.scheduler, id)).toBe('completed'));
    // The clock has not moved: no extra interval was waited.
    expect(await h.scheduler.jobIds()).toEqual([]);
    expect(await h.scheduler.jobStatus(id)).toMatchObject({
      runs: 1,
      activeRuns: 0,
      nextRunAt: null,
    });
  });

  it('endAt is inclusive: an occurrence exactly at endAt runs, then the job completes', async () => {
    const target = await server();
    const h = await harness();
    const start = h.clock.now();
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000, startAt: start, endAt: start + 2_000 },
      request: { url: `${target.url}/` },
    });
    for (let i = 0; i < 3; i++) {
      await h.clock.advance(i === 0 ? 0 : 1_000);
      await target.waitForRequests(i + 1);
    }
    await eventually(async () => expect(await state(h.scheduler, id)).toBe('completed'));
    expect(h.clock.now()).toBe(start + 2_000);
  });
});

describe('job lifetime (W11)', () => {
  it("is the scheduler's: aborting the caller's signal after schedule() changes nothing", async () => {
    const target = await server();
    const h = await harness();
    const controller = new AbortController();
    const id = await h.scheduler.schedule(
      { schedule: { every: 1_000 }, request: { url: `${target.url}/` } },
      { signal: controller.signal },
    );
    controller.abort();
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await h.clock.advance(1_000);
    await target.waitForRequests(2);
    expect(await state(h.scheduler, id)).not.toBe('canceled');
  });

  it('an aborted signal during schedule() stores nothing', async () => {
    const h = await harness();
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(
      h.scheduler.schedule(
        { schedule: { every: 1_000 }, request: { url: 'http://127.0.0.1:2/' } },
        { signal: controller.signal },
      ),
    ).rejects.toThrow('caller gave up');
    expect(await h.scheduler.jobCount()).toBe(0);
  });
});

describe('id reuse (W12)', () => {
  it('reusing the id of a finished job starts a fresh status and history', async () => {
    const target = await server();
    const h = await harness();
    const job = {
      id: 'reuse',
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    };
    await h.scheduler.schedule(job);
    await h.clock.advance(0);
    await eventually(async () => expect(await state(h.scheduler, 'reuse')).toBe('completed'));
    await h.clock.advance(5_000);

    await h.scheduler.schedule(job);
    expect(await h.scheduler.jobStatus('reuse')).toMatchObject({
      state: 'scheduled',
      runs: 0,
      lastRun: null,
    });
    expect(await h.scheduler.jobHistory('reuse')).toEqual([]);
    await h.clock.advance(0);
    await eventually(async () => expect(await state(h.scheduler, 'reuse')).toBe('completed'));
    const history = await h.scheduler.jobHistory('reuse');
    expect(history?.map((r) => r.sequence)).toEqual([1]);
    expect((await h.scheduler.jobStatus('reuse'))?.runs).toBe(1);
  });

  it('an unfinished job keeps its id: scheduling it again is refused', async () => {
    const h = await harness();
    const job = {
      id: 'busy',
      schedule: { every: 1_000, startAt: h.clock.now() + 10_000 },
      request: { url: 'http://127.0.0.1:2/' },
    };
    await h.scheduler.schedule(job);
    await expect(h.scheduler.schedule(job)).rejects.toMatchObject({ code: 'ERR_JOB_EXISTS' });
  });

  it('generated ids are unique across instances and restarts', async () => {
    const storage = createMemoryStorage();
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const h = await harness({}, { storage });
      for (let j = 0; j < 3; j++) {
        ids.add(
          await h.scheduler.schedule({
            schedule: { every: 1_000, startAt: h.clock.now() + 60_000 },
            request: { url: 'http://127.0.0.1:2/' },
          }),
        );
      }
      await h.scheduler.stop();
    }
    expect(ids.size).toBe(9);
    for (const id of ids) expect(id).toMatch(/^job-[0-9a-f-]{36}$/);
  });
});

describe('stop', () => {
  it('drains in-flight runs and their callbacks within the bound', async () => {
    const target = await holding();
    const callback = await server();
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000 },
      request: { url: `${target.url}/` },
      callback: { url: `${callback.url}/cb` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    let stopped = false;
    const stopping = h.scheduler.stop({ timeout: 10_000 }).then(() => {
      stopped = true;
    });
    await expect(
      h.scheduler.schedule({ schedule: { every: 1_000 }, request: { url: `${target.url}/` } }),
    ).rejects.toBeInstanceOf(SchedulerStoppedError);
    await h.clock.settle();
    expect(stopped).toBe(false);
    target.open();
    await stopping;
    expect(callback.requests).toHaveLength(1);
    const [run] = (await h.scheduler.jobHistory(id)) ?? [];
    expect(run?.status).toBe('succeeded');
    // Durable by default: the job stays scheduled for the next scheduler on this store.
    expect(await state(h.scheduler, id)).toBe('scheduled');
  });

  it('aborts runs still in flight at the bound and gives their leases back; idempotent', async () => {
    const target = await holding();
    const callback = await server();
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000 },
      request: { url: `${target.url}/` },
      callback: { url: `${callback.url}/cb` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    const first = h.scheduler.stop({ timeout: 100 });
    expect(h.scheduler.stop()).toBe(first);
    await h.clock.advance(100);
    await first;
    // Not an outcome: the run stays in the store, its lease expired, for a taker to run again.
    expect(await h.scheduler.jobHistory(id)).toEqual([]);
    const [running] = await h.storage.runningRuns(id);
    expect(running?.leaseUntil).toBeLessThan(h.clock.now());
    await eventually(() => expect(target.requests[0]?.response.clientAborted).toBe(true));
    expect(callback.requests).toHaveLength(0);
    expect(h.logger.at('warn').length).toBeGreaterThan(0);
  });

  it('rejects an invalid timeout with a typed error', async () => {
    const h = await harness();
    await expect(h.scheduler.stop({ timeout: -1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_SCHEDULER_OPTIONS',
    });
  });
});

describe('concurrency', () => {
  it('never runs more than `concurrency` at once; waiting occurrences run when slots free', async () => {
    const hold = gate();
    let inFlight = 0;
    let maxInFlight = 0;
    const target = await server(async (_req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await hold.promise;
      inFlight--;
      res.end('ok');
    });
    cleanups.push(async () => hold.open());
    const h = await harness({ concurrency: 2 });
    for (let i = 0; i < 5; i++) {
      await h.scheduler.schedule({
        schedule: { every: 60_000, maxRuns: 1 },
        request: { url: `${target.url}/${i}` },
      });
    }
    await h.clock.advance(0);
    await target.waitForRequests(2);
    await h.clock.settle();
    expect(target.requests).toHaveLength(2);
    hold.open();
    await target.waitForRequests(5);
    await eventually(async () => expect(await h.scheduler.jobCount()).toBe(0));
    expect(maxInFlight).toBe(2);
  });

  it('a job removed while waiting for a slot never runs later (W14)', async () => {
    const target = await holding();
    const h = await harness({ concurrency: 1 });
    await h.scheduler.schedule({
      id: 'a',
      schedule: { every: 60_000 },
      request: { url: `${target.url}/a` },
    });
    await h.scheduler.schedule({
      id: 'b',
      schedule: { every: 60_000 },
      request: { url: `${target.url}/b` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    expect(await h.scheduler.remove('b')).toBe(true);
    target.open();
    await eventually(async () => expect((await h.scheduler.jobStatus('a'))?.runs).toBe(1));
    await h.clock.settle();
    expect(target.requests.map((r) => r.path)).toEqual(['/a']);
  });
});

describe('remove during a claim', () => {
  it('a job removed while its claim is in flight never sends its request', async () => {
    const target = await server();
    const inner = createMemoryStorage();
    const claimed = gate();
    const release = gate();
    // A store whose claim applies, then answers late (like a slow database round trip).
    const slow: JobStore = new Proxy(inner, {
      get(store, property, receiver) {
        const value = Reflect.get(store, property, receiver);
        if (property !== 'claimDue' || typeof value !== 'function') {
          return typeof value === 'function' ? value.bind(store) : value;
        }
        return async (...args: unknown[]) => {
          const result = await value.apply(store, args);
          if (result.runs.length > 0) {
            claimed.open();
            await release.promise;
          }
          return result;
        };
      },
    });
    const h = await harness({}, { storage: slow });
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000 },
      request: { url: `${target.url}/` },
    });
    void h.clock.advance(0);
    await claimed.promise;
    expect(await h.scheduler.remove(id)).toBe(true);
    release.open();
    await eventually(async () =>
      expect((await h.scheduler.jobHistory(id))?.[0]).toMatchObject({
        status: 'canceled',
        reason: 'removed',
      }),
    );
    await h.clock.settle();
    expect(target.requests).toHaveLength(0);
    expect(await state(h.scheduler, id)).toBe('removed');
  });
});

describe('overlap', () => {
  it("'skip' records an occurrence that comes due during a run as skipped (overlap)", async () => {
    const target = await holding(1);
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000 },
      request: { url: `${target.url}/` },
      overlap: 'skip',
    });
    const start = h.clock.now();
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await h.clock.advance(1_000);
    await eventually(async () => expect((await h.scheduler.jobHistory(id))?.length).toBe(1));
    const [skipped] = (await h.scheduler.jobHistory(id)) ?? [];
    expect(skipped).toMatchObject({ status: 'skipped', reason: 'overlap', payload: null });
    expect(skipped?.scheduledAt.getTime()).toBe(start + 1_000);
    target.open();
    await eventually(async () => expect((await h.scheduler.jobStatus(id))?.runs).toBe(1));
    await h.clock.advance(1_000);
    await target.waitForRequests(2);
  });

  it("'allow' (the seed) overlaps runs of one job", async () => {
    const target = await holding(1);
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await h.clock.advance(1_000);
    await target.waitForRequests(2);
    await eventually(async () => expect((await h.scheduler.jobStatus(id))?.runs).toBe(1));
    expect((await h.scheduler.jobStatus(id))?.activeRuns).toBe(1);
    target.open();
  });
});

describe('missed runs after a restart', () => {
  /** Schedules with one instance, stops it, moves time on and starts a second one. */
  async function restart(missedRuns: unknown, options: { missedRunGrace?: number } = {}) {
    const target = await server();
    const storage = createMemoryStorage();
    const clock = createManualClock();
    const first = await harness({}, { storage, clock });
    const start = clock.now();
    const id = await first.scheduler.schedule({
      schedule: { every: 1_000, startAt: start + 1_000 },
      request: { url: `${target.url}/` },
      missedRuns: missedRuns as never,
    });
    await first.scheduler.stop();
    await clock.advance(10_500);
    const second = await harness(options, { storage, clock });
    return { target, second, id, start };
  }

  it("run-once (default) runs the latest missed occurrence, records the others as 'missed'", async () => {
    const { target, second, id, start } = await restart('run-once');
    const [request] = await target.waitForRequests(1);
    expect(request?.headers['idempotency-key']).toBe(occurrenceIdOf(id, start + 10_000));
    await eventually(async () => expect((await second.scheduler.jobStatus(id))?.runs).toBe(1));
    const history = (await second.scheduler.jobHistory(id)) ?? [];
    expect(history.filter((r) => r.status === 'skipped').map((r) => r.reason)).toEqual(
      Array(9).fill('missed'),
    );
    expect((await second.scheduler.jobStatus(id))?.nextRunAt?.getTime()).toBe(start + 11_000);
  });

  it('skip runs none of them once they are later than the grace', async () => {
    const { target, second, id } = await restart('skip', { missedRunGrace: 100 });
    await eventually(async () => expect((await second.scheduler.jobHistory(id))?.length).toBe(10));
    const history = (await second.scheduler.jobHistory(id)) ?? [];
    expect(history.every((r) => r.status === 'skipped' && r.reason === 'missed')).toBe(true);
    expect(target.requests).toHaveLength(0);
    await second.clock.advance(500);
    await target.waitForRequests(1);
  });

  it('run-all runs up to its limit, one per occurrence, and skips older ones', async () => {
    const { target, second, id, start } = await restart({ policy: 'run-all', limit: 3 });
    const requests = await target.waitForRequests(3);
    expect(requests.map((r) => r.headers['idempotency-key']).sort()).toEqual(
      [8_000, 9_000, 10_000].map((t) => occurrenceIdOf(id, start + t)),
    );
    await eventually(async () => expect((await second.scheduler.jobStatus(id))?.runs).toBe(3));
    const skipped = ((await second.scheduler.jobHistory(id)) ?? []).filter(
      (r) => r.status === 'skipped',
    );
    expect(skipped).toHaveLength(7);
  });

  it("onRestart 'resume' (default) keeps jobs running; 'cancel' is the seed's behaviour", async () => {
    const storage = createMemoryStorage();
    const clock = createManualClock();
    const first = await harness({}, { storage, clock });
    const id = await first.scheduler.schedule({
      schedule: { every: 1_000, startAt: clock.now() + 60_000 },
      request: { url: 'http://127.0.0.1:2/' },
    });
    await first.scheduler.stop();
    const resumed = await harness({}, { storage, clock });
    expect(await state(resumed.scheduler, id)).toBe('scheduled');
    await resumed.scheduler.stop();
    const canceled = await harness({ onRestart: 'cancel' }, { storage, clock });
    expect(await state(canceled.scheduler, id)).toBe('canceled');
  });
});

describe('several instances on one store', () => {
  it('each occurrence starts exactly once', async () => {
    const target = await server();
    const storage = createMemoryStorage();
    const clock = createManualClock();
    const a = await harness({}, { storage, clock });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        await a.scheduler.schedule({
          schedule: { every: 1_000, maxRuns: 3 },
          request: { url: `${target.url}/${i}` },
        }),
      );
    }
    const b = await harness({}, { storage, clock });
    const c = await harness({}, { storage, clock });
    for (let round = 0; round < 3; round++) {
      await clock.advance(round === 0 ? 0 : 1_000);
      await target.waitForRequests(5 * (round + 1));
      await eventually(async () =>
        expect(
          (await a.scheduler.jobStatuses()).every(
            (s) => s.runs === round + 1 && s.activeRuns === 0,
          ),
        ).toBe(true),
      );
    }
    await clock.advance(5_000);
    const keys = target.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(15);
    expect(new Set(keys).size).toBe(15);
    expect(await a.scheduler.jobCount()).toBe(0);
    void b;
    void c;
  });

  it('a job removed through another instance is aborted at the next lease renewal', async () => {
    const target = await holding();
    const storage = createMemoryStorage();
    const clock = createManualClock();
    const a = await harness({ leaseDuration: 3_000 }, { storage, clock });
    const id = await a.scheduler.schedule({
      schedule: { every: 60_000 },
      request: { url: `${target.url}/` },
    });
    await clock.advance(0);
    await target.waitForRequests(1);
    const b = await harness(
      { leaseDuration: 3_000 },
      { storage, clock: createManualClock(clock.now()) },
    );
    expect(await b.scheduler.remove(id)).toBe(true);
    await clock.advance(1_000);
    await eventually(async () =>
      expect((await a.scheduler.jobHistory(id))?.[0]).toMatchObject({
        status: 'canceled',
        reason: 'removed',
      }),
    );
    await eventually(() => expect(target.requests[0]?.response.clientAborted).toBe(true));
  });
});

describe('leases and takeover', () => {
  async function twoInstances(missedRuns: 'run-once' | 'skip') {
    const target = await holding(1);
    const storage = createMemoryStorage();
    const clockA = createManualClock();
    const clockB = createManualClock(clockA.now());
    const a = await harness({ leaseDuration: 3_000 }, { storage, clock: clockA });
    const id = await a.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
      missedRuns,
    });
    await clockA.advance(0);
    await target.waitForRequests(1);
    // A now stalls (its clock stops: no renewals); B sees the lease expire.
    const b = await harness(
      { leaseDuration: 3_000, pollInterval: 1_000 },
      { storage, clock: clockB },
    );
    await clockB.advance(6_000);
    return { target, a, b, id, clockA };
  }

  it('re-runs an occurrence whose owner died, with the same idempotency key; the stale owner is fenced out', async () => {
    const { target, a, b, id, clockA } = await twoInstances('run-once');
    const requests = await target.waitForRequests(2);
    expect(requests[1]?.headers['idempotency-key']).toBe(requests[0]?.headers['idempotency-key']);
    await eventually(async () => expect(await state(b.scheduler, id)).toBe('completed'));
    // A wakes up: its renewal fails, it aborts its run and records nothing.
    await clockA.advance(1_000);
    await eventually(() => expect(target.requests[0]?.response.clientAborted).toBe(true));
    target.open();
    await eventually(() => expect(a.logger.at('warn').length).toBeGreaterThan(0));
    const history = (await b.scheduler.jobHistory(id)) ?? [];
    expect(history.map((r) => r.status)).toEqual(['succeeded']);
    expect((await b.scheduler.jobStatus(id))?.runs).toBe(1);
  });

  it("with missed-run policy 'skip' the orphaned run is recorded abandoned, not re-run", async () => {
    const { target, b, id } = await twoInstances('skip');
    await eventually(async () =>
      expect((await b.scheduler.jobHistory(id))?.[0]).toMatchObject({
        status: 'abandoned',
        reason: 'owner-lost',
      }),
    );
    expect(target.requests).toHaveLength(1);
    await eventually(async () => expect(await state(b.scheduler, id)).toBe('completed'));
  });

  it('renews the lease of a long run, so no other instance takes it over', async () => {
    const target = await holding();
    const storage = createMemoryStorage();
    const clock = createManualClock();
    const a = await harness({ leaseDuration: 3_000 }, { storage, clock });
    const id = await a.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await clock.advance(0);
    await target.waitForRequests(1);
    const b = await harness({ leaseDuration: 3_000, pollInterval: 1_000 }, { storage, clock });
    for (let i = 0; i < 10; i++) await clock.advance(1_000);
    expect(target.requests).toHaveLength(1);
    target.open();
    await eventually(async () =>
      expect((await b.scheduler.jobHistory(id))?.map((r) => r.status)).toEqual(['succeeded']),
    );
  });
});

describe('timers', () => {
  it('uses one claim timer however many jobs it holds', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const scheduler = await createScheduler({
      storage: createMemoryStorage(),
      unsafeAllowAnyUrl: true,
      clock: systemClock,
      logger: recordingLogger(),
      pollInterval: 0,
      // The maintenance loop has its own timer; off here so the count is the claim loop's.
      maintenanceInterval: null,
    });
    cleanups.push(() => scheduler.stop({ timeout: 0 }));
    for (let i = 0; i < 1_000; i++) {
      await scheduler.schedule({
        schedule: { every: 60_000, startAt: Date.now() + 1_000 + i },
        request: { url: 'http://127.0.0.1:2/' },
      });
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(await scheduler.jobCount()).toBe(1_000);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('waits longer than 2^31-1 ms in steps (long wait split)', async () => {
    const target = await server();
    const h = await harness({ maintenanceInterval: null });
    const at = h.clock.now() + 40 * 24 * 3_600_000;
    await h.scheduler.schedule({ schedule: { at }, request: { url: `${target.url}/` } });
    await h.clock.settle();
    expect(h.clock.pendingTimers).toBe(1);
    expect((h.clock.nextTimerAt ?? 0) - h.clock.now()).toBeLessThanOrEqual(MAX_TIMER_DELAY);
    await h.clock.advance(MAX_TIMER_DELAY);
    expect(target.requests).toHaveLength(0);
    await h.clock.advanceTo(at - 1);
    expect(target.requests).toHaveLength(0);
    await h.clock.advanceTo(at);
    await target.waitForRequests(1);
  });

  it('a job added while the loop reads the next due time still wakes the timer', async () => {
    const target = await server();
    const inner = createMemoryStorage();
    let hold: ReturnType<typeof gate> | null = null;
    const reading = gate();
    // A store whose nextDueAt reads at once but answers late (like a slow database round trip).
    const slow: JobStore = new Proxy(inner, {
      get(store, property, receiver) {
        const value = Reflect.get(store, property, receiver);
        if (property !== 'nextDueAt' || typeof value !== 'function') {
          return typeof value === 'function' ? value.bind(store) : value;
        }
        return async () => {
          const result = await value.apply(store, []);
          const held = hold;
          if (held !== null) {
            hold = null;
            reading.open();
            await held.promise;
          }
          return result;
        };
      },
    });
    const h = await harness({}, { storage: slow });
    const start = h.clock.now();
    await h.scheduler.schedule({ schedule: { at: start }, request: { url: `${target.url}/a` } });
    const release = gate();
    hold = release;
    void h.clock.advance(0);
    await reading.promise;
    // The loop has read "nothing due" and has not answered yet: a new job is added now.
    await h.scheduler.schedule({
      schedule: { at: start + 1_000 },
      request: { url: `${target.url}/b` },
    });
    release.open();
    await h.clock.settle();
    await h.clock.advance(1_000);
    await eventually(() => expect(target.requests.map((r) => r.path)).toContain('/b'), 2_000);
  });

  it('intervals do not drift: each occurrence is scheduled from the previous scheduled time', async () => {
    const target = await server();
    const h = await harness();
    const start = h.clock.now();
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000, maxRuns: 3 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await h.clock.advance(1_300); // late wake: the occurrence is still the one at +1000
    await target.waitForRequests(2);
    await h.clock.advance(700);
    await target.waitForRequests(3);
    await eventually(async () => expect((await h.scheduler.jobStatus(id))?.runs).toBe(3));
    const history = (await h.scheduler.jobHistory(id)) ?? [];
    expect(history.map((r) => r.scheduledAt.getTime() - start)).toEqual([0, 1_000, 2_000]);
    expect(target.requests.map((r) => r.headers['x-again-scheduled-at'])).toEqual(
      [0, 1_000, 2_000].map((t) => new Date(start + t).toISOString()),
    );
  });
});

describe('requests, callbacks and errors', () => {
  it('records the run before sending the callback; both carry the idempotency key', async () => {
    const target = await server();
    let historyAtCallback: unknown;
    let scheduler: Scheduler | undefined;
    const callback = await server(async (req, res) => {
      historyAtCallback = await scheduler?.jobHistory(String(req.headers['x-job']));
      res.end('ok');
    });
    const h = await harness();
    scheduler = h.scheduler;
    const id = await h.scheduler.schedule({
      id: 'recorded-first',
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/`, method: 'POST', body: { hello: 'world' } },
      callback: { url: `${callback.url}/cb`, headers: { 'x-job': 'recorded-first' } },
    });
    await h.clock.advance(0);
    const [delivered] = await callback.waitForRequests(1);
    const payload = JSON.parse(delivered?.body ?? '{}') as CallbackPayload;
    const key = occurrenceIdOf(id, h.clock.now());
    expect(payload.occurrence_id).toBe(key);
    expect(delivered?.headers['idempotency-key']).toBe(key);
    expect(target.requests[0]?.headers['idempotency-key']).toBe(key);
    expect(target.requests[0]?.body).toBe('{"hello":"world"}');
    await eventually(() => expect(historyAtCallback).toHaveLength(1));
  });

  it('a job id outside ASCII still yields a valid Idempotency-Key header', async () => {
    const target = await server();
    const h = await harness();
    const id = await h.scheduler.schedule({
      id: '日本 report',
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    const [request] = await target.waitForRequests(1);
    expect(request?.headers['idempotency-key']).toBe(occurrenceIdOf(id, h.clock.now()));
    await eventually(async () =>
      expect((await h.scheduler.jobStatus(id))?.lastRun?.success).toBe(true),
    );
  });

  it('storage failures in the loop are logged and retried, not swallowed', async () => {
    const target = await server();
    const failing = new Set<keyof JobStore>();
    const { store } = faultyStorage(createMemoryStorage(), () => failing);
    const h = await harness({ storage: store });
    failing.add('claimDue');
    await h.scheduler.schedule({ schedule: { every: 60_000 }, request: { url: `${target.url}/` } });
    await h.clock.advance(0);
    expect(h.logger.at('error').some((e) => e.context.operation === 'claimDue')).toBe(true);
    expect(target.requests).toHaveLength(0);
    failing.clear();
    await h.clock.advance(1_000);
    await target.waitForRequests(1);
  });

  it('a named retrier must be registered; a registered one is used', async () => {
    let hits = 0;
    const target = await server((_req, res) => {
      hits++;
      res.writeHead(hits === 1 ? 503 : 200);
      res.end();
    });
    const h = await harness({
      retriers: { quick: createRetrier({ maxRetries: 2, interval: 0, jitter: 0 }) },
    });
    const unknown = await h.scheduler
      .schedule({
        schedule: { every: 1_000 },
        request: { url: `${target.url}/` },
        retryPolicy: { retrier: 'missing' },
      })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(InvalidJobError);
    expect((unknown as InvalidJobError).issues.map((i) => i.path)).toEqual(['retryPolicy.retrier']);
    // The callback's policy is checked the same way, at schedule() and at update().
    const both = await h.scheduler
      .schedule({
        schedule: { every: 1_000 },
        request: { url: `${target.url}/` },
        retryPolicy: { retrier: 'gone' },
        callback: { url: `${target.url}/cb`, retryPolicy: { retrier: 'missing' } },
      })
      .catch((e: unknown) => e);
    expect((both as InvalidJobError).issues.map((i) => i.path)).toEqual([
      'retryPolicy.retrier',
      'callback.retryPolicy.retrier',
    ]);
    expect(await h.scheduler.jobCount()).toBe(0);
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
      retryPolicy: { retrier: 'quick' },
    });
    await h.clock.advance(0);
    await eventually(async () =>
      expect((await h.scheduler.jobStatus(id))?.lastRun).toMatchObject({
        success: true,
        attempts: 2,
      }),
    );
  });

  it('the egress check runs for the request and the callback at schedule time', async () => {
    const checked: string[] = [];
    const storage = createMemoryStorage();
    const scheduler = await createScheduler({
      storage,
      logger: recordingLogger(),
      clock: createManualClock(),
      egress: {
        fetch: (input, init) => fetch(input, init),
        check: async (url) => {
          checked.push(url);
          return url.includes('blocked') ? { ok: false, reason: 'blocked host' } : { ok: true };
        },
      },
    });
    cleanups.push(() => scheduler.stop());
    const error = await scheduler
      .schedule({
        schedule: { every: 1_000 },
        request: { url: 'https://fine.example/' },
        callback: { url: 'https://blocked.example/cb' },
      })
      .catch((e: unknown) => e);
    expect(checked).toEqual(['https://fine.example/', 'https://blocked.example/cb']);
    expect((error as InvalidJobError).issues).toEqual([
      { path: 'callback.url', message: 'URL refused: blocked host' },
    ]);
    expect(await storage.countJobs()).toBe(0);
  });
});
