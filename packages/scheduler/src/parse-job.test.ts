import { describe, expect, it } from 'vitest';
import { InvalidJobError } from './errors.js';
import { JOB_DEFAULTS, JOB_LIMITS, type JobSpec } from './job-types.js';
import { parseJob } from './parse-job.js';
import { specFromRecord, specToRecord } from './stored-spec.js';

const URL_OK = 'https://hooks.example.com/run';

function issuesOf(input: unknown): Array<{ path: string; message: string }> {
  try {
    parseJob(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidJobError);
    expect((error as InvalidJobError).code).toBe('ERR_INVALID_JOB');
    return [...(error as InvalidJobError).issues];
  }
  throw new Error('expected InvalidJobError');
}

function pathsOf(input: unknown): string[] {
  return issuesOf(input).map((issue) => issue.path);
}

describe('parseJob: defaults and normalisation', () => {
  it('fills every default for a minimal interval job', () => {
    const { id, spec } = parseJob({ schedule: { every: 60_000 }, request: { url: URL_OK } });
    expect(id).toBeUndefined();
    expect(spec).toEqual({
      schedule: { kind: 'interval', every: 60_000, startAt: null, endAt: null, maxRuns: 0 },
      request: {
        method: 'GET',
        url: URL_OK,
        headers: {},
        body: null,
        bodyEncoding: 'utf8',
        timeout: 10_000,
        signWith: null,
      },
      callback: null,
      retry: {
        maxRetries: 5,
        interval: 500,
        backoff: 'exponential',
        backoffFactor: 2,
        jitter: 1_000,
        jitterStrategy: 'additive',
        maxDelay: 30_000,
        timeout: 60_000,
        maxRetryAfter: 60_000,
        retryStatusCodes: [408, 425, 429, 500, 502, 503, 504],
        retryNetworkErrors: true,
        retrier: null,
      },
      missedRuns: { policy: 'run-once' },
      overlap: 'allow',
      metadata: {},
    } satisfies JobSpec);
    expect(spec.retry).toEqual(JOB_DEFAULTS.retry);
  });

  it('normalises a full job', () => {
    const { id, spec } = parseJob({
      id: 'nightly',
      schedule: {
        cron: '0 2 * * *',
        timezone: 'Europe/Paris',
        startAt: '2026-03-01T00:00:00+01:00',
        endAt: new Date('2026-12-31T00:00:00Z'),
        maxRuns: 10,
      },
      request: {
        method: 'patch',
        url: 'HTTPS://Hooks.Example.com:443/a/../b?x=1',
        headers: { 'X-Token': 'abc', Accept: 'application/json' },
        body: { full: true },
        timeout: 0,
        signWith: 'main',
      },
      callback: {
        url: 'http://127.0.0.1:9/cb',
        method: 'put',
        maxBodyBytes: 0,
        headers: { 'X-Cb': '1' },
        signWith: 'hooks',
      },
      retryPolicy: { maxRetries: 0, retryStatusCodes: [503, 500, 503], retryNetworkErrors: false },
      missedRuns: { policy: 'run-all', limit: 7 },
      overlap: 'skip',
      metadata: { team: 'billing' },
    });
    expect(id).toBe('nightly');
    expect(spec.schedule).toEqual({
      kind: 'cron',
      expression: '0 2 * * *',
      timezone: 'Europe/Paris',
      startAt: Date.parse('2026-02-28T23:00:00Z'),
      endAt: Date.parse('2026-12-31T00:00:00Z'),
      maxRuns: 10,
    });
    expect(spec.request).toEqual({
      method: 'PATCH',
      url: 'https://hooks.example.com/b?x=1',
      headers: { 'x-token': 'abc', accept: 'application/json', 'content-type': 'application/json' },
      body: '{"full":true}',
      bodyEncoding: 'utf8',
      timeout: 0,
      signWith: 'main',
    });
    expect(spec.callback).toEqual({
      url: 'http://127.0.0.1:9/cb',
      method: 'PUT',
      headers: { 'x-cb': '1' },
      timeout: 10_000,
      maxBodyBytes: 0,
      signWith: 'hooks',
      retry: JOB_DEFAULTS.callbackRetry,
    });
    expect(spec.retry.retryStatusCodes).toEqual([500, 503]);
    expect(spec.retry.retryNetworkErrors).toBe(false);
    expect(spec.retry.maxRetries).toBe(0);
    expect(spec.missedRuns).toEqual({ policy: 'run-all', limit: 7 });
    expect(spec.overlap).toBe('skip');
    expect(spec.metadata).toEqual({ team: 'billing' });
  });

  it.each([
    ['run-all', { policy: 'run-all', limit: 100 }],
    ['skip', { policy: 'skip' }],
    ['run-once', { policy: 'run-once' }],
  ])('missedRuns %s', (missedRuns, expected) => {
    const { spec } = parseJob({ schedule: { every: 1 }, request: { url: URL_OK }, missedRuns });
    expect(spec.missedRuns).toEqual(expected);
  });

  it('keeps a user content-type for JSON bodies and stores bytes as base64', () => {
    const json = parseJob({
      schedule: { every: 1000 },
      request: {
        method: 'POST',
        url: URL_OK,
        headers: { 'Content-Type': 'application/vnd+json' },
        body: [1, 2],
      },
    }).spec.request;
    expect(json.headers).toEqual({ 'content-type': 'application/vnd+json' });
    expect(json.body).toBe('[1,2]');
    const bytes = parseJob({
      schedule: { every: 1000 },
      request: { method: 'PUT', url: URL_OK, body: new Uint8Array([0, 1, 255]) },
    }).spec.request;
    expect(bytes).toMatchObject({ body: 'AAH/', bodyEncoding: 'base64' });
    const text = parseJob({
      schedule: { every: 1000 },
      request: { method: 'DELETE', url: URL_OK, body: 'plain' },
    }).spec.request;
    expect(text).toMatchObject({ body: 'plain', bodyEncoding: 'utf8', headers: {} });
  });

  it('accepts once-at and every method', () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']) {
      const { spec } = parseJob({
        schedule: { at: 1_700_000_000_000 },
        request: { url: URL_OK, method },
      });
      expect(spec.request.method).toBe(method);
      expect(spec.schedule).toEqual({ kind: 'once', at: 1_700_000_000_000 });
    }
  });

  it('stores -0 as 0, so the spec reads back from JSON as it was', () => {
    const { spec } = parseJob({
      schedule: { every: 5, startAt: -0, maxRuns: -0 },
      request: { url: URL_OK, timeout: -0 },
      callback: { url: URL_OK, timeout: -0, maxBodyBytes: -0 },
      retryPolicy: { maxRetries: -0, interval: -0, jitter: -0, timeout: -0 },
    });
    const zeros = [
      spec.schedule.kind === 'interval' ? spec.schedule.startAt : null,
      spec.schedule.kind === 'interval' ? spec.schedule.maxRuns : null,
      spec.request.timeout,
      spec.callback?.timeout,
      spec.callback?.maxBodyBytes,
      spec.retry.maxRetries,
      spec.retry.interval,
      spec.retry.jitter,
      spec.retry.timeout,
    ];
    for (const zero of zeros) expect(Object.is(zero, 0)).toBe(true);
    expect(specFromRecord(specToRecord(spec))).toEqual(spec);
  });

  it('accepts a named retrier alone', () => {
    const { spec } = parseJob({
      schedule: { every: 1000 },
      request: { url: URL_OK },
      retryPolicy: { retrier: 'patient', retryStatusCodes: [500] },
    });
    expect(spec.retry.retrier).toBe('patient');
    expect(spec.retry.retryStatusCodes).toEqual([500]);
  });
});

