/**
 * Jobs operated in place: pause, resume, trigger and update, on one instance and across instances
 * sharing a store; and what becomes of a callback, recorded on the run's history entry.
 */
import { createMemoryStorage } from '@again/storage-memory';
import { createManualClock } from '@again/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidJobError,
  JobNotFoundError,
  JobPausedError,
  JobUpdateConflictError,
} from './errors.js';
import { InvalidQueryError } from './status.js';
import { eventually, tracked } from './test-utils/harness.js';

const t = tracked();
afterEach(() => t.flush());

const EVERY = 1_000;

describe('pause and resume', () => {
  it('a paused job starts no run and keeps its schedule and history; resume follows the missed-run policy', async () => {
    const target = await t.server();
    const h = await t.harness();
    const id = await h.scheduler.schedule({
      id: 'paused',
      schedule: { every: EVERY },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await eventually(async () => expect((await h.scheduler.jobStatus(id))?.runs).toBe(1));
    const before = await h.scheduler.jobStatus(id);

    expect(await h.scheduler.pause(id)).toBe(true);
    expect(await h.scheduler.pause(id)).toBe(true); // already paused
    expect((await h.scheduler.jobStatus(id))?.state).toBe('paused');
    await h.clock.advance(3 * EVERY);
    expect(target.requests).toHaveLength(1);
    const paused = await h.scheduler.jobStatus(id);
    expect(paused?.nextRunAt).toEqual(before?.nextRunAt);
    expect(await h.scheduler.jobIds()).toEqual([id]); // paused is unfinished

    expect(await h.scheduler.resume(id)).toBe(true);
    expect(await h.scheduler.resume(id)).toBe(false); // no longer paused
    await h.clock.advance(0);
    await target.waitForRequests(2);
    // run-once: the latest due occurrence ran, the earlier ones are recorded missed.
    await eventually(async () => {
      const history = (await h.scheduler.jobHistory(id)) ?? [];
      expect(history.map((run) => run.status)).toEqual([
        'succeeded',
        'skipped',
        'skipped',
        'succeeded',
      ]);
    });
  });

  it('pause and resume act across instances sharing the store', async () => {
    const target = await t.server();
    const storage = createMemoryStorage();
    const clock = createManualClock();
    const a = await t.harness({}, { storage, clock });
    const b = await t.harness({}, { storage, clock });
    const id = await a.scheduler.schedule({
      schedule: { every: EVERY, startAt: clock.now() + EVERY },
      request: { url: `${target.url}/` },
    });
    expect(await b.scheduler.pause(id)).toBe(true);
    await clock.advance(2 * EVERY);
    expect(target.requests).toHaveLength(0);
    expect(await b.scheduler.resume(id)).toBe(true);
    await clock.advance(0);
    await target.waitForRequests(1);
  });

  it('unknown and finished jobs: false; malformed ids: InvalidQueryError', async () => {
    const target = await t.server();
    const h = await t.harness();
    expect(await h.scheduler.pause('nope')).toBe(false);
    expect(await h.scheduler.resume('nope')).toBe(false);
    const id = await h.scheduler.schedule({
      schedule: { at: h.clock.now() },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await eventually(async () =>
      expect((await h.scheduler.jobStatus(id))?.state).toBe('completed'),
    );
    expect(await h.scheduler.pause(id)).toBe(false);
    await expect(h.scheduler.pause('')).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(h.scheduler.resume('\ud800')).rejects.toBeInstanceOf(InvalidQueryError);
    expect(h.logger.at('error')).toEqual([]);
  });
});

describe('trigger', () => {
  it('runs once now with its own occurrence id and idempotency key; the schedule stays as it is', async () => {
    const target = await t.server();
    const h = await t.harness();
    const id = await h.scheduler.schedule({
      id: 'manual',
      schedule: { every: 60_000, startAt: h.clock.now() + 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    const nextRunAt = (await h.scheduler.jobStatus(id))?.nextRunAt;
    const occurrenceId = await h.scheduler.trigger(id);
    expect(occurrenceId).toMatch(/^manual@.+\+trigger-[0-9a-f]{8}$/);
    await target.waitForRequests(1);
    expect(target.requests[0]?.headers['idempotency-key']).toBe(occurrenceId);
    await eventually(async () => {
      expect(await h.scheduler.jobHistory(id)).toMatchObject([
        { occurrenceId, status: 'succeeded', trigger: true },
      ]);
    });
    const status = await h.scheduler.jobStatus(id);
    expect(status).toMatchObject({ state: 'scheduled', runs: 1 });
    expect(status?.nextRunAt).toEqual(nextRunAt);
    // A triggered run does not count against maxRuns: the scheduled one still runs.
    await h.clock.advance(60_000);
    await target.waitForRequests(2);
    await eventually(async () =>
      expect((await h.scheduler.jobStatus(id))?.state).toBe('completed'),
    );
    const history = (await h.scheduler.jobHistory(id)) ?? [];
    expect(history.map((run) => run.trigger)).toEqual([true, false]);
  });

  it('two triggers in a row are two runs with distinct keys', async () => {
    const target = await t.server();
    const h = await t.harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, startAt: h.clock.now() + 60_000 },
      request: { url: `${target.url}/` },
    });
    const [first, second] = await Promise.all([h.scheduler.trigger(id), h.scheduler.trigger(id)]);
    expect(first).not.toBe(second);
    await target.waitForRequests(2);
  });

  it('a paused job: JobPausedError; an unknown or finished one: JobNotFoundError', async () => {
    const h = await t.harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000, startAt: h.clock.now() + 60_000 },
      request: { url: 'http://127.0.0.1:2/' },
    });
    await h.scheduler.pause(id);
    await expect(h.scheduler.trigger(id)).rejects.toBeInstanceOf(JobPausedError);
    await expect(h.scheduler.trigger('nope')).rejects.toMatchObject({
      code: 'ERR_JOB_NOT_FOUND',
      jobId: 'nope',
    });
    await h.scheduler.remove(id);
    await expect(h.scheduler.trigger(id)).rejects.toBeInstanceOf(JobNotFoundError);
    await expect(h.scheduler.trigger('')).rejects.toBeInstanceOf(InvalidQueryError);
  });

  it('with every slot busy, a triggered run starts first when one frees', async () => {
    const target = await t.holding(1);
    const h = await t.harness({ concurrency: 1 });
    const busy = await h.scheduler.schedule({
      id: 'busy',
      schedule: { at: h.clock.now() },
      request: { url: `${target.url}/busy` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    const other = await h.scheduler.schedule({
      id: 'other',
      schedule: { at: h.clock.now() },
      request: { url: `${target.url}/other` },
    });
    const manual = await h.scheduler.schedule({
      id: 'manual',
      schedule: { every: 60_000, startAt: h.clock.now() + 60_000 },
      request: { url: `${target.url}/manual` },
    });
    await h.scheduler.trigger(manual);
    await h.clock.advance(0);
    target.open();
    await target.waitForRequests(3);
    expect(target.requests.map((r) => r.path)).toEqual(['/busy', '/manual', '/other']);
    void busy;
    void other;
  });
});

describe('update', () => {
  it('changes the request in place; a run in flight keeps the definition it started with', async () => {
    const target = await t.holding(1);
    const h = await t.harness();
    const id = await h.scheduler.schedule({
      id: 'changing',
      schedule: { every: EVERY },
      request: { url: `${target.url}/old` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await h.scheduler.update(id, {
      request: { url: `${target.url}/new`, method: 'POST', body: { v: 2 } },
    });
    target.open();
    await eventually(async () => expect((await h.scheduler.jobHistory(id))?.length).toBe(1));
    await h.clock.advance(EVERY);
    await target.waitForRequests(2);
    expect(target.requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', '/old'],
      ['POST', '/new'],
    ]);
    expect(target.requests[1]?.body).toBe('{"v":2}');
    // The history is kept.
    await eventually(async () =>
      expect((await h.scheduler.jobHistory(id))?.map((run) => run.status)).toEqual([
        'succeeded',
        'succeeded',
      ]),
    );
  });

  it('invalid changes: one InvalidJobError listing every problem, nothing written', async () => {
    const h = await t.harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000 },
      request: { url: 'http://127.0.0.1:2/' },
    });
    const before = await h.storage.getJob(id);
    const error = await h.scheduler
      .update(id, {
        schedule: { every: -5 },
        request: { url: 'not a url', method: 'GET', body: 'x' },
        retryPolicy: { retrier: 'nobody' },
      } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobError);
    const paths = (error as InvalidJobError).issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['schedule.every', 'request.url']));
    expect(await h.storage.getJob(id)).toEqual(before);
    await expect(h.scheduler.update(id, { id: 'other' } as never)).rejects.toBeInstanceOf(
      InvalidJobError,
    );
    await expect(h.scheduler.update('nope', { overlap: 'skip' })).rejects.toBeInstanceOf(
      JobNotFoundError,
    );
  });

  it('a changed interval continues from the latest scheduled occurrence', async () => {
    const target = await t.server();
    const h = await t.harness();
    const start = h.clock.now();
    const id = await h.scheduler.schedule({
      schedule: { every: 10_000 },
      request: { url: `${target.url}/` },
    });
    await h.clock.advance(0);
    await target.waitForRequests(1);
    await eventually(async () => expect((await h.scheduler.jobStatus(id))?.runs).toBe(1));
    await h.clock.advance(2_000);
    await h.scheduler.update(id, { schedule: { every: 5_000 } });
    expect((await h.scheduler.jobStatus(id))?.nextRunAt?.getTime()).toBe(start + 5_000);
    await h.clock.advanceTo(start + 5_000);
    await target.waitForRequests(2);
  });

  it('concurrent updates of one job (on two instances) both apply, one after the other', async () => {
    const storage = createMemoryStorage();
    const clock = createManualClock();
    const a = await t.harness({}, { storage, clock });
    const b = await t.harness({}, { storage, clock });
    const id = await a.scheduler.schedule({
      schedule: { every: 60_000, startAt: clock.now() + 60_000 },
      request: { url: 'http://127.0.0.1:2/' },
    });
    await Promise.all([
      a.scheduler.update(id, { metadata: { owner: 'a' } }),
      b.scheduler.update(id, { overlap: 'skip' }),
    ]);
    const job = await storage.getJob(id);
    expect(job?.revision).toBe(2);
    expect(job?.spec).toMatchObject({ overlap: 'skip', metadata: { owner: 'a' } });
    expect(JobUpdateConflictError).toBeDefined();
  });
});

describe('jobDefinition', () => {
  it('reads a definition back with every default; handed to update() unchanged, it changes nothing', async () => {
    const h = await t.harness();
    const start = h.clock.now() + 3_600_000;
    const inputs = [
      {
        schedule: { cron: '*/5 * * * *', timezone: 'Europe/Paris', maxRuns: 3 },
        request: {
          url: 'http://127.0.0.1:2/a',
          method: 'POST' as const,
          headers: new Headers({ 'x-a': '1' }),
          body: new Uint8Array([0, 255, 7]),
        },
        callback: {
          url: 'http://127.0.0.1:2/cb',
          retryPolicy: { maxRetries: 1, jitterStrategy: 'none' as const },
        },
        retryPolicy: { jitterStrategy: 'decorrelated' as const, maxDelay: 5_000 },
        missedRuns: { policy: 'run-all' as const, limit: 7 },
        metadata: { team: 'ops', tier: '1' },
      },
      {
        schedule: { at: start },
        request: { url: 'http://127.0.0.1:2/b', method: 'PATCH' as const, body: { x: 1 } },
      },
      {
        schedule: { every: 60_000, startAt: start, endAt: start + 600_000 },
        overlap: 'skip' as const,
        request: { url: 'http://127.0.0.1:2/c' },
      },
    ];
    for (const input of inputs) {
      const id = await h.scheduler.schedule(input);
      const before = await h.storage.getJob(id);
      const definition = await h.scheduler.jobDefinition(id);
      expect(definition?.request.url).toBe(input.request.url);
      await h.scheduler.update(id, definition ?? {});
      const after = await h.storage.getJob(id);
      expect(after?.spec).toEqual(before?.spec);
      expect(after?.revision).toBe((before?.revision ?? 0) + 1);
    }
  });

  it('one field changed in a part read back: the rest of the part is kept', async () => {
    const h = await t.harness();
    const id = await h.scheduler.schedule({
      schedule: { every: 60_000 },
      request: { url: 'http://127.0.0.1:2/', method: 'PUT', headers: { 'x-a': '1' }, body: 'b' },
    });
    const definition = await h.scheduler.jobDefinition(id);
    if (definition === undefined) throw new Error('no definition');
    const headers = { ...definition.request.headers, 'x-b': '2' };
    await h.scheduler.update(id, { request: { ...definition.request, headers } });
    expect((await h.scheduler.jobDefinition(id))?.request).toEqual({
      url: 'http://127.0.0.1:2/',
      method: 'PUT',
      headers: { 'x-a': '1', 'x-b': '2' },
      body: 'b',
      timeout: 10_000,
      signWith: null,
    });
  });

  it('unknown id: undefined; malformed id: InvalidQueryError', async () => {
    const h = await t.harness();
    expect(await h.scheduler.jobDefinition('nope')).toBeUndefined();
    await expect(h.scheduler.jobDefinition('')).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(h.scheduler.jobDefinition(7 as never)).rejects.toBeInstanceOf(InvalidQueryError);
  });
});

describe('callback outcomes', () => {
  it('are recorded on the run’s history entry', async () => {
    let fail = false;
    const target = await t.server();
    const callback = await t.server((_req, res) => {
      res.writeHead(fail ? 404 : 204).end();
    });
    const h = await t.harness();
    const id = await h.scheduler.schedule({
      schedule: { every: EVERY },
      request: { url: `${target.url}/` },
      callback: { url: `${callback.url}/cb` },
    });
    await h.clock.advance(0);
    await eventually(async () =>
      expect((await h.scheduler.jobHistory(id))?.[0]?.callback).toMatchObject({
        delivered: true,
        attempts: 1,
        statusCode: 204,
        error: null,
      }),
    );
    fail = true;
    await h.clock.advance(EVERY);
    await eventually(async () =>
      expect((await h.scheduler.jobHistory(id))?.[1]?.callback).toMatchObject({
        delivered: false,
        statusCode: 404,
      }),
    );
  });
});
