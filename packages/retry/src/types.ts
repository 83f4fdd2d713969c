import type { RetryError, RetryReason } from './errors.js';

/**
 * What every attempt receives.
 *
 * `signal` aborts when the attempt should stop: the caller's signal aborted, the retrier was
 * cancelled, the total deadline passed or the per-attempt timeout fired (its `reason` says which).
 * It is created on first read, so an attempt that never looks at it costs nothing. It is never
 * aborted after the attempt has settled.
 *
 * @example
 * ```ts
 * await retrier.run(({ signal, attempt }) => fetch(url, { signal }));
 * ```
 */
export interface AttemptContext {
  /** Aborts when this attempt should stop. */
  readonly signal: AbortSignal;
  /** The attempt number, starting at 1. */
  readonly attempt: number;
}

/**
 * The work to retry. It may return a value or a promise, and may throw or reject.
 *
 * @example
 * ```ts
 * const fn: RetryableFunction<Response> = ({ signal }) => fetch(url, { signal });
 * ```
 */
export type RetryableFunction<T> = (context: AttemptContext) => T | PromiseLike<T>;

/**
 * A source of time in milliseconds. The retrier uses it for deadlines, timings and for turning
 * Retry-After dates into delays, so it should count epoch milliseconds like `Date.now()`.
 *
 * @example
 * ```ts
 * let now = 0;
 * const clock: Clock = { now: () => now };
 * ```
 */
export interface Clock {
  /** The current time in milliseconds. */
  now(): number;
}

/**
 * Waits `ms` milliseconds. It should settle early (resolve or reject, either is fine) when
 * `signal` aborts; the retrier checks its own state afterwards.
 *
 * @example
 * ```ts
 * const delays: number[] = [];
 * const sleep: SleepFunction = async (ms) => { delays.push(ms); };
 * ```
 */
export type SleepFunction = (ms: number, signal: AbortSignal) => Promise<void>;

/**
 * Returns a number in `[0, 1)`, like `Math.random`. Values outside that range are clamped.
 *
 * @example
 * ```ts
 * const random: RandomFunction = () => 0.5;
 * ```
 */
export type RandomFunction = () => number;

/**
 * Anything that can tell whether an error is temporary. `@again/registry`'s registry satisfies
 * it; so does `{ isTemporary: (error) => error instanceof MyTransientError }`.
 *
 * @example
 * ```ts
 * const classifier: TemporaryErrorClassifier = { isTemporary: (e) => e instanceof TimeoutError };
 * ```
 */
export interface TemporaryErrorClassifier {
  /** `true` when `error` is worth retrying. */
  isTemporary(error: unknown): boolean;
}

/**
 * A constructor matched with `instanceof`.
 *
 * @example
 * ```ts
 * const matcher: ErrorClass = TypeError;
 * ```
 */
export type ErrorClass = abstract new (...args: never[]) => unknown;

/**
 * One entry of the `retryOn` call option: an error instance (matched by identity, like Go's
 * `errors.Is`), an error class (matched with `instanceof`) or a code (matched against the
 * error's `code` property). Every entry is checked against the error and what it wraps (its
 * `cause` chain and `AggregateError` members).
 *
 * @example
 * ```ts
 * const retryOn: ErrorMatcher[] = [RateLimitError, 'ECONNRESET', SERVER_BUSY];
 * ```
 */
export type ErrorMatcher = Error | ErrorClass | string;

/**
 * What `shouldRetry` learns about the failed attempt.
 *
 * @example
 * ```ts
 * const shouldRetry = (error: unknown, { attempt, retriesLeft }: RetryDecisionInfo) =>
 *   attempt < 3 || retriesLeft > 2;
 * ```
 */
export interface RetryDecisionInfo {
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  /** Retries still allowed by `maxRetries` (`Infinity` when unlimited). */
  readonly retriesLeft: number;
}

/**
 * Decides whether a failed attempt is retried, after the `retryOn` list / registry rule said it
 * may be. May be async. A predicate that throws counts as "do not retry" (and is logged).
 *
 * @example
 * ```ts
 * const shouldRetry: RetryPredicate = (error) => !(error instanceof ValidationError);
 * ```
 */
