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
import { read } from './walk.js';

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
 * - `'additive'`: `min(d, maxDelay − j) + r × j` with `j = min(jitter, maxDelay)`: go-again's
 *   `d + r × jitter` below the cap; at the cap the waits spread over `[maxDelay − j, maxDelay)`
 *   instead of all being `maxDelay`,
 * - `'none'`: `d`,
 * - `'full'`: `r × d`,
 * - `'equal'`: `d / 2 + r × d / 2`,
 * - `'decorrelated'`: `interval + r × (min(maxDelay, previous × 3) − interval)`, where `previous`
 *   is the previous delay of the same call (starting at `interval`); the backoff strategy is not
 *   used. At the cap the waits spread over `[interval, maxDelay)`.
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
   * Base delay before the first retry. `0` (with the default jitter, which is then 0 too)
   * retries without waiting on a timer: after a microtask turn, with a whole event-loop turn
   * every 8th zero-delay retry in a row, so an endless loop cannot starve timers and I/O.
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
   * Upper bound of every backoff delay (`Infinity`: no cap). Jitter never pushes a wait above
   * it, and still spreads waits at the cap (see {@link JitterStrategy}). Retry-After hints are
   * capped by `maxRetryAfter` instead.
   * @defaultValue `30_000`, or `interval` when that is longer
   */
  readonly maxDelay?: number | undefined;
  /**
   * Upper bound (exclusive) of the uniform random delay added to each wait by the `'additive'`
   * jitter strategy, go-again's `Jitter`. `0` disables it. Only valid with `'additive'`. The
   * default keeps jitter in proportion to short intervals: `interval: 0` gets none, `interval:
   * 200` gets up to 400 ms, go-again's 500 ms interval gets go-again's 1 s.
   * @defaultValue `1_000`, or `2 × interval` when that is less
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
   * this first; when even the cut hint is longer than the time left before `timeout`, the call
   * ends at once with reason `'timeout'`.
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
   * timers for positive delays and no timer for 0 (see `interval`).
   * @defaultValue `undefined` (built-in)
   */
  readonly sleep?: SleepFunction | undefined;
  /**
   * Randomness for jitter.
   * @defaultValue `Math.random`
   */
  readonly random?: RandomFunction | undefined;
  /**
   * `true`: the built-in waits between attempts do not keep the process alive (Node's and Bun's
   * `timer.unref()`, Deno's `Deno.unrefTimer`), so a process with nothing else to do exits during
   * a backoff instead of waiting it out. The pending call then never settles. Has no effect in
   * browsers or on an injected `sleep`.
   * @defaultValue `false`
   */
  readonly unref?: boolean | undefined;
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
 * plus a 30 s cap on each wait. Differences, on purpose: there is no total deadline by default
 * (go-again: 20 s, which its own default schedule could exceed; reading the clock on every call
 * also costs as much as the rest of the success path), hints are capped at 60 s, and when
 * `interval` is under 500 ms the default `jitter` is `2 × interval` (so `interval: 0` waits on no
 * timer and `interval: 200` waits 200–600 ms, not up to 1.2 s).
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
  readonly unref: boolean;
}

const INF = Number.POSITIVE_INFINITY;

/** A check and what it expects, in words (the error says "expected " + words). @internal */
export type Rule = readonly [test: (value: unknown) => boolean, expected: string];

/** A number in `[min, max]` (NaN never is). */
const number = (min: number, max: number, expected: string): Rule => [
  (v) => typeof v === 'number' && v >= min && v <= max,
  expected,
];
const typeOf = (type: string, expected: string): Rule => [(v) => typeof v === type, expected];
const oneOf = (...allowed: string[]): Rule => [
  (v) => allowed.includes(v as string),
  `one of ${allowed.join(', ')}`,
];
/** An object (or function) whose `names` are methods. */
const methods = (...names: string[]): Rule => [
  (v) => names.every((name) => typeof read(v, name) === 'function'),
  names.length > 1
    ? `an object with ${names.join('() and ')}() methods`
    : `an object with a ${names[0]}() method`,
];
const isPlain = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};
const isObjectLike = (v: unknown): boolean =>
  (typeof v === 'object' || typeof v === 'function') && v !== null;

const FINITE = number(0, Number.MAX_VALUE, 'a finite number >= 0');
const AT_LEAST_ZERO = number(0, INF, 'a number >= 0 or Infinity');
/** A timeout: a number > 0, or `Infinity` for none. @internal */
export const TIMEOUT: Rule = number(Number.MIN_VALUE, INF, 'a number > 0 or Infinity');
/** A retry count: an integer >= 0, or `Infinity`. @internal */
export const COUNT: Rule = [
  (v) => v === INF || (Number.isInteger(v) && (v as number) >= 0),
  'an integer >= 0 or Infinity',
];
/** A function. @internal */
export const FUNCTION: Rule = typeOf('function', 'a function');
/** Anything (checked elsewhere). @internal */
export const ANY: Rule = [() => true, ''];
/** An object: checked in detail by the code that reads it. @internal */
export const OBJECT: Rule = [isObjectLike, 'an object'];
/** An object with an `isTemporary()` method. @internal */
export const REGISTRY: Rule = methods('isTemporary');

const HOOKS: Readonly<Record<string, Rule>> = {
  onAttempt: FUNCTION,
  onRetry: FUNCTION,
  onSuccess: FUNCTION,
  onGiveUp: FUNCTION,
};

