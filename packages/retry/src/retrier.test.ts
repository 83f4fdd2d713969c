import { describe, expect, it, vi } from 'vitest';
import { RetryError, RetryOptionsError, RetryResultError, RetryStopError } from './errors.js';
import { createRetrier } from './retrier.js';
import { withRetryAfter } from './retry-after.js';
import { createFakeTime } from './test-utils/fake-time.js';
import type { AttemptContext } from './types.js';

/** A retrier with instant, recorded waits and fixed jitter. */
function fakeRetrier(options: Parameters<typeof createRetrier>[0] = {}) {
  const time = createFakeTime();
  const retrier = createRetrier({
    interval: 100,
    jitter: 0,
    clock: time.clock,
    sleep: time.sleep,
    ...options,
  });
  return { retrier, time };
}

/** fn that fails `failures` times with the given errors, then returns `value`. */
function flaky<T>(failures: number, value: T, makeError = (n: number) => new Error(`fail ${n}`)) {
  const seen: AttemptContext[] = [];
  const fn = async (context: AttemptContext): Promise<T> => {
    seen.push(context);
    if (seen.length <= failures) throw makeError(seen.length);
    return value;
  };
  return { fn, seen };
}

async function rejection(promise: Promise<unknown>): Promise<RetryError> {
  const error = await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RetryError);
  return error as RetryError;
}

describe('run', () => {
  it('returns the first successful value and gives fn { signal, attempt }', async () => {
    const { retrier } = fakeRetrier();
    const { fn, seen } = flaky(0, 42);
    await expect(retrier.run(fn)).resolves.toBe(42);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.attempt).toBe(1);
    expect(seen[0]?.signal).toBeInstanceOf(AbortSignal);
    expect(seen[0]?.signal.aborted).toBe(false);
  });

  it('accepts synchronous functions, values and throws alike', async () => {
    const { retrier } = fakeRetrier();
    await expect(retrier.run(() => 'sync')).resolves.toBe('sync');
    let n = 0;
    await expect(
      retrier.run(() => {
        n++;
        if (n < 3) throw new Error('sync throw');
        return n;
      }),
    ).resolves.toBe(3);
  });

  it('accepts thenables', async () => {
    const { retrier } = fakeRetrier();
    // biome-ignore lint/suspicious/noThenProperty: a thenable is exactly what is tested here.
    const thenable = { then: (resolve: (v: string) => void) => resolve('then') };
    await expect(retrier.run(() => thenable as PromiseLike<string>)).resolves.toBe('then');
  });

  it('retries until success, numbering attempts from 1', async () => {
    const { retrier, time } = fakeRetrier();
    const { fn, seen } = flaky(2, 'ok');
    await expect(retrier.run(fn)).resolves.toBe('ok');
    expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(time.delays).toEqual([100, 200]);
  });

  it.each([
    [0, 1],
    [1, 2],
    [3, 4],
  ])('maxRetries %i means %i attempts (retries after the first)', async (maxRetries, calls) => {
    const { retrier } = fakeRetrier({ maxRetries });
    const { fn, seen } = flaky(100, 'never');
    const error = await rejection(retrier.run(fn));
    expect(seen).toHaveLength(calls);
    expect(error.attempts).toBe(calls);
  });

  it('throws a RetryError with every attempt error, the last as cause (W2 fixed)', async () => {
    const { retrier } = fakeRetrier({ maxRetries: 2 });
    const errors = [new Error('a'), new Error('b'), new Error('c')];
    let i = 0;
    const error = await rejection(
      retrier.run(() => {
        throw errors[i++];
      }),
    );
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.name).toBe('RetryError');
    expect(error.reason).toBe('exhausted');
    expect(error.code).toBe('ERR_RETRY_EXHAUSTED');
    expect(error.errors).toEqual(errors);
    expect(error.errors[2]).toBe(errors[2]);
    expect(error.cause).toBe(errors[2]);
    expect(error.attempts).toBe(3);
    expect(error.budgetExhausted).toBe(false);
    expect(error.message).toContain('3 attempts');
  });

  it('retries on the fast path too (no options at all, real zero-delay waits)', async () => {
    const retrier = createRetrier({ interval: 0, jitter: 0 });
    const { fn, seen } = flaky(3, 'done');
    await expect(retrier.run(fn)).resolves.toBe('done');
    expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    const sync = await rejection(
      createRetrier({ interval: 0, jitter: 0, maxRetries: 1 }).run(() => {
        throw new Error('sync');
      }),
    );
    expect(sync.attempts).toBe(2);
  });

  it('rejects (never throws synchronously) when fn is not a function', async () => {
    const { retrier } = fakeRetrier();
    for (const call of [
      () => retrier.run(42 as never),
      () => retrier.settle(null as never),
      () => retrier.runUntil('x' as never, () => true),
      () => createRetrier().run(undefined as never),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryOptionsError);
      expect((error as RetryOptionsError).option).toBe('fn');
    }
  });

  it.each([
    ['signal', { signal: {} }, 'callOptions.signal'],
    ['retryOn', { retryOn: 'ECONNRESET' }, 'callOptions.retryOn'],
    ['registry', { registry: {} }, 'callOptions.registry'],
    ['shouldRetry', { shouldRetry: 'yes' }, 'callOptions.shouldRetry'],
    ['accept', { accept: true }, 'callOptions.accept'],
    ['hooks', { hooks: { onRetry: 1 } }, 'callOptions.hooks.onRetry'],
    ['attemptTimeout 0', { attemptTimeout: 0 }, 'callOptions.attemptTimeout'],
    ['attemptTimeout negative', { attemptTimeout: -5 }, 'callOptions.attemptTimeout'],
    ['attemptTimeout NaN', { attemptTimeout: Number.NaN }, 'callOptions.attemptTimeout'],
    ['attemptTimeout string', { attemptTimeout: '100' }, 'callOptions.attemptTimeout'],
    ['unknown', { retries: 2 }, 'callOptions.retries'],
    ['not an object', 'fast', 'callOptions'],
  ])('rejects invalid call option %s', async (_name, callOptions, option) => {
    const { retrier } = fakeRetrier();
    let ran = false;
    const error = await retrier
      .run(() => {
        ran = true;
      }, callOptions as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryOptionsError);
    expect((error as RetryOptionsError).option).toBe(option);
    expect(ran).toBe(false);
  });
});

