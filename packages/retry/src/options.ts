import type { RetryBudget } from './budget.js';
import { RetryOptionsError } from './errors.js';
import type {
  Clock,
  RandomFunction,
  RetryHooks,
  RetryLogger,
  RetryPredicate,
  SleepFunction,
  TemporaryErrorClassifier,
} from './types.js';

/**
 * How the base delay grows with each retry (`k` = 0 for the first retry):
 * - `'exponential'`: `interval × backoffFactor^k` (go-again's only mode),
 * - `'linear'`: `interval × (k + 1)`,
 * - `'constant'`: `interval`.
 *
 * @example
 * ```ts
 * createRetrier({ backoff: 'linear', interval: 100, jitter: 0 }); // waits 100, 200, 300 ms, ...
 * ```
 */
export type BackoffStrategy = 'exponential' | 'linear' | 'constant';

/**
 * How randomness is added to the capped base delay `d` (`r` = `random()` in `[0, 1)`):
 * - `'additive'`: `min(maxDelay, d + r × jitter)` (go-again's rule),
 * - `'none'`: `d`,
 * - `'full'`: `r × d`,
 * - `'equal'`: `d / 2 + r × d / 2`,
 * - `'decorrelated'`: `min(maxDelay, interval + r × (previous × 3 − interval))`, where `previous`
 *   is the previous delay of the same call (starting at `interval`); the backoff strategy is not
 *   used.
 *
 * @example
 * ```ts
 * createRetrier({ jitterStrategy: 'full', interval: 100 }); // waits U(0, 100), U(0, 200), ...
 * ```
 */
export type JitterStrategy = 'additive' | 'none' | 'full' | 'equal' | 'decorrelated';

/**
 * Options of `createRetrier`. Every field is optional; missing ones come from
 * {@link RETRIER_DEFAULTS}. Durations are milliseconds.
 *
 * @example
 * ```ts
 * const retrier = createRetrier({
 *   maxRetries: 3,
 *   interval: 200,
 *   backoffFactor: 2,
 *   maxDelay: 5_000,
 *   jitterStrategy: 'full',
 *   timeout: 10_000,
 *   attemptTimeout: 2_000,
 * });
 * ```
 */
export interface RetrierOptions {
  /**
   * Retries **after** the first attempt: at most `maxRetries + 1` attempts. A non-negative
   * integer, or `Infinity` to retry until something else stops the call.
   * @defaultValue `5`
   */
  readonly maxRetries?: number | undefined;
  /**
   * Base delay before the first retry. `0` retries without waiting on a timer (the loop still
   * yields to the event loop once per retry).
   * @defaultValue `500`
   */
  readonly interval?: number | undefined;
  /**
   * How the base delay grows.
   * @defaultValue `'exponential'`
   */
  readonly backoff?: BackoffStrategy | undefined;
  /**
   * Growth factor of exponential backoff; `1` gives a constant delay. Only valid with
   * `backoff: 'exponential'`.
   * @defaultValue `2`
   */
  readonly backoffFactor?: number | undefined;
  /**
   * Upper bound of every backoff delay, applied before and after jitter (`Infinity`: no cap).
   * Retry-After hints are capped by `maxRetryAfter` instead.
   * @defaultValue `30_000`, or `interval` when that is longer
   */
  readonly maxDelay?: number | undefined;
  /**
   * Upper bound (exclusive) of the uniform random delay added to each wait by the `'additive'`
   * jitter strategy, go-again's `Jitter`. `0` disables it. Only valid with `'additive'`.
   * @defaultValue `1_000`
   */
  readonly jitter?: number | undefined;
  /**
   * How randomness is applied; see {@link JitterStrategy}.
   * @defaultValue `'additive'`
   */
  readonly jitterStrategy?: JitterStrategy | undefined;
  /**
   * Total deadline of a call, from its start, across all attempts and waits (`Infinity`: none).
   * When it passes, the running attempt's signal aborts and the call gives up with reason
   * `'timeout'`; a wait that would end after it is not started.
   * @defaultValue `Infinity`
   */
  readonly timeout?: number | undefined;
  /**
   * Deadline of each attempt. When it fires, the attempt's signal aborts; the attempt counts as
   * a temporary failure and is retried if the rest of the policy allows.
   * @defaultValue `Infinity`
   */
  readonly attemptTimeout?: number | undefined;
  /**
   * Upper bound of a server's Retry-After hint (see `withRetryAfter`). A longer hint is cut to
   * this; a hint longer than the time left before `timeout` ends the call at once.
   * @defaultValue `60_000`
   */
  readonly maxRetryAfter?: number | undefined;
  /**
   * Which errors are temporary when a call gives no `retryOn` list. Without a registry (here or
   * on the call) every error is retried, as in go-again.
   * @defaultValue `undefined`
   */
  readonly registry?: TemporaryErrorClassifier | undefined;
  /**
   * Extra say on every failed attempt, after the list / registry rule. A call's own
   * `shouldRetry` replaces this one.
   * @defaultValue `undefined`
   */
  readonly shouldRetry?: RetryPredicate | undefined;
  /**
   * A token bucket shared between retriers; see `createRetryBudget`.
   * @defaultValue `undefined`
   */
  readonly budget?: RetryBudget | undefined;
  /**
   * Hooks for every call of this retrier (a call's own hooks run after these).
   * @defaultValue `undefined`
   */
  readonly hooks?: RetryHooks | undefined;
  /**
   * Where retries (debug) and failing hooks (error) are reported. Nothing is logged without it.
   * @defaultValue `undefined`
   */
  readonly logger?: RetryLogger | undefined;
  /**
   * Time source (epoch milliseconds).
   * @defaultValue `{ now: Date.now }`
   */
  readonly clock?: Clock | undefined;
  /**
   * Waits between attempts; called for every delay, including 0. Without it the retrier uses
   * timers for positive delays and a timer-free event-loop yield for 0.
   * @defaultValue `undefined` (built-in)
   */
  readonly sleep?: SleepFunction | undefined;
  /**
   * Randomness for jitter.
   * @defaultValue `Math.random`
   */
  readonly random?: RandomFunction | undefined;
}

