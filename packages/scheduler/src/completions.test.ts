/**
 * The outcome writer's promises: one store call per turn, retries with backoff until recorded,
 * given up (logged) only once the lease is lost or the scheduler stopped, and a bad outcome
 * isolated from the good ones.
 */
import type { ClaimedRun, JobStore } from '@again/storage';
import { createMemoryStorage } from '@again/storage-memory';
import { createManualClock } from '@again/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { type CompletionFields, CompletionWriter } from './completions.js';
import { createLog } from './logger.js';
import { eventually, recordingLogger, tracked } from './test-utils/harness.js';
import { spyStorage } from './test-utils/store-spy.js';

const OWNER = 'writer';

/** `count` runs claimed by {@link OWNER} in `store`, at `now`. */
async function claimedRuns(
  store: JobStore,
  now: number,
  count: number,
): Promise<readonly ClaimedRun[]> {
  for (let i = 0; i < count; i++) {
    await store.createJob({ id: `job-${i}`, spec: {}, nextRunAt: now, now });
  }
  const { runs } = await store.claimDue({
    owner: OWNER,
    now,
    limit: count,
    leaseDuration: 60_000,
    plan: (job) => ({
      run: { scheduledAt: job.nextRunAt, occurrenceId: `${job.id}@${job.nextRunAt}` },
      skipped: [],
      nextRunAt: null,
    }),
  });
  return runs;
}

const leaseOf = (run: ClaimedRun) => ({
  occurrenceId: run.occurrenceId,
  fence: run.fence,
  jobId: run.jobId,
});

const succeeded = (finishedAt: number): CompletionFields => ({
  status: 'succeeded',
  finishedAt,
  result: { ok: true },
});

/** A writer over a spied memory store whose first `failures` completeRuns calls fail. */
async function writerWith(count: number, failures = 0) {
  const clock = createManualClock();
  const inner = createMemoryStorage();
  const runs = await claimedRuns(inner, clock.now(), count);
  let left = failures;
  const spy = spyStorage(inner, {
    clock,
    hooks: {
      completeRuns: (next, completions) =>
        left-- > 0 ? Promise.reject(new Error('injected completeRuns failure')) : next(completions),
    },
  });
  const logger = recordingLogger();
  const writer = new CompletionWriter(spy.store, OWNER, clock, createLog(logger, 'debug'));
  return { clock, inner, runs, spy, logger, writer };
}