describe('which errors are retried', () => {
  class Transient extends Error {}
  class Fatal extends Error {}
  const SENTINEL = new Error('sentinel');

  it('retries every error when there is no list and no registry (go-again rule)', async () => {
    const { retrier } = fakeRetrier();
    const { fn, seen } = flaky(2, 'ok', () => new TypeError('anything'));
    await expect(retrier.run(fn)).resolves.toBe('ok');
    expect(seen).toHaveLength(3);
  });

  it('asks the retrier registry when the call has no list', async () => {
    const isTemporary = vi.fn((e: unknown) => e instanceof Transient);
    const { retrier } = fakeRetrier({ registry: { isTemporary } });
    await expect(retrier.run(flaky(2, 'ok', () => new Transient()).fn)).resolves.toBe('ok');
    const { fn, seen } = flaky(5, 'no', () => new Fatal('bad input'));
    const error = await rejection(retrier.run(fn));
    expect(error.reason).toBe('non-retryable');
    expect(error.code).toBe('ERR_RETRY_NON_RETRYABLE');
    expect(error.attempts).toBe(1);
    expect(seen).toHaveLength(1);
    expect(error.cause).toBeInstanceOf(Fatal);
    expect(isTemporary).toHaveBeenCalledWith(error.cause);
  });

  it("a call's registry replaces the retrier's", async () => {
    const { retrier } = fakeRetrier({ registry: { isTemporary: () => false } });
    const result = retrier.run(flaky(1, 'ok').fn, { registry: { isTemporary: () => true } });
    await expect(result).resolves.toBe('ok');
  });

  it('an explicit retryOn list replaces the registry (instances, classes, codes, causes)', async () => {
    const { retrier } = fakeRetrier({ registry: { isTemporary: () => false } });
    const retryOn = [SENTINEL, Transient, 'ECONNRESET'];
    const errors = [
      SENTINEL,
      new Transient(),
      Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      new Error('wrapped', { cause: SENTINEL }),
    ];
    let i = 0;
    const run = retrier.run(
      async () => {
        if (i < errors.length) throw errors[i++];
        return 'through';
      },
      { retryOn },
    );
    await expect(run).resolves.toBe('through');
    const error = await rejection(
      retrier.run(() => Promise.reject(new Fatal()), { retryOn: [Transient] }),
    );
    expect(error.reason).toBe('non-retryable');
  });

  it('an empty retryOn list means "no list"', async () => {
    const { retrier } = fakeRetrier({ registry: { isTemporary: () => false } });
    const error = await rejection(retrier.run(flaky(1, 'ok').fn, { retryOn: [] }));
    expect(error.reason).toBe('non-retryable');
  });

  it('shouldRetry has the last word, with attempt info, and may be async', async () => {
    const shouldRetry = vi.fn(async (_e: unknown, info: { attempt: number }) => info.attempt < 2);
    const { retrier } = fakeRetrier({ shouldRetry, maxRetries: 5 });
    const error = await rejection(retrier.run(flaky(10, 'x').fn));
    expect(error.reason).toBe('non-retryable');
    expect(error.attempts).toBe(2);
    expect(shouldRetry.mock.calls.map((c) => c[1])).toEqual([
      { attempt: 1, retriesLeft: 5 },
      { attempt: 2, retriesLeft: 4 },
    ]);
  });

  it('shouldRetry only sees errors the list / registry allowed', async () => {
    const shouldRetry = vi.fn(() => true);
    const { retrier } = fakeRetrier({ shouldRetry, registry: { isTemporary: () => false } });
    await rejection(retrier.run(flaky(1, 'x').fn));
    expect(shouldRetry).not.toHaveBeenCalled();
  });

  it("a call's shouldRetry replaces the retrier's", async () => {
    const { retrier } = fakeRetrier({ shouldRetry: () => false });
    await expect(retrier.run(flaky(1, 'ok').fn, { shouldRetry: () => true })).resolves.toBe('ok');
  });

  it('a predicate or registry that throws means "do not retry", and is logged', async () => {
    const error = vi.fn();
    const { retrier } = fakeRetrier({
      logger: { error },
      shouldRetry: () => {
        throw new Error('predicate bug');
      },
    });
    expect((await rejection(retrier.run(flaky(1, 'x').fn))).reason).toBe('non-retryable');
    const broken = {
      isTemporary: () => {
        throw new Error('registry bug');
      },
    };
    const second = await rejection(retrier.run(flaky(1, 'x').fn, { registry: broken }));
    expect(second.reason).toBe('non-retryable');
    expect(error).toHaveBeenCalledTimes(2);
  });
});

