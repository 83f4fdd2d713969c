/**
 * The retry suite's portable cases: backoff, jitter bounds, abort, timeout, sleep and Retry-After
 * parsing, written once against the public API with no vitest and no Node-only import, so the
 * same cases run in Node (`portable.test.ts`) and, bundled by esbuild, in a headless Chromium
 * page and in a Web Worker there (`browser.test.ts`).
 *
 * Timing cases use the retrier's injected clock and sleep. The few that prove the platform's own
 * timers and `AbortSignal`s work with the built-in `sleep` use real timers of a few milliseconds
 * and assert outcomes only, never durations.
 *
 * @module
 */
import {
  createRetrier,
  getRetryAfter,
  parseRetryAfter,
  type RetrierOptions,
  RetryCancelledError,
  RetryDeadlineError,
  RetryError,
  type RetryErrorCode,
  RetryOptionsError,
  type RetryReason,
  retry,
  sleep,
  withRetryAfter,
} from '../src/index.js';
import { createFakeTime } from '../src/test-utils/fake-time.js';

/** One case: a name and a function that throws (or rejects) when the case fails. */
export interface PortableCase {
  readonly name: string;
  readonly run: () => unknown;
}

/** What a runner reports for one case. */
export interface CaseResult {
  readonly name: string;
  readonly ok: boolean;
  /** Why it failed (`undefined` when it passed). */
  readonly error: string | undefined;
}

// ---- assertions -------------------------------------------------------------------------------

class CaseFailure extends Error {
  override readonly name = 'CaseFailure';
}

function show(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return String(value);
}

/** Fails unless `actual` equals `expected` (numbers by `Object.is`, arrays element by element). */
function equal(actual: unknown, expected: unknown, what: string): void {
  const same =
    Array.isArray(actual) && Array.isArray(expected)
      ? actual.length === expected.length && actual.every((v, i) => Object.is(v, expected[i]))
      : Object.is(actual, expected);
  if (!same) throw new CaseFailure(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new CaseFailure(what);
}

/** The rejection reason of `promise`; fails when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new CaseFailure(`expected a rejection, got the value ${show(value)}`);
    },
    (error: unknown) => error,
  );
}

/** The error `fn` throws; fails when it returns. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new CaseFailure('expected a throw');
}

/** Fails unless `error` is a RetryError with this reason and code. */
function retryError(error: unknown, reason: RetryReason, code: RetryErrorCode): RetryError {
  check(error instanceof RetryError, `expected a RetryError, got ${show(error)}`);
  const e = error as RetryError;
  check(e instanceof AggregateError, 'RetryError is an AggregateError');
  equal(e.reason, reason, 'reason');
  equal(e.code, code, 'code');
  return e;
}

function optionsError(error: unknown, option: string): void {
  check(error instanceof RetryOptionsError, `expected a RetryOptionsError, got ${show(error)}`);
  equal((error as RetryOptionsError).code, 'ERR_RETRY_OPTIONS', 'code');
  equal((error as RetryOptionsError).option, option, 'option');
}

// ---- helpers ----------------------------------------------------------------------------------

const down = (): never => {
  throw new Error('down');
};

/** An attempt that waits until its signal aborts, then rejects with the abort reason. */
function untilAborted(seen: AbortSignal[]) {
  return ({ signal }: { signal: AbortSignal }): Promise<never> => {
    seen.push(signal);
    return new Promise((_, reject) => onAbort(signal, () => reject(signal.reason)));
  };
}

/**
 * Runs `then` when `signal` aborts, or now if it already has: on a busy machine a few-millisecond
 * deadline can pass before the attempt reads its signal, which then arrives aborted.
 */
function onAbort(signal: AbortSignal, then: () => void): void {
  if (signal.aborted) then();
  else signal.addEventListener('abort', then, { once: true });
}

/** The delays a retrier with injected time and a fixed random waits for `calls` failing calls. */
async function delaysOf(options: RetrierOptions, r: number, calls = 1): Promise<number[]> {
  const time = createFakeTime();
  const retrier = createRetrier({
    ...options,
    sleep: time.sleep,
    clock: time.clock,
    random: () => r,
  });
  for (let i = 0; i < calls; i++) await retrier.settle(down);
  return time.delays;
}

/** Counts `setTimeout` calls on the global object while `fn` runs. */
async function countTimers(fn: () => Promise<unknown>): Promise<number> {
  const host = globalThis as { setTimeout: typeof setTimeout };
  const original = host.setTimeout;
  let calls = 0;
  host.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    calls++;
    return original(...args);
  }) as typeof setTimeout;
  try {
    await fn();
  } finally {
    host.setTimeout = original;
  }
  return calls;
}

