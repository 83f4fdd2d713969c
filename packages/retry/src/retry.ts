import { RetryOptionsError } from './errors.js';
import type { RetrierOptions } from './options.js';
import { type CallOptions, createRetrier } from './retrier.js';
import type { AcceptFunction, ErrorMatcher, RetryableFunction } from './types.js';

/**
 * Options of the one-shot {@link retry}: every retrier option plus the call's `signal`,
 * `retryOn` and `accept`.
 *
 * @example
 * ```ts
 * const options: RetryOptions<Response> = { maxRetries: 2, signal, accept: (r) => r.ok };
 * ```
 */
export interface RetryOptions<T = unknown> extends RetrierOptions {
  /** See {@link CallOptions.signal}. */
  readonly signal?: AbortSignal | undefined;
  /** See {@link CallOptions.retryOn}. */
  readonly retryOn?: readonly ErrorMatcher[] | undefined;
  /** See {@link CallOptions.accept}. */
  readonly accept?: AcceptFunction<T> | undefined;
}

/**
 * Runs `fn` with a one-off retrier. Handy for scripts; in a service, build one retrier with
 * `createRetrier` and reuse it (options are validated once, and `cancel()` reaches every call).
 *
 * @param fn - the work; receives `{ signal, attempt }`.
 * @param options - retrier options plus `signal`, `retryOn` and `accept`.
 * @returns the value of the successful attempt.
 * @throws {@link RetryError} when the call gives up; {@link RetryOptionsError} on bad options
 *   (both as rejections).
 *
 * @example
 * ```ts
 * const data = await retry(({ signal }) => fetch(url, { signal }).then((r) => r.json()), {
 *   maxRetries: 3,
 *   interval: 250,
 * });
 * ```
 */
export function retry<T>(fn: RetryableFunction<T>, options?: RetryOptions<T>): Promise<T> {
  try {
    if (options === undefined) return createRetrier().run(fn);
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new RetryOptionsError('options', 'expected an object', options);
    }
    const { signal, retryOn, accept, ...retrierOptions } = options;
    const callOptions: CallOptions<T> = { signal, retryOn, accept };
    return createRetrier(retrierOptions).run(fn, callOptions);
  } catch (error) {
    return Promise.reject(error);
  }
}
