import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRetryBudget } from './budget.js';
import { RetryCancelledError, RetryDeadlineError, RetryError, type RetryReason } from './errors.js';
import { createRetrier, type Retrier } from './retrier.js';
import { countingSignal, createFakeTime, flush } from './test-utils/fake-time.js';
import type { AttemptContext } from './types.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function activeCount(retrier: Retrier): number {
  return (retrier as unknown as { activeCount: number }).activeCount;
}

/** An attempt that waits until its signal aborts, then rejects with the abort reason. */
function untilAborted(seen: AttemptContext[] = []) {
  return ({ signal, attempt }: AttemptContext): Promise<never> => {
    seen.push({ signal, attempt });
    return new Promise((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  };
}

async function settleReason(promise: Promise<unknown>): Promise<RetryError> {
  const error = await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RetryError);
  return error as RetryError;
}

describe('checked before every attempt (W3 fixed)', () => {
  it('a cancelled retrier never runs fn', async () => {
    const retrier = createRetrier();
    retrier.cancel();
    const fn = vi.fn();
    const error = await settleReason(retrier.run(fn));
    expect(fn).not.toHaveBeenCalled();
    expect(error.reason).toBe('stopped');
    expect(error.code).toBe('ERR_RETRY_STOPPED');
    expect(error.attempts).toBe(0);
    expect(error.errors).toEqual([]);
    expect(error.cause).toBeInstanceOf(RetryCancelledError);
    expect((error.cause as RetryCancelledError).code).toBe('ERR_RETRY_CANCELLED');
  });

  it('an already aborted caller signal never runs fn', async () => {
    const fn = vi.fn();
    const reason = new Error('request gone');
    const error = await settleReason(
      createRetrier().run(fn, { signal: AbortSignal.abort(reason) }),
    );
    expect(fn).not.toHaveBeenCalled();
    expect(error.reason).toBe('aborted');
    expect(error.code).toBe('ERR_RETRY_ABORTED');
    expect(error.cause).toBe(reason);
  });

  it('cancel() from inside an attempt stops the loop after it (go-again TestStopRetries)', async () => {
    const retrier = createRetrier({ sleep: async () => {} });
    let calls = 0;
    const error = await settleReason(
      retrier.run(() => {
        calls++;
        retrier.cancel();
        throw new Error('failed');
      }),
    );
    expect(calls).toBe(1);
    expect(error.reason).toBe('stopped');
    expect((error.cause as Error).message).toBe('failed');
  });
});

describe('cancel() / stop()', () => {
  it('abort the running attempt with the cancel reason', async () => {
    const retrier = createRetrier();
    const seen: AttemptContext[] = [];
    const call = retrier.run(untilAborted(seen));
    await flush();
    expect(seen[0]?.signal.aborted).toBe(false);
    retrier.cancel();
    const error = await settleReason(call);
    expect(error.reason).toBe('stopped');
    expect(seen[0]?.signal.reason).toBeInstanceOf(RetryCancelledError);
    expect(retrier.cancelled).toBe(true);
    expect(retrier.signal.aborted).toBe(true);
    expect(retrier.signal.reason).toBe(seen[0]?.signal.reason);
    expect(activeCount(retrier)).toBe(0);
  });

  it('are terminal, identical, and keep the first reason', async () => {
    const retrier = createRetrier();
    const signal = retrier.signal;
    retrier.stop('maintenance');
    retrier.cancel('second');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('maintenance');
    const error = await settleReason(retrier.run(() => 1));
    expect(error.cause).toBe('maintenance');
  });

  it('wake a call that is waiting between attempts, clearing its timer', async () => {
    vi.useFakeTimers();
    const retrier = createRetrier({ interval: 60_000, jitter: 0 });
    const fn = vi.fn(() => Promise.reject(new Error('down')));
    const call = retrier.run(fn);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    retrier.cancel();
    const error = await settleReason(call);
    expect(error.reason).toBe('stopped');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(activeCount(retrier)).toBe(0);
  });

  it('reach an injected sleep through its signal', async () => {
    let sleepSignal: AbortSignal | undefined;
    const retrier = createRetrier({
      sleep: (_ms, signal) => {
        sleepSignal = signal;
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve()));
      },
    });
    const call = retrier.run(() => Promise.reject(new Error('down')));
    await flush();
    expect(sleepSignal?.aborted).toBe(false);
    retrier.cancel();
    expect(sleepSignal?.aborted).toBe(true);
    expect((await settleReason(call)).reason).toBe('stopped');
  });
});

