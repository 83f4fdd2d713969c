import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { createMemoryStorage } from '@again/storage-memory';
import { createManualClock, type RecordedRequest, type TestHandler } from '@again/test-utils';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverCallback } from './callback.js';
import { InvalidJobError, type JobIssue } from './errors.js';
import { executeOccurrence } from './request.js';
import { createScheduler } from './scheduler.js';
import { InvalidSchedulerOptionsError } from './scheduler-options.js';
import {
  resolveSigningSecrets,
  SIGNING_LIMITS,
  SigningKeys,
  type SigningSecrets,
  secretProblem,
  unknownSigningNames,
  WEBHOOK_HEADERS,
  webhookHeaders,
} from './signing.js';
import { eventually, tracked } from './test-utils/harness.js';
import { job, occurrence, useRequestHarness } from './test-utils/request-harness.js';

/** A fresh Standard Webhooks secret of `bytes` random bytes. */
function newSecret(bytes = 32): string {
  return `whsec_${randomBytes(bytes).toString('base64')}`;
}

function keysOf(...secrets: string[]): SigningSecrets {
  return new Map([['main', SigningKeys.fromSecrets(secrets)]]);
}

/** The three signature headers as a receiver reads them off the wire. */
function signatureHeadersOf(request: RecordedRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of Object.values(WEBHOOK_HEADERS)) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/**
 * Verifies a received request as a receiver would, with the `standardwebhooks` package: the raw
 * body bytes and the headers. Returns the parsed JSON body (or `undefined`); throws
 * `WebhookVerificationError` when no signature matches.
 */
function verify(secret: string, request: RecordedRequest, jsonParse = false): unknown {
  return new Webhook(secret).verify(request.rawBody, signatureHeadersOf(request), { jsonParse });
}

/** A receiver that answers 204 when the request verifies under `secret`, 401 otherwise. */
function receiver(secret: string): TestHandler {
  return (_req, res, recorded) => {
    try {
      verify(secret, recorded);
      res.writeHead(204);
    } catch {
      res.writeHead(401);
    }
    res.end();
  };
}

function expectVerificationFailure(call: () => unknown): void {
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(WebhookVerificationError);
}

