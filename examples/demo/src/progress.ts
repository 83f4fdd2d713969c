/** Waits for what the demo needs to have seen before it moves on, with a bound. */

/** Counts finished runs per job and wakes waiters on each change. */
export interface Progress {
  /** Counts one more succeeded run of `jobId`. */
  succeeded(jobId: string): void;
  /** Succeeded runs of `jobId` seen by this process. */
  count(jobId: string): number;
  /** Marks a named moment (such as `callback`) as seen. */
  mark(name: string): void;
  has(name: string): boolean;
  /**
   * Resolves once `done()` holds; rejects after `timeout` ms, naming `what`.
   *
   * @param done - checked now and after every change
   * @param timeout - the bound in ms
   * @param what - what is waited for, for the error
   */
  until(done: () => boolean, timeout: number, what: string): Promise<void>;
}

/** A fresh progress record. */
export function createProgress(): Progress {
  const counts = new Map<string, number>();
  const marks = new Set<string>();
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const waiter of waiters) waiter();
  };
  return {
    succeeded(jobId) {
      counts.set(jobId, (counts.get(jobId) ?? 0) + 1);
      changed();
    },
    count: (jobId) => counts.get(jobId) ?? 0,
    mark(name) {
      marks.add(name);
      changed();
    },
    has: (name) => marks.has(name),
    until(done, timeout, what) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!done()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the demo waited ${timeout} ms for ${what}`));
        }, timeout);
        waiters.add(check);
        check();
      });
    },
  };
}