export type RetryPredicate = (
  error: unknown,
  info: RetryDecisionInfo,
) => boolean | PromiseLike<boolean>;

/**
 * Decides whether a successful attempt's value is good enough (`runUntil`, the `accept` call
 * option). Returning `false` records a {@link RetryResultError} and retries. May be async.
 *
 * @example
 * ```ts
 * const accept: AcceptFunction<Response> = (response) => response.ok;
 * ```
 */
export type AcceptFunction<T> = (value: T, attempt: number) => boolean | PromiseLike<boolean>;

/**
 * Passed to `onAttempt` before every attempt.
 *
 * @example
 * ```ts
 * const onAttempt = ({ attempt }: AttemptHookInfo) => console.log(`attempt ${attempt}`);
 * ```
 */
export interface AttemptHookInfo {
  /** The attempt about to start (1-based). */
  readonly attempt: number;
}

/**
 * Passed to `onRetry` after a failed attempt, before the wait.
 *
 * @example
 * ```ts
 * const onRetry = ({ attempt, delay }: RetryHookInfo) => metrics.retry(attempt, delay);
 * ```
 */
export interface RetryHookInfo {
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  /** Its error. */
  readonly error: unknown;
  /** The chosen wait before the next attempt, in milliseconds (backoff, jitter and hints applied). */
  readonly delay: number;
  /** Retries still allowed after this one (`Infinity` when unlimited). */
  readonly retriesLeft: number;
}

/**
 * Passed to `onSuccess` when an attempt succeeds (and its result was accepted).
 *
 * @example
 * ```ts
 * const onSuccess = ({ attempt }: SuccessHookInfo<unknown>) => metrics.attempts(attempt);
 * ```
 */
export interface SuccessHookInfo<T> {
  /** The successful attempt (1-based). */
  readonly attempt: number;
  /** Its value. */
  readonly value: T;
}

/**
 * Passed to `onGiveUp` when a call gives up.
 *
 * @example
 * ```ts
 * const onGiveUp = ({ reason, error }: GiveUpHookInfo) => log.warn(reason, error.cause);
 * ```
 */
export interface GiveUpHookInfo {
  /** Why. */
  readonly reason: RetryReason;
  /** The error the call throws (or the trace carries). */
  readonly error: RetryError;
}

/**
 * Notifications about a call. They run synchronously and are not awaited; a hook that throws
 * (or returns a rejected promise) never breaks the retry loop: the failure goes to the logger's
 * `error` method, if there is one.
 *
 * @example
 * ```ts
 * const hooks: RetryHooks = {
 *   onRetry: ({ attempt, delay, error }) => console.log(`attempt ${attempt} failed, waiting ${delay} ms`, error),
 * };
 * ```
 */
export interface RetryHooks<T = unknown> {
  /** Before every attempt. */
  readonly onAttempt?: ((info: AttemptHookInfo) => unknown) | undefined;
  /** After a failed attempt that will be retried, with the chosen delay. */
  readonly onRetry?: ((info: RetryHookInfo) => unknown) | undefined;
  /** After the successful attempt. */
  readonly onSuccess?: ((info: SuccessHookInfo<T>) => unknown) | undefined;
  /** When the call gives up, whatever the reason. */
  readonly onGiveUp?: ((info: GiveUpHookInfo) => unknown) | undefined;
}

/**
 * A logger with tslog's shape (also fits `console` and pino-like loggers). Every method is
 * optional; the retrier logs retries and give-ups at `debug` and hook failures at `error`.
 *
 * @example
 * ```ts
 * const logger: RetryLogger = { debug: (...args) => console.debug(...args) };
 * ```
 */
export interface RetryLogger {
  /** Retries and give-ups. */
  readonly debug?: ((...args: unknown[]) => unknown) | undefined;
  /** Not used by the retrier today; accepted for tslog compatibility. */
  readonly info?: ((...args: unknown[]) => unknown) | undefined;
  /** Not used by the retrier today; accepted for tslog compatibility. */
  readonly warn?: ((...args: unknown[]) => unknown) | undefined;
  /** Hooks and predicates that threw. */
  readonly error?: ((...args: unknown[]) => unknown) | undefined;
}
