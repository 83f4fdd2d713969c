import type { RetryAfterHint } from './retry-after.js';
import { hasLinks, read, someInErrorGraph } from './walk.js';

/**
 * The hint one error carries, by the documented rule: `retryAfterMs` (a number of milliseconds,
 * what `withRetryAfter` sets), else `retryAfter` as a number of **seconds** (HTTP's
 * delta-seconds, as Slack's and most clients' rate-limit errors carry it) or a `Date`.
 * @internal
 */
export function ownHint(error: unknown): RetryAfterHint | undefined {
  const ms = read(error, 'retryAfterMs');
  if (isDelay(ms)) return ms;
  const value = read(error, 'retryAfter');
  if (isDelay(value)) return value * 1000;
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value : undefined;
}

/** A finite number >= 0. @internal */
export function isDelay(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value < Number.POSITIVE_INFINITY;
}

/**
 * The first hint on the error or what it wraps (`cause` chain, `AggregateError` members, the
 * same walk as `retryOn`), in milliseconds or as a `Date`. @internal
 */
export function findRetryAfter(error: unknown): RetryAfterHint | undefined {
  // The common case, an error that wraps nothing, without the walk's closure.
  if (!hasLinks(error)) return ownHint(error);
  let hint: RetryAfterHint | undefined;
  someInErrorGraph(error, (value) => {
    hint = ownHint(value);
    return hint !== undefined;
  });
  return hint;
}