// ---- the cases --------------------------------------------------------------------------------

const backoff: PortableCase[] = [
  {
    name: "backoff: go-again's default schedule (additive jitter, r = 0)",
    run: async () => {
      const time = createFakeTime();
      const retrier = createRetrier({ sleep: time.sleep, clock: time.clock, random: () => 0 });
      const error = retryError(
        await rejection(retrier.run(down)),
        'exhausted',
        'ERR_RETRY_EXHAUSTED',
      );
      equal(error.attempts, 6, 'attempts');
      equal(error.errors.length, 6, 'errors');
      equal(time.delays, [500, 1000, 2000, 4000, 8000], 'delays');
    },
  },
  {
    name: 'backoff: additive jitter adds r × jitter',
    run: async () => {
      equal(
        await delaysOf({ maxRetries: 4, interval: 100, jitter: 10 }, 0.5),
        [105, 205, 405, 805],
        'delays',
      );
    },
  },
  {
    name: 'backoff: maxDelay caps the backoff',
    run: async () => {
      const delays = await delaysOf({ maxRetries: 6, maxDelay: 3000, jitterStrategy: 'none' }, 0.5);
      equal(delays, [500, 1000, 2000, 3000, 3000, 3000], 'delays');
    },
  },
  ...(
    [
      ['constant', { backoff: 'constant', jitter: 0 }, [100, 100, 100, 100]],
      ['linear', { backoff: 'linear', jitter: 0 }, [100, 200, 300, 400]],
      ['exponential ×3', { backoffFactor: 3, jitter: 0 }, [100, 300, 900, 2700]],
      ['exponential ×1', { backoffFactor: 1, jitter: 0 }, [100, 100, 100, 100]],
    ] as const
  ).map(
    ([label, options, expected]): PortableCase => ({
      name: `backoff: ${label}`,
      run: async () => {
        equal(
          await delaysOf({ maxRetries: 4, interval: 100, ...options }, 0.5),
          expected,
          'delays',
        );
      },
    }),
  ),
  ...(
    [
      ['none', 0.5, [100, 200, 400, 800]],
      ['full', 0.5, [50, 100, 200, 400]],
      ['full', 0, [0, 0, 0, 0]],
      ['equal', 0.5, [75, 150, 300, 600]],
      ['equal', 0, [50, 100, 200, 400]],
      ['decorrelated', 0.5, [200, 350, 575, 912.5]],
    ] as const
  ).map(
    ([jitterStrategy, r, expected]): PortableCase => ({
      name: `backoff: ${jitterStrategy} jitter with r = ${r}`,
      run: async () => {
        const delays = await delaysOf({ maxRetries: 4, interval: 100, jitterStrategy }, r);
        equal(delays, expected, 'delays');
      },
    }),
  ),
  {
    name: 'backoff: decorrelated jitter is capped by maxDelay and keeps its state per call',
    run: async () => {
      const options = { maxRetries: 4, interval: 100, jitterStrategy: 'decorrelated' } as const;
      equal(await delaysOf({ ...options, maxDelay: 400 }, 1), [300, 400, 400, 400], 'capped');
      equal(
        await delaysOf({ ...options, maxRetries: 2 }, 1, 2),
        [300, 900, 300, 900],
        'two calls of one retrier',
      );
    },
  },
];

