import { RetryOptionsError } from './errors.js';
import type { ErrorClass, ErrorMatcher } from './types.js';
import { read, someInErrorGraph } from './walk.js';

/** Validates a `retryOn` list once per call and returns a frozen copy. @internal */
export function normalizeRetryOn(value: unknown): readonly ErrorMatcher[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw new RetryOptionsError('callOptions.retryOn', 'expected an array', value);
  }
  for (const [i, matcher] of value.entries()) {
    const ok =
      typeof matcher === 'string' ||
      // A class: instanceof needs an object prototype (arrow functions have none).
      (typeof matcher === 'function' &&
        typeof (matcher as { prototype?: unknown }).prototype === 'object') ||
      (typeof matcher === 'object' && matcher !== null);
    if (!ok) {
      throw new RetryOptionsError(
        `callOptions.retryOn[${i}]`,
        'expected an error instance, an error class or a code string',
        matcher,
      );
    }
  }
  return Object.freeze([...value]) as readonly ErrorMatcher[];
}

function matchesOne(error: unknown, matcher: ErrorMatcher): boolean {
  if (typeof matcher === 'string') return read(error, 'code') === matcher;
  if (typeof matcher === 'function') return error instanceof (matcher as ErrorClass);
  return error === matcher;
}

/**
 * `true` when `error`, or any error it wraps (its `cause` chain and `AggregateError` members,
 * like Go's `errors.Is` over joined errors), matches one of `matchers`: the same instance, an
 * instance of the class, or an object whose `code` equals the string. Cycles are cut and links
 * are followed 32 deep, as `@again/registry` does.
 * @internal
 */
export function matchesRetryOn(error: unknown, matchers: readonly ErrorMatcher[]): boolean {
  return someInErrorGraph(error, (value) => {
    for (const matcher of matchers) if (matchesOne(value, matcher)) return true;
    return false;
  });
}