/**
 * The shape of {@link RETRIER_DEFAULTS}.
 *
 * @example
 * ```ts
 * const defaults: RetrierDefaults = RETRIER_DEFAULTS;
 * ```
 */
export interface RetrierDefaults {
  readonly maxRetries: number;
  readonly interval: number;
  readonly backoff: BackoffStrategy;
  readonly backoffFactor: number;
  readonly maxDelay: number;
  readonly jitter: number;
  readonly jitterStrategy: JitterStrategy;
  readonly timeout: number;
  readonly attemptTimeout: number;
  readonly maxRetryAfter: number;
}

/**
 * Default values of {@link RetrierOptions}.
 *
 * go-again's numbers for retries, interval, factor and jitter (5 retries, 500 ms, ×2, +U[0, 1 s)),
 * plus a 30 s cap on each wait. Two differences, on purpose: there is no total deadline by
 * default (go-again: 20 s, which its own default schedule could exceed; reading the clock on
 * every call also costs as much as the rest of the success path), and hints are capped at 60 s.
 *
 * @example
 * ```ts
 * createRetrier({ interval: RETRIER_DEFAULTS.interval * 2 });
 * ```
 */
export const RETRIER_DEFAULTS: RetrierDefaults = Object.freeze({
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

/**
 * The options a retrier actually uses: validated, defaults filled in, frozen. Available as
 * `retrier.options`.
 *
 * @example
 * ```ts
 * createRetrier({ interval: 100 }).options.maxDelay; // 30_000
 * ```
 */
export interface NormalizedRetrierOptions extends RetrierDefaults {
  readonly registry: TemporaryErrorClassifier | undefined;
  readonly shouldRetry: RetryPredicate | undefined;
  readonly budget: RetryBudget | undefined;
  readonly hooks: Readonly<RetryHooks> | undefined;
  readonly logger: RetryLogger | undefined;
  readonly clock: Clock;
  readonly sleep: SleepFunction | undefined;
  readonly random: RandomFunction;
}

const BACKOFFS: ReadonlySet<string> = new Set(['exponential', 'linear', 'constant']);
const JITTERS: ReadonlySet<string> = new Set(['additive', 'none', 'full', 'equal', 'decorrelated']);
const HOOKS: ReadonlySet<string> = new Set(['onAttempt', 'onRetry', 'onSuccess', 'onGiveUp']);
const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const;
const KNOWN: ReadonlySet<string> = new Set([
  ...Object.keys(RETRIER_DEFAULTS),
  'registry',
  'shouldRetry',
  'budget',
  'hooks',
  'logger',
  'clock',
  'sleep',
  'random',
]);

// Resolved at call time, so fake timers (which replace the global Date) are honoured.
const DEFAULT_CLOCK: Clock = Object.freeze({ now: () => Date.now() });

/** Checks that `value` is a plain options object (or undefined). @internal */
export function assertOptionsObject(name: string, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RetryOptionsError(name, 'expected an object', value);
  }
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && !Number.isNaN(value);
}

function finiteAtLeastZero(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isNumber(value) || !Number.isFinite(value) || value < 0) {
    throw new RetryOptionsError(name, 'expected a finite number >= 0', value);
  }
  return value;
}

