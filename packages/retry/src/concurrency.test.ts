import { setMaxListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetryError } from './errors.js';
import { createRetrier, type Retrier } from './retrier.js';
import { countingSignal, createFakeTime } from './test-utils/fake-time.js';
import type { AttemptContext } from './types.js';

afterEach(() => {
  vi.useRealTimers();
});

const CALLS = 10_000;

function activeCount(retrier: Retrier): number {
  return (retrier as unknown as { activeCount: number }).activeCount;
}

/** Fails the first two attempts of every call, reading its signal each time. */
async function twiceThenOk({ signal, attempt }: AttemptContext): Promise<number> {
  if (signal.aborted) throw signal.reason;
  if (attempt < 3) throw new Error(`attempt ${attempt}`);
  return attempt;
}

describe(`${CALLS} concurrent calls on one retrier`, { timeout: 60_000 }, () => {
  it('all retry and finish (zero delay, real event-loop yields), leaking nothing', async () => {
    // Timers are faked so any timer left behind would show up in getTimerCount();
    // setImmediate stays real: zero-delay retries yield with it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const counted = countingSignal();
    // One caller signal shared by 10,000 calls: silence Node's listener-count warning.
    setMaxListeners(0, counted.signal);
    const retrier = createRetrier({ interval: 0, jitter: 0, maxRetries: 3, timeout: 60_000 });
    const calls = Array.from({ length: CALLS }, () =>
      retrier.run(twiceThenOk, { signal: counted.signal }),
    );
    // The attempts that are waiting hold a deadline timer and a listener each.
    expect(counted.listeners()).toBe(CALLS);
    expect(vi.getTimerCount()).toBe(CALLS);
    const results = await Promise.all(calls);
    expect(results.every((value) => value === 3)).toBe(true);
    expect(counted.added()).toBe(CALLS * 3);
    expect(counted.listeners()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(activeCount(retrier)).toBe(0);
  });

  it('all finish with an injected instant sleep and settle()', async () => {
    const time = createFakeTime();
    const retrier = createRetrier({ interval: 10, jitter: 0, sleep: time.sleep });
    const traces = await Promise.all(
      Array.from({ length: CALLS }, () => retrier.settle(twiceThenOk)),
    );
    expect(traces.every((t) => t.ok && t.attemptCount === 3)).toBe(true);
    expect(time.delays).toHaveLength(CALLS * 2);
    expect(activeCount(retrier)).toBe(0);
  });

  it('one cancel() wakes every waiting call and clears every timer', async () => {
    vi.useFakeTimers();
    const retrier = createRetrier({ interval: 30_000, jitter: 0 });
    const calls = Array.from({ length: CALLS }, () =>
      retrier.run(() => Promise.reject(new Error('down'))).catch((e: unknown) => e),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(CALLS);
    expect(activeCount(retrier)).toBe(CALLS);
    retrier.cancel();
    const errors = await Promise.all(calls);
    expect(errors.every((e) => e instanceof RetryError && e.reason === 'stopped')).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(activeCount(retrier)).toBe(0);
  });

  it('no concurrency cap or deadlock (W1): calls do not wait for each other', async () => {
    // go-again deadlocked with MaxRetries=1 and 2 concurrent failing calls.
    vi.useFakeTimers();
    const retrier = createRetrier({ maxRetries: 1, interval: 1000, jitter: 0, timeout: 5000 });
    let running = 0;
    let peak = 0;
    const calls = Array.from({ length: 100 }, () =>
      retrier
        .run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 100));
          running--;
          throw new Error('down');
        })
        .catch((e: unknown) => e),
    );
    await vi.advanceTimersByTimeAsync(100 + 1000 + 100);
    const errors = await Promise.all(calls);
    expect(peak).toBe(100);
    expect(errors.every((e) => e instanceof RetryError && e.reason === 'exhausted')).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