describe('parseJob: headers as Headers objects and [name, value] pairs', () => {
  const plain = parseJob({
    schedule: { every: 1000 },
    request: { url: URL_OK, headers: { 'X-Token': 'abc', Accept: 'text/plain' } },
    callback: { url: URL_OK, headers: { 'X-Cb': '1' } },
  }).spec;

  it('stores a Headers object exactly as the same plain object', () => {
    const { spec } = parseJob({
      schedule: { every: 1000 },
      request: { url: URL_OK, headers: new Headers({ 'X-Token': 'abc', Accept: 'text/plain' }) },
      callback: { url: URL_OK, headers: new Headers([['X-Cb', '1']]) },
    });
    expect(spec).toEqual(plain);
    expect(spec.request.headers).toEqual({ 'x-token': 'abc', accept: 'text/plain' });
  });

  it('stores [name, value] pairs exactly as the same plain object', () => {
    const { spec } = parseJob({
      schedule: { every: 1000 },
      request: {
        url: URL_OK,
        headers: [
          ['X-Token', 'abc'],
          ['Accept', 'text/plain'],
        ],
      },
      callback: { url: URL_OK, headers: [['X-Cb', '1']] },
    });
    expect(spec).toEqual(plain);
  });

  it('keeps what a Headers object joined (repeated appends become one value)', () => {
    const headers = new Headers();
    headers.append('X-Tag', 'a');
    headers.append('x-tag', 'b');
    const { spec } = parseJob({ schedule: { every: 1000 }, request: { url: URL_OK, headers } });
    expect(spec.request.headers).toEqual({ 'x-tag': 'a, b' });
  });

  it('adds the JSON content-type to Headers without one, and keeps one that is set', () => {
    const request = (headers: Headers) =>
      parseJob({
        schedule: { every: 1000 },
        request: { method: 'POST', url: URL_OK, headers, body: { a: 1 } },
      }).spec.request.headers;
    expect(request(new Headers())).toEqual({ 'content-type': 'application/json' });
    expect(request(new Headers({ 'Content-Type': 'application/vnd+json' }))).toEqual({
      'content-type': 'application/vnd+json',
    });
  });

  it('checks Headers and pairs with the same rules as an object, listing every problem', () => {
    const issues = issuesOf({
      schedule: { every: 1000 },
      request: {
        url: URL_OK,
        headers: new Headers({ 'Idempotency-Key': 'mine', 'Webhook-Signature': 'v1,forged' }),
      },
      callback: {
        url: URL_OK,
        headers: [['X-A', '1'], ['x-a', '2'], ['X-B'], 'X-C: 3', ['__proto__', 'x'], ['X-D', 4]],
      },
    });
    expect(issues).toEqual([
      {
        path: 'request.headers.idempotency-key',
        message: 'request header idempotency-key is set by the scheduler or not allowed',
      },
      {
        path: 'request.headers.webhook-signature',
        message: 'request header webhook-signature is set by the scheduler or not allowed',
      },
      {
        path: 'callback.headers.2',
        message: 'callback headers given as an array must be [name, value] pairs of strings',
      },
      {
        path: 'callback.headers.3',
        message: 'callback headers given as an array must be [name, value] pairs of strings',
      },
      {
        path: 'callback.headers.5',
        message: 'callback headers given as an array must be [name, value] pairs of strings',
      },
      {
        path: 'callback.headers.x-a',
        message: 'callback header names must be unique ignoring case',
      },
      { path: 'callback.headers.__proto__', message: 'key "__proto__" is not allowed' },
    ]);
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it('refuses more pairs than headers allowed, and pairs that break the record rules', () => {
    const many = Array.from({ length: JOB_LIMITS.headerCount + 1 }, (_, i) => [`x-${i}`, 'v']);
    expect(issuesOf({ schedule: { every: 1 }, request: { url: URL_OK, headers: many } })).toEqual([
      { path: 'request.headers', message: `at most ${JOB_LIMITS.headerCount} request headers` },
    ]);
    expect(
      pathsOf({ schedule: { every: 1 }, request: { url: URL_OK, headers: [['bad name', 'v']] } }),
    ).toEqual(['request.headers.bad name']);
    expect(
      pathsOf({
        schedule: { every: 1 },
        request: { url: URL_OK, headers: [['x-a', 'line\nbreak']] },
      }),
    ).toEqual(['request.headers.x-a']);
  });

  it.each(['webhook-id', 'Webhook-Timestamp', 'WEBHOOK-SIGNATURE'])(
    'reserves %s on requests and callbacks, signed or not',
    (name) => {
      expect(
        pathsOf({
          schedule: { every: 1000 },
          request: { url: URL_OK, headers: { [name]: 'x' } },
          callback: { url: URL_OK, headers: { [name]: 'x' } },
        }),
      ).toEqual([`request.headers.${name}`, `callback.headers.${name}`]);
    },
  );

  it('still refuses a Map, a number or a string as headers', () => {
    for (const headers of [new Map([['x-a', '1']]), 7, 'x-a: 1']) {
      expect(issuesOf({ schedule: { every: 1 }, request: { url: URL_OK, headers } })).toEqual([
        {
          path: 'request.headers',
          message:
            'request headers must be an object of name: value strings, a Headers object or [name, value] pairs',
        },
      ]);
    }
  });
});

describe('parseJob: signWith', () => {
  it('stores the name of the signing secret, or null', () => {
    const signed = parseJob({
      schedule: { every: 1000 },
      request: { url: URL_OK, signWith: 'main' },
      callback: { url: URL_OK, signWith: 'hooks' },
    }).spec;
    expect([signed.request.signWith, signed.callback?.signWith]).toEqual(['main', 'hooks']);
    const unsigned = parseJob({
      schedule: { every: 1000 },
      request: { url: URL_OK, signWith: null },
      callback: { url: URL_OK },
    }).spec;
    expect([unsigned.request.signWith, unsigned.callback?.signWith]).toEqual([null, null]);
  });

  it('refuses a name that is not a non-empty string of at most 128 characters', () => {
    expect(
      issuesOf({
        schedule: { every: 1000 },
        request: { url: URL_OK, signWith: '' },
        callback: { url: URL_OK, signWith: 42 },
      }),
    ).toEqual([
      { path: 'request.signWith', message: 'request.signWith must not be empty' },
      {
        path: 'callback.signWith',
        message:
          'callback.signWith must be the name of a signing secret registered on the scheduler',
      },
    ]);
    expect(
      pathsOf({ schedule: { every: 1 }, request: { url: URL_OK, signWith: 'x'.repeat(129) } }),
    ).toEqual(['request.signWith']);
  });
});

describe('parseJob: errors list every problem with its path', () => {
  it('collects problems from every section in one error', () => {
    const issues = issuesOf({
      id: '',
      schedule: { every: 0, startAt: 'yesterday' },
      request: { url: 'ftp://x', method: 'TRACE', headers: { 'bad name': 'v' }, timeout: -1 },
      callback: { url: 'not a url', maxBodyBytes: 1.5 },
      retryPolicy: { maxRetries: Number.NaN, retryStatusCodes: [200, 999] },
      overlap: 'queue',
      metadata: { k: 5 },
      retry_policy: {},
    });
    const paths = issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'retry_policy',
        'id',
        'schedule.every',
        'schedule.startAt',
        'request.url',
        'request.method',
        'request.headers.bad name',
        'request.timeout',
        'callback.url',
        'callback.maxBodyBytes',
        'retryPolicy.maxRetries',
        'retryPolicy.retryStatusCodes.0',
        'retryPolicy.retryStatusCodes.1',
        'overlap',
        'metadata.k',
      ]),
    );
    for (const issue of issues) expect(issue.message.length).toBeGreaterThan(0);
  });

  it.each([
    ['not an object', 42, ['']],
    ['null', null, ['']],
    ['an array', [], ['', 'schedule', 'request']],
    ['missing schedule and request', {}, ['schedule', 'request']],
    ['no schedule kind', { schedule: {}, request: { url: URL_OK } }, ['schedule']],
    [
      'two schedule kinds',
      { schedule: { every: 5, cron: '* * * * *' }, request: { url: URL_OK } },
      ['schedule'],
    ],
    [
      'endAt before startAt',
      { schedule: { every: 5, startAt: 10, endAt: 9 }, request: { url: URL_OK } },
      ['schedule.endAt'],
    ],
    [
      'at with window fields',
      { schedule: { at: 5, maxRuns: 2, endAt: 9 }, request: { url: URL_OK } },
      ['schedule.endAt', 'schedule.maxRuns'],
    ],
    [
      'timezone on an interval',
      { schedule: { every: 5, timezone: 'UTC' }, request: { url: URL_OK } },
      ['schedule.timezone'],
    ],
    ['bad cron', { schedule: { cron: '0 9 * *' }, request: { url: URL_OK } }, ['schedule.cron']],
    [
      'bad zone',
      { schedule: { cron: '0 9 * * *', timezone: 'Mars/Base' }, request: { url: URL_OK } },
      ['schedule.timezone'],
    ],
    [
      'Feb 30',
      { schedule: { at: '2026-02-30T00:00:00Z' }, request: { url: URL_OK } },
      ['schedule.at'],
    ],
    [
      'zone-less ISO',
      { schedule: { at: '2026-02-01T00:00:00' }, request: { url: URL_OK } },
      ['schedule.at'],
    ],
    [
      'invalid Date',
      { schedule: { at: new Date(Number.NaN) }, request: { url: URL_OK } },
      ['schedule.at'],
    ],
    [
      'Infinity',
      { schedule: { every: Number.POSITIVE_INFINITY }, request: { url: URL_OK } },
      ['schedule.every'],
    ],
    ['negative time', { schedule: { at: -1 }, request: { url: URL_OK } }, ['schedule.at']],
    [
      'body on GET',
      { schedule: { every: 5 }, request: { url: URL_OK, body: 'x' } },
      ['request.body'],
    ],
    [
      'body on HEAD',
      { schedule: { every: 5 }, request: { url: URL_OK, method: 'head', body: {} } },
      ['request.body'],
    ],
    [
      'credentials in URL',
      { schedule: { every: 5 }, request: { url: 'https://u:p@example.com' } },
      ['request.url'],
    ],
    [
      'reserved header',
      { schedule: { every: 5 }, request: { url: URL_OK, headers: { 'Idempotency-Key': 'x' } } },
      ['request.headers.Idempotency-Key'],
    ],
    [
      'CRLF in header value',
      { schedule: { every: 5 }, request: { url: URL_OK, headers: { 'X-A': 'a\r\nX-B: b' } } },
      ['request.headers.X-A'],
    ],
    [
      'non-Latin-1 header value',
      { schedule: { every: 5 }, request: { url: URL_OK, headers: { 'X-A': '€' } } },
      ['request.headers.X-A'],
    ],
    [
      'duplicate header ignoring case',
      { schedule: { every: 5 }, request: { url: URL_OK, headers: { 'X-A': '1', 'x-a': '2' } } },
      ['request.headers'],
    ],
    [
      'GET callback',
      {
        schedule: { every: 5 },
        request: { url: URL_OK },
        callback: { url: URL_OK, method: 'GET' },
      },
      ['callback.method'],
    ],
    [
      'retrier with delay fields',
      {
        schedule: { every: 5 },
        request: { url: URL_OK },
        retryPolicy: { retrier: 'x', interval: 5 },
      },
      ['retryPolicy.retrier'],
    ],
    [
      'limit on skip',
      {
        schedule: { every: 5 },
        request: { url: URL_OK },
        missedRuns: { policy: 'skip', limit: 3 },
      },
      ['missedRuns.limit'],
    ],
    [
      'function body',
      { schedule: { every: 5 }, request: { url: URL_OK, method: 'POST', body: () => 1 } },
      ['request.body'],
    ],
    [
      'cyclic JSON body',
      { schedule: { every: 5 }, request: { url: URL_OK, method: 'POST', body: cyclic() } },
      ['request.body'],
    ],
    [
      'BigInt in body',
      { schedule: { every: 5 }, request: { url: URL_OK, method: 'POST', body: { n: 1n } } },
      ['request.body'],
    ],
    ['blank id', { id: '   ', schedule: { every: 5 }, request: { url: URL_OK } }, ['id']],
    [
      'control chars in id',
      { id: 'a\u0000b', schedule: { every: 5 }, request: { url: URL_OK } },
      ['id'],
    ],
  ])('%s', (_name, input, expected) => {
    expect(pathsOf(input).sort()).toEqual([...expected].sort());
  });

  it('rejects oversized strings, bodies and collections', () => {
    const huge = 'x'.repeat(5_000_000);
    const paths = pathsOf({
      id: huge,
      schedule: { cron: huge },
      request: {
        url: `https://example.com/${huge}`,
        method: 'POST',
        body: huge,
        headers: Object.fromEntries(
          Array.from({ length: JOB_LIMITS.headerCount + 1 }, (_, i) => [`x-h${i}`, 'v']),
        ),
      },
      metadata: { k: huge },
    });
    expect(paths.sort()).toEqual(
      [
        'id',
        'schedule.cron',
        'request.url',
        'request.body',
        'request.headers',
        'metadata.k',
      ].sort(),
    );
  });

  it('reports prototype keys instead of honouring them, and never pollutes Object.prototype', () => {
    const input = JSON.parse(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},' +
        '"schedule":{"every":5,"__proto__":{"polluted":3}},' +
        '"request":{"url":"https://e.com","headers":{"__proto__":"x","constructor":"y"}},' +
        '"metadata":{"prototype":"z"}}',
    );
    expect(pathsOf(input).sort()).toEqual(
      [
        '__proto__',
        'constructor',
        'schedule.__proto__',
        'request.headers.__proto__',
        'request.headers.constructor',
        'metadata.prototype',
      ].sort(),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('turns hostile objects (throwing getters, proxies) into InvalidJobError with a cause', () => {
    const throwing = {
      schedule: { every: 5 },
      get request(): never {
        throw new Error('boom');
      },
    };
    let caught: unknown;
    try {
      parseJob(throwing);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidJobError);
    expect((caught as InvalidJobError).cause).toBeInstanceOf(Error);
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('nope');
        },
      },
    );
    expect(() => parseJob(proxy)).toThrow(InvalidJobError);
  });

  it('caps the number of issues', () => {
    const input = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`junk${i}`, i]));
    const issues = issuesOf(input);
    expect(issues.length).toBeLessThanOrEqual(102);
  });
});

