/**
 * Why a call gave up.
 *
 * - `'exhausted'`: every allowed attempt failed with a retryable error (or the shared retry
 *   budget had no token left: then {@link RetryError.budgetExhausted} is `true`).
 * - `'non-retryable'`: an attempt failed with an error that the rules say not to retry.
 * - `'timeout'`: the total deadline (`timeout`) passed, or the next wait (backoff or a server's
 *   Retry-After hint) would not fit in the time left.
 * - `'aborted'`: the caller's `AbortSignal` aborted.
 * - `'stopped'`: the retrier was cancelled with `cancel()` / `stop()`.
 *
 * @example
 * ```ts
 * if (error instanceof RetryError && error.reason === 'timeout') scheduleLater();
 * ```
 */
export type RetryReason = 'exhausted' | 'non-retryable' | 'timeout' | 'aborted' | 'stopped';

/**
 * The stable `code` of a {@link RetryError}, one per {@link RetryReason}.
 *
 * @example
 * ```ts
 * const code: RetryErrorCode = RETRY_ERROR_CODES.exhausted; // 'ERR_RETRY_EXHAUSTED'
 * ```
 */
export type RetryErrorCode =
  | 'ERR_RETRY_EXHAUSTED'
  | 'ERR_RETRY_NON_RETRYABLE'
  | 'ERR_RETRY_TIMEOUT'
  | 'ERR_RETRY_ABORTED'
  | 'ERR_RETRY_STOPPED';

/**
 * The `code` of a {@link RetryError} for each reason.
 *
 * @example
 * ```ts
 * if (error instanceof RetryError && error.code === RETRY_ERROR_CODES.timeout) { ... }
 * ```
 */
export const RETRY_ERROR_CODES: Readonly<Record<RetryReason, RetryErrorCode>> =
  /* @__PURE__ */ Object.freeze({
    exhausted: 'ERR_RETRY_EXHAUSTED',
    'non-retryable': 'ERR_RETRY_NON_RETRYABLE',
    timeout: 'ERR_RETRY_TIMEOUT',
    aborted: 'ERR_RETRY_ABORTED',
    stopped: 'ERR_RETRY_STOPPED',
  });

/**
 * Context for {@link RetryError}; built by the retrier.
 *
 * @example
 * ```ts
 * new RetryError({ reason: 'exhausted', errors: [last], attempts: 1, cause: last });
 * ```
 */
export interface RetryErrorOptions {
  /** Why the call gave up. */
  readonly reason: RetryReason;
  /** Every attempt's error, oldest first. */
  readonly errors: readonly unknown[];
  /** How many attempts ran (including a successful-but-rejected result, see `runUntil`). */
  readonly attempts: number;
  /**
   * The last attempt's error, or, when no attempt failed, what ended the call (the caller's
   * abort reason, the retrier's cancel reason, or a {@link RetryDeadlineError}).
   */
  readonly cause: unknown;
  /** `true` when the call gave up because the shared retry budget was empty. */
  readonly budgetExhausted?: boolean;
}

/** A short description of anything thrown, also of objects whose getters throw. @internal */
export function describe(error: unknown, withName = true): string {
  try {
    if (error instanceof Error) return withName ? `${error.name}: ${error.message}` : error.message;
    return String(error);
  } catch {
    return 'an unreadable value';
  }
}

const REASON_TEXT: Readonly<Record<RetryReason, string>> = {
  exhausted: 'every attempt failed',
  'non-retryable': 'the error is not retryable',
  timeout: 'the deadline passed',
  aborted: 'the caller aborted',
  stopped: 'the retrier was stopped',
};

/**
 * The error a call throws when it gives up.
 *
 * An `AggregateError`: `errors` holds every attempt's error (oldest first), `cause` the last one,
 * `reason` says why the call gave up and `code` is the matching stable code from
 * {@link RETRY_ERROR_CODES}. Unlike go-again's `Errors`, nothing synthetic is appended: the reason
 * is a field, so "exhausted" and "non-retryable" are told apart by type, not by counting.
 *
 * @example
 * ```ts
 * try {
 *   await retrier.run(fetchUser);
 * } catch (error) {
 *   if (error instanceof RetryError && error.reason === 'exhausted') {
 *     console.log(`gave up after ${error.attempts} attempts`, error.cause);
 *   }
 * }
 * ```
 */
