import { describe, expect, it } from 'vitest';
import {
  checkCron,
  firstOccurrence,
  isValidTimeZone,
  MAX_TIME,
  nextOccurrence,
  occurrencesBetween,
  type ScheduleSpec,
} from './schedule.js';

const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function interval(
  every: number,
  extra: Partial<{ startAt: number | null; endAt: number | null; maxRuns: number }> = {},
): ScheduleSpec {
  return { kind: 'interval', every, startAt: null, endAt: null, maxRuns: 0, ...extra };
}

function cron(
  expression: string,
  timezone: string,
  extra: Partial<{ startAt: number | null; endAt: number | null; maxRuns: number }> = {},
): ScheduleSpec {
  return { kind: 'cron', expression, timezone, startAt: null, endAt: null, maxRuns: 0, ...extra };
}

/** Follows nextOccurrence from the first occurrence, like the engine does. */
function run(schedule: ScheduleSpec, createdAt: number, max = 20): number[] {
  const times: number[] = [];
  let current = firstOccurrence(schedule, createdAt);
  while (current !== null && times.length < max) {
    times.push(current);
    current = nextOccurrence(schedule, current, times.length);
  }
  return times;
}

describe('firstOccurrence', () => {
  it.each([
    ['interval without startAt runs at creation', interval(1_000), 5_000, 5_000],
    ['interval with future startAt', interval(1_000, { startAt: 9_000 }), 5_000, 9_000],
    [
      'interval with past startAt keeps startAt (missed-run policy decides)',
      interval(1_000, { startAt: 1_000 }),
      5_000,
      1_000,
    ],
    [
      'interval whose startAt is after endAt',
      interval(1_000, { startAt: 9_000, endAt: 8_000 }),
      0,
      null,
    ],
    ['interval created after endAt', interval(1_000, { endAt: 4_000 }), 5_000, null],
    ['interval startAt === endAt', interval(1_000, { startAt: 7_000, endAt: 7_000 }), 0, 7_000],
    ['once in the future', { kind: 'once', at: 9_000 } as const, 5_000, 9_000],
    ['once in the past is still returned', { kind: 'once', at: 1_000 } as const, 5_000, 1_000],
  ])('%s', (_name, schedule, createdAt, expected) => {
    expect(firstOccurrence(schedule, createdAt)).toBe(expected);
  });

  it('cron: first match at or after creation', () => {
    const daily = cron('0 9 * * *', 'UTC');
    expect(iso(firstOccurrence(daily, t('2026-01-10T08:00:00Z')))).toBe('2026-01-10T09:00:00.000Z');
    // A match exactly at the creation time counts.
    expect(iso(firstOccurrence(daily, t('2026-01-10T09:00:00Z')))).toBe('2026-01-10T09:00:00.000Z');
    expect(iso(firstOccurrence(daily, t('2026-01-10T09:00:00.001Z')))).toBe(
      '2026-01-11T09:00:00.000Z',
    );
  });

  it('cron: startAt later than creation moves the first match', () => {
    const daily = cron('0 9 * * *', 'UTC', { startAt: t('2026-02-01T00:00:00Z') });
    expect(iso(firstOccurrence(daily, t('2026-01-10T08:00:00Z')))).toBe('2026-02-01T09:00:00.000Z');
  });

  it('cron: a past startAt does not bring back old matches', () => {
    const daily = cron('0 9 * * *', 'UTC', { startAt: t('2025-01-01T00:00:00Z') });
    expect(iso(firstOccurrence(daily, t('2026-01-10T10:00:00Z')))).toBe('2026-01-11T09:00:00.000Z');
  });

  it('cron: null when the first match is after endAt or never comes', () => {
    expect(
      firstOccurrence(
        cron('0 9 * * *', 'UTC', { endAt: t('2026-01-10T08:59:59Z') }),
        t('2026-01-10T08:00:00Z'),
      ),
    ).toBeNull();
    expect(firstOccurrence(cron('0 0 30 2 *', 'UTC'), t('2026-01-01T00:00:00Z'))).toBeNull();
  });
});

