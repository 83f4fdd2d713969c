import { RetryOptionsError } from './errors.js';

/**
 * A server's delay hint carried by an error: milliseconds to wait, or the moment to retry at.
 *
 * @example
 * ```ts
 * const hint: RetryAfterHint = new Date(Date.now() + 5_000);
 * ```
 */
export type RetryAfterHint = number | Date;

/**
 * Attaches a server delay hint to an error, as a `retryAfter` property, and returns the same
 * error. The retrier waits at least that long before the next attempt (up to `maxRetryAfter`),
 * and gives up at once with reason `'timeout'` when the hint is longer than the time left.
 *
 * Any error with a `retryAfter` property (a number of milliseconds or a `Date`) works the same,
 * also when it sits deeper in the `cause` chain.
 *
 * @param error - the error to annotate (any object).
 * @param retryAfter - milliseconds (finite, >= 0) or a `Date`.
 * @returns `error`, now with `retryAfter`.
 * @throws {@link RetryOptionsError} when `error` is not an object or `retryAfter` is not a finite
 *   non-negative number or a valid `Date`.
 *
 * @example
 * ```ts
 * const response = await fetch(url, { signal });
 * if (response.status === 429) {
 *   const hint = parseRetryAfter(response.headers.get('retry-after'));
 *   const error = new Error('rate limited');
 *   throw hint === undefined ? error : withRetryAfter(error, hint);
 * }
 * ```
 */
export function withRetryAfter<E extends object>(
  error: E,
  retryAfter: RetryAfterHint,
): E & { retryAfter: RetryAfterHint } {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) {
    throw new RetryOptionsError('error', 'expected an error object', error);
  }
  if (!isValidHint(retryAfter)) {
    throw new RetryOptionsError(
      'retryAfter',
      'expected a finite number >= 0 (milliseconds) or a valid Date',
      retryAfter,
    );
  }
  Object.defineProperty(error, 'retryAfter', {
    value: retryAfter,
    writable: true,
    configurable: true,
    enumerable: true,
  });
  return error as E & { retryAfter: RetryAfterHint };
}

function isValidHint(value: unknown): value is RetryAfterHint {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0;
  return value instanceof Date && !Number.isNaN(value.getTime());
}

const MAX_CAUSE_DEPTH = 32;

/** The first valid `retryAfter` on the error or its `cause` chain, unconverted. @internal */
export function findRetryAfter(error: unknown): RetryAfterHint | undefined {
  let current = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH; depth++) {
    if ((typeof current !== 'object' && typeof current !== 'function') || current === null) {
      return undefined;
    }
    const hint = (current as { retryAfter?: unknown }).retryAfter;
    if (isValidHint(hint)) return hint;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Reads the delay hint of an error: the first valid `retryAfter` on the error or its `cause`
 * chain, converted to milliseconds from `now` (a date in the past gives 0).
 *
 * @param error - anything that was thrown.
 * @param now - the current time in epoch milliseconds (for `Date` hints).
 * @returns milliseconds to wait, or `undefined` when there is no valid hint.
 *
 * @example
 * ```ts
 * getRetryAfter(withRetryAfter(new Error('busy'), 1500)); // 1500
 * ```
 */
export function getRetryAfter(error: unknown, now: number = Date.now()): number | undefined {
  const hint = findRetryAfter(error);
  if (hint === undefined || typeof hint === 'number') return hint;
  return Math.max(0, hint.getTime() - now);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// RFC 9110 section 5.6.7: IMF-fixdate, then the two obsolete forms recipients must accept.
const IMF_FIXDATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`,
);
const RFC850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
);
const ASCTIME = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`,
);

function utc(
  year: number,
  month: string,
  day: number,
  hh: string,
  mm: string,
  ss: string,
): number | undefined {
  const m = MONTHS.indexOf(month);
  const h = Number(hh);
  const min = Number(mm);
  const s = Number(ss);
  if (h > 23 || min > 59 || s > 60) return undefined;
  const time = Date.UTC(year, m, day, h, min, Math.min(s, 59));
  const check = new Date(time);
  // Rejects days that roll over into the next month, such as 31 Feb.
  if (check.getUTCDate() !== day || check.getUTCMonth() !== m) return undefined;
  return time;
}

function parseHttpDate(text: string, now: number): number | undefined {
  const fix = IMF_FIXDATE.exec(text);
  if (fix !== null) {
    const [, day, month, year, hh, mm, ss] = fix as unknown as string[];
    return utc(Number(year), month!, Number(day), hh!, mm!, ss!);
  }
  const rfc850 = RFC850.exec(text);
  if (rfc850 !== null) {
    const [, day, month, yy, hh, mm, ss] = rfc850 as unknown as string[];
    // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
    const currentYear = new Date(now).getUTCFullYear();
    let year = Math.floor(currentYear / 100) * 100 + Number(yy);
    if (year > currentYear + 50) year -= 100;
    return utc(year, month!, Number(day), hh!, mm!, ss!);
  }
  const asctime = ASCTIME.exec(text);
  if (asctime !== null) {
    const [, month, day, hh, mm, ss, year] = asctime as unknown as string[];
    return utc(Number(year), month!, Number(day!.trim()), hh!, mm!, ss!);
  }
  return undefined;
}

/**
 * Parses an HTTP `Retry-After` header value (RFC 9110 section 10.2.3): either delay-seconds
 * (`"120"`) or an HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`, plus the two obsolete date
 * forms). Anything else, including negative or fractional seconds, is ignored.
 *
 * @param value - the header value; `null`/`undefined` (header absent) give `undefined`.
 * @param now - the current time in epoch milliseconds, used for dates.
 * @returns milliseconds to wait (0 for a date in the past), or `undefined` when the value is
 *   absent or malformed.
 *
 * @example
 * ```ts
 * parseRetryAfter('2'); // 2000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 27, 30)); // 30000
 * parseRetryAfter('soon'); // undefined
 * ```
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : undefined;
  }
  const time = parseHttpDate(text, now);
  return time === undefined ? undefined : Math.max(0, time - now);
}
