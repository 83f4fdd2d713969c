import { createRetrier, type Retrier } from '@again/retry';
import { createEgress, type Egress, UrlGuardError } from '@again/url-guard';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RequestTimeoutError, RetryableStatusError, UnexpectedStatusError } from './errors.js';
import {
  type CallbackPayload,
  deliverCallback,
  describeError,
  type ExecuteDeps,
  executeOccurrence,
  isTransientNetworkError,
  isUrlGuardRefusal,
  type Occurrence,
  retrierOptionsFromPolicy,
  shouldRetryAttempt,
} from './execute.js';
import { type JobInput, type JobSpec, parseJob } from './job.js';
import type { SchedulerLogger } from './logger.js';
import {
  closedPort,
  type RecordedRequest,
  selfSignedCertificate,
  startHttpServer,
  startHttpsServer,
  type TestHandler,
  type TestServer,
} from './test-utils/servers.js';

// ---------------------------------------------------------------------------------------------
// Harness: real servers on 127.0.0.1, requests through the url-guard egress fetch, instant sleep.

let egress: Egress;
const servers: TestServer[] = [];

beforeAll(() => {
  egress = createEgress({
    allowedSchemes: ['http', 'https'],
    allowIpLiterals: true,
    allowedAddresses: ['127.0.0.1/32'],
    dispatcherOptions: { connect: { ca: selfSignedCertificate().cert } },
  });
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

afterAll(async () => {
  await egress.close();
});

async function http(handler: TestHandler): Promise<TestServer> {
  const server = await startHttpServer(handler);
  servers.push(server);
  return server;
}

interface RecordingLogger extends SchedulerLogger {
  readonly lines: Array<{ level: string; args: unknown[] }>;
}

function recordingLogger(): RecordingLogger {
  const lines: Array<{ level: string; args: unknown[] }> = [];
  const at =
    (level: string) =>
    (...args: unknown[]): void => {
      lines.push({ level, args });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

interface Harness {
  readonly deps: ExecuteDeps;
  readonly delays: number[];
  readonly logger: RecordingLogger;
  readonly controller: AbortController;
}

function harness(overrides: Partial<ExecuteDeps> = {}): Harness {
  const delays: number[] = [];
  const logger = recordingLogger();
  const controller = new AbortController();
  const deps: ExecuteDeps = {
    fetch: egress.fetch,
    now: () => Date.now(),
    signal: controller.signal,
    logger,
    retriers: new Map(),
    sleep: async (ms: number) => {
      delays.push(ms);
    },
    random: () => 0,
    ...overrides,
  };
  return { deps, delays, logger, controller };
}

const SCHEDULED_AT = Date.parse('2026-03-01T09:00:00.000Z');

function occurrence(jobId = 'job-1'): Occurrence {
  return { jobId, scheduledAt: SCHEDULED_AT, occurrenceId: `${jobId}@2026-03-01T09:00:00.000Z` };
}

/** A job with instant, deterministic retries (no jitter) unless overridden. */
function job(input: Omit<JobInput, 'schedule'> & { schedule?: JobInput['schedule'] }): JobSpec {
  return parseJob({
    schedule: { every: 60_000 },
    ...input,
    retryPolicy: { interval: 100, jitter: 0, ...input.retryPolicy },
  }).spec;
}

const text =
  (status: number, body = '', headers: Record<string, string> = {}): TestHandler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };

/** Answers with each handler in turn (the last one repeats). */
function sequence(...handlers: TestHandler[]): TestHandler {
  let index = 0;
  return (req, res, recorded) => {
    const handler = handlers[Math.min(index++, handlers.length - 1)] as TestHandler;
    return handler(req, res, recorded);
  };
}

const hang: TestHandler = () => {
  // Never answers; the client's timeout or abort ends the exchange.
};

// ---------------------------------------------------------------------------------------------

describe('executeOccurrence: requests', () => {
  it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const)(
    'sends %s with headers, body and idempotency headers',
    async (method) => {
      const server = await http(text(200, 'done'));
      const withBody = method !== 'GET' && method !== 'HEAD';
      const spec = job({
        request: {
          method,
          url: `${server.url}/hook?x=1`,
          headers: { 'X-Token': 'secret', Accept: 'text/plain' },
          ...(withBody ? { body: { hello: 'world' } } : {}),
        },
      });
      const { deps } = harness();
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
    const server = await http(text(204));
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 255]);
    const binary = job({ request: { method: 'PUT', url: server.url, body: bytes } });
    const { deps } = harness();
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
    const server = await startHttpsServer(text(200, 'secure'));
    servers.push(server);
    const { deps } = harness();
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
    const server = await http(sequence(text(503, 'busy'), text(503, 'busy'), text(200, 'ok')));
    const { deps, delays } = harness();
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
    const server = await http(
      sequence(
        text(429, '', { 'retry-after': '7' }),
        text(503, '', { 'retry-after': '3' }),
        text(200),
      ),
    );
    const { deps, delays } = harness();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.success).toBe(true);
    expect(delays).toEqual([7_000, 3_000]);
  });

  it('caps Retry-After at maxRetryAfter', async () => {
    const server = await http(sequence(text(503, '', { 'retry-after': '3600' }), text(200)));
    const { deps, delays } = harness();
    const spec = job({
      request: { url: server.url },
      retryPolicy: { maxRetryAfter: 2_000, timeout: 0 },
    });
    expect((await executeOccurrence(spec, occurrence(), deps)).success).toBe(true);
    expect(delays).toEqual([2_000]);
  });

  it('gives up at once when Retry-After asks for longer than the run has left', async () => {
    const server = await http(text(503, '', { 'retry-after': '3600' }));
    const { deps, delays } = harness();
    const spec = job({ request: { url: server.url }, retryPolicy: { timeout: 10_000 } });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.payload).toMatchObject({ success: false, attempts: 1, status_code: 503 });
    expect(outcome.payload.error).toContain('503');
    expect(delays).toEqual([]);
  });

  it('gives up after maxRetries on a retryable status and reports it', async () => {
    const server = await http(text(503, 'still busy'));
    const { deps, delays } = harness();
    const spec = job({ request: { url: server.url }, retryPolicy: { maxRetries: 2 } });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.success).toBe(false);
    expect(outcome.payload).toMatchObject({
      attempts: 3,
      success: false,
      status_code: 503,
      response_body: 'still busy',
    });
    expect(outcome.payload.error).toContain('503');
    expect(server.requests).toHaveLength(3);
    expect(delays).toEqual([100, 200]);
  });

  it.each([400, 401, 403, 404, 409, 422])('does not retry %i', async (status) => {
    const server = await http(text(status, 'nope'));
    const { deps, delays } = harness();
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
    const server = await http(sequence(text(status), text(200)));
    const { deps } = harness();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({ attempts: 2, success: true });
  });

  it('uses the job’s own retryStatusCodes list', async () => {
    const server = await http(text(503));
    const { deps } = harness();
    const spec = job({ request: { url: server.url }, retryPolicy: { retryStatusCodes: [500] } });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.payload).toMatchObject({ attempts: 1, error: 'unexpected status 503' });
  });

  it('treats a 3xx the egress does not follow as unexpected', async () => {
    const server = await http(text(304));
    const { deps } = harness();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({ attempts: 1, success: false, status_code: 304 });
  });

  it('retries a refused connection (closed port)', async () => {
    const port = await closedPort();
    const { deps, delays } = harness();
    const spec = job({
      request: { url: `http://127.0.0.1:${port}/` },
      retryPolicy: { maxRetries: 2 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.success).toBe(false);
    expect(outcome.payload.attempts).toBe(3);
    expect(outcome.payload.status_code).toBeUndefined();
    expect(outcome.payload.error).toContain('ECONNREFUSED');
    expect(delays).toEqual([100, 200]);
  });

  it('does not retry network errors when retryNetworkErrors is false', async () => {
    const port = await closedPort();
    const { deps } = harness();
    const spec = job({
      request: { url: `http://127.0.0.1:${port}/` },
      retryPolicy: { retryNetworkErrors: false },
    });
    expect((await executeOccurrence(spec, occurrence(), deps)).payload.attempts).toBe(1);
  });

  it('retries a connection reset mid-response', async () => {
    const server = await http(
      sequence(
        (req) => {
          req.socket.destroy();
        },
        text(200, 'ok'),
      ),
    );
    const { deps } = harness();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload).toMatchObject({ attempts: 2, success: true });
  });

  it('never retries a URL-guard refusal', async () => {
    const server = await http(text(200));
    const strict = createEgress({
      allowedSchemes: ['http'],
      allowIpLiterals: true,
      allowedAddresses: ['127.0.0.1/32'],
      allowedPorts: [server.port === 1 ? 2 : 1],
    });
    try {
      const { deps, delays } = harness({ fetch: strict.fetch });
      const outcome = await executeOccurrence(
        job({ request: { url: server.url } }),
        occurrence(),
        deps,
      );
      expect(outcome.payload.attempts).toBe(1);
      expect(outcome.payload.success).toBe(false);
      expect(delays).toEqual([]);
      expect(server.requests).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });

  it('times out each attempt separately and retries the timeout', async () => {
    const server = await http(hang);
    const { deps } = harness();
    const spec = job({
      request: { url: server.url, timeout: 100 },
      retryPolicy: { maxRetries: 1 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.success).toBe(false);
    expect(outcome.payload.attempts).toBe(2);
    expect(outcome.payload.error).toBe('request timed out after 100 ms');
    expect(server.requests).toHaveLength(2);
  });

  it('uses a named retrier registered on the scheduler', async () => {
    const server = await http(sequence(text(503), text(503), text(200)));
    const delays: number[] = [];
    const named: Retrier = createRetrier({
      maxRetries: 1,
      interval: 42,
      jitter: 0,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const { deps } = harness({ retriers: new Map([['patient', named]]) });
    const spec = job({ request: { url: server.url } });
    const withNamed: JobSpec = { ...spec, retry: { ...spec.retry, retrier: 'patient' } };
    const outcome = await executeOccurrence(withNamed, occurrence(), deps);
    expect(outcome.payload).toMatchObject({ attempts: 2, success: false, status_code: 503 });
    expect(delays).toEqual([42]);
  });

  it('fails the run clearly when the named retrier is not registered', async () => {
    const server = await http(text(200));
    const { deps } = harness();
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
    const server = await http(sequence(text(503), text(200)));
    const policyRetriers = new Map<string, Retrier>();
    const { deps, delays } = harness({ policyRetriers });
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
    const server = await http(async (_req, res) => {
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
    const { deps } = harness();
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
    const server = await http(text(200, 'x'.repeat(5000)));
    const { deps } = harness();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload.response_body).toHaveLength(4096);
    expect(outcome.payload.response_body_truncated).toBe(true);
  });

  it('flags a body that fits exactly as not truncated', async () => {
    const server = await http(text(200, 'y'.repeat(4096)));
    const { deps } = harness();
    const outcome = await executeOccurrence(
      job({ request: { url: server.url } }),
      occurrence(),
      deps,
    );
    expect(outcome.payload.response_body).toHaveLength(4096);
    expect(outcome.payload.response_body_truncated).toBe(false);
  });

  it('captures nothing with maxBodyBytes 0 but still flags a non-empty body', async () => {
    const server = await http(text(200, 'hello'));
    const { deps } = harness();
    const spec = job({
      request: { url: server.url },
      callback: { url: server.url, maxBodyBytes: 0 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.payload.response_body).toBe('');
    expect(outcome.payload.response_body_truncated).toBe(true);
  });

  it('keeps a UTF-8 character cut by truncation from turning the body into base64', async () => {
    const server = await http(text(200, 'é'.repeat(10)));
    const { deps } = harness();
    const spec = job({
      request: { url: server.url },
      callback: { url: server.url, maxBodyBytes: 5 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(outcome.payload.response_body).toBe('éé');
    expect(outcome.payload.response_body_encoding).toBeUndefined();
  });

  it('returns binary bodies as base64', async () => {
    const server = await http((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    });
    const { deps } = harness();
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
    const server = await http(text(204));
    const { deps } = harness();
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
    const server = await http(hang);
    const { deps, controller } = harness();
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
    const server = await http(text(200));
    const { deps, controller } = harness();
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
    const server = await http(text(503));
    const controller = new AbortController();
    const { deps } = harness({
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

describe('deliverCallback', () => {
  async function runWithCallback(
    callbackHandler: TestHandler,
    callback: Record<string, unknown> = {},
  ): Promise<{
    payload: CallbackPayload;
    cb: TestServer;
    h: Harness;
    delivery: Awaited<ReturnType<typeof deliverCallback>>;
  }> {
    const target = await http(text(200, 'target says hi'));
    const cb = await http(callbackHandler);
    const spec = job({
      request: { url: target.url },
      callback: { url: `${cb.url}/cb`, ...callback },
    });
    const h = harness();
    const outcome = await executeOccurrence(spec, occurrence('billing'), h.deps);
    const delivery = await deliverCallback(spec, outcome.payload, h.deps);
    return { payload: outcome.payload, cb, h, delivery };
  }

  it('POSTs the payload JSON with the seed’s keys in order, plus ours', async () => {
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
    const target = await http(text(404));
    const cb = await http(text(204));
    const spec = job({ request: { url: target.url }, callback: { url: cb.url } });
    const { deps } = harness();
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
    const target = await http(text(200));
    const spec = job({
      request: { url: target.url },
      callback: { url: `http://127.0.0.1:${port}/` },
    });
    const { deps, logger } = harness();
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
    const target = await http(hang);
    const cb = await http(text(200));
    const spec = job({ request: { url: target.url, timeout: 0 }, callback: { url: cb.url } });
    const { deps, controller } = harness();
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
    const target = await http(text(200));
    const cb = await http(hang);
    const spec = job({ request: { url: target.url }, callback: { url: cb.url, timeout: 0 } });
    const { deps } = harness();
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    const stop = new AbortController();
    const delivery = deliverCallback(spec, outcome.payload, { ...deps, signal: stop.signal });
    await cb.waitForRequests(1);
    stop.abort(new Error('hard stop'));
    expect(await delivery).toEqual({ ok: false, status: null, error: 'hard stop' });
  });

  it('sends nothing when the job has no callback', async () => {
    const target = await http(text(200));
    const spec = job({ request: { url: target.url } });
    const { deps } = harness();
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
// Pure helpers

describe('classification helpers', () => {
  const policy = parseJob({ schedule: { every: 1 }, request: { url: 'https://e.com' } }).spec.retry;
  const fetchFailed = (code: string): TypeError =>
    new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code}`), { code }) });

  it.each([
    ['ECONNREFUSED', true],
    ['ECONNRESET', true],
    ['UND_ERR_SOCKET', true],
    ['UND_ERR_HEADERS_TIMEOUT', true],
    ['EAI_AGAIN', true],
    ['ENOTFOUND', false],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', false],
  ])('network error %s retryable: %s', (code, expected) => {
    expect(isTransientNetworkError(fetchFailed(code))).toBe(expected);
    expect(shouldRetryAttempt(policy, fetchFailed(code))).toBe(expected);
    expect(shouldRetryAttempt({ ...policy, retryNetworkErrors: false }, fetchFailed(code))).toBe(
      false,
    );
  });

  it('never retries URL-guard refusals, even wrapped in a transport error', () => {
    const refusal = new UrlGuardError('port', 'port not allowed');
    expect(isUrlGuardRefusal(refusal)).toBe(true);
    const wrapped = new TypeError('fetch failed', {
      cause: Object.assign(refusal, { code: 'URL_REFUSED' }),
    });
    expect(isUrlGuardRefusal(wrapped)).toBe(true);
    expect(shouldRetryAttempt(policy, wrapped)).toBe(false);
    // Structural match, without importing url-guard.
    expect(isUrlGuardRefusal({ name: 'UrlGuardError', reason: 'ip-literal' })).toBe(true);
  });

  it('classifies status and timeout errors', () => {
    expect(shouldRetryAttempt(policy, new RetryableStatusError(503))).toBe(true);
    expect(shouldRetryAttempt(policy, new UnexpectedStatusError(404))).toBe(false);
    expect(shouldRetryAttempt(policy, new RequestTimeoutError(10))).toBe(true);
    expect(shouldRetryAttempt(policy, new Error('something else'))).toBe(false);
  });

  it('survives cyclic cause chains', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isTransientNetworkError(a)).toBe(false);
    expect(describeError(a)).toBe('a: b');
  });

  it('describes errors with their cause chain and code', () => {
    expect(describeError(fetchFailed('ECONNREFUSED'))).toBe('fetch failed: connect ECONNREFUSED');
    expect(describeError(new UnexpectedStatusError(418))).toBe('unexpected status 418');
    expect(describeError('plain string')).toBe('plain string');
  });

  it('maps policies to retrier options that @again/retry accepts', () => {
    const strategies = [
      { jitterStrategy: 'additive', jitter: 10 },
      { jitterStrategy: 'none' },
      { jitterStrategy: 'full', backoff: 'linear' },
      { jitterStrategy: 'equal', backoff: 'constant' },
      { jitterStrategy: 'decorrelated' },
    ] as const;
    for (const retryPolicy of strategies) {
      const { spec } = parseJob({
        schedule: { every: 1 },
        request: { url: 'https://e.com' },
        retryPolicy,
      });
      expect(() => createRetrier(retrierOptionsFromPolicy(spec.retry))).not.toThrow();
    }
    const noTimeout = parseJob({
      schedule: { every: 1 },
      request: { url: 'https://e.com' },
      retryPolicy: { timeout: 0 },
    }).spec.retry;
    expect(retrierOptionsFromPolicy(noTimeout).timeout).toBe(Number.POSITIVE_INFINITY);
  });
});