describe('interval arithmetic', () => {
  it('is drift-free: next = previous scheduled + every, whenever the run happened', () => {
    const schedule = interval(1_000);
    // The engine passes the scheduled time, never "now", so lateness does not accumulate.
    expect(nextOccurrence(schedule, 10_000, 1)).toBe(11_000);
    expect(nextOccurrence(schedule, 11_000, 2)).toBe(12_000);
    expect(run(interval(250, { startAt: 1_000 }), 0, 5)).toEqual([
      1_000, 1_250, 1_500, 1_750, 2_000,
    ]);
  });

  it.each([
    [
      'endAt inclusive: occurrence exactly at endAt runs',
      { startAt: 0, endAt: 3_000 },
      [0, 1_000, 2_000, 3_000],
    ],
    ['endAt between occurrences', { startAt: 0, endAt: 2_500 }, [0, 1_000, 2_000]],
    ['startAt === endAt gives exactly one run', { startAt: 5_000, endAt: 5_000 }, [5_000]],
    ['maxRuns counts started runs', { startAt: 0, maxRuns: 3 }, [0, 1_000, 2_000]],
    ['maxRuns 1 is a one-shot', { startAt: 0, maxRuns: 1 }, [0]],
    ['maxRuns and endAt: the tighter wins', { startAt: 0, endAt: 10_000, maxRuns: 2 }, [0, 1_000]],
    ['endAt tighter than maxRuns', { startAt: 0, endAt: 1_000, maxRuns: 5 }, [0, 1_000]],
  ])('%s', (_name, extra, expected) => {
    expect(run(interval(1_000, extra), 0)).toEqual(expected);
  });

  it('stops at the largest representable time', () => {
    expect(nextOccurrence(interval(1_000), MAX_TIME - 10, 1)).toBeNull();
  });

  it('once never has a next occurrence', () => {
    expect(nextOccurrence({ kind: 'once', at: 5 }, 5, 1)).toBeNull();
    expect(run({ kind: 'once', at: 5 }, 0)).toEqual([5]);
  });
});

describe('cron in Europe/Paris across DST', () => {
  it('daily 09:00 local shifts from 08:00Z to 07:00Z on the spring change (2026-03-29)', () => {
    const times = run(cron('0 9 * * *', 'Europe/Paris'), t('2026-03-27T12:00:00Z'), 4).map(iso);
    expect(times).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
      '2026-03-31T07:00:00.000Z',
    ]);
  });

  it('a time inside the spring gap (02:30) is not lost: it fires at 03:30 CEST that day', () => {
    const times = run(cron('30 2 * * *', 'Europe/Paris'), t('2026-03-28T12:00:00Z'), 3).map(iso);
    expect(times).toEqual([
      '2026-03-29T01:30:00.000Z', // 03:30 CEST (02:30 does not exist)
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('a time inside the repeated autumn hour (02:30) runs once, not twice (2026-10-25)', () => {
    const times = run(cron('30 2 * * *', 'Europe/Paris'), t('2026-10-24T12:00:00Z'), 3).map(iso);
    expect(times).toEqual([
      '2026-10-25T00:30:00.000Z', // first 02:30 (CEST); the second 02:30 (CET) is not repeated
      '2026-10-26T01:30:00.000Z', // 02:30 CET
      '2026-10-27T01:30:00.000Z',
    ]);
  });

  it('daily 09:00 local goes back to 08:00Z after the autumn change', () => {
    const times = run(cron('0 9 * * *', 'Europe/Paris'), t('2026-10-24T00:00:00Z'), 2).map(iso);
    expect(times).toEqual(['2026-10-24T07:00:00.000Z', '2026-10-25T08:00:00.000Z']);
  });

  it('same expression in UTC does not move', () => {
    const times = run(cron('0 9 * * *', 'UTC'), t('2026-03-28T00:00:00Z'), 2).map(iso);
    expect(times).toEqual(['2026-03-28T09:00:00.000Z', '2026-03-29T09:00:00.000Z']);
  });

  it('respects endAt (inclusive) and maxRuns', () => {
    const created = t('2026-01-01T00:00:00Z');
    expect(
      run(cron('0 * * * *', 'UTC', { endAt: t('2026-01-01T03:00:00Z') }), created).map(iso),
    ).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
      '2026-01-01T03:00:00.000Z',
    ]);
    expect(run(cron('0 * * * *', 'UTC', { maxRuns: 2 }), created)).toHaveLength(2);
  });

  it('supports seconds (6 fields) and nicknames', () => {
    const created = t('2026-01-01T00:00:00Z');
    expect(run(cron('*/15 * * * * *', 'UTC'), created, 3).map(iso)).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:15.000Z',
      '2026-01-01T00:00:30.000Z',
    ]);
    expect(iso(firstOccurrence(cron('@daily', 'UTC'), created + 1))).toBe(
      '2026-01-02T00:00:00.000Z',
    );
  });
});

