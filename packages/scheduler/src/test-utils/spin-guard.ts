/**
 * A test clock that counts the timers armed on it and stops arming them past a limit: a loop that
 * re-arms a timer for "now" forever shows up as a count, instead of an `advance()` that never
 * returns.
 *
 * @module
 */
import type { ManualClock } from '@again/test-utils';

/** A {@link ManualClock} that counts `setTimeout` calls. */
export interface GuardedClock extends ManualClock {
  /** How many timers were armed so far. */
  readonly armed: number;
}

/**
 * Wraps `base`; past `limit` armed timers, new timers are dropped (never fire).
 *
 * @param base - the clock to drive
 * @param limit - most timers armed before the guard drops new ones
 */
export function guardedClock(base: ManualClock, limit = 1_000): GuardedClock {
  let armed = 0;
  return {
    now: () => base.now(),
    setTimeout(callback: () => void, ms: number): unknown {
      armed++;
      return armed > limit ? undefined : base.setTimeout(callback, ms);
    },
    clearTimeout: (handle: unknown) => base.clearTimeout(handle),
    get pendingTimers() {
      return base.pendingTimers;
    },
    get nextTimerAt() {
      return base.nextTimerAt;
    },
    advance: (ms: number) => base.advance(ms),
    advanceTo: (at: number) => base.advanceTo(at),
    settle: () => base.settle(),
    get armed() {
      return armed;
    },
  };
}