/** Every retrier option and its rule; the keys are the known options. */
const RETRIER_RULES: Readonly<Record<string, Rule>> = {
  maxRetries: COUNT,
  interval: FINITE,
  backoff: oneOf('exponential', 'linear', 'constant'),
  backoffFactor: number(1, Number.MAX_VALUE, 'a finite number >= 1'),
  maxDelay: AT_LEAST_ZERO,
  jitter: FINITE,
  jitterStrategy: oneOf('additive', 'none', 'full', 'equal', 'decorrelated'),
  timeout: TIMEOUT,
  attemptTimeout: TIMEOUT,
  maxRetryAfter: AT_LEAST_ZERO,
  registry: REGISTRY,
  shouldRetry: FUNCTION,
  budget: methods('tryAcquire', 'recordSuccess'),
  hooks: OBJECT,
  logger: [isObjectLike, 'a logger object'],
  clock: methods('now'),
  sleep: FUNCTION,
  random: FUNCTION,
  unref: typeOf('boolean', 'a boolean'),
};

/**
 * Checks an options object against `rules` (rules as data, one message builder): `value` must be
 * an object, every own key must be a known one (unless `anyObject` and `value` is not a plain
 * object), and every defined value must pass its rule.
 * @param name - the object's name in errors; its keys are reported as `prefix + key`.
 * @returns the defined values, by key.
 * @throws {@link RetryOptionsError} naming the first bad key (or the object itself).
 * @internal
 */
export function validate(
  name: string,
  prefix: string,
  value: unknown,
  rules: Readonly<Record<string, Rule>>,
  what: string,
  anyObject = false,
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RetryOptionsError(name, 'expected an object', value);
  }
  if (!anyObject || isPlain(value)) {
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(rules, key))
        throw new RetryOptionsError(prefix + key, `unknown ${what}`, key);
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(rules)) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    const [test, expected] = rules[key] as Rule;
    if (!test(item)) throw new RetryOptionsError(prefix + key, `expected ${expected}`, item);
    out[key] = item;
  }
  return out;
}

/**
 * Validates hooks (retrier or call level) and returns a frozen copy. A plain object may hold only
 * the four hooks (a typo throws); any other object, such as a class instance with the hooks as
 * methods, is read for the four names only. Each hook is bound to the object it came from, so
 * methods keep their `this`.
 * @internal
 */
export function normalizeHooks(name: string, value: unknown): Readonly<RetryHooks> | undefined {
  if (value === undefined) return undefined;
  const hooks = validate(name, `${name}.`, value, HOOKS, 'hook', true);
  const keys = Object.keys(hooks);
  for (const key of keys) hooks[key] = (hooks[key] as () => unknown).bind(value);
  return keys.length === 0 ? undefined : Object.freeze(hooks);
}

// Resolved at call time, so fake timers (which replace the global Date) are honoured.
const DEFAULT_CLOCK: Clock = Object.freeze({ now: () => Date.now() });

/**
 * Validates retrier options, fills in defaults and freezes the result. Runs once per retrier.
 * @internal
 */
export function normalizeRetrierOptions(options: unknown = {}): NormalizedRetrierOptions {
  const given = validate('options', '', options, RETRIER_RULES, 'retrier option');
  const d = RETRIER_DEFAULTS;
  const interval = (given.interval as number | undefined) ?? d.interval;
  const o = {
    ...d,
    // An interval longer than the default cap raises the cap rather than contradicting it.
    maxDelay: Math.max(d.maxDelay, interval),
    // Jitter stays in proportion to short intervals: interval 0 means no wait at all.
    jitter: Math.min(d.jitter, 2 * interval),
    registry: undefined,
    shouldRetry: undefined,
    budget: undefined,
    hooks: undefined,
    logger: undefined,
    clock: DEFAULT_CLOCK,
    sleep: undefined,
    random: Math.random,
    unref: false,
    ...given,
  } as { -readonly [K in keyof NormalizedRetrierOptions]: NormalizedRetrierOptions[K] };
  o.hooks = normalizeHooks('hooks', given.hooks);
  const { backoff, jitterStrategy, maxDelay, timeout } = o;
  const fail = (name: string, expected: string): never => {
    throw new RetryOptionsError(name, expected, given[name]);
  };

  // Contradictions: options that cannot all mean what they say.
  if (given.backoffFactor !== undefined && backoff !== 'exponential') {
    fail('backoffFactor', `only applies to exponential backoff, not '${backoff}'`);
  }
  if (jitterStrategy !== 'additive') {
    if ((given.jitter as number) > 0) {
      fail('jitter', `only applies to the 'additive' jitter strategy, not '${jitterStrategy}'`);
    }
    // Only the additive strategy uses `jitter`; report 0 for the others rather than a dead value.
    o.jitter = 0;
  }
  if (jitterStrategy === 'decorrelated') {
    const grows = "cannot be combined with the 'decorrelated' jitter strategy";
    if (given.backoff !== undefined) fail('backoff', grows);
    if (given.backoffFactor !== undefined) fail('backoffFactor', grows);
    if (interval === 0) fail('interval', "expected > 0 with the 'decorrelated' jitter strategy");
  }
  if (maxDelay < interval) fail('maxDelay', `expected >= interval (${interval})`);
  if (o.maxRetries > 0 && timeout !== INF && interval >= timeout) {
    fail('interval', `expected less than timeout (${timeout}), or no retry could ever run`);
  }
  // The logger is kept as is (not copied) so that its methods still see their own `this`.
  for (const level of ['debug', 'info', 'warn', 'error']) {
    const method = read(o.logger, level);
    if (method !== undefined && typeof method !== 'function') {
      throw new RetryOptionsError(`logger.${level}`, 'expected a function', method);
    }
  }
  return Object.freeze(o);
}
