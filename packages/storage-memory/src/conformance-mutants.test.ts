/**
 * Proves the conformance suite can fail: each mutant wraps a real memory store and breaks one rule
 * of the contract the way a buggy adapter would; the suite must report at least one failure for
 * every mutant, and none for the faithful wrapper.
 */
import type { JobRecord, JobStore, RunRecord } from '@again/storage';
import { runStorageConformance } from '@again/storage/conformance';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from './index.js';

type Overrides = Partial<JobStore>;

/** A store whose methods are the real ones except `overrides` (which may call the real store). */
function wrap(make: (real: JobStore) => Overrides): () => Promise<JobStore> {
  return async () => {
    const real = createMemoryStorage();
    const overrides = make(real);
    return new Proxy(real, {
      get(target, key, receiver) {
        if (typeof key === 'string' && key in overrides) return overrides[key as keyof JobStore];
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
}

/** Runs the whole suite against `create` and returns the names of the failing tests. */
async function failingTests(create: () => Promise<JobStore>): Promise<string[]> {
  const tests: Array<{ name: string; fn: () => Promise<void> }> = [];
  const path: string[] = [];
  runStorageConformance({
    name: 'mutant',
    create,
    vitest: {
      describe: (name, factory) => {
        path.push(name);
        factory();
        path.pop();
      },
      it: (name, fn) => {
        tests.push({ name: [...path, name].join(' > '), fn });
      },
      expect,
    },
  });
  const failed: string[] = [];
  for (const test of tests) {
    try {
      await test.fn();
    } catch {
      failed.push(test.name);
    }
  }
  return failed;
}

/** A record equality good enough for the "shared object" mutant. */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const MUTANTS: Array<[string, (real: JobStore) => Overrides]> = [
  [
    'claimOccurrence without compare-and-set',
    (real) => ({
      claimOccurrence: async (claim) => {
        const job = await real.getJob(claim.jobId);
        return real.claimOccurrence({
          ...claim,
          expectedNextRunAt: job?.nextRunAt ?? claim.expectedNextRunAt,
        });
      },
    }),
  ],
  [
    'completeRun without owner and fence checks',
    (real) => ({
      completeRun: async (completion) => {
        const run = await real.getRun(completion.occurrenceId);
        if (run?.status !== 'running' || run.owner === null) return real.completeRun(completion);
        return real.completeRun({ ...completion, owner: run.owner, fence: run.fence });
      },
    }),
  ],
  [
    'renewLease without owner and fence checks',
    (real) => ({
      renewLease: async (lease, until) => {
        const run = await real.getRun(lease.occurrenceId);
        if (run?.status !== 'running' || run.owner === null) return real.renewLease(lease, until);
        return real.renewLease({ ...lease, owner: run.owner, fence: run.fence }, until);
      },
    }),
  ],
  [
    'claimExpiredRuns ignoring lease expiry',
    (real) => ({
      claimExpiredRuns: (claim) =>
        real.claimExpiredRuns({ ...claim, now: Number.MAX_SAFE_INTEGER }),
    }),
  ],
  [
    'completeRun reporting success for a finished entry',
    (real) => ({
      completeRun: async (completion) => {
        const done = await real.completeRun(completion);
        return done || (await real.getRun(completion.occurrenceId)) !== undefined;
      },
    }),
  ],
  [
    'getJob sharing its object with the caller',
    (real) => {
      const cache = new Map<string, { snapshot: JobRecord; shared: JobRecord }>();
      return {
        getJob: async (id) => {
          const current = await real.getJob(id);
          if (current === undefined) return undefined;
          const cached = cache.get(id);
          if (cached !== undefined && same(cached.snapshot, current)) return cached.shared;
          cache.set(id, { snapshot: structuredClone(current), shared: current });
          return current;
        },
      };
    },
  ],
  [
    'history including running entries',
    (real) => ({
      history: async (jobId, query) => {
        const history = await real.history(jobId, query);
        if (history === undefined) return undefined;
        const running = await real.runningRuns(jobId);
        return [...history, ...running].sort((a, b) => a.sequence - b.sequence);
      },
    }),
  ],
  [
    'history limit taking the head instead of the tail',
    (real) => ({
      history: async (jobId, query) => {
        const all = await real.history(jobId, { ...query, limit: 0 });
        const limit = query?.limit ?? 0;
        return limit > 0 ? all?.slice(0, limit) : all;
      },
    }),
  ],
  [
    'jobIds sorted by UTF-16 code units',
    (real) => ({ jobIds: async (states) => (await real.jobIds(states)).sort() }),
  ],
  [
    'queryJobs with a negative offset counted from the end',
    (real) => ({
      queryJobs: async (query = {}) => {
        if ((query.offset ?? 0) >= 0) return real.queryJobs(query);
        const all = await real.queryJobs({ ...query, offset: 0, limit: 0 });
        const start = all.length + (query.offset ?? 0);
        return all.slice(start, query.limit ? start + query.limit : undefined);
      },
    }),
  ],
  ['countJobs ignoring states', (real) => ({ countJobs: () => real.countJobs() })],
  [
    'dueJobs breaking ties by id descending',
    (real) => ({
      dueJobs: async (now, limit) =>
        (await real.dueJobs(now, Number.MAX_SAFE_INTEGER))
          .sort((a, b) => (a.nextRunAt ?? 0) - (b.nextRunAt ?? 0) || (a.id < b.id ? 1 : -1))
          .slice(0, Math.max(limit, 0)),
    }),
  ],
  [
    'nextDueAt cached after the first answer',
    (real) => {
      let cached: number | null | undefined;
      return {
        nextDueAt: async () => {
          if (cached === undefined) cached = await real.nextDueAt();
          return cached;
        },
      };
    },
  ],
  [
    'endJob ignoring removed on a terminal job',
    (real) => ({
      endJob: async (id, state, now) => {
        const job = await real.getJob(id);
        if (job !== undefined && job.state !== 'scheduled' && job.state !== 'running') return job;
        return real.endJob(id, state, now);
      },
    }),
  ],
  [
    'pruneHistory reporting nothing deleted',
    (real) => ({
      pruneHistory: async (retention) => {
        await real.pruneHistory(retention);
        return 0;
      },
    }),
  ],
  ['pruneJobs doing nothing', () => ({ pruneJobs: async () => 0 })],
  [
    'runningRuns ordered by scheduled time',
    (real) => ({
      runningRuns: async (jobId) =>
        (await real.runningRuns(jobId)).sort(
          (a: RunRecord, b: RunRecord) => a.scheduledAt - b.scheduledAt,
        ),
    }),
  ],
  ['close doing nothing', () => ({ close: async () => {} })],
];

describe('the conformance suite', () => {
  it('passes on a faithful wrapper of the memory store', async () => {
    expect(await failingTests(wrap(() => ({})))).toEqual([]);
  });

  it.each(MUTANTS)('fails on a store with: %s', async (_name, make) => {
    const failed = await failingTests(wrap(make));
    expect(failed.length).toBeGreaterThan(0);
  });
});