function atLeastZeroOrInfinity(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isNumber(value) || value < 0) {
    throw new RetryOptionsError(name, 'expected a number >= 0 or Infinity', value);
  }
  return value;
}

/** Checks a timeout option: a number > 0, or `Infinity` for none. @internal */
export function positiveOrInfinity(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isNumber(value) || value <= 0) {
    throw new RetryOptionsError(name, 'expected a number > 0 or Infinity', value);
  }
  return value;
}

function oneOf<T extends string>(
  name: string,
  value: unknown,
  allowed: ReadonlySet<string>,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.has(value)) {
    throw new RetryOptionsError(name, `expected one of ${[...allowed].join(', ')}`, value);
  }
  return value as T;
}

/** Checks an optional function option. @internal */
export function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new RetryOptionsError(name, 'expected a function', value);
  return value as F;
}

/** Checks an optional object option that must have `methods`. @internal */
export function withMethods<T>(
  name: string,
  value: unknown,
  methods: readonly string[],
): T | undefined {
  if (value === undefined) return undefined;
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw new RetryOptionsError(name, `expected an object with ${methods.join(', ')}`, value);
  }
  for (const method of methods) {
    if (typeof (value as Record<string, unknown>)[method] !== 'function') {
      throw new RetryOptionsError(name, `expected an object with a ${method}() method`, value);
    }
  }
  return value as T;
}

/** Validates hooks (retrier or call level) and returns a frozen copy. @internal */
export function normalizeHooks(name: string, value: unknown): Readonly<RetryHooks> | undefined {
  if (value === undefined) return undefined;
  assertOptionsObject(name, value);
  const hooks = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(hooks)) {
    if (!HOOKS.has(key)) throw new RetryOptionsError(`${name}.${key}`, 'unknown hook', key);
    const hook = hooks[key];
    if (hook === undefined) continue;
    if (typeof hook !== 'function') {
      throw new RetryOptionsError(`${name}.${key}`, 'expected a function', hook);
    }
    copy[key] = hook;
  }
  return Object.keys(copy).length === 0 ? undefined : Object.freeze(copy);
}

function normalizeLogger(value: unknown): RetryLogger | undefined {
  if (value === undefined) return undefined;
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw new RetryOptionsError('logger', 'expected a logger object', value);
  }
  for (const method of LOGGER_METHODS) {
    const fn = (value as Record<string, unknown>)[method];
    if (fn !== undefined && typeof fn !== 'function') {
      throw new RetryOptionsError(`logger.${method}`, 'expected a function', fn);
    }
  }
  // Kept as is (not copied) so that the logger's methods still see their own `this`.
  return value as RetryLogger;
}

/**
 * Validates retrier options, fills in defaults and freezes the result. Runs once per retrier.
 * @internal
 */
