import { Cron } from 'croner';

/**
 * When a job runs, as plain JSON-serialisable data. All times are epoch milliseconds.
 *
 * - `interval`: every `every` ms from `startAt` (or from creation), drift-free: each occurrence is
 *   the previous *scheduled* time plus `every`, never "now" plus `every`.
 * - `cron`: wall-clock matches of a cron expression in an IANA time zone (croner semantics).
 * - `once`: a single run at `at`.
 *
 * `endAt` is inclusive: an occurrence at exactly `endAt` runs. `maxRuns` counts started runs;
 * `0` means unlimited.
 *
 * @example
 * ```ts
 * const spec: ScheduleSpec = { kind: 'interval', every: 60_000, startAt: null, endAt: null, maxRuns: 0 };
 * ```
 */
export type ScheduleSpec =
  | {
      readonly kind: 'interval';
      readonly every: number;
      readonly startAt: number | null;
      readonly endAt: number | null;
      readonly maxRuns: number;
    }
  | {
      readonly kind: 'cron';
      readonly expression: string;
      readonly timezone: string;
      readonly startAt: number | null;
      readonly endAt: number | null;
      readonly maxRuns: number;
    }
  | { readonly kind: 'once'; readonly at: number };

/** Largest time a JS `Date` can hold (epoch ms). Occurrences beyond it do not exist. */
export const MAX_TIME = 8.64e15;

const CRON_CACHE_LIMIT = 512;
/** IANA names of UTC itself. */
const UTC_ZONES: ReadonlySet<string> = new Set([
  'UTC',
  'Etc/UTC',
  'Etc/UCT',
  'UCT',
  'Etc/Universal',
  'Universal',
  'Etc/Zulu',
  'Zulu',
  'GMT',
  'Etc/GMT',
  'Etc/GMT0',
  'Etc/GMT+0',
  'Etc/GMT-0',
  'GMT0',
  'GMT+0',
  'GMT-0',
  'Etc/Greenwich',
  'Greenwich',
]);
const knownZones = new Set<string>();
const cronCache = new Map<string, Cron>();

/**
 * Returns a parsed croner instance for `expression` in `timezone`, cached (bounded) because
 * parsing is far more expensive than computing the next match.
 */
function cronFor(expression: string, timezone: string): Cron {
  const key = `${timezone}\u0000${expression}`;
  const cached = cronCache.get(key);
  if (cached !== undefined) return cached;
  // No callback: croner only starts a timer when it has a function to run; paused for clarity.
  // croner computes UTC through a fixed offset far faster (about 35x) than through a time zone.
  const cron = UTC_ZONES.has(timezone)
    ? new Cron(expression, { utcOffset: 0, paused: true })
    : new Cron(expression, { timezone, paused: true });
  if (cronCache.size >= CRON_CACHE_LIMIT) {
    const oldest = cronCache.keys().next();
    if (oldest.done !== true) cronCache.delete(oldest.value);
  }
  cronCache.set(key, cron);
  return cron;
}

/** First cron match strictly after `time`. */
function cronAfter(expression: string, timezone: string, time: number): number | null {
  if (!Number.isFinite(time) || time >= MAX_TIME) return null;
  const next = cronFor(expression, timezone).nextRun(new Date(time));
  return next === null ? null : next.getTime();
}

/**
 * Checks a cron expression and IANA time zone the way the scheduler will use them.
 *
 * @param expression - 5, 6 or 7 field cron pattern, or a nickname such as `@daily` (croner syntax).
 * @param timezone - IANA zone name, e.g. `Europe/Paris`.
 * @returns `null` when both are usable, otherwise a message describing the problem.
 * @example
 * ```ts
 * checkCron('0 9 * * 1-5', 'Europe/Paris'); // null
 * checkCron('0 9 * *', 'UTC'); // 'invalid cron expression: ...'
 * ```
 */
