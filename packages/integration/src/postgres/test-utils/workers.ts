import { forkScript, handled, has } from '@again/test-utils';

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
  const worker = forkScript(new URL('./worker.mjs', import.meta.url), [JSON.stringify(options)]);
  // A worker that dies early rejects every promise nobody awaits yet: keep those unhandled-free.
  return {
    ready: handled(worker.waitFor(has('ready')).then(() => undefined)),
    scheduled: handled(worker.waitFor(has('scheduled')).then(() => undefined)),
    done: handled(worker.waitFor(has('done', 'errors')).then((m) => m.errors as string[])),
    kill: async () => {
      await worker.kill();
    },
  };
}
