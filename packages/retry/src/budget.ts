import { RetryOptionsError } from './errors.js';
import type { Clock } from './types.js';

/**
 * A retry budget: a token bucket shared by any number of retriers so that a fleet of callers
 * cannot multiply an outage. Every retry (not the first attempt) must take a token; successful
 * calls (and, optionally, time) put tokens back. When the bucket is empty a call gives up at once
 * with reason `'exhausted'` and `budgetExhausted: true`.
 *
 * Implement it yourself for other policies; the retrier only calls these two methods.
 *
 * @example
 * ```ts
 * const budget = createRetryBudget({ tokens: 20, ratio: 0.1 });
 * const a = createRetrier({ budget });
 * const b = createRetrier({ budget, maxRetries: 2 });
 * ```
 */
export interface RetryBudget {
  /** Takes the tokens one retry costs. `false` when there are not enough: the call gives up. */
  tryAcquire(): boolean;
  /** Called once per successful call (first try or not). */
  recordSuccess(): void;
}

/**
 * Options of {@link createRetryBudget}.
 *
 * @example
 * ```ts
 * const options: RetryBudgetOptions = { tokens: 20, ratio: 0.1, refillPerSecond: 1 };
 * ```
 */
export interface RetryBudgetOptions {
  /**
   * Capacity of the bucket, and how many tokens it starts with.
   * @defaultValue `10` ({@link RETRY_BUDGET_DEFAULTS})
   */
  readonly tokens?: number;
  /**
   * Tokens returned per successful call. With the default `0.1`, in the long run at most one
   * retry is allowed per ten successes (plus the initial `tokens`).
   * @defaultValue `0.1`
   */
  readonly ratio?: number;
  /**
   * Tokens returned per second of elapsed time, so a quiet service recovers its budget.
   * @defaultValue `0` (only successes refill)
   */
  readonly refillPerSecond?: number;
  /**
   * Tokens one retry takes.
   * @defaultValue `1`
   */
  readonly cost?: number;
  /**
   * Time source for `refillPerSecond`.
   * @defaultValue `{ now: Date.now }`
   */
  readonly clock?: Clock;
}

/**
 * Defaults of {@link RetryBudgetOptions}.
 *
 * @example
 * ```ts
 * const defaults: RetryBudgetDefaults = RETRY_BUDGET_DEFAULTS;
 * ```
 */
export interface RetryBudgetDefaults {
  readonly tokens: number;
  readonly ratio: number;
  readonly refillPerSecond: number;
  readonly cost: number;
}

/**
 * The defaults of {@link createRetryBudget}: 10 tokens, 0.1 token back per success, no time
 * refill, 1 token per retry.
 *
 * @example
 * ```ts
 * createRetryBudget({ tokens: RETRY_BUDGET_DEFAULTS.tokens * 2 });
 * ```
 */
export const RETRY_BUDGET_DEFAULTS: RetryBudgetDefaults = Object.freeze({
  tokens: 10,
  ratio: 0.1,
  refillPerSecond: 0,
  cost: 1,
});

/**
 * The budget returned by {@link createRetryBudget}: a {@link RetryBudget} you can inspect.
 *
 * @example
 * ```ts
 * const budget = createRetryBudget();
 * console.log(`${budget.available} of ${budget.capacity} retry tokens left`);
 * ```
 */
export interface TokenBucketRetryBudget extends RetryBudget {
  /** The bucket's capacity. */
  readonly capacity: number;
  /** Tokens available now (time refill applied). */
  readonly available: number;
}

const KNOWN = new Set(['tokens', 'ratio', 'refillPerSecond', 'cost', 'clock']);

function finiteAtLeast(name: string, value: unknown, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RetryOptionsError(name, `expected a finite number >= ${min}`, value);
  }
  return value;
}

/**
 * Creates a token-bucket {@link RetryBudget} to share between retriers.
 *
 * @param options - capacity, refill ratio, time refill and cost per retry.
 * @returns the budget; pass it as the `budget` option of as many retriers as you like.
 * @throws {@link RetryOptionsError} when an option is invalid (wrong type, negative, NaN,
 *   Infinity, `tokens` or `cost` of 0, `cost` above `tokens`, unknown option).
 *
 * @example
 * ```ts
 * const budget = createRetryBudget({ tokens: 10, ratio: 0.2 });
 * const retrier = createRetrier({ budget });
 * ```
 */
export function createRetryBudget(options: RetryBudgetOptions = {}): TokenBucketRetryBudget {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new RetryOptionsError('options', 'expected an options object', options);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new RetryOptionsError(key, 'unknown retry budget option', key);
  }
  const capacity = finiteAtLeast('tokens', options.tokens, 0, RETRY_BUDGET_DEFAULTS.tokens);
  if (capacity === 0) throw new RetryOptionsError('tokens', 'expected a number > 0', capacity);
  const ratio = finiteAtLeast('ratio', options.ratio, 0, RETRY_BUDGET_DEFAULTS.ratio);
  const perSecond = finiteAtLeast(
    'refillPerSecond',
    options.refillPerSecond,
    0,
    RETRY_BUDGET_DEFAULTS.refillPerSecond,
  );
  const cost = finiteAtLeast('cost', options.cost, 0, RETRY_BUDGET_DEFAULTS.cost);
  if (cost === 0) throw new RetryOptionsError('cost', 'expected a number > 0', cost);
  if (cost > capacity) {
    throw new RetryOptionsError('cost', `expected at most tokens (${capacity})`, cost);
  }
  const clock = options.clock;
  if (clock !== undefined && (typeof clock !== 'object' || typeof clock?.now !== 'function')) {
    throw new RetryOptionsError('clock', 'expected an object with a now() method', clock);
  }
  const now = clock === undefined ? () => Date.now() : () => clock.now();

  let tokens = capacity;
  let refilledAt = perSecond > 0 ? now() : 0;

  const refill = (): void => {
    if (perSecond === 0) return;
    const at = now();
    const elapsed = at - refilledAt;
    refilledAt = at;
    // A clock that goes backwards refills nothing rather than draining the bucket.
    if (elapsed > 0) tokens = Math.min(capacity, tokens + (elapsed / 1000) * perSecond);
  };

  return {
    capacity,
    get available(): number {
      refill();
      return tokens;
    },
    tryAcquire(): boolean {
      refill();
      // The epsilon absorbs float drift from fractional refills (0.1 + 0.2 + ...).
      if (tokens + 1e-9 < cost) return false;
      tokens = Math.max(0, tokens - cost);
      return true;
    },
    recordSuccess(): void {
      if (ratio > 0) tokens = Math.min(capacity, tokens + ratio);
    },
  };
}