/** Base delay of retry `k` with interval 100, ×2, capped at 1000. */
const base = (k: number): number => Math.min(1000, 100 * 2 ** k);
const JITTER_BOUNDS: readonly (readonly [
  string,
  RetrierOptions,
  (k: number, prev: number) => readonly [number, number],
])[] = [
  // Never above maxDelay; at the cap the jitter window may sit just below it.
  ['additive', { jitter: 50 }, (k) => [Math.min(base(k), 950), Math.min(1000, base(k) + 50)]],
  ['none', { jitterStrategy: 'none' }, (k) => [base(k), base(k)]],
  ['full', { jitterStrategy: 'full' }, (k) => [0, base(k)]],
  ['equal', { jitterStrategy: 'equal' }, (k) => [base(k) / 2, base(k)]],
  [
    'decorrelated',
    { jitterStrategy: 'decorrelated' },
    (_k, prev) => [100, Math.min(1000, prev * 3)],
  ],
];

const jitterBounds: PortableCase[] = [
  ...JITTER_BOUNDS.map(
    ([label, options, bounds]): PortableCase => ({
      name: `jitter bounds: ${label} stays within its bounds with the platform's Math.random`,
      run: async () => {
        const retries = 6;
        const seen = new Set<number>();
        for (let call = 0; call < 100; call++) {
          const time = createFakeTime();
          const retrier = createRetrier({
            maxRetries: retries,
            interval: 100,
            maxDelay: 1000,
            sleep: time.sleep,
            ...options,
          });
          await retrier.settle(down);
          equal(time.delays.length, retries, 'waits per call');
          let prev = 100;
          time.delays.forEach((delay, k) => {
            const [low, high] = bounds(k, prev);
            check(
              delay >= low && delay <= high,
              `call ${call}, retry ${k + 1}: ${delay} ms is outside [${low}, ${high}]`,
            );
            seen.add(delay);
            prev = delay;
          });
        }
        // The random source is really used (none is the only strategy without it; its six waits
        // are 100, 200, 400, 800, 1000, 1000).
        if (label === 'none') equal(seen.size, 5, 'distinct delays');
        else check(seen.size > retries * 10, `only ${seen.size} distinct delays in 600 waits`);
      },
    }),
  ),
  {
    name: 'jitter bounds: a faulty random source is clamped into [0, 1]',
    run: async () => {
      const options = { maxRetries: 3, interval: 100, jitterStrategy: 'full' } as const;
      equal(await delaysOf(options, 7), [100, 200, 400], 'random() = 7');
      equal(await delaysOf(options, -3), [0, 0, 0], 'random() = -3');
      equal(await delaysOf(options, Number.NaN), [0, 0, 0], 'random() = NaN');
    },
  },
];