describe('occurrencesBetween', () => {
  it('lists interval occurrences in (from, now] and the next one after now', () => {
    expect(occurrencesBetween(interval(10), 0, 35, 1, 100)).toEqual({
      due: [10, 20, 30],
      next: 40,
    });
    // now exactly on an occurrence: it is due (inclusive)
    expect(occurrencesBetween(interval(10), 0, 30, 1, 100)).toEqual({
      due: [10, 20, 30],
      next: 40,
    });
    // nothing missed yet
    expect(occurrencesBetween(interval(10), 0, 5, 1, 100)).toEqual({ due: [], next: 10 });
  });

  it('limits the list without losing the schedule position', () => {
    expect(occurrencesBetween(interval(10), 0, 95, 1, 2)).toEqual({ due: [10, 20], next: 100 });
    expect(occurrencesBetween(interval(10), 0, 95, 1, 0)).toEqual({ due: [], next: 100 });
  });

  it('is O(limit) for huge outages', () => {
    const result = occurrencesBetween(interval(1), 0, 1e12, 1, 3);
    expect(result).toEqual({ due: [1, 2, 3], next: 1e12 + 1 });
  });

  it('respects maxRuns: due runs count as started, skipped ones do not', () => {
    // 1 started + 2 allowed
    expect(occurrencesBetween(interval(10, { maxRuns: 3 }), 0, 95, 1, 100)).toEqual({
      due: [10, 20],
      next: null,
    });
    // limit 1 leaves one run for the future
    expect(occurrencesBetween(interval(10, { maxRuns: 3 }), 0, 95, 1, 1)).toEqual({
      due: [10],
      next: 100,
    });
    expect(occurrencesBetween(interval(10, { maxRuns: 1 }), 0, 95, 1, 100)).toEqual({
      due: [],
      next: null,
    });
  });

  it('respects endAt (inclusive)', () => {
    expect(occurrencesBetween(interval(10, { endAt: 30 }), 0, 95, 1, 100)).toEqual({
      due: [10, 20, 30],
      next: null,
    });
    expect(occurrencesBetween(interval(10, { endAt: 120 }), 0, 95, 1, 100)).toEqual({
      due: [10, 20, 30, 40, 50, 60, 70, 80, 90],
      next: 100,
    });
  });

  it('works for cron, including limits', () => {
    const hourly = cron('0 * * * *', 'UTC');
    const from = t('2026-01-01T00:00:00Z');
    const now = t('2026-01-01T03:30:00Z');
    const all = occurrencesBetween(hourly, from, now, 1, 100);
    expect(all.due.map(iso)).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
      '2026-01-01T03:00:00.000Z',
    ]);
    expect(iso(all.next)).toBe('2026-01-01T04:00:00.000Z');
    const limited = occurrencesBetween(hourly, from, t('2027-01-01T00:30:00Z'), 1, 2);
    expect(limited.due.map(iso)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']);
    expect(iso(limited.next)).toBe('2027-01-01T01:00:00.000Z');
  });

  it('once has nothing after its occurrence', () => {
    expect(occurrencesBetween({ kind: 'once', at: 5 }, 5, 100, 1, 10)).toEqual({
      due: [],
      next: null,
    });
  });
});

describe('checkCron / isValidTimeZone', () => {
  it.each([
    ['0 9 * * 1-5', 'Europe/Paris', null],
    ['*/5 * * * * *', 'UTC', null],
    ['@hourly', 'America/New_York', null],
  ])('accepts %s in %s', (expression, zone, expected) => {
    expect(checkCron(expression, zone)).toBe(expected);
  });

  it.each([
    ['0 9 * *', 'UTC'],
    ['61 * * * *', 'UTC'],
    ['nonsense', 'UTC'],
    ['0 9 * * *', 'Mars/Base'],
  ])('rejects %s in %s', (expression, zone) => {
    expect(checkCron(expression, zone)).toEqual(expect.any(String));
  });

  it('validates IANA zones', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Base')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
    expect(isValidTimeZone('x'.repeat(1000))).toBe(false);
  });
});
