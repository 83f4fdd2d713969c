import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { diagnosticsChannelOf, SCHEDULER_EVENTS, SchedulerEventHub } from './events.js';
import { createLog } from './logger.js';
import { eventually, recordingLogger, tracked } from './test-utils/harness.js';

const t = tracked();
afterEach(() => t.flush());

describe('SchedulerEventHub', () => {
  it('builds nothing when nobody listens; delivers frozen payloads to listeners and channels', () => {
    const hub = new SchedulerEventHub(createLog(false, 'silent'));
    let built = 0;
    const payload = () => {
      built++;
      return { instanceId: 'i', jobId: 'a' };
    };
    hub.emit('job:removed', payload);
    expect(built).toBe(0);

    const seen: unknown[] = [];
    const off = hub.on('job:removed', (event) => seen.push(event));
    const channel: unknown[] = [];
    const onMessage = (message: unknown) => channel.push(message);
    diagnostics.subscribe(diagnosticsChannelOf('job:removed'), onMessage);
    try {
      hub.emit('job:removed', payload);
      expect(built).toBe(1);
      expect(seen).toEqual([{ instanceId: 'i', jobId: 'a' }]);
      expect(channel).toEqual(seen);
      expect(Object.isFrozen(seen[0])).toBe(true);
      off();
      hub.emit('job:removed', payload);
      // The channel still listens; the removed listener does not.
      expect(seen).toHaveLength(1);
      expect(channel).toHaveLength(2);
    } finally {
      diagnostics.unsubscribe(diagnosticsChannelOf('job:removed'), onMessage);
    }
    hub.emit('job:removed', payload);
    expect(built).toBe(2);
  });

  it('a throwing listener is logged at warn and the others still run', () => {
    const logger = recordingLogger();
    const hub = new SchedulerEventHub(createLog(logger, 'debug'));
    const seen: string[] = [];
    hub.on('job:paused', () => {
      throw new Error('listener broke');
    });
    hub.on('job:paused', (event) => seen.push(event.jobId));
    hub.emit('job:paused', () => ({ instanceId: 'i', jobId: 'a' }));
    expect(seen).toEqual(['a']);
    expect(logger.at('warn').map((entry) => entry.context.event)).toEqual(['job:paused']);
  });

  it('refuses an unknown event name and a listener that is not a function', () => {
    const hub = new SchedulerEventHub(createLog(false, 'silent'));
    expect(() => hub.on('run:exploded' as never, () => {})).toThrow(TypeError);
    expect(() => hub.on('run:started', 'nope' as never)).toThrow(TypeError);
    expect(SCHEDULER_EVENTS).toContain('attempt:failed');
  });
});

describe('events of a scheduler', () => {
  it('job scheduled, run started and succeeded, skipped occurrences, run failed, job removed', async () => {
    let fail = false;
    const target = await t.server((_req, res) => {
      res.writeHead(fail ? 404 : 200).end('ok');
    });
    const h = await t.harness();
    const events: Array<{ name: string; payload: Record<string, unknown> }> = [];
    for (const name of SCHEDULER_EVENTS) {
      h.scheduler.on(name, (payload) => events.push({ name, payload: { ...payload } }));
    }
    const id = await h.scheduler.schedule({
      id: 'watched',
      schedule: { every: 1_000 },
      request: { url: `${target.url}/` },
      retryPolicy: { maxRetries: 0 },
    });
    await h.clock.advance(0);
    await eventually(() =>
      expect(events.map((e) => e.name)).toEqual([
        'job:scheduled',
        'run:started',
        'attempt:started',
        'attempt:succeeded',
        'run:succeeded',
      ]),
    );
    expect(events[2]?.payload).toMatchObject({ attempt: 1, method: 'GET', url: `${target.url}/` });
    expect(events[3]?.payload).toMatchObject({ attempt: 1, statusCode: 200 });
    expect(events[4]?.payload).toMatchObject({
      instanceId: h.scheduler.instanceId,
      jobId: id,
      attempts: 1,
      statusCode: 200,
      trigger: false,
    });
    expect(events[4]?.payload.occurrenceId).toMatch(/^watched@/);

    // A job that starts 2.5 intervals in the past: two occurrences missed, the latest runs, and
    // fails.
    fail = true;
    events.length = 0;
    await h.scheduler.schedule({
      id: 'late',
      schedule: { every: 1_000, startAt: h.clock.now() - 2_500 },
      request: { url: `${target.url}/` },
      retryPolicy: { maxRetries: 0 },
    });
    await h.clock.advance(0);
    await eventually(() => expect(events.some((e) => e.name === 'run:failed')).toBe(true));
    const skipped = events.filter((e) => e.name === 'occurrence:skipped');
    expect(skipped.map((e) => [e.payload.jobId, e.payload.reason])).toEqual([
      ['late', 'missed'],
      ['late', 'missed'],
    ]);
    // The one attempt failed and no retry follows.
    expect(events.find((e) => e.name === 'attempt:failed')?.payload).toMatchObject({
      jobId: 'late',
      attempt: 1,
      statusCode: 404,
      error: 'unexpected status 404',
      retryIn: null,
    });
    expect(events.find((e) => e.name === 'run:failed')?.payload).toMatchObject({
      jobId: 'late',
      statusCode: 404,
      error: 'unexpected status 404',
    });

    events.length = 0;
    await h.scheduler.remove(id);
    expect(events.map((e) => e.name)).toEqual(['job:removed']);
  });
});