const abort: PortableCase[] = [
  {
    name: 'abort: an already aborted signal never runs fn',
    run: async () => {
      let calls = 0;
      const reason = new Error('request gone');
      const call = createRetrier().run(() => ++calls, { signal: AbortSignal.abort(reason) });
      const error = retryError(await rejection(call), 'aborted', 'ERR_RETRY_ABORTED');
      equal(calls, 0, 'calls');
      equal(error.attempts, 0, 'attempts');
      equal(error.cause, reason, 'cause');
    },
  },
  {
    name: "abort: the caller's abort reaches the running attempt's signal",
    run: async () => {
      const controller = new AbortController();
      const seen: AbortSignal[] = [];
      const reason = new Error('user left');
      const call = createRetrier().run(
        (context) => {
          const attempt = untilAborted(seen)(context);
          queueMicrotask(() => controller.abort(reason));
          return attempt;
        },
        { signal: controller.signal },
      );
      const error = retryError(await rejection(call), 'aborted', 'ERR_RETRY_ABORTED');
      equal(seen.length, 1, 'attempts');
      equal(seen[0]?.reason, reason, "the attempt signal's reason");
      equal(error.cause, reason, 'cause');
    },
  },
  {
    name: 'abort: ends a 60 s wait between attempts at once (real timer, cleared)',
    run: async () => {
      const controller = new AbortController();
      let calls = 0;
      const call = createRetrier({ interval: 60_000, jitter: 0 }).run(
        () => {
          calls++;
          throw new Error('down');
        },
        {
          signal: controller.signal,
          hooks: { onRetry: () => void setTimeout(() => controller.abort('stop'), 2) },
        },
      );
      const error = retryError(await rejection(call), 'aborted', 'ERR_RETRY_ABORTED');
      equal(calls, 1, 'calls');
      // The cause is the last attempt's error; the abort cut the wait short.
      equal((error.cause as Error).message, 'down', 'cause');
    },
  },
  {
    name: "abort: the platform's AbortSignal.timeout() ends a call",
    run: async () => {
      const seen: AbortSignal[] = [];
      const call = createRetrier().run(untilAborted(seen), { signal: AbortSignal.timeout(3) });
      const error = retryError(await rejection(call), 'aborted', 'ERR_RETRY_ABORTED');
      equal((error.cause as Error).name, 'TimeoutError', 'cause');
      equal(seen[0]?.aborted, true, 'attempt signal aborted');
    },
  },
  {
    name: 'abort: cancel() aborts the running attempt with a RetryCancelledError',
    run: async () => {
      const retrier = createRetrier();
      const seen: AbortSignal[] = [];
      const call = retrier.run((context) => {
        const attempt = untilAborted(seen)(context);
        queueMicrotask(() => retrier.cancel());
        return attempt;
      });
      const error = retryError(await rejection(call), 'stopped', 'ERR_RETRY_STOPPED');
      check(
        seen[0]?.reason instanceof RetryCancelledError,
        'attempt aborted by RetryCancelledError',
      );
      equal(retrier.cancelled, true, 'cancelled');
      equal(retrier.signal.reason, seen[0]?.reason, "retrier.signal's reason");
      equal(error.attempts, 1, 'attempts');
    },
  },
  {
    name: 'abort: a cancelled retrier never runs fn',
    run: async () => {
      const retrier = createRetrier();
      retrier.stop('maintenance');
      let calls = 0;
      const error = retryError(
        await rejection(retrier.run(() => ++calls)),
        'stopped',
        'ERR_RETRY_STOPPED',
      );
      equal(calls, 0, 'calls');
      equal(error.cause, 'maintenance', 'cause');
    },
  },
];

