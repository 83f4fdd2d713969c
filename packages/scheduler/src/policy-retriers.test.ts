import { createRetrier, type Retrier } from '@again/retry';
import { describe, expect, it } from 'vitest';
import { JOB_DEFAULTS } from './job-types.js';
import { parseJob } from './parse-job.js';
import {
  RETRY_POLICY_DEFAULTS,
  resolveRetrier,
  retrierOptionsFromPolicy,
  retryPolicyIssue,
  unknownRetrierNames,
} from './policy-retriers.js';
import { lineLogger } from './test-utils/request-harness.js';

function policyOf(retryPolicy: Record<string, unknown>) {
  return parseJob({ schedule: { every: 1 }, request: { url: 'https://e.com' }, retryPolicy }).spec
    .retry;
}

describe('retrierOptionsFromPolicy', () => {
  it('maps every policy parseJob accepts to options @again/retry accepts', () => {
    const strategies = [
      { jitterStrategy: 'additive', jitter: 10 },
      { jitterStrategy: 'none' },
      { jitterStrategy: 'full', backoff: 'linear' },
      { jitterStrategy: 'equal', backoff: 'constant' },
      { jitterStrategy: 'decorrelated' },
      { interval: 40_000, maxDelay: 40_000, timeout: 0 },
    ] as const;
    for (const retryPolicy of strategies) {
      expect(() => createRetrier(retrierOptionsFromPolicy(policyOf(retryPolicy)))).not.toThrow();
    }
    expect(retrierOptionsFromPolicy(policyOf({ timeout: 0 })).timeout).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});

describe('retryPolicyIssue: @again/retry’s own checks', () => {
  it.each([
    ['jitter with a non-additive strategy', { jitterStrategy: 'full', jitter: 5 }, 'jitter'],
    ['backoffFactor with linear backoff', { backoff: 'linear', backoffFactor: 3 }, 'backoffFactor'],
    ['decorrelated with backoff', { jitterStrategy: 'decorrelated', backoff: 'linear' }, 'backoff'],
    [
      'decorrelated with backoffFactor',
      { jitterStrategy: 'decorrelated', backoffFactor: 3 },
      'backoffFactor',
    ],
    ['decorrelated with interval 0', { jitterStrategy: 'decorrelated', interval: 0 }, 'interval'],
    ['maxDelay below interval', { interval: 1_000, maxDelay: 500 }, 'maxDelay'],
    ['interval above the default maxDelay', { interval: 40_000 }, 'maxDelay'],
    ['interval not shorter than timeout', { interval: 5_000, timeout: 5_000 }, 'interval'],
    [
      'interval not shorter than the default timeout',
      { interval: 60_000, maxDelay: 60_000 },
      'interval',
    ],
  ])('refuses %s, naming the field', (_name, input, field) => {
    const issue = retryPolicyIssue(input as never);
    expect(issue?.path).toBe(`retryPolicy.${field}`);
    expect(issue?.message.startsWith(`retryPolicy.${field}: `)).toBe(true);
  });

  it.each([
    ['the defaults', {}],
    ['jitter 0 with another strategy', { jitterStrategy: 'none', jitter: 0 }],
    ['a long interval without a budget', { interval: 60_000, maxDelay: 60_000, timeout: 0 }],
    [
      'no retries at all, whatever the interval',
      { maxRetries: 0, interval: 70_000, maxDelay: 70_000 },
    ],
    ['decorrelated alone', { jitterStrategy: 'decorrelated' }],
  ])('accepts %s', (_name, input) => {
    expect(retryPolicyIssue(input as never)).toBeNull();
  });
});

describe('retryPolicyIssue at callback.retryPolicy', () => {
  it('names the field under callback.retryPolicy', () => {
    const issue = retryPolicyIssue({ interval: 1_000, maxDelay: 500 }, 'callback.retryPolicy');
    expect(issue?.path).toBe('callback.retryPolicy.maxDelay');
    expect(issue?.message.startsWith('callback.retryPolicy.maxDelay: ')).toBe(true);
  });

  it('fills the fields not given from the callback defaults, not the job’s', () => {
    expect(RETRY_POLICY_DEFAULTS['callback.retryPolicy']).toBe(JOB_DEFAULTS.callbackRetry);
    expect(RETRY_POLICY_DEFAULTS.retryPolicy).toBe(JOB_DEFAULTS.retry);
    // The job's strategy is additive (jitter applies), the callback's full (it does not).
    expect(retryPolicyIssue({ jitter: 10 })).toBeNull();
    expect(retryPolicyIssue({ jitter: 10 }, 'callback.retryPolicy')?.path).toBe(
      'callback.retryPolicy.jitter',
    );
    // The job's maxDelay (30 s) and timeout (60 s) are the callback's too: 45 s is refused by
    // both, 1 s passes both.
    expect(retryPolicyIssue({ interval: 45_000 }, 'callback.retryPolicy')?.path).toBe(
      'callback.retryPolicy.maxDelay',
    );
    expect(retryPolicyIssue({}, 'callback.retryPolicy')).toBeNull();
  });

  it('builds a retrier from the callback defaults', () => {
    const retrier = createRetrier(retrierOptionsFromPolicy(JOB_DEFAULTS.callbackRetry));
    expect(retrier.options).toMatchObject({
      maxRetries: 3,
      interval: 1_000,
      backoff: 'exponential',
      backoffFactor: 2,
      jitterStrategy: 'full',
      maxDelay: 30_000,
      timeout: 60_000,
      maxRetryAfter: 60_000,
    });
  });
});

describe('unknownRetrierNames', () => {
  const parse = (retryPolicy: object, callbackRetry?: object) =>
    parseJob({
      schedule: { every: 1 },
      request: { url: 'https://e.com' },
      retryPolicy,
      ...(callbackRetry === undefined
        ? {}
        : { callback: { url: 'https://e.com/cb', retryPolicy: callbackRetry } }),
    }).spec;
  const registered = new Map([['patient', createRetrier({ maxRetries: 1 })]]);

  it.each([
    ['no named retrier', parse({}, {}), []],
    ['no callback', parse({ retrier: 'patient' }), []],
    ['registered names', parse({ retrier: 'patient' }, { retrier: 'patient' }), []],
    [
      'an unknown name on the job',
      parse({ retrier: 'eager' }, {}),
      [
        {
          path: 'retryPolicy.retrier',
          message: 'no retrier named "eager" is registered on this scheduler',
        },
      ],
    ],
    [
      'an unknown name on the callback',
      parse({}, { retrier: 'eager' }),
      [
        {
          path: 'callback.retryPolicy.retrier',
          message: 'no retrier named "eager" is registered on this scheduler',
        },
      ],
    ],
    [
      'unknown names on both',
      parse({ retrier: 'a' }, { retrier: 'b' }),
      [
        {
          path: 'retryPolicy.retrier',
          message: 'no retrier named "a" is registered on this scheduler',
        },
        {
          path: 'callback.retryPolicy.retrier',
          message: 'no retrier named "b" is registered on this scheduler',
        },
      ],
    ],
  ])('%s', (_name, spec, expected) => {
    expect(unknownRetrierNames(spec, registered)).toEqual(expected);
  });
});

describe('resolveRetrier', () => {
  const base = { now: () => 0, logger: lineLogger(), retriers: new Map<string, Retrier>() };

  it('returns the named retrier, or an error naming the missing one', () => {
    const named = createRetrier({ maxRetries: 1 });
    const policy = { ...JOB_DEFAULTS.retry, retrier: 'patient' };
    expect(resolveRetrier(policy, { ...base, retriers: new Map([['patient', named]]) })).toBe(
      named,
    );
    const missing = resolveRetrier(policy, base);
    expect(missing).toBeInstanceOf(Error);
    expect((missing as Error).message).toContain('"patient"');
  });

  it('builds one retrier per distinct policy and reuses it from the cache', () => {
    const policyRetriers = new Map<string, Retrier>();
    const deps = { ...base, policyRetriers };
    const first = resolveRetrier(policyOf({ maxRetries: 2 }), deps);
    expect(resolveRetrier(policyOf({ maxRetries: 2 }), deps)).toBe(first);
    expect(resolveRetrier(policyOf({ maxRetries: 3 }), deps)).not.toBe(first);
    expect(policyRetriers.size).toBe(2);
    expect((first as Retrier).options.maxRetries).toBe(2);
  });

  it('reports a policy @again/retry refuses (a corrupt stored spec) as an error', () => {
    const corrupt = { ...JOB_DEFAULTS.retry, interval: 100, maxDelay: 10 };
    expect(resolveRetrier(corrupt, base)).toBeInstanceOf(Error);
  });
});
