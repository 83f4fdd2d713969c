/**
 * Occurrence planning: what one claim does with a job's due occurrences (missed-run and overlap
 * policies). Pure functions of the job definition, its counters and the time.
 *
 * @module
 */
import type { SkippedOccurrence } from '@again/storage';
import type { JobSpec } from './job-types.js';
import { MAX_TIME, nextOccurrence, occurrencesBetween, type ScheduleSpec } from './schedule.js';

/** Most cron occurrences computed per claim; a longer cron backlog is worked through in several claims. */
export const MAX_OCCURRENCES_PER_CLAIM: number = 1_000;

const encoder = new TextEncoder();
/** Visible ASCII except `%`: what an id may contain to be used in a header as is. */
const HEADER_SAFE = /^[\x21-\x24\x26-\x7e]*$/;

/** The job id as header-safe text: unchanged when it is visible ASCII without `%`. */
function headerSafeId(jobId: string): string {
  if (HEADER_SAFE.test(jobId)) return jobId;
  // Percent-encode every byte outside visible ASCII, and `%` itself, so the result is injective:
  // an unchanged id never contains `%`, an encoded one always does.
  let out = '';
  for (const char of jobId) {
    if (char !== '%' && HEADER_SAFE.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/**
 * The id of the occurrence of `jobId` scheduled at `scheduledAt`: `<jobId>@<ISO time>`. It is
 * the same on every instance and across restarts, and is sent as the `Idempotency-Key` header.
 * A job id with characters outside visible ASCII (or with `%`) is percent-encoded (UTF-8), so
 * the id is always a valid header value.
 *
 * @param jobId - the job id
 * @param scheduledAt - the occurrence's scheduled time (epoch ms)
 * @returns the occurrence id
 * @example
 * ```ts
 * occurrenceIdOf('report', Date.UTC(2026, 0, 1)); // 'report@2026-01-01T00:00:00.000Z'
 * occurrenceIdOf('rapport été', Date.UTC(2026, 0, 1)); // 'rapport%20%C3%A9t%C3%A9@2026-01-01T00:00:00.000Z'
 * ```
 */
export function occurrenceIdOf(jobId: string, scheduledAt: number): string {
  return `${headerSafeId(jobId)}@${new Date(scheduledAt).toISOString()}`;
}

/** What one claim does with a job's due occurrences. */
export interface OccurrencePlan {
  /** The occurrence to run now, or `null`. */
  readonly run: number | null;
  /** Occurrences to record as skipped, oldest first. */
  readonly skipped: SkippedOccurrence[];
  /** The job's next occurrence after this claim (may still be due: work continues). */
  readonly nextRunAt: number | null;
  /** How many due occurrences the plan computed one by one (cron only; intervals are arithmetic). */
  readonly examined: number;
}

/** Inputs of {@link planOccurrences} besides the job. */
export interface PlanContext {
  /** The current time. */
  readonly now: number;
  /** Lateness (ms) after which the latest due occurrence counts as missed. */
  readonly missedRunGrace: number;
  /** Skipped entries to write at most. */
  readonly recordLimit: number;
  /** Whether the job has runs in flight (for the `skip` overlap policy). */
  readonly busy: boolean;
  /**
   * Most cron occurrences to compute in this plan (at least 1); a longer cron backlog is worked
   * through in several claims. @defaultValue {@link MAX_OCCURRENCES_PER_CLAIM}
   */
  readonly maxExamined?: number;
}

/** The due occurrences a plan looks at: `count` times, ascending, given by `at(i)`. */
interface DueView {
  readonly count: number;
  at(index: number): number;
  /** More occurrences are due after the last one of this view (a cron backlog cut in chunks). */
  readonly truncated: boolean;
  /** Cron occurrences computed one by one. */
  readonly examined: number;
}

/** The due occurrences of an interval: arithmetic, whatever the backlog. */
function intervalView(
  schedule: Extract<ScheduleSpec, { kind: 'interval' }>,
  nextRunAt: number,
  now: number,
): DueView {
  const until = schedule.endAt === null ? now : Math.min(now, schedule.endAt, MAX_TIME);
  const count = until < nextRunAt ? 1 : Math.floor((until - nextRunAt) / schedule.every) + 1;
  return {
    count,
    at: (index) => nextRunAt + index * schedule.every,
    truncated: false,
    examined: 0,
  };
}

/** The due occurrences of a cron schedule, computed one by one up to `chunk`. */
function cronView(schedule: ScheduleSpec, nextRunAt: number, now: number, chunk: number): DueView {
  const times = { ...schedule, maxRuns: 0 } as ScheduleSpec;
  const due = [nextRunAt, ...occurrencesBetween(times, nextRunAt, now, 0, chunk - 1).due];
  const last = due[due.length - 1] as number;
  const following = nextOccurrence(times, last, 0);
  return {
    count: due.length,
    at: (index) => due[index] as number,
    truncated: following !== null && following <= now,
    examined: due.length,
  };
}

/** How many occurrences after `from` are due by `now` (at most `limit`), ignoring maxRuns. */
function dueAfter(schedule: ScheduleSpec, from: number, now: number, limit: number): number {
  return occurrencesBetween({ ...schedule, maxRuns: 0 } as ScheduleSpec, from, now, 0, limit).due
    .length;
}

/**
 * Decides what to do with a job whose `nextRunAt` is due: which occurrence to run now, which to
 * record as skipped (reason `missed` or `overlap`) and where the job goes next. Pure, and bounded:
 * an interval backlog is computed arithmetically, a cron backlog in chunks of `maxExamined`.
 *
 * Missed occurrences are those followed by another due occurrence, and the latest one when it is
 * later than `missedRunGrace`. Policies: `skip` runs none of them, `run-once` runs the latest due
 * one, `run-all` runs the latest `limit` due ones (one per claim) and skips older ones.
 *
 * @param jobId - the job id
 * @param spec - the job definition
 * @param nextRunAt - the job's due `nextRunAt`
 * @param started - occurrences started so far (for `maxRuns`)
 * @param context - the time, grace and overlap state
 * @returns the plan
 * @example
 * ```ts
 * planOccurrences('a', spec, 0, 0, { now: 35, missedRunGrace: 60_000, recordLimit: 20, busy: false });
 * ```
 */
export function planOccurrences(
  jobId: string,
  spec: JobSpec,
  nextRunAt: number,
  started: number,
  context: PlanContext,
): OccurrencePlan {
  const schedule = spec.schedule;
  const { now } = context;
  const view =
    schedule.kind === 'interval'
      ? intervalView(schedule, nextRunAt, now)
      : schedule.kind === 'cron'
        ? cronView(
            schedule,
            nextRunAt,
            now,
            Math.max(1, context.maxExamined ?? MAX_OCCURRENCES_PER_CLAIM),
          )
        : { count: 1, at: () => nextRunAt, truncated: false, examined: 0 };
  const count = view.count;
  const last = view.at(count - 1);
  const remaining =
    schedule.kind === 'once'
      ? 1 - started
      : schedule.maxRuns > 0
        ? schedule.maxRuns - started
        : Number.POSITIVE_INFINITY;

  // How many of the latest due occurrences run (one per claim: the earliest of them now).
  let toRun = 0;
  const policy = spec.missedRuns;
  if (remaining > 0 && view.truncated) {
    if (policy.policy === 'run-all') {
      // The backlog goes on past this chunk: only those of its occurrences that are among the
      // latest `limit` due overall (as far as maxRuns allows) run; look at most that far ahead.
      const wanted = Math.min(Math.max(1, policy.limit), remaining);
      toRun = Math.max(0, wanted - dueAfter(schedule, last, now, wanted));
    }
  } else if (remaining > 0) {
    if (policy.policy === 'skip') toRun = now - last <= context.missedRunGrace ? 1 : 0;
    else if (policy.policy === 'run-once') toRun = 1;
    else toRun = Math.max(1, policy.limit);
    toRun = Math.min(toRun, remaining, count);
  }

  const runIndex = toRun > 0 ? count - toRun : null;
  const missed = runIndex ?? count;
  const recorded = Math.min(missed, Math.max(1, context.recordLimit));
  const omitted = missed - recorded;
  const skipped: SkippedOccurrence[] = [];
  for (let index = omitted; index < missed; index++) {
    const time = view.at(index);
    skipped.push({
      scheduledAt: time,
      occurrenceId: occurrenceIdOf(jobId, time),
      reason: 'missed',
    });
  }
  if (omitted > 0 && skipped[0] !== undefined) {
    const first = new Date(view.at(0)).toISOString();
    const upTo = new Date(view.at(omitted - 1)).toISOString();
    skipped[0] = {
      ...skipped[0],
      reason: `missed; ${omitted} earlier missed occurrences from ${first} to ${upTo} are not listed`,
    };
  }

  const examined = view.examined;
  if (runIndex === null) {
    return { run: null, skipped, nextRunAt: nextOccurrence(schedule, last, started), examined };
  }
  const runAt = view.at(runIndex);
  if (spec.overlap === 'skip' && context.busy) {
    skipped.push({
      scheduledAt: runAt,
      occurrenceId: occurrenceIdOf(jobId, runAt),
      reason: 'overlap',
    });
    return { run: null, skipped, nextRunAt: nextOccurrence(schedule, runAt, started), examined };
  }
  return { run: runAt, skipped, nextRunAt: nextOccurrence(schedule, runAt, started + 1), examined };
}