const timeout: PortableCase[] = [
  {
    name: 'timeout: a wait that would end after the deadline is not started (injected time)',
    run: async () => {
      const time = createFakeTime();
      const retrier = createRetrier({
        timeout: 1000,
        interval: 300,
        jitter: 0,
        clock: time.clock,
        sleep: time.sleep,
      });
      let calls = 0;
      const call = retrier.run(async () => {
        calls++;
        time.advance(50);
        throw new Error('down');
      });
      const error = retryError(await rejection(call), 'timeout', 'ERR_RETRY_TIMEOUT');
      // t=50 fail, wait 300; t=400 fail, a wait of 600 would end at 1050 > 1000: give up now.
      equal(time.delays, [300], 'delays');
      equal(calls, 2, 'calls');
      equal((error.cause as Error).message, 'down', 'cause');
    },
  },
  {
    name: 'timeout: measured from the start of the call, even if fn ignores its signal (injected time)',
    run: async () => {
      const time = createFakeTime();
      const retrier = createRetrier({
        timeout: 1000,
        interval: 10,
        jitter: 0,
        clock: time.clock,
        sleep: time.sleep,
      });
      let calls = 0;
      const call = retrier.run(async () => {
        calls++;
        time.advance(600);
        throw new Error('slow failure');
      });
      retryError(await rejection(call), 'timeout', 'ERR_RETRY_TIMEOUT');
      equal(calls, 2, 'calls');
    },
  },
  {
    name: 'timeout: an attempt that ran past attemptTimeout is temporary (injected time)',
    run: async () => {
      const time = createFakeTime();
      const retrier = createRetrier({
        attemptTimeout: 100,
        registry: { isTemporary: () => false },
        clock: time.clock,
        sleep: time.sleep,
      });
      let calls = 0;
      const value = await retrier.run(async () => {
        if (++calls === 1) {
          time.advance(150);
          throw new Error('slow');
        }
        return 'fast';
      });
      equal(value, 'fast', 'value');
      const quick = retrier.run(() => Promise.reject(new Error('quick')));
      retryError(await rejection(quick), 'non-retryable', 'ERR_RETRY_NON_RETRYABLE');
    },
  },
  {
    name: 'timeout: the total deadline aborts the attempt with a RetryDeadlineError (real timer)',
    run: async () => {
      const seen: AbortSignal[] = [];
      // The attempt rejects as soon as its signal aborts: the deadline timer's abort is what ends
      // the call, even when it fires a moment before Date.now() reaches the deadline.
      const attempt = untilAborted(seen);
      const call = createRetrier({ timeout: 5, maxRetries: 0 }).run(attempt);
      const error = retryError(await rejection(call), 'timeout', 'ERR_RETRY_TIMEOUT');
      const reason = seen[0]?.reason as RetryDeadlineError;
      check(reason instanceof RetryDeadlineError, 'attempt aborted by a RetryDeadlineError');
      equal(reason.code, 'ERR_RETRY_DEADLINE', 'code');
      equal(reason.scope, 'total', 'scope');
      equal(error.cause, reason, 'cause');
    },
  },
  {
    name: 'timeout: attemptTimeout aborts each attempt and retries it (real timers)',
    run: async () => {
      const seen: AbortSignal[] = [];
      const retrier = createRetrier({ attemptTimeout: 3, maxRetries: 1, interval: 1, jitter: 0 });
      const error = retryError(
        await rejection(retrier.run(untilAborted(seen))),
        'exhausted',
        'ERR_RETRY_EXHAUSTED',
      );
      equal(error.attempts, 2, 'attempts');
      for (const signal of seen)
        equal((signal.reason as RetryDeadlineError).scope, 'attempt', 'scope');
    },
  },
];

const sleeping: PortableCase[] = [
  {
    name: 'sleep: a positive delay waits on a real timer and resolves',
    run: async () => {
      const calls = await countTimers(() => sleep(2));
      equal(calls, 1, 'setTimeout calls');
    },
  },
  {
    name: 'sleep: a zero delay yields without a timer',
    run: async () => {
      equal(await countTimers(() => Promise.all([sleep(0), sleep(-5)])), 0, 'setTimeout calls');
    },
  },
  {
    name: 'sleep: rejects with the signal reason on abort',
    run: async () => {
      const controller = new AbortController();
      const reason = new Error('stop');
      const wait = sleep(10_000, controller.signal);
      controller.abort(reason);
      equal(await rejection(wait), reason, 'rejection');
    },
  },
  {
    name: 'sleep: rejects at once, without a timer, for an aborted signal',
    run: async () => {
      const calls = await countTimers(async () => {
        equal(await rejection(sleep(100, AbortSignal.abort('gone'))), 'gone', 'rejection');
      });
      equal(calls, 0, 'setTimeout calls');
    },
  },
  {
    name: 'sleep: a zero wait whose signal aborts during the yield rejects',
    run: async () => {
      const controller = new AbortController();
      const wait = sleep(0, controller.signal);
      controller.abort('late');
      equal(await rejection(wait), 'late', 'rejection');
    },
  },
  {
    name: "sleep: the platform's AbortSignal.timeout() ends a long sleep",
    run: async () => {
      const error = await rejection(sleep(60_000, AbortSignal.timeout(2)));
      equal((error as Error).name, 'TimeoutError', 'rejection');
    },
  },
  {
    name: 'sleep: Infinity waits for the signal only',
    run: async () => {
      const controller = new AbortController();
      const calls = await countTimers(async () => {
        const wait = sleep(Number.POSITIVE_INFINITY, controller.signal);
        controller.abort('done');
        equal(await rejection(wait), 'done', 'rejection');
      });
      equal(calls, 0, 'setTimeout calls');
    },
  },
  {
    name: 'sleep: NaN and non-numbers reject with a RetryOptionsError',
    run: async () => {
      optionsError(await rejection(sleep(Number.NaN)), 'ms');
      optionsError(await rejection(sleep('5' as never)), 'ms');
    },
  },
  {
    name: 'sleep: zero-interval retries run without a timer',
    run: async () => {
      let attempts = 0;
      const retrier = createRetrier({ maxRetries: 3, interval: 0, jitter: 0 });
      const calls = await countTimers(async () => {
        const value = await retrier.run(({ attempt }) => {
          attempts = attempt;
          if (attempt < 4) throw new Error('again');
          return 'done';
        });
        equal(value, 'done', 'value');
      });
      equal(attempts, 4, 'attempts');
      equal(calls, 0, 'setTimeout calls');
    },
  },
];