export class RetryError extends AggregateError {
  override readonly name: 'RetryError' = 'RetryError';
  /** Stable machine-readable code, one per reason. */
  declare readonly code: RetryErrorCode;
  /** Why the call gave up. */
  declare readonly reason: RetryReason;
  /** How many attempts ran. */
  declare readonly attempts: number;
  /** `true` when a retry was refused by the shared retry budget (reason `'exhausted'`). */
  declare readonly budgetExhausted: boolean;
  /** The last attempt's error (or what ended the call when no attempt failed). */
  declare readonly cause: unknown;

  /**
   * @param options - reason, errors, attempt count and cause.
   */
  constructor(options: RetryErrorOptions) {
    const budget = options.budgetExhausted === true;
    const why = budget ? 'the retry budget is empty' : REASON_TEXT[options.reason];
    const count = options.attempts === 1 ? '1 attempt' : `${options.attempts} attempts`;
    const last = options.cause === undefined ? '' : ` (last: ${describe(options.cause)})`;
    super([...options.errors], `Gave up after ${count}: ${why}${last}`, { cause: options.cause });
    // Spelled from the reason (as in RETRY_ERROR_CODES), so that the table can be tree-shaken;
    // undefined for an unknown reason, as the table would give.
    this.code = (
      Object.hasOwn(REASON_TEXT, options.reason)
        ? `ERR_RETRY_${options.reason.toUpperCase().replace('-', '_')}`
        : undefined
    ) as RetryErrorCode;
    this.reason = options.reason;
    this.attempts = options.attempts;
    this.budgetExhausted = budget;
  }
}

/**
 * Thrown by `createRetrier` / `createRetryBudget` (and returned as a rejection by calls) when an
 * option is invalid: a wrong type, a negative number, NaN, Infinity where it means nothing, or a
 * contradictory combination. `option` names the offending option.
 *
 * @example
 * ```ts
 * try {
 *   createRetrier({ maxRetries: -1 });
 * } catch (error) {
 *   if (error instanceof RetryOptionsError) console.log(error.option); // 'maxRetries'
 * }
 * ```
 */
export class RetryOptionsError extends Error {
  override readonly name: 'RetryOptionsError' = 'RetryOptionsError';
  /** Always `'ERR_RETRY_OPTIONS'`. */
  readonly code: 'ERR_RETRY_OPTIONS' = 'ERR_RETRY_OPTIONS';
  /** The option that is wrong, e.g. `'maxRetries'` or `'callOptions.signal'`. */
  declare readonly option: string;
  /**
   * What the option must be, in words, e.g. `'expected >= interval (500)'`: the message without
   * the option's name and the received value, for callers that report the problem in their own
   * terms.
   */
  declare readonly expected: string;
  /** The value that was given. */
  declare readonly received: unknown;

