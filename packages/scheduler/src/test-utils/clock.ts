/**
 * A hand-driven clock for scheduler tests: time only moves when the test calls `advance`.
 *
 * Only the scheduler's own timers (its wake timer, stop bound, retry sleeps) run on it; sockets
 * and other I/O keep running in real time, so a test advances the clock and then waits for the
 * I/O it expects (`vi.waitFor`, `server.waitForRequests`).
 */
import type { SchedulerClock } from '../timer.js';

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** A {@link SchedulerClock} whose time moves only when told to. */
export interface TestClock extends SchedulerClock {
  /** Timers pending on this clock. */
  readonly pendingTimers: number;
  /** The earliest pending timer's due time, or `null`. */
  readonly nextTimerAt: number | null;
  /**
   * Moves time forward by `ms`, firing every timer that comes due in order (time is set to each
   * timer's due time as it fires) and letting promises settle after each one.
   */
  advance(ms: number): Promise<void>;
  /** Moves time to `at` (no-op if it is in the past), like {@link TestClock.advance}. */
  advanceTo(at: number): Promise<void>;
  /** Lets pending promise callbacks and immediates run without moving time. */
  settle(): Promise<void>;
}

/** Lets microtasks and a few event-loop turns run (storage and bookkeeping promises settle). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Creates a {@link TestClock} starting at `start` (epoch ms).
 *
 * @param start - the initial time
 * @returns the clock
 * @example
 * ```ts
 * const clock = createTestClock(Date.UTC(2026, 0, 1));
 * const scheduler = await createScheduler({ storage, egress, clock });
 * await clock.advance(1_000);
 * ```
 */
export function createTestClock(start: number = Date.UTC(2026, 0, 1)): TestClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, PendingTimer>();

  const earliest = (): PendingTimer | undefined => {
    let best: PendingTimer | undefined;
    for (const timer of timers.values()) {
      if (
        best === undefined ||
        timer.at < best.at ||
        (timer.at === best.at && timer.id < best.id)
      ) {
        best = timer;
      }
    }
    return best;
  };

  const advanceTo = async (target: number): Promise<void> => {
    await settle();
    for (;;) {
      const timer = earliest();
      if (timer === undefined || timer.at > target) break;
      timers.delete(timer.id);
      if (timer.at > now) now = timer.at;
      timer.callback();
      await settle();
    }
    if (target > now) now = target;
    await settle();
  };

  return {
    now: (): number => now,
    setTimeout(callback: () => void, ms: number): unknown {
      const id = nextId++;
      timers.set(id, { id, at: now + Math.max(0, ms), callback });
      return id;
    },
    clearTimeout(handle: unknown): void {
      if (typeof handle === 'number') timers.delete(handle);
    },
    get pendingTimers(): number {
      return timers.size;
    },
    get nextTimerAt(): number | null {
      return earliest()?.at ?? null;
    },
    advance: (ms: number): Promise<void> => advanceTo(now + ms),
    advanceTo,
    settle: (): Promise<void> => settle(),
  };
}
