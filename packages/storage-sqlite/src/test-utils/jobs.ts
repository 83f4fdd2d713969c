import type { JobStore, NewJob, RunRecord } from '@again/storage';

/** A fixed epoch time the tests start from. */
export const T0 = 1_700_000_000_000;

/** A new job due at `T0 + 1000`. */
export function newJob(id: string, nextRunAt: number | null = T0 + 1000): NewJob {
  return { id, spec: { kind: 'test', id }, nextRunAt, now: T0 };
}

/** Options of {@link start}. */
export interface StartOptions {
  readonly owner?: string;
  readonly every?: number;
  readonly lease?: number;
}

/** Claims the job's next occurrence (interval `every`) and starts it as `owner`. */
export async function start(
  store: JobStore,
  jobId: string,
  { owner = 'instance-a', every = 1000, lease = 60_000 }: StartOptions = {},
): Promise<RunRecord> {
  const job = await store.getJob(jobId);
  const at = job?.nextRunAt;
  if (at === undefined || at === null) throw new Error(`${jobId} has no next occurrence`);
  const claimed = await store.claimOccurrence({
    jobId,
    expectedNextRunAt: at,
    nextRunAt: at + every,
    run: { scheduledAt: at, occurrenceId: `${jobId}@${at}`, owner, leaseUntil: at + lease },
    now: at,
  });
  if (claimed?.run == null) throw new Error(`claim of ${jobId}@${at} lost`);
  return claimed.run;
}

/** Starts and completes `count` occurrences; `finishedAt` defaults to 10 ms after each. */
export async function runTimes(
  store: JobStore,
  jobId: string,
  count: number,
  {
    historyLimit,
    finishedAt,
  }: { historyLimit?: number; finishedAt?: (run: RunRecord) => number } = {},
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const run = await start(store, jobId);
    const done = await store.completeRun({
      occurrenceId: run.occurrenceId,
      owner: run.owner ?? '',
      fence: run.fence,
      status: 'succeeded',
      finishedAt: finishedAt?.(run) ?? run.scheduledAt + 10,
      result: { sequence: run.sequence },
      ...(historyLimit === undefined ? {} : { historyLimit }),
    });
    if (!done) throw new Error(`completion of ${run.occurrenceId} refused`);
  }
}

/** The sequences of a history. */
export function sequences(runs: readonly RunRecord[] | undefined): number[] | undefined {
  return runs?.map((run) => run.sequence);
}
