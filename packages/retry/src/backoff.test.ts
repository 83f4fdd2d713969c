import { describe, expect, it } from 'vitest';
import { clampRandom, computeDelay } from './backoff.js';
import type { RetrierOptions } from './options.js';
import { normalizeRetrierOptions } from './options.js';
import { createRetrier } from './retrier.js';
import { createFakeTime } from './test-utils/fake-time.js';

function sequence(options: RetrierOptions, count: number, r: number): number[] {
  const policy = normalizeRetrierOptions(options);
  const out: number[] = [];
  let previous = policy.interval;
  for (let k = 0; k < count; k++) {
    previous = computeDelay(policy, k, previous, r);
    out.push(previous);
  }
  return out;
}

describe('computeDelay', () => {
  it("reproduces go-again's default schedule (additive jitter fixed at 0)", () => {
    expect(sequence({}, 5, 0)).toEqual([500, 1000, 2000, 4000, 8000]);
  });

  it('adds additive jitter as r × jitter, like go-again', () => {
    expect(sequence({}, 5, 0.5)).toEqual([1000, 1500, 2500, 4500, 8500]);
  });

  it('caps the base, and jitter never pushes a wait above maxDelay', () => {
    // min(d, maxDelay − jitter) + r × jitter: 500 + 900, 1000 + 900, then 2000 + 900 at the cap.
    expect(sequence({ maxDelay: 3000 }, 6, 0.9)).toEqual([1400, 1900, 2900, 2900, 2900, 2900]);
    expect(sequence({ maxDelay: 3000 }, 6, 1)).toEqual([1500, 2000, 3000, 3000, 3000, 3000]);
  });

  it.each([
    ['additive', {}, 2000, 3000],
    ['decorrelated', { jitterStrategy: 'decorrelated' }, 500, 3000],
    ['full', { jitterStrategy: 'full' }, 0, 3000],
    ['equal', { jitterStrategy: 'equal' }, 1500, 3000],
  ] as const)(
    '%s jitter keeps spreading waits once the backoff is at maxDelay',
    (_name, options, low, high) => {
      const policy = normalizeRetrierOptions({ maxDelay: 3000, ...options });
      // Retry 20 is far past the cap; `previous` at the cap too (decorrelated).
      const at = (r: number): number => computeDelay(policy, 20, 3000, r);
      expect(at(0)).toBe(low);
      expect(at(0.5)).toBe((low + high) / 2);
      expect(at(0.999)).toBeLessThan(high);
      expect(new Set([0, 0.25, 0.5, 0.75].map(at)).size).toBe(4);
    },
  );

  it.each([
    ['constant', { backoff: 'constant', jitter: 0 }, [100, 100, 100, 100]],
    ['linear', { backoff: 'linear', jitter: 0 }, [100, 200, 300, 400]],
    ['exponential ×3', { backoffFactor: 3, jitter: 0 }, [100, 300, 900, 2700]],
    ['exponential ×1 (constant)', { backoffFactor: 1, jitter: 0 }, [100, 100, 100, 100]],
  ] as const)('%s backoff', (_name, options, expected) => {
    expect(sequence({ interval: 100, ...options }, 4, 0.5)).toEqual(expected);
  });

  it.each([
    ['none', 0.5, [100, 200, 400, 800]],
    ['full', 0.5, [50, 100, 200, 400]],
    ['full', 0, [0, 0, 0, 0]],
    ['equal', 0.5, [75, 150, 300, 600]],
    ['equal', 0, [50, 100, 200, 400]],
  ] as const)('%s jitter with r = %s', (jitterStrategy, r, expected) => {
    expect(sequence({ interval: 100, jitterStrategy }, 4, r)).toEqual(expected);
  });

  it('decorrelated jitter: interval + r × (min(cap, previous × 3) − interval)', () => {
    // r = 0.5: 100 + 0.5 × (300 − 100) = 200; 100 + 0.5 × (600 − 100) = 350; ...
    expect(sequence({ interval: 100, jitterStrategy: 'decorrelated' }, 4, 0.5)).toEqual([
      200, 350, 575, 912.5,
    ]);
    expect(sequence({ interval: 100, jitterStrategy: 'decorrelated' }, 3, 0)).toEqual([
      100, 100, 100,
    ]);
    expect(
      sequence({ interval: 100, jitterStrategy: 'decorrelated', maxDelay: 400 }, 4, 1),
    ).toEqual([300, 400, 400, 400]);
  });

  it('survives huge exponents: capped, never NaN or negative', () => {
    const policy = normalizeRetrierOptions({ interval: 1, jitter: 0 });
    expect(computeDelay(policy, 5000, 1, 0)).toBe(30_000);
    const zero = normalizeRetrierOptions({ interval: 0, jitter: 0 });
    expect(computeDelay(zero, 5000, 0, 0)).toBe(0);
    const uncapped = normalizeRetrierOptions({
      interval: 1,
      maxDelay: Number.POSITIVE_INFINITY,
      jitterStrategy: 'full',
    });
    expect(computeDelay(uncapped, 5000, 1, 0)).toBe(0);
    expect(computeDelay(uncapped, 5000, 1, 0.5)).toBe(Number.POSITIVE_INFINITY);
  });

  it('clamps a faulty random source into [0, 1]', () => {
    expect(clampRandom(Number.NaN)).toBe(0);
    expect(clampRandom(-3)).toBe(0);
    expect(clampRandom(7)).toBe(1);
    expect(clampRandom(0.25)).toBe(0.25);
  });
});

describe('delays chosen by a retrier', () => {
  it('are exactly the schedule, with jitter fixed by the injected random', async () => {
    const time = createFakeTime();
    const retrier = createRetrier({
      maxRetries: 4,
      interval: 100,
      jitter: 10,
      clock: time.clock,
      sleep: time.sleep,
      random: () => 0.5,
    });
    await expect(
      retrier.run(() => {
        throw new Error('down');
      }),
    ).rejects.toMatchObject({ reason: 'exhausted', attempts: 5 });
    expect(time.delays).toEqual([105, 205, 405, 805]);
  });

  it('keeps decorrelated state per call, not per retrier', async () => {
    const time = createFakeTime();
    const retrier = createRetrier({
      maxRetries: 2,
      interval: 100,
      jitterStrategy: 'decorrelated',
      sleep: time.sleep,
      random: () => 1,
    });
    const failing = () => {
      throw new Error('down');
    };
    await retrier.settle(failing);
    await retrier.settle(failing);
    expect(time.delays).toEqual([300, 900, 300, 900]);
  });

  it('does not call random when the strategy does not need it', async () => {
    let calls = 0;
    const time = createFakeTime();
    const retrier = createRetrier({
      maxRetries: 2,
      jitterStrategy: 'none',
      sleep: time.sleep,
      random: () => {
        calls++;
        return 0;
      },
    });
    await retrier.settle(() => Promise.reject(new Error('x')));
    expect(calls).toBe(0);
    expect(time.delays).toEqual([500, 1000]);
  });
});