const NOW = Date.UTC(2015, 9, 21, 7, 27, 30); // Wed, 21 Oct 2015 07:27:30 GMT

const retryAfter: PortableCase[] = [
  ...(
    [
      ['0', 0],
      ['2', 2000],
      ['  120 ', 120_000],
      ['Wed, 21 Oct 2015 07:28:00 GMT', 30_000],
      ['Wed, 21 Oct 2015 07:00:00 GMT', 0],
      ['Wednesday, 21-Oct-15 07:28:00 GMT', 30_000],
      ['Wed Oct 21 07:28:00 2015', 30_000],
      ['Sun Nov  6 08:49:37 1994', 0],
      [null, undefined],
      [undefined, undefined],
      ['', undefined],
      ['-1', undefined],
      ['1.5', undefined],
      ['soon', undefined],
      ['2 seconds', undefined],
      ['Wed, 31 Feb 2015 07:28:00 GMT', undefined],
      ['Wed, 21 Oct 2015 25:28:00 GMT', undefined],
      ['Wed, 21 Oct 2015 07:28:00 PST', undefined],
      ['2015-10-21T07:28:00Z', undefined],
    ] as const
  ).map(
    ([value, expected]): PortableCase => ({
      name: `Retry-After: parseRetryAfter(${value === undefined ? 'undefined' : JSON.stringify(value)}) is ${expected}`,
      run: () => equal(parseRetryAfter(value, NOW), expected, 'ms'),
    }),
  ),
  {
    name: 'Retry-After: a two-digit RFC 850 year is put in the right century',
    run: () => {
      const now = Date.UTC(2026, 0, 1);
      equal(
        parseRetryAfter('Friday, 01-Jan-27 00:00:00 GMT', now),
        Date.UTC(2027, 0, 1) - now,
        '2027',
      );
      equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now), 0, '1994');
    },
  },
  {
    name: 'Retry-After: withRetryAfter / getRetryAfter, Date hints and cause chains',
    run: () => {
      const error = new Error('busy');
      equal(withRetryAfter(error, 1500), error, 'same error');
      equal(getRetryAfter(error), 1500, 'ms hint');
      const dated = withRetryAfter(new Error('busy'), new Date(NOW + 4000));
      equal(getRetryAfter(dated, NOW), 4000, 'Date hint');
      equal(getRetryAfter(dated, NOW + 10_000), 0, 'Date hint in the past');
      equal(
        getRetryAfter(new Error('outer', { cause: withRetryAfter(new Error('429'), 700) })),
        700,
        'cause',
      );
      equal(getRetryAfter(Object.assign(new Error('x'), { retryAfter: -5 })), undefined, 'invalid');
      equal(getRetryAfter('boom'), undefined, 'not an object');
    },
  },
  {
    name: 'Retry-After: an invalid hint is a RetryOptionsError',
    run: () => {
      for (const hint of [-1, Number.NaN, Number.POSITIVE_INFINITY, '10', new Date(Number.NaN)]) {
        optionsError(
          thrown(() => withRetryAfter(new Error('x'), hint as number)),
          'retryAfter',
        );
      }
    },
  },
  {
    name: 'Retry-After: the retrier waits at least the hint, capped by maxRetryAfter',
    run: async () => {
      const limited = (ms: number | Date) => () => {
        throw withRetryAfter(new Error('429'), ms);
      };
      const options = { maxRetries: 2, interval: 100, jitter: 0 };
      for (const [hint, extra, expected] of [
        [1500, {}, [1500, 1500]],
        [10, { interval: 1000 }, [1000, 2000]],
        [3_600_000, { maxRetryAfter: 5000 }, [5000, 5000]],
      ] as const) {
        const time = createFakeTime();
        const retrier = createRetrier({
          ...options,
          ...extra,
          clock: time.clock,
          sleep: time.sleep,
        });
        await retrier.settle(limited(hint));
        equal(time.delays, expected, `hint ${hint}`);
      }
      const time = createFakeTime();
      const retrier = createRetrier({ ...options, clock: time.clock, sleep: time.sleep });
      await retrier.settle(limited(new Date(time.now() + 2500)));
      equal(time.delays[0], 2500, 'Date hint');
    },
  },
  {
    name: 'Retry-After: a hint longer than the time left gives up with reason timeout',
    run: async () => {
      const time = createFakeTime();
      const retrier = createRetrier({
        timeout: 10_000,
        interval: 100,
        jitter: 0,
        clock: time.clock,
        sleep: time.sleep,
      });
      let calls = 0;
      const call = retrier.run(() => {
        calls++;
        throw withRetryAfter(new Error('429'), 30_000);
      });
      retryError(await rejection(call), 'timeout', 'ERR_RETRY_TIMEOUT');
      equal(calls, 1, 'calls');
      equal(time.delays, [], 'delays');
    },
  },
];

