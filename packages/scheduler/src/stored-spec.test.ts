import { describe, expect, it } from 'vitest';
import { InvalidJobError } from './errors.js';
import { JOB_DEFAULTS } from './job-types.js';
import { parseJob } from './parse-job.js';
import { specFromRecord, specToRecord } from './stored-spec.js';

const URL_OK = 'https://hooks.example.com/run';

describe('specFromRecord', () => {
  it('round-trips a parsed spec through JSON', () => {
    const { spec } = parseJob({
      schedule: { cron: '*/5 * * * *', timezone: 'Europe/Paris', maxRuns: 3 },
      request: { url: URL_OK, method: 'POST', body: { a: 1 } },
      callback: { url: URL_OK },
      missedRuns: 'run-all',
    });
    const stored = specToRecord(spec);
    expect(specFromRecord(JSON.parse(JSON.stringify(stored)))).toEqual(spec);
  });

  it('reads a spec stored before signed deliveries (no signWith) as unsigned', () => {
    const { spec } = parseJob({
      schedule: { every: 5 },
      request: { url: URL_OK, signWith: 'main' },
      callback: { url: URL_OK, signWith: 'hooks' },
    });
    const stored = specToRecord(spec);
    expect(specFromRecord(stored)).toEqual(spec);
    const { signWith: _request, ...request } = stored.request as Record<string, unknown>;
    const { signWith: _callback, ...callback } = stored.callback as Record<string, unknown>;
    const old = specFromRecord({ ...stored, request, callback } as typeof stored);
    expect([old.request.signWith, old.callback?.signWith]).toEqual([null, null]);
    expect(() =>
      specFromRecord({ ...stored, request: { ...request, signWith: 7 } } as typeof stored),
    ).toThrow(InvalidJobError);
  });

  it('keeps the callback’s own retry policy', () => {
    const { spec } = parseJob({
      schedule: { every: 5 },
      request: { url: URL_OK },
      callback: {
        url: URL_OK,
        retryPolicy: { maxRetries: 1, jitterStrategy: 'none', retryStatusCodes: [503] },
      },
    });
    const read = specFromRecord(JSON.parse(JSON.stringify(specToRecord(spec))));
    expect(read.callback?.retry).toEqual({
      ...JOB_DEFAULTS.callbackRetry,
      maxRetries: 1,
      jitterStrategy: 'none',
      retryStatusCodes: [503],
    });
  });

  it('reads a spec stored before callbacks were retried (no callback.retry) with the defaults', () => {
    const { spec } = parseJob({
      schedule: { every: 5 },
      request: { url: URL_OK },
      callback: { url: URL_OK, retryPolicy: { maxRetries: 0 } },
    });
    const stored = specToRecord(spec);
    const { retry: _retry, ...callback } = stored.callback as Record<string, unknown>;
    const old = specFromRecord({ ...stored, callback } as typeof stored);
    expect(old.callback?.retry).toEqual(JOB_DEFAULTS.callbackRetry);
    expect(old).toEqual({
      ...spec,
      callback: { ...spec.callback, retry: JOB_DEFAULTS.callbackRetry },
    });
    // Each loaded spec has its own copy of the defaults.
    const again = specFromRecord({ ...stored, callback } as typeof stored);
    expect(again.callback?.retry).not.toBe(old.callback?.retry);
  });

  it('refuses a corrupt callback retry policy, naming the field', () => {
    const { spec } = parseJob({
      schedule: { every: 5 },
      request: { url: URL_OK },
      callback: { url: URL_OK },
    });
    const stored = specToRecord(spec);
    const callback = stored.callback as Record<string, unknown>;
    const corrupt = {
      ...stored,
      callback: { ...callback, retry: { ...(callback.retry as object), jitterStrategy: 'wild' } },
    };
    let caught: unknown;
    try {
      specFromRecord(corrupt as typeof stored);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidJobError);
    expect((caught as InvalidJobError).issues.map((issue) => issue.path)).toEqual([
      'callback.retry.jitterStrategy',
    ]);
    expect(() =>
      specFromRecord({ ...stored, callback: { ...callback, retry: null } } as typeof stored),
    ).toThrow(InvalidJobError);
  });

  it('rejects a corrupt stored spec with InvalidJobError', () => {
    const { spec } = parseJob({ schedule: { every: 5 }, request: { url: URL_OK } });
    const stored = specToRecord(spec);
    const corrupt = { ...stored, request: { ...(stored.request as object), method: 'TRACE' } };
    let caught: unknown;
    try {
      specFromRecord(corrupt);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidJobError);
    expect((caught as InvalidJobError).issues.map((issue) => issue.path)).toEqual([
      'request.method',
    ]);
    expect(() => specFromRecord({})).toThrow(InvalidJobError);
  });
});
