import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CallbackPayload, deliverCallback } from './callback.js';
import type { FetchFunction } from './http-client.js';
import { executeOccurrence } from './request.js';
import {
  collectGarbage,
  cutShort,
  drip,
  hang,
  job,
  occurrence,
  type RunHarness,
  text,
  useRequestHarness,
} from './test-utils/request-harness.js';
import {
  closedPort,
  type RecordedRequest,
  type TestHandler,
  type TestServer,
} from './test-utils/servers.js';

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
    expect(delivery).toEqual({ ok: true, status: 200, error: null });
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

  it('reports and logs a non-2xx answer', async () => {
    const { delivery, h } = await runWithCallback(text(500, 'oops'));
    expect(delivery).toEqual({ ok: false, status: 500, error: 'unexpected status 500' });
    expect(h.logger.lines.some((line) => line.level === 'warn')).toBe(true);
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
    const { delivery } = await runWithCallback(hang, { timeout: 100 });
    expect(delivery).toEqual({ ok: false, status: null, error: 'request timed out after 100 ms' });
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
    expect(await delivery).toEqual({ ok: false, status: null, error: 'hard stop' });
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
        callback: { url: 'https://hooks.example.com/cb', method, timeout: 2_000 },
      });
      const { deps } = harness.run({ fetch: stuck });
      let result: Awaited<ReturnType<typeof deliverCallback>> | undefined;
      void deliverCallback(spec, payloadOf(), deps).then((delivery) => {
        result = delivery;
      });
      await vi.advanceTimersByTimeAsync(1_999);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(result).toEqual({ ok: false, status: null, error: 'request timed out after 2000 ms' });
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
        error: 'fetch failed: connect ECONNREFUSED',
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
    expect(await delivery).toEqual({ ok: false, status: null, error: 'hard stop' });
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
    expect(await delivery).toEqual({ ok: true, status: 200, error: null });
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    await vi.waitFor(() => expect(recorded?.response.clientAborted).toBe(true), { timeout: 2_000 });
  });
});
