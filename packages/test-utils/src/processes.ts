/**
 * Child processes for tests: fork a worker script, wait for the IPC messages it sends and for its
 * exit, kill it.
 *
 * Worker scripts are plain ESM (`.mjs`) that import built packages: vitest's TypeScript transform
 * does not reach child processes, and turbo builds the packages before it tests them.
 *
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process';
import { basename, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How a child process ended: its exit code, or the signal that ended it. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A forked child process and the messages it sent. */
export interface Worker {
  readonly child: ChildProcess;
  /** Every IPC message received so far, in order. */
  readonly messages: unknown[];
  /**
   * Resolves with the first message that matches (one received already included); rejects if the
   * process exits before sending one. Not awaiting it does not leave an unhandled rejection.
   */
  waitFor<T>(match: (message: unknown) => message is T): Promise<T>;
  /** Resolves when the process has exited, with its code and signal. */
  readonly exited: Promise<Exit>;
  /** Sends `signal` (default `SIGKILL`) unless the process has exited, and waits for its exit. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

/**
 * Forks `script` with an IPC channel; its stdout and stderr go to the test's.
 *
 * @param script - the script's absolute path or `file:` URL, e.g.
 *   `new URL('./test-utils/worker.mjs', import.meta.url)`
 * @param args - its command-line arguments
 * @returns the running worker
 * @example
 * ```ts
 * const worker = forkScript(new URL('./test-utils/worker.mjs', import.meta.url), [file]);
 * await worker.waitFor(has('ready'));
 * expect(await worker.kill()).toEqual({ code: null, signal: 'SIGKILL' });
 * ```
 */
export function forkScript(script: string | URL, args: readonly string[] = []): Worker {
  const path = script instanceof URL || script.startsWith('file:') ? fileURLToPath(script) : script;
  if (!isAbsolute(path)) {
    throw new Error(`forkScript needs an absolute path or a file: URL, not ${String(script)}`);
  }
  const name = basename(path);
  const child = fork(path, [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages: unknown[] = [];
  const waiters: Array<{ match: (m: unknown) => boolean; resolve: (m: unknown) => void }> = [];
  child.on('message', (message) => {
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (waiter.match(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    messages,
    exited,
    waitFor: <T>(match: (message: unknown) => message is T): Promise<T> => {
      const received = new Promise<T>((resolve, reject) => {
        const found = messages.find(match);
        if (found !== undefined) return resolve(found);
        waiters.push({ match, resolve: resolve as (m: unknown) => void });
        // A worker that dies first would leave the wait hanging: fail with its exit instead.
        void exited.then(({ code, signal }) =>
          reject(new Error(`${name} exited (code ${code}, signal ${signal}) before the message`)),
        );
      });
      return handled(received);
    },
    kill: async (signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Marks `promise` as handled and returns it: a rejection nobody awaits yet (a worker that died
 * before its message) is not reported as unhandled, while awaiting it still throws.
 *
 * @param promise - the promise
 * @returns the same promise
 * @example
 * ```ts
 * const done = handled(worker.waitFor(has('done')).then((m) => m.done));
 * ```
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * A type guard for IPC messages that carry every one of `keys`.
 *
 * @param keys - the properties the message must have
 * @returns the guard, for {@link Worker.waitFor}
 * @example
 * ```ts
 * const { stats } = await worker.waitFor(has('done', 'stats'));
 * ```
 */
export function has<K extends string>(
  ...keys: [K, ...K[]]
): (message: unknown) => message is Record<K, unknown> {
  return (message: unknown): message is Record<K, unknown> =>
    typeof message === 'object' && message !== null && keys.every((key) => key in message);
}
