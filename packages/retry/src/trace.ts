import { describe, type RetryError, type RetryReason } from './errors.js';

/**
 * Timing and outcome of one attempt, in a {@link RetryTrace}.
 *
 * @example
 * ```ts
 * for (const t of trace.timings) console.log(t.attempt, t.duration, t.delayBefore, t.ok);
 * ```
 */
export interface AttemptTiming {
  /** The attempt number (1-based). */
  readonly attempt: number;
  /** When it started, in the retrier clock's milliseconds. */
  readonly startedAt: number;
  /** How long it ran, in milliseconds. */
  readonly duration: number;
  /** The delay waited before it (0 for the first attempt). */
  readonly delayBefore: number;
  /** Whether it succeeded (and its result was accepted). */
  readonly ok: boolean;
  /** Its error when it failed, otherwise `undefined`. */
  readonly error: unknown;
}

/**
 * What every trace has, success or not. Mirrors go-again's `Errors`.
 *
 * @example
 * ```ts
 * console.log(trace.attemptCount, trace.attempts.length, trace.join()?.message);
 * ```
 */
export interface RetryTraceBase {
  /** Every failed attempt's error, oldest first (go-again's `Errors.Attempts`). */
  readonly attempts: readonly unknown[];
  /**
   * The last attempt's error when the call failed; `undefined` on success (go-again's
   * `Errors.Last`).
   */
  readonly last: unknown;
  /** How many attempts ran, successful one included. */
  readonly attemptCount: number;
  /** One entry per attempt that ran. */
  readonly timings: readonly AttemptTiming[];
  /** Milliseconds from the start of the call to its end. */
  readonly elapsed: number;
  /**
   * All attempt errors as one `AggregateError` whose message joins theirs with newlines
   * (go-again's `Errors.Join()`), or `undefined` when no attempt failed.
   */
  join(): AggregateError | undefined;
}

/**
 * A trace of a call that succeeded.
 *
 * @example
 * ```ts
 * if (trace.ok) use(trace.value);
 * ```
 */
export interface RetrySuccessTrace<T> extends RetryTraceBase {
  readonly ok: true;
  readonly value: T;
  readonly reason: undefined;
  readonly error: undefined;
}

/**
 * A trace of a call that gave up.
 *
 * @example
 * ```ts
 * if (!trace.ok) console.warn(trace.reason, trace.error.code);
 * ```
 */
export interface RetryFailureTrace extends RetryTraceBase {
  readonly ok: false;
  readonly value: undefined;
  /** Why the call gave up. */
  readonly reason: RetryReason;
  /** The error `run` would have thrown. */
  readonly error: RetryError;
}

/**
 * The non-throwing outcome of `retrier.settle()`: the value or the reason, plus every attempt's
 * error and timings. Narrow it with `ok`.
 *
 * @example
 * ```ts
 * const trace = await retrier.settle(task);
 * if (trace.ok) use(trace.value);
 * else console.warn(trace.reason, trace.join()?.message);
 * ```
 */
export type RetryTrace<T> = RetrySuccessTrace<T> | RetryFailureTrace;

function join(this: RetryTraceBase): AggregateError | undefined {
  if (this.attempts.length === 0) return undefined;
  return new AggregateError(
    [...this.attempts],
    this.attempts.map((error) => describe(error, false)).join('\n'),
  );
}

/** Builds a frozen trace. @internal */
export function createTrace<T>(
  outcome: { ok: true; value: T } | { ok: false; error: RetryError },
  errors: readonly unknown[],
  timings: readonly AttemptTiming[],
  attemptCount: number,
  elapsed: number,
): RetryTrace<T> {
  const attempts = Object.freeze([...errors]);
  const base = {
    attempts,
    last: outcome.ok ? undefined : attempts[attempts.length - 1],
    attemptCount,
    timings: Object.freeze([...timings]),
    elapsed,
    join,
  };
  const trace: RetryTrace<T> = outcome.ok
    ? { ok: true, value: outcome.value, reason: undefined, error: undefined, ...base }
    : {
        ok: false,
        value: undefined,
        reason: outcome.error.reason,
        error: outcome.error,
        ...base,
      };
  return Object.freeze(trace);
}
