import type { NormalizedRetrierOptions } from './options.js';

/** The options that shape the delay. @internal */
export type DelayPolicy = Pick<
  NormalizedRetrierOptions,
  'interval' | 'backoff' | 'backoffFactor' | 'maxDelay' | 'jitter' | 'jitterStrategy'
>;

/** `r × t` that stays 0 (not NaN) for `0 × Infinity`. */
function scale(r: number, t: number): number {
  return r === 0 ? 0 : r * t;
}

/** Clamps a random draw into `[0, 1]` so that a faulty source cannot produce NaN delays. */
export function clampRandom(value: number): number {
  // biome-ignore lint/complexity/useMathMinMax: Math.min/max would let NaN through.
  return value > 0 ? (value < 1 ? value : 1) : 0;
}

/**
 * The delay before retry number `retryIndex + 1` (`retryIndex` is 0 for the first retry).
 *
 * The cap is applied to the base delay before jitter, and jitter never pushes a wait above
 * `maxDelay`; at the cap the waits are still spread (additive: over `[maxDelay − jitter,
 * maxDelay)`; decorrelated: over `[interval, maxDelay)`).
 *
 * @param policy - the normalized delay options.
 * @param retryIndex - 0-based index of the retry.
 * @param previous - the previous delay of this call (decorrelated jitter only; start with `interval`).
 * @param r - a random draw in `[0, 1]`.
 * @returns the delay in milliseconds (may be `Infinity` only when `maxDelay` is `Infinity`).
 * @internal
 */
export function computeDelay(
  policy: DelayPolicy,
  retryIndex: number,
  previous: number,
  r: number,
): number {
  const { interval, maxDelay } = policy;
  if (policy.jitterStrategy === 'decorrelated') {
    // The upper bound is capped, not the result, so callers at the cap still spread out.
    return interval + scale(r, Math.min(maxDelay, previous * 3) - interval);
  }
  let base: number;
  switch (policy.backoff) {
    case 'constant':
      base = interval;
      break;
    case 'linear':
      base = interval * (retryIndex + 1);
      break;
    default:
      base = scale(interval, policy.backoffFactor ** retryIndex);
  }
  const capped = Math.min(maxDelay, base);
  switch (policy.jitterStrategy) {
    case 'none':
      return capped;
    case 'full':
      return scale(r, capped);
    case 'equal':
      return capped / 2 + scale(r, capped / 2);
    default: {
      // At the cap the jitter window slides below it, so callers keep spreading out instead of
      // all waiting exactly maxDelay.
      const jitter = Math.min(policy.jitter, maxDelay);
      return Math.min(capped, maxDelay - jitter) + r * jitter;
    }
  }
}