describe('runUntil (result predicate)', () => {
  it('retries while accept returns false, and returns the accepted value', async () => {
    const { retrier, time } = fakeRetrier();
    let n = 0;
    const accept = vi.fn((value: number) => value >= 3);
    await expect(retrier.runUntil(async () => ++n, accept)).resolves.toBe(3);
    expect(accept.mock.calls).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(time.delays).toEqual([100, 200]);
  });

  it('records refused results as RetryResultError and retries them even if the registry says no', async () => {
    const { retrier } = fakeRetrier({ maxRetries: 2, registry: { isTemporary: () => false } });
    const error = await rejection(
      retrier.runUntil(
        async () => 'pending',
        async () => false,
      ),
    );
    expect(error.reason).toBe('exhausted');
    expect(error.attempts).toBe(3);
    for (const [i, e] of error.errors.entries()) {
      expect(e).toBeInstanceOf(RetryResultError);
      expect((e as RetryResultError).code).toBe('ERR_RETRY_RESULT_REJECTED');
      expect((e as RetryResultError).value).toBe('pending');
      expect((e as RetryResultError).attempt).toBe(i + 1);
    }
  });

  it('treats a throwing accept as a failed attempt', async () => {
    const { retrier } = fakeRetrier({ maxRetries: 1 });
    const bug = new Error('accept bug');
    const error = await rejection(
      retrier.runUntil(
        () => 1,
        () => {
          throw bug;
        },
      ),
    );
    expect(error.cause).toBe(bug);
  });

  it('still retries thrown errors by the usual rules', async () => {
    const { retrier } = fakeRetrier();
    await expect(retrier.runUntil(flaky(2, 'ready').fn, (v) => v === 'ready')).resolves.toBe(
      'ready',
    );
  });

  it('rejects a missing accept, or two of them', async () => {
    const { retrier } = fakeRetrier();
    const missing = await retrier.runUntil(() => 1, undefined as never).catch((e: unknown) => e);
    expect((missing as RetryOptionsError).option).toBe('accept');
    const twice = await retrier
      .runUntil(
        () => 1,
        () => true,
        { accept: () => true },
      )
      .catch((e: unknown) => e);
    expect(twice).toBeInstanceOf(RetryOptionsError);
    expect((twice as RetryOptionsError).option).toBe('callOptions.accept');
  });

  it('settle can take the result predicate as a call option', async () => {
    const { retrier } = fakeRetrier({ maxRetries: 1 });
    const trace = await retrier.settle(() => ({ status: 503 }), { accept: (r) => r.status < 500 });
    expect(trace.ok).toBe(false);
    expect(trace.last).toBeInstanceOf(RetryResultError);
    expect((trace.last as RetryResultError).value).toEqual({ status: 503 });
  });
});

