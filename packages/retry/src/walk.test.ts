import { describe, expect, it, vi } from 'vitest';
import { RetryError } from './errors.js';
import { findRetryAfter } from './hint.js';
import { matchesRetryOn } from './match.js';
import { createRetrier } from './retrier.js';
import { MAX_CAUSE_DEPTH, someInErrorGraph } from './walk.js';

const coded = (code: string, cause?: unknown): Error =>
  Object.assign(new Error(code, { cause }), { code });

/** `target` wrapped in `depth` errors: it sits `depth` links away from the returned error. */
function wrapped(target: unknown, depth: number): unknown {
  let error = target;
  for (let i = 0; i < depth; i++) error = new Error(`wrap ${i}`, { cause: error });
  return error;
}

/** An error whose every property read throws. */
function throwingGetters(): Error {
  const error = new Error('hostile');
  for (const key of ['code', 'name', 'cause', 'errors', 'message', 'retryAfter', 'retryAfterMs']) {
    Object.defineProperty(error, key, {
      get() {
        throw new Error(`reading ${key}`);
      },
    });
  }
  return error;
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable(new Error('gone'), {});
  revoke();
  return proxy;
}

describe('cause walks', () => {
  it(`look ${MAX_CAUSE_DEPTH} links deep, not further, for retryOn and Retry-After hints`, () => {
    expect(MAX_CAUSE_DEPTH).toBe(32);
    expect(matchesRetryOn(wrapped(coded('E1'), 32), ['E1'])).toBe(true);
    expect(matchesRetryOn(wrapped(coded('E1'), 33), ['E1'])).toBe(false);
    const hinted = Object.assign(new Error('429'), { retryAfterMs: 5 });
    expect(findRetryAfter(wrapped(hinted, 32))).toBe(5);
    expect(findRetryAfter(wrapped(hinted, 33))).toBeUndefined();
  });

  it('count AggregateError members as one link', () => {
    const inner = new AggregateError([new Error('a'), coded('E2')]);
    expect(matchesRetryOn(wrapped(inner, 31), ['E2'])).toBe(true);
    expect(matchesRetryOn(wrapped(inner, 32), ['E2'])).toBe(false);
  });

  it('survive an AggregateError with 150,000 members', { timeout: 60_000 }, () => {
    // Plain objects: 150,000 Errors would spend seconds capturing stack traces.
    const members: unknown[] = Array.from({ length: 150_000 }, (_, i) => ({ code: `M${i}` }));
    expect(matchesRetryOn(new AggregateError(members), ['E3'])).toBe(false);
    members.push(coded('E3'));
    expect(matchesRetryOn(new AggregateError(members), ['E3'])).toBe(true);
    expect(findRetryAfter(new AggregateError(members))).toBeUndefined();
  });

  it.each([
    ['getters that throw', throwingGetters],
    ['a revoked proxy', revokedProxy],
  ])('treat an error with %s as matching nothing, and go on with its neighbours', (_n, make) => {
    expect(matchesRetryOn(make(), ['E4', TypeError, new Error('x')])).toBe(false);
    expect(matchesRetryOn(new AggregateError([make(), coded('E4')]), ['E4'])).toBe(true);
    expect(findRetryAfter(make())).toBeUndefined();
    expect(someInErrorGraph(make(), () => true)).toBe(true);
  });
});

describe('a retrier given an error that throws when read', () => {
  it.each([
    ['getters that throw', throwingGetters],
    ['a revoked proxy', revokedProxy],
  ])('with %s gives up with a RetryError and calls onGiveUp', async (_n, make) => {
    const hostile = make();
    const onGiveUp = vi.fn();
    const retrier = createRetrier({ maxRetries: 1, interval: 0, hooks: { onGiveUp } });
    for (const call of [
      () => retrier.run(() => Promise.reject(hostile)),
      () => retrier.run(() => Promise.reject(hostile), { retryOn: ['E5', Error] }),
      () => retrier.settle(() => Promise.reject(hostile)).then((t) => Promise.reject(t.error)),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryError);
      expect((error as RetryError).cause).toBe(hostile);
      expect(typeof (error as RetryError).message).toBe('string');
    }
    expect(onGiveUp).toHaveBeenCalledTimes(3);
  });
});