describe('CompletionWriter', () => {
  it('writes the outcomes that arrive in the same turn in one completeRuns call', async () => {
    const { clock, inner, runs, spy, writer } = await writerWith(4);
    const [a, b, c, d] = runs as [ClaimedRun, ClaimedRun, ClaimedRun, ClaimedRun];
    const sameTurn = [a, b, c].map((run) =>
      writer.record(leaseOf(run), succeeded(clock.now()), () => true),
    );
    expect(await Promise.all(sameTurn)).toEqual(['recorded', 'recorded', 'recorded']);
    expect(await writer.record(leaseOf(d), succeeded(clock.now()), () => true)).toBe('recorded');
    expect(spy.callsOf('completeRuns').map((call) => call.args[0].length)).toEqual([3, 1]);
    expect(spy.callsOf('completeRuns')[0]?.args[0].map((x) => x.owner)).toEqual([
      OWNER,
      OWNER,
      OWNER,
    ]);
    expect(await inner.runningRuns()).toEqual([]);
  });

  it('retries a failed write with backoff (100 ms, doubling, at most 5 s) until it is recorded', async () => {
    const { clock, inner, runs, spy, logger, writer } = await writerWith(1, 8);
    const [run] = runs as [ClaimedRun];
    const start = clock.now();
    let outcome: string | undefined;
    void writer
      .record(leaseOf(run), succeeded(start), () => true)
      .then((o) => {
        outcome = o;
      });
    await clock.settle();
    await clock.advance(16_299);
    expect(outcome).toBeUndefined();
    await clock.advance(1);
    expect(outcome).toBe('recorded');
    expect(spy.callsOf('completeRuns').map((call) => call.at - start)).toEqual([
      0, 100, 300, 700, 1_500, 3_100, 6_300, 11_300, 16_300,
    ]);
    expect(logger.at('error').map((e) => e.context.retryIn)).toEqual([
      100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000,
    ]);
    expect((await inner.getRun(run.occurrenceId))?.status).toBe('succeeded');
  });

  it('gives up, with an error log, once the lease is lost while the store keeps failing', async () => {
    const { clock, inner, runs, spy, logger, writer } = await writerWith(
      1,
      Number.POSITIVE_INFINITY,
    );
    const [run] = runs as [ClaimedRun];
    let leaseHeld = true;
    let outcome: string | undefined;
    void writer
      .record(leaseOf(run), succeeded(clock.now()), () => leaseHeld)
      .then((o) => {
        outcome = o;
      });
    await clock.advance(10_000);
    expect(outcome).toBeUndefined();
    const calls = spy.callsOf('completeRuns').length;
    leaseHeld = false;
    await clock.advance(5_000);
    expect(outcome).toBe('given-up');
    expect(spy.callsOf('completeRuns')).toHaveLength(calls + 1);
    const [gaveUp] = logger.at('error').filter((e) => /gave up recording/.test(e.message));
    expect(gaveUp?.context).toMatchObject({
      occurrenceId: run.occurrenceId,
      why: 'its lease expired while the store failed',
    });
    await clock.advance(60_000);
    expect(spy.callsOf('completeRuns')).toHaveLength(calls + 1);
    expect((await inner.getRun(run.occurrenceId))?.status).toBe('running');
  });

  it('isolates an outcome the store refuses as invalid; the others of its batch are recorded', async () => {
    const { clock, inner, runs, spy, logger, writer } = await writerWith(3);
    const [a, b, c] = runs as [ClaimedRun, ClaimedRun, ClaimedRun];
    const outcomes = await Promise.all([
      writer.record(leaseOf(a), succeeded(clock.now()), () => true),
      // A lone surrogate is not a reason any store accepts.
      writer.record(
        leaseOf(b),
        { status: 'canceled', finishedAt: clock.now(), result: null, reason: '\uD800' },
        () => true,
      ),
      writer.record(leaseOf(c), succeeded(clock.now()), () => true),
    ]);
    expect(outcomes).toEqual(['recorded', 'given-up', 'recorded']);
    expect(spy.callsOf('completeRuns').map((call) => call.args[0].length)).toEqual([3, 1, 1, 1]);
    const errors = logger.at('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/refused a run outcome as invalid/);
    expect(errors[0]?.context.occurrenceId).toBe(b.occurrenceId);
    expect((await inner.runningRuns()).map((run) => run.occurrenceId)).toEqual([b.occurrenceId]);
  });

  it('close() gives up the outcomes still waiting, each logged; later ones are given up at once', async () => {
    const { clock, runs, logger, writer } = await writerWith(2, Number.POSITIVE_INFINITY);
    const [a, b] = runs as [ClaimedRun, ClaimedRun];
    const waiting = writer.record(leaseOf(a), succeeded(clock.now()), () => true);
    await clock.advance(1_000);
    writer.close();
    expect(await waiting).toBe('given-up');
    expect(await writer.record(leaseOf(b), succeeded(clock.now()), () => true)).toBe('given-up');
    const gaveUp = logger.at('error').filter((e) => /gave up recording/.test(e.message));
    expect(gaveUp.map((e) => e.context.occurrenceId)).toEqual([a.occurrenceId, b.occurrenceId]);
  });
});

describe('recording through the scheduler', () => {
  const t = tracked();
  afterEach(() => t.flush());

  it('a run whose outcome the store failed to record is retried until its history shows it', async () => {
    const target = await t.server();
    const clock = createManualClock();
    let failures = 4;
    const spy = spyStorage(createMemoryStorage(), {
      clock,
      hooks: {
        completeRuns: (next, completions) =>
          failures-- > 0 ? Promise.reject(new Error('injected')) : next(completions),
      },
    });
    const h = await t.harness({ storage: spy.store }, { clock });
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await clock.advance(0);
    await eventually(() => expect(spy.callsOf('completeRuns')).toHaveLength(1));
    const first = spy.callsOf('completeRuns')[0]?.at ?? Number.NaN;
    expect(await h.scheduler.jobStatus(id)).toMatchObject({ state: 'running', activeRuns: 1 });
    await clock.advance(1_500);
    expect(spy.callsOf('completeRuns').map((call) => call.at - first)).toEqual([
      0, 100, 300, 700, 1_500,
    ]);
    expect(await h.scheduler.jobHistory(id)).toMatchObject([{ status: 'succeeded' }]);
    expect(await h.scheduler.jobStatus(id)).toMatchObject({
      state: 'completed',
      runs: 1,
      activeRuns: 0,
    });
    expect(
      h.logger.at('error').filter((e) => /could not record run outcomes/.test(e.message)),
    ).toHaveLength(4);
  });

  it('an outcome is given up, with an error log, when its lease is lost while the store keeps failing', async () => {
    const target = await t.server();
    const clock = createManualClock();
    const inner = createMemoryStorage();
    const spy = spyStorage(inner, { clock });
    const h = await t.harness({ storage: spy.store, leaseDuration: 4_000 }, { clock });
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    // The store goes down for writes from now on.
    const failing = () => Promise.reject(new Error('injected failure'));
    spy.hooks.completeRuns = failing;
    spy.hooks.renewLeases = failing;
    await clock.advance(0);
    await eventually(() => expect(spy.callsOf('completeRuns')).toHaveLength(1));
    const start = spy.callsOf('completeRuns')[0]?.at ?? Number.NaN;
    const gaveUp = () => h.logger.at('error').filter((e) => /gave up recording/.test(e.message));
    // Renewals fail at +1 s to +4 s; the lease (4 s) is lost at the fourth.
    await clock.advanceTo(start + 6_000);
    expect(gaveUp()).toEqual([]);
    // The next retry (+6.3 s) is the last.
    await clock.advanceTo(start + 6_300);
    expect(gaveUp().map((e) => e.context.jobId)).toEqual([id]);
    const calls = spy.callsOf('completeRuns').length;
    expect(spy.callsOf('completeRuns').map((call) => call.at - start)).toEqual([
      0, 100, 300, 700, 1_500, 3_100, 6_300,
    ]);
    await clock.advance(30_000);
    expect(spy.callsOf('completeRuns')).toHaveLength(calls);
    // Still running in the store: the instance that takes it over records it.
    expect((await inner.runningRuns()).map((run) => run.jobId)).toEqual([id]);
  });

  it('the slot of a run whose outcome waits for the store stays taken', async () => {
    const target = await t.server();
    const clock = createManualClock();
    const spy = spyStorage(createMemoryStorage(), {
      clock,
      hooks: { completeRuns: () => Promise.reject(new Error('injected')) },
    });
    const h = await t.harness({ storage: spy.store, concurrency: 1 }, { clock });
    for (const id of ['a', 'b']) {
      await h.scheduler.schedule({
        id,
        schedule: { every: 60_000, maxRuns: 1 },
        request: { url: `${target.url}/${id}` },
      });
    }
    await clock.advance(0);
    await eventually(() => expect(spy.callsOf('completeRuns')).toHaveLength(1));
    await clock.advance(10_000);
    expect(target.requests.map((r) => r.path)).toEqual(['/a']);
    spy.hooks.completeRuns = undefined;
    await clock.advance(5_000);
    await target.waitForRequests(2);
  });
});