describe('settle (trace)', () => {
  it('mirrors go-again Errors on success: attempts, last = undefined, join()', async () => {
    const { retrier, time } = fakeRetrier();
    const start = time.now();
    const trace = await retrier.settle(async ({ attempt }) => {
      time.advance(10);
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return 'value';
    });
    expect(trace.ok).toBe(true);
    if (!trace.ok) return;
    expect(trace.value).toBe('value');
    expect(trace.reason).toBeUndefined();
    expect(trace.error).toBeUndefined();
    expect(trace.last).toBeUndefined();
    expect(trace.attemptCount).toBe(3);
    expect(trace.attempts.map((e) => (e as Error).message)).toEqual(['fail 1', 'fail 2']);
    expect(trace.join()?.message).toBe('fail 1\nfail 2');
    expect(trace.join()?.errors).toEqual(trace.attempts);
    expect(trace.timings).toEqual([
      {
        attempt: 1,
        startedAt: start,
        duration: 10,
        delayBefore: 0,
        ok: false,
        error: trace.attempts[0],
      },
      {
        attempt: 2,
        startedAt: start + 110,
        duration: 10,
        delayBefore: 100,
        ok: false,
        error: trace.attempts[1],
      },
      {
        attempt: 3,
        startedAt: start + 320,
        duration: 10,
        delayBefore: 200,
        ok: true,
        error: undefined,
      },
    ]);
    expect(trace.elapsed).toBe(330);
    expect(Object.isFrozen(trace)).toBe(true);
    expect(Object.isFrozen(trace.attempts)).toBe(true);
  });

  it('reports failures without throwing', async () => {
    const { retrier } = fakeRetrier({ maxRetries: 1 });
    const trace = await retrier.settle(() => Promise.reject(new Error('nope')));
    expect(trace.ok).toBe(false);
    if (trace.ok) return;
    expect(trace.value).toBeUndefined();
    expect(trace.reason).toBe('exhausted');
    expect(trace.error).toBeInstanceOf(RetryError);
    expect(trace.error.code).toBe('ERR_RETRY_EXHAUSTED');
    expect((trace.last as Error).message).toBe('nope');
    expect(trace.attemptCount).toBe(2);
    expect(trace.join()).toBeInstanceOf(AggregateError);
  });

  it('join() is undefined when no attempt failed', async () => {
    const { retrier } = fakeRetrier();
    const trace = await retrier.settle(() => 1);
    expect(trace.join()).toBeUndefined();
    expect(trace.attempts).toEqual([]);
  });
});

