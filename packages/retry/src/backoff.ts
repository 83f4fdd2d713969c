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
 * The cap is applied to the base delay before jitter and to the final delay after it, so jitter
 * never pushes a wait above `maxDelay`.
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
    return Math.min(maxDelay, interval + scale(r, previous * 3 - interval));
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
    default:
      return Math.min(maxDelay, capped + r * policy.jitter);
  }
}
