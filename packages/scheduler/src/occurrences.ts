/**
 * Occurrence planning: what one claim does with a job's due occurrences (missed-run and overlap
 * policies). Pure functions of the job definition, its counters and the time.
 *
 * @module
 */
import type { SkippedOccurrence } from '@again/storage';
import type { JobSpec } from './job.js';
import { nextOccurrence, occurrencesBetween } from './schedule.js';

/** Most occurrences examined per claim; a longer backlog is worked through in several claims. */
export const MAX_OCCURRENCES_PER_CLAIM: number = 10_000;

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
}

/**
 * Decides what to do with a job whose `nextRunAt` is due: which occurrence to run now, which to
 * record as skipped (reason `missed` or `overlap`) and where the job goes next. Pure.
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
  // Enumerate due times without maxRuns: which of them may run is decided below.
  const times = schedule.kind === 'once' ? schedule : { ...schedule, maxRuns: 0 };
  const candidates = [nextRunAt];
  if (schedule.kind !== 'once') {
    const { due } = occurrencesBetween(
      times,
      nextRunAt,
      context.now,
      0,
      MAX_OCCURRENCES_PER_CLAIM - 1,
    );
    candidates.push(...due);
  }
  const last = candidates[candidates.length - 1] as number;
  const following = nextOccurrence(times, last, 0);
  // More due occurrences than one claim examines: skip this chunk, the next claim goes on.
  const truncated = following !== null && following <= context.now;
  const remaining =
    schedule.kind === 'once'
      ? 1 - started
      : schedule.maxRuns > 0
        ? schedule.maxRuns - started
        : Number.POSITIVE_INFINITY;

  let toRun: number[] = [];
  const policy = spec.missedRuns;
  if (truncated && remaining > 0 && policy.policy === 'run-all') {
    // The backlog goes on past this chunk: only those of its occurrences that are among the
    // latest `limit` due overall (as far as maxRuns allows) run; look at most that far ahead.
    const wanted = Math.min(Math.max(1, policy.limit), remaining);
    const later = occurrencesBetween(times, last, context.now, 0, wanted).due.length;
    if (wanted > later) toRun = candidates.slice(-(wanted - later));
  } else if (!truncated && remaining > 0) {
    if (policy.policy === 'skip') {
      toRun = context.now - last <= context.missedRunGrace ? [last] : [];
    } else if (policy.policy === 'run-once') {
      toRun = [last];
    } else {
      toRun = candidates.slice(-Math.max(1, policy.limit));
    }
    if (toRun.length > remaining) toRun = toRun.slice(-remaining);
  }

  const runAt = toRun[0] ?? null;
  const missed = runAt === null ? candidates : candidates.filter((time) => time < runAt);
  const skipped: SkippedOccurrence[] = [];
  const recorded = missed.slice(-Math.max(1, context.recordLimit));
  const omitted = missed.length - recorded.length;
  for (const time of recorded) {
    skipped.push({
      scheduledAt: time,
      occurrenceId: occurrenceIdOf(jobId, time),
      reason: 'missed',
    });
  }
  if (omitted > 0 && skipped[0] !== undefined) {
    const first = new Date(missed[0] as number).toISOString();
    const upTo = new Date(missed[omitted - 1] as number).toISOString();
    skipped[0] = {
      ...skipped[0],
      reason: `missed; ${omitted} earlier missed occurrences from ${first} to ${upTo} are not listed`,
    };
  }

  if (runAt !== null && spec.overlap === 'skip' && context.busy) {
    skipped.push({
      scheduledAt: runAt,
      occurrenceId: occurrenceIdOf(jobId, runAt),
      reason: 'overlap',
    });
    return { run: null, skipped, nextRunAt: nextOccurrence(schedule, runAt, started) };
  }
  if (runAt !== null) {
    return { run: runAt, skipped, nextRunAt: nextOccurrence(schedule, runAt, started + 1) };
  }
  return { run: null, skipped, nextRunAt: nextOccurrence(schedule, last, started) };
}
