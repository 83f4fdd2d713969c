/**
 * Proves the conformance suite can fail: each mutant is a broken *driver* (the memory driver with
 * one rule of the contract broken the way a buggy adapter would break it) wrapped by
 * `createJobStore`, exactly as a real adapter is. The suite must fail on every mutant, and pass on
 * a faithful delegate of the memory driver.
 *
 * Rules the wrapper enforces by itself (argument checks, copies of returned objects, `close()`
 * refusing later calls, a throwing listener) cannot be broken by a driver, so they have no mutant
 * here; `packages/storage/src/store.test.ts` tests them.
 */
import {
  createJobStore,
  type DriverDueClaim,
  type DriverDueClaimResult,
  type DueRow,
  type JobRow,
  type JobStore,
  type RunRow,
  type RunStatus,
  STORAGE_LIMITS,
  type StoreDriver,
} from '@again/storage';
import { runStorageConformance } from '@again/storage-conformance';
import { describe, expect, it } from 'vitest';
import { MemoryDriver } from './memory-store.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Overrides = Partial<Mutable<StoreDriver>>;

const METHODS = [
  'subscribe',
  'createJob',
  'getJob',
  'queryJobs',
  'countJobs',
  'jobIds',
  'endJob',
  'pauseJob',
  'resumeJob',
  'updateJob',
  'startRun',
  'nextDueAt',
  'claimDue',
  'renewLeases',
  'completeRuns',
  'claimExpiredRuns',
  'releaseLeases',
  'recordCallback',
  'getRun',
  'history',
  'runningRuns',
  'pruneHistory',
  'pruneJobs',
  'close',
] as const;

/** A driver whose methods are the memory driver's, except `overrides` (which may call it). */
function mutant(make: (real: MemoryDriver) => Overrides): () => Promise<JobStore> {
  return async () => {
    const real = new MemoryDriver(20);
    const driver: Record<string, unknown> = { capabilities: real.capabilities };
    for (const method of METHODS) driver[method] = real[method].bind(real);
    return createJobStore({ ...driver, ...make(real) } as unknown as StoreDriver);
  };
}

/** How long one test of a mutant may take: a mutant that never wakes a subscriber hangs. */
const MUTANT_TEST_TIMEOUT = 1000;

/**
 * Runs the suite against `create` with a recording runner; returns the names of the failing tests
 * (only the first one unless `all`).
 */
async function failingTests(create: () => Promise<JobStore>, all: boolean): Promise<string[]> {
  const tests: Array<{ name: string; fn: () => Promise<void>; timeout: number }> = [];
  const path: string[] = [];
  runStorageConformance({
    name: 'mutant',
    create,
    timeout: MUTANT_TEST_TIMEOUT,
    vitest: {
      describe: (name, factory) => {
        path.push(name);
        factory();
        path.pop();
      },
      it: (name, fn, timeout) => {
        tests.push({ name: [...path, name].join(' > '), fn, timeout });
      },
      expect,
    },
  });
  const failed: string[] = [];
  for (const test of tests) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), test.timeout);
    });
    try {
      await Promise.race([test.fn(), timedOut]);
    } catch {
      failed.push(test.name);
      if (!all) break;
    } finally {
      clearTimeout(timer);
    }
  }
  return failed;
}

/** Examines due jobs in `compare` order, one job per driver claim (so the planner sees that order). */
async function claimInOrder(
  real: MemoryDriver,
  claim: DriverDueClaim,
  compare: (a: DueRow, b: DueRow) => number,
): Promise<DriverDueClaimResult> {
  const due: DueRow[] = [];
  const all = { ...claim, limit: STORAGE_LIMITS.batch };
  await real.claimDue({
    ...all,
    plan: (row) => {
      due.push(row);
      return null;
    },
  });
  const chosen = due.sort(compare).slice(0, claim.limit);
  const runs: Array<DriverDueClaimResult['runs'][number]> = [];
  const conflicts: string[] = [];
  for (const row of chosen) {
    const result = await real.claimDue({
      ...all,
      plan: (other, now) => (other.id === row.id ? claim.plan(other, now) : null),
    });
    runs.push(...result.runs);
    conflicts.push(...result.conflicts);
  }
  return { now: claim.now, examined: chosen.length, runs, conflicts };
}

