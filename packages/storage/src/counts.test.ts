import { describe, expect, it } from 'vitest';
import { positiveCount } from './counts.js';

describe('positiveCount', () => {
  it('keeps whole positive counts and rounds fractions down, never below 1', () => {
    expect(positiveCount(10)).toBe(10);
    expect(positiveCount(2.5)).toBe(2);
    expect(positiveCount(0.5)).toBe(1);
  });

  it('reads absent, zero, negative, NaN and Infinity as no limit', () => {
    for (const value of [undefined, 0, -0, -3, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(positiveCount(value)).toBeUndefined();
    }
  });
});
