/**
 * Counterparts of go-again's scheduler tests (tests/scheduler_test.go and
 * pkg/scheduler/scheduler_internal_test.go), one per Go test, named after it. Where our design
 * deliberately differs (fail-closed construction, typed storage errors), the test checks the
 * behaviour that replaces the Go one.
 */
import { JobExistsError } from '@again/storage';
import { createMemoryStorage } from '@again/storage-memory';
import { closedPort, createManualClock, gate, startHttpsServer } from '@again/test-utils';
import { createEgress } from '@again/url-guard';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallbackPayload } from './callback.js';
import { InvalidJobError, SchedulerStoppedError, SchedulerStorageError } from './errors.js';
import { createScheduler } from './scheduler.js';
import { InvalidSchedulerOptionsError } from './scheduler-options.js';
import { InvalidQueryError } from './status.js';
import {
  eventually,
  faultyStorage,
  loopbackEgress,
  recordingLogger,
  startScheduler,
  tracked,
} from './test-utils/harness.js';

const { cleanups, server, harness, flush } = tracked();

afterEach(async () => {
  await flush();
});

const instant = { interval: 0, jitter: 0 } as const;

describe('go-again tests/scheduler_test.go', () => {
  it('TestSchedulerRetryAndCallback', async () => {
    let hits = 0;
    const target = await server((_req, res) => {
      hits++;
      res.writeHead(hits <= 2 ? 500 : 200);
      res.end('done');
    });
    const callback = await server();
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/job` },
      callback: { url: `${callback.url}/cb` },
      retryPolicy: { ...instant, retryStatusCodes: [500] },
    });
    await h.clock.advance(0);
    const [delivered] = await callback.waitForRequests(1);
    const payload = JSON.parse(delivered?.body ?? '{}') as CallbackPayload;
    expect(payload).toMatchObject({ job_id: id, success: true, attempts: 3, status_code: 200 });
    expect(delivered?.headers['idempotency-key']).toBe(payload.occurrence_id);
    expect(delivered?.headers['content-type']).toBe('application/json');
  });

  it('TestSchedulerValidation', async () => {
    const h = await harness();
    const attempt = (job: unknown) => h.scheduler.schedule(job as never);
    const method = await attempt({
      schedule: { every: 1_000 },
      request: { url: 'http://127.0.0.1:2/', method: 'TRACE' },
    }).catch((e: unknown) => e);
    expect(method).toBeInstanceOf(InvalidJobError);
    expect((method as InvalidJobError).code).toBe('ERR_INVALID_JOB');
    expect((method as InvalidJobError).issues.map((i) => i.path)).toContain('request.method');

    const missing = await attempt({ schedule: { every: 1_000 }, request: {} }).catch((e) => e);
    expect(missing).toBeInstanceOf(InvalidJobError);
    expect((missing as InvalidJobError).issues.map((i) => i.path)).toContain('request.url');

    const now = h.clock.now();
    const window = await attempt({
      schedule: { every: 1_000, startAt: now + 2_000, endAt: now + 1_000 },
      request: { url: 'http://127.0.0.1:2/' },
    }).catch((e) => e);
    expect(window).toBeInstanceOf(InvalidJobError);

    // Unlike the seed, every problem is reported at once.
    const many = await attempt({
      schedule: { every: -1 },
      request: { url: 'ftp://x', method: 'TRACE' },
    }).catch((e) => e);
    expect((many as InvalidJobError).issues.length).toBeGreaterThanOrEqual(3);
    expect(await h.scheduler.jobCount()).toBe(0);
  });

  it('TestSchedulerURLValidationRejectsHTTP', async () => {
    const target = await server();
    // The URL guard's default policy: https only, public addresses only. The resolver answers
    // with a public address for every name, so no DNS is needed (nothing connects to it).
    const h = await harness({
      egress: createEgress({ resolver: async () => [{ address: '93.184.215.14', family: 4 }] }),
    });
    const refused = await h.scheduler
      .schedule({ schedule: { every: 1_000 }, request: { url: `${target.url}/` } })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidJobError);
    expect((refused as InvalidJobError).issues[0]?.path).toBe('request.url');
    expect((refused as InvalidJobError).cause).toMatchObject({ name: 'UrlGuardError' });
    const callbackRefused = await h.scheduler
      .schedule({
        schedule: { every: 1_000 },
        request: { url: 'https://example.com/' },
        callback: { url: 'http://example.com/cb' },
      })
      .catch((e: unknown) => e);
    expect((callbackRefused as InvalidJobError).issues.map((i) => i.path)).toEqual([
      'callback.url',
    ]);
    expect(await h.scheduler.jobCount()).toBe(0);
    expect(target.requests).toHaveLength(0);
  });

  it('TestSchedulerURLValidationDisabledAllowsHTTP', async () => {
    const target = await server();
    const h = await harness({ unsafeAllowAnyUrl: true });
    await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/plain` },
    });
    await h.clock.advance(0);
    const [request] = await target.waitForRequests(1);
    expect(request?.path).toBe('/plain');
  });

  it('TestSchedulerScheduleAfterStopReturnsError', async () => {
    const h = await harness();
    await h.scheduler.stop();
    const error = await h.scheduler
      .schedule({ schedule: { every: 1_000 }, request: { url: 'http://127.0.0.1:2/' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchedulerStoppedError);
    expect((error as SchedulerStoppedError).code).toBe('ERR_SCHEDULER_STOPPED');
    // Reads keep working after stop.
    expect(await h.scheduler.jobCount()).toBe(0);
  });

  it('TestSchedulerJobIntrospection', async () => {
    const h = await harness();
    const startAt = h.clock.now() + 500;
    for (const id of ['job-b', 'job-a']) {
      await h.scheduler.schedule({
        id,
        schedule: { every: 1_000, startAt },
        request: { url: 'http://127.0.0.1:2/' },
      });
    }
    expect(await h.scheduler.jobCount()).toBe(2);
    expect(await h.scheduler.jobIds()).toEqual(['job-a', 'job-b']);
    expect(await h.scheduler.remove('job-a')).toBe(true);
    expect(await h.scheduler.remove('job-b')).toBe(true);
    expect(await h.scheduler.jobCount()).toBe(0);
    expect(await h.scheduler.jobIds()).toEqual([]);
  });

  it('TestSchedulerStatusAndHistory', async () => {
    const target = await server();
    const h = await harness({ historyLimit: 2 });
    const id = await h.scheduler.schedule({
      schedule: { every: 5, maxRuns: 3 },
      request: { url: `${target.url}/` },
    });
    for (let run = 1; run <= 3; run++) {
      await h.clock.advance(run === 1 ? 0 : 5);
      await eventually(async () => expect((await h.scheduler.jobStatus(id))?.runs).toBe(run));
    }
    const status = await h.scheduler.jobStatus(id);
    expect(status).toMatchObject({ state: 'completed', runs: 3, activeRuns: 0, nextRunAt: null });
    expect(status?.lastRun).toMatchObject({ job_id: id, success: true, status_code: 200 });
    const history = await h.scheduler.jobHistory(id);
    expect(history?.map((run) => run.sequence)).toEqual([2, 3]);
    expect(history?.every((run) => run.status === 'succeeded')).toBe(true);
  });

  it('TestSchedulerQueryJobStatusesFiltersAndPagination', async () => {
    const hold = gate();
    const target = await server(async (_req, res) => {
      await hold.promise;
      res.end('ok');
    });
    cleanups.push(async () => hold.open());
    const h = await harness();
    const later = h.clock.now() + 60_000;
    const url = `${target.url}/`;
    await h.scheduler.schedule({
      id: 'job-1',
      schedule: { every: 1_000, startAt: later },
      request: { url },
    });
    await h.scheduler.schedule({ id: 'job-2', schedule: { every: 60_000 }, request: { url } });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await h.scheduler.schedule({
      id: 'job-3',
      schedule: { every: 1_000, startAt: later },
      request: { url },
    });
    await h.scheduler.schedule({
      id: 'job-4',
      schedule: { every: 1_000, startAt: later },
      request: { url },
    });
    await h.scheduler.remove('job-3');
    await h.scheduler.remove('job-4');

    const ids = async (query: Parameters<typeof h.scheduler.queryJobStatuses>[0]) =>
      (await h.scheduler.queryJobStatuses(query)).map((s) => s.jobId);
    expect(await ids({ states: ['scheduled', 'running'] })).toEqual(['job-1', 'job-2']);
    expect((await h.scheduler.jobStatus('job-2'))?.state).toBe('running');
    expect(await ids({ ids: ['job-4', 'missing', 'job-2'] })).toEqual(['job-2', 'job-4']);
    expect(await ids({ offset: 1, limit: 2 })).toEqual(['job-2', 'job-3']);
    expect(await ids({ offset: -1, limit: 1 })).toEqual(['job-1']);
    expect(await ids({ offset: 10 })).toEqual([]);
    const bad = await h.scheduler
      .queryJobStatuses({ states: ['sleeping' as never] })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidQueryError);
    expect((bad as InvalidQueryError).code).toBe('ERR_INVALID_QUERY');
    const paging = await h.scheduler
      .queryJobStatuses({ offset: Number.NaN, limit: 1.5 })
      .catch((e: unknown) => e);
    expect((paging as InvalidQueryError).issues.map((i) => i.path)).toEqual(['offset', 'limit']);
    hold.open();
  });

  it('TestSchedulerQueryJobHistoryFiltersAndLimit', async () => {
    const target = await server();
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 10, maxRuns: 4 },
      request: { url: `${target.url}/` },
    });
    for (let run = 1; run <= 4; run++) {
      await h.clock.advance(run === 1 ? 0 : 10);
      await eventually(async () => expect((await h.scheduler.jobStatus(id))?.runs).toBe(run));
    }
    const seq = async (query: { fromSequence?: number; limit?: number }) =>
      (await h.scheduler.queryJobHistory(id, query))?.map((run) => run.sequence);
    expect(await seq({ fromSequence: 3 })).toEqual([3, 4]);
    expect(await seq({ limit: 2 })).toEqual([3, 4]);
    expect(await seq({ fromSequence: 2, limit: 1 })).toEqual([4]);
    expect(await seq({ fromSequence: 99 })).toEqual([]);
    expect(await h.scheduler.queryJobHistory('missing', {})).toBeUndefined();
    await expect(
      h.scheduler.queryJobHistory(id, { fromSequence: Number.POSITIVE_INFINITY }),
    ).rejects.toBeInstanceOf(InvalidQueryError);
  });

  it('TestSchedulerStatusRemoved', async () => {
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000, startAt: h.clock.now() + 500 },
      request: { url: 'http://127.0.0.1:2/' },
    });
    expect(await h.scheduler.remove(id)).toBe(true);
    expect(await h.scheduler.jobStatus(id)).toMatchObject({ state: 'removed', runs: 0 });
    expect(await h.scheduler.jobHistory(id)).toEqual([]);
  });

  it('TestSchedulerWithCustomJobsStorage', async () => {
    const { store, calls } = faultyStorage(createMemoryStorage(), new Set());
    const h = await harness({ storage: store });
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000, startAt: h.clock.now() + 500 },
      request: { url: 'http://127.0.0.1:2/' },
    });
    expect(await h.scheduler.jobCount()).toBe(1);
    expect(calls.get('createJob')).toBe(1);
    expect(calls.get('countJobs')).toBe(1);
    expect(await h.scheduler.remove(id)).toBe(true);
    expect(calls.get('endJob')).toBe(1);
  });

  it('TestSchedulerWithCustomJobsStoragePersistsStatusAndHistory', async () => {
    const target = await server();
    const { store, calls } = faultyStorage(createMemoryStorage(), new Set());
    const h = await harness({ storage: store, historyLimit: 1 });
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await eventually(async () =>
      expect(await h.scheduler.jobStatus(id)).toMatchObject({ state: 'completed', runs: 1 }),
    );
    expect(await h.scheduler.jobHistory(id)).toHaveLength(1);
    expect(calls.get('createJob')).toBe(1);
    // One look at startup, one claim of the job's occurrence; one batched completion.
    expect(calls.get('claimDue')).toBe(2);
    expect(calls.get('completeRuns')).toBe(1);
  });

  it('TestSchedulerDuplicateIDUsesJobsStorage', async () => {
    const storage = createMemoryStorage();
    const clock = createManualClock();
    // The id exists in storage only (created by another process), not in this instance.
    await storage.createJob({
      id: 'taken',
      spec: {},
      nextRunAt: clock.now() + 60_000,
      now: clock.now(),
    });
    const h = await harness({}, { storage, clock });
    const error = await h.scheduler
      .schedule({
        id: 'taken',
        schedule: { every: 1_000 },
        request: { url: 'http://127.0.0.1:2/' },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobExistsError);
    expect((error as JobExistsError).code).toBe('ERR_JOB_EXISTS');
    expect((error as JobExistsError).jobId).toBe('taken');
  });

  it('TestSchedulerScheduleFailsWhenStatusPersistenceFails', async () => {
    const { store } = faultyStorage(createMemoryStorage(), new Set(['createJob']));
    const h = await harness({ storage: store });
    const error = await h.scheduler
      .schedule({ schedule: { every: 1_000 }, request: { url: 'http://127.0.0.1:2/' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchedulerStorageError);
    expect((error as SchedulerStorageError).code).toBe('ERR_SCHEDULER_STORAGE');
    expect((error as SchedulerStorageError).operation).toBe('createJob');
    expect((error as SchedulerStorageError).cause).toBeInstanceOf(Error);
    expect(await h.scheduler.jobCount()).toBe(0);
  });

  it('TestSchedulerLogsStorageWriteFailureOnRemove', async () => {
    const failing = new Set<'endJob'>();
    const { store } = faultyStorage(createMemoryStorage(), () => failing);
    const h = await harness({ storage: store });
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000, startAt: h.clock.now() + 500 },
      request: { url: 'http://127.0.0.1:2/' },
    });
    failing.add('endJob');
    const error = await h.scheduler.remove(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchedulerStorageError);
    expect((error as SchedulerStorageError).operation).toBe('endJob');
    const logged = h.logger.at('error').find((e) => e.context.operation === 'endJob');
    expect(logged).toBeDefined();
  });

  it('TestSchedulerStorageExecutionWriteFailureLogsAndContinues', async () => {
    // go-again logged and lost the outcome; here the write is retried with backoff until recorded.
    const target = await server();
    const failing = new Set<'completeRuns'>(['completeRuns']);
    const { store } = faultyStorage(createMemoryStorage(), () => failing);
    const h = await harness({ storage: store });
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await eventually(() =>
      expect(h.logger.at('error').some((e) => e.context.operation === 'completeRuns')).toBe(true),
    );
    expect((await h.scheduler.jobStatus(id))?.activeRuns).toBe(1);
    // The store recovers: the retried write records the first run, and the next occurrence runs.
    failing.clear();
    await h.clock.advance(1_000);
    await target.waitForRequests(2);
    await eventually(async () =>
      expect((await h.scheduler.jobHistory(id))?.map((r) => r.status)).toEqual([
        'succeeded',
        'succeeded',
      ]),
    );
  });

  it('TestSchedulerEndAtInPastStopsImmediately', async () => {
    const target = await server();
    const h = await harness();
    const error = await h.scheduler
      .schedule({
        schedule: { every: 1_000, endAt: h.clock.now() - 100 },
        request: { url: `${target.url}/` },
      })
      .catch((e: unknown) => e);
    // No silent "completed with 0 runs" (W10): a schedule without occurrences is refused.
    expect(error).toBeInstanceOf(InvalidJobError);
    expect((error as InvalidJobError).issues.map((i) => i.path)).toContain('schedule');
    await h.clock.advance(1_000);
    expect(target.requests).toHaveLength(0);
  });

  it('TestSchedulerMaxRunsStops', async () => {
    const target = await server();
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 5, maxRuns: 2 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await h.clock.advance(5);
    await target.waitForRequests(2);
    await eventually(async () =>
      expect((await h.scheduler.jobStatus(id))?.state).toBe('completed'),
    );
    await h.clock.advance(50);
    expect(target.requests).toHaveLength(2);
  });

  it('TestSchedulerCompletedJobCleanup', async () => {
    const target = await server();
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { at: h.clock.now() },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await eventually(async () =>
      expect((await h.scheduler.jobStatus(id))?.state).toBe('completed'),
    );
    expect(await h.scheduler.remove(id)).toBe(false);
    expect(await h.scheduler.jobIds()).toEqual([]);
  });

  it('TestSchedulerConcurrencyLimit', async () => {
    const hold = gate();
    let inFlight = 0;
    let maxInFlight = 0;
    const target = await server(async (_req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await hold.promise;
      inFlight--;
      res.end('ok');
    });
    cleanups.push(async () => hold.open());
    const h = await harness({ concurrency: 1 });
    for (const id of ['first', 'second']) {
      await h.scheduler.schedule({
        id,
        schedule: { every: 60_000, maxRuns: 1 },
        request: { url: `${target.url}/${id}` },
      });
    }
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await h.clock.settle();
    expect(target.requests).toHaveLength(1);
    expect((await h.scheduler.jobStatus('second'))?.state).toBe('scheduled');
    hold.open();
    await target.waitForRequests(2);
    await eventually(async () => expect(await h.scheduler.jobCount()).toBe(0));
    expect(maxInFlight).toBe(1);
  });

  it('TestSchedulerRemoveCancels', async () => {
    const target = await server();
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000, startAt: h.clock.now() + 150 },
      request: { url: `${target.url}/` },
    });
    expect(await h.scheduler.remove(id)).toBe(true);
    await h.clock.advance(5_000);
    expect(target.requests).toHaveLength(0);
  });

  it('TestSchedulerNonRetryableStatus', async () => {
    const target = await server((_req, res) => {
      res.writeHead(400);
      res.end('bad');
    });
    const callback = await server();
    const h = await harness();
    await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
      callback: { url: `${callback.url}/cb` },
      retryPolicy: { ...instant, retryStatusCodes: [500] },
    });
    await h.clock.advance(0);
    const [delivered] = await callback.waitForRequests(1);
    expect(JSON.parse(delivered?.body ?? '{}')).toMatchObject({
      success: false,
      attempts: 1,
      status_code: 400,
    });
    expect(target.requests).toHaveLength(1);
  });

  it('TestSchedulerCallbackBodyLimit', async () => {
    const target = await server((_req, res) => {
      res.end('0123456789');
    });
    const callback = await server();
    const h = await harness();
    await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
      callback: { url: `${callback.url}/cb`, maxBodyBytes: 4 },
    });
    await h.clock.advance(0);
    const [delivered] = await callback.waitForRequests(1);
    expect(JSON.parse(delivered?.body ?? '{}')).toMatchObject({
      success: true,
      attempts: 1,
      status_code: 200,
      response_body: '0123',
      // The seed truncated silently; we say so.
      response_body_truncated: true,
    });
  });

  it('TestSchedulerLoggerWarnsOnCallbackSendFailure', async () => {
    const target = await server();
    const port = await closedPort();
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
      callback: { url: `http://127.0.0.1:${port}/cb`, retryPolicy: { maxRetries: 0 } },
    });
    await h.clock.advance(0);
    await eventually(() =>
      expect(h.logger.at('warn').some((e) => e.context.jobId === id)).toBe(true),
    );
    // The run itself is recorded as succeeded: the callback failure does not change it.
    expect((await h.scheduler.jobHistory(id))?.[0]?.status).toBe('succeeded');
  });

  it('TestSchedulerLoggerWarnsOnCallbackRequestFailure', async () => {
    // The seed accepted an unparsable callback URL and failed at send time; it is now refused
    // when the job is scheduled.
    const h = await harness({ unsafeAllowAnyUrl: true });
    const error = await h.scheduler
      .schedule({
        schedule: { every: 1_000 },
        request: { url: 'http://127.0.0.1:2/' },
        callback: { url: '://invalid-callback-url' },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobError);
    expect((error as InvalidJobError).issues.map((i) => i.path)).toContain('callback.url');
  });

  it('TestSchedulerLoggerWarnsOnCallbackResponseDrainFailure', async () => {
    const target = await server();
    // The callback endpoint breaks the connection halfway through its response body.
    const callback = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setImmediate(() => res.socket?.destroy());
    });
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
      callback: { url: `${callback.url}/cb` },
    });
    await h.clock.advance(0);
    await callback.waitForRequests(1);
    await eventually(() => expect(h.logger.at('warn').length).toBeGreaterThan(0));
    expect((await h.scheduler.jobStatus(id))?.state).toBe('completed');
  });

  it('TestSchedulerLoggerWarnsOnCallbackResponseCloseFailure', async () => {
    const target = await server();
    // The callback endpoint resets the connection before answering.
    const callback = await server((req) => {
      req.socket.destroy();
    });
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
      callback: { url: `${callback.url}/cb`, retryPolicy: { maxRetries: 0 } },
    });
    await h.clock.advance(0);
    await eventually(() =>
      expect(h.logger.at('warn').some((e) => e.context.jobId === id)).toBe(true),
    );
    expect((await h.scheduler.jobStatus(id))?.runs).toBe(1);
  });

  it('TestSchedulerLoggerWarnsOnResponseBodyReadFailure', async () => {
    const target = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setImmediate(() => res.socket?.destroy());
    });
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
      retryPolicy: { maxRetries: 0 },
    });
    await h.clock.advance(0);
    await eventually(async () => expect((await h.scheduler.jobStatus(id))?.runs).toBe(1));
    expect(h.logger.at('warn').length).toBeGreaterThan(0);
    const [run] = (await h.scheduler.jobHistory(id)) ?? [];
    expect(run?.payload?.status_code).toBe(200);
  });

  it('TestSchedulerLoggerWarnsOnResponseBodyCloseFailure', async () => {
    // A body larger than the capture limit: the rest is not read (the seed drained it without
    // bound); the run still succeeds with the captured prefix.
    const target = await server((_req, res) => {
      res.writeHead(200);
      res.end('x'.repeat(1_000_000));
    });
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await eventually(async () => expect((await h.scheduler.jobStatus(id))?.runs).toBe(1));
    const [run] = (await h.scheduler.jobHistory(id)) ?? [];
    expect(run?.status).toBe('succeeded');
    expect(run?.payload?.response_body?.length).toBe(4096);
    expect(run?.payload?.response_body_truncated).toBe(true);
  });

  it('TestSchedulerLogsStorageWriteFailureOnMarkTerminal', async () => {
    // Completion is part of recording the last run (W9); its failure is logged as such.
    const target = await server();
    const { store } = faultyStorage(createMemoryStorage(), new Set(['completeRuns']));
    const h = await harness({ storage: store });
    await h.scheduler.schedule({
      schedule: { every: 1_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await eventually(() => {
      const entry = h.logger.at('error').find((e) => e.context.operation === 'completeRuns');
      expect(entry?.context.error).toBeInstanceOf(SchedulerStorageError);
    });
  });

  it('TestSchedulerLogsStorageWriteFailureOnMarkStopped', async () => {
    const failing = new Set<'endJob'>();
    const { store } = faultyStorage(createMemoryStorage(), () => failing);
    const h = await harness({ storage: store, onStop: 'mark-stopped' });
    const id = await h.scheduler.schedule({
      schedule: { every: 1_000, startAt: h.clock.now() + 500 },
      request: { url: 'http://127.0.0.1:2/' },
    });
    failing.add('endJob');
    await h.scheduler.stop();
    expect(h.logger.at('error').some((e) => e.context.jobId === id)).toBe(true);
    failing.clear();
    const other = await startScheduler({ storage: store, onStop: 'mark-stopped' });
    const otherId = await other.scheduler.schedule({
      schedule: { every: 1_000, startAt: other.clock.now() + 500 },
      request: { url: 'http://127.0.0.1:2/' },
    });
    await other.scheduler.stop();
    expect((await other.scheduler.jobStatus(otherId))?.state).toBe('stopped');
  });
});

describe('go-again pkg/scheduler/scheduler_internal_test.go', () => {
  it('TestNewSchedulerWithError_DefaultURLValidatorFailure', async () => {
    // Fail closed: no egress and no explicit opt-out is an error, never a degraded instance.
    const error = await createScheduler({ storage: createMemoryStorage() }).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidSchedulerOptionsError);
    expect((error as InvalidSchedulerOptionsError).code).toBe('ERR_INVALID_SCHEDULER_OPTIONS');
    expect((error as InvalidSchedulerOptionsError).issues.map((i) => i.path)).toEqual(['egress']);
    const none = await createScheduler({} as never).catch((e) => e);
    expect((none as InvalidSchedulerOptionsError).issues.map((i) => i.path)).toEqual([
      'storage',
      'egress',
    ]);
  });

  it('TestNewSchedulerWithError_ExplicitNilValidatorSkipsDefaultInitialization', async () => {
    const target = await server();
    const h = await harness({ unsafeAllowAnyUrl: true });
    // Any URL is accepted without a check (here a plain-http loopback one).
    await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    const both = await createScheduler({
      storage: createMemoryStorage(),
      unsafeAllowAnyUrl: true,
      egress: loopbackEgress(),
    }).catch((e) => e);
    expect(both).toBeInstanceOf(InvalidSchedulerOptionsError);
  });

  it('TestNewScheduler_WarnsWhenDefaultURLValidatorFails', async () => {
    // There is no "warn and carry on" constructor: bad options reject, listing every problem.
    const error = await createScheduler({
      storage: createMemoryStorage(),
      egress: { fetch: 'nope' } as never,
      concurrency: 0,
      historyLimit: -1,
      leaseDuration: 1,
      pollInterval: -5,
      onRestart: 'maybe' as never,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidSchedulerOptionsError);
    expect((error as InvalidSchedulerOptionsError).issues.map((i) => i.path)).toEqual([
      'egress',
      'concurrency',
      'historyLimit',
      'leaseDuration',
      'pollInterval',
      'onRestart',
    ]);
  });

  it('TestSchedulerLogErrorWarnLevel', async () => {
    const { store } = faultyStorage(createMemoryStorage(), new Set(['getJob']));
    const h = await harness({ storage: store });
    await expect(h.scheduler.jobStatus('x')).rejects.toBeInstanceOf(SchedulerStorageError);
    const [entry] = h.logger.at('error');
    expect(entry?.context.operation).toBe('getJob');
    expect(entry?.context.error).toBeInstanceOf(Error);
  });

  it('TestSchedulerLogErrorDebugLevelOnContextCancellation', async () => {
    // A cancellation is recorded in history as a cancellation, not logged as a failure.
    const hold = gate();
    const target = await server(async (_req, res) => {
      await hold.promise;
      res.end('late');
    });
    cleanups.push(async () => hold.open());
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    expect(await h.scheduler.remove(id)).toBe(true);
    const [run] = (await h.scheduler.jobHistory(id)) ?? [];
    expect(run).toMatchObject({ status: 'canceled', reason: 'removed' });
    expect(run?.payload?.canceled).toBe(true);
    expect(h.logger.at('warn')).toEqual([]);
    expect(h.logger.at('error')).toEqual([]);
  });

  it('TestSchedulerLogErrorIgnoresNilError', async () => {
    const target = await server();
    const h = await harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await eventually(async () =>
      expect((await h.scheduler.jobStatus(id))?.state).toBe('completed'),
    );
    expect(h.logger.at('warn')).toEqual([]);
    expect(h.logger.at('error')).toEqual([]);
  });

  it('TestNewSchedulerWithError_ReconcilesRecoveredState', async () => {
    const storage = createMemoryStorage();
    const clock = createManualClock();
    const now = clock.now();
    await storage.createJob({ id: 'scheduled', spec: {}, nextRunAt: now + 60_000, now });
    await storage.createJob({ id: 'running', spec: {}, nextRunAt: now, now });
    await storage.claimDue({
      owner: 'dead',
      now,
      limit: 10,
      leaseDuration: 1_000,
      plan: (job) => ({
        run: { scheduledAt: now, occurrenceId: 'running@0' },
        skipped: [],
        nextRunAt: job.nextRunAt + 60_000,
      }),
    });
    await storage.createJob({ id: 'done', spec: {}, nextRunAt: null, now });
    const h = await harness({ onRestart: 'cancel' }, { storage, clock });
    expect((await h.scheduler.jobStatus('scheduled'))?.state).toBe('canceled');
    expect((await h.scheduler.jobStatus('running'))?.state).toBe('canceled');
    expect((await h.scheduler.jobStatus('done'))?.state).toBe('completed');
    expect(await h.scheduler.jobIds()).toEqual([]);
  });

  it('TestNewSchedulerWithError_ReconcileFailureReturnsStorageError', async () => {
    const inner = createMemoryStorage();
    await inner.createJob({ id: 'a', spec: {}, nextRunAt: Date.now() + 60_000, now: Date.now() });
    const { store } = faultyStorage(inner, new Set(['endJob']));
    const logger = recordingLogger();
    const error = await createScheduler({
      storage: store,
      unsafeAllowAnyUrl: true,
      onRestart: 'cancel',
      logger,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(SchedulerStorageError);
    expect((error as SchedulerStorageError).operation).toBe('endJob');
  });

  it('TestNewScheduler_WarnsWhenStateReconciliationFails', async () => {
    // Fail closed: a store that fails at startup yields no scheduler (the seed returned a
    // degraded one with URL checks off, W16). The failure is logged and thrown.
    const storage = createMemoryStorage();
    await storage.close();
    const logger = recordingLogger();
    const error = await createScheduler({ storage, egress: loopbackEgress(), logger }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(SchedulerStorageError);
    expect((error as SchedulerStorageError).cause).toMatchObject({ code: 'ERR_STORAGE_CLOSED' });
    expect(logger.at('error')).toHaveLength(1);
  });

  it('serves HTTPS targets through the egress (the Go tests ran on TLS servers)', async () => {
    const target = await startHttpsServer();
    cleanups.push(() => target.close());
    const h = await harness({ egress: loopbackEgress(target.ca) });
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/tls` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await eventually(async () =>
      expect((await h.scheduler.jobStatus(id))?.lastRun?.success).toBe(true),
    );
  });
});