  /**
   * @param option - the option's name.
   * @param expected - what the option must be, in words.
   * @param received - the value that was given.
   */
  constructor(option: string, expected: string, received: unknown) {
    super(`Invalid option "${option}": ${expected} (received ${describeValue(received)})`);
    this.option = option;
    this.expected = expected;
    this.received = received;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * The abort reason an attempt's `signal` carries when the total deadline (`scope: 'total'`) or
 * the per-attempt timeout (`scope: 'attempt'`) fires.
 *
 * @example
 * ```ts
 * await retrier.run(async ({ signal }) => {
 *   signal.addEventListener('abort', () => {
 *     if (signal.reason instanceof RetryDeadlineError) console.log(signal.reason.scope);
 *   });
 * });
 * ```
 */
export class RetryDeadlineError extends Error {
  override readonly name: 'RetryDeadlineError' = 'RetryDeadlineError';
  /** Always `'ERR_RETRY_DEADLINE'`. */
  readonly code: 'ERR_RETRY_DEADLINE' = 'ERR_RETRY_DEADLINE';
  /** `'total'` for the call's `timeout`, `'attempt'` for `attemptTimeout`. */
  declare readonly scope: 'total' | 'attempt';
  /** The timeout that fired, in milliseconds. */
  declare readonly timeout: number;

  /**
   * @param scope - which timeout fired.
   * @param timeout - its length in milliseconds.
   */
  constructor(scope: 'total' | 'attempt', timeout: number) {
    super(
      scope === 'total'
        ? `The retry deadline of ${timeout} ms passed`
        : `The attempt timed out after ${timeout} ms`,
    );
    this.scope = scope;
    this.timeout = timeout;
  }
}

/**
 * The default reason of `retrier.signal` after `retrier.cancel()` / `retrier.stop()`
 * (the successor of go-again's `ErrOperationStopped`).
 *
 * @example
 * ```ts
 * retrier.cancel();
 * retrier.signal.reason instanceof RetryCancelledError; // true
 * ```
 */
export class RetryCancelledError extends Error {
  override readonly name: 'RetryCancelledError' = 'RetryCancelledError';
  /** Always `'ERR_RETRY_CANCELLED'`. */
  readonly code: 'ERR_RETRY_CANCELLED' = 'ERR_RETRY_CANCELLED';

  constructor() {
    super('The retrier was cancelled');
  }
}

/**
 * Recorded as an attempt's error when `runUntil`'s `accept` (or the `accept` call option)
 * refused the attempt's result. `value` holds that result.
 *
 * @example
 * ```ts
 * const trace = await retrier.settle(poll, { accept: (job) => job.done });
 * if (!trace.ok && trace.last instanceof RetryResultError) console.log(trace.last.value);
 * ```
 */
export class RetryResultError extends Error {
  override readonly name: 'RetryResultError' = 'RetryResultError';
  /** Always `'ERR_RETRY_RESULT_REJECTED'`. */
  readonly code: 'ERR_RETRY_RESULT_REJECTED' = 'ERR_RETRY_RESULT_REJECTED';
  /** The result that was not accepted. */
  declare readonly value: unknown;
  /** The attempt (1-based) that produced it. */
  declare readonly attempt: number;

  /**
   * @param value - the refused result.
   * @param attempt - the attempt number (1-based).
   */
  constructor(value: unknown, attempt: number) {
    super(`The result of attempt ${attempt} was not accepted`);
    this.value = value;
    this.attempt = attempt;
  }
}

/**
 * Throw it from an attempt (or from `accept`) to stop retrying at once, like p-retry's
 * `AbortError`: the call gives up with reason `'non-retryable'`, without asking `retryOn`, the
 * registry or `shouldRetry`, and without `onRetry`. The error you wrap is what the call records:
 * it is the `RetryError`'s `cause` and last entry of `errors` (the `RetryStopError` itself when
 * you wrap nothing).
 *
 * @example
 * ```ts
 * await retrier.run(async ({ signal }) => {
 *   const response = await fetch(url, { signal });
 *   if (response.status === 401) throw new RetryStopError(new Error('bad credentials'));
 *   if (!response.ok) throw new Error(`HTTP ${response.status}`); // retried
 *   return response.json();
 * });
 * ```
 */
export class RetryStopError extends Error {
  override readonly name: 'RetryStopError' = 'RetryStopError';
  /** Always `'ERR_RETRY_STOP'`. */
  readonly code: 'ERR_RETRY_STOP' = 'ERR_RETRY_STOP';

  /**
   * @param cause - the error the call should give up with; a string becomes an `Error` with
   *   that message.
   */
  constructor(cause?: unknown) {
    const error = typeof cause === 'string' ? new Error(cause) : cause;
    super(`Retrying was stopped${error === undefined ? '' : `: ${describe(error, false)}`}`, {
      cause: error,
    });
  }
}
