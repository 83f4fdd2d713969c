/**
 * Waiting for another process's write lock without blocking the event loop.
 *
 * @module
 */

/** Longest pause between two tries of a transaction that found the write lock taken (ms). */
const MAX_BUSY_PAUSE = 25;

/**
 * Whether SQLite refused for want of a lock (`SQLITE_BUSY` or one of its extended codes).
 *
 * @param error - what an operation threw
 * @returns `true` for `SQLITE_BUSY…`
 */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs `attempt` until it does not fail with `SQLITE_BUSY`, pausing asynchronously between tries
 * (jittered, growing to 25 ms), for up to `busyTimeout` ms in all; then its last failure is thrown.
 * A busy transaction wrote nothing (it never started, or was rolled back), so trying again is safe.
 *
 * @param busyTimeout - how long to keep trying (ms)
 * @param attempt - one try
 * @returns what a successful try returned
 */
export async function whileBusy<T>(busyTimeout: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + busyTimeout;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
    }
    // Jittered and growing, so processes that met at the lock do not meet again.
    const pause = Math.random() * Math.min(MAX_BUSY_PAUSE, 2 ** tries);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