describe('hooks', () => {
  it('fire onAttempt, onRetry (with the delay), onSuccess in order', async () => {
    const events: string[] = [];
    const { retrier } = fakeRetrier({
      maxRetries: 3,
      hooks: {
        onAttempt: ({ attempt }) => events.push(`attempt ${attempt}`),
        onRetry: ({ attempt, delay, retriesLeft, error }) =>
          events.push(
            `retry ${attempt} in ${delay} (${retriesLeft} left) ${(error as Error).message}`,
          ),
        onSuccess: ({ attempt, value }) => events.push(`success ${attempt} ${String(value)}`),
        onGiveUp: () => events.push('give up'),
      },
    });
    await retrier.run(flaky(2, 'v').fn);
    expect(events).toEqual([
      'attempt 1',
      'retry 1 in 100 (2 left) fail 1',
      'attempt 2',
      'retry 2 in 200 (1 left) fail 2',
      'attempt 3',
      'success 3 v',
    ]);
  });

  it('fire onGiveUp with the error, and not onRetry after the last attempt (like go-again)', async () => {
    const onRetry = vi.fn();
    const onGiveUp = vi.fn();
    const { retrier } = fakeRetrier({ maxRetries: 1, hooks: { onRetry, onGiveUp } });
    const error = await rejection(retrier.run(flaky(5, 'x').fn));
    expect(onRetry).toHaveBeenCalledTimes(1);
    expect(onGiveUp).toHaveBeenCalledWith({ reason: 'exhausted', error });
  });

  it('run call hooks after the retrier hooks', async () => {
    const order: string[] = [];
    const { retrier } = fakeRetrier({ hooks: { onSuccess: () => order.push('retrier') } });
    await retrier.run(() => 1, { hooks: { onSuccess: () => order.push('call') } });
    expect(order).toEqual(['retrier', 'call']);
  });

  it('a throwing or rejecting hook never breaks the loop; the logger hears about it', async () => {
    const error = vi.fn();
    const { retrier } = fakeRetrier({
      logger: { error },
      hooks: {
        onAttempt: () => {
          throw new Error('hook bug');
        },
        onRetry: async () => {
          throw new Error('async hook bug');
        },
      },
    });
    await expect(retrier.run(flaky(1, 'fine').fn)).resolves.toBe('fine');
    await Promise.resolve();
    expect(error).toHaveBeenCalledTimes(3);
    expect(error.mock.calls.map((c) => (c[1] as Error).message).sort()).toEqual([
      'async hook bug',
      'hook bug',
      'hook bug',
    ]);
  });

  it('without a logger, hook failures are swallowed', async () => {
    const { retrier } = fakeRetrier({
      hooks: {
        onSuccess: () => {
          throw new Error('ignored');
        },
      },
    });
    await expect(retrier.run(() => 'ok')).resolves.toBe('ok');
  });
});

describe('logger', () => {
  it('logs retries and give-ups at debug, keeping the logger as `this`', async () => {
    const lines: unknown[][] = [];
    const logger = {
      prefix: 'svc',
      debug(this: { prefix: string }, ...args: unknown[]) {
        lines.push([this.prefix, ...args]);
      },
    };
    const { retrier } = fakeRetrier({ maxRetries: 1, logger });
    await rejection(retrier.run(flaky(5, 'x').fn));
    expect(lines).toHaveLength(2);
    expect(lines[0]?.[0]).toBe('svc');
    expect(lines[0]?.[1]).toContain('retrying in 100 ms');
    expect(lines[1]?.[1]).toContain('giving up');
  });

  it('survives a logger that throws', async () => {
    const { retrier } = fakeRetrier({
      logger: {
        debug: () => {
          throw new Error('log sink down');
        },
      },
    });
    await expect(retrier.run(flaky(1, 'ok').fn)).resolves.toBe('ok');
  });
});

