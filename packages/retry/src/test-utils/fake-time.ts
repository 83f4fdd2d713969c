import type { Clock, SleepFunction } from '../types.js';

/** Injected time for tests: `sleep` records the delay and moves the clock at once. */
export interface FakeTime {
  readonly clock: Clock;
  readonly sleep: SleepFunction;
  /** Every delay passed to `sleep`, in order. */
  readonly delays: number[];
  /** Moves the clock forward. */
  advance(ms: number): void;
  now(): number;
}

export function createFakeTime(start = 1_000_000): FakeTime {
  let now = start;
  const delays: number[] = [];
  return {
    clock: { now: () => now },
    delays,
    advance(ms: number) {
      now += ms;
    },
    now: () => now,
    sleep: async (ms, signal) => {
      delays.push(ms);
      if (signal.aborted) throw signal.reason;
      now += ms;
    },
  };
}

/** A real AbortSignal whose abort listeners are counted. */
export interface CountingSignal {
  readonly controller: AbortController;
  readonly signal: AbortSignal;
  /** Listeners added and not removed yet. */
  readonly listeners: () => number;
  /** Listeners ever added. */
  readonly added: () => number;
}

export function countingSignal(): CountingSignal {
  const controller = new AbortController();
  const signal = controller.signal;
  const live = new Set<unknown>();
  let added = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ) => {
    if (type === 'abort') {
      added++;
      live.add(listener);
    }
    add(type, listener, options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ) => {
    if (type === 'abort') live.delete(listener);
    remove(type, listener, options);
  }) as typeof signal.removeEventListener;
  // `once` listeners remove themselves when the signal aborts.
  signal.addEventListener('abort', () => live.clear());
  live.clear();
  added = 0;
  return { controller, signal, listeners: () => live.size, added: () => added };
}

/** Resolves once the microtask queue has drained a few times. */
export async function flush(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