/**
 * Reports the fences of a re-created job shifted down, consistently everywhere (and shifts the
 * fences of leases coming in back up), so the driver behaves as if a re-created job's fence were
 * `shiftOf(...)` below the real one.
 */
function fenceShift(
  real: MemoryDriver,
  shiftOf: (previousShift: number, realOldFence: number) => number,
): Overrides {
  const shifts = new Map<string, number>();
  const run = (row: RunRow): RunRow => ({
    ...row,
    fence: row.fence - (shifts.get(row.jobId) ?? 0),
  });
  const job = (row: JobRow): JobRow => ({
    ...row,
    fence: row.fence - (shifts.get(row.id) ?? 0),
    lastRun: row.lastRun === null ? null : run(row.lastRun),
  });
  const fenceIn = async (occurrenceId: string, fence: number): Promise<number> => {
    const row = await real.getRun(occurrenceId);
    return row === undefined ? fence : fence + (shifts.get(row.jobId) ?? 0);
  };
  return {
    createJob: async (input) => {
      const old = await real.getJob(input.id);
      const created = await real.createJob(input);
      if (old === undefined) shifts.delete(input.id);
      else shifts.set(input.id, shiftOf(shifts.get(input.id) ?? 0, old.fence));
      return job(created);
    },
    getJob: async (id) => {
      const row = await real.getJob(id);
      return row === undefined ? undefined : job(row);
    },
    queryJobs: async (query) => (await real.queryJobs(query)).map(job),
    endJob: async (id, state, now) => {
      const row = await real.endJob(id, state, now);
      return row === undefined ? undefined : job(row);
    },
    claimDue: async (claim) => {
      const result = await real.claimDue(claim);
      return {
        ...result,
        runs: result.runs.map((entry) => ({
          ...entry,
          fence: entry.fence - (shifts.get(entry.jobId) ?? 0),
        })),
      };
    },
    claimExpiredRuns: async (claim) =>
      (await real.claimExpiredRuns(claim)).map((taken) => ({
        ...taken,
        job: job(taken.job),
        run: run(taken.run),
      })),
    getRun: async (id) => {
      const row = await real.getRun(id);
      return row === undefined ? undefined : run(row);
    },
    history: async (id, query) => (await real.history(id, query))?.map(run),
    runningRuns: async (id) => (await real.runningRuns(id)).map(run),
    renewLeases: async (renewal) => {
      const leases = [];
      for (const lease of renewal.leases) {
        leases.push({ ...lease, fence: await fenceIn(lease.occurrenceId, lease.fence) });
      }
      return real.renewLeases({ ...renewal, leases });
    },
    completeRuns: async (completions) => {
      const shifted = [];
      for (const completion of completions) {
        shifted.push({
          ...completion,
          fence: await fenceIn(completion.occurrenceId, completion.fence),
        });
      }
      return real.completeRuns(shifted);
    },
  };
}

/** A driver that rewrites the JSON text of specs and results before storing it. */
function rewriteJson(real: MemoryDriver, rewrite: (text: string) => string): Overrides {
  return {
    createJob: (job) => real.createJob({ ...job, spec: rewrite(job.spec) }),
    completeRuns: (completions) =>
      real.completeRuns(
        completions.map((completion) =>
          completion.result === null
            ? completion
            : { ...completion, result: rewrite(completion.result) },
        ),
      ),
  };
}