describe('attempt events', () => {
  it('a failed attempt that is retried carries the delay; the next one succeeds', async () => {
    let calls = 0;
    const target = await t.server((_req, res) => {
      calls++;
      res.writeHead(calls === 1 ? 503 : 200).end('ok');
    });
    const h = await t.harness();
    const seen: Array<[string, Record<string, unknown>]> = [];
    for (const name of ['attempt:started', 'attempt:failed', 'attempt:succeeded'] as const) {
      h.scheduler.on(name, (payload) => seen.push([name, { ...payload }]));
    }
    await h.scheduler.schedule({
      schedule: { at: h.clock.now() },
      request: { url: `${target.url}/` },
      retryPolicy: { maxRetries: 2, interval: 1_000, jitterStrategy: 'none' },
    });
    await h.clock.advance(0);
    await eventually(() => expect(seen.map(([name]) => name)).toContain('attempt:failed'));
    await h.clock.advance(1_000);
    await eventually(() => expect(seen.map(([name]) => name)).toContain('attempt:succeeded'));
    expect(seen.map(([name, payload]) => [name, payload.attempt])).toEqual([
      ['attempt:started', 1],
      ['attempt:failed', 1],
      ['attempt:started', 2],
      ['attempt:succeeded', 2],
    ]);
    expect(seen[1]?.[1]).toMatchObject({ statusCode: 503, retryIn: 1_000 });
  });
});

describe('listeners given to createScheduler', () => {
  it('see the first run a restarted scheduler resumes, and bad ones are refused by name', async () => {
    const target = await t.server((_req, res) => {
      res.writeHead(200).end('ok');
    });
    const first = await t.harness();
    await first.scheduler.schedule({
      id: 'resumed',
      schedule: { at: first.clock.now() + 1_000 },
      request: { url: `${target.url}/` },
    });
    await first.scheduler.stop();
    await first.clock.advance(1_000);

    // The restarted scheduler claims the due job while it starts, before `createScheduler`
    // resolves; only listeners given up front are sure to see it.
    const started: string[] = [];
    const succeeded: string[] = [];
    const restarted = await t.harness(
      {
        on: {
          'run:started': ({ jobId }) => started.push(jobId),
          'run:succeeded': ({ jobId }) => succeeded.push(jobId),
        },
      },
      { storage: first.storage, clock: first.clock },
    );
    await eventually(() => expect(succeeded).toEqual(['resumed']));
    expect(started).toEqual(['resumed']);
    await restarted.scheduler.stop();

    const refused = t.harness({
      on: { 'run:exploded': () => {}, 'run:failed': 'nope' } as never,
    });
    await expect(refused).rejects.toMatchObject({
      code: 'ERR_INVALID_SCHEDULER_OPTIONS',
      issues: [
        { path: 'on.run:exploded', message: expect.stringMatching(/^unknown event; one of /) },
        { path: 'on.run:failed', message: 'must be a function' },
      ],
    });
    await expect(t.harness({ on: [] as never })).rejects.toMatchObject({
      issues: [{ path: 'on', message: 'must be an object of listeners by event name' }],
    });
  });
});
