import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A forked child process and the messages it sent. */
export interface Worker {
  readonly child: ChildProcess;
  readonly messages: unknown[];
  /** Resolves with the first message that matches. */
  waitFor<T>(match: (message: unknown) => message is T): Promise<T>;
  /** Resolves when the process has exited, with its code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Forks one of the scripts in this directory (plain ESM that imports the built packages; vitest's
 * TypeScript transform does not reach child processes, and turbo builds before it tests).
 */
export function forkScript(script: string, args: readonly string[]): Worker {
  const path = fileURLToPath(new URL(script, import.meta.url));
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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    messages,
    exited,
    waitFor: <T>(match: (message: unknown) => message is T) =>
      new Promise<T>((resolve, reject) => {
        const found = messages.find(match);
        if (found !== undefined) return resolve(found);
        waiters.push({ match, resolve: resolve as (m: unknown) => void });
        // A worker that dies first would leave the wait hanging: fail with its exit instead.
        exited.then(({ code, signal }) =>
          reject(new Error(`${script} exited (code ${code}, signal ${signal}) before the message`)),
        );
      }),
  };
}

/** A type guard for IPC messages that carry `key`. */
export function has<K extends string>(key: K) {
  return (message: unknown): message is Record<K, unknown> =>
    typeof message === 'object' && message !== null && key in message;
}