describe('secretProblem', () => {
  const base64 = (bytes: number) => Buffer.alloc(bytes, 0xa7).toString('base64');
  it.each([
    ['24 bytes, no padding needed', `whsec_${base64(24)}`],
    ['the specification’s example', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    ['32 bytes, padded', `whsec_${base64(32)}`],
    ['32 bytes, padding left off', `whsec_${base64(32).replace(/=+$/, '')}`],
    ['25 bytes, padded with ==', `whsec_${base64(25)}`],
    ['64 bytes', `whsec_${base64(64)}`],
  ])('accepts %s (and so does the standardwebhooks package)', (_label, secret) => {
    expect(secretProblem(secret)).toBeNull();
    const ours = SigningKeys.fromSecrets([secret]).sign('msg_1', 1_700_000_000, 'body');
    const theirs = new Webhook(secret).sign('msg_1', new Date(1_700_000_000_000), 'body');
    expect(ours).toBe(theirs);
  });

  it.each([
    ['no whsec_ prefix', base64(32), 'must start with whsec_'],
    ['a password', 'hunter2-hunter2-hunter2-hunter2', 'must start with whsec_'],
    ['23 bytes', `whsec_${base64(23)}`, 'it encodes 23 bytes'],
    ['65 bytes', `whsec_${base64(65)}`, 'it encodes 65 bytes'],
    ['far too long', `whsec_${base64(600)}`, 'too long'],
    ['nothing after the prefix', 'whsec_', 'it encodes 0 bytes'],
    ['URL-safe base64', `whsec_${'-_'.repeat(16)}`, 'standard base64'],
    ['a space inside', `whsec_${base64(16)} ${base64(16)}`, 'standard base64'],
    ['a trailing newline', `whsec_${base64(24)}\n`, 'standard base64'],
    ['padding where none belongs', `whsec_${base64(24)}=`, 'standard base64'],
    ['a lone trailing digit', `whsec_${base64(24)}A`, 'standard base64'],
    ['wrong padding', `whsec_${base64(25).replace('==', '=')}`, 'standard base64'],
  ])('refuses %s, without quoting it', (_label, secret, problem) => {
    const message = secretProblem(secret);
    expect(message).toContain(problem);
    const body = secret.startsWith('whsec_') ? secret.slice(6).trim() : secret;
    if (body.length > 0) expect(message).not.toContain(body.slice(0, 8));
  });

  it.each([[undefined], [null], [42], [Buffer.alloc(32)]])('refuses %s (not a string)', (value) => {
    expect(secretProblem(value)).toBe('must be a string: whsec_ followed by base64');
  });
});

describe('SigningKeys', () => {
  const secret = newSecret();

  it('signs id.timestamp.body as the standardwebhooks package does, text or bytes', () => {
    const keys = SigningKeys.fromSecrets([secret]);
    const webhook = new Webhook(secret);
    const at = new Date(1_772_355_600_000);
    for (const body of ['', '{"a":1}', 'héllo ✓', new Uint8Array([0, 1, 2, 250, 255])]) {
      expect(keys.sign('job@2026-03-01T09:00:00.000Z', 1_772_355_600, body)).toBe(
        webhook.sign('job@2026-03-01T09:00:00.000Z', at, body),
      );
    }
  });

  it('gives one signature per secret, space-separated, in the given order', () => {
    const other = newSecret(24);
    const signature = SigningKeys.fromSecrets([secret, other]).sign('id', 1, 'x');
    expect(signature.split(' ')).toEqual([
      new Webhook(secret).sign('id', new Date(1_000), 'x'),
      new Webhook(other).sign('id', new Date(1_000), 'x'),
    ]);
    expect(SigningKeys.fromSecrets([secret, other]).size).toBe(2);
  });

  it('shows no key when logged or serialised', () => {
    const keys = SigningKeys.fromSecrets([secret]);
    const key = secret.slice(6);
    const hex = Buffer.from(key, 'base64').toString('hex');
    for (const shown of [inspect(keys, { showHidden: true, depth: 5 }), JSON.stringify(keys)]) {
      expect(shown).not.toContain(key.slice(0, 12));
      expect(shown).not.toContain(hex.slice(0, 12));
      expect(shown).not.toContain(key.slice(0, 12).replace(/=+$/, ''));
    }
  });

  it('refuses a malformed secret or none, naming the problem but not the secret', () => {
    expect(() => SigningKeys.fromSecrets([])).toThrow(TypeError);
    let caught: unknown;
    try {
      SigningKeys.fromSecrets([secret, 'whsec_c2hvcnQ=']);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as Error).message).toContain('signing secret 1');
    expect((caught as Error).message).not.toContain('c2hvcnQ');
  });
});

describe('webhookHeaders', () => {
  it('sends the id, whole Unix seconds of the clock given, and the signature', () => {
    const secret = newSecret();
    const keys = SigningKeys.fromSecrets([secret]);
    const headers = webhookHeaders(keys, 'job@x', 1_772_355_600_999, 'body');
    expect(headers).toEqual({
      'webhook-id': 'job@x',
      'webhook-timestamp': '1772355600',
      'webhook-signature': new Webhook(secret).sign('job@x', new Date(1_772_355_600_000), 'body'),
    });
  });
});

