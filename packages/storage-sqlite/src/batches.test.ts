// The batched operations at the adapter level: one claim, renewal, completion or takeover of many
// entries, whatever their number (lists travel as one JSON parameter), with the same outcome as
// the entries one at a time.
import type { JobStore, RunCompletion } from '@again/storage';
import { createTempDir } from '@again/test-utils';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStorage } from './sqlite-storage.js';
import { intervalPlan, newJob, sequences, start, T0 } from './test-utils/jobs.js';

const dir = createTempDir();
afterAll(() => dir.remove());

/** Creates `count` jobs `job-00000`, ... due at T0 + their number, in one raw transaction. */
function seedJobs(file: string, count: number): void {
  const db = new Database(file);
  const insert = db.prepare(
    `insert into again_jobs (id, spec, state, next_run_at, created_at, updated_at)
     values (?, ?, 'scheduled', ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = `job-${String(i).padStart(5, '0')}`;
      insert.run(id, JSON.stringify({ n: i }), T0 + i, T0, T0);
    }
  })();
  db.close();
}

describe('claimDue', () => {
  it('claims 3,000 due jobs with 2 skipped entries each in one call (9,000 ledger rows)', async () => {
    const file = dir.file();
    const store = await createSqliteStorage({ database: file, synchronous: 'normal' });
    seedJobs(file, 3001);
    const result = await store.claimDue({
      owner: 'a',
      now: T0 + 2999,
      limit: 10_000,
      leaseDuration: 60_000,
      historyLimit: 5,
      plan: (job) => ({
        ...intervalPlan(1000)(job),
        skipped: [1, 2].map((k) => ({
          scheduledAt: job.nextRunAt - k * 100_000,
          occurrenceId: `${job.id}@skip-${k}`,
          reason: 'missed',
        })),
      }),
    });
    expect(result.examined).toBe(3000);
    expect(result.conflicts).toEqual([]);
    expect(result.runs).toHaveLength(3000);
    // Earliest first; every run is the job's third entry under its first fence.
    expect(result.runs[0]).toEqual({
      jobId: 'job-00000',
      createdAt: T0,
      revision: 0,
      scheduledAt: T0,
      occurrenceId: `job-00000@${T0}`,
      sequence: 3,
      fence: 1,
      startedAt: T0 + 2999,
      leaseUntil: T0 + 2999 + 60_000,
    });
    expect(result.runs.map((run) => run.jobId)).toEqual(
      Array.from({ length: 3000 }, (_, i) => `job-${String(i).padStart(5, '0')}`),
    );
    expect(await store.countJobs(['running'])).toBe(3000);
    expect(await store.getJob('job-02999')).toMatchObject({
      state: 'running',
      fence: 1,
      sequence: 3,
      started: 1,
      activeRuns: 1,
      nextRunAt: T0 + 2999 + 1000,
      updatedAt: T0 + 2999,
    });
    expect(await store.history('job-01234')).toMatchObject([
      { sequence: 1, status: 'skipped', reason: 'missed', finishedAt: T0 + 2999, owner: null },
      { sequence: 2, status: 'skipped', scheduledAt: T0 + 1234 - 200_000 },
    ]);
    expect(await store.getJob('job-03000')).toMatchObject({ state: 'scheduled', fence: 0 });
    await store.close();
  });

  it('reports conflicts (in the ledger, or earlier in the same claim) and writes nothing for them', async () => {
    const store = await createSqliteStorage(dir.file());
    for (const id of ['a', 'b', 'c', 'd', 'e']) await store.createJob(newJob(id));
    // a's occurrence is in the ledger already (taken by an earlier claim of another plan).
    const first = await start(store, 'a', { every: 0 });
    expect(first.occurrenceId).toBe(`a@${T0 + 1000}`);
    const result = await store.claimDue({
      owner: 'x',
      now: T0 + 1000,
      limit: 10,
      leaseDuration: 1000,
      plan: (job) => {
        if (job.id === 'c') return null;
        // b takes d's occurrence id first; d then repeats it; e repeats a's by id.
        const occurrenceId =
          job.id === 'd' || job.id === 'b'
            ? 'shared'
            : job.id === 'e'
              ? `a@${T0 + 1000}`
              : `${job.id}@${job.nextRunAt}`;
        return {
          run: { scheduledAt: job.nextRunAt, occurrenceId },
          skipped: [],
          nextRunAt: job.nextRunAt + 1000,
        };
      },
    });
    expect(result.examined).toBe(5);
    expect(result.conflicts).toEqual(['a', 'd', 'e']);
    expect(result.runs.map((run) => run.jobId)).toEqual(['b']);
    for (const id of ['c', 'd', 'e']) {
      expect(await store.getJob(id)).toMatchObject({ fence: 0, sequence: 0, state: 'scheduled' });
    }
    expect(await store.getJob('a')).toMatchObject({ fence: 1, sequence: 1 });
    expect(await store.getRun('shared')).toMatchObject({ jobId: 'b' });
    await store.close();
  });
});

describe('completeRuns', () => {
  /** Starts `count` overlapping runs of job `a` (the interval plan ignores active runs). */
  async function overlapping(store: JobStore, count: number) {
    await store.createJob(newJob('a'));
    const runs = [];
    for (let i = 0; i < count; i++) runs.push(await start(store, 'a'));
    return runs;
  }

  it.each<[string, Array<[run: number, historyLimit: number | undefined]>]>([
    [
      'one limit, in order',
      [
        [0, 2],
        [1, 2],
        [2, 2],
        [3, 2],
      ],
    ],
    [
      'one limit, out of order',
      [
        [3, 2],
        [0, 2],
        [2, 2],
        [1, 2],
      ],
    ],
    [
      'mixed limits, out of order',
      [
        [3, 1],
        [0, 5],
        [1, 1],
        [2, 5],
      ],
    ],
    [
      'default and explicit limits',
      [
        [1, undefined],
        [0, 1],
        [3, 3],
        [2, undefined],
      ],
    ],
  ])('a batch leaves what the same completions leave one by one: %s', async (_, order) => {
    const stores = [await createSqliteStorage(dir.file()), await createSqliteStorage(dir.file())];
    const outcomes = [];
    for (const [index, store] of stores.entries()) {
      const runs = await overlapping(store, 4);
      const completions: RunCompletion[] = order.map(([run, historyLimit], k) => ({
        occurrenceId: runs[run]?.occurrenceId ?? '',
        owner: 'instance-a',
        fence: runs[run]?.fence ?? -1,
        status: 'succeeded',
        finishedAt: T0 + 10_000 + k,
        result: { k },
        ...(historyLimit === undefined ? {} : { historyLimit }),
      }));
      const recorded: boolean[] = [];
      if (index === 0) recorded.push(...(await store.completeRuns(completions)));
      else for (const c of completions) recorded.push(...(await store.completeRuns([c])));
      expect(recorded).toEqual([true, true, true, true]);
      outcomes.push({ job: await store.getJob('a'), history: await store.history('a') });
      await store.close();
    }
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect(outcomes[0]?.job).toMatchObject({ runs: 4, activeRuns: 0, state: 'scheduled' });
    expect(outcomes[0]?.job?.lastRun?.result).toEqual({ k: 3 });
  });

  it('refuses, in order, what is not running under that owner and fence, and records the rest', async () => {
    const store = await createSqliteStorage({ database: dir.file(), historyMaxAge: 60_000 });
    const [r1, r2, r3] = await overlapping(store, 3);
    if (r1 === undefined || r2 === undefined || r3 === undefined) throw new Error('no runs');
    const done = (run: typeof r1, extra: Partial<RunCompletion> = {}): RunCompletion => ({
      occurrenceId: run.occurrenceId,
      owner: 'instance-a',
      fence: run.fence,
      status: 'failed',
      finishedAt: T0 + 5000,
      result: null,
      reason: 'why',
      ...extra,
    });
    expect(
      await store.completeRuns([
        done(r1, { owner: 'other' }),
        done(r2),
        done(r3, { fence: r3.fence + 1 }),
        { ...done(r1), occurrenceId: 'unknown' },
      ]),
    ).toEqual([false, true, false, false]);
    expect(await store.getRun(r2.occurrenceId)).toMatchObject({
      status: 'failed',
      reason: 'why',
      result: null,
      leaseUntil: null,
      finishedAt: T0 + 5000,
      owner: 'instance-a',
    });
    expect(await store.getJob('a')).toMatchObject({ runs: 1, activeRuns: 2, state: 'running' });
    // A completion finishing two hours later ages the first one out (historyMaxAge on write).
    expect(await store.completeRuns([done(r1, { finishedAt: T0 + 7_200_000 })])).toEqual([true]);
    expect(sequences(await store.history('a'))).toEqual([r1.sequence]);
    await store.close();
  });
});

describe('renewLeases and claimExpiredRuns', () => {
  it('renews the owner’s live leases and reports the others, in request order', async () => {
    const store = await createSqliteStorage(dir.file());
    for (const id of ['a', 'b', 'c', 'd']) await store.createJob(newJob(id));
    const a = await start(store, 'a');
    const b = await start(store, 'b');
    const c = await start(store, 'c', { owner: 'other' });
    const d = await start(store, 'd');
    await store.completeRuns([
      { ...d, owner: 'instance-a', status: 'succeeded', finishedAt: T0, result: null },
    ]);
    await store.endJob('a', 'removed', T0 + 1);
    const renewal = await store.renewLeases({
      owner: 'instance-a',
      leases: [
        { occurrenceId: 'nope', fence: 1 },
        { occurrenceId: a.occurrenceId, fence: a.fence },
        { occurrenceId: b.occurrenceId, fence: b.fence + 1 },
        { occurrenceId: c.occurrenceId, fence: c.fence },
        { occurrenceId: d.occurrenceId, fence: d.fence },
        { occurrenceId: b.occurrenceId.replace('b', 'B'), fence: 0 },
      ],
      now: T0 + 50_000,
      leaseDuration: 30_000,
    });
    expect(renewal).toEqual({
      now: T0 + 50_000,
      leaseUntil: T0 + 80_000,
      lost: [
        { occurrenceId: 'nope', reason: 'gone' },
        { occurrenceId: a.occurrenceId, reason: 'removed' },
        { occurrenceId: b.occurrenceId, reason: 'taken-over' },
        { occurrenceId: c.occurrenceId, reason: 'taken-over' },
        { occurrenceId: d.occurrenceId, reason: 'gone' },
        { occurrenceId: b.occurrenceId.replace('b', 'B'), reason: 'gone' },
      ],
    });
    // Only a (renewed, though removed) moved.
    expect((await store.getRun(a.occurrenceId))?.leaseUntil).toBe(T0 + 80_000);
    expect((await store.getRun(b.occurrenceId))?.leaseUntil).toBe(b.leaseUntil);
    expect((await store.getRun(c.occurrenceId))?.leaseUntil).toBe(c.leaseUntil);
    await store.close();
  });

  it('takes over expired leases earliest first, one fence per run, with the previous owner', async () => {
    const store = await createSqliteStorage(dir.file());
    await store.createJob(newJob('a'));
    await store.createJob(newJob('b'));
    const a1 = await start(store, 'a', { owner: 'p', lease: 1000 });
    const a2 = await start(store, 'a', { owner: 'q', lease: 5000 });
    const b1 = await start(store, 'b', { owner: 'p', lease: 9000 });
    const taken = await store.claimExpiredRuns({
      owner: 'r',
      now: T0 + 20_000,
      leaseDuration: 2000,
      limit: 2,
    });
    expect(taken.map(({ run, previousOwner }) => [run.occurrenceId, previousOwner])).toEqual([
      [a1.occurrenceId, 'p'],
      [a2.occurrenceId, 'q'],
    ]);
    expect(a1.leaseUntil).toBeLessThan(a2.leaseUntil);
    const [first, second] = taken;
    expect(first?.run).toMatchObject({ owner: 'r', fence: 3, leaseUntil: T0 + 22_000 });
    expect(second?.run).toMatchObject({ owner: 'r', fence: 4, leaseUntil: T0 + 22_000 });
    // Each snapshot is the job right after its own takeover.
    expect(first?.job).toMatchObject({ id: 'a', fence: 3, updatedAt: T0 + 20_000 });
    expect(second?.job).toMatchObject({ id: 'a', fence: 4 });
    expect(await store.getJob('a')).toMatchObject({ fence: 4 });
    expect(await store.getRun(b1.occurrenceId)).toMatchObject({ owner: 'p', fence: 1 });
    // The old leases are fenced out.
    const [refused] = await store.completeRuns([
      { ...a1, owner: 'p', status: 'succeeded', finishedAt: T0, result: null },
    ]);
    expect(refused).toBe(false);
    await store.close();
  });
});

describe('several stores on one file in one process', () => {
  it.each([
    ['two Kysely instances', 'kysely', 'kysely'],
    ['a Kysely instance and a path', 'kysely', 'path'],
    ['two paths', 'path', 'path'],
  ] as const)(
    '%s: concurrent writes wait for each other, never for the busy timeout',
    async (_, x, y) => {
      const file = dir.file();
      const kyselys: Array<Kysely<unknown>> = [];
      const open = (kind: 'kysely' | 'path') => {
        if (kind === 'path') return createSqliteStorage({ database: file, busyTimeout: 200 });
        const kysely = new Kysely<unknown>({
          dialect: new SqliteDialect({ database: new Database(file) }),
        });
        kyselys.push(kysely);
        return createSqliteStorage({ database: kysely, busyTimeout: 200 });
      };
      const stores = [await open(x), await open(y)];
      for (let i = 0; i < 20; i++) await stores[0]?.createJob(newJob(`job-${i}`, T0 + i));
      const started = performance.now();
      // Each store claims one job at a time and completes it, both at once, until nothing is due.
      const won = await Promise.all(
        stores.map(async (store, index) => {
          const mine: string[] = [];
          for (;;) {
            const { runs, examined } = await store.claimDue({
              owner: `s${index}`,
              now: T0 + 100,
              limit: 1,
              leaseDuration: 60_000,
              plan: (job) => ({ ...intervalPlan(1000)(job), nextRunAt: null }),
            });
            if (examined === 0) return mine;
            for (const run of runs) {
              mine.push(run.occurrenceId);
              await store.completeRuns([
                {
                  ...run,
                  owner: `s${index}`,
                  status: 'succeeded',
                  finishedAt: T0 + 200,
                  result: null,
                },
              ]);
            }
          }
        }),
      );
      expect(won.flat().sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `job-${i}@${T0 + i}`).sort(),
      );
      // Nobody slept in SQLite's busy handler (200 ms each time).
      expect(performance.now() - started).toBeLessThan(2000);
      expect(await stores[1]?.countJobs(['completed'])).toBe(20);
      for (const store of stores) await store.close();
      for (const kysely of kyselys) await kysely.destroy();
    },
  );
});
