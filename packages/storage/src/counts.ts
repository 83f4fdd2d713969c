/**
 * How stores read the counts callers pass (`limit`, `historyLimit`, `maxRowsPerJob`), so that every
 * store reads them the same way.
 *
 * @module
 */

/**
 * A count given by a caller, as a store applies it: a whole number of at least 1, or `undefined`
 * for "no limit" (absent, zero, negative, `NaN` or `Infinity`). A fraction is rounded down, but
 * never below 1 (a positive limit always allows one item).
 *
 * @param value - the count as given
 * @returns the count to apply, or `undefined` for no limit
 * @example
 * ```ts
 * positiveCount(10); // 10
 * positiveCount(2.5); // 2
 * positiveCount(0.5); // 1
 * positiveCount(0); // undefined (no limit)
 * positiveCount(Number.POSITIVE_INFINITY); // undefined (no limit)
 * ```
 */
export function positiveCount(value: number | undefined): number | undefined {
  if (value === undefined || !(value > 0) || value === Number.POSITIVE_INFINITY) return undefined;
  return Math.max(1, Math.floor(value));
}