describe('resolveSigningSecrets', () => {
  function resolve(input: unknown): { secrets: SigningSecrets; issues: JobIssue[] } {
    const issues: JobIssue[] = [];
    return { secrets: resolveSigningSecrets(input, issues), issues };
  }

  it('takes an object or a Map; a name holds one secret or several', () => {
    const [a, b, c] = [newSecret(), newSecret(24), newSecret(64)];
    const fromObject = resolve({ main: a, rotating: [b, c] });
    expect(fromObject.issues).toEqual([]);
    expect([...fromObject.secrets.keys()]).toEqual(['main', 'rotating']);
    expect(fromObject.secrets.get('rotating')?.size).toBe(2);
    const fromMap = resolve(new Map<string, string | string[]>([['main', [a]]]));
    expect(fromMap.issues).toEqual([]);
    expect(fromMap.secrets.get('main')?.sign('i', 1, 'b')).toBe(
      new Webhook(a).sign('i', new Date(1_000), 'b'),
    );
    expect(resolve(undefined)).toEqual({ secrets: new Map(), issues: [] });
  });

  it('names every malformed secret by its path and never quotes one', () => {
    const good = newSecret();
    const bad = 'whsec_dG9vIHNob3J0IGEgc2VjcmV0';
    const { secrets, issues } = resolve({
      ok: good,
      plain: 'not-a-webhook-secret',
      short: bad,
      rotating: [good, bad],
      empty: [],
      many: Array.from({ length: SIGNING_LIMITS.secretsPerName + 1 }, () => good),
      wrongType: 42,
    });
    expect(issues.map((issue) => issue.path)).toEqual([
      'signingSecrets.plain',
      'signingSecrets.short',
      'signingSecrets.rotating.1',
      'signingSecrets.empty',
      'signingSecrets.many',
      'signingSecrets.wrongType',
    ]);
    const text = JSON.stringify(issues);
    for (const secret of [good, bad, 'not-a-webhook-secret']) {
      expect(text).not.toContain(secret.slice(6, 20));
    }
    // Nothing is half-resolved: createScheduler throws anyway.
    expect(secrets.size).toBe(0);
  });

  it.each([
    ['an array', [newSecret()]],
    ['a string', newSecret()],
    ['null', null],
  ])('refuses %s as the option', (_label, input) => {
    expect(resolve(input).issues).toEqual([
      { path: 'signingSecrets', message: 'must be a Map or an object of name: secret' },
    ]);
  });

  it('refuses names that are not 1 to 128 characters', () => {
    const secret = newSecret();
    const { issues } = resolve(
      new Map<unknown, string>([
        ['', secret],
        ['x'.repeat(129), secret],
        [7, secret],
      ]),
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      'signingSecrets',
      'signingSecrets',
      'signingSecrets',
    ]);
  });
});

