import { describe, expect, it } from 'vitest';
import { InvalidJobError } from './errors.js';
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
