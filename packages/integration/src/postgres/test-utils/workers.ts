import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Options of a worker process (see `worker.mjs`). */
export interface WorkerOptions {
  readonly url: string;
  readonly schema: string;
  readonly instanceId: string;
  readonly leaseDuration: number;
  readonly pollInterval: number;
  readonly concurrency: number;
  readonly target: string;
  readonly jobs: { readonly from: number; readonly to: number; readonly at: number };
}

/** A running worker process. */
export interface Worker {
  readonly ready: Promise<void>;
  readonly scheduled: Promise<void>;
  /** Resolves with the errors it logged once it stopped; rejects if it dies first. */
  readonly done: Promise<string[]>;
  /** SIGKILLs it (if still running) and waits for it to exit. */
  kill(): Promise<void>;
}

/** Starts `worker.mjs` in a child process. */
export function startWorker(options: WorkerOptions): Worker {
  const script = fileURLToPath(new URL('./worker.mjs', import.meta.url));
  const child = fork(script, [JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const message = <T>(key: string): Promise<T> => {
    const received = new Promise<T>((resolve, reject) => {
      child.on('message', (m: Record<string, unknown>) => {
        if (key in m) resolve(m as T);
      });
      void exited.then(({ code, signal }) =>
        reject(new Error(`worker exited (code ${code}, signal ${signal}) before "${key}"`)),
      );
    });
    received.catch(() => {});
    return received;
  };
  // A worker that dies early rejects every promise nobody awaits yet: keep those unhandled-free.
  const handled = <T>(promise: Promise<T>): Promise<T> => {
    promise.catch(() => {});
    return promise;
  };
  return {
    ready: handled(message('ready').then(() => undefined)),
    scheduled: handled(message('scheduled').then(() => undefined)),
    done: handled(message<{ errors: string[] }>('done').then((m) => m.errors)),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
