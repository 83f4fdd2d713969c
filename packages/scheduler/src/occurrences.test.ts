import { describe, expect, it } from 'vitest';
import type { JobInput } from './job-types.js';
import { occurrenceIdOf, planOccurrences } from './occurrences.js';
import { parseJob } from './parse-job.js';

const url = 'https://example.com/hook';

function spec(extra: Partial<JobInput> & Pick<JobInput, 'schedule'>) {
  return parseJob({ request: { url }, ...extra }).spec;
}

const context = { now: 0, missedRunGrace: 60_000, recordLimit: 20, busy: false };

describe('occurrenceIdOf', () => {
  it('is <jobId>@<ISO time>, header-safe and injective for any job id', () => {
    const at = Date.UTC(2026, 0, 1);
    expect(occurrenceIdOf('report', at)).toBe('report@2026-01-01T00:00:00.000Z');
    expect(occurrenceIdOf('rapport été', at)).toBe(
      'rapport%20%C3%A9t%C3%A9@2026-01-01T00:00:00.000Z',
    );
    expect(occurrenceIdOf('a b', at)).not.toBe(occurrenceIdOf('a%20b', at));
    expect(occurrenceIdOf('日本', at)).toMatch(/^[\x21-\x7e]+$/);
    expect(
      () => new Headers({ 'idempotency-key': occurrenceIdOf('  日本\u00ff ', at) }),
    ).not.toThrow();
  });
});

