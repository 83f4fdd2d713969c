/**
 * Ids and status queries: a malformed id is the caller's mistake (InvalidQueryError), never a
 * storage failure, and never reaches the store.
 */
import { createMemoryStorage } from '@again/storage-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidQueryError } from './status.js';
import { tracked } from './test-utils/harness.js';
import { spyStorage } from './test-utils/store-spy.js';

const t = tracked();

afterEach(() => t.flush());

const MALFORMED: ReadonlyArray<[string, unknown]> = [
  ['an empty string', ''],
  ['a lone surrogate', 'job-\uD800'],
  ['a control character', 'job\u0007'],
  ['a number', 42],
];

/** Store calls a method of the public API can make. */
const READS = new Set(['getJob', 'history', 'endJob', 'queryJobs']);

describe('malformed ids', () => {
  it.each(MALFORMED)(
    '%s: jobStatus, jobHistory, queryJobHistory and remove reject with InvalidQueryError (path id), logging nothing',
    async (_name, id) => {
      const spy = spyStorage(createMemoryStorage());
      const h = await t.harness({ storage: spy.store });
      const s = h.scheduler;
      const calls = [
        () => s.jobStatus(id as string),
        () => s.jobHistory(id as string),
        () => s.queryJobHistory(id as string, { limit: 1 }),
        () => s.remove(id as string),
      ];
      for (const call of calls) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidQueryError);
        expect((error as InvalidQueryError).code).toBe('ERR_INVALID_QUERY');
        expect((error as InvalidQueryError).issues.map((issue) => issue.path)).toEqual(['id']);
      }
      expect(h.logger.at('error')).toEqual([]);
      expect(spy.calls.filter((call) => READS.has(call.method))).toEqual([]);
    },
  );

  it('queryJobStatuses with only malformed ids returns [] without asking the store', async () => {
    const spy = spyStorage(createMemoryStorage());
    const h = await t.harness({ storage: spy.store });
    await h.scheduler.schedule({
      id: 'job',
      schedule: { every: 60_000, startAt: h.clock.now() + 60_000 },
      request: { url: 'http://127.0.0.1:2/' },
    });
    const ids = MALFORMED.map(([, id]) => id).filter((id) => typeof id === 'string');
    expect(await h.scheduler.queryJobStatuses({ ids })).toEqual([]);
    expect(spy.callsOf('queryJobs')).toEqual([]);
    // Beside a well-formed id they are ignored like unknown ones.
    const statuses = await h.scheduler.queryJobStatuses({ ids: [...ids, 'job'] });
    expect(statuses.map((status) => status.jobId)).toEqual(['job']);
    expect(h.logger.at('error')).toEqual([]);
  });

  it('a well-formed unknown id is simply not found', async () => {
    const h = await t.harness();
    expect(await h.scheduler.jobStatus('nobody')).toBeUndefined();
    expect(await h.scheduler.jobHistory('nobody')).toBeUndefined();
    expect(await h.scheduler.queryJobHistory('nobody')).toBeUndefined();
    expect(await h.scheduler.remove('nobody')).toBe(false);
  });
});
