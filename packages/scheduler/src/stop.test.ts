/**
 * stop()'s promise: it returns within its bound whatever the load. Runs get the first part of the
 * timeout to finish; the rest are aborted and recorded in what is left; what cannot be recorded
 * by then stays `running` in the store for another instance to take over.
 */
import { createMemoryStorage } from '@again/storage-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestClock } from './test-utils/clock.js';
import { eventually, type Harness, tracked } from './test-utils/harness.js';
import { holdingServer } from './test-utils/holding-server.js';
import type { TestServer } from './test-utils/servers.js';
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
  it('resolves at its bound when runs never finish and the store never records them', async () => {
    const { server: target } = await holdingServer(t);
    const clock = createTestClock();
    const inner = createMemoryStorage();
    const spy = spyStorage(inner, { clock, hooks: { completeRuns: () => never() } });
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

    // Then they are aborted; recording them hangs in the store.
    await clock.advanceTo(start + 3_000);
    expect(timedOut()).toHaveLength(1);
    await eventually(() =>
      expect(target.requests.map((r) => r.response.clientAborted)).toEqual([true, true, true]),
    );
    await eventually(() => expect(spy.callsOf('completeRuns').length).toBeGreaterThan(0));
    await clock.advanceTo(start + 3_999);
    expect(stop.state.stopped).toBe(false);

    await clock.advanceTo(start + 4_000);
    await stop.done;
    expect(clock.now()).toBe(start + 4_000);
    const errors = h.logger.at('error').map((e) => e.message);
    expect(errors).toContain('stop bound reached before every aborted run was recorded');
    // Left for another instance to take over once the leases expire.
    const running = await inner.runningRuns();
    expect(running.map((run) => [run.jobId, run.owner])).toEqual(
      ['job-0', 'job-1', 'job-2'].map((id) => [id, h.scheduler.instanceId]),
    );
  });

  it('records the aborted runs canceled (reason stopped) when the store answers', async () => {
    const { server: target } = await holdingServer(t);
    const h = await t.harness();
    const ids = await startRuns(h, target, 3);
    const start = h.clock.now();
    const stop = stopping(h, 4_000);
    await h.clock.advanceTo(start + 2_999);
    expect(stop.state.stopped).toBe(false);
    await h.clock.advanceTo(start + 3_000);
    // Recorded within the remaining part: stop resolves without the clock reaching its bound.
    await stop.done;
    expect(h.clock.now()).toBe(start + 3_000);
    for (const id of ids) {
      expect(await h.scheduler.jobHistory(id)).toMatchObject([
        { status: 'canceled', reason: 'stopped' },
      ]);
    }
    expect(await h.storage.runningRuns()).toEqual([]);
    expect(h.logger.at('error')).toEqual([]);
  });

  it('drops taken-over runs still waiting for a slot; they keep their leases until those expire', async () => {
    const { server: target } = await holdingServer(t, 1);
    const clock = createTestClock();
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
    await clock.settle();
    const dropped = h.logger.at('warn').filter((e) => /never started/.test(e.message));
    expect(dropped.map((e) => e.context.runs)).toEqual([1]);
    await clock.advance(2_000);
    await stop.done;
    expect(target.requests.map((r) => r.path)).toEqual(['/0']);
    expect(await storage.getRun(orphan)).toMatchObject({
      status: 'running',
      owner: h.scheduler.instanceId,
    });
    expect(await h.scheduler.jobHistory('job-0')).toMatchObject([
      { status: 'canceled', reason: 'stopped' },
    ]);
  });
});