describe('Retry-After hints', () => {
  const limited = (ms: number | Date) => withRetryAfter(new Error('429'), ms);

  it('waits at least the hint', async () => {
    const { retrier, time } = fakeRetrier();
    await retrier.run(flaky(2, 'ok', () => limited(1500)).fn);
    expect(time.delays).toEqual([1500, 1500]);
  });

  it('keeps the backoff when it is longer than the hint', async () => {
    const { retrier, time } = fakeRetrier({ interval: 1000 });
    await retrier.run(flaky(2, 'ok', () => limited(10)).fn);
    expect(time.delays).toEqual([1000, 2000]);
  });

  it('caps the hint at maxRetryAfter', async () => {
    const { retrier, time } = fakeRetrier({ maxRetryAfter: 5000 });
    await retrier.run(flaky(1, 'ok', () => limited(3_600_000)).fn);
    expect(time.delays).toEqual([5000]);
  });

  it('turns a Date hint into a delay with the injected clock', async () => {
    const { retrier, time } = fakeRetrier();
    await retrier.run(flaky(1, 'ok', () => limited(new Date(time.now() + 2500))).fn);
    expect(time.delays).toEqual([2500]);
  });

  it('reads the hint from the cause chain', async () => {
    const { retrier, time } = fakeRetrier();
    await retrier.run(flaky(1, 'ok', () => new Error('wrapped', { cause: limited(900) })).fn);
    expect(time.delays).toEqual([900]);
  });

  it('gives up at once with reason timeout when the hint exceeds the time left', async () => {
    const { retrier, time } = fakeRetrier({ timeout: 10_000 });
    const { fn, seen } = flaky(5, 'x', () => limited(30_000));
    const error = await rejection(retrier.run(fn));
    expect(error.reason).toBe('timeout');
    expect(error.code).toBe('ERR_RETRY_TIMEOUT');
    expect(seen).toHaveLength(1);
    expect(time.delays).toEqual([]);
    expect((error.cause as Error).message).toBe('429');
  });

  it('caps the hint at maxRetryAfter before comparing it with the time left', async () => {
    // A one-hour hint, maxRetryAfter 60 s, a two-minute deadline: wait 60 s, then retry.
    const { retrier, time } = fakeRetrier({ timeout: 120_000, maxRetryAfter: 60_000 });
    const { fn, seen } = flaky(1, 'ok', () => limited(3_600_000));
    await expect(retrier.run(fn)).resolves.toBe('ok');
    expect(time.delays).toEqual([60_000]);
    expect(seen).toHaveLength(2);
  });

  it('still gives up when even the capped hint does not fit', async () => {
    const { retrier, time } = fakeRetrier({ timeout: 30_000, maxRetryAfter: 60_000 });
    const error = await rejection(retrier.run(flaky(1, 'ok', () => limited(3_600_000)).fn));
    expect(error.reason).toBe('timeout');
    expect(time.delays).toEqual([]);
  });

  /** Slack's WebAPIRateLimitedError (@slack/web-api): `retryAfter` in seconds. */
  class WebAPIRateLimitedError extends Error {
    readonly code = 'slack_webapi_rate_limited_error';
    readonly retryAfter: number;
    constructor(retryAfter: number) {
      super(`A rate limit was exceeded (retry after ${retryAfter}s)`);
      this.retryAfter = retryAfter;
    }
  }

  it.each([
    [
      "Slack's rate-limit error: retryAfter in seconds",
      () => new WebAPIRateLimitedError(30),
      30_000,
    ],
    [
      'a fractional number of seconds',
      () => Object.assign(new Error('429'), { retryAfter: 1.5 }),
      1500,
    ],
    [
      'retryAfterMs in milliseconds',
      () => Object.assign(new Error('429'), { retryAfterMs: 250 }),
      250,
    ],
    [
      'retryAfterMs wins over retryAfter',
      () => Object.assign(new Error('429'), { retryAfter: 9, retryAfterMs: 250 }),
      250,
    ],
    ['withRetryAfter(error, ms) in milliseconds', () => withRetryAfter(new Error('429'), 700), 700],
    [
      'seconds on a wrapped cause',
      () => new Error('request failed', { cause: new WebAPIRateLimitedError(2) }),
      2000,
    ],
  ])('reads %s', async (_name, makeError, expected) => {
    const { retrier, time } = fakeRetrier({ interval: 1 });
    await retrier.run(flaky(1, 'ok', makeError).fn);
    expect(time.delays).toEqual([expected]);
  });
});