/** Re-serialises JSON text through `JSON.parse` with a reviver. */
function revive(reviver: (key: string, value: unknown) => unknown): (text: string) => string {
  return (text) => JSON.stringify(JSON.parse(text, reviver));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const MUTANTS: Array<[string, (real: MemoryDriver) => Overrides]> = [
  // Capabilities and wake-ups.
  [
    'capabilities declaring a clock of its own',
    (real) => ({ capabilities: { ...real.capabilities, clock: true } }),
  ],
  ['subscribe never waking anyone', () => ({ subscribe: async () => ({ close: async () => {} }) })],
  [
    'a subscription that close() does not stop',
    (real) => ({
      subscribe: async (listener) => {
        await real.subscribe(listener);
        return { close: async () => {} };
      },
    }),
  ],
  // claimDue.
  [
    'claimDue ignoring limit',
    (real) => ({ claimDue: (claim) => real.claimDue({ ...claim, limit: STORAGE_LIMITS.batch }) }),
  ],
  [
    'claimDue breaking due-time ties by id descending',
    (real) => ({
      claimDue: (claim) =>
        claimInOrder(real, claim, (a, b) => a.nextRunAt - b.nextRunAt || (a.id < b.id ? 1 : -1)),
    }),
  ],
  [
    'claimDue examining the latest due job first',
    (real) => ({
      claimDue: (claim) =>
        claimInOrder(real, claim, (a, b) => b.nextRunAt - a.nextRunAt || (a.id < b.id ? -1 : 1)),
    }),
  ],
  [
    'claimDue treating a job due exactly now as not due yet',
    (real) => ({
      claimDue: async (claim) => ({
        ...(await real.claimDue({ ...claim, now: claim.now - 1 })),
        now: claim.now,
      }),
    }),
  ],
  [
    'claimDue writing the plans made before a failing one (throwing planner or invalid plan)',
    (real) => ({
      claimDue: async (claim) => {
        let failure: { error: unknown } | undefined;
        const result = await real.claimDue({
          ...claim,
          plan: (row, now) => {
            if (failure !== undefined) return null;
            try {
              return claim.plan(row, now);
            } catch (error) {
              failure = { error };
              return null;
            }
          },
        });
        if (failure !== undefined) throw failure.error;
        return result;
      },
    }),
  ],
  [
    "claimDue swallowing the planner's error",
    (real) => ({
      claimDue: (claim) =>
        real.claimDue({
          ...claim,
          plan: (row, now) => {
            try {
              return claim.plan(row, now);
            } catch {
              return null;
            }
          },
        }),
    }),
  ],
  [
    'claimDue reporting no conflicts',
    (real) => ({ claimDue: async (claim) => ({ ...(await real.claimDue(claim)), conflicts: [] }) }),
  ],
  [
    'claimDue not counting null plans as examined',
    (real) => ({
      claimDue: async (claim) => {
        let planned = 0;
        const result = await real.claimDue({
          ...claim,
          plan: (row, now) => {
            const plan = claim.plan(row, now);
            if (plan !== null) planned++;
            return plan;
          },
        });
        return { ...result, examined: planned };
      },
    }),
  ],
  [
    'claimDue leasing for a fixed 30 s',
    (real) => ({ claimDue: (claim) => real.claimDue({ ...claim, leaseDuration: 30_000 }) }),
  ],
  // renewLeases.
  [
    'renewLeases without owner and fence checks',
    (real) => ({
      renewLeases: async (renewal) => {
        const leases = [];
        for (const lease of renewal.leases) {
          const run = await real.getRun(lease.occurrenceId);
          leases.push(run?.status === 'running' ? { ...lease, fence: run.fence } : lease);
        }
        return real.renewLeases({ ...renewal, leases });
      },
    }),
  ],
  [
    'renewLeases never reporting removed',
    (real) => ({
      renewLeases: async (renewal) => {
        const result = await real.renewLeases(renewal);
        return { ...result, lost: result.lost.filter((lost) => lost.reason !== 'removed') };
      },
    }),
  ],
  [
    'renewLeases reporting a taken-over lease as gone',
    (real) => ({
      renewLeases: async (renewal) => {
        const result = await real.renewLeases(renewal);
        return {
          ...result,
          lost: result.lost.map((lost) =>
            lost.reason === 'taken-over' ? { ...lost, reason: 'gone' as const } : lost,
          ),
        };
      },
    }),
  ],
  [
    'renewLeases refusing expired leases nobody took over',
    (real) => ({
      renewLeases: async (renewal) => {
        const expired = [];
        const live = [];
        for (const lease of renewal.leases) {
          const run = await real.getRun(lease.occurrenceId);
          if (run?.status === 'running' && (run.leaseUntil ?? 0) < renewal.now) {
            expired.push({ occurrenceId: lease.occurrenceId, reason: 'gone' as const });
          } else {
            live.push(lease);
          }
        }
        const result = await real.renewLeases({ ...renewal, leases: live });
        return { ...result, lost: [...expired, ...result.lost] };
      },
    }),
  ],
  [
    'renewLeases reporting lost leases in reverse order',
    (real) => ({
      renewLeases: async (renewal) => {
        const result = await real.renewLeases(renewal);
        return { ...result, lost: [...result.lost].reverse() };
      },
    }),
  ],
  // completeRuns.
  [
    'completeRuns without owner and fence checks',
    (real) => ({
      completeRuns: async (completions) => {
        const unchecked = [];
        for (const completion of completions) {
          const run = await real.getRun(completion.occurrenceId);
          unchecked.push(
            run?.status === 'running' && run.owner !== null
              ? { ...completion, owner: run.owner, fence: run.fence }
              : completion,
          );
        }
        return real.completeRuns(unchecked);
      },
    }),
  ],
  [
    'completeRuns reporting success for a finished entry',
    (real) => ({
      completeRuns: async (completions) => {
        const recorded = await real.completeRuns(completions);
        const answers = [];
        for (const [index, completion] of completions.entries()) {
          answers.push(
            recorded[index] === true || (await real.getRun(completion.occurrenceId)) !== undefined,
          );
        }
        return answers;
      },
    }),
  ],
  [
    'completeRuns answering in reverse order',
    (real) => ({
      completeRuns: async (completions) => (await real.completeRuns(completions)).reverse(),
    }),
  ],
  [
    'completeRuns giving up after the first refused completion',
    (real) => ({
      completeRuns: async (completions) => {
        const answers: boolean[] = [];
        for (const completion of completions) {
          const [recorded] = answers.includes(false)
            ? [false]
            : await real.completeRuns([completion]);
          answers.push(recorded === true);
        }
        return answers;
      },
    }),
  ],
  // claimExpiredRuns.
  [
    'claimExpiredRuns ignoring lease expiry',
    (real) => ({
      claimExpiredRuns: (claim) => real.claimExpiredRuns({ ...claim, now: STORAGE_LIMITS.maxTime }),
    }),
  ],
  [
    'claimExpiredRuns taking a lease that expires exactly now',
    (real) => ({
      claimExpiredRuns: async (claim) =>
        await real.claimExpiredRuns({
          ...claim,
          now: claim.now + 1,
          leaseDuration: claim.leaseDuration - 1,
        }),
    }),
  ],
  [
    'claimExpiredRuns naming the new owner as the previous one',
    (real) => ({
      claimExpiredRuns: async (claim) =>
        (await real.claimExpiredRuns(claim)).map((taken) => ({
          ...taken,
          previousOwner: claim.owner,
        })),
    }),
  ],
  [
    'claimExpiredRuns ignoring leaseDuration',
    (real) => ({
      claimExpiredRuns: (claim) => real.claimExpiredRuns({ ...claim, leaseDuration: 1 }),
    }),
  ],
  // Fencing of re-created jobs.
  [
    'createJob keeping the old fence on re-create',
    (real) => fenceShift(real, (shift) => shift + 1),
  ],
  [
    'createJob resetting the fence to 0 on re-create',
    (real) => fenceShift(real, (_shift, oldFence) => oldFence + 1),
  ],
  // JSON as stored text.
  [
    'specs and results stored with sorted keys (like PostgreSQL jsonb)',
    (real) =>
      rewriteJson(
        real,
        revive((_key, value) =>
          typeof value === 'object' && value !== null && !Array.isArray(value)
            ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
            : value,
        ),
      ),
  ],
  [
    'JSON losing "__proto__" keys',
    (real) =>
      rewriteJson(
        real,
        revive((key, value) => (key === '__proto__' ? undefined : value)),
      ),
  ],
  [
    'JSON strings with lone surrogates replaced by U+FFFD',
    (real) =>
      rewriteJson(
        real,
        revive((_key, value) =>
          typeof value === 'string' ? value.replace(LONE_SURROGATE, '\uFFFD') : value,
        ),
      ),
  ],
  [
    'JSON strings with U+0000 removed (like PostgreSQL text)',
    (real) =>
      rewriteJson(
        real,
        revive((_key, value) =>
          typeof value === 'string' ? value.replaceAll('\u0000', '') : value,
        ),
      ),
  ],
  // Reads and retention.
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
        const all = await real.history(jobId, { ...query, limit: undefined });
        return query.limit === undefined ? all : all?.slice(0, query.limit);
      },
    }),
  ],
  [
    'jobIds sorted by UTF-16 code units',
    (real) => ({ jobIds: async (states) => (await real.jobIds(states)).sort() }),
  ],
  [
    'queryJobs ignoring offset',
    (real) => ({ queryJobs: (query) => real.queryJobs({ ...query, offset: 0 }) }),
  ],
  ['countJobs ignoring states', (real) => ({ countJobs: () => real.countJobs([]) })],
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
        (await real.runningRuns(jobId)).sort((a, b) => a.scheduledAt - b.scheduledAt),
    }),
  ],
];

