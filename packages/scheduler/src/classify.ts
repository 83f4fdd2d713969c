/**
 * What an attempt's error means: a policy refusal (never retried), a transient network failure
 * (retried when the job says so), the retry decision that follows, and the words recorded in a
 * run's `error`.
 *
 * @module
 */
import {
  type CallOptions,
  parseRetryAfter,
  RetryDeadlineError,
  type RetryTrace,
} from '@again/retry';
import { ResponseBodyError, RetryableStatusError, UnexpectedStatusError } from './errors.js';
import type { RetryPolicySpec } from './job-types.js';

/**
 * Says whether an error is a refusal by the URL policy: the egress's `isRefusal`. Without one,
 * nothing counts as a refusal, and errors are judged by {@link isTransientNetworkError} alone.
 *
 * @example
 * ```ts
 * const isRefusal: RefusalCheck = egress.isRefusal;
 * ```
 */
export type RefusalCheck = (error: unknown) => boolean;

/** Transport error codes worth retrying: the connection failed or broke, not the request. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** Most errors looked at in one error's `cause` chain and `AggregateError` members. */
const MAX_ERRORS = 16;

/**
 * An error, its `cause` chain and its `AggregateError` members, outermost first: bounded,
 * cycle-safe, and safe against throwing getters.
 */
function errorTree(error: unknown): unknown[] {
  const found: unknown[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && found.length < MAX_ERRORS) {
    const item = queue.shift();
    if (item === undefined || item === null || found.includes(item)) continue;
    found.push(item);
    if (typeof item !== 'object') continue;
    try {
      const { cause, errors } = item as { cause?: unknown; errors?: unknown };
      if (cause !== undefined) queue.push(cause);
      if (Array.isArray(errors)) queue.push(...errors.slice(0, MAX_ERRORS));
    } catch {
      // A hostile error object: what was found so far is all there is.
    }
  }
  return found;
}