export function normalizeRetrierOptions(options: unknown): NormalizedRetrierOptions {
  if (options === undefined) options = {};
  assertOptionsObject('options', options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new RetryOptionsError(key, 'unknown retrier option', key);
  }
  const given = (key: string): boolean => o[key] !== undefined;
  const d = RETRIER_DEFAULTS;

  const maxRetries = o.maxRetries === undefined ? d.maxRetries : o.maxRetries;
  if (
    !isNumber(maxRetries) ||
    maxRetries < 0 ||
    (!Number.isInteger(maxRetries) && maxRetries !== Number.POSITIVE_INFINITY)
  ) {
    throw new RetryOptionsError('maxRetries', 'expected an integer >= 0 or Infinity', maxRetries);
  }
  const interval = finiteAtLeastZero('interval', o.interval, d.interval);
  const backoff = oneOf<BackoffStrategy>('backoff', o.backoff, BACKOFFS, d.backoff);
  const backoffFactor = o.backoffFactor === undefined ? d.backoffFactor : o.backoffFactor;
  if (!isNumber(backoffFactor) || !Number.isFinite(backoffFactor) || backoffFactor < 1) {
    throw new RetryOptionsError('backoffFactor', 'expected a finite number >= 1', backoffFactor);
  }
  // An interval longer than the default cap raises the cap rather than contradicting it.
  const maxDelay = atLeastZeroOrInfinity('maxDelay', o.maxDelay, Math.max(d.maxDelay, interval));
  const jitter = finiteAtLeastZero('jitter', o.jitter, d.jitter);
  const jitterStrategy = oneOf<JitterStrategy>(
    'jitterStrategy',
    o.jitterStrategy,
    JITTERS,
    d.jitterStrategy,
  );
  const timeout = positiveOrInfinity('timeout', o.timeout, d.timeout);
  const attemptTimeout = positiveOrInfinity('attemptTimeout', o.attemptTimeout, d.attemptTimeout);
  const maxRetryAfter = atLeastZeroOrInfinity('maxRetryAfter', o.maxRetryAfter, d.maxRetryAfter);

  // Contradictions: options that cannot all mean what they say.
  if (given('backoffFactor') && backoff !== 'exponential') {
    throw new RetryOptionsError(
      'backoffFactor',
      `only applies to exponential backoff, not '${backoff}'`,
      backoffFactor,
    );
  }
  if (given('jitter') && jitter > 0 && jitterStrategy !== 'additive') {
    throw new RetryOptionsError(
      'jitter',
      `only applies to the 'additive' jitter strategy, not '${jitterStrategy}'`,
      jitter,
    );
  }
  if (jitterStrategy === 'decorrelated') {
    if (given('backoff') || given('backoffFactor')) {
      throw new RetryOptionsError(
        given('backoff') ? 'backoff' : 'backoffFactor',
        "cannot be combined with the 'decorrelated' jitter strategy, which grows delays itself",
        given('backoff') ? o.backoff : o.backoffFactor,
      );
    }
    if (interval === 0) {
      throw new RetryOptionsError(
        'interval',
        "expected > 0 with the 'decorrelated' jitter strategy",
        interval,
      );
    }
  }
  if (maxDelay < interval) {
    throw new RetryOptionsError('maxDelay', `expected >= interval (${interval})`, maxDelay);
  }
  if (maxRetries > 0 && timeout !== Number.POSITIVE_INFINITY && interval >= timeout) {
    throw new RetryOptionsError(
      'interval',
      `expected less than timeout (${timeout}), or no retry could ever run`,
      interval,
    );
  }

  const clock = withMethods<Clock>('clock', o.clock, ['now']) ?? DEFAULT_CLOCK;
  const normalized: NormalizedRetrierOptions = {
    maxRetries,
    interval,
    backoff,
    backoffFactor,
    maxDelay,
    // Only the additive strategy uses `jitter`; report 0 for the others rather than a dead value.
    jitter: jitterStrategy === 'additive' ? jitter : 0,
    jitterStrategy,
    timeout,
    attemptTimeout,
    maxRetryAfter,
    registry: withMethods<TemporaryErrorClassifier>('registry', o.registry, ['isTemporary']),
    shouldRetry: optionalFunction<RetryPredicate>('shouldRetry', o.shouldRetry),
    budget: withMethods<RetryBudget>('budget', o.budget, ['tryAcquire', 'recordSuccess']),
    hooks: normalizeHooks('hooks', o.hooks),
    logger: normalizeLogger(o.logger),
    clock,
    sleep: optionalFunction<SleepFunction>('sleep', o.sleep),
    random: optionalFunction<RandomFunction>('random', o.random) ?? Math.random,
  };
  return Object.freeze(normalized);
}
