import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetryOptionsError } from './errors.js';
import { sleep, Timer, yieldToEventLoop } from './sleep.js';
import { countingSignal } from './test-utils/fake-time.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('sleep', () => {
  it('waits on a timer for positive delays and clears it', async () => {
    vi.useFakeTimers();
    let done = false;
    const wait = sleep(1000).then(() => {
      done = true;
    });
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await wait;
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never calls setTimeout for a zero delay', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    await sleep(0);
    await sleep(-5);
    expect(spy).not.toHaveBeenCalled();
  });

  it('rejects with the signal reason on abort, and removes its listener', async () => {
    vi.useFakeTimers();
    const counted = countingSignal();
    const wait = sleep(10_000, counted.signal);
    expect(counted.listeners()).toBe(1);
    const reason = new Error('stop');
    counted.controller.abort(reason);
    await expect(wait).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('removes its abort listener when the timer fires', async () => {
    vi.useFakeTimers();
    const counted = countingSignal();
    const wait = sleep(10, counted.signal);
    await vi.advanceTimersByTimeAsync(10);
    await wait;
    expect(counted.added()).toBe(1);
    expect(counted.listeners()).toBe(0);
  });

  it('rejects at once for an already aborted signal', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    await expect(sleep(100, AbortSignal.abort('gone'))).rejects.toBe('gone');
    expect(spy).not.toHaveBeenCalled();
  });

  it('rejects a zero wait whose signal aborts during the yield', async () => {
    const controller = new AbortController();
    const wait = sleep(0, controller.signal);
    controller.abort('late');
    await expect(wait).rejects.toBe('late');
  });

  it('rejects NaN and non-numbers', async () => {
    await expect(sleep(Number.NaN)).rejects.toBeInstanceOf(RetryOptionsError);
    await expect(sleep('5' as never)).rejects.toMatchObject({ code: 'ERR_RETRY_OPTIONS' });
  });

  it('waits for the signal only when the delay is Infinity', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const wait = sleep(Number.POSITIVE_INFINITY, controller.signal);
    expect(vi.getTimerCount()).toBe(0);
    controller.abort('done');
    await expect(wait).rejects.toBe('done');
  });
});

describe('Timer', () => {
  it('chains waits longer than the 2^31 - 1 ms timer limit', async () => {
    vi.useFakeTimers();
    let fired = false;
    const day = 86_400_000;
    new Timer(30 * day, () => {
      fired = true;
    });
    await vi.advanceTimersByTimeAsync(25 * day);
    expect(fired).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(5 * day);
    expect(fired).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clear() stops a chained timer', async () => {
    vi.useFakeTimers();
    const timer = new Timer(60 * 86_400_000, () => expect.unreachable());
    await vi.advanceTimersByTimeAsync(30 * 86_400_000);
    timer.clear();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('yieldToEventLoop', () => {
  it('lets a macrotask run before it resolves', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('immediate'));
    await yieldToEventLoop();
    order.push('after yield');
    expect(order).toEqual(['immediate', 'after yield']);
  });

  it('falls back to a MessageChannel where setImmediate is missing', async () => {
    const original = globalThis.setImmediate;
    const OriginalChannel = globalThis.MessageChannel;
    let channels = 0;
    globalThis.MessageChannel = class extends OriginalChannel {
      constructor() {
        super();
        channels++;
      }
    };
    // Simulate a browser / Deno: no setImmediate on the global object.
    (globalThis as { setImmediate?: unknown }).setImmediate = undefined;
    try {
      const spy = vi.spyOn(globalThis, 'setTimeout');
      await yieldToEventLoop();
      expect(channels).toBe(1);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      globalThis.setImmediate = original;
      globalThis.MessageChannel = OriginalChannel;
    }
  });
});