function field(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** `isRefusal(error)`, counting a classifier that throws as a refusal (fail closed). */
function refused(error: unknown, isRefusal: RefusalCheck | null | undefined): boolean {
  if (isRefusal === undefined || isRefusal === null) return false;
  try {
    return isRefusal(error) === true;
  } catch {
    return true;
  }
}

/**
 * Whether `error` is a transport failure worth retrying: the connection was refused, reset or
 * closed, the attempt timed out (its own `request.timeout`, or undici's timeouts), the response
 * body was cut short ({@link ResponseBodyError}), DNS is temporarily unavailable, or an error
 * on the chain declares itself `temporary: true` (as `@again/url-guard`'s resolver failures do).
 * A refusal by the URL policy is never transient.
 *
 * @param error - an attempt's error.
 * @param isRefusal - the egress's refusal check, when it has one (`null`/omitted: none).
 * @returns `true` for transient network errors.
 * @example
 * ```ts
 * isTransientNetworkError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })); // true
 * ```
 */
export function isTransientNetworkError(error: unknown, isRefusal?: RefusalCheck | null): boolean {
  if (refused(error, isRefusal)) return false;
  return errorTree(error).some((item) => {
    if (item instanceof RetryDeadlineError) return item.scope === 'attempt';
    if (item instanceof ResponseBodyError) return true;
    if (field(item, 'temporary') === true) return true;
    const code = field(item, 'code');
    return typeof code === 'string' && TRANSIENT_CODES.has(code);
  });
}

/**
 * The retry decision of a job's policy for one failed attempt: a retryable status is retried, an
 * unexpected one is not, a policy refusal never is, and a transient network failure is when
 * `retryNetworkErrors` is on.
 *
 * @param policy - the job's retry policy.
 * @param error - the attempt's error.
 * @param isRefusal - the egress's refusal check, when it has one (`null`/omitted: none).
 * @returns `true` to retry (the retrier still applies `maxRetries`, its timeout and budget).
 * @example
 * ```ts
 * shouldRetryAttempt(spec.retry, new RetryableStatusError(503)); // true
 * shouldRetryAttempt(spec.retry, new UnexpectedStatusError(404)); // false
 * ```
 */
export function shouldRetryAttempt(
  policy: RetryPolicySpec,
  error: unknown,
  isRefusal?: RefusalCheck | null,
): boolean {
  if (error instanceof RetryableStatusError) return true;
  if (error instanceof UnexpectedStatusError) return false;
  return policy.retryNetworkErrors && isTransientNetworkError(error, isRefusal);
}

/**
 * The call options under which a run or a callback delivery is retried by its policy: bounded by
 * `signal`, each attempt by `attemptTimeout` (`0` keeps the retrier's own, none for data-defined
 * policies), and every error judged by {@link shouldRetryAttempt}.
 *
 * @param policy - the job's retry policy, or its callback's.
 * @param attemptTimeout - `request.timeout` or `callback.timeout` (ms).
 * @param signal - ends the whole call.
 * @param isRefusal - the egress's refusal check, when it has one.
 * @returns the options for `retrier.settle`.
 * @example
 * ```ts
 * const trace = await retrier.settle(attempt, policyCallOptions(spec.retry, 10_000, signal, null));
 * ```
 */
export function policyCallOptions<T>(
  policy: RetryPolicySpec,
  attemptTimeout: number,
  signal: AbortSignal,
  isRefusal: RefusalCheck | null | undefined,
): CallOptions<T> {
  return {
    signal,
    ...(attemptTimeout > 0 ? { attemptTimeout } : {}),
    // Every error goes to the policy's own classification (status lists, network errors).
    retryOn: [Error],
    shouldRetry: (error: unknown) => shouldRetryAttempt(policy, error, isRefusal),
  };
}

/**
 * What an answer's status means for an attempt: a 2xx is returned; a status in the policy's
 * `retryStatusCodes` throws {@link RetryableStatusError} carrying its Retry-After (as a delay from
 * `now`); any other status throws {@link UnexpectedStatusError}.
 *
 * @param response - the answer.
 * @param policy - the job's retry policy, or its callback's.
 * @param now - the time Retry-After dates are measured from (ms).
 * @returns the 2xx status.
 * @example
 * ```ts
 * return statusOutcome(response, spec.retry, deps.now());
 * ```
 */
export function statusOutcome(response: Response, policy: RetryPolicySpec, now: number): number {
  const { status } = response;
  if (status >= 200 && status < 300) return status;
  if (policy.retryStatusCodes.includes(status)) {
    throw new RetryableStatusError(
      status,
      parseRetryAfter(response.headers.get('retry-after'), now),
    );
  }
  throw new UnexpectedStatusError(status);
}

function message(item: unknown): string {
  if (item instanceof RetryDeadlineError) {
    return item.scope === 'attempt'
      ? `request timed out after ${item.timeout} ms`
      : `retry timeout of ${item.timeout} ms passed`;
  }
  const text = field(item, 'message');
  if (typeof text === 'string') return text;
  try {
    return String(item);
  } catch {
    return 'unknown error';
  }
}

/**
 * Describes an error for a run's payload: the messages along its cause chain, plus the first
 * system or transport code (`ECONNREFUSED`, `UND_ERR_SOCKET`) and, for a URL-policy refusal,
 * its reason.
 *
 * @param error - anything thrown.
 * @returns e.g. `fetch failed: connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)`.
 * @example
 * ```ts
 * describeError(new UnexpectedStatusError(404)); // 'unexpected status 404'
 * ```
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let code: string | undefined;
  for (const item of errorTree(error)) {
    const text = message(item);
    if (text !== '' && !parts.includes(text)) parts.push(text);
    const itemCode = field(item, 'code');
    const reason = field(item, 'reason');
    if (code !== undefined || typeof itemCode !== 'string') continue;
    if (typeof reason === 'string' && field(item, 'policyRefusal') === true) {
      // A URL-policy refusal: its reason (e.g. `private-address`) says more than its code.
      code = `refused: ${reason}`;
    } else if (!itemCode.startsWith('ERR_')) {
      // System and undici codes say more than their messages; our own ERR_ codes repeat them.
      code = itemCode;
    }
  }
  const text = parts.length === 0 ? 'unknown error' : parts.join(': ');
  return code !== undefined && !text.includes(code) ? `${text} (${code})` : text;
}

/** Whether `error` is the run's total deadline (the retry policy's `timeout`) firing. */
function isRunDeadline(error: unknown): boolean {
  return error instanceof RetryDeadlineError && error.scope === 'total';
}

/** What the last attempt got: its status, or its error. */
function lastOutcome(last: unknown): string {
  if (last instanceof RetryableStatusError || last instanceof UnexpectedStatusError) {
    return `last response ${last.status}`;
  }
  return `last error: ${describeError(last)}`;
}

function attemptsText(count: number): string {
  return count === 1 ? '1 attempt' : `${count} attempts`;
}

/**
 * The payload's `error` for a run that did not succeed, saying what happened: e.g.
 * `gave up after 3 attempts; last response 503`, `gave up after 2 attempts: the retry timeout of
 * 60000 ms passed; last error: request timed out after 10000 ms`, or, when the first attempt
 * failed in a way that is not retried, that attempt's error (`unexpected status 404`).
 *
 * @param trace - the retrier's trace of the run.
 * @param timeout - the run's retry budget in ms (the retrier's `timeout`), to name it.
 * @returns the text; `''` for a successful trace.
 * @example
 * ```ts
 * if (!trace.ok) payload.error = describeRunFailure(trace, retrier.options.timeout);
 * ```
 */
export function describeRunFailure(trace: RetryTrace<unknown>, timeout?: number): string {
  if (trace.ok) return '';
  const count = trace.attemptCount;
  const last = trace.last;
  // The outcome worth reporting: the last attempt's, unless the run's deadline cut it short
  // (then the one before it, if any).
  const reported = [...trace.attempts].reverse().find((error) => !isRunDeadline(error));
  const tail = reported === undefined ? '' : `; ${lastOutcome(reported)}`;
  const after = `gave up after ${attemptsText(count)}`;
  const error = trace.error;
  switch (trace.reason) {
    case 'non-retryable':
      return count === 1 ? describeError(last) : `${after}${tail}`;
    case 'exhausted':
      return error.budgetExhausted
        ? `${after}: the retry budget is empty${tail}`
        : `${after}${tail}`;
    case 'timeout': {
      const ms = timeout ?? (error.cause instanceof RetryDeadlineError ? error.cause.timeout : 0);
      const budget =
        ms > 0 && Number.isFinite(ms) ? `the retry timeout of ${ms} ms` : 'the retry timeout';
      const passed = isRunDeadline(last) || (ms > 0 && trace.elapsed >= ms);
      return passed
        ? `${after}: ${budget} passed${tail}`
        : `${after}: ${budget} leaves no time for another attempt${tail}`;
    }
    case 'stopped':
      return `${after}: the retrier was stopped${tail}`;
    default:
      return `canceled: ${describeError(error.cause)}`;
  }
}