/** Every ledger entry of every job (running ones and history). */
async function allRuns(real: MemoryDriver): Promise<RunRow[]> {
  const runs = await real.runningRuns(undefined);
  for (const id of await real.jobIds([])) {
    runs.push(...((await real.history(id, { fromSequence: undefined, limit: undefined })) ?? []));
  }
  return runs;
}

/** A run row as a driver that forgot which runs were triggered would return it. */
function untriggered(row: RunRow): RunRow {
  return { ...row, trigger: false };
}

const FINISHED: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'canceled', 'abandoned']);

/** Mutants of the rules of pausing, updating, triggering, releasing and callbacks. */
const OPERATION_MUTANTS: Array<[string, (real: MemoryDriver) => Overrides]> = [
  ['pauseJob pausing nothing', (real) => ({ pauseJob: (id) => real.getJob(id) })],
  ['resumeJob resuming nothing', (real) => ({ resumeJob: (id) => real.getJob(id) })],
  [
    'nextDueAt counting paused jobs',
    (real) => ({
      nextDueAt: async () => {
        const jobs = await real.queryJobs({
          ids: [],
          states: ['scheduled', 'running', 'paused'],
          offset: 0,
          limit: undefined,
        });
        const times = jobs.flatMap((job) => (job.nextRunAt === null ? [] : [job.nextRunAt]));
        return times.length === 0 ? null : Math.min(...times);
      },
    }),
  ],
  [
    'completeRuns resuming the paused jobs it completes runs of',
    (real) => ({
      completeRuns: async (completions) => {
        const paused = new Set<string>();
        for (const completion of completions) {
          const run = await real.getRun(completion.occurrenceId);
          const job = run === undefined ? undefined : await real.getJob(run.jobId);
          if (job?.state === 'paused') paused.add(job.id);
        }
        const recorded = await real.completeRuns(completions);
        for (const id of paused) await real.resumeJob(id, 0);
        return recorded;
      },
    }),
  ],
  [
    'updateJob without the revision check',
    (real) => ({
      updateJob: async (update) => {
        const job = await real.getJob(update.id);
        return real.updateJob({ ...update, expectedRevision: job?.revision ?? 0 });
      },
    }),
  ],
  [
    'updateJob resuming a paused job',
    (real) => ({
      updateJob: async (update) => {
        const updated = await real.updateJob(update);
        if (updated?.state !== 'paused') return updated;
        return real.resumeJob(update.id, update.now);
      },
    }),
  ],
  [
    'createJob keeping the revision of the job it replaces',
    (real) => ({
      createJob: async (input) => {
        const old = await real.getJob(input.id);
        let created = await real.createJob(input);
        for (let revision = 0; revision < (old?.revision ?? 0); revision++) {
          created =
            (await real.updateJob({
              id: input.id,
              expectedRevision: revision,
              spec: input.spec,
              nextRunAt: input.nextRunAt,
              now: input.now,
            })) ?? created;
        }
        return created;
      },
    }),
  ],
  [
    'startRun on a paused job',
    (real) => ({
      startRun: async (start) => {
        if ((await real.getJob(start.jobId))?.state !== 'paused') return real.startRun(start);
        await real.resumeJob(start.jobId, start.now);
        const started = await real.startRun(start);
        await real.pauseJob(start.jobId, start.now);
        return started;
      },
    }),
  ],
  [
    'startRun answering null for an occurrence id in the ledger',
    (real) => ({
      startRun: async (start) => {
        const started = await real.startRun(start);
        return started === 'occurrence-exists' ? null : started;
      },
    }),
  ],
  [
    'claimDue treating a triggered run as a scheduled occurrence',
    (real) => ({
      claimDue: async (claim) => {
        const triggered = new Set(
          (await allRuns(real))
            .filter((run) => run.trigger)
            .map((run) => `${run.jobId}@${run.scheduledAt}`),
        );
        const clashing: string[] = [];
        const result = await real.claimDue({
          ...claim,
          plan: (row, now) => {
            const plan = claim.plan(row, now);
            const entries = plan === null ? [] : [...plan.skipped, ...(plan.run ? [plan.run] : [])];
            if (entries.some((entry) => triggered.has(`${row.id}@${entry.scheduledAt}`))) {
              clashing.push(row.id);
              return null;
            }
            return plan;
          },
        });
        return { ...result, conflicts: [...result.conflicts, ...clashing] };
      },
    }),
  ],
  [
    'triggered runs reported as scheduled ones',
    (real) => ({
      getRun: async (id) => {
        const row = await real.getRun(id);
        return row === undefined ? undefined : untriggered(row);
      },
      history: async (id, query) => (await real.history(id, query))?.map(untriggered),
      runningRuns: async (id) => (await real.runningRuns(id)).map(untriggered),
    }),
  ],
  [
    'releaseLeases without owner and fence checks',
    (real) => ({
      releaseLeases: async (release) => {
        let released = 0;
        for (const lease of release.leases) {
          const run = await real.getRun(lease.occurrenceId);
          if (run?.status !== 'running' || run.owner === null) continue;
          released += await real.releaseLeases({
            owner: run.owner,
            leases: [{ occurrenceId: lease.occurrenceId, fence: run.fence }],
            now: release.now,
          });
        }
        return released;
      },
    }),
  ],
  [
    'releaseLeases leaving the lease valid at the release time',
    (real) => ({
      releaseLeases: (release) => real.releaseLeases({ ...release, now: release.now + 1 }),
    }),
  ],
  [
    'recordCallback answering true for any entry that exists',
    (real) => ({
      recordCallback: async (record) =>
        (await real.recordCallback(record)) ||
        (await real.getRun(record.occurrenceId)) !== undefined,
    }),
  ],
  [
    'recordCallback storing nothing',
    (real) => ({
      recordCallback: async (record) =>
        FINISHED.has((await real.getRun(record.occurrenceId))?.status ?? 'running'),
    }),
  ],
];

describe('the conformance suite', () => {
  it('passes on a faithful delegate of the memory driver', async () => {
    expect(
      await failingTests(
        mutant(() => ({})),
        true,
      ),
    ).toEqual([]);
  });

  it.each([...MUTANTS, ...OPERATION_MUTANTS])('fails on a driver with: %s', async (_name, make) => {
    const failed = await failingTests(mutant(make), false);
    expect(failed.length).toBeGreaterThan(0);
  });
});