describe('createScheduler({ signingSecrets })', () => {
  it('refuses a malformed secret with InvalidSchedulerOptionsError, never echoing it', async () => {
    const secret = `whsec_${Buffer.from('secret-too-short').toString('base64')}`;
    let caught: unknown;
    try {
      await createScheduler({
        storage: createMemoryStorage(),
        unsafeAllowAnyUrl: true,
        signingSecrets: { main: secret, other: newSecret() },
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidSchedulerOptionsError);
    const error = caught as InvalidSchedulerOptionsError;
    expect(error.code).toBe('ERR_INVALID_SCHEDULER_OPTIONS');
    expect(error.issues.map((issue) => issue.path)).toEqual(['signingSecrets.main']);
    expect(error.message).not.toContain(secret.slice(6));
    expect(JSON.stringify(error.issues)).not.toContain(secret.slice(6));
  });
});

describe('unknownSigningNames', () => {
  it('lists request.signWith and callback.signWith names with no secret', () => {
    const spec = job({
      request: { url: 'http://127.0.0.1:2/', signWith: 'main' },
      callback: { url: 'http://127.0.0.1:2/cb', signWith: 'hooks' },
    });
    expect(unknownSigningNames(spec, keysOf(newSecret())).map((issue) => issue.path)).toEqual([
      'callback.signWith',
    ]);
    expect(unknownSigningNames(spec, new Map()).map((issue) => issue.path)).toEqual([
      'request.signWith',
      'callback.signWith',
    ]);
    expect(
      unknownSigningNames(job({ request: { url: 'http://127.0.0.1:2/' } }), new Map()),
    ).toEqual([]);
  });
});

const harness = useRequestHarness();

describe('signed requests, verified by the standardwebhooks package on 127.0.0.1', () => {
  it.each(['GET', 'HEAD', 'DELETE'] as const)(
    'signs a bodiless %s over the empty body',
    async (method) => {
      const secret = newSecret();
      const server = await harness.http(receiver(secret));
      const spec = job({ request: { method, url: `${server.url}/hook`, signWith: 'main' } });
      const { deps } = harness.run({ signingSecrets: keysOf(secret) });
      const outcome = await executeOccurrence(spec, occurrence(), deps);

      expect(outcome.payload.status_code).toBe(204);
      const request = server.requests[0] as RecordedRequest;
      expect(request.rawBody.byteLength).toBe(0);
      expect(request.headers['webhook-id']).toBe('job-1@2026-03-01T09:00:00.000Z');
      expect(request.headers['webhook-id']).toBe(request.headers['idempotency-key']);
      expect(verify(secret, request)).toBeUndefined();
    },
  );

  it('signs a JSON body; the receiver verifies the exact bytes and parses them', async () => {
    const secret = newSecret();
    const server = await harness.http(receiver(secret));
    const body = { report: 'daily', count: 3, note: 'ünïcödé ✓' };
    const spec = job({ request: { method: 'POST', url: server.url, body, signWith: 'main' } });
    const outcome = await executeOccurrence(
      spec,
      occurrence(),
      harness.run({ signingSecrets: keysOf(secret) }).deps,
    );
    expect(outcome.success).toBe(true);
    const request = server.requests[0] as RecordedRequest;
    expect(request.headers['content-type']).toBe('application/json');
    expect(verify(secret, request, true)).toEqual(body);
  });

  it.each([
    ['ASCII text', 'a=1&b=2'],
    ['non-ASCII text', 'héllo wörld ✓ 🎉'],
    ['text with a lone surrogate (sent as U+FFFD)', 'before \uD800 after'],
  ])('signs a %s body as the UTF-8 bytes sent', async (_label, body) => {
    const secret = newSecret();
    const server = await harness.http(receiver(secret));
    const spec = job({ request: { method: 'PUT', url: server.url, body, signWith: 'main' } });
    const outcome = await executeOccurrence(
      spec,
      occurrence(),
      harness.run({ signingSecrets: keysOf(secret) }).deps,
    );
    expect(outcome.payload.status_code).toBe(204);
    expect(verify(secret, server.requests[0] as RecordedRequest)).toBeUndefined();
  });

  it('signs a binary body byte for byte', async () => {
    const secret = newSecret();
    const server = await harness.http(receiver(secret));
    const bytes = new Uint8Array([0, 1, 2, 0x7f, 0x80, 0xc3, 0x28, 250, 255]);
    const spec = job({
      request: { method: 'PATCH', url: server.url, body: bytes, signWith: 'main' },
    });
    const outcome = await executeOccurrence(
      spec,
      occurrence(),
      harness.run({ signingSecrets: keysOf(secret) }).deps,
    );
    expect(outcome.payload.status_code).toBe(204);
    const request = server.requests[0] as RecordedRequest;
    expect(Buffer.from(request.rawBody)).toEqual(Buffer.from(bytes));
    expect(verify(secret, request)).toBeUndefined();
  });

  it('re-signs every attempt with its own timestamp from the scheduler’s clock', async () => {
    const secret = newSecret();
    const verified: Array<{ timestamp: string; signature: string; ok: boolean }> = [];
    const server = await harness.http((req, res, recorded) => {
      let ok = true;
      try {
        verify(secret, recorded);
      } catch {
        ok = false;
      }
      verified.push({
        timestamp: String(recorded.headers['webhook-timestamp']),
        signature: String(recorded.headers['webhook-signature']),
        ok,
      });
      // The first two attempts get a retryable answer.
      res.writeHead(verified.length < 3 ? 503 : 200);
      res.end();
      void req;
    });
    // Whole seconds, close to real time (receivers allow 5 minutes), moved by the retry sleeps.
    let clock = Math.floor(Date.now() / 1_000) * 1_000;
    const { deps } = harness.run({
      signingSecrets: keysOf(secret),
      now: () => clock,
      sleep: async (ms: number) => {
        clock += ms;
      },
    });
    const start = clock;
    const spec = job({
      request: { method: 'POST', url: server.url, body: { n: 1 }, signWith: 'main' },
      retryPolicy: { interval: 61_000, backoff: 'constant', maxDelay: 61_000, timeout: 0 },
    });
    const outcome = await executeOccurrence(spec, occurrence(), deps);

    expect(outcome.payload.attempts).toBe(3);
    expect(outcome.success).toBe(true);
    expect(verified.map((attempt) => attempt.ok)).toEqual([true, true, true]);
    expect(verified.map((attempt) => Number(attempt.timestamp))).toEqual([
      start / 1_000,
      start / 1_000 + 61,
      start / 1_000 + 122,
    ]);
    expect(new Set(verified.map((attempt) => attempt.signature)).size).toBe(3);
    expect(new Set(server.requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
  });

  it('rotation: two secrets give two signatures; a receiver with either one verifies', async () => {
    const [current, previous] = [newSecret(), newSecret(24)];
    const server = await harness.http(receiver(previous));
    const spec = job({ request: { method: 'POST', url: server.url, body: 'x', signWith: 'main' } });
    const outcome = await executeOccurrence(
      spec,
      occurrence(),
      harness.run({ signingSecrets: keysOf(current, previous) }).deps,
    );
    expect(outcome.payload.status_code).toBe(204);
    const request = server.requests[0] as RecordedRequest;
    expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(current, request)).toBeUndefined();
    expect(verify(previous, request)).toBeUndefined();
    expectVerificationFailure(() => verify(newSecret(), request));
  });

  it('a receiver with a wrong secret refuses the request', async () => {
    const receiverSecret = newSecret();
    const server = await harness.http(receiver(receiverSecret));
    const spec = job({
      request: { method: 'POST', url: server.url, body: { a: 1 }, signWith: 'main' },
      retryPolicy: { maxRetries: 0 },
    });
    const outcome = await executeOccurrence(
      spec,
      occurrence(),
      harness.run({ signingSecrets: keysOf(newSecret()) }).deps,
    );
    expect(outcome.success).toBe(false);
    expect(outcome.payload.status_code).toBe(401);
    expectVerificationFailure(() => verify(receiverSecret, server.requests[0] as RecordedRequest));
  });

  it('a receiver notices a body changed on the way', async () => {
    const secret = newSecret();
    const server = await harness.http(receiver(secret));
    const spec = job({
      request: { method: 'POST', url: server.url, body: 'amount=10', signWith: 'main' },
    });
    await executeOccurrence(
      spec,
      occurrence(),
      harness.run({ signingSecrets: keysOf(secret) }).deps,
    );
    const request = server.requests[0] as RecordedRequest;
    const tampered = { ...request, rawBody: new TextEncoder().encode('amount=99') };
    expect(verify(secret, request)).toBeUndefined();
    expectVerificationFailure(() => verify(secret, tampered));
  });

  it('an unsigned job sends no webhook-* headers', async () => {
    const server = await harness.http(receiver(newSecret()));
    const spec = job({ request: { url: server.url }, retryPolicy: { maxRetries: 0 } });
    await executeOccurrence(
      spec,
      occurrence(),
      harness.run({ signingSecrets: keysOf(newSecret()) }).deps,
    );
    const request = server.requests[0] as RecordedRequest;
    expect(signatureHeadersOf(request)).toEqual({});
    expect(request.response).toMatchObject({ finished: true });
  });

  it('fails the run without sending anything when the name has no secret here', async () => {
    const server = await harness.http(receiver(newSecret()));
    const spec = job({ request: { url: server.url, signWith: 'elsewhere' } });
    const outcome = await executeOccurrence(
      spec,
      occurrence(),
      harness.run({ signingSecrets: keysOf(newSecret()) }).deps,
    );
    expect(outcome.success).toBe(false);
    expect(outcome.payload.attempts).toBe(0);
    expect(outcome.payload.error).toBe(
      'no signing secret named "elsewhere" is registered on this scheduler; the request was not sent',
    );
    expect(server.requests).toHaveLength(0);
  });
});

describe('signed callbacks, verified by the standardwebhooks package on 127.0.0.1', () => {
  it('signs the exact payload JSON; the receiver parses the verified body', async () => {
    const secret = newSecret();
    const target = await harness.http(receiver(newSecret()));
    const cb = await harness.http(receiver(secret));
    const spec = job({
      request: { url: target.url },
      callback: { url: `${cb.url}/cb`, signWith: 'hooks' },
      retryPolicy: { maxRetries: 0 },
    });
    const clock = Date.now() + 90_000;
    const { deps } = harness.run({
      signingSecrets: new Map([['hooks', SigningKeys.fromSecrets([secret])]]),
      now: () => clock,
    });
    const outcome = await executeOccurrence(spec, occurrence('billing'), deps);
    const delivery = await deliverCallback(spec, outcome.payload, deps);

    expect(delivery).toEqual({ ok: true, status: 204, error: null, attempts: 1 });
    const request = cb.requests[0] as RecordedRequest;
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe('billing@2026-03-01T09:00:00.000Z');
    expect(request.headers['webhook-timestamp']).toBe(String(Math.floor(clock / 1_000)));
    expect(verify(secret, request, true)).toEqual(outcome.payload);
    // The job's request was not signed: only the callback names a secret.
    expect(signatureHeadersOf(target.requests[0] as RecordedRequest)).toEqual({});
  });

  it('keeps the callback’s own content-type and still verifies', async () => {
    const secret = newSecret();
    const cb = await harness.http(receiver(secret));
    const target = await harness.http(receiver(newSecret()));
    const spec = job({
      request: { url: target.url },
      callback: {
        url: cb.url,
        method: 'PUT',
        headers: new Headers({ 'Content-Type': 'application/vnd.again+json' }),
        signWith: 'main',
      },
      retryPolicy: { maxRetries: 0 },
    });
    const { deps } = harness.run({ signingSecrets: keysOf(secret) });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(await deliverCallback(spec, outcome.payload, deps)).toMatchObject({ ok: true });
    const request = cb.requests[0] as RecordedRequest;
    expect(request.method).toBe('PUT');
    expect(request.headers['content-type']).toBe('application/vnd.again+json');
    expect(verify(secret, request, true)).toEqual(outcome.payload);
  });

  it('a receiver with a wrong secret refuses the callback', async () => {
    const cb = await harness.http(receiver(newSecret()));
    const target = await harness.http(receiver(newSecret()));
    const spec = job({
      request: { url: target.url },
      callback: { url: cb.url, signWith: 'main' },
      retryPolicy: { maxRetries: 0 },
    });
    const { deps } = harness.run({ signingSecrets: keysOf(newSecret()) });
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    expect(await deliverCallback(spec, outcome.payload, deps)).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it('does not send a callback whose secret is missing, and logs it at error', async () => {
    const cb = await harness.http(receiver(newSecret()));
    const target = await harness.http(receiver(newSecret()));
    const spec = job({
      request: { url: target.url },
      callback: { url: cb.url, signWith: 'gone' },
      retryPolicy: { maxRetries: 0 },
    });
    const { deps, logger } = harness.run();
    const outcome = await executeOccurrence(spec, occurrence(), deps);
    const delivery = await deliverCallback(spec, outcome.payload, deps);
    expect(delivery).toEqual({
      ok: false,
      status: null,
      error:
        'no signing secret named "gone" is registered on this scheduler; the callback was not sent',
      attempts: 0,
    });
    expect(cb.requests).toHaveLength(0);
    expect(logger.lines.filter((line) => line.level === 'error')).toHaveLength(1);
  });
});

describe('signed deliveries through createScheduler', () => {
  const t = tracked();
  afterEach(() => t.flush());

  it('refuses an unknown signWith at schedule time, at request.signWith and callback.signWith', async () => {
    const h = await t.harness({ signingSecrets: { main: newSecret() } });
    let caught: unknown;
    try {
      await h.scheduler.schedule({
        schedule: { every: 60_000 },
        request: { url: 'http://127.0.0.1:2/', signWith: 'mian' },
        callback: { url: 'http://127.0.0.1:2/cb', signWith: 'hooks' },
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidJobError);
    expect((caught as InvalidJobError).code).toBe('ERR_INVALID_JOB');
    expect((caught as InvalidJobError).issues.map((issue) => issue.path)).toEqual([
      'request.signWith',
      'callback.signWith',
    ]);
    expect(await h.scheduler.jobCount()).toBe(0);
  });

  it('signs the request and the callback of a scheduled job with the scheduler’s clock', async () => {
    const [requestSecret, previous, callbackSecret] = [newSecret(), newSecret(), newSecret(48)];
    const target = await t.server(receiver(previous));
    const cb = await t.server(receiver(callbackSecret));
    const clock = createManualClock(Math.floor(Date.now() / 1_000) * 1_000 - 30_000);
    const h = await t.harness(
      {
        signingSecrets: new Map<string, string | string[]>([
          ['main', [requestSecret, previous]],
          ['hooks', callbackSecret],
        ]),
      },
      { clock },
    );
    const id = await h.scheduler.schedule({
      schedule: { at: clock.now() },
      request: { method: 'POST', url: `${target.url}/run`, body: { go: true }, signWith: 'main' },
      callback: { url: `${cb.url}/done`, signWith: 'hooks' },
    });
    await h.clock.advance(0);
    const [delivered] = await cb.waitForRequests(1);
    const request = target.requests[0] as RecordedRequest;
    const timestamp = String(Math.floor(clock.now() / 1_000));
    expect(request.headers['webhook-timestamp']).toBe(timestamp);
    expect(verify(requestSecret, request, true)).toEqual({ go: true });
    expect(verify(previous, request, true)).toEqual({ go: true });
    const callback = delivered as RecordedRequest;
    expect(callback.headers['webhook-timestamp']).toBe(timestamp);
    expect(verify(callbackSecret, callback, true)).toMatchObject({
      job_id: id,
      success: true,
      status_code: 204,
    });
    expectVerificationFailure(() => verify(requestSecret, callback));
    await eventually(async () => {
      expect((await h.scheduler.jobStatus(id))?.state).toBe('completed');
    });
  });

  it('fails a stored signed job’s run on an instance that lacks the secret, sending nothing', async () => {
    const secret = newSecret();
    const target = await t.server(receiver(secret));
    const first = await t.harness({ signingSecrets: { main: secret } });
    const id = await first.scheduler.schedule({
      schedule: { at: first.clock.now() + 1_000 },
      request: { url: target.url, signWith: 'main' },
    });
    await first.scheduler.stop({ timeout: 0 });
    const second = await t.harness({}, { storage: first.storage, clock: first.clock });
    await second.clock.advance(1_000);
    const history = await eventually(async () => {
      const runs = await second.scheduler.jobHistory(id);
      expect(runs).toHaveLength(1);
      return runs ?? [];
    });
    expect(history[0]?.status).toBe('failed');
    expect(history[0]?.payload?.error).toBe(
      'no signing secret named "main" is registered on this scheduler; the request was not sent',
    );
    expect(target.requests).toHaveLength(0);
  });
});
