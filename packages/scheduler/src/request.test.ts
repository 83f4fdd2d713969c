import { createRetrier, type Retrier } from '@again/retry';
import { closedPort, type RecordedRequest } from '@again/test-utils';
import { createEgress, UrlGuardError } from '@again/url-guard';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResponseBodyError } from './errors.js';
import type { FetchFunction } from './http-client.js';
import type { JobSpec } from './job-types.js';
import { executeOccurrence } from './request.js';
import {
  collectGarbage,
  cutShort,
  drip,
  hang,
  job,
  occurrence,
  sequence,
  text,
  useRequestHarness,
} from './test-utils/request-harness.js';

const harness = useRequestHarness();

afterEach(() => {
  vi.useRealTimers();
});

describe('executeOccurrence: requests', () => {
  it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const)(
    'sends %s with headers, body and idempotency headers',
    async (method) => {
      const server = await harness.http(text(200, 'done'));
      const withBody = method !== 'GET' && method !== 'HEAD';
      const spec = job({
        request: {
          method,
          url: `${server.url}/hook?x=1`,
          headers: { 'X-Token': 'secret', Accept: 'text/plain' },
          ...(withBody ? { body: { hello: 'world' } } : {}),
        },
      });
      const { deps } = harness.run();
      const outcome = await executeOccurrence(spec, occurrence(), deps);

      expect(outcome.success).toBe(true);
      expect(outcome.canceled).toBe(false);
      expect(server.requests).toHaveLength(1);
      const request = server.requests[0] as RecordedRequest;
      expect(request.method).toBe(method);
      expect(request.path).toBe('/hook?x=1');
      expect(request.headers['x-token']).toBe('secret');
      expect(request.headers.accept).toBe('text/plain');
      expect(request.headers['idempotency-key']).toBe('job-1@2026-03-01T09:00:00.000Z');
      expect(request.headers['x-again-scheduled-at']).toBe('2026-03-01T09:00:00.000Z');
      expect(request.headers['x-again-attempt']).toBe('1');
      if (withBody) {
        expect(request.body).toBe('{"hello":"world"}');
        expect(request.headers['content-type']).toBe('application/json');
      } else {
        expect(request.body).toBe('');
      }
      expect(outcome.payload).toMatchObject({
        job_id: 'job-1',
        scheduled_at: '2026-03-01T09:00:00.000Z',
        attempts: 1,
        success: true,
        status_code: 200,
        occurrence_id: 'job-1@2026-03-01T09:00:00.000Z',
      });
      if (method === 'HEAD') expect(outcome.payload.response_body).toBeUndefined();
      else expect(outcome.payload.response_body).toBe('done');
      expect(outcome.payload.error).toBeUndefined();
    },
  );

  it('sends binary bodies byte for byte and text bodies as is', async () => {
    const server = await harness.http(text(204));
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 255]);
    const binary = job({ request: { method: 'PUT', url: server.url, body: bytes } });
    const { deps } = harness.run();
    expect((await executeOccurrence(binary, occurrence(), deps)).success).toBe(true);
    const request = server.requests[0] as RecordedRequest;
    expect(request.headers['content-length']).toBe('6');
    expect(request.headers['content-type']).toBeUndefined();
    expect(Buffer.from(request.rawBody)).toEqual(Buffer.from(bytes));

    const plain = job({ request: { method: 'POST', url: server.url, body: 'a=1&b=2' } });
    await executeOccurrence(plain, occurrence(), deps);
    expect(server.requests[1]?.body).toBe('a=1&b=2');
  });

  it('works over HTTPS with the egress trusting the test certificate', async () => {
    const server = await harness.https(text(200, 'secure'));
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: `${server.url}/tls` } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({
      success: true,
      status_code: 200,
      response_body: 'secure',
    });
    expect(server.url.startsWith('https://127.0.0.1:')).toBe(true);
  });
});