describe('planOccurrences', () => {
  it('runs an occurrence that is on time and moves to the next one (drift-free)', () => {
    const plan = planOccurrences('a', spec({ schedule: { every: 10 } }), 0, 0, {
      ...context,
      now: 7,
    });
    expect(plan).toEqual({ run: 0, skipped: [], nextRunAt: 10, examined: 0 });
  });

  it("run-once (default): runs the latest missed occurrence and records the rest as 'missed'", () => {
    const plan = planOccurrences('a', spec({ schedule: { every: 10 } }), 0, 0, {
      ...context,
      now: 35,
    });
    expect(plan.run).toBe(30);
    expect(plan.nextRunAt).toBe(40);
    expect(plan.skipped).toEqual(
      [0, 10, 20].map((t) => ({
        scheduledAt: t,
        occurrenceId: occurrenceIdOf('a', t),
        reason: 'missed',
      })),
    );
  });

  it('skip: runs the latest occurrence only when it is within the grace, else skips it too', () => {
    const job = spec({ schedule: { every: 10 }, missedRuns: 'skip' });
    const inGrace = planOccurrences('a', job, 0, 0, { ...context, now: 35 });
    expect(inGrace.run).toBe(30);
    expect(inGrace.skipped.map((s) => s.scheduledAt)).toEqual([0, 10, 20]);

    const late = planOccurrences('a', job, 0, 0, { ...context, now: 35, missedRunGrace: 2 });
    expect(late.run).toBeNull();
    expect(late.skipped.map((s) => s.scheduledAt)).toEqual([0, 10, 20, 30]);
    expect(late.skipped.every((s) => s.reason === 'missed')).toBe(true);
    expect(late.nextRunAt).toBe(40);
  });

  it('run-all: runs the latest `limit` missed occurrences one per claim, skips older ones', () => {
    const job = spec({ schedule: { every: 10 }, missedRuns: { policy: 'run-all', limit: 2 } });
    const first = planOccurrences('a', job, 0, 0, { ...context, now: 35 });
    expect(first.run).toBe(20);
    expect(first.skipped.map((s) => s.scheduledAt)).toEqual([0, 10]);
    expect(first.nextRunAt).toBe(30);
    const second = planOccurrences('a', job, 30, 1, { ...context, now: 35 });
    expect(second).toEqual({ run: 30, skipped: [], nextRunAt: 40, examined: 0 });
  });

  it('maxRuns caps catch-up runs and ends the schedule', () => {
    const job = spec({
      schedule: { every: 10, maxRuns: 3 },
      missedRuns: { policy: 'run-all', limit: 5 },
    });
    const first = planOccurrences('a', job, 0, 1, { ...context, now: 100 });
    expect(first.run).toBe(90);
    expect(first.nextRunAt).toBe(100);
    const second = planOccurrences('a', job, 100, 2, { ...context, now: 100 });
    expect(second).toEqual({ run: 100, skipped: [], nextRunAt: null, examined: 0 });
  });

  it('endAt is inclusive and bounds the missed occurrences', () => {
    const job = spec({ schedule: { every: 10, startAt: 0, endAt: 20 } });
    const plan = planOccurrences('a', job, 0, 0, { ...context, now: 100 });
    expect(plan.run).toBe(20);
    expect(plan.skipped.map((s) => s.scheduledAt)).toEqual([0, 10]);
    expect(plan.nextRunAt).toBeNull();
  });

  it("overlap 'skip' records the occurrence as 'overlap' while a run is in flight", () => {
    const job = spec({ schedule: { every: 10 }, overlap: 'skip' });
    const plan = planOccurrences('a', job, 10, 1, { ...context, now: 10, busy: true });
    expect(plan.run).toBeNull();
    expect(plan.skipped).toEqual([
      { scheduledAt: 10, occurrenceId: occurrenceIdOf('a', 10), reason: 'overlap' },
    ]);
    expect(plan.nextRunAt).toBe(20);
    const allowed = planOccurrences('a', spec({ schedule: { every: 10 } }), 10, 1, {
      ...context,
      now: 10,
      busy: true,
    });
    expect(allowed.run).toBe(10);
  });

  it('a one-off job found late: run-once runs it, skip records it as missed', () => {
    const at = Date.UTC(2026, 0, 1);
    const now = at + 3_600_000;
    const runOnce = planOccurrences('a', spec({ schedule: { at } }), at, 0, { ...context, now });
    expect(runOnce).toEqual({ run: at, skipped: [], nextRunAt: null, examined: 0 });
    const skip = planOccurrences('a', spec({ schedule: { at }, missedRuns: 'skip' }), at, 0, {
      ...context,
      now,
    });
    expect(skip.run).toBeNull();
    expect(skip.skipped).toHaveLength(1);
    expect(skip.nextRunAt).toBeNull();
  });

  it('an interval backlog is planned arithmetically: one claim, the latest entries listed, the rest counted', () => {
    const job = spec({ schedule: { every: 1 } });
    const plan = planOccurrences('a', job, 0, 0, { ...context, now: 25_000_000 });
    expect(plan.run).toBe(25_000_000);
    expect(plan.nextRunAt).toBe(25_000_001);
    expect(plan.examined).toBe(0);
    expect(plan.skipped.map((s) => s.scheduledAt)).toEqual(
      Array.from({ length: 20 }, (_, i) => 24_999_980 + i),
    );
    expect(plan.skipped[0]?.reason).toMatch(/^missed; 24999980 earlier missed occurrences/);
    expect(plan.skipped.slice(1).every((s) => s.reason === 'missed')).toBe(true);
  });

  it('a cron backlog is bounded: a chunk per claim, the latest entries listed, the rest counted', () => {
    const start = Date.UTC(2026, 0, 1);
    const job = spec({ schedule: { cron: '* * * * *' } });
    const now = start + 2_500 * 60_000;
    const first = planOccurrences('a', job, start, 0, { ...context, now, maxExamined: 1_000 });
    // 1,000 occurrences examined, all skipped (more are due): the job stays due.
    expect(first.examined).toBe(1_000);
    expect(first.run).toBeNull();
    expect(first.nextRunAt).toBe(start + 1_000 * 60_000);
    expect(first.skipped).toHaveLength(20);
    expect(first.skipped[0]?.reason).toMatch(/^missed; 980 earlier missed occurrences/);
    // The last chunk then runs the latest occurrence.
    const last = planOccurrences('a', job, start + 2_000 * 60_000, 0, { ...context, now });
    expect(last.run).toBe(now);
    expect(last.nextRunAt).toBe(now + 60_000);
  });

  it('run-all with a backlog longer than one chunk still runs the latest `limit` occurrences', () => {
    const job = spec({ schedule: { every: 1 }, missedRuns: { policy: 'run-all', limit: 100 } });
    const now = 10_050; // 10,051 due occurrences
    const runs: number[] = [];
    let skipped = 0;
    let nextRunAt: number | null = 0;
    let started = 0;
    for (let claim = 0; nextRunAt !== null && nextRunAt <= now; claim++) {
      expect(claim).toBeLessThan(1_000);
      const plan = planOccurrences('a', job, nextRunAt, started, { ...context, now });
      if (plan.run !== null) {
        runs.push(plan.run);
        started++;
      }
      skipped += plan.skipped.length;
      nextRunAt = plan.nextRunAt;
    }
    expect(runs).toEqual(Array.from({ length: 100 }, (_, i) => 9_951 + i));
    expect(skipped).toBeGreaterThan(0);
    expect(nextRunAt).toBe(10_051);
  });

  it('run-all with maxRuns and a long backlog runs the latest occurrences maxRuns allows', () => {
    const job = spec({
      schedule: { every: 1, maxRuns: 3 },
      missedRuns: { policy: 'run-all', limit: 100 },
    });
    const now = 10_050;
    const runs: number[] = [];
    let nextRunAt: number | null = 0;
    let started = 0;
    for (let claim = 0; nextRunAt !== null && nextRunAt <= now; claim++) {
      expect(claim).toBeLessThan(1_000);
      const plan = planOccurrences('a', job, nextRunAt, started, { ...context, now });
      if (plan.run !== null) {
        runs.push(plan.run);
        started++;
      }
      nextRunAt = plan.nextRunAt;
    }
    expect(runs).toEqual([10_048, 10_049, 10_050]);
    expect(nextRunAt).toBeNull();
  });

  it('cron schedules are planned from their scheduled times', () => {
    const start = Date.UTC(2026, 0, 1, 0, 0, 0);
    const job = spec({ schedule: { cron: '*/15 * * * *' } });
    const plan = planOccurrences('a', job, start, 0, { ...context, now: start + 50 * 60_000 });
    expect(plan.run).toBe(start + 45 * 60_000);
    expect(plan.skipped.map((s) => s.scheduledAt)).toEqual([
      start,
      start + 15 * 60_000,
      start + 30 * 60_000,
    ]);
    expect(plan.nextRunAt).toBe(start + 60 * 60_000);
  });
});
