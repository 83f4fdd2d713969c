/** Small helpers shared by the adapter tests. */

import type { DueClaim, JobStore, NewJob } from '@again/storage';
import type pg from 'pg';

/** A job due at `nextRunAt` (default: long ago, so it is due on any clock). */
export function job(id: string, nextRunAt = 1_000, now = 0): NewJob {
  return { id, spec: { kind: 'test', id }, nextRunAt, now };
}

/** A planner that runs each due occurrence and moves the job on by a minute. */
export const runEach: DueClaim['plan'] = (due) => ({
  run: { scheduledAt: due.nextRunAt, occurrenceId: `${due.id}@${due.nextRunAt}` },
  skipped: [],
  nextRunAt: due.nextRunAt + 60_000,
});

/** Claims every due job as `owner`. */
export function claimAll(
  store: JobStore,
  owner: string,
  options: { now?: number; leaseDuration?: number; limit?: number } = {},
): ReturnType<JobStore['claimDue']> {
  return store.claimDue({
    owner,
    now: options.now ?? 10_000,
    limit: options.limit ?? 1000,
    leaseDuration: options.leaseDuration ?? 30_000,
    plan: runEach,
  });
}

/** The database's clock in ms, as the store reads it. */
export async function databaseNow(admin: pg.Pool): Promise<number> {
  const { rows } = await admin.query<{ now: string }>(
    'select floor(extract(epoch from clock_timestamp()) * 1000)::bigint as now',
  );
  return Number(rows[0]?.now);
}

/** Backends whose last statement was the LISTEN of `schema`'s channel. */
export async function listenerPids(admin: pg.Pool, schema: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    'select pid from pg_stat_activity where query = $1 order by pid',
    [`LISTEN "${schema}.again_wake"`],
  );
  return rows.map((row) => row.pid);
}
