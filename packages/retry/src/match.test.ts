import { describe, expect, it } from 'vitest';
import { RetryOptionsError } from './errors.js';
import { matchesRetryOn, normalizeRetryOn } from './match.js';

class NetworkError extends Error {}
class TimeoutError extends NetworkError {}
const SENTINEL = new Error('server busy');

function coded(code: string, cause?: unknown): Error {
  return Object.assign(new Error(code, { cause }), { code });
}

describe('matchesRetryOn', () => {
  it.each([
    ['the same instance', SENTINEL, [SENTINEL], true],
    ['an equal but different instance', new Error('server busy'), [SENTINEL], false],
    ['a class', new NetworkError('x'), [NetworkError], true],
    ['a subclass', new TimeoutError('x'), [NetworkError], true],
    ['an unrelated class', new TypeError('x'), [NetworkError], false],
    ['a code', coded('ECONNRESET'), ['ECONNRESET'], true],
    ['another code', coded('EPIPE'), ['ECONNRESET'], false],
    ['a code on a non-error object', { code: 'E1' }, ['E1'], true],
    ['a string thrown (not a code)', 'ECONNRESET', ['ECONNRESET'], false],
    ['undefined thrown', undefined, [NetworkError, 'X', SENTINEL], false],
    [
      'an instance deep in the cause chain',
      new Error('a', { cause: new Error('b', { cause: SENTINEL }) }),
      [SENTINEL],
      true,
    ],
    [
      'a class in the cause chain',
      new Error('wrapped', { cause: new TimeoutError('t') }),
      [TimeoutError],
      true,
    ],
    [
      'a code in the cause chain',
      new Error('fetch failed', { cause: coded('ECONNREFUSED') }),
      ['ECONNREFUSED'],
      true,
    ],
    [
      'a member of an AggregateError',
      new AggregateError([new Error('x'), SENTINEL]),
      [SENTINEL],
      true,
    ],
    [
      'a code under an AggregateError cause',
      new Error('w', { cause: new AggregateError([coded('EPIPE')]) }),
      ['EPIPE'],
      true,
    ],
  ] as const)('%s', (_name, error, matchers, expected) => {
    expect(matchesRetryOn(error, matchers as never)).toBe(expected);
  });

  it('stops on a cause that points to itself or a cycle', () => {
    const self = new Error('self') as Error & { cause?: unknown };
    self.cause = self;
    expect(matchesRetryOn(self, [NetworkError])).toBe(false);
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = new Error('b', { cause: a });
    expect(matchesRetryOn(a, ['X'])).toBe(false);
  });
});

describe('normalizeRetryOn', () => {
  it('returns a frozen copy', () => {
    const list = [NetworkError];
    const out = normalizeRetryOn(list);
    expect(out).toEqual(list);
    expect(out).not.toBe(list);
    expect(Object.isFrozen(out)).toBe(true);
  });

  it.each([
    ['not an array', NetworkError, 'callOptions.retryOn'],
    ['an arrow function (no prototype)', [() => true], 'callOptions.retryOn[0]'],
    ['a number', ['A', 42], 'callOptions.retryOn[1]'],
    ['null', [null], 'callOptions.retryOn[0]'],
  ])('rejects %s', (_name, value, option) => {
    try {
      normalizeRetryOn(value);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RetryOptionsError);
      expect((error as RetryOptionsError).option).toBe(option);
    }
  });
});
