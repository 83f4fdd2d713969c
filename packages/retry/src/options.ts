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

const isNumber = (value: unknown): value is number =>
  typeof value === 'number' && !Number.isNaN(value);

/** A check and what it expects, in words ("expected " + words). @internal */
export type Rule = readonly [test: (value: unknown) => boolean, expected: string];

const INFINITY = Number.POSITIVE_INFINITY;
/** A finite number >= 0. @internal */
export const FINITE: Rule = [(v) => isNumber(v) && v >= 0 && v < INFINITY, 'a finite number >= 0'];
const AT_LEAST_ZERO: Rule = [(v) => isNumber(v) && v >= 0, 'a number >= 0 or Infinity'];
/** A timeout: a number > 0, or `Infinity` for none. @internal */
export const TIMEOUT: Rule = [(v) => isNumber(v) && v > 0, 'a number > 0 or Infinity'];
/** A retry count: an integer >= 0, or `Infinity`. @internal */
export const COUNT: Rule = [
  (v) => isNumber(v) && v >= 0 && (Number.isInteger(v) || v === INFINITY),
  'an integer >= 0 or Infinity',
];
const FACTOR: Rule = [(v) => isNumber(v) && v >= 1 && v < INFINITY, 'a finite number >= 1'];
/** A function. @internal */
export const FUNCTION: Rule = [(v) => typeof v === 'function', 'a function'];
const BOOLEAN: Rule = [(v) => typeof v === 'boolean', 'a boolean'];
const oneOf = (...allowed: string[]): Rule => [
  (v) => allowed.includes(v as string),
  `one of ${allowed.join(', ')}`,
];
const BACKOFF = oneOf('exponential', 'linear', 'constant');
const JITTER = oneOf('additive', 'none', 'full', 'equal', 'decorrelated');

/**
 * `value`, checked by `rule`, or `fallback` when it is undefined.
 * @throws {@link RetryOptionsError} naming `name` when the check fails.
 * @internal
 */
export function check<T>(name: string, value: unknown, rule: Rule, fallback?: T): T {
  if (value === undefined) return fallback as T;
  if (!rule[0](value)) throw new RetryOptionsError(name, `expected ${rule[1]}`, value);
  return value as T;
}

/** Checks that `value` is a plain options object (or undefined). @internal */
export function assertOptionsObject(name: string, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RetryOptionsError(name, 'expected an object', value);
  }
}

/** Refuses keys of `value` not in `known` (typos). @internal */
export function assertKnownKeys(
  prefix: string,
  value: object,
  known: readonly string[],
  what: string,
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new RetryOptionsError(prefix + key, `unknown ${what}`, key);
  }
}

/** Checks an optional object option that must have `methods`. @internal */
export function withMethods<T>(
  name: string,
  value: unknown,
  methods: readonly string[],
): T | undefined {
  if (value === undefined) return undefined;
  for (const method of methods) {
    if (typeof read(value, method) !== 'function') {
      throw new RetryOptionsError(name, `expected an object with a ${method}() method`, value);
    }
  }
  return value as T;
}

const HOOK_NAMES = ['onAttempt', 'onRetry', 'onSuccess', 'onGiveUp'] as const;

/**
 * Validates hooks (retrier or call level) and returns a frozen copy. A plain object may hold only
 * the four hooks (a typo throws); any other object, such as a class instance with the hooks as
 * methods, is read for the four names only. Each hook is bound to the object it came from, so
 * methods keep their `this`.
 * @internal
 */
export function normalizeHooks(name: string, value: unknown): Readonly<RetryHooks> | undefined {
  if (value === undefined) return undefined;
  assertOptionsObject(name, value);
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    assertKnownKeys(`${name}.`, value as object, HOOK_NAMES, 'hook');
  }
  const copy: Record<string, unknown> = {};
  for (const key of HOOK_NAMES) {
    const hook = check<((info: unknown) => unknown) | undefined>(
      `${name}.${key}`,
      (value as RetryHooks)[key],
      FUNCTION,
    );
    if (hook !== undefined) copy[key] = hook.bind(value);
  }
  return Object.keys(copy).length === 0 ? undefined : Object.freeze(copy);
}

const KNOWN = [
  ...Object.keys(RETRIER_DEFAULTS),
  'registry',
  'shouldRetry',
  'budget',
  'hooks',
  'logger',
  'clock',
  'sleep',
  'random',
  'unref',
];

// Resolved at call time, so fake timers (which replace the global Date) are honoured.
const DEFAULT_CLOCK: Clock = Object.freeze({ now: () => Date.now() });