describe('executeOccurrence: retries', () => {
  it('retries 503 then succeeds, with the same idempotency key on every attempt', async () => {
    const server = await harness.http(
      sequence(text(503, 'busy'), text(503, 'busy'), text(200, 'ok')),
    );
    const { deps, delays } = harness.run();
    const spec = job({ request: { url: server.url }, retryPolicy: { maxRetries: 5 } });
    const outcome = await executeOccurrence(spec, occurrence(), deps);

    expect(outcome.success).toBe(true);
    expect(outcome.payload.attempts).toBe(3);
    expect(outcome.payload.status_code).toBe(200);
    expect(outcome.payload.response_body).toBe('ok');
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual([
      'job-1@2026-03-01T09:00:00.000Z',
      'job-1@2026-03-01T09:00:00.000Z',
      'job-1@2026-03-01T09:00:00.000Z',
    ]);
    expect(server.requests.map((r) => r.headers['x-again-attempt'])).toEqual(['1', '2', '3']);
    expect(server.requests.map((r) => r.headers['x-again-scheduled-at'])).toEqual(
      Array(3).fill('2026-03-01T09:00:00.000Z'),
    );
    // interval 100, factor 2, no jitter
    expect(delays).toEqual([100, 200]);
  });

  it('honours Retry-After (seconds) on 429 and 503', async () => {
    const server = await harness.http(
      sequence(
        text(429, '', { 'retry-after': '7' }),
        text(503, '', { 'retry-after': '3' }),
        text(200),
      ),
    );
    const { deps, delays } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.success).toBe(true);
    expect(delays).toEqual([7_000, 3_000]);
  });

  it('caps Retry-After at maxRetryAfter', async () => {
    const server = await harness.http(
      sequence(text(503, '', { 'retry-after': '3600' }), text(200)),
    );
    const { deps, delays } = harness.run();
    const spec = job({
      request: { url: server.url },
      retryPolicy: { maxRetryAfter: 2_000, timeout: 0 },
    });
    expect((await executeOccurrence(spec, occurrence(), deps)).success).toBe(true);
    expect(delays).toEqual([2_000]);
  });

  it('gives up at once when Retry-After asks for longer than the run has left', async () => {
    const server = await harness.http(text(503, '', { 'retry-after': '3600' }));
    const { deps, delays } = harness.run();
    const spec = job({ request: { url: server.url }, retryPolicy: { timeout: 10_000 } });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.payload).toMatchObject({ success: false, attempts: 1, status_code: 503 });
    expect(outcome.payload.error).toBe(
      'gave up after 1 attempt: the retry timeout of 10000 ms leaves no time for another attempt; last response 503',
    );
    expect(delays).toEqual([]);
  });

  it('gives up after maxRetries on a retryable status and reports it', async () => {
    const server = await harness.http(text(503, 'still busy'));
    const { deps, delays } = harness.run();
    const spec = job({ request: { url: server.url }, retryPolicy: { maxRetries: 2 } });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.success).toBe(false);
    expect(outcome.payload).toMatchObject({
      attempts: 3,
      success: false,
      status_code: 503,
      response_body: 'still busy',
    });
    expect(outcome.payload.error).toBe('gave up after 3 attempts; last response 503');
    expect(server.requests).toHaveLength(3);
    expect(delays).toEqual([100, 200]);
  });

  it.each([400, 401, 403, 404, 409, 422])('does not retry %i', async (status) => {
    const server = await harness.http(text(status, 'nope'));
    const { deps, delays } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({
      attempts: 1,
      success: false,
      status_code: status,
      error: `unexpected status ${status}`,
      response_body: 'nope',
    });
    expect(server.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it.each([408, 425, 429, 500, 502, 503, 504])('retries %i by default', async (status) => {
    const server = await harness.http(sequence(text(status), text(200)));
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({ attempts: 2, success: true });
  });

  it('uses the job’s own retryStatusCodes list', async () => {
    const server = await harness.http(text(503));
    const { deps } = harness.run();
    const spec = job({ request: { url: server.url }, retryPolicy: { retryStatusCodes: [500] } });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.payload).toMatchObject({ attempts: 1, error: 'unexpected status 503' });
  });

  it('treats a 3xx the egress does not follow as unexpected', async () => {
    const server = await harness.http(text(304));
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({ attempts: 1, success: false, status_code: 304 });
  });

  it('retries a refused connection (closed port)', async () => {
    const port = await closedPort();
    const { deps, delays } = harness.run();
    const spec = job({
      request: { url: `http://127.0.0.1:${port}/` },
      retryPolicy: { maxRetries: 2 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.success).toBe(false);
    expect(outcome.payload.attempts).toBe(3);
    expect(outcome.payload.status_code).toBeUndefined();
    expect(outcome.payload.error).toMatch(/^gave up after 3 attempts; last error: .*ECONNREFUSED/);
    expect(delays).toEqual([100, 200]);
  });

  it('does not retry network errors when retryNetworkErrors is false', async () => {
    const port = await closedPort();
    const { deps } = harness.run();
    const spec = job({
      request: { url: `http://127.0.0.1:${port}/` },
      retryPolicy: { retryNetworkErrors: false },
    });
    expect((await executeOccurrence(spec, occurrence(), deps)).payload.attempts).toBe(1);
  });

  it('retries a connection reset mid-response', async () => {
    const server = await harness.http(
      sequence(
        (req) => {
          req.socket.destroy();
        },
        text(200, 'ok'),
      ),
    );
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({ attempts: 2, success: true });
  });

  it('never retries a URL-guard refusal', async () => {
    const server = await harness.http(text(200));
    const strict = createEgress({
      allowedSchemes: ['http'],
      allowIpLiterals: true,
      allowedAddresses: ['127.0.0.1/32'],
      allowedPorts: [server.port === 1 ? 2 : 1],
    });
    try {
      const { deps, delays } = harness.run({ fetch: strict.fetch, isRefusal: strict.isRefusal });
      const outcome = await executeOccurrence(
        job({ request: { url: server.url } }),
        occurrence(),
        deps,
      );
      expect(outcome.payload.attempts).toBe(1);
      expect(outcome.payload.success).toBe(false);
      expect(outcome.payload.error).toContain('(refused: port)');
      expect(delays).toEqual([]);
      expect(server.requests).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });

  it('times out each attempt separately and retries the timeout', async () => {
    const server = await harness.http(hang);
    const { deps } = harness.run();
    const spec = job({
      request: { url: server.url, timeout: 100 },
      retryPolicy: { maxRetries: 1 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.success).toBe(false);
    expect(outcome.payload.attempts).toBe(2);
    expect(outcome.payload.error).toBe(
      'gave up after 2 attempts; last error: request timed out after 100 ms',
    );
    expect(server.requests).toHaveLength(2);
  });

  it('uses a named retrier registered on the scheduler', async () => {
    const server = await harness.http(sequence(text(503), text(503), text(200)));
    const delays: number[] = [];
    const named: Retrier = createRetrier({
      maxRetries: 1,
      interval: 42,
      jitter: 0,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const { deps } = harness.run({ retriers: new Map([['patient', named]]) });
    const spec = job({ request: { url: server.url } });
    const withNamed: JobSpec = { ...spec, retry: { ...spec.retry, retrier: 'patient' } };
    const outcome = await executeOccurrence(withNamed, occurrence(), deps);
    expect(outcome.payload).toMatchObject({ attempts: 2, success: false, status_code: 503 });
    expect(delays).toEqual([42]);
  });

  it('fails the run clearly when the named retrier is not registered', async () => {
    const server = await harness.http(text(200));
    const { deps } = harness.run();
    const spec = job({ request: { url: server.url } });
    const outcome = await executeOccurrence(
      { ...spec, retry: { ...spec.retry, retrier: 'ghost' } },
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({ attempts: 0, success: false });
    expect(outcome.payload.error).toContain('ghost');
    expect(server.requests).toHaveLength(0);
  });

  it('reuses one retrier per distinct data-defined policy when given a cache', async () => {
    const server = await harness.http(sequence(text(503), text(200)));
    const policyRetriers = new Map<string, Retrier>();
    const { deps, delays } = harness.run({ policyRetriers });
    const spec = job({ request: { url: server.url }, retryPolicy: { maxRetries: 3 } });
    const same = job({ request: { url: server.url }, retryPolicy: { maxRetries: 3 } });
    const other = job({
      request: { url: server.url },
      retryPolicy: { maxRetries: 3, interval: 7 },
    });

    const first = await executeOccurrence(spec, occurrence('a'), deps);
    expect(policyRetriers.size).toBe(1);
    const cached = [...policyRetriers.values()][0];
    // Equal values in another spec object share the retrier; concurrent runs share it too.
    const [second, third] = await Promise.all([
      executeOccurrence(same, occurrence('b'), deps),
      executeOccurrence(spec, occurrence('c'), deps),
    ]);
    expect(policyRetriers.size).toBe(1);
    expect([...policyRetriers.values()][0]).toBe(cached);
    await executeOccurrence(other, occurrence('d'), deps);
    expect(policyRetriers.size).toBe(2);

    expect(first.payload).toMatchObject({ success: true, attempts: 2 });
    expect(second.success && third.success).toBe(true);
    // interval 100, no jitter: the one retry waited the policy's first delay.
    expect(delays[0]).toBe(100);
  });
});

describe('executeOccurrence: body capture', () => {
  it('captures up to maxBodyBytes, flags truncation and stops reading a huge body', async () => {
    const total = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const server = await harness.http(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let sent = 0; sent < total && !res.destroyed; sent += chunk.length) {
        if (!res.write(chunk)) {
          await new Promise<void>((resolve) => {
            res.once('drain', resolve);
            res.once('close', resolve);
          });
        }
      }
      res.end();
    });
    const { deps } = harness.run();
    const spec = job({
      request: { url: server.url },
      callback: { url: `${server.url}/cb`, maxBodyBytes: 1000 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.payload.response_body).toBe('a'.repeat(1000));
    expect(outcome.payload.response_body_truncated).toBe(true);
    const response = (server.requests[0] as RecordedRequest).response;
    await vi.waitFor(() => expect(response.clientAborted).toBe(true), { timeout: 5_000 });
    expect(response.finished).toBe(false);
    expect(response.bytesWritten).toBeLessThan(total);
  });

  it('captures 4096 bytes by default, also without a callback', async () => {
    const server = await harness.http(text(200, 'x'.repeat(5000)));
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload.response_body).toHaveLength(4096);
    expect(outcome.payload.response_body_truncated).toBe(true);
  });

  it('flags a body that fits exactly as not truncated', async () => {
    const server = await harness.http(text(200, 'y'.repeat(4096)));
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload.response_body).toHaveLength(4096);
    expect(outcome.payload.response_body_truncated).toBe(false);
  });

  it('captures nothing with maxBodyBytes 0 but still flags a non-empty body', async () => {
    const server = await harness.http(text(200, 'hello'));
    const { deps } = harness.run();
    const spec = job({
      request: { url: server.url },
      callback: { url: server.url, maxBodyBytes: 0 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.payload.response_body).toBe('');
    expect(outcome.payload.response_body_truncated).toBe(true);
  });

  it('keeps a UTF-8 character cut by truncation from turning the body into base64', async () => {
    const server = await harness.http(text(200, 'é'.repeat(10)));
    const { deps } = harness.run();
    const spec = job({
      request: { url: server.url },
      callback: { url: server.url, maxBodyBytes: 5 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.payload.response_body).toBe('éé');
    expect(outcome.payload.response_body_encoding).toBeUndefined();
  });

  it('returns binary bodies as base64', async () => {
    const server = await harness.http((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    });
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload.response_body).toBe(
      Buffer.from([0xff, 0xfe, 0x00, 0x80]).toString('base64'),
    );
    expect(outcome.payload.response_body_encoding).toBe('base64');
  });

  it('omits response_body when the body is empty', async () => {
    const server = await harness.http(text(204));
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).not.toHaveProperty('response_body');
    expect(outcome.payload).not.toHaveProperty('response_body_truncated');
  });
});

describe('executeOccurrence: cancellation', () => {
  it('aborts the in-flight request when the run signal aborts', async () => {
    const server = await harness.http(hang);
    const { deps, controller } = harness.run();
    const run = executeOccurrence(
      job({ request: { url: server.url, timeout: 0 } }),
      occurrence(),
      deps,
    );
    await server.waitForRequests(1);
    controller.abort(new Error('job removed'));
    const outcome = await run;
    expect(outcome.canceled).toBe(true);
    expect(outcome.success).toBe(false);
    expect(outcome.payload.canceled).toBe(true);
    expect(outcome.payload.error).toBe('canceled: job removed');
    await vi.waitFor(() => expect(server.requests[0]?.response.clientAborted).toBe(true));
  });

  it('does not start an attempt when the signal is already aborted', async () => {
    const server = await harness.http(text(200));
    const { deps, controller } = harness.run();
    controller.abort(new Error('stopped'));
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome).toMatchObject({ canceled: true, success: false });
    expect(outcome.payload.attempts).toBe(0);
    expect(server.requests).toHaveLength(0);
  });

  it('stops waiting between retries when aborted', async () => {
    const server = await harness.http(text(503));
    const controller = new AbortController();
    const { deps } = harness.run({
      signal: controller.signal,
      // A sleep that only ends on abort, and aborts the run at the first wait.
      sleep: (_ms, signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => resolve(), { once: true });
          controller.abort(new Error('removed'));
        }),
    });
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.canceled).toBe(true);
    expect(outcome.payload.attempts).toBe(1);
    expect(server.requests).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Whatever the fetch underneath does, a run ends on time. Injected (fake) time: no real waits.

/** A fetch that never settles and never reads the request body; it records what it was given. */
function stuckFetch(): { fetch: FetchFunction; signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  return {
    signals,
    fetch: (_input, init) => {
      if (init?.signal) signals.push(init.signal);
      return new Promise<Response>(() => {});
    },
  };
}

/** Whether `promise` has settled, after letting microtasks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe('executeOccurrence: every attempt ends within its timeout, whatever the fetch does', () => {
  it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const)(
    '%s through a fetch that never settles ends at request.timeout, and the retry too',
    async (method) => {
      vi.useFakeTimers();
      const stuck = stuckFetch();
      const { deps, delays } = harness.run({ fetch: stuck.fetch });
      const withBody = method !== 'GET' && method !== 'DELETE';
      const spec = job({
        request: {
          method,
          url: 'https://api.example.com/run',
          timeout: 5_000,
          ...(withBody ? { body: { n: 1 } } : {}),
        },
        retryPolicy: { maxRetries: 1, timeout: 0 },
      });
      const run = executeOccurrence(spec, occurrence(), deps);
      await vi.advanceTimersByTimeAsync(4_999);
      expect(await settled(run)).toBe(false);
      expect(stuck.signals).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      // The signal handed to fetch is the attempt's own, aborted by the timeout.
      expect(stuck.signals[0]?.aborted).toBe(true);
      expect(stuck.signals).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(5_000);
      const outcome = await run;
      expect(outcome).toMatchObject({ success: false, canceled: false });
      expect(outcome.payload.attempts).toBe(2);
      expect(outcome.payload.error).toBe(
        'gave up after 2 attempts; last error: request timed out after 5000 ms',
      );
      expect(delays).toEqual([100]);
    },
  );

  it.each(['POST', 'PUT', 'PATCH'] as const)(
    '%s whose fetch rejects without reading the body fails at once, like a GET',
    async (method) => {
      const calls: string[] = [];
      const refusing: FetchFunction = async (input) => {
        calls.push(input instanceof Request ? input.method : 'GET');
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED 192.0.2.1:443'), {
            code: 'ECONNREFUSED',
          }),
        });
      };
      const { deps, delays } = harness.run({ fetch: refusing });
      // No timeout anywhere: only the fix can end this run.
      const spec = job({
        request: { method, url: 'https://api.example.com/run', body: 'payload', timeout: 0 },
        retryPolicy: { maxRetries: 2, timeout: 0 },
      });
      const outcome = await executeOccurrence(spec, occurrence(), deps);
      expect(outcome.payload).toMatchObject({ success: false, attempts: 3 });
      expect(outcome.payload.error).toBe(
        'gave up after 3 attempts; last error: fetch failed: connect ECONNREFUSED 192.0.2.1:443',
      );
      expect(calls).toEqual([method, method, method]);
      expect(delays).toEqual([100, 200]);
    },
  );

  it.each(['POST', 'PUT', 'PATCH'] as const)(
    '%s whose fetch answers without reading the body succeeds',
    async (method) => {
      const answering: FetchFunction = async () => new Response('done', { status: 201 });
      const { deps } = harness.run({ fetch: answering });
      const spec = job({
        request: { method, url: 'https://api.example.com/run', body: 'x', timeout: 0 },
        retryPolicy: { timeout: 0 },
      });
      const outcome = await executeOccurrence(spec, occurrence(), deps);
      expect(outcome.payload).toMatchObject({
        success: true,
        attempts: 1,
        status_code: 201,
        response_body: 'done',
      });
    },
  );

  it('a POST to a port Node’s fetch refuses fails at once', async () => {
    const { deps } = harness.run({ fetch: (input, init) => globalThis.fetch(input, init) });
    const spec = job({
      // 10080 is on the fetch standard's list of bad ports: fetch rejects before any I/O.
      request: { method: 'POST', url: 'http://127.0.0.1:10080/', body: 'x', timeout: 0 },
      retryPolicy: { maxRetries: 0, timeout: 0 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.payload).toMatchObject({ success: false, attempts: 1 });
    expect(outcome.payload.error).toContain('fetch failed');
  });

  it('the run budget (retryPolicy.timeout) ends a fetch that never settles', async () => {
    vi.useFakeTimers();
    const stuck = stuckFetch();
    const { deps } = harness.run({ fetch: stuck.fetch });
    const spec = job({
      request: { method: 'POST', url: 'https://api.example.com/run', body: 'x', timeout: 0 },
      retryPolicy: { timeout: 3_000 },
    });
    const run = executeOccurrence(spec, occurrence(), deps);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(await settled(run)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const outcome = await run;
    expect(outcome.payload).toMatchObject({ success: false, attempts: 1 });
    expect(outcome.payload.error).toBe(
      'gave up after 1 attempt: the retry timeout of 3000 ms passed',
    );
  });

  it('aborting the run ends a fetch that never settles at once', async () => {
    const stuck = stuckFetch();
    const { deps, controller } = harness.run({ fetch: stuck.fetch });
    const spec = job({
      request: { method: 'PATCH', url: 'https://api.example.com/run', body: 'x', timeout: 0 },
      retryPolicy: { timeout: 0 },
    });
    const run = executeOccurrence(spec, occurrence(), deps);
    await vi.waitFor(() => expect(stuck.signals).toHaveLength(1));
    controller.abort(new Error('job removed'));
    const outcome = await run;
    expect(outcome).toMatchObject({ success: false, canceled: true });
    expect(outcome.payload.error).toBe('canceled: job removed');
    expect(stuck.signals[0]?.aborted).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// A garbage collection in the middle of a slow body must not make the body read unstoppable.
// Real server on 127.0.0.1 dripping a byte every 10 ms; every wait is bounded.

describe('executeOccurrence: a collection mid-body does not make the read unstoppable', () => {
  /** Starts a run against a dripping server and collects garbage once the body is flowing. */
  async function dripRun(
    request: Record<string, unknown>,
    retryPolicy: Record<string, unknown>,
  ): Promise<{
    run: ReturnType<typeof executeOccurrence>;
    recorded: RecordedRequest;
    controller: AbortController;
    startedAt: number;
  }> {
    const server = await harness.http(drip());
    // Collect only once the response is ours and its body is being read: from then on nothing
    // but the read itself holds the request objects that link the signal to the stream.
    let responded = false;
    const egressFetch = harness.egress().fetch;
    const fetch: FetchFunction = async (input, init) => {
      const response = await egressFetch(input, init);
      responded = true;
      return response;
    };
    const { deps, controller } = harness.run({ fetch });
    const spec = job({
      request: { url: server.url, ...request },
      retryPolicy: { maxRetries: 0, ...retryPolicy },
    });
    const startedAt = Date.now();
    const run = executeOccurrence(spec, occurrence(), deps);
    const [recorded] = await server.waitForRequests(1);
    await vi.waitFor(
      () => {
        expect(responded).toBe(true);
        expect(recorded?.response.bytesWritten).toBeGreaterThanOrEqual(3);
      },
      { timeout: 2_000, interval: 5 },
    );
    await collectGarbage();
    return { run, recorded: recorded as RecordedRequest, controller, startedAt };
  }

  it('the attempt timeout ends the read: the run fails, it is not recorded succeeded', async () => {
    const { run, recorded, startedAt } = await dripRun({ timeout: 300 }, { timeout: 0 });
    const outcome = await run;
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(outcome.success).toBe(false);
    expect(outcome.payload).toMatchObject({ attempts: 1, status_code: 200 });
    expect(outcome.payload.error).toBe(
      'gave up after 1 attempt; last error: request timed out after 300 ms',
    );
    // What was read before the timeout is kept, flagged as not the whole body.
    expect(outcome.payload.response_body).toMatch(/^ab+$/);
    expect(outcome.payload.response_body_truncated).toBe(true);
    await vi.waitFor(() => expect(recorded.response.clientAborted).toBe(true), { timeout: 2_000 });
  });

  it('the run budget (retryPolicy.timeout) ends the read', async () => {
    const { run, recorded, startedAt } = await dripRun({ timeout: 0 }, { timeout: 300 });
    const outcome = await run;
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(outcome.success).toBe(false);
    expect(outcome.payload.error).toBe(
      'gave up after 1 attempt: the retry timeout of 300 ms passed',
    );
    await vi.waitFor(() => expect(recorded.response.clientAborted).toBe(true), { timeout: 2_000 });
  });

  it('aborting the run (remove, hard stop) ends the read', async () => {
    const { run, recorded, controller } = await dripRun({ timeout: 0 }, { timeout: 0 });
    controller.abort(new Error('job removed'));
    const outcome = await run;
    expect(outcome).toMatchObject({ success: false, canceled: true });
    expect(outcome.payload.error).toBe('canceled: job removed');
    await vi.waitFor(() => expect(recorded.response.clientAborted).toBe(true), { timeout: 2_000 });
  });
});

// ---------------------------------------------------------------------------------------------

describe('executeOccurrence: a body cut short is a failed attempt', () => {
  /** Sends 200 and part of a chunked body, then destroys the socket. */
  const chunkedCut: typeof cutShort =
    (first = 'partial') =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(first, () => {
        setImmediate(() => res.socket?.destroy());
      });
    };

  it.each([
    ['content-length not fulfilled', cutShort],
    ['chunked body cut', chunkedCut],
  ])('%s after a 2xx is retried like a network error', async (_name, handler) => {
    const server = await harness.http(sequence(handler('partial'), text(200, 'whole')));
    const { deps, delays } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({
      success: true,
      attempts: 2,
      response_body: 'whole',
      response_body_truncated: false,
    });
    expect(delays).toEqual([100]);
  });

  it.each([
    ['content-length not fulfilled', cutShort],
    ['chunked body cut', chunkedCut],
  ])('%s is never recorded as a success', async (_name, handler) => {
    const server = await harness.http(handler('partial'));
    const { deps, logger } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url }, retryPolicy: { maxRetries: 1 } }),
      occurrence(),
      deps,
    );
    expect(outcome.success).toBe(false);
    expect(outcome.payload).toMatchObject({
      attempts: 2,
      status_code: 200,
      response_body: 'partial',
      response_body_truncated: true,
    });
    expect(outcome.payload.error).toMatch(
      /^gave up after 2 attempts; last error: response body cut short after 7 bytes \(status 200\)/,
    );
    expect(server.requests).toHaveLength(2);
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings.map((line) => line.args[0])).toEqual([
      'response body read failed',
      'response body read failed',
    ]);
  });

  it('is not retried when retryNetworkErrors is off', async () => {
    const server = await harness.http(cutShort('partial'));
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url }, retryPolicy: { retryNetworkErrors: false } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({ success: false, attempts: 1 });
    expect(outcome.payload.error).toMatch(/^response body cut short after 7 bytes/);
  });

  it('the attempt error is a ResponseBodyError with a stable code', async () => {
    const server = await harness.http(cutShort('partial'));
    const seen: unknown[] = [];
    const { deps } = harness.run({
      retriers: new Map([
        [
          'recording',
          createRetrier({
            maxRetries: 0,
            hooks: { onGiveUp: ({ error }) => seen.push(error.cause) },
          }),
        ],
      ]),
    });
    const spec = job({ request: { url: server.url } });
    await executeOccurrence(
      { ...spec, retry: { ...spec.retry, retrier: 'recording' } },
      occurrence(),
      deps,
    );
    expect(seen[0]).toBeInstanceOf(ResponseBodyError);
    expect(seen[0]).toMatchObject({ code: 'ERR_RESPONSE_BODY', status: 200, bytesRead: 7 });
  });
});

