import { describe, expect, it } from 'vitest';
import { createManualClock } from './clock.js';

describe('createManualClock', () => {
  it('moves only when advanced, firing due timers in order at their due time', async () => {
    const clock = createManualClock(1_000);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 200);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 100);
    clock.setTimeout(() => fired.push(['c', clock.now()]), 200); // same time as b: set later
    const cancelled = clock.setTimeout(() => fired.push(['x', clock.now()]), 150);
    clock.clearTimeout(cancelled);
    clock.clearTimeout('not a handle');
    expect(clock.pendingTimers).toBe(3);
    expect(clock.nextTimerAt).toBe(1_100);

    await clock.advance(99);
    expect(fired).toEqual([]);
    expect(clock.now()).toBe(1_099);
    await clock.advance(500);
    expect(fired).toEqual([
      ['a', 1_100],
      ['b', 1_200],
      ['c', 1_200],
    ]);
    expect(clock.now()).toBe(1_599);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextTimerAt).toBeNull();
  });

  it('fires timers set by a firing timer within the same advance, and lets promises settle', async () => {
    const clock = createManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      void Promise.resolve().then(() => clock.setTimeout(() => fired.push(clock.now()), 10));
    }, 10);
    await clock.advance(25);
    expect(fired).toEqual([10, 20]);
  });

  it('advanceTo a time in the past moves nothing; the default start is 2026-01-01', async () => {
    const clock = createManualClock();
    expect(clock.now()).toBe(Date.UTC(2026, 0, 1));
    await clock.advanceTo(0);
    expect(clock.now()).toBe(Date.UTC(2026, 0, 1));
  });
});
