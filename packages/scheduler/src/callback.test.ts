import { randomBytes } from 'node:crypto';
import { createRetrier } from '@again/retry';
import {
  closedPort,
  createManualClock,
  type RecordedRequest,
  type TestHandler,
  type TestServer,
} from '@again/test-utils';
import { UrlGuardError } from '@again/url-guard';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CallbackPayload, deliverCallback } from './callback.js';
import type { FetchFunction } from './http-client.js';
import { executeOccurrence } from './request.js';
import { SigningKeys, WEBHOOK_HEADERS } from './signing.js';
import {
  collectGarbage,
  cutShort,
  drip,
  hang,
  job,
  occurrence,
  type RunHarness,
  sequence,
  text,
  useRequestHarness,
} from './test-utils/request-harness.js';
import { sleepOn } from './timer.js';

const harness = useRequestHarness();

afterEach(() => {
  vi.useRealTimers();
});

describe('deliverCallback', () => {
  async function runWithCallback(
    callbackHandler: TestHandler,
    callback: Record<string, unknown> = {},
  ): Promise<{
    payload: CallbackPayload;
    cb: TestServer;
    h: RunHarness;
    delivery: Awaited<ReturnType<typeof deliverCallback>>;
  }> {
    const target = await harness.http(text(200, 'target says hi'));
    const cb = await harness.http(callbackHandler);
    const spec = job({
      request: { url: target.url },
      callback: { url: `${cb.url}/cb`, ...callback },
    });
    const h = harness.run();
    const outcome = await executeOccurrence(spec, occurrence('billing'), h.deps);
    const delivery = await deliverCallback(spec, outcome.payload, h.deps);
    return { payload: outcome.payload, cb, h, delivery };
  }

  it('POSTs the payload JSON with go-again’s keys in order, plus ours', async () => {
    const { cb, delivery } = await runWithCallback(text(200));
    expect(delivery).toEqual({ ok: true, status: 200, error: null, attempts: 1 });
    const request = cb.requests[0] as RecordedRequest;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/cb');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['idempotency-key']).toBe('billing@2026-03-01T09:00:00.000Z');
    expect(request.headers['x-again-scheduled-at']).toBe('2026-03-01T09:00:00.000Z');
    const body = JSON.parse(request.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'job_id',
      'scheduled_at',
      'started_at',
      'finished_at',
      'attempts',
      'success',
      'status_code',
      'response_body',
      'response_body_truncated',
      'occurrence_id',
    ]);
    expect(body).toMatchObject({
      job_id: 'billing',
      scheduled_at: '2026-03-01T09:00:00.000Z',
      attempts: 1,
      success: true,
      status_code: 200,
      response_body: 'target says hi',
      response_body_truncated: false,
      occurrence_id: 'billing@2026-03-01T09:00:00.000Z',
    });
    for (const key of ['started_at', 'finished_at']) {
      expect(body[key]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });

  it('carries error and canceled keys for a failed run', async () => {
    const target = await harness.http(text(404));
    const cb = await harness.http(text(204));
    const spec = job({ request: { url: target.url }, callback: { url: cb.url } });
    const { deps } = harness.run();
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    await deliverCallback(spec, outcome.payload, deps);
    const body = JSON.parse(cb.requests[0]?.body ?? '{}') as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'job_id',
      'scheduled_at',
      'started_at',
      'finished_at',
      'attempts',
      'success',
      'status_code',
      'error',
      'occurrence_id',
    ]);
    expect(body).toMatchObject({
      success: false,
      status_code: 404,
      error: 'unexpected status 404',
    });
  });

  it('lets custom headers override content-type and uses the configured method', async () => {
    const { cb } = await runWithCallback(text(200), {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.again+json', 'X-Signature': 'abc' },
    });
    const request = cb.requests[0] as RecordedRequest;
    expect(request.method).toBe('PUT');
    expect(request.headers['content-type']).toBe('application/vnd.again+json');
    expect(request.headers['x-signature']).toBe('abc');
  });

  it('reports and logs a non-2xx answer that is not retried', async () => {
    const { delivery, h, cb } = await runWithCallback(text(500, 'oops'), {
      retryPolicy: { retryStatusCodes: [503] },
    });
    expect(delivery).toEqual({
      ok: false,
      status: 500,
      error: 'unexpected status 500',
      attempts: 1,
    });
    expect(cb.requests).toHaveLength(1);
    expect(h.logger.lines.filter((line) => line.level === 'warn')).toHaveLength(1);
  });

  it('reports a transport failure without throwing', async () => {
    const port = await closedPort();
    const target = await harness.http(text(200));
    const spec = job({
      request: { url: target.url },
      callback: { url: `http://127.0.0.1:${port}/` },
    });
    const { deps, logger } = harness.run();
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    const delivery = await deliverCallback(spec, outcome.payload, deps);
    expect(delivery.ok).toBe(false);
    expect(delivery.status).toBeNull();
    expect(delivery.error).toContain('ECONNREFUSED');
    expect(logger.lines.some((line) => line.level === 'warn')).toBe(true);
  });

  it('times out a slow callback endpoint', async () => {
    const { delivery } = await runWithCallback(hang, {
      timeout: 100,
      retryPolicy: { maxRetries: 0 },
    });
    expect(delivery).toEqual({
      ok: false,
      status: null,
      error: 'gave up after 1 attempt; last error: request timed out after 100 ms',
      attempts: 1,
    });
  });

  it('reports a cancelled run when given a delivery signal other than the run’s', async () => {
    const target = await harness.http(hang);
    const cb = await harness.http(text(200));
    const spec = job({ request: { url: target.url, timeout: 0 }, callback: { url: cb.url } });
    const { deps, controller } = harness.run();
    const run = executeOccurrence(spec, occurrence(), deps);
    await target.waitForRequests(1);
    controller.abort(new Error('removed'));
    const outcome = await run;
    const delivery = await deliverCallback(spec, outcome.payload, {
      ...deps,
      signal: new AbortController().signal,
    });
    expect(delivery.ok).toBe(true);
    const body = JSON.parse(cb.requests[0]?.body ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({ success: false, canceled: true, error: 'canceled: removed' });
    expect(Object.keys(body).slice(-2)).toEqual(['occurrence_id', 'canceled']);
  });

  it('aborts delivery when its signal aborts', async () => {
    const target = await harness.http(text(200));
    const cb = await harness.http(hang);
    const spec = job({ request: { url: target.url }, callback: { url: cb.url, timeout: 0 } });
    const { deps } = harness.run();
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    const stop = new AbortController();
    const delivery = deliverCallback(spec, outcome.payload, { ...deps, signal: stop.signal });
    await cb.waitForRequests(1);
    stop.abort(new Error('hard stop'));
    expect(await delivery).toEqual({
      ok: false,
      status: null,
      error: 'canceled: hard stop',
      attempts: 1,
    });
  });

  it('sends nothing when the job has no callback', async () => {
    const target = await harness.http(text(200));
    const spec = job({ request: { url: target.url } });
    const { deps } = harness.run();
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(await deliverCallback(spec, outcome.payload, deps)).toEqual({
      ok: true,
      status: null,
      error: null,
      attempts: 0,
    });
    expect(target.requests).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------

/** A finished run's payload, without sending anything. */
function payloadOf(jobId = 'job-1'): CallbackPayload {
  return {
    job_id: jobId,
    scheduled_at: '2026-03-01T09:00:00.000Z',
    started_at: '2026-03-01T09:00:00.010Z',
    finished_at: '2026-03-01T09:00:00.020Z',
    attempts: 1,
    success: true,
    status_code: 200,
    occurrence_id: `${jobId}@2026-03-01T09:00:00.000Z`,
  };
}

describe('deliverCallback: every delivery ends within its timeout, whatever the fetch does', () => {
  it.each(['POST', 'PUT', 'PATCH'] as const)(
    '%s through a fetch that never settles ends at callback.timeout',
    async (method) => {
      vi.useFakeTimers();
      const signals: AbortSignal[] = [];
      const stuck: FetchFunction = (_input, init) => {
        if (init?.signal) signals.push(init.signal);
        return new Promise<Response>(() => {});
      };
      const spec = job({
        request: { url: 'https://api.example.com/' },
        callback: {
          url: 'https://hooks.example.com/cb',
          method,
          timeout: 2_000,
          retryPolicy: { maxRetries: 0 },
        },
      });
      const { deps } = harness.run({ fetch: stuck });
      let result: Awaited<ReturnType<typeof deliverCallback>> | undefined;
      void deliverCallback(spec, payloadOf(), deps).then((delivery) => {
        result = delivery;
      });
      await vi.advanceTimersByTimeAsync(1_999);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(result).toEqual({
        ok: false,
        status: null,
        error: 'gave up after 1 attempt; last error: request timed out after 2000 ms',
        attempts: 1,
      });
      expect(signals[0]?.aborted).toBe(true);
    },
  );

  it.each(['POST', 'PUT', 'PATCH'] as const)(
    '%s whose fetch rejects without reading the JSON body fails at once',
    async (method) => {
      const refusing: FetchFunction = async () => {
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        });
      };
      const spec = job({
        request: { url: 'https://api.example.com/' },
        // No timeout: only the fix can end this delivery.
        callback: { url: 'https://hooks.example.com/cb', method, timeout: 0 },
      });
      const { deps } = harness.run({ fetch: refusing });
      expect(await deliverCallback(spec, payloadOf(), deps)).toEqual({
        ok: false,
        status: null,
        error: 'gave up after 4 attempts; last error: fetch failed: connect ECONNREFUSED',
        attempts: 4,
      });
    },
  );

  it('a fetch that answers without reading the JSON body is a delivery', async () => {
    const answering: FetchFunction = async () => new Response(null, { status: 204 });
    const spec = job({
      request: { url: 'https://api.example.com/' },
      callback: { url: 'https://hooks.example.com/cb', timeout: 0 },
    });
    const { deps } = harness.run({ fetch: answering });
    expect(await deliverCallback(spec, payloadOf(), deps)).toEqual({
      ok: true,
      status: 204,
      error: null,
      attempts: 1,
    });
  });

  it('aborting the delivery signal ends a fetch that never settles', async () => {
    const stuck: FetchFunction = () => new Promise<Response>(() => {});
    const spec = job({
      request: { url: 'https://api.example.com/' },
      callback: { url: 'https://hooks.example.com/cb', timeout: 0 },
    });
    const stop = new AbortController();
    const { deps } = harness.run({ fetch: stuck });
    const delivery = deliverCallback(spec, payloadOf(), { ...deps, signal: stop.signal });
    stop.abort(new Error('hard stop'));
    expect(await delivery).toEqual({
      ok: false,
      status: null,
      error: 'canceled: hard stop',
      attempts: 1,
    });
  });

  it('sends the payload as ky JSON, and keeps the payload key order', async () => {
    const seen: Request[] = [];
    const recording: FetchFunction = async (input) => {
      seen.push((input as Request).clone());
      return new Response(null, { status: 200 });
    };
    const spec = job({
      request: { url: 'https://api.example.com/' },
      callback: { url: 'https://hooks.example.com/cb' },
    });
    const payload = payloadOf('json');
    await deliverCallback(spec, payload, harness.run({ fetch: recording }).deps);
    const request = seen[0] as Request;
    expect(request.headers.get('content-type')).toBe('application/json');
    expect(await request.text()).toBe(JSON.stringify(payload));
  });

  it('a callback answer cut short is still a delivery (its status is the answer), with a warning', async () => {
    const endpoint = await harness.http(cutShort('partial'));
    const spec = job({
      request: { url: 'https://api.example.com/' },
      callback: { url: endpoint.url },
    });
    const { deps, logger } = harness.run();
    expect(await deliverCallback(spec, payloadOf(), deps)).toEqual({
      ok: true,
      status: 200,
      error: null,
      attempts: 1,
    });
    expect(
      logger.lines.filter((line) => line.level === 'warn').map((line) => line.args[0]),
    ).toEqual(['callback response body read failed']);
  });

  it('a collection while the endpoint’s answer drips does not keep the delivery open', async () => {
    const endpoint = await harness.http(drip());
    const spec = job({
      request: { url: 'https://api.example.com/' },
      callback: { url: endpoint.url, timeout: 300 },
    });
    const startedAt = Date.now();
    const delivery = deliverCallback(spec, payloadOf(), harness.run().deps);
    const [recorded] = await endpoint.waitForRequests(1);
    await vi.waitFor(() => expect(recorded?.response.bytesWritten).toBeGreaterThanOrEqual(3), {
      timeout: 2_000,
      interval: 5,
    });
    await collectGarbage();
    // The endpoint answered 200: delivered, and the read of its answer stopped at the timeout.
    expect(await delivery).toEqual({ ok: true, status: 200, error: null, attempts: 1 });
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    await vi.waitFor(() => expect(recorded?.response.clientAborted).toBe(true), { timeout: 2_000 });
  });
});

// ---------------------------------------------------------------------------------------------

/** Answers 503 with a Retry-After header. */
const busy = (retryAfter: string): TestHandler => text(503, 'busy', { 'retry-after': retryAfter });

/** Destroys the connection without answering: a transport failure. */
const reset: TestHandler = (req) => {
  req.socket.destroy();
};

/**
 * Deps whose time is a hand-driven clock: the waits between attempts are timers on it, and the
 * signatures' `webhook-timestamp` is read from it.
 */
function clocked(start = Date.now()) {
  const clock = createManualClock(start);
  return {
    clock,
    deps: {
      now: () => clock.now(),
      sleep: (ms: number, signal?: AbortSignal) => sleepOn(clock, ms, signal),
    },
  };
}

/** A callback job reporting to `url`, with `callback` fields and `retryPolicy` on top. */
function callbackJob(url: string, callback: Record<string, unknown> = {}) {
  return job({ request: { url: 'https://api.example.com/' }, callback: { url, ...callback } });
}

describe('deliverCallback: retries under the callback’s own policy', () => {
  it('retries a retryable status and delivers on the next attempt, with the same body and key', async () => {
    const cb = await harness.http(sequence(text(503), text(204)));
    const { deps, delays, logger } = harness.run({ random: () => 0.5 });
    const delivery = await deliverCallback(callbackJob(cb.url), payloadOf(), deps);
    expect(delivery).toEqual({ ok: true, status: 204, error: null, attempts: 2 });
    // The default policy: 1 s doubled per retry, full jitter (half of it with random 0.5).
    expect(delays).toEqual([500]);
    const [first, second] = cb.requests as [RecordedRequest, RecordedRequest];
    expect(second.body).toBe(first.body);
    expect(second.headers['idempotency-key']).toBe(first.headers['idempotency-key']);
    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
  });

  it('gives up after maxRetries with the last status, logging once at warn', async () => {
    const cb = await harness.http(text(503));
    const { deps, delays, logger } = harness.run({ random: () => 0.5 });
    const delivery = await deliverCallback(callbackJob(cb.url), payloadOf(), deps);
    expect(delivery).toEqual({
      ok: false,
      status: 503,
      error: 'gave up after 4 attempts; last response 503',
      attempts: 4,
    });
    expect(cb.requests).toHaveLength(4);
    expect(delays).toEqual([500, 1_000, 2_000]);
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.args).toEqual([
      'callback not delivered',
      {
        jobId: 'job-1',
        occurrenceId: 'job-1@2026-03-01T09:00:00.000Z',
        attempts: 4,
        status: 503,
        error: 'gave up after 4 attempts; last response 503',
      },
    ]);
  });

  it('follows the policy the job gives its callback', async () => {
    const cb = await harness.http(text(502));
    const { deps, delays } = harness.run();
    const spec = callbackJob(cb.url, {
      retryPolicy: { maxRetries: 2, interval: 200, backoff: 'linear', jitterStrategy: 'none' },
    });
    const delivery = await deliverCallback(spec, payloadOf(), deps);
    expect(delivery).toMatchObject({ ok: false, status: 502, attempts: 3 });
    expect(delays).toEqual([200, 400]);
  });

  it('does not retry a status outside retryStatusCodes (404)', async () => {
    const cb = await harness.http(sequence(text(404), text(204)));
    const { deps, delays } = harness.run();
    const delivery = await deliverCallback(callbackJob(cb.url), payloadOf(), deps);
    expect(delivery).toEqual({
      ok: false,
      status: 404,
      error: 'unexpected status 404',
      attempts: 1,
    });
    expect(cb.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('retries a status the policy lists, even one the defaults do not', async () => {
    const cb = await harness.http(sequence(text(409), text(200)));
    const spec = callbackJob(cb.url, { retryPolicy: { retryStatusCodes: [409] } });
    const delivery = await deliverCallback(spec, payloadOf(), harness.run().deps);
    expect(delivery).toEqual({ ok: true, status: 200, error: null, attempts: 2 });
  });

  it('retries a network error, and keeps the last status received', async () => {
    const cb = await harness.http(sequence(reset, text(204)));
    const { deps } = harness.run();
    const delivered = await deliverCallback(callbackJob(cb.url), payloadOf(), deps);
    expect(delivered).toEqual({ ok: true, status: 204, error: null, attempts: 2 });

    const flaky = await harness.http(sequence(text(503), reset));
    const spec = callbackJob(flaky.url, { retryPolicy: { maxRetries: 1 } });
    const failed = await deliverCallback(spec, payloadOf(), harness.run().deps);
    expect(failed).toMatchObject({ ok: false, status: 503, attempts: 2 });
    expect(failed.error).toMatch(/^gave up after 2 attempts; last error: /);
  });

  it('does not retry a network error when retryNetworkErrors is off', async () => {
    const cb = await harness.http(sequence(reset, text(204)));
    const spec = callbackJob(cb.url, { retryPolicy: { retryNetworkErrors: false } });
    const delivery = await deliverCallback(spec, payloadOf(), harness.run().deps);
    expect(delivery).toMatchObject({ ok: false, status: null, attempts: 1 });
    expect(cb.requests).toHaveLength(1);
  });

  it('never retries a refusal by the URL policy', async () => {
    // The egress refuses the address: a policy refusal, not a network error.
    const spec = callbackJob('http://10.255.255.1/cb');
    const { deps, delays } = harness.run();
    const delivery = await deliverCallback(spec, payloadOf(), deps);
    expect(delivery).toMatchObject({ ok: false, status: null, attempts: 1 });
    expect(delivery.error).toContain('refused');
    expect(delays).toEqual([]);
  });

  it('never retries what isRefusal calls a refusal, even with a transient code on its chain', async () => {
    const refusal = new UrlGuardError('private-address', 'Refused 10.0.0.1', {
      cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
    });
    const failing: FetchFunction = async () => {
      throw new TypeError('fetch failed', { cause: refusal });
    };
    const { deps, delays } = harness.run({ fetch: failing });
    const delivery = await deliverCallback(
      callbackJob('https://hooks.example.com/cb'),
      payloadOf(),
      deps,
    );
    expect(delivery).toMatchObject({ ok: false, status: null, attempts: 1 });
    expect(delivery.error).toContain('(refused: private-address)');
    expect(delays).toEqual([]);
    // The same error is retried when the egress does not call it a refusal.
    const lenient = harness.run({ fetch: failing, isRefusal: () => false });
    const retried = await deliverCallback(
      callbackJob('https://hooks.example.com/cb'),
      payloadOf(),
      lenient.deps,
    );
    expect(retried.attempts).toBe(4);
  });

  it('uses a retrier registered on the scheduler under the policy’s name', async () => {
    const cb = await harness.http(text(503));
    const waits: number[] = [];
    const patient = createRetrier({
      maxRetries: 1,
      interval: 250,
      jitterStrategy: 'none',
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const spec = callbackJob(cb.url, { retryPolicy: { retrier: 'patient' } });
    const { deps, delays } = harness.run({ retriers: new Map([['patient', patient]]) });
    const delivery = await deliverCallback(spec, payloadOf(), deps);
    expect(delivery).toMatchObject({ ok: false, status: 503, attempts: 2 });
    expect(waits).toEqual([250]);
    // The scheduler's own sleep is for data-defined policies only.
    expect(delays).toEqual([]);
  });

  it('sends nothing when the named retrier is not registered, and logs it at error', async () => {
    const cb = await harness.http(text(204));
    const spec = callbackJob(cb.url, { retryPolicy: { retrier: 'missing' } });
    const { deps, logger } = harness.run();
    const delivery = await deliverCallback(spec, payloadOf(), deps);
    expect(delivery).toEqual({
      ok: false,
      status: null,
      error: 'retrier "missing" is not registered on the scheduler; the callback was not sent',
      attempts: 0,
    });
    expect(cb.requests).toHaveLength(0);
    expect(logger.lines.filter((line) => line.level === 'error')).toHaveLength(1);
  });

  it('bounds each attempt by callback.timeout, and retries one that timed out', async () => {
    const cb = await harness.http(sequence(hang, text(204)));
    const spec = callbackJob(cb.url, { timeout: 100 });
    const delivery = await deliverCallback(spec, payloadOf(), harness.run().deps);
    expect(delivery).toEqual({ ok: true, status: 204, error: null, attempts: 2 });

    const stuck = await harness.http(hang);
    const slow = callbackJob(stuck.url, { timeout: 100, retryPolicy: { maxRetries: 1 } });
    expect(await deliverCallback(slow, payloadOf(), harness.run().deps)).toEqual({
      ok: false,
      status: null,
      error: 'gave up after 2 attempts; last error: request timed out after 100 ms',
      attempts: 2,
    });
    expect(stuck.requests).toHaveLength(2);
  });

  it('reads at most 4 KiB of each answer: an endless 503 body does not hold the retry back', async () => {
    const endless: TestHandler = (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.write(Buffer.alloc(64 * 1024, 'x'));
      // Never ended: reading to the end would wait forever (the callback has no timeout).
    };
    const cb = await harness.http(sequence(endless, text(204)));
    const spec = callbackJob(cb.url, { timeout: 0 });
    const delivery = await deliverCallback(spec, payloadOf(), harness.run().deps);
    expect(delivery).toEqual({ ok: true, status: 204, error: null, attempts: 2 });
    await vi.waitFor(() => expect(cb.requests[0]?.response.clientAborted).toBe(true));
  });
});

describe('deliverCallback: Retry-After and aborts, on a hand-driven clock', () => {
  it('waits the delay a 503’s Retry-After asks for', async () => {
    const cb = await harness.http(sequence(busy('7'), text(204)));
    const { clock, deps: time } = clocked();
    const { deps } = harness.run({ ...time, random: () => 0 });
    const delivery = deliverCallback(callbackJob(cb.url), payloadOf(), deps);
    await cb.waitForRequests(1);
    await vi.waitFor(() => expect(clock.nextTimerAt).toBe(clock.now() + 7_000));
    await clock.advance(6_999);
    expect(cb.requests).toHaveLength(1);
    await clock.advance(1);
    expect(await delivery).toEqual({ ok: true, status: 204, error: null, attempts: 2 });
  });

  it('reads an HTTP-date Retry-After against the injected clock', async () => {
    const start = Date.parse('2026-03-01T09:00:00.000Z');
    const cb = await harness.http(sequence(busy('Sun, 01 Mar 2026 09:00:12 GMT'), text(204)));
    const { clock, deps: time } = clocked(start);
    const { deps } = harness.run({ ...time, random: () => 0 });
    const delivery = deliverCallback(callbackJob(cb.url), payloadOf(), deps);
    await vi.waitFor(() => expect(clock.nextTimerAt).toBe(start + 12_000));
    await clock.advance(12_000);
    expect(await delivery).toMatchObject({ ok: true, attempts: 2 });
  });

  it('caps the Retry-After delay at maxRetryAfter', async () => {
    const cb = await harness.http(sequence(busy('120'), text(204)));
    const { clock, deps: time } = clocked();
    const { deps } = harness.run({ ...time, random: () => 0 });
    const spec = callbackJob(cb.url, { retryPolicy: { maxRetryAfter: 5_000, timeout: 0 } });
    const delivery = deliverCallback(spec, payloadOf(), deps);
    await vi.waitFor(() => expect(clock.nextTimerAt).toBe(clock.now() + 5_000));
    await clock.advance(5_000);
    expect(await delivery).toMatchObject({ ok: true, attempts: 2 });
  });

  it('gives up at once when Retry-After asks for more than the policy’s timeout leaves', async () => {
    const cb = await harness.http(busy('120'));
    const { clock, deps: time } = clocked();
    const { deps } = harness.run({ ...time, random: () => 0 });
    const delivery = await deliverCallback(callbackJob(cb.url), payloadOf(), deps);
    expect(delivery).toMatchObject({ ok: false, status: 503, attempts: 1 });
    expect(delivery.error).toMatch(/^gave up after 1 attempt: the retry timeout of 60000 ms/);
    expect(clock.pendingTimers).toBe(0);
  });

  it('ends at once when its signal aborts during the wait between attempts', async () => {
    const cb = await harness.http(text(503));
    const { clock, deps: time } = clocked();
    const stop = new AbortController();
    const { deps } = harness.run({ ...time, random: () => 0.5, signal: stop.signal });
    const delivery = deliverCallback(callbackJob(cb.url), payloadOf(), deps);
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1));
    stop.abort(new Error('hard stop'));
    expect(await delivery).toEqual({
      ok: false,
      status: 503,
      error: 'canceled: hard stop',
      attempts: 1,
    });
    expect(clock.pendingTimers).toBe(0);
    expect(cb.requests).toHaveLength(1);
  });
});

describe('deliverCallback: a signed callback is re-signed per attempt', () => {
  it('gives each attempt a fresh webhook-timestamp and signature, each verified', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const cb = await harness.http(sequence(busy('30'), text(204)));
    const start = Date.now();
    const { clock, deps: time } = clocked(start);
    const { deps } = harness.run({
      ...time,
      random: () => 0,
      signingSecrets: new Map([['hooks', SigningKeys.fromSecrets([secret])]]),
    });
    const payload = payloadOf();
    const delivery = deliverCallback(callbackJob(cb.url, { signWith: 'hooks' }), payload, deps);
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1));
    await clock.advance(30_000);
    expect(await delivery).toMatchObject({ ok: true, attempts: 2 });

    const [first, second] = cb.requests as [RecordedRequest, RecordedRequest];
    const [sent, resent] = [first, second].map((request) =>
      Number(request.headers['webhook-timestamp']),
    );
    expect(sent).toBe(Math.floor(start / 1_000));
    expect(resent).toBe(Math.floor((start + 30_000) / 1_000));
    expect(second.headers['webhook-signature']).not.toBe(first.headers['webhook-signature']);
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    for (const request of [first, second]) {
      const headers = Object.fromEntries(
        Object.values(WEBHOOK_HEADERS).map((name) => [name, String(request.headers[name])]),
      );
      expect(new Webhook(secret).verify(request.rawBody, headers)).toEqual(payload);
    }
  });
});
