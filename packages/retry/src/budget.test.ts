import { describe, expect, it } from 'vitest';
import { createRetryBudget, RETRY_BUDGET_DEFAULTS } from './budget.js';
import { RetryError, RetryOptionsError } from './errors.js';
import { createRetrier } from './retrier.js';
import { createFakeTime } from './test-utils/fake-time.js';

describe('createRetryBudget', () => {
  it('starts full with the documented defaults', () => {
    expect(RETRY_BUDGET_DEFAULTS).toEqual({ tokens: 10, ratio: 0.1, refillPerSecond: 0, cost: 1 });
    const budget = createRetryBudget();
    expect(budget.capacity).toBe(10);
    expect(budget.available).toBe(10);
  });

  it('takes cost per retry and refuses when empty', () => {
    const budget = createRetryBudget({ tokens: 3, cost: 1 });
    expect([1, 2, 3, 4].map(() => budget.tryAcquire())).toEqual([true, true, true, false]);
    expect(budget.available).toBe(0);
  });

  it('refills ratio tokens per success, up to capacity', () => {
    const budget = createRetryBudget({ tokens: 2, ratio: 0.5 });
    budget.tryAcquire();
    budget.tryAcquire();
    expect(budget.tryAcquire()).toBe(false);
    budget.recordSuccess();
    expect(budget.tryAcquire()).toBe(false); // 0.5 < 1
    budget.recordSuccess();
    expect(budget.tryAcquire()).toBe(true);
    for (let i = 0; i < 10; i++) budget.recordSuccess();
    expect(budget.available).toBe(2);
  });

  it('tolerates float drift of fractional refills', () => {
    const budget = createRetryBudget({ tokens: 1, ratio: 0.1 });
    budget.tryAcquire();
    for (let i = 0; i < 10; i++) budget.recordSuccess();
    expect(budget.tryAcquire()).toBe(true);
  });

  it('refills with time when refillPerSecond is set', () => {
    const time = createFakeTime();
    const budget = createRetryBudget({ tokens: 4, refillPerSecond: 2, clock: time.clock });
    for (let i = 0; i < 4; i++) budget.tryAcquire();
    expect(budget.tryAcquire()).toBe(false);
    time.advance(500);
    expect(budget.tryAcquire()).toBe(true);
    time.advance(10_000);
    expect(budget.available).toBe(4);
  });

  it.each([
    ['tokens', 0],
    ['tokens', -1],
    ['tokens', Number.POSITIVE_INFINITY],
    ['ratio', -0.1],
    ['ratio', Number.NaN],
    ['refillPerSecond', -1],
    ['cost', 0],
    ['cost', 20],
    ['cost', '1'],
    ['clock', { now: 'never' }],
    ['colour', 'red'],
  ])('rejects %s = %o', (option, value) => {
    try {
      createRetryBudget({ [option]: value } as never);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RetryOptionsError);
      expect((error as RetryOptionsError).code).toBe('ERR_RETRY_OPTIONS');
      expect((error as RetryOptionsError).option).toBe(option);
    }
  });
});

describe('a budget shared by retriers', () => {
  it('stops a fleet of callers from multiplying an outage', async () => {
    const time = createFakeTime();
    const budget = createRetryBudget({ tokens: 3, ratio: 0 });
    const options = { maxRetries: 5, interval: 0, budget, sleep: time.sleep };
    const a = createRetrier(options);
    const b = createRetrier(options);
    let calls = 0;
    const down = () => {
      calls++;
      throw new Error('outage');
    };
    const first = await a.settle(down);
    // 1 attempt + 3 retries paid from the budget, then refused.
    expect(first.attemptCount).toBe(4);
    expect(first.ok).toBe(false);
    if (!first.ok) {
      expect(first.reason).toBe('exhausted');
      expect(first.error.budgetExhausted).toBe(true);
      expect(first.error.code).toBe('ERR_RETRY_EXHAUSTED');
    }
    const error = await b.run(down).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryError);
    expect((error as RetryError).attempts).toBe(1);
    expect((error as RetryError).budgetExhausted).toBe(true);
    expect(calls).toBe(5);
  });

  it('is refilled by successful calls, including first-try successes', async () => {
    const budget = createRetryBudget({ tokens: 1, ratio: 1 });
    const retrier = createRetrier({ interval: 0, budget, sleep: async () => {} });
    expect(budget.tryAcquire()).toBe(true);
    expect(budget.available).toBe(0);
    await retrier.run(() => 'ok');
    expect(budget.available).toBe(1);
  });

  it('marks a plain exhaustion as budgetExhausted: false', async () => {
    const retrier = createRetrier({
      maxRetries: 1,
      interval: 0,
      budget: createRetryBudget(),
      sleep: async () => {},
    });
    const trace = await retrier.settle(() => Promise.reject(new Error('x')));
    expect(trace.ok).toBe(false);
    if (!trace.ok) expect(trace.error.budgetExhausted).toBe(false);
  });
});
