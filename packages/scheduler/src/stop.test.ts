/**
 * stop()'s promise: it returns within its bound whatever the load. Runs get the first part of the
 * timeout to finish; the rest are aborted and their leases given back in what is left, so another
 * instance (or the next start) takes them over at once; what the store cannot take back by then
 * stays leased until the lease expires.
 */
import { createMemoryStorage } from '@again/storage-memory';
import { createManualClock, type TestServer } from '@again/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, type Harness, tracked } from './test-utils/harness.js';
import { claimAsOtherOwner, never, spyStorage } from './test-utils/store-spy.js';

const t = tracked();

afterEach(() => t.flush());

/** Schedules `count` jobs on `h` and starts their runs (held by `target`). */
async function startRuns(h: Harness, target: TestServer, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(
      await h.scheduler.schedule({
        id: `job-${i}`,
        schedule: { every: 60_000 },
        request: { url: `${target.url}/${i}` },
      }),
    );
  }
  await h.clock.advance(0);
  await target.waitForRequests(count);
  return ids;
}

/** stop() and a flag that says whether it resolved. */
function stopping(h: Harness, timeout: number) {
  const state = { stopped: false };
  const done = h.scheduler.stop({ timeout }).then(() => {
    state.stopped = true;
  });
  return { state, done };
}

describe('stop({ timeout })', () => {
  it('resolves at its bound when runs never finish and the store never answers', async () => {
    const target = await t.holding();
    const clock = createManualClock();
    const inner = createMemoryStorage();
    const spy = spyStorage(inner, { clock, hooks: { releaseLeases: () => never() } });
    const h = await t.harness({ storage: spy.store }, { clock });
    await startRuns(h, target, 3);
    const start = clock.now();
    const stop = stopping(h, 4_000);
    const timedOut = () =>
      h.logger.at('warn').filter((e) => /stop timeout reached/.test(e.message));

    // The first part of the timeout (all but a quarter, at most 1 s) is for the runs to finish.
    await clock.advanceTo(start + 2_999);
    expect(stop.state.stopped).toBe(false);
    expect(timedOut()).toEqual([]);
    expect(target.requests.some((r) => r.response.clientAborted)).toBe(false);

    // Then they are aborted; giving their leases back hangs in the store.
    await clock.advanceTo(start + 3_000);
    expect(timedOut()).toHaveLength(1);
    await eventually(() =>
      expect(target.requests.map((r) => r.response.clientAborted)).toEqual([true, true, true]),
    );
    await eventually(() => expect(spy.callsOf('releaseLeases').length).toBeGreaterThan(0));
    await clock.advanceTo(start + 3_999);
    expect(stop.state.stopped).toBe(false);

    await clock.advanceTo(start + 4_000);
    await stop.done;
    expect(clock.now()).toBe(start + 4_000);
    const errors = h.logger.at('error').map((e) => e.message);
    expect(errors).toContain('stop bound reached before the leases of aborted runs were released');
    // Nothing was recorded for them: left for another instance to take over once the leases expire.
    expect(spy.callsOf('completeRuns')).toEqual([]);
    const running = await inner.runningRuns();
    expect(running.map((run) => [run.jobId, run.owner])).toEqual(
      ['job-0', 'job-1', 'job-2'].map((id) => [id, h.scheduler.instanceId]),
    );
  });

  it('gives the leases of the runs it aborts back: the next start takes them over at once', async () => {
    const target = await t.holding(3);
    const h = await t.harness({ leaseDuration: 30_000 });
    const ids = await startRuns(h, target, 3);
    const keys = target.requests.map((r) => r.headers['idempotency-key']);
    const start = h.clock.now();
    const stop = stopping(h, 4_000);
    await h.clock.advanceTo(start + 2_999);
    expect(stop.state.stopped).toBe(false);
    await h.clock.advanceTo(start + 3_000);
    // Released within the remaining part: stop resolves without the clock reaching its bound.
    await stop.done;
    expect(h.clock.now()).toBe(start + 3_000);
    // Not recorded as outcomes: still running, their leases already expired.
    for (const id of ids) expect(await h.scheduler.jobHistory(id)).toEqual([]);
    const running = await h.storage.runningRuns();
    expect(running).toHaveLength(3);
    for (const run of running) expect(run.leaseUntil).toBeLessThan(h.clock.now());
    expect(h.logger.at('info').find((e) => /released/.test(e.message))?.context.runs).toBe(3);
    expect(h.logger.at('error')).toEqual([]);

    // The next scheduler on the store runs them again at once (a lease is 30 s), with the same
    // idempotency keys.
    const next = await t.harness({ leaseDuration: 30_000 }, { storage: h.storage, clock: h.clock });
    await next.clock.advance(0);
    await target.waitForRequests(6);
    expect(
      target.requests
        .slice(3)
        .map((r) => r.headers['idempotency-key'])
        .sort(),
    ).toEqual([...keys].sort());
  });

  it('gives back taken-over runs still waiting for a slot too', async () => {
    const target = await t.holding(1);
    const clock = createManualClock();
    const storage = createMemoryStorage();
    const orphan = await claimAsOtherOwner(
      storage,
      { id: 'orphan', schedule: { every: 60_000 }, request: { url: `${target.url}/orphan` } },
      { owner: 'dead', now: clock.now(), leaseDuration: 1_000 },
    );
    const h = await t.harness(
      { concurrency: 1, pollInterval: 1_000, leaseDuration: 3_000 },
      { storage, clock },
    );
    await startRuns(h, target, 1);
    await clock.advance(2_000);
    // Taken over, waiting for the busy slot.
    expect((await storage.getRun(orphan))?.owner).toBe(h.scheduler.instanceId);
    const stop = stopping(h, 2_000);
    await clock.advance(2_000);
    await stop.done;
    // The taken-over run never started; both leases (it and the aborted run) were given back.
    expect(target.requests.map((r) => r.path)).toEqual(['/0']);
    expect(h.logger.at('info').find((e) => /released/.test(e.message))?.context.runs).toBe(2);
    const orphanRun = await storage.getRun(orphan);
    expect(orphanRun).toMatchObject({ status: 'running', owner: h.scheduler.instanceId });
    expect(orphanRun?.leaseUntil).toBeLessThan(clock.now());
    expect(await h.scheduler.jobHistory('job-0')).toEqual([]);
  });
});