describe('parseJob: retry policies are checked by @again/retry', () => {
  const withRetry = (retryPolicy: Record<string, unknown>) => ({
    schedule: { every: 5 },
    request: { url: URL_OK },
    retryPolicy,
  });

  it.each([
    ['jitter with the full strategy', { jitterStrategy: 'full', jitter: 10 }, 'retryPolicy.jitter'],
    [
      'backoffFactor with constant backoff',
      { backoff: 'constant', backoffFactor: 2 },
      'retryPolicy.backoffFactor',
    ],
    [
      'decorrelated with backoff',
      { jitterStrategy: 'decorrelated', backoff: 'exponential' },
      'retryPolicy.backoff',
    ],
    [
      'decorrelated with interval 0',
      { jitterStrategy: 'decorrelated', interval: 0 },
      'retryPolicy.interval',
    ],
    ['maxDelay below interval', { interval: 2_000, maxDelay: 1_000 }, 'retryPolicy.maxDelay'],
    [
      'interval above the default maxDelay',
      { interval: 45_000, timeout: 0 },
      'retryPolicy.maxDelay',
    ],
    [
      'interval not shorter than the budget',
      { interval: 1_000, timeout: 1_000 },
      'retryPolicy.interval',
    ],
  ])('refuses %s', (_name, retryPolicy, path) => {
    const issues = issuesOf(withRetry(retryPolicy));
    expect(issues.map((issue) => issue.path)).toEqual([path]);
    expect(issues[0]?.message.startsWith(`${path}: `)).toBe(true);
  });

  it('does not check the delay fields of a named retrier (they are refused outright)', () => {
    expect(pathsOf(withRetry({ retrier: 'x', jitterStrategy: 'full', jitter: 5 }))).toEqual([
      'retryPolicy.retrier',
    ]);
  });

  it('accepts what @again/retry accepts', () => {
    for (const retryPolicy of [
      { jitterStrategy: 'none', jitter: 0 },
      { jitterStrategy: 'decorrelated', interval: 10 },
      { maxRetries: 0, interval: 90_000, maxDelay: 90_000 },
      { backoff: 'linear', interval: 10, maxDelay: 10, timeout: 0 },
    ]) {
      expect(() => parseJob(withRetry(retryPolicy))).not.toThrow();
    }
  });
});