/**
 * Validates retrier options, fills in defaults and freezes the result. Runs once per retrier.
 * @internal
 */
export function normalizeRetrierOptions(options: unknown = {}): NormalizedRetrierOptions {
  assertOptionsObject('options', options);
  const o = options as Record<string, unknown>;
  assertKnownKeys('', o, KNOWN, 'retrier option');
  const d = RETRIER_DEFAULTS;
  const fail = (name: string, expected: string): never => {
    throw new RetryOptionsError(name, expected, o[name]);
  };

  const maxRetries = check<number>('maxRetries', o.maxRetries, COUNT, d.maxRetries);
  const interval = check<number>('interval', o.interval, FINITE, d.interval);
  const backoff = check<BackoffStrategy>('backoff', o.backoff, BACKOFF, d.backoff);
  const backoffFactor = check<number>('backoffFactor', o.backoffFactor, FACTOR, d.backoffFactor);
  // An interval longer than the default cap raises the cap rather than contradicting it.
  const maxDelay = check<number>(
    'maxDelay',
    o.maxDelay,
    AT_LEAST_ZERO,
    Math.max(d.maxDelay, interval),
  );
  const jitterStrategy = check<JitterStrategy>(
    'jitterStrategy',
    o.jitterStrategy,
    JITTER,
    d.jitterStrategy,
  );
  // Jitter stays in proportion to short intervals: interval 0 means no wait at all.
  const jitter = check<number>('jitter', o.jitter, FINITE, Math.min(d.jitter, 2 * interval));
  const timeout = check<number>('timeout', o.timeout, TIMEOUT, d.timeout);

  // Contradictions: options that cannot all mean what they say.
  const not = `not '${backoff}'`;
  if (o.backoffFactor !== undefined && backoff !== 'exponential') {
    fail('backoffFactor', `only applies to exponential backoff, ${not}`);
  }
  if (o.jitter !== undefined && jitter > 0 && jitterStrategy !== 'additive') {
    fail('jitter', `only applies to the 'additive' jitter strategy, not '${jitterStrategy}'`);
  }
  if (jitterStrategy === 'decorrelated') {
    const grows = "cannot be combined with the 'decorrelated' jitter strategy";
    if (o.backoff !== undefined) fail('backoff', grows);
    if (o.backoffFactor !== undefined) fail('backoffFactor', grows);
    if (interval === 0) fail('interval', "expected > 0 with the 'decorrelated' jitter strategy");
  }
  if (maxDelay < interval) fail('maxDelay', `expected >= interval (${interval})`);
  if (maxRetries > 0 && timeout !== INFINITY && interval >= timeout) {
    fail('interval', `expected less than timeout (${timeout}), or no retry could ever run`);
  }
  const logger = o.logger;
  if (logger !== undefined) {
    if ((typeof logger !== 'object' && typeof logger !== 'function') || logger === null) {
      fail('logger', 'expected a logger object');
    }
    // Kept as is (not copied) so that the logger's methods still see their own `this`.
    for (const level of ['debug', 'info', 'warn', 'error']) {
      const method = read(logger, level);
      if (method !== undefined) check(`logger.${level}`, method, FUNCTION);
    }
  }

  return Object.freeze({
    maxRetries,
    interval,
    backoff,
    backoffFactor,
    maxDelay,
    // Only the additive strategy uses `jitter`; report 0 for the others rather than a dead value.
    jitter: jitterStrategy === 'additive' ? jitter : 0,
    jitterStrategy,
    timeout,
    attemptTimeout: check<number>('attemptTimeout', o.attemptTimeout, TIMEOUT, d.attemptTimeout),
    maxRetryAfter: check<number>('maxRetryAfter', o.maxRetryAfter, AT_LEAST_ZERO, d.maxRetryAfter),
    registry: withMethods<TemporaryErrorClassifier>('registry', o.registry, ['isTemporary']),
    shouldRetry: check<RetryPredicate | undefined>('shouldRetry', o.shouldRetry, FUNCTION),
    budget: withMethods<RetryBudget>('budget', o.budget, ['tryAcquire', 'recordSuccess']),
    hooks: normalizeHooks('hooks', o.hooks),
    logger: logger as RetryLogger | undefined,
    clock: withMethods<Clock>('clock', o.clock, ['now']) ?? DEFAULT_CLOCK,
    sleep: check<SleepFunction | undefined>('sleep', o.sleep, FUNCTION),
    random: check<RandomFunction>('random', o.random, FUNCTION, Math.random),
    unref: check<boolean>('unref', o.unref, BOOLEAN, false),
  });
}
