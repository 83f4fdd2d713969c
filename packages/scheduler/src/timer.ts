/**
 * Time for the scheduler: a small injectable clock and the single wake-up timer.
 *
 * @module
 */

/**
 * Where the scheduler reads the time and sets its timers. Inject one in tests to drive time by
 * hand; the default {@link systemClock} reads `Date.now()` and the global timer functions.
 *
 * @example
 * ```ts
 * const clock: SchedulerClock = {
 *   now: () => Date.now(),
 *   setTimeout: (callback, ms) => setTimeout(callback, ms),
 *   clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
 * };
 * ```
 */
export interface SchedulerClock {
  /** The current time in epoch milliseconds. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending `setTimeout` by its handle (unknown handles are ignored). */
  clearTimeout(handle: unknown): void;
}

/**
 * The longest delay a JavaScript timer accepts: 2^31-1 ms (about 24.8 days). Longer delays fire
 * at once in Node.js, so the scheduler waits in steps no longer than this.
 *
 * @example
 * ```ts
 * const step = Math.min(remaining, MAX_TIMER_DELAY);
 * ```
 */
export const MAX_TIMER_DELAY: number = 2_147_483_647;

/**
 * The real clock. It looks the global timer functions up on every call, so fake timers installed
 * after import (`vi.useFakeTimers()`) are honoured.
 *
 * @example
 * ```ts
 * const scheduler = await createScheduler({ storage, egress, clock: systemClock });
 * ```
 */
export const systemClock: SchedulerClock = Object.freeze({
  now: (): number => Date.now(),
  setTimeout: (callback: () => void, ms: number): unknown => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle: unknown): void => {
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]);
  },
});

/**
 * A single timer that calls `onWake` at (or soon after) a target time.
 *
 * Setting a new target replaces the previous one, so one of these per scheduler is enough however
 * many jobs it holds. Targets further away than {@link MAX_TIMER_DELAY} are reached in steps.
 *
 * @example
 * ```ts
 * const timer: WakeTimer = createWakeTimer(systemClock, wake);
 * timer.wakeAt(Date.now() + 1_000);
 * ```
 */
export interface WakeTimer {
  /** The pending target time, or `null` when nothing is pending. */
  readonly target: number | null;
  /**
   * Wake at `at` (epoch ms), replacing any pending target; `null` cancels.
   *
   * @param at - the target time; a time in the past wakes on the next timer turn
   */
  wakeAt(at: number | null): void;
  /** Cancels the pending target, if any. */
  cancel(): void;
}

/**
 * Creates a {@link WakeTimer}.
 *
 * @param clock - where to read the time and set timers
 * @param onWake - called once the target time is reached (the target is cleared first)
 * @returns the timer, with nothing pending
 * @example
 * ```ts
 * const timer = createWakeTimer(systemClock, () => console.log('due'));
 * timer.wakeAt(Date.now() + 40 * 24 * 3_600_000); // 40 days: waits in steps below 2^31-1 ms
 * ```
 */
export function createWakeTimer(clock: SchedulerClock, onWake: () => void): WakeTimer {
  let target: number | null = null;
  let handle: unknown;
  let armed = false;

  const clear = (): void => {
    if (armed) clock.clearTimeout(handle);
    armed = false;
  };

  const arm = (): void => {
    clear();
    if (target === null) return;
    const delay = Math.min(Math.max(0, target - clock.now()), MAX_TIMER_DELAY);
    armed = true;
    handle = clock.setTimeout(fire, delay);
  };

  function fire(): void {
    armed = false;
    if (target === null) return;
    // A long wait is split: if the target is still ahead, wait again for the remainder.
    if (clock.now() < target) {
      arm();
      return;
    }
    target = null;
    onWake();
  }

  return {
    get target(): number | null {
      return target;
    },
    wakeAt(at: number | null): void {
      if (at === target && (armed || at === null)) return;
      target = at;
      arm();
    },
    cancel(): void {
      target = null;
      clear();
    },
  };
}

/**
 * Waits `ms` milliseconds on `clock`, or until `signal` aborts (then rejects with its reason).
 * A wait of 0 or less resolves at once; waits are capped at {@link MAX_TIMER_DELAY}.
 *
 * @param clock - where to set the timer
 * @param ms - how long to wait
 * @param signal - optional: stops the wait early
 * @returns a promise that resolves after the wait
 * @throws the signal's reason when it aborts
 * @example
 * ```ts
 * await sleepOn(systemClock, 100);
 * ```
 */
export function sleepOn(clock: SchedulerClock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    // Nothing to wait for: do not depend on the clock turning (a hand-driven test clock).
    if (ms <= 0) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.min(Math.max(0, ms), MAX_TIMER_DELAY),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
