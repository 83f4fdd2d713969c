import { createRetrier, RetryDeadlineError, type RetryTrace } from '@again/retry';
import { UrlGuardError } from '@again/url-guard';
import { describe, expect, it } from 'vitest';
import {
  describeError,
  describeRunFailure,
  isTransientNetworkError,
  shouldRetryAttempt,
} from './classify.js';
import { ResponseBodyError, RetryableStatusError, UnexpectedStatusError } from './errors.js';
import { parseJob } from './parse-job.js';

const policy = parseJob({ schedule: { every: 1 }, request: { url: 'https://e.com' } }).spec.retry;
const fetchFailed = (code: string): TypeError =>
  new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code}`), { code }) });

describe('isTransientNetworkError and shouldRetryAttempt', () => {
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

  it('looks inside AggregateError members (several addresses tried)', () => {
    const both = new AggregateError([fetchFailed('ENETUNREACH'), fetchFailed('ECONNREFUSED')]);
    expect(isTransientNetworkError(new TypeError('fetch failed', { cause: both }))).toBe(true);
  });

  it('classifies status, attempt-timeout and cut-body errors', () => {
    expect(shouldRetryAttempt(policy, new RetryableStatusError(503))).toBe(true);
    expect(shouldRetryAttempt(policy, new UnexpectedStatusError(404))).toBe(false);
    expect(shouldRetryAttempt(policy, new RetryDeadlineError('attempt', 10))).toBe(true);
    // The run's own budget running out is not a reason to try again.
    expect(shouldRetryAttempt(policy, new RetryDeadlineError('total', 10))).toBe(false);
    expect(shouldRetryAttempt(policy, new ResponseBodyError(200, 5))).toBe(true);
    expect(
      shouldRetryAttempt({ ...policy, retryNetworkErrors: false }, new ResponseBodyError(200, 5)),
    ).toBe(false);
    expect(shouldRetryAttempt(policy, new Error('something else'))).toBe(false);
  });

  it('the egress’s isRefusal decides what is a refusal, never the error’s name or code', () => {
    const refusal = new UrlGuardError('port', 'port not allowed');
    const isRefusal = (error: unknown): boolean =>
      error instanceof TypeError && error.cause === refusal;
    const wrapped = new TypeError('fetch failed', { cause: refusal });
    expect(shouldRetryAttempt(policy, wrapped, isRefusal)).toBe(false);
    // A look-alike that the egress does not call a refusal is judged as any other error.
    const lookAlike = { name: 'UrlGuardError', code: 'ERR_URL_REFUSED', reason: 'port' };
    expect(shouldRetryAttempt(policy, lookAlike, isRefusal)).toBe(false);
    const transientLookAlike = { ...lookAlike, cause: { code: 'ECONNRESET' } };
    expect(shouldRetryAttempt(policy, transientLookAlike, isRefusal)).toBe(true);
    // The egress can refuse a transient error; an isRefusal that throws refuses (fail closed).
    expect(shouldRetryAttempt(policy, fetchFailed('ECONNRESET'), () => true)).toBe(false);
    const broken = (): boolean => {
      throw new Error('classifier broke');
    };
    expect(shouldRetryAttempt(policy, fetchFailed('ECONNRESET'), broken)).toBe(false);
  });

  it('retries a dns-failure the guard calls temporary, not one it does not', () => {
    const temporary = new UrlGuardError('dns-failure', 'Resolving failed.', {
      cause: Object.assign(new Error('queryA ETIMEOUT'), { code: 'ETIMEOUT' }),
    });
    const missing = new UrlGuardError('dns-failure', 'Resolving failed.', {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }),
    });
    const isRefusal = (error: unknown): boolean =>
      error instanceof UrlGuardError && error.policyRefusal;
    expect(temporary.temporary).toBe(true);
    expect(shouldRetryAttempt(policy, temporary, isRefusal)).toBe(true);
    expect(shouldRetryAttempt(policy, missing, isRefusal)).toBe(false);
  });

  it('survives cyclic, deep and hostile cause chains', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isTransientNetworkError(a)).toBe(false);
    expect(describeError(a)).toBe('a: b');
    let deep: unknown = fetchFailed('ECONNRESET');
    for (let i = 0; i < 50; i++) deep = new Error(`level ${i}`, { cause: deep });
    expect(isTransientNetworkError(deep)).toBe(false); // beyond the bound: not looked at
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    expect(isTransientNetworkError(hostile)).toBe(false);
    expect(typeof describeError(hostile)).toBe('string');
  });
});

describe('describeError', () => {
  it('joins the cause chain and adds the system code', () => {
    expect(describeError(fetchFailed('ECONNREFUSED'))).toBe('fetch failed: connect ECONNREFUSED');
    const reset = new TypeError('fetch failed', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(describeError(reset)).toBe('fetch failed: other side closed (UND_ERR_SOCKET)');
    expect(describeError(new UnexpectedStatusError(418))).toBe('unexpected status 418');
    expect(describeError('plain string')).toBe('plain string');
  });

  it('names deadlines and URL-policy refusals in its own words', () => {
    expect(describeError(new RetryDeadlineError('attempt', 250))).toBe(
      'request timed out after 250 ms',
    );
    expect(describeError(new RetryDeadlineError('total', 9_000))).toBe(
      'retry timeout of 9000 ms passed',
    );
    const refusal = new UrlGuardError('private-address', 'Refused 10.0.0.1.');
    expect(describeError(new TypeError('fetch failed', { cause: refusal }))).toBe(
      'fetch failed: Refused 10.0.0.1. (refused: private-address)',
    );
  });
});

describe('describeRunFailure', () => {
  async function traceOf(
    errors: unknown[],
    options: { maxRetries?: number; timeout?: number } = {},
  ): Promise<RetryTrace<unknown>> {
    let now = 0;
    const retrier = createRetrier({
      maxRetries: options.maxRetries ?? errors.length - 1,
      interval: 10,
      jitter: 0,
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      clock: { now: () => now },
      sleep: async (ms) => {
        now += ms;
      },
    });
    let index = 0;
    return retrier.settle(async () => {
      throw errors[Math.min(index++, errors.length - 1)];
    });
  }

  it('names the attempts and the last response or error', async () => {
    expect(
      describeRunFailure(await traceOf([new RetryableStatusError(500)], { maxRetries: 2 })),
    ).toBe('gave up after 3 attempts; last response 500');
    expect(
      describeRunFailure(await traceOf([new RetryableStatusError(503)], { maxRetries: 0 })),
    ).toBe('gave up after 1 attempt; last response 503');
    expect(
      describeRunFailure(await traceOf([fetchFailed('ECONNREFUSED')], { maxRetries: 1 })),
    ).toBe('gave up after 2 attempts; last error: fetch failed: connect ECONNREFUSED');
  });

  it('reports a non-retried first failure as it is, and a later one with the count', async () => {
    const isRetryable = (error: unknown): boolean => error instanceof RetryableStatusError;
    const once = await createRetrier({ maxRetries: 3, interval: 0, jitter: 0 }).settle(
      async () => {
        throw new UnexpectedStatusError(404);
      },
      { shouldRetry: isRetryable },
    );
    expect(describeRunFailure(once)).toBe('unexpected status 404');
    let calls = 0;
    const later = await createRetrier({ maxRetries: 3, interval: 0, jitter: 0 }).settle(
      async () => {
        calls++;
        throw calls === 1 ? new RetryableStatusError(503) : new UnexpectedStatusError(404);
      },
      { shouldRetry: isRetryable },
    );
    expect(describeRunFailure(later)).toBe('gave up after 2 attempts; last response 404');
  });

  it('names the run budget when it ran out', async () => {
    // Each wait moves the injected clock; the third attempt would start after the budget.
    const trace = await traceOf([new RetryableStatusError(503)], { maxRetries: 5, timeout: 25 });
    expect(trace.reason).toBe('timeout');
    expect(describeRunFailure(trace, 25)).toBe(
      'gave up after 2 attempts: the retry timeout of 25 ms leaves no time for another attempt; last response 503',
    );
  });

  it('is empty for a successful trace', async () => {
    const trace = await createRetrier().settle(() => 'ok');
    expect(describeRunFailure(trace)).toBe('');
  });
});