const api: PortableCase[] = [
  {
    name: 'api: retry() runs fn with a throwaway retrier',
    run: async () => {
      const value = await retry(
        ({ attempt }) => {
          if (attempt < 3) throw new Error('again');
          return `done after ${attempt}`;
        },
        { interval: 0, jitter: 0 },
      );
      equal(value, 'done after 3', 'value');
    },
  },
  {
    name: 'api: settle() resolves with a trace of every attempt',
    run: async () => {
      const time = createFakeTime();
      const retrier = createRetrier({
        maxRetries: 2,
        interval: 100,
        jitter: 0,
        clock: time.clock,
        sleep: time.sleep,
      });
      const trace = await retrier.settle(down);
      equal(trace.ok, false, 'ok');
      equal(trace.attemptCount, 3, 'attemptCount');
      equal(
        trace.timings.map((t) => t.delayBefore),
        [0, 100, 200],
        'delayBefore',
      );
      equal(trace.join()?.errors.length, 3, 'join()');
    },
  },
  {
    name: 'api: a bad option is a RetryOptionsError naming it',
    run: async () => {
      optionsError(
        thrown(() => createRetrier({ maxRetries: -1 })),
        'maxRetries',
      );
      optionsError(
        thrown(() => createRetrier({ interval: 100, maxDelay: 50 })),
        'maxDelay',
      );
      optionsError(
        await rejection(retry(() => 1, { jitterStrategy: 'wild' as never })),
        'jitterStrategy',
      );
    },
  },
];

/** Every portable case, in the order the runners run them. */
export const PORTABLE_CASES: readonly PortableCase[] = [
  ...backoff,
  ...jitterBounds,
  ...abort,
  ...timeout,
  ...sleeping,
  ...retryAfter,
  ...api,
];

/** A case that has not settled after this long fails (a wait that was never woken). */
export const CASE_TIMEOUT_MS = 5_000;

/**
 * Runs every case one after the other and reports each one's outcome; never rejects.
 *
 * @returns one result per case, in order.
 */
export async function runPortableCases(): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const { name, run } of PORTABLE_CASES) {
    let guard: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(run),
        new Promise((_, reject) => {
          guard = setTimeout(
            () => reject(new CaseFailure(`did not settle within ${CASE_TIMEOUT_MS} ms`)),
            CASE_TIMEOUT_MS,
          );
        }),
      ]);
      results.push({ name, ok: true, error: undefined });
    } catch (error) {
      results.push({ name, ok: false, error: show(error) });
    } finally {
      clearTimeout(guard);
    }
  }
  return results;
}
