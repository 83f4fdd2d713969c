import { type Exit, forkScript, handled, has } from '@again/test-utils';
import Database from 'better-sqlite3';

/** What a load worker reports when it stops (see `load-worker.mjs`). */
export interface LoadStats {
  /** Requests it started. */
  readonly sent: number;
  /** How long `stop()` took (ms). */
  readonly stopMs: number;
  /** The longest time a held run went without its lease being renewed (ms). */
  readonly longestRenewalGap: number;
  /** The event loop's longest delay (ms). */
  readonly longestLoopDelay: number;
  /** Errors it logged (the first 20). */
  readonly errors: readonly string[];
}

/** Options of a load worker (see `load-worker.mjs`). */
export interface LoadWorkerOptions {
  readonly instanceId: string;
  readonly file?: string;
  readonly jobs?: readonly unknown[];
  readonly target: string;
  readonly leaseDuration: number;
  readonly pollInterval: number;
  readonly concurrency: number;
  readonly stopTimeout: number;
  readonly runFor?: number;
  readonly writeDelay?: readonly [number, number];
  readonly historyLimit?: number;
}

/** A running load worker. */
export interface LoadWorker {
  readonly ready: Promise<void>;
  /** Resolves with the stats once the worker stopped; rejects if it dies first. */
  readonly done: Promise<LoadStats>;
  /** Resolves once the process has exited. */
  readonly exited: Promise<Exit>;
  kill(): Promise<void>;
}

/** Starts `load-worker.mjs` in a child process. */
export function startLoadWorker(options: LoadWorkerOptions): LoadWorker {
  const worker = forkScript(new URL('./load-worker.mjs', import.meta.url), [
    JSON.stringify(options),
  ]);
  return {
    ready: handled(worker.waitFor(has('ready')).then(() => undefined)),
    done: handled(worker.waitFor(has('done', 'stats')).then((m) => m.stats as LoadStats)),
    exited: worker.exited,
    kill: async () => {
      await worker.kill();
    },
  };
}

/** A ledger row, as the tests read it. */
export interface LedgerRow {
  readonly occurrence_id: string;
  readonly job_id: string;
  readonly scheduled_at: number;
  readonly status: string;
  readonly owner: string | null;
  readonly reason: string | null;
  readonly lease_until: number | null;
}

/**
 * Reads the ledger of a SQLite file, after checking the file's integrity and that no occurrence
 * appears twice.
 */
export function readLedger(file: string): {
  rows: LedgerRow[];
  integrity: unknown;
  repeated: unknown[];
} {
  const db = new Database(file, { readonly: true });
  try {
    return {
      integrity: db.pragma('integrity_check', { simple: true }),
      repeated: db
        .prepare(
          'select job_id, scheduled_at from again_runs group by job_id, scheduled_at having count(*) > 1',
        )
        .all(),
      rows: db.prepare('select * from again_runs order by job_id, sequence').all() as LedgerRow[],
    };
  } finally {
    db.close();
  }
}

/** The ledger's `running` rows held by `owner`. */
export function runningOf(file: string, owner: string): number {
  const db = new Database(file, { readonly: true });
  try {
    const row = db
      .prepare("select count(*) as n from again_runs where status = 'running' and owner = ?")
      .get(owner) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}