describe("the caller's signal", () => {
  it('aborts the running attempt with its own reason', async () => {
    const counted = countingSignal();
    const seen: AttemptContext[] = [];
    const call = createRetrier().run(untilAborted(seen), { signal: counted.signal });
    await flush();
    expect(counted.listeners()).toBe(1);
    const reason = new Error('client went away');
    counted.controller.abort(reason);
    const error = await settleReason(call);
    expect(error.reason).toBe('aborted');
    expect(seen[0]?.signal.reason).toBe(reason);
    expect(error.cause).toBe(reason);
  });

  it('ends a wait between attempts at once', async () => {
    vi.useFakeTimers();
    const counted = countingSignal();
    const call = createRetrier({ interval: 10_000, jitter: 0 }).run(
      () => Promise.reject(new Error('down')),
      { signal: counted.signal },
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(counted.listeners()).toBe(1);
    counted.controller.abort();
    expect((await settleReason(call)).reason).toBe('aborted');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no listener behind on success, failure or abort', async () => {
    const counted = countingSignal();
    const retrier = createRetrier({ interval: 0, jitter: 0, maxRetries: 2 });
    const readSignal = async ({ signal }: AttemptContext) => signal.aborted;
    await retrier.run(readSignal, { signal: counted.signal });
    await retrier.settle(
      async ({ signal }) => {
        void signal;
        throw new Error('x');
      },
      { signal: counted.signal },
    );
    expect(counted.added()).toBeGreaterThan(0);
    expect(counted.listeners()).toBe(0);
    expect(activeCount(retrier)).toBe(0);
  });

  it('is not consulted after a success: late success returns the value', async () => {
    const controller = new AbortController();
    const retrier = createRetrier();
    const call = retrier.run(
      async ({ signal }) => {
        await flush();
        controller.abort();
        // Ignores its signal and finishes the work anyway.
        return signal.aborted ? 'done despite abort' : 'done';
      },
      { signal: controller.signal },
    );
    await expect(call).resolves.toBe('done despite abort');
  });
});

describe('the total deadline (timeout)', () => {
  it('aborts the running attempt with a RetryDeadlineError and gives up with reason timeout', async () => {
    vi.useFakeTimers();
    const retrier = createRetrier({ timeout: 1000 });
    const seen: AttemptContext[] = [];
    const call = settleReason(retrier.run(untilAborted(seen)));
    await vi.advanceTimersByTimeAsync(999);
    expect(seen[0]?.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await call;
    expect(error.reason).toBe('timeout');
    expect(error.code).toBe('ERR_RETRY_TIMEOUT');
    const reason = seen[0]?.signal.reason as RetryDeadlineError;
    expect(reason).toBeInstanceOf(RetryDeadlineError);
    expect(reason.code).toBe('ERR_RETRY_DEADLINE');
    expect(reason.scope).toBe('total');
    expect(reason.timeout).toBe(1000);
    expect(error.cause).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends with reason timeout once its timer aborted the attempt, even if the clock lags behind', async () => {
    // Node's timers may fire a moment before Date.now() reaches the deadline; a clock frozen at
    // the start is the extreme case. The timer's abort, not a clock read, says the time is up.
    vi.useFakeTimers();
    const retrier = createRetrier({ timeout: 1000, maxRetries: 2, clock: { now: () => 0 } });
    const seen: AttemptContext[] = [];
    const call = settleReason(retrier.run(untilAborted(seen)));
    await vi.advanceTimersByTimeAsync(1000);
    const error = await call;
    expect(error.reason).toBe('timeout');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.signal.reason).toBeInstanceOf(RetryDeadlineError);
  });

  // A wait that would end after the deadline, and a deadline measured across attempts that
  // ignore their signal: test/portable-cases.ts (run here by test/portable.test.ts).

  it('never aborts a signal after its attempt succeeded (cockatiel #72)', async () => {
    vi.useFakeTimers();
    const retrier = createRetrier({ timeout: 1000, attemptTimeout: 500 });
    let kept: AbortSignal | undefined;
    await retrier.run(({ signal }) => {
      kept = signal;
      return 'body still readable';
    });
    await vi.advanceTimersByTimeAsync(5000);
    expect(kept?.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the per-attempt timeout (attemptTimeout)', () => {
  it('aborts each attempt, retries it as temporary, and reports the scope', async () => {
    vi.useFakeTimers();
    const seen: AttemptContext[] = [];
    const retrier = createRetrier({
      attemptTimeout: 100,
      maxRetries: 2,
      interval: 10,
      jitter: 0,
      // The registry would refuse these errors: a timed-out attempt is temporary regardless.
      registry: { isTemporary: () => false },
    });
    const call = settleReason(retrier.run(untilAborted(seen)));
    await vi.advanceTimersByTimeAsync(100 + 10 + 100 + 20 + 100);
    const error = await call;
    expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3]);
    for (const context of seen) {
      expect((context.signal.reason as RetryDeadlineError).scope).toBe('attempt');
    }
    expect(error.reason).toBe('exhausted');
    expect(error.attempts).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('counts an attempt that ran past it without reading the signal as temporary', async () => {
    const time = createFakeTime();
    const retrier = createRetrier({
      attemptTimeout: 100,
      registry: { isTemporary: () => false },
      clock: time.clock,
      sleep: time.sleep,
    });
    let calls = 0;
    const result = await retrier.run(async () => {
      calls++;
      if (calls === 1) {
        time.advance(150);
        throw new Error('slow');
      }
      return 'fast';
    });
    expect(result).toBe('fast');
    const quick = await settleReason(retrier.run(() => Promise.reject(new Error('quick'))));
    expect(quick.reason).toBe('non-retryable');
  });

  it('is cut to the time left before the total deadline', async () => {
    vi.useFakeTimers();
    const seen: AttemptContext[] = [];
    const retrier = createRetrier({ timeout: 150, attemptTimeout: 100, interval: 10, jitter: 0 });
    const call = settleReason(retrier.run(untilAborted(seen)));
    await vi.advanceTimersByTimeAsync(150);
    const error = await call;
    expect((seen[0]!.signal.reason as RetryDeadlineError).scope).toBe('attempt');
    expect((seen[1]!.signal.reason as RetryDeadlineError).scope).toBe('total');
    expect(error.reason).toBe('timeout');
  });
});

describe('the per-call attemptTimeout (call option)', () => {
  it('replaces the retrier option for that call only, with exact timings', async () => {
    vi.useFakeTimers();
    const seen: AttemptContext[] = [];
    const retrier = createRetrier({
      attemptTimeout: 1_000,
      maxRetries: 1,
      interval: 10,
      jitter: 0,
    });
    const started = Date.now();
    const call = retrier.settle(untilAborted(seen), { attemptTimeout: 40 });
    await vi.advanceTimersByTimeAsync(39);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen[0]!.signal.aborted).toBe(true);
    const reason = seen[0]!.signal.reason as RetryDeadlineError;
    expect(reason).toBeInstanceOf(RetryDeadlineError);
    expect(reason.code).toBe('ERR_RETRY_DEADLINE');
    expect(reason.scope).toBe('attempt');
    expect(reason.timeout).toBe(40);
    // Retried as temporary after the 10 ms wait; the second attempt gets the call's 40 ms too.
    await vi.advanceTimersByTimeAsync(10 + 40);
    const trace = await call;
    expect(trace.ok).toBe(false);
    expect(trace.timings.map((t) => t.duration)).toEqual([40, 40]);
    expect(Date.now() - started).toBe(90);
    expect(vi.getTimerCount()).toBe(0);

    // The next call without the option uses the retrier's own 1000 ms.
    const other: AttemptContext[] = [];
    const plain = retrier.settle(untilAborted(other));
    await vi.advanceTimersByTimeAsync(999);
    expect(other[0]!.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((other[0]!.signal.reason as RetryDeadlineError).timeout).toBe(1_000);
    await vi.advanceTimersByTimeAsync(10 + 1_000);
    await plain;
  });

  it('adds a per-attempt timeout to a retrier that has none, and Infinity removes one', async () => {
    vi.useFakeTimers();
    const untimed = createRetrier({ maxRetries: 0 });
    const seen: AttemptContext[] = [];
    const call = settleReason(untimed.run(untilAborted(seen), { attemptTimeout: 25 }));
    await vi.advanceTimersByTimeAsync(25);
    const error = await call;
    expect(error.reason).toBe('exhausted');
    expect((error.cause as RetryDeadlineError).scope).toBe('attempt');

    const timed = createRetrier({ attemptTimeout: 25, maxRetries: 0 });
    let release!: () => void;
    const unbounded = timed.run(
      ({ signal }) =>
        new Promise<boolean>((resolve) => {
          release = () => resolve(signal.aborted);
        }),
      { attemptTimeout: Number.POSITIVE_INFINITY },
    );
    await vi.advanceTimersByTimeAsync(10_000);
    release();
    expect(await unbounded).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('counts an attempt that ran past it as temporary, with the injected clock', async () => {
    const time = createFakeTime();
    const retrier = createRetrier({
      registry: { isTemporary: () => false },
      clock: time.clock,
      sleep: time.sleep,
    });
    let calls = 0;
    const result = await retrier.run(
      async () => {
        calls++;
        if (calls === 1) {
          time.advance(60);
          throw new Error('slow');
        }
        return 'fast';
      },
      { attemptTimeout: 50 },
    );
    expect(result).toBe('fast');
    expect(calls).toBe(2);
    // Without the call option the same slow failure is not retried (the registry refuses it).
    calls = 0;
    const error = await settleReason(
      retrier.run(async () => {
        calls++;
        time.advance(60);
        throw new Error('slow');
      }),
    );
    expect(error.reason).toBe('non-retryable');
    expect(calls).toBe(1);
  });

  it('is still cut to the time left before the total deadline', async () => {
    vi.useFakeTimers();
    const seen: AttemptContext[] = [];
    const retrier = createRetrier({ timeout: 150, interval: 10, jitter: 0 });
    const call = settleReason(retrier.run(untilAborted(seen), { attemptTimeout: 100 }));
    await vi.advanceTimersByTimeAsync(150);
    const error = await call;
    expect((seen[0]!.signal.reason as RetryDeadlineError).scope).toBe('attempt');
    expect((seen[1]!.signal.reason as RetryDeadlineError).scope).toBe('total');
    expect(error.reason).toBe('timeout');
  });
});

describe('laziness: nothing allocated for attempts that never read their signal', () => {
  it('creates no AbortController and no timer', async () => {
    vi.useFakeTimers();
    const Original = globalThis.AbortController;
    let created = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        created++;
      }
    };
    try {
      const retrier = createRetrier({ timeout: 5000, attemptTimeout: 1000 });
      const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
      await retrier.run(async () => 'no signal read');
      await retrier.run(async ({ attempt }) => attempt);
      expect(created).toBe(0);
      expect(setTimeoutSpy).not.toHaveBeenCalled();
      await retrier.run(async ({ signal }) => signal.aborted);
      expect(created).toBe(1);
    } finally {
      globalThis.AbortController = Original;
    }
  });

  it('a signal read after the attempt settled is inert', async () => {
    const retrier = createRetrier();
    let stored: AttemptContext | undefined;
    await retrier.run((context) => {
      stored = context;
      return 1;
    });
    const late = stored?.signal;
    await flush();
    retrier.cancel();
    expect(late?.aborted).toBe(false);
    expect(activeCount(retrier)).toBe(0);
  });

  it('a signal first read after an await is still linked, and released when the attempt ends', async () => {
    const retrier = createRetrier();
    let late: AbortSignal | undefined;
    const call = retrier.run(async (context) => {
      await flush();
      late = context.signal;
      await flush();
      return 'ok';
    });
    await flush(3);
    await expect(call).resolves.toBe('ok');
    expect(late?.aborted).toBe(false);
    expect(activeCount(retrier)).toBe(0);

    const second = retrier.run(async (context) => {
      await flush();
      return new Promise((_, reject) => {
        context.signal.addEventListener('abort', () => reject(context.signal.reason));
      });
    });
    await flush(30);
    expect(activeCount(retrier)).toBe(1);
    retrier.cancel();
    expect((await settleReason(second)).reason).toBe('stopped');
  });
});

describe('zero-delay retries', () => {
  it('never call setTimeout; a few run back to back, like a bare loop', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const retrier = createRetrier({ interval: 0, jitter: 0, maxRetries: 3 });
    let immediate = false;
    setImmediate(() => {
      immediate = true;
    });
    await retrier.run(async ({ attempt }) => {
      if (attempt < 4) throw new Error('again');
      return 'done';
    });
    expect(setTimeoutSpy).not.toHaveBeenCalled();
    expect(immediate).toBe(false);
  });

  it('yield a whole event-loop turn every 8th time in a row, so an endless loop cannot starve it', async () => {
    const retrier = createRetrier({ interval: 0, maxRetries: Number.POSITIVE_INFINITY });
    let immediates = 0;
    const seenAt: number[] = [];
    const tick = (): void => {
      immediates++;
      if (immediates < 3) setImmediate(tick);
    };
    setImmediate(tick);
    await retrier.run(async ({ attempt }) => {
      seenAt.push(immediates);
      if (attempt < 25) throw new Error('again');
      return 'done';
    });
    // Attempts 1–8 run before the first turn, 9–16 before the second, and so on.
    expect(seenAt.slice(0, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(seenAt[8]).toBe(1);
    expect(seenAt[16]).toBe(2);
    expect(seenAt[24]).toBe(3);
  });
});

describe('reasons, precedence', () => {
  it.each<[string, RetryReason]>([
    ['stopped', 'stopped'],
    ['aborted', 'aborted'],
  ])(
    'a %s call wins over a non-retryable error thrown by the aborted attempt',
    async (kind, reason) => {
      const retrier = createRetrier({ registry: { isTemporary: () => false } });
      const controller = new AbortController();
      const call = retrier.run(
        ({ signal }) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => reject(new TypeError('aborted fetch')));
          }),
        { signal: controller.signal },
      );
      await flush();
      if (kind === 'stopped') retrier.cancel();
      else controller.abort();
      expect((await settleReason(call)).reason).toBe(reason);
    },
  );

  it.each<[string, RetryReason]>([
    ['stopped', 'stopped'],
    ['aborted', 'aborted'],
  ])(
    'a call %s while an async shouldRetry ran announces no retry and takes no budget token',
    async (kind, reason) => {
      const budget = createRetryBudget({ tokens: 5 });
      const onRetry = vi.fn();
      const retrier = createRetrier({ budget, interval: 10, jitter: 0, hooks: { onRetry } });
      const controller = new AbortController();
      const shouldRetry = async (): Promise<boolean> => {
        if (kind === 'stopped') retrier.cancel();
        else controller.abort();
        return true;
      };
      const fn = vi.fn(() => Promise.reject(new Error('down')));
      const call = retrier.run(fn, { signal: controller.signal, shouldRetry });
      const error = await settleReason(call);
      expect(error.reason).toBe(reason);
      expect(error.attempts).toBe(1);
      expect(fn).toHaveBeenCalledTimes(1);
      expect(onRetry).not.toHaveBeenCalled();
      expect(budget.available).toBe(5);
    },
  );
});

describe('ctx.signal and cancel(), whichever way the call was made', () => {
  type Call = (
    retrier: Retrier,
    fn: (context: AttemptContext) => Promise<number>,
  ) => Promise<unknown>;
  const calls: [string, Call][] = [
    ['run', (r, fn) => r.run(fn)],
    ['run with options', (r, fn) => r.run(fn, { hooks: {} })],
    ['settle', (r, fn) => r.settle(fn)],
    ['runUntil', (r, fn) => r.runUntil(fn, () => true)],
  ];

  it.each(calls)('%s: a signal read during the attempt aborts on cancel()', async (_n, call) => {
    const retrier = createRetrier({ interval: 0 });
    const seen: AttemptContext[] = [];
    const outcome = call(retrier, untilAborted(seen)).catch((e: unknown) => e);
    await flush();
    retrier.cancel();
    await outcome;
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(seen[0]?.signal.reason).toBeInstanceOf(RetryCancelledError);
  });

  it.each(calls)('%s: a context first read after cancel() reports it', async (_n, call) => {
    const retrier = createRetrier({ interval: 0 });
    const kept: AttemptContext[] = [];
    await call(retrier, async (context) => {
      kept.push(context);
      if (kept.length === 1) throw new Error('retry once');
      return 1;
    });
    retrier.cancel();
    expect(kept.map((context) => context.signal.aborted)).toEqual([true, true]);
  });
});

describe('unref', () => {
  function recordTimers(): ReturnType<typeof setTimeout>[] {
    const handles: ReturnType<typeof setTimeout>[] = [];
    const original = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
      const handle = original(callback, ms);
      handles.push(handle);
      return handle;
    }) as typeof setTimeout);
    return handles;
  }

  it.each([
    [true, false],
    [false, true],
  ])('unref: %s → the wait between attempts holds the process: %s', async (unref, holds) => {
    const handles = recordTimers();
    const retrier = createRetrier({ interval: 60_000, jitter: 0, unref });
    const call = retrier.run(() => Promise.reject(new Error('503'))).catch((e: unknown) => e);
    await flush();
    expect(handles).toHaveLength(1);
    expect(handles[0]?.hasRef()).toBe(holds);
    retrier.cancel();
    expect(((await call) as RetryError).reason).toBe('stopped');
  });

  it('is validated', () => {
    expect(() => createRetrier({ unref: 'yes' as never })).toThrow(/"unref": expected a boolean/);
  });
});