export function checkCron(expression: string, timezone: string): string | null {
  if (!isValidTimeZone(timezone)) return `unknown IANA time zone "${timezone}"`;
  try {
    // Parsing is the whole check (the zone was checked above); the cache keeps the parsed
    // pattern for the engine's later next-run computations.
    cronFor(expression, timezone);
    return null;
  } catch (error) {
    return `invalid cron expression: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * Whether `timezone` is an IANA zone name this runtime knows.
 *
 * @param timezone - candidate zone name.
 * @returns `true` when `Intl` accepts it.
 * @example
 * ```ts
 * isValidTimeZone('Europe/Paris'); // true
 * isValidTimeZone('Mars/Base'); // false
 * ```
 */
export function isValidTimeZone(timezone: string): boolean {
  if (timezone.length === 0 || timezone.length > 64) return false;
  if (knownZones.has(timezone)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return false;
  }
  // There are ~600 IANA names; the cap only guards against odd aliases piling up.
  if (knownZones.size < 2048) knownZones.add(timezone);
  return true;
}

function withinEnd(time: number | null, endAt: number | null): number | null {
  if (time === null || time > MAX_TIME) return null;
  if (endAt !== null && time > endAt) return null;
  return time;
}

/**
 * The first occurrence of a job created at `createdAt`.
 *
 * - interval: `startAt ?? createdAt` (like go-again, an interval job runs immediately);
 * - cron: the first match at or after `max(startAt, createdAt)`;
 * - once: `at` (even when it is in the past: the engine's missed-run policy decides).
 *
 * @param schedule - the job's schedule.
 * @param createdAt - creation time, epoch ms.
 * @returns epoch ms, or `null` when there is no occurrence (past `endAt`, cron never matches).
 * @example
 * ```ts
 * firstOccurrence({ kind: 'once', at: 1_000 }, 0); // 1000
 * ```
 */
export function firstOccurrence(schedule: ScheduleSpec, createdAt: number): number | null {
  switch (schedule.kind) {
    case 'once':
      return schedule.at;
    case 'interval':
      return withinEnd(schedule.startAt ?? createdAt, schedule.endAt);
    case 'cron': {
      const from = Math.max(schedule.startAt ?? createdAt, createdAt);
      // croner returns matches strictly after its argument (whole seconds), so step back 1 ms
      // to include a match exactly at `from`.
      return withinEnd(cronAfter(schedule.expression, schedule.timezone, from - 1), schedule.endAt);
    }
  }
}

/**
 * The occurrence after the one scheduled at `scheduledAt`.
 *
 * Drift-free: an interval's next time is `scheduledAt + every`, independent of when the run
 * actually started or finished.
 *
 * @param schedule - the job's schedule.
 * @param scheduledAt - scheduled time of the current occurrence, epoch ms.
 * @param started - occurrences started so far, including the one at `scheduledAt`.
 * @returns epoch ms, or `null` when `maxRuns` is reached, the next time is after `endAt`, or the
 *   schedule is a one-off.
 * @example
 * ```ts
 * const every = { kind: 'interval', every: 1_000, startAt: null, endAt: 2_000, maxRuns: 0 } as const;
 * nextOccurrence(every, 1_000, 1); // 2000 (endAt is inclusive)
 * nextOccurrence(every, 2_000, 2); // null
 * ```
 */
export function nextOccurrence(
  schedule: ScheduleSpec,
  scheduledAt: number,
  started: number,
): number | null {
  switch (schedule.kind) {
    case 'once':
      return null;
    case 'interval':
      if (schedule.maxRuns > 0 && started >= schedule.maxRuns) return null;
      return withinEnd(scheduledAt + schedule.every, schedule.endAt);
    case 'cron':
      if (schedule.maxRuns > 0 && started >= schedule.maxRuns) return null;
      return withinEnd(
        cronAfter(schedule.expression, schedule.timezone, scheduledAt),
        schedule.endAt,
      );
  }
}

/** Result of {@link occurrencesBetween}. */
export interface DueOccurrences {
  /** Occurrences in `(fromScheduledAt, now]`, oldest first, at most `limit`. */
  readonly due: number[];
  /**
   * The first occurrence after `now`, or `null` when the schedule is exhausted (maxRuns counting
   * the returned `due` as started, or `endAt`).
   */
  readonly next: number | null;
}

/**
 * Occurrences that came due while nobody was running them (missed-run catch-up).
 *
 * Returns the occurrences in `(fromScheduledAt, now]` (at most `limit`, oldest first, and never
 * more than `maxRuns` allows) and the first occurrence after `now`. Due occurrences beyond
 * `limit` are not listed and not counted as started. Interval schedules are computed
 * arithmetically, so a long outage costs O(limit), not O(missed).
 *
 * @param schedule - the job's schedule.
 * @param fromScheduledAt - scheduled time of the last occurrence already handled (exclusive).
 * @param now - current time, epoch ms.
 * @param started - occurrences started so far.
 * @param limit - maximum number of due occurrences to return (`0` returns none).
 * @returns the due list and the next future occurrence.
 * @example
 * ```ts
 * const every = { kind: 'interval', every: 10, startAt: null, endAt: null, maxRuns: 0 } as const;
 * occurrencesBetween(every, 0, 35, 1, 10); // { due: [10, 20, 30], next: 40 }
 * ```
 */
export function occurrencesBetween(
  schedule: ScheduleSpec,
  fromScheduledAt: number,
  now: number,
  started: number,
  limit: number,
): DueOccurrences {
  if (schedule.kind === 'once') return { due: [], next: null };
  const remaining = schedule.maxRuns > 0 ? Math.max(0, schedule.maxRuns - started) : Infinity;
  const cap = Math.max(0, Math.min(Math.floor(limit), remaining));
  const due: number[] = [];

  if (schedule.kind === 'interval') {
    const { every } = schedule;
    const lastIndex = now > fromScheduledAt ? Math.floor((now - fromScheduledAt) / every) : 0;
    for (let k = 1; k <= lastIndex && due.length < cap; k++) {
      const time = withinEnd(fromScheduledAt + k * every, schedule.endAt);
      if (time === null) break;
      due.push(time);
    }
    const next =
      due.length < remaining
        ? withinEnd(fromScheduledAt + (lastIndex + 1) * every, schedule.endAt)
        : null;
    return { due, next };
  }

  let cursor = fromScheduledAt;
  while (due.length < cap) {
    const time = withinEnd(
      cronAfter(schedule.expression, schedule.timezone, cursor),
      schedule.endAt,
    );
    if (time === null || time > now) break;
    due.push(time);
    cursor = time;
  }
  const next =
    due.length < remaining
      ? withinEnd(
          cronAfter(schedule.expression, schedule.timezone, Math.max(now, fromScheduledAt)),
          schedule.endAt,
        )
      : null;
  return { due, next };
}

/**
 * Where a changed schedule takes a job next: its first occurrence after the job's latest
 * scheduled occurrence (`after`), drift-free. An interval without `startAt` continues from
 * `after` (or from `pending`, the job's next occurrence before the change, when nothing was
 * scheduled yet); one with `startAt` keeps its grid; a cron schedule takes its next match; a
 * one-off runs at `at`. `endAt` and `maxRuns` (against `started`) apply.
 *
 * @param schedule - the new schedule
 * @param after - the latest occurrence already in the job's ledger, or `null` when none is
 * @param pending - the job's next occurrence under the old schedule, or `null`
 * @param now - the time of the change
 * @param started - occurrences started so far (for `maxRuns`)
 * @returns epoch ms, or `null` when the new schedule has no further occurrence
 * @example
 * ```ts
 * const every = { kind: 'interval', every: 300_000, startAt: null, endAt: null, maxRuns: 0 } as const;
 * occurrenceAfterChange(every, Date.UTC(2026, 0, 1, 9), null, Date.UTC(2026, 0, 1, 9, 20), 3);
 * // 09:05 (due at once: the missed-run policy decides)
 * ```
 */
export function occurrenceAfterChange(
  schedule: ScheduleSpec,
  after: number | null,
  pending: number | null,
  now: number,
  started: number,
): number | null {
  switch (schedule.kind) {
    case 'once':
      return after !== null && schedule.at <= after ? null : schedule.at;
    case 'interval': {
      if (schedule.maxRuns > 0 && started >= schedule.maxRuns) return null;
      const { every, startAt } = schedule;
      let next: number;
      if (startAt === null) next = after === null ? (pending ?? now) : after + every;
      else if (after === null || after < startAt) next = startAt;
      else next = startAt + (Math.floor((after - startAt) / every) + 1) * every;
      return withinEnd(next, schedule.endAt);
    }
    case 'cron': {
      if (schedule.maxRuns > 0 && started >= schedule.maxRuns) return null;
      const floor = schedule.startAt === null ? Number.NEGATIVE_INFINITY : schedule.startAt - 1;
      const from = Math.max(after ?? now - 1, floor);
      return withinEnd(cronAfter(schedule.expression, schedule.timezone, from), schedule.endAt);
    }
  }
}
