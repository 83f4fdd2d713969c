/**
 * A hand-driven clock: time only moves when the test calls `advance`.
 *
 * It has the shape of the scheduler's injectable clock (`now`, `setTimeout`, `clearTimeout`), so
 * only the timers of the code under test run on it; sockets and other I/O keep running in real
 * time, so a test advances the clock and then waits for the I/O it expects (`vi.waitFor`,
 * `server.waitForRequests`).
 *
 * @module
 */

/** A clock whose time moves only when told to. */
export interface ManualClock {
  /** The current time in epoch milliseconds. */
  now(): number;
  /** Calls `callback` once the clock has been advanced `ms` further; returns a handle. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending timer by its handle (unknown handles are ignored). */
  clearTimeout(handle: unknown): void;
  /** Timers pending on this clock. */
  readonly pendingTimers: number;
  /** The earliest pending timer's due time, or `null`. */
  readonly nextTimerAt: number | null;
  /**
   * Moves time forward by `ms`, firing every timer that comes due in order (time is set to each
   * timer's due time as it fires; timers due at the same time fire in the order they were set)
   * and letting promises settle after each one.
   */
  advance(ms: number): Promise<void>;
  /** Moves time to `at` (no-op if it is in the past), like {@link ManualClock.advance}. */
  advanceTo(at: number): Promise<void>;
  /** Lets pending promise callbacks and immediates run without moving time. */
  settle(): Promise<void>;
}

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * Lets microtasks and a few event-loop turns run (storage and bookkeeping promises settle).
 *
 * @param turns - how many `setImmediate` turns to wait
 * @example
 * ```ts
 * void scheduler.stop();
 * await settle();
 * ```
 */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Creates a {@link ManualClock} starting at `start` (epoch ms).
 *
 * @param start - the initial time (default 2026-01-01T00:00:00Z)
 * @returns the clock
 * @example
 * ```ts
 * const clock = createManualClock(Date.UTC(2026, 0, 1));
 * const scheduler = await createScheduler({ storage, egress, clock });
 * await clock.advance(1_000);
 * ```
 */
export function createManualClock(start: number = Date.UTC(2026, 0, 1)): ManualClock {
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