describe('parseJob: the callback’s retry policy', () => {
  const withCallbackRetry = (retryPolicy: unknown, jobRetry?: Record<string, unknown>) => ({
    schedule: { every: 5 },
    request: { url: URL_OK },
    callback: { url: URL_OK, retryPolicy },
    ...(jobRetry === undefined ? {} : { retryPolicy: jobRetry }),
  });

  it('defaults to a few retries with full-jitter backoff, honouring Retry-After', () => {
    const { spec } = parseJob({
      schedule: { every: 5 },
      request: { url: URL_OK },
      callback: { url: URL_OK },
    });
    expect(spec.callback?.retry).toEqual({
      maxRetries: 3,
      interval: 1_000,
      backoff: 'exponential',
      backoffFactor: 2,
      jitter: 0,
      jitterStrategy: 'full',
      maxDelay: 30_000,
      timeout: 60_000,
      maxRetryAfter: 60_000,
      retryStatusCodes: [408, 425, 429, 500, 502, 503, 504],
      retryNetworkErrors: true,
      retrier: null,
    });
    expect(JOB_DEFAULTS.callbackRetry).toEqual(spec.callback?.retry);
    // The per-attempt timeout is still `callback.timeout`.
    expect(spec.callback?.timeout).toBe(JOB_DEFAULTS.callbackTimeout);
  });

  it('applies the given fields over the callback defaults, apart from the job’s policy', () => {
    const { spec } = parseJob(
      withCallbackRetry(
        {
          maxRetries: 1,
          interval: 200,
          retryStatusCodes: [503, 429, 503],
          retryNetworkErrors: false,
        },
        { maxRetries: 7 },
      ),
    );
    expect(spec.callback?.retry).toEqual({
      ...JOB_DEFAULTS.callbackRetry,
      maxRetries: 1,
      interval: 200,
      retryStatusCodes: [429, 503],
      retryNetworkErrors: false,
    });
    expect(spec.retry).toEqual({ ...JOB_DEFAULTS.retry, maxRetries: 7 });
  });

  it('gives the additive strategy the job’s default jitter, and other strategies none', () => {
    const additive = parseJob(withCallbackRetry({ jitterStrategy: 'additive' })).spec;
    expect(additive.callback?.retry).toMatchObject({
      jitterStrategy: 'additive',
      jitter: JOB_DEFAULTS.retry.jitter,
    });
    const equal = parseJob(withCallbackRetry({ jitterStrategy: 'equal' })).spec;
    expect(equal.callback?.retry).toMatchObject({ jitterStrategy: 'equal', jitter: 0 });
  });

  it('accepts a named retrier alone, keeping its status list', () => {
    const { spec } = parseJob(withCallbackRetry({ retrier: 'patient', retryStatusCodes: [500] }));
    expect(spec.callback?.retry).toMatchObject({ retrier: 'patient', retryStatusCodes: [500] });
    expect(spec.retry.retrier).toBeNull();
  });

  it.each([
    ['maxRetries below 0', { maxRetries: -1 }, 'callback.retryPolicy.maxRetries'],
    ['maxRetries above the limit', { maxRetries: 101 }, 'callback.retryPolicy.maxRetries'],
    ['a fractional interval', { interval: 1.5 }, 'callback.retryPolicy.interval'],
    ['an unknown backoff', { backoff: 'random' }, 'callback.retryPolicy.backoff'],
    ['a backoffFactor below 1', { backoffFactor: 0.5 }, 'callback.retryPolicy.backoffFactor'],
    [
      'an unknown jitter strategy',
      { jitterStrategy: 'wild' },
      'callback.retryPolicy.jitterStrategy',
    ],
    ['a negative maxDelay', { maxDelay: -5 }, 'callback.retryPolicy.maxDelay'],
    ['a timeout past the timer limit', { timeout: 2 ** 31 }, 'callback.retryPolicy.timeout'],
    ['a string maxRetryAfter', { maxRetryAfter: '60s' }, 'callback.retryPolicy.maxRetryAfter'],
    ['a 2xx status', { retryStatusCodes: [200] }, 'callback.retryPolicy.retryStatusCodes.0'],
    [
      'a status out of range',
      { retryStatusCodes: [99] },
      'callback.retryPolicy.retryStatusCodes.0',
    ],
    [
      'statuses not in an array',
      { retryStatusCodes: 503 },
      'callback.retryPolicy.retryStatusCodes',
    ],
    [
      'too many statuses',
      { retryStatusCodes: Array.from({ length: 101 }, () => 503) },
      'callback.retryPolicy.retryStatusCodes',
    ],
    [
      'a non-boolean retryNetworkErrors',
      { retryNetworkErrors: 'yes' },
      'callback.retryPolicy.retryNetworkErrors',
    ],
    ['an empty retrier name', { retrier: '' }, 'callback.retryPolicy.retrier'],
    ['a retrier name that is not a string', { retrier: 7 }, 'callback.retryPolicy.retrier'],
  ])('refuses %s, at its path under callback.retryPolicy', (_name, retryPolicy, path) => {
    const issues = issuesOf(withCallbackRetry(retryPolicy));
    expect(issues.map((issue) => issue.path)).toEqual([path]);
    expect(issues[0]?.message.startsWith('callback.retryPolicy.')).toBe(true);
  });

  it.each([
    ['an array', [], 'callback.retryPolicy must be an object, not an array'],
    ['a number', 5, 'callback.retryPolicy must be an object'],
  ])('refuses %s as the policy', (_name, retryPolicy, message) => {
    expect(issuesOf(withCallbackRetry(retryPolicy))).toEqual([
      { path: 'callback.retryPolicy', message },
    ]);
  });

  it('reports unknown and prototype keys inside it', () => {
    const policy = JSON.parse('{"max_retries": 1, "__proto__": {"polluted": true}}');
    expect(issuesOf(withCallbackRetry(policy))).toEqual([
      { path: 'callback.retryPolicy.max_retries', message: 'unknown field "max_retries"' },
      { path: 'callback.retryPolicy.__proto__', message: 'key "__proto__" is not allowed' },
    ]);
  });

  it.each([
    // Refused for a callback although the job takes it: the callback's strategy is 'full'.
    ['jitter with the default strategy', { jitter: 10 }, 'jitter'],
    [
      'backoffFactor with constant backoff',
      { backoff: 'constant', backoffFactor: 2 },
      'backoffFactor',
    ],
    ['decorrelated with backoff', { jitterStrategy: 'decorrelated', backoff: 'linear' }, 'backoff'],
    ['maxDelay below interval', { interval: 2_000, maxDelay: 1_000 }, 'maxDelay'],
    ['interval above the default maxDelay', { interval: 45_000, timeout: 0 }, 'maxDelay'],
    ['interval not shorter than the budget', { interval: 1_000, timeout: 1_000 }, 'interval'],
  ])(
    'refuses %s, as @again/retry does, at callback.retryPolicy.<field>',
    (_name, policy, field) => {
      const path = `callback.retryPolicy.${field}`;
      const issues = issuesOf(withCallbackRetry(policy));
      expect(issues.map((issue) => issue.path)).toEqual([path]);
      expect(issues[0]?.message.startsWith(`${path}: `)).toBe(true);
    },
  );

  it('checks the two policies each against its own defaults', () => {
    // `jitter` alone is fine for the job (additive by default), not for the callback.
    expect(() => parseJob({ ...withCallbackRetry({}), retryPolicy: { jitter: 10 } })).not.toThrow();
    expect(pathsOf(withCallbackRetry({ jitter: 10 }))).toEqual(['callback.retryPolicy.jitter']);
  });

  it('refuses a named retrier combined with delay fields, naming them', () => {
    expect(issuesOf(withCallbackRetry({ retrier: 'x', interval: 5, jitter: 1 }))).toEqual([
      {
        path: 'callback.retryPolicy.retrier',
        message:
          'a named retrier cannot be combined with interval, jitter (set them on the retrier)',
      },
    ]);
  });

  it('lists problems of both policies in one error', () => {
    expect(pathsOf(withCallbackRetry({ maxRetries: -1 }, { maxRetries: -1 }))).toEqual([
      'callback.retryPolicy.maxRetries',
      'retryPolicy.maxRetries',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing: thousands of random and hostile job objects. parseJob must return a spec that passes
// the stored-spec schema, or throw InvalidJobError, and never touch Object.prototype.

/** mulberry32: small seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function cyclic(): object {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value;
}

function makeFuzzer(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const HOSTILE_KEYS = [
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
  ];
  const scalars: ReadonlyArray<() => unknown> = [
    () => undefined,
    () => null,
    () => Number.NaN,
    () => Number.POSITIVE_INFINITY,
    () => Number.NEGATIVE_INFINITY,
    () => -0,
    () => -1,
    () => Math.floor(random() * 2 ** 53) * (random() < 0.5 ? -1 : 1),
    () => random() * 1e6,
    () => 2 ** 31,
    () => Number.MAX_VALUE,
    () => true,
    () => 0n,
    () => Symbol('s'),
    () => '',
    () => ' ',
    () => 'x'.repeat(Math.floor(random() * 3000)),
    () => '\u0000\r\n\u202e',
    () => '€💥',
    () => 'GET',
    () => 'post',
    () => 'https://example.com/x',
    () => 'http://127.0.0.1:8080/',
    () => 'javascript:alert(1)',
    () => '2026-03-01T09:00:00Z',
    () => '2026-13-01T09:00:00Z',
    () => '0 9 * * *',
    () => '* * * * * * * *',
    () => 'Europe/Paris',
    () => new Date(Number.NaN),
    () => new Date(1_700_000_000_000),
    () => new Uint8Array(Math.floor(random() * 64)),
    () => () => 1,
    () => cyclic(),
    () => new Map([['a', 1]]),
  ];
  const value = (depth: number): unknown => {
    const roll = random();
    if (depth > 3 || roll < 0.55) return pick(scalars)();
    if (roll < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    const object: Record<string, unknown> = {};
    const keys = Math.floor(random() * 5);
    for (let i = 0; i < keys; i++) {
      const key = random() < 0.3 ? pick(HOSTILE_KEYS) : `k${Math.floor(random() * 10)}`;
      Object.defineProperty(object, key, {
        value: value(depth + 1),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }
    return object;
  };
  /** Starts from a valid job and corrupts a random subset of fields. */
  const job = (): unknown => {
    const base: Record<string, Record<string, unknown> | unknown> = {
      schedule: pick([
        { every: 1000 },
        { cron: '*/5 * * * *', timezone: 'Europe/Paris' },
        { at: '2026-03-01T09:00:00Z' },
        { every: 5, startAt: 1, endAt: 2, maxRuns: 3 },
      ]),
      request: { url: 'https://example.com/x', method: pick(['GET', 'POST', 'put']) },
      callback: random() < 0.5 ? { url: 'https://example.com/cb' } : undefined,
      retryPolicy: random() < 0.5 ? { maxRetries: 2, retryStatusCodes: [503] } : undefined,
      missedRuns: pick(['skip', 'run-once', 'run-all', { policy: 'run-all', limit: 3 }, undefined]),
      metadata: random() < 0.3 ? { a: 'b' } : undefined,
    };
    const mutations = Math.floor(random() * 4);
    for (let i = 0; i < mutations; i++) {
      const section = pick(['schedule', 'request', 'callback', 'retryPolicy', 'root']);
      const target = section === 'root' ? base : base[section];
      const key = pick([
        ...HOSTILE_KEYS,
        'every',
        'cron',
        'timezone',
        'at',
        'startAt',
        'endAt',
        'maxRuns',
        'url',
        'method',
        'headers',
        'body',
        'timeout',
        'maxBodyBytes',
        'maxRetries',
        'interval',
        'backoffFactor',
        'jitter',
        'retryStatusCodes',
        'retrier',
        'retryPolicy',
        'id',
        'overlap',
        'metadata',
        'missedRuns',
      ]);
      if (typeof target === 'object' && target !== null) {
        Object.defineProperty(target, key, {
          value: value(0),
          enumerable: true,
          configurable: true,
          writable: true,
        });
      } else {
        base[section] = value(0);
      }
    }
    return random() < 0.03 ? value(0) : base;
  };
  return job;
}

describe('parseJob fuzz', () => {
  it('returns a valid spec or throws InvalidJobError for 3000 random hostile jobs', () => {
    const random = prng(0x5eed);
    const job = makeFuzzer(random);
    let valid = 0;
    let invalid = 0;
    for (let i = 0; i < 3000; i++) {
      const input = job();
      let spec: JobSpec | undefined;
      try {
        spec = parseJob(input).spec;
      } catch (error) {
        if (!(error instanceof InvalidJobError)) {
          throw new Error(`case ${i}: unexpected ${String(error)}`, { cause: error });
        }
        expect(error.issues.length).toBeGreaterThan(0);
        for (const issue of error.issues) {
          expect(typeof issue.path).toBe('string');
          expect(typeof issue.message).toBe('string');
        }
        invalid++;
        continue;
      }
      // A returned spec is storable and re-readable.
      expect(specFromRecord(specToRecord(spec))).toEqual(spec);
      valid++;
    }
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The generator exercises both outcomes.
    expect(valid).toBeGreaterThan(100);
    expect(invalid).toBeGreaterThan(1000);
  }, 60_000);
});