// ---------------------------------------------------------------------------------------------

describe('executeOccurrence: the egress says what is a refusal', () => {
  function coded(code: string): Error {
    return Object.assign(new Error(`getaddrinfo ${code} service.example.com`), { code });
  }

  /** An egress for http://service.example.com:<port> whose resolver fails `failures` times. */
  function flakyDnsEgress(failures: unknown[]) {
    let calls = 0;
    const egress = createEgress({
      allowedSchemes: ['http'],
      allowedAddresses: ['127.0.0.1'],
      resolver: async () => {
        const failure = failures[calls++];
        if (failure !== undefined) throw failure;
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    return { egress, calls: () => calls };
  }

  it('retries a temporary DNS failure (EAI_AGAIN) and then succeeds', async () => {
    const server = await harness.http(text(200, 'ok'));
    const { egress, calls } = flakyDnsEgress([coded('EAI_AGAIN')]);
    try {
      const { deps, delays } = harness.run({ fetch: egress.fetch, isRefusal: egress.isRefusal });
      const outcome = await executeOccurrence(
        job({ request: { url: `http://service.example.com:${server.port}/` } }),
        occurrence(),
        deps,
      );
      expect(outcome.payload).toMatchObject({ success: true, attempts: 2, status_code: 200 });
      expect(delays).toEqual([100]);
      expect(calls()).toBeGreaterThanOrEqual(2);
      expect(server.requests).toHaveLength(1);
    } finally {
      await egress.close();
    }
  });

  it.each([
    ['ETIMEOUT', coded('ETIMEOUT')],
    ['ESERVFAIL', coded('ESERVFAIL')],
  ])(
    'retries a temporary resolver failure (%s) reported by a custom resolver',
    async (_code, failure) => {
      const server = await harness.http(text(200, 'ok'));
      const { egress } = flakyDnsEgress([failure]);
      try {
        const { deps } = harness.run({ fetch: egress.fetch, isRefusal: egress.isRefusal });
        const outcome = await executeOccurrence(
          job({ request: { url: `http://service.example.com:${server.port}/` } }),
          occurrence(),
          deps,
        );
        expect(outcome.payload).toMatchObject({ success: true, attempts: 2 });
      } finally {
        await egress.close();
      }
    },
  );

  it('does not retry a name that does not exist (ENOTFOUND), nor with retryNetworkErrors off', async () => {
    const server = await harness.http(text(200, 'ok'));
    const missing = flakyDnsEgress([coded('ENOTFOUND')]);
    const temporary = flakyDnsEgress([coded('EAI_AGAIN')]);
    try {
      const url = `http://service.example.com:${server.port}/`;
      const first = await executeOccurrence(
        job({ request: { url } }),
        occurrence(),
        harness.run({ fetch: missing.egress.fetch, isRefusal: missing.egress.isRefusal }).deps,
      );
      expect(first.payload).toMatchObject({ success: false, attempts: 1 });
      expect(first.payload.error).toContain('ENOTFOUND');
      const second = await executeOccurrence(
        job({ request: { url }, retryPolicy: { retryNetworkErrors: false } }),
        occurrence(),
        harness.run({ fetch: temporary.egress.fetch, isRefusal: temporary.egress.isRefusal }).deps,
      );
      expect(second.payload).toMatchObject({ success: false, attempts: 1 });
      expect(server.requests).toHaveLength(0);
    } finally {
      await missing.egress.close();
      await temporary.egress.close();
    }
  });

  it('never retries what isRefusal calls a refusal, even with a transient code on its chain', async () => {
    const refusal = new UrlGuardError('private-address', 'Refused 10.0.0.1', {
      cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
    });
    const failing: FetchFunction = async () => {
      throw new TypeError('fetch failed', { cause: refusal });
    };
    const { deps, delays } = harness.run({ fetch: failing, isRefusal: harness.egress().isRefusal });
    const outcome = await executeOccurrence(
      job({ request: { url: 'https://api.example.com/' } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({ success: false, attempts: 1 });
    expect(outcome.payload.error).toContain('(refused: private-address)');
    expect(delays).toEqual([]);
  });

  it('uses the egress’s own answer: a custom isRefusal can refuse a network error', async () => {
    const port = await closedPort();
    const { deps } = harness.run({ isRefusal: () => true });
    const outcome = await executeOccurrence(
      job({ request: { url: `http://127.0.0.1:${port}/` } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({ success: false, attempts: 1 });
  });
});

describe('executeOccurrence: the recorded error says what happened', () => {
  it('names the attempts and the last response', async () => {
    const server = await harness.http(text(500, 'boom'));
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url }, retryPolicy: { maxRetries: 2 } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload.error).toBe('gave up after 3 attempts; last response 500');
  });

  it('keeps the status of the last response when a later attempt got none', async () => {
    const server = await harness.http(
      sequence(text(503), (req) => {
        req.socket.destroy();
      }),
    );
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url }, retryPolicy: { maxRetries: 1 } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload.status_code).toBe(503);
    expect(outcome.payload.error).toMatch(/^gave up after 2 attempts; last error: fetch failed/);
  });

  it('says when the shared retry budget stopped the retries', async () => {
    const server = await harness.http(text(503));
    const budget = { tryAcquire: () => false, recordSuccess: () => {} };
    const named: Retrier = createRetrier({ maxRetries: 3, interval: 0, jitter: 0, budget });
    const { deps } = harness.run({ retriers: new Map([['budgeted', named]]) });
    const spec: JobSpec = job({ request: { url: server.url } });
    const outcome = await executeOccurrence(
      { ...spec, retry: { ...spec.retry, retrier: 'budgeted' } },
      occurrence(),
      deps,
    );
    expect(outcome.payload.error).toBe(
      'gave up after 1 attempt: the retry budget is empty; last response 503',
    );
  });

  it('reports an unexpected status as is when it came first', async () => {
    const server = await harness.http(text(404));
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload.error).toBe('unexpected status 404');
  });

  it('names the attempts when an unexpected status follows retries', async () => {
    const server = await harness.http(sequence(text(503), text(404)));
    const { deps } = harness.run();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload.error).toBe('gave up after 2 attempts; last response 404');
  });
});
