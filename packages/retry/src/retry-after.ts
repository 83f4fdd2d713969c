import { RetryOptionsError } from './errors.js';
import { findRetryAfter, isDelay } from './hint.js';

/**
 * A server's delay hint: milliseconds to wait, or the moment to retry at.
 *
 * @example
 * ```ts
 * const hint: RetryAfterHint = new Date(Date.now() + 5_000);
 * ```
 */
export type RetryAfterHint = number | Date;

/**
 * Attaches a server delay hint to an error and returns the same error: a number of
 * **milliseconds** is stored as `retryAfterMs`, a `Date` as `retryAfter`. The retrier waits at
 * least `min(hint, maxRetryAfter)` before the next attempt, and gives up at once with reason
 * `'timeout'` when even that capped wait is longer than the time left.
 *
 * Errors you do not build yourself work without it. The retrier reads, on the error and on what
 * it wraps (`cause` chain, `AggregateError` members): `retryAfterMs` as milliseconds, else
 * `retryAfter` as a number of **seconds** (HTTP's delta-seconds, as Slack's rate-limit error and
 * most HTTP clients carry it) or a `Date`.
 *
 * @param error - the error to annotate (any object).
 * @param retryAfter - milliseconds (finite, >= 0) or a `Date`.
 * @returns `error`, now with the hint.
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
export function withRetryAfter<E extends object>(error: E, retryAfter: RetryAfterHint): E {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) {
    throw new RetryOptionsError('error', 'expected an error object', error);
  }
  const isDate = retryAfter instanceof Date && !Number.isNaN(retryAfter.getTime());
  if (!isDate && !isDelay(retryAfter)) {
    throw new RetryOptionsError(
      'retryAfter',
      'expected a finite number >= 0 or a valid Date',
      retryAfter,
    );
  }
  Object.defineProperty(error, isDate ? 'retryAfter' : 'retryAfterMs', {
    value: retryAfter,
    writable: true,
    configurable: true,
    enumerable: true,
  });
  return error;
}

/**
 * Reads the delay hint of an error the way the retrier does (see {@link withRetryAfter} for the
 * rule), converted to milliseconds from `now` (a date in the past gives 0).
 *
 * @param error - anything that was thrown.
 * @param now - the current time in epoch milliseconds (for `Date` hints).
 * @returns milliseconds to wait, or `undefined` when there is no valid hint.
 *
 * @example
 * ```ts
 * getRetryAfter(withRetryAfter(new Error('busy'), 1500)); // 1500
 * getRetryAfter(Object.assign(new Error('rate limited'), { retryAfter: 30 })); // 30000
 * ```
 */
export function getRetryAfter(error: unknown, now: number = Date.now()): number | undefined {
  const hint = findRetryAfter(error);
  if (hint === undefined || typeof hint === 'number') return hint;
  return Math.max(0, hint.getTime() - now);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// Spelled out (not MONTHS.join) so that bundlers can drop this module when it is unused.
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// RFC 9110 section 5.6.7: IMF-fixdate, then the two obsolete forms recipients must accept.
const IMF_FIXDATE = /* @__PURE__ */ new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`,
);
const RFC850 = /* @__PURE__ */ new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
);
const ASCTIME = /* @__PURE__ */ new RegExp(
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
