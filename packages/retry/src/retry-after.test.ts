import { describe, expect, it } from 'vitest';
import { RetryOptionsError } from './errors.js';
import { getRetryAfter, parseRetryAfter, withRetryAfter } from './retry-after.js';

const NOW = Date.UTC(2015, 9, 21, 7, 27, 30); // Wed, 21 Oct 2015 07:27:30 GMT

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['2', 2000],
    ['  120 ', 120_000],
    ['Wed, 21 Oct 2015 07:28:00 GMT', 30_000],
    ['Wed, 21 Oct 2015 07:00:00 GMT', 0], // in the past
    ['Wednesday, 21-Oct-15 07:28:00 GMT', 30_000], // RFC 850
    ['Wed Oct 21 07:28:00 2015', 30_000], // asctime, read as UTC
    ['Sun Nov  6 08:49:37 1994', 0],
  ])('%o → %o ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it.each([
    [null],
    [undefined],
    [''],
    ['-1'],
    ['1.5'],
    ['soon'],
    ['2 seconds'],
    ['Wed, 31 Feb 2015 07:28:00 GMT'], // no such day
    ['Wed, 21 Oct 2015 25:28:00 GMT'], // no such hour
    ['Wed, 21 Oct 2015 07:28:00 PST'], // HTTP dates are GMT
    ['2015-10-21T07:28:00Z'], // ISO is not an HTTP-date
  ])('%o → undefined', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });

  it('puts a two-digit RFC 850 year in the right century', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseRetryAfter('Friday, 01-Jan-27 00:00:00 GMT', now)).toBe(Date.UTC(2027, 0, 1) - now);
    // 94 would be 2094, more than 50 years ahead: it means 1994, which is in the past.
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(0);
  });

  it('uses Date.now() by default', () => {
    const inOneHour = new Date(Date.now() + 3_600_000).toUTCString();
    const ms = parseRetryAfter(inOneHour);
    expect(ms).toBeGreaterThan(3_590_000);
    expect(ms).toBeLessThanOrEqual(3_600_000);
  });
});

describe('withRetryAfter / getRetryAfter', () => {
  it('attaches a hint and returns the same error', () => {
    const error = new Error('busy');
    const annotated = withRetryAfter(error, 1500);
    expect(annotated).toBe(error);
    expect((annotated as { retryAfterMs?: number }).retryAfterMs).toBe(1500);
    expect(getRetryAfter(error)).toBe(1500);
  });

  it('converts a Date hint relative to now, never below 0', () => {
    const error = withRetryAfter(new Error('busy'), new Date(NOW + 4000));
    expect(getRetryAfter(error, NOW)).toBe(4000);
    expect(getRetryAfter(error, NOW + 10_000)).toBe(0);
  });

  it('finds a hint in the cause chain', () => {
    const inner = withRetryAfter(new Error('429'), 700);
    const outer = new Error('request failed', { cause: inner });
    expect(getRetryAfter(outer)).toBe(700);
  });

  it('ignores invalid hints and non-objects', () => {
    expect(getRetryAfter(Object.assign(new Error('x'), { retryAfter: -5 }))).toBeUndefined();
    expect(getRetryAfter(Object.assign(new Error('x'), { retryAfter: '5' }))).toBeUndefined();
    expect(
      getRetryAfter(Object.assign(new Error('x'), { retryAfter: new Date(Number.NaN) })),
    ).toBeUndefined();
    expect(getRetryAfter('boom')).toBeUndefined();
    expect(getRetryAfter(undefined)).toBeUndefined();
  });

  it('stops on a cyclic cause chain', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(getRetryAfter(a)).toBeUndefined();
  });

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY], ['10'], [new Date(Number.NaN)]])(
    'rejects the hint %o with RetryOptionsError',
    (hint) => {
      try {
        withRetryAfter(new Error('x'), hint as number);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(RetryOptionsError);
        expect((error as RetryOptionsError).code).toBe('ERR_RETRY_OPTIONS');
        expect((error as RetryOptionsError).option).toBe('retryAfter');
      }
    },
  );

  it('rejects a non-object error', () => {
    expect(() => withRetryAfter('boom' as never, 1)).toThrow(RetryOptionsError);
  });
});