describe('hooks given as a class instance', () => {
  class Metrics {
    readonly seen: string[] = [];
    readonly label = 'metrics';
    onAttempt({ attempt }: { attempt: number }): void {
      this.seen.push(`${this.label} attempt ${attempt}`);
    }
    onRetry({ attempt }: { attempt: number }): void {
      this.seen.push(`${this.label} retry ${attempt}`);
    }
    onGiveUp(): void {
      this.seen.push(`${this.label} give up`);
    }
  }

  it('calls prototype methods with their this, on the retrier and on a call', async () => {
    const retrierHooks = new Metrics();
    const callHooks = new Metrics();
    const { retrier } = fakeRetrier({ maxRetries: 1, hooks: retrierHooks });
    await rejection(retrier.run(flaky(5, 'x').fn, { hooks: callHooks }));
    const expected = [
      'metrics attempt 1',
      'metrics retry 1',
      'metrics attempt 2',
      'metrics give up',
    ];
    expect(retrierHooks.seen).toEqual(expected);
    expect(callHooks.seen).toEqual(expected);
  });

  it('calls method shorthand on a plain object with that object as this, and still refuses typos there', async () => {
    const receivers: unknown[] = [];
    const hooks = {
      onRetry(this: unknown) {
        receivers.push(this);
      },
    };
    const { retrier } = fakeRetrier({ hooks });
    await retrier.run(flaky(2, 'ok').fn);
    expect(receivers).toEqual([hooks, hooks]);
    expect(receivers[0]).toBe(hooks);
    let error: unknown;
    try {
      createRetrier({ hooks: { onRetri: () => {} } as never });
    } catch (e) {
      error = e;
    }
    expect((error as RetryOptionsError).option).toBe('hooks.onRetri');
  });
});

describe('RetryStopError: stop from inside an attempt', () => {
  it('gives up at once with the wrapped error, without asking the rules or calling onRetry', async () => {
    const onRetry = vi.fn();
    const onGiveUp = vi.fn();
    const shouldRetry = vi.fn(() => true);
    const { retrier, time } = fakeRetrier({ shouldRetry, hooks: { onRetry, onGiveUp } });
    const denied = new Error('401 unauthorized');
    const { fn, seen } = flaky(5, 'x', (n) =>
      n === 2 ? new RetryStopError(denied) : new Error('503'),
    );
    const error = await rejection(retrier.run(fn));
    expect(error.reason).toBe('non-retryable');
    expect(error.code).toBe('ERR_RETRY_NON_RETRYABLE');
    expect(error.cause).toBe(denied);
    expect(error.errors).toHaveLength(2);
    expect(error.errors[1]).toBe(denied);
    expect(seen).toHaveLength(2);
    expect(time.delays).toEqual([100]);
    expect(shouldRetry).toHaveBeenCalledTimes(1);
    expect(onRetry).toHaveBeenCalledTimes(1);
    expect(onGiveUp).toHaveBeenCalledOnce();
  });

  it('works on the fast path, from a sync throw, in settle and from accept', async () => {
    const retrier = createRetrier({ interval: 0 });
    const stop = new RetryStopError('no such user');
    const fast = await rejection(retrier.run(() => Promise.reject(stop)));
    expect(fast.reason).toBe('non-retryable');
    expect((fast.cause as Error).message).toBe('no such user');
    const sync = await rejection(
      retrier.run(() => {
        throw new RetryStopError();
      }),
    );
    expect(sync.cause).toBeInstanceOf(RetryStopError);
    expect((sync.cause as RetryStopError).code).toBe('ERR_RETRY_STOP');
    const trace = await retrier.settle(() => Promise.reject(stop));
    expect(trace.ok ? undefined : trace.reason).toBe('non-retryable');
    expect(trace.attemptCount).toBe(1);
    const accepted = await rejection(
      retrier.runUntil(
        () => 1,
        () => {
          throw new RetryStopError(new Error('giving up on polling'));
        },
      ),
    );
    expect(accepted.reason).toBe('non-retryable');
    expect(accepted.attempts).toBe(1);
  });
});

