import { describe, expect, it, vi } from 'vitest';
import { computeDelay } from './backoff.js';
import { createRetryBudget } from './budget.js';
import { RetryOptionsError } from './errors.js';
import { normalizeRetrierOptions, RETRIER_DEFAULTS } from './options.js';
import { createRetrier } from './retrier.js';

function optionError(fn: () => unknown): RetryOptionsError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RetryOptionsError);
    expect((error as RetryOptionsError).code).toBe('ERR_RETRY_OPTIONS');
    expect((error as RetryOptionsError).name).toBe('RetryOptionsError');
    return error as RetryOptionsError;
  }
  throw new Error('expected a RetryOptionsError');
}

describe('RETRIER_DEFAULTS', () => {
  it("keeps go-again's numbers and documents the differences", () => {
    expect(RETRIER_DEFAULTS).toEqual({
      maxRetries: 5,
      interval: 500,
      backoff: 'exponential',
      backoffFactor: 2,
      maxDelay: 30_000,
      jitter: 1_000,
      jitterStrategy: 'additive',
      timeout: Number.POSITIVE_INFINITY,
      attemptTimeout: Number.POSITIVE_INFINITY,
      maxRetryAfter: 60_000,
    });
    expect(Object.isFrozen(RETRIER_DEFAULTS)).toBe(true);
  });

  it('fills every missing option from the defaults', () => {
    const o = createRetrier().options;
    for (const [key, value] of Object.entries(RETRIER_DEFAULTS)) {
      expect(o[key as keyof typeof RETRIER_DEFAULTS]).toBe(value);
    }
    expect(o.registry).toBeUndefined();
    expect(o.sleep).toBeUndefined();
    expect(o.random).toBe(Math.random);
    expect(typeof o.clock.now()).toBe('number');
  });

  it('treats explicit undefined like a missing option', () => {
    const o = createRetrier({ maxRetries: undefined, timeout: undefined }).options;
    expect(o.maxRetries).toBe(5);
    expect(o.timeout).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('normalized options', () => {
  it('are frozen, and so are the hooks', () => {
    const retrier = createRetrier({ hooks: { onRetry: () => {} } });
    expect(Object.isFrozen(retrier.options)).toBe(true);
    expect(Object.isFrozen(retrier.options.hooks)).toBe(true);
  });

  it('copy hooks, so later changes to the caller object do not leak in', () => {
    const hooks: { onRetry?: () => void } = {};
    const retrier = createRetrier({ hooks });
    hooks.onRetry = () => {};
    expect(retrier.options.hooks).toBeUndefined();
  });

  it('accept every valid value', () => {
    const budget = createRetryBudget();
    const o = normalizeRetrierOptions({
      maxRetries: Number.POSITIVE_INFINITY,
      interval: 0,
      backoff: 'linear',
      maxDelay: Number.POSITIVE_INFINITY,
      jitterStrategy: 'full',
      timeout: 1000,
      attemptTimeout: 100,
      maxRetryAfter: 0,
      registry: { isTemporary: () => true },
      shouldRetry: () => true,
      budget,
      logger: { debug: () => {} },
      clock: { now: () => 0 },
      sleep: async () => {},
      random: () => 0,
    });
    expect(o.maxRetries).toBe(Number.POSITIVE_INFINITY);
    expect(o.backoff).toBe('linear');
    expect(o.jitter).toBe(0);
    expect(o.budget).toBe(budget);
  });

  it('allow factor 1 (constant exponential) and jitter 0, which go-again rejected', () => {
    const o = createRetrier({ backoffFactor: 1, jitter: 0 }).options;
    expect(o.backoffFactor).toBe(1);
    expect(o.jitter).toBe(0);
  });
});

describe('invalid options throw RetryOptionsError naming the option', () => {
  it.each([
    ['maxRetries', -1],
    ['maxRetries', 1.5],
    ['maxRetries', Number.NaN],
    ['maxRetries', '3'],
    ['maxRetries', null],
    ['interval', -1],
    ['interval', Number.NaN],
    ['interval', Number.POSITIVE_INFINITY],
    ['interval', '100'],
    ['backoff', 'fibonacci'],
    ['backoff', 2],
    ['backoffFactor', 0.5],
    ['backoffFactor', Number.NaN],
    ['backoffFactor', Number.POSITIVE_INFINITY],
    ['maxDelay', -5],
    ['maxDelay', Number.NaN],
    ['jitter', -1],
    ['jitter', Number.POSITIVE_INFINITY],
    ['jitterStrategy', 'random'],
    ['timeout', 0],
    ['timeout', -100],
    ['timeout', Number.NaN],
    ['timeout', '1s'],
    ['attemptTimeout', 0],
    ['attemptTimeout', Number.NaN],
    ['maxRetryAfter', -1],
    ['maxRetryAfter', Number.NaN],
    ['registry', {}],
    ['registry', 'defaults'],
    ['shouldRetry', true],
    ['budget', { tryAcquire: () => true }],
    ['hooks', 'onRetry'],
    ['logger', 42],
    ['clock', { now: 5 }],
    ['sleep', 10],
    ['random', 0.5],
  ])('%s = %o', (option, value) => {
    const error = optionError(() => createRetrier({ [option]: value }));
    expect(error.option).toBe(option);
    expect(error.received).toBe(value);
  });

  it('rejects non-object options', () => {
    for (const value of [null, 5, 'fast', [1]]) {
      expect(optionError(() => createRetrier(value as never)).option).toBe('options');
    }
  });

  it('reads options without asking for their prototype (a proxy whose trap throws)', () => {
    const options = new Proxy(
      { maxRetries: 1 },
      {
        getPrototypeOf() {
          throw new Error('no prototype here');
        },
      },
    );
    expect(createRetrier(options).options.maxRetries).toBe(1);
  });

  it('rejects unknown options (typos) by name', () => {
    expect(optionError(() => createRetrier({ retries: 3 } as never)).option).toBe('retries');
  });

  it('rejects unknown hooks and non-function hooks', () => {
    expect(optionError(() => createRetrier({ hooks: { onFail: () => {} } as never })).option).toBe(
      'hooks.onFail',
    );
    expect(optionError(() => createRetrier({ hooks: { onRetry: 1 } as never })).option).toBe(
      'hooks.onRetry',
    );
  });

  it('rejects a logger method that is not a function', () => {
    expect(optionError(() => createRetrier({ logger: { debug: 'yes' } as never })).option).toBe(
      'logger.debug',
    );
  });
});

describe('contradictory options', () => {
  it('backoffFactor with a non-exponential backoff', () => {
    expect(optionError(() => createRetrier({ backoff: 'constant', backoffFactor: 3 })).option).toBe(
      'backoffFactor',
    );
  });

  it('jitter with a strategy other than additive', () => {
    expect(optionError(() => createRetrier({ jitter: 100, jitterStrategy: 'full' })).option).toBe(
      'jitter',
    );
    // jitter 0 says nothing, so it does not contradict.
    expect(createRetrier({ jitter: 0, jitterStrategy: 'full' }).options.jitter).toBe(0);
  });

  it('decorrelated jitter with an explicit backoff, or with a zero interval', () => {
    expect(
      optionError(() => createRetrier({ jitterStrategy: 'decorrelated', backoff: 'linear' }))
        .option,
    ).toBe('backoff');
    expect(
      optionError(() => createRetrier({ jitterStrategy: 'decorrelated', backoffFactor: 3 })).option,
    ).toBe('backoffFactor');
    expect(
      optionError(() => createRetrier({ jitterStrategy: 'decorrelated', interval: 0 })).option,
    ).toBe('interval');
  });

  it('maxDelay below interval', () => {
    expect(optionError(() => createRetrier({ interval: 1000, maxDelay: 500 })).option).toBe(
      'maxDelay',
    );
  });

  it('an interval above the default cap raises the cap instead of contradicting it', () => {
    expect(createRetrier({ interval: 60_000 }).options.maxDelay).toBe(60_000);
  });

  it('an interval that cannot fit in the timeout (go-again rule 5)', () => {
    const error = optionError(() => createRetrier({ interval: 1000, timeout: 1000 }));
    expect(error.option).toBe('interval');
    // Without retries the interval is never used, so it does not matter.
    expect(createRetrier({ interval: 1000, timeout: 1000, maxRetries: 0 }).options.timeout).toBe(
      1000,
    );
  });
});

describe('default jitter', () => {
  it("is go-again's 1 s, or 2 × interval when that is less", () => {
    expect(createRetrier().options.jitter).toBe(1000);
    expect(createRetrier({ interval: 2000 }).options.jitter).toBe(1000);
    expect(createRetrier({ interval: 200 }).options.jitter).toBe(400);
    expect(createRetrier({ interval: 0 }).options.jitter).toBe(0);
    expect(createRetrier({ interval: 0, jitter: 50 }).options.jitter).toBe(50);
  });

  it('interval: 0 retries without a timer, as documented', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    try {
      let n = 0;
      const retrier = createRetrier({ interval: 0, maxRetries: 3 });
      await expect(
        retrier.run(async () => {
          if (++n < 4) throw new Error('again');
          return n;
        }),
      ).resolves.toBe(4);
      expect(setTimeoutSpy).not.toHaveBeenCalled();
    } finally {
      setTimeoutSpy.mockRestore();
    }
  });

  it('makes the quick start true: interval 200 waits 200–600, 400–800, 800–1200 ms', () => {
    const policy = normalizeRetrierOptions({ maxRetries: 3, interval: 200, timeout: 10_000 });
    const waits = (r: number) => [0, 1, 2].map((k) => computeDelay(policy, k, 0, r));
    expect(waits(0)).toEqual([200, 400, 800]);
    expect(waits(1)).toEqual([600, 800, 1200]);
  });
});
