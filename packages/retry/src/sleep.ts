import { RetryOptionsError } from './errors.js';

/** Timers cannot wait longer than 2^31 - 1 ms; longer waits are chained. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A cancellable timer that handles any length (longer than 2^31 - 1 ms by chaining, `Infinity`
 * by never firing). Timers are looked up on the global object when armed, so fake timers work.
 * @internal
 */
export class Timer {
  #id: ReturnType<typeof setTimeout> | undefined;
  #left: number;
  readonly #callback: () => void;
  readonly #unref: boolean;

  /**
   * @param ms - how long to wait.
   * @param callback - what to run then.
   * @param unref - `true`: the timer does not keep the process alive.
   */
  constructor(ms: number, callback: () => void, unref = false) {
    this.#callback = callback;
    this.#left = ms;
    this.#unref = unref;
    if (ms !== Number.POSITIVE_INFINITY) this.#arm();
  }

  #arm(): void {
    const chained = this.#left > MAX_TIMER_MS;
    this.#left -= chained ? MAX_TIMER_MS : 0;
    const id = setTimeout(
      chained ? () => this.#arm() : this.#callback,
      chained ? MAX_TIMER_MS : Math.max(0, this.#left),
    );
    this.#id = id;
    if (this.#unref) unrefTimer(id);
  }

  /** Stops the timer; safe to call more than once. */
  clear(): void {
    if (this.#id !== undefined) {
      clearTimeout(this.#id);
      this.#id = undefined;
    }
  }
}

interface TimerHost {
  Deno?: { unrefTimer?: (id: number) => void };
}

/** Lets the process exit while `id` is pending: Node and Bun `unref()`, Deno `unrefTimer`. */
function unrefTimer(id: unknown): void {
  const timer = id as { unref?: () => void };
  if (typeof timer.unref === 'function') timer.unref();
  else if (typeof id === 'number') (globalThis as TimerHost).Deno?.unrefTimer?.(id);
}

interface ImmediateHost {
  setImmediate?: (callback: () => void) => unknown;
}

/**
 * Resolves after the event loop has had one turn (I/O, timers and abort events can run), without
 * a timer: `setImmediate` where the runtime has it (Node, Bun), a `MessageChannel` message
 * elsewhere (browsers, Deno, workers). Used for zero delays so that a tight retry loop never
 * starves the event loop but never pays a timer's 1 ms minimum either.
 * @internal
 */
export function yieldToEventLoop(): Promise<void> {
  const host = globalThis as ImmediateHost;
  if (typeof host.setImmediate === 'function') {
    const schedule = host.setImmediate;
    return new Promise((resolve) => {
      schedule(resolve);
    });
  }
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return Promise.resolve();
}

/**
 * Waits `ms` milliseconds, or until `signal` aborts (then it rejects with `signal.reason`).
 *
 * A delay of 0 (or less) does not use a timer: it yields one turn of the event loop. Delays
 * longer than a timer can hold (2^31 - 1 ms) are chained; `Infinity` waits for the signal.
 * This is the same waiting the retrier does by default, exported for your own code and tests.
 *
 * @param ms - milliseconds to wait.
 * @param signal - aborts the wait.
 * @returns a promise that resolves after the wait.
 * @throws {@link RetryOptionsError} (as a rejection) when `ms` is not a number or is NaN.
 *
 * @example
 * ```ts
 * await sleep(250, AbortSignal.timeout(100)); // rejects with the TimeoutError after 100 ms
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (typeof ms !== 'number' || Number.isNaN(ms)) {
    return Promise.reject(new RetryOptionsError('ms', 'expected a number', ms));
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) {
    return yieldToEventLoop().then(() => {
      if (signal?.aborted) throw signal.reason;
    });
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      timer.clear();
      reject(signal?.reason);
    };
    const timer = new Timer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