describe('per-call maxRetries, timeout and attemptTimeout', () => {
  it('maxRetries replaces the retrier’s for one call', async () => {
    const { retrier } = fakeRetrier({ maxRetries: 5 });
    const one = flaky(9, 'x');
    expect((await rejection(retrier.run(one.fn, { maxRetries: 1 }))).attempts).toBe(2);
    const zero = flaky(9, 'x');
    expect(
      (
        await rejection(
          retrier.settle(zero.fn, { maxRetries: 0 }).then((t) => Promise.reject(t.error)),
        )
      ).attempts,
    ).toBe(1);
    const many = flaky(7, 'ok');
    await expect(
      retrier.runUntil(many.fn, () => true, { maxRetries: Number.POSITIVE_INFINITY }),
    ).resolves.toBe('ok');
  });

  it('timeout replaces the retrier’s for one call', async () => {
    const { retrier, time } = fakeRetrier({ interval: 1000, maxRetries: 10 });
    const error = await rejection(retrier.run(flaky(9, 'x').fn, { timeout: 2500 }));
    expect(error.reason).toBe('timeout');
    // 1000 fits in 2500, then 2000 more would end at 3000: not started.
    expect(time.delays).toEqual([1000]);
    const { retrier: bounded } = fakeRetrier({ interval: 1000, timeout: 1500 });
    await expect(
      bounded.run(flaky(2, 'ok').fn, { timeout: Number.POSITIVE_INFINITY }),
    ).resolves.toBe('ok');
  });

  it.each([
    ['maxRetries', -1],
    ['maxRetries', 1.5],
    ['timeout', 0],
    ['timeout', Number.NaN],
    ['attemptTimeout', -5],
  ])('rejects callOptions.%s = %o with RetryOptionsError', async (option, value) => {
    const error = await createRetrier()
      .run(() => 1, { [option]: value })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryOptionsError);
    expect((error as RetryOptionsError).option).toBe(`callOptions.${option}`);
  });
});

describe('a clock, random or budget that throws', () => {
  const broken = (): never => {
    throw new Error('broken collaborator');
  };

  it.each([
    ['clock (with a timeout, on the fast path)', { clock: { now: broken }, timeout: 1000 }, {}],
    ['clock (on settle)', { clock: { now: broken } }, { settle: true }],
    ['random', { random: broken, interval: 1, jitter: 5 }, {}],
    ['budget.tryAcquire', { budget: { tryAcquire: broken, recordSuccess: () => {} } }, {}],
    [
      'budget.recordSuccess',
      { budget: { tryAcquire: () => true, recordSuccess: broken } },
      { succeed: true },
    ],
  ] as [string, object, { settle?: boolean; succeed?: boolean }][])(
    '%s: a rejected RetryError, never a synchronous throw',
    async (_name, options, how) => {
      const onGiveUp = vi.fn();
      const retrier = createRetrier({ interval: 0, ...options, hooks: { onGiveUp } } as never);
      const fn = how.succeed ? () => 1 : () => Promise.reject(new Error('503'));
      let outcome: Promise<unknown> | undefined;
      expect(() => {
        outcome = how.settle
          ? retrier.settle(fn).then((t) => (t.ok ? t : Promise.reject(t.error)))
          : retrier.run(fn);
      }).not.toThrow();
      const error = await rejection(outcome as Promise<unknown>);
      expect(error.reason).toBe('non-retryable');
      expect((error.cause as Error).message).toBe('broken collaborator');
      expect(onGiveUp).toHaveBeenCalledOnce();
    },
  );
});
