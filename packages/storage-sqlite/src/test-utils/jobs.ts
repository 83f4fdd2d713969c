import type { ClaimedRun, DuePlan, JobStore, NewJob, RunRecord } from '@again/storage';

/** A fixed epoch time the tests start from. */
export const T0 = 1_700_000_000_000;

/** A new job due at `T0 + 1000`. */
export function newJob(id: string, nextRunAt: number | null = T0 + 1000): NewJob {
  return { id, spec: { kind: 'test', id }, nextRunAt, now: T0 };
}

/** The plan of an interval job: run the due occurrence, the next one `every` ms later. */
export function intervalPlan(every: number) {
  return (job: { id: string; nextRunAt: number }): DuePlan => ({
    run: { scheduledAt: job.nextRunAt, occurrenceId: `${job.id}@${job.nextRunAt}` },
    skipped: [],
    nextRunAt: job.nextRunAt + every,
  });
}

/** Options of {@link start}. */
export interface StartOptions {
  readonly owner?: string;
  readonly every?: number;
  readonly lease?: number;
  readonly historyLimit?: number;
  /** Occurrences to record as skipped before the run, as offsets from its due time. */
  readonly skip?: readonly number[];
}

/**
 * Claims the job's due occurrence (interval `every`) at its due time and starts it as `owner`;
 * other due jobs are left alone.
 */
export async function start(
  store: JobStore,
  jobId: string,
  {
    owner = 'instance-a',
    every = 1000,
    lease = 60_000,
    historyLimit,
    skip = [],
  }: StartOptions = {},
): Promise<ClaimedRun> {
  const job = await store.getJob(jobId);
  const at = job?.nextRunAt;
  if (at === undefined || at === null) throw new Error(`${jobId} has no next occurrence`);
  const result = await store.claimDue({
    owner,
    now: at,
    limit: 10_000,
    leaseDuration: lease,
    ...(historyLimit === undefined ? {} : { historyLimit }),
    plan: (due) =>
      due.id !== jobId
        ? null
        : {
            ...intervalPlan(every)(due),
            skipped: skip.map((offset) => ({
              scheduledAt: at + offset,
              occurrenceId: `${jobId}@${at + offset}`,
              reason: 'missed',
            })),
          },
  });
  const run = result.runs.find((claimed) => claimed.jobId === jobId);
  if (run === undefined) throw new Error(`claim of ${jobId}@${at} lost`);
  return run;
}

/** Completes a claimed run as `owner`. */
export async function complete(
  store: JobStore,
  run: ClaimedRun,
  {
    owner = 'instance-a',
    finishedAt = run.scheduledAt + 10,
    historyLimit,
  }: { owner?: string; finishedAt?: number; historyLimit?: number } = {},
): Promise<boolean> {
  const [recorded] = await store.completeRuns([
    {
      occurrenceId: run.occurrenceId,
      owner,
      fence: run.fence,
      status: 'succeeded',
      finishedAt,
      result: { sequence: run.sequence },
      ...(historyLimit === undefined ? {} : { historyLimit }),
    },
  ]);
  return recorded === true;
}

/** Starts and completes `count` occurrences; `finishedAt` defaults to 10 ms after each. */
export async function runTimes(
  store: JobStore,
  jobId: string,
  count: number,
  {
    historyLimit,
    finishedAt,
  }: { historyLimit?: number; finishedAt?: (run: ClaimedRun) => number } = {},
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const run = await start(store, jobId);
    const done = await complete(store, run, {
      finishedAt: finishedAt?.(run) ?? run.scheduledAt + 10,
      ...(historyLimit === undefined ? {} : { historyLimit }),
    });
    if (!done) throw new Error(`completion of ${run.occurrenceId} refused`);
  }
}

/** The sequences of a history. */
export function sequences(runs: readonly RunRecord[] | undefined): number[] | undefined {
  return runs?.map((run) => run.sequence);
}
