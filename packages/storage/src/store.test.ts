import { describe, expect, it, vi } from 'vitest';
import type {
  ClaimedRunRow,
  DriverCompletion,
  DriverDueClaim,
  DueRow,
  JobRow,
  RunRow,
  StoreDriver,
} from './driver.js';
import { JobExistsError, StorageError } from './errors.js';
import { createJobStore } from './store.js';
import type { DuePlan, JobStore, JsonObject, WakeEvent } from './types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const JOB_ROW: JobRow = {
  id: 'a',
  spec: '{"z":1,"a":[true,null]}',
  revision: 0,
  state: 'scheduled',
  nextRunAt: 1000,
  fence: 0,
  sequence: 0,
  started: 0,
  runs: 0,
  activeRuns: 0,
  createdAt: 0,
  updatedAt: 0,
  lastRun: null,
};

const RUN_ROW: RunRow = {
  jobId: 'a',
  scheduledAt: 1000,
  occurrenceId: 'a@1000',
  sequence: 1,
  fence: 1,
  status: 'running',
  trigger: false,
  owner: 'me',
  leaseUntil: 31_000,
  startedAt: 1000,
  finishedAt: null,
  reason: null,
  result: null,
  callback: null,
};

const CLAIMED_ROW: ClaimedRunRow = {
  jobId: 'a',
  createdAt: 0,
  revision: 2,
  scheduledAt: 1000,
  occurrenceId: 'a!1000',
  sequence: 1,
  fence: 1,
  startedAt: 1000,
  leaseUntil: 31_000,
};

const DUE_ROW: DueRow = {
  id: 'a',
  createdAt: 0,
  revision: 0,
  nextRunAt: 1000,
  started: 0,
  activeRuns: 0,
  spec: '{"every":1000}',
};

/**
 * A driver answering every call with harmless rows: its `claimDue` plans every row of `due`
 * (calling the store's planner as a real driver would) and rethrows what planning throws.
 */
function fakeDriver(due: DueRow[] = [DUE_ROW]): Mutable<StoreDriver> & {
  planned: Array<DuePlan | null>;
} {
  const planned: Array<DuePlan | null> = [];
  return {
    planned,
    capabilities: { shared: false, notifies: true, clock: false },
    subscribe: vi.fn(async () => ({ close: async () => {} })),
    createJob: vi.fn(async () => JOB_ROW),
    getJob: vi.fn(async () => JOB_ROW),
    queryJobs: vi.fn(async () => [JOB_ROW]),
    countJobs: vi.fn(async () => 1),
    jobIds: vi.fn(async () => ['a']),
    endJob: vi.fn(async () => JOB_ROW),
    pauseJob: vi.fn(async () => JOB_ROW),
    resumeJob: vi.fn(async () => JOB_ROW),
    updateJob: vi.fn(async () => JOB_ROW),
    startRun: vi.fn(async () => CLAIMED_ROW),
    nextDueAt: vi.fn(async () => 1000),
    claimDue: vi.fn(async (claim: DriverDueClaim) => {
      for (const row of due) planned.push(claim.plan(row, claim.now));
      return { now: claim.now, examined: due.length, runs: [], conflicts: [] };
    }),
    renewLeases: vi.fn(async (renewal) => ({
      now: renewal.now,
      leaseUntil: renewal.now + renewal.leaseDuration,
      lost: [],
    })),
    completeRuns: vi.fn(async (completions: readonly DriverCompletion[]) =>
      completions.map(() => true),
    ),
    claimExpiredRuns: vi.fn(async () => [{ job: JOB_ROW, run: RUN_ROW, previousOwner: 'old' }]),
    releaseLeases: vi.fn(async (release) => release.leases.length),
    recordCallback: vi.fn(async () => true),
    getRun: vi.fn(async () => RUN_ROW),
    history: vi.fn(async () => []),
    runningRuns: vi.fn(async () => [RUN_ROW]),
    pruneHistory: vi.fn(async () => 0),
    pruneJobs: vi.fn(async () => 0),
    close: vi.fn(async () => {}),
  };
}

/** Every method of the store, called with valid arguments. */
const CALLS: ReadonlyArray<[string, (store: JobStore) => Promise<unknown>]> = [
  ['subscribe', (store) => (store.subscribe as NonNullable<JobStore['subscribe']>)(() => {})],
  ['createJob', (store) => store.createJob({ id: 'a', spec: {}, nextRunAt: 1, now: 0 })],
  ['getJob', (store) => store.getJob('a')],
  ['queryJobs', (store) => store.queryJobs()],
  ['countJobs', (store) => store.countJobs()],
  ['jobIds', (store) => store.jobIds()],
  ['endJob', (store) => store.endJob('a', 'removed', 1)],
  ['pauseJob', (store) => store.pauseJob('a', 1)],
  ['resumeJob', (store) => store.resumeJob('a', 1)],
  [
    'updateJob',
    (store) => store.updateJob({ id: 'a', expectedRevision: 0, spec: {}, nextRunAt: 1, now: 1 }),
  ],
  [
    'startRun',
    (store) =>
      store.startRun({
        jobId: 'a',
        occurrenceId: 'a!1',
        scheduledAt: 1,
        owner: 'me',
        leaseDuration: 1,
        now: 1,
      }),
  ],
  ['nextDueAt', (store) => store.nextDueAt()],
  [
    'claimDue',
    (store) =>
      store.claimDue({ owner: 'me', now: 1, limit: 1, leaseDuration: 1, plan: () => null }),
  ],
  [
    'renewLeases',
    (store) =>
      store.renewLeases({
        owner: 'me',
        leases: [{ occurrenceId: 'a@1', fence: 1 }],
        now: 1,
        leaseDuration: 1,
      }),
  ],
  [
    'completeRuns',
    (store) =>
      store.completeRuns([
        {
          occurrenceId: 'a@1',
          owner: 'me',
          fence: 1,
          status: 'failed',
          finishedAt: 1,
          result: null,
        },
      ]),
  ],
  [
    'claimExpiredRuns',
    (store) => store.claimExpiredRuns({ owner: 'me', now: 1, leaseDuration: 1, limit: 1 }),
  ],
  [
    'releaseLeases',
    (store) =>
      store.releaseLeases({ owner: 'me', leases: [{ occurrenceId: 'a@1', fence: 1 }], now: 1 }),
  ],
  ['recordCallback', (store) => store.recordCallback({ occurrenceId: 'a@1', callback: {} })],
  ['getRun', (store) => store.getRun('a@1')],
  ['history', (store) => store.history('a')],
  ['runningRuns', (store) => store.runningRuns()],
  ['pruneHistory', (store) => store.pruneHistory({ maxAge: 1, now: 1 })],
  ['pruneJobs', (store) => store.pruneJobs({ finishedBefore: 1 })],
];

/** Calls a store could answer without its driver. */
const SHORTCUTS: ReadonlyArray<[string, (store: JobStore) => Promise<unknown>]> = [
  [
    'claimDue',
    (store) =>
      store.claimDue({ owner: 'me', now: 1, limit: 0, leaseDuration: 1, plan: () => null }),
  ],
  [
    'renewLeases',
    (store) => store.renewLeases({ owner: 'me', leases: [], now: 1, leaseDuration: 1 }),
  ],
  ['completeRuns', (store) => store.completeRuns([])],
  [
    'claimExpiredRuns',
    (store) => store.claimExpiredRuns({ owner: 'me', now: 1, leaseDuration: 1, limit: 0 }),
  ],
  ['releaseLeases', (store) => store.releaseLeases({ owner: 'me', leases: [], now: 1 })],
  ['pruneHistory', (store) => store.pruneHistory({ now: 1 })],
];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

async function storageError(promise: Promise<unknown>): Promise<StorageError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

function thrown(body: () => unknown): unknown {
  try {
    body();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function driverCalls(driver: StoreDriver): number {
  let count = 0;
  for (const value of Object.values(driver)) {
    if (vi.isMockFunction(value)) count += value.mock.calls.length;
  }
  return count;
}

describe('createJobStore: the driver', () => {
  it.each([
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
  ] as const)('refuses a driver without %s, naming it', (method) => {
    const driver: Partial<StoreDriver> = { ...fakeDriver() };
    delete driver[method];
    const error = thrown(() => createJobStore(driver as StoreDriver));
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({
      code: 'ERR_STORAGE_INVALID_ARGUMENT',
      operation: 'createJobStore',
    });
    expect((error as StorageError).message).toContain(`driver.${method}`);
  });

  it.each([
    ['no driver', undefined, 'driver'],
    ['an array', [], 'driver'],
    ['no capabilities', { ...fakeDriver(), capabilities: undefined }, 'driver.capabilities'],
    [
      'a non-boolean shared',
      { ...fakeDriver(), capabilities: { shared: 1, notifies: false, clock: false } },
      'driver.capabilities.shared',
    ],
    [
      'a missing notifies',
      { ...fakeDriver(), capabilities: { shared: false, clock: false } },
      'driver.capabilities.notifies',
    ],
    [
      'a string clock',
      { ...fakeDriver(), capabilities: { shared: false, notifies: false, clock: 'no' } },
      'driver.capabilities.clock',
    ],
    ['notifies without subscribe', { ...fakeDriver(), subscribe: undefined }, 'driver.subscribe'],
  ])('refuses %s, naming it', (_what, driver, name) => {
    const error = thrown(() => createJobStore(driver as unknown as StoreDriver));
    expect(error).toMatchObject({ code: 'ERR_STORAGE_INVALID_ARGUMENT' });
    expect((error as StorageError).message).toContain(name);
  });

  it('offers subscribe exactly when the driver notifies, and copies the capabilities', () => {
    const quiet = fakeDriver();
    quiet.capabilities = { shared: true, notifies: false, clock: true };
    const store = createJobStore(quiet);
    expect(store.subscribe).toBeUndefined();
    expect(store.capabilities).toEqual({ shared: true, notifies: false, clock: true });
    expect(Object.isFrozen(store.capabilities)).toBe(true);
    quiet.capabilities = { shared: false, notifies: true, clock: false };
    expect(store.capabilities.shared).toBe(true);
    expect(typeof createJobStore(fakeDriver()).subscribe).toBe('function');
  });
});

describe('createJobStore: errors', () => {
  it.each(CALLS)(
    '%s: a plain Error from the driver becomes StorageError ERR_STORAGE, with it as cause',
    async (operation, call) => {
      const driver = fakeDriver();
      const failure = new Error('disk full');
      const method = operation as keyof StoreDriver;
      (driver as unknown as Record<string, unknown>)[method] = vi.fn(async () => {
        throw failure;
      });
      const error = await storageError(call(createJobStore(driver)));
      expect(error).toMatchObject({ code: 'ERR_STORAGE', operation });
      expect(error.cause).toBe(failure);
    },
  );

  it('wraps a driver method that throws before returning a promise, and a thrown non-Error', async () => {
    const driver = fakeDriver();
    const failure = new TypeError('sync');
    driver.getJob = () => {
      throw failure;
    };
    driver.countJobs = vi.fn(async () => {
      throw 'a string';
    });
    const store = createJobStore(driver);
    const sync = await storageError(store.getJob('a'));
    expect(sync).toMatchObject({ code: 'ERR_STORAGE', operation: 'getJob' });
    expect(sync.cause).toBe(failure);
    const odd = await storageError(store.countJobs());
    expect(odd.code).toBe('ERR_STORAGE');
    expect(odd.cause).toBe('a string');
  });

  it('lets StorageError and JobExistsError through as they are', async () => {
    const driver = fakeDriver();
    const corrupt = new StorageError('getJob', 'bad row', { code: 'ERR_STORAGE_CORRUPT' });
    const exists = new JobExistsError('a');
    driver.getJob = vi.fn(async () => {
      throw corrupt;
    });
    driver.createJob = vi.fn(async () => {
      throw exists;
    });
    const store = createJobStore(driver);
    expect(await rejection(store.getJob('a'))).toBe(corrupt);
    expect(await rejection(store.createJob({ id: 'a', spec: {}, nextRunAt: 1, now: 0 }))).toBe(
      exists,
    );
  });

  it('turns unreadable stored JSON into ERR_STORAGE_CORRUPT', async () => {
    const driver = fakeDriver();
    driver.getJob = vi.fn(async () => ({ ...JOB_ROW, spec: '{"broken' }));
    driver.getRun = vi.fn(async () => ({ ...RUN_ROW, result: '[1]' }));
    const store = createJobStore(driver);
    const spec = await storageError(store.getJob('a'));
    expect(spec).toMatchObject({ code: 'ERR_STORAGE_CORRUPT', operation: 'getJob' });
    expect(spec.cause).toBeInstanceOf(SyntaxError);
    expect(await storageError(store.getRun('a@1'))).toMatchObject({
      code: 'ERR_STORAGE_CORRUPT',
      operation: 'getRun',
    });
  });

  it('wraps a failing driver close, and lets its StorageError through', async () => {
    const failing = fakeDriver();
    const failure = new Error('socket');
    failing.close = vi.fn(async () => {
      throw failure;
    });
    const error = await storageError(createJobStore(failing).close());
    expect(error).toMatchObject({ code: 'ERR_STORAGE', operation: 'close' });
    expect(error.cause).toBe(failure);

    const typed = fakeDriver();
    const own = new StorageError('close', 'already gone');
    typed.close = vi.fn(async () => {
      throw own;
    });
    expect(await rejection(createJobStore(typed).close())).toBe(own);
  });
});

describe('createJobStore: close', () => {
  it('waits for the calls already started, which keep their results, then closes the driver once', async () => {
    const driver = fakeDriver();
    let release: (row: JobRow) => void = () => {};
    driver.getJob = vi.fn(
      () =>
        new Promise<JobRow>((resolve) => {
          release = resolve;
        }),
    );
    const store = createJobStore(driver);
    const read = store.getJob('a');
    const closing = [store.close(), store.close()];
    let closed = false;
    void Promise.all(closing).then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    expect(driver.close).not.toHaveBeenCalled();
    release({ ...JOB_ROW, id: 'late' });
    expect(await read).toMatchObject({ id: 'late' });
    await Promise.all(closing);
    await store.close();
    expect(driver.close).toHaveBeenCalledTimes(1);
  });

  it('still closes when a call already started fails', async () => {
    const driver = fakeDriver();
    const failure = new Error('late failure');
    let fail: () => void = () => {};
    driver.countJobs = vi.fn(
      () =>
        new Promise<number>((_, reject) => {
          fail = () => reject(failure);
        }),
    );
    const store = createJobStore(driver);
    const count = store.countJobs();
    const closing = store.close();
    fail();
    expect((await storageError(count)).cause).toBe(failure);
    await closing;
    expect(driver.close).toHaveBeenCalledTimes(1);
  });

  it.each([
    ...CALLS,
    ...SHORTCUTS.map(([name, call]): [string, (store: JobStore) => Promise<unknown>] => [
      `${name} (answered without the driver)`,
      call,
    ]),
  ])(
    'after close(), %s rejects with ERR_STORAGE_CLOSED without calling the driver',
    async (_name, call) => {
      const driver = fakeDriver();
      const store = createJobStore(driver);
      await store.close();
      const before = driverCalls(driver);
      const error = await storageError(call(store));
      expect(error.code).toBe('ERR_STORAGE_CLOSED');
      expect(driverCalls(driver)).toBe(before);
    },
  );

  it('answers the shortcut calls without the driver while open', async () => {
    const driver = fakeDriver();
    const store = createJobStore(driver);
    const answers = [];
    for (const [, call] of SHORTCUTS) answers.push(await call(store));
    expect(answers).toEqual([
      { now: 1, examined: 0, runs: [], conflicts: [] },
      { now: 1, leaseUntil: 2, lost: [] },
      [],
      [],
      0,
      0,
    ]);
    expect(driverCalls(driver)).toBe(0);
  });
});

/** An invalid argument: the call, the operation and the argument's name in the message. */
type ArgumentCase = [string, (store: JobStore) => Promise<unknown>, string];

const RUN_LEASE = { occurrenceId: 'a@1', owner: 'me', fence: 1 } as const;
const COMPLETION = { ...RUN_LEASE, status: 'failed', finishedAt: 1, result: null } as const;
const CLAIM = { owner: 'me', now: 1, limit: 1, leaseDuration: 1, plan: () => null } as const;
const RENEWAL = {
  owner: 'me',
  leases: [{ occurrenceId: 'a@1', fence: 1 }],
  now: 1,
  leaseDuration: 1,
};
const EXPIRED = { owner: 'me', now: 1, leaseDuration: 1, limit: 1 } as const;
const NEW_JOB = { id: 'a', spec: {}, nextRunAt: 1, now: 0 } as const;
const UPDATE = { id: 'a', expectedRevision: 0, spec: {}, nextRunAt: 1, now: 1 } as const;
const START = {
  jobId: 'a',
  occurrenceId: 'a!1',
  scheduledAt: 1,
  owner: 'me',
  leaseDuration: 1,
  now: 1,
} as const;
const RELEASE = { owner: 'me', leases: [{ occurrenceId: 'a@1', fence: 1 }], now: 1 };

const ARGUMENT_CASES: ArgumentCase[] = [
  ['createJob', (s) => s.createJob(null as never), 'job'],
  ['createJob', (s) => s.createJob({ ...NEW_JOB, id: '' }), 'job.id'],
  ['createJob', (s) => s.createJob({ ...NEW_JOB, id: 'a\u0000' }), 'job.id'],
  ['createJob', (s) => s.createJob({ ...NEW_JOB, id: '\uD800' }), 'job.id'],
  ['createJob', (s) => s.createJob({ ...NEW_JOB, spec: [] as never }), 'job.spec'],
  [
    'createJob',
    (s) => s.createJob({ ...NEW_JOB, spec: { at: new Date() } as never }),
    'job.spec.at',
  ],
  ['createJob', (s) => s.createJob({ ...NEW_JOB, nextRunAt: Number.NaN }), 'job.nextRunAt'],
  ['createJob', (s) => s.createJob({ ...NEW_JOB, now: 1.5 }), 'job.now'],
  ['getJob', (s) => s.getJob(7 as never), 'id'],
  ['queryJobs', (s) => s.queryJobs(5 as never), 'query'],
  ['queryJobs', (s) => s.queryJobs({ ids: 'a' as never }), 'query.ids'],
  ['queryJobs', (s) => s.queryJobs({ ids: ['a', ''] }), 'query.ids[1]'],
  ['queryJobs', (s) => s.queryJobs({ states: ['bogus' as never] }), 'query.states'],
  ['queryJobs', (s) => s.queryJobs({ offset: 1.5 }), 'query.offset'],
  ['queryJobs', (s) => s.queryJobs({ limit: Number.NaN }), 'query.limit'],
  ['countJobs', (s) => s.countJobs('running' as never), 'states'],
  ['countJobs', (s) => s.countJobs(['running', 'bogus' as never]), 'states'],
  ['jobIds', (s) => s.jobIds(['Running' as never]), 'states'],
  ['endJob', (s) => s.endJob('', 'removed', 1), 'id'],
  ['endJob', (s) => s.endJob('a', 'running' as never, 1), 'state'],
  ['endJob', (s) => s.endJob('a', 'removed', -1), 'now'],
  ['claimDue', (s) => s.claimDue(undefined as never), 'claim'],
  ['claimDue', (s) => s.claimDue({ ...CLAIM, plan: undefined as never }), 'claim.plan'],
  ['claimDue', (s) => s.claimDue({ ...CLAIM, owner: '' }), 'claim.owner'],
  ['claimDue', (s) => s.claimDue({ ...CLAIM, now: Number.POSITIVE_INFINITY }), 'claim.now'],
  ['claimDue', (s) => s.claimDue({ ...CLAIM, limit: 10_001 }), 'claim.limit'],
  ['claimDue', (s) => s.claimDue({ ...CLAIM, leaseDuration: 0 }), 'claim.leaseDuration'],
  ['claimDue', (s) => s.claimDue({ ...CLAIM, historyLimit: -1 }), 'claim.historyLimit'],
  ['renewLeases', (s) => s.renewLeases(null as never), 'renewal'],
  ['renewLeases', (s) => s.renewLeases({ ...RENEWAL, leases: {} as never }), 'renewal.leases'],
  ['renewLeases', (s) => s.renewLeases({ ...RENEWAL, leases: [1 as never] }), 'renewal.leases[0]'],
  [
    'renewLeases',
    (s) => s.renewLeases({ ...RENEWAL, leases: [{ occurrenceId: '', fence: 1 }] }),
    'renewal.leases[0].occurrenceId',
  ],
  [
    'renewLeases',
    (s) => s.renewLeases({ ...RENEWAL, leases: [{ occurrenceId: 'a', fence: -1 }] }),
    'renewal.leases[0].fence',
  ],
  [
    'renewLeases',
    (s) => s.renewLeases({ ...RENEWAL, leases: [...RENEWAL.leases, ...RENEWAL.leases] }),
    'renewal.leases',
  ],
  ['renewLeases', (s) => s.renewLeases({ ...RENEWAL, owner: '\uDFFF' }), 'renewal.owner'],
  ['renewLeases', (s) => s.renewLeases({ ...RENEWAL, now: 8.64e15 + 1 }), 'renewal.now'],
  [
    'renewLeases',
    (s) => s.renewLeases({ ...RENEWAL, leaseDuration: 2 ** 31 }),
    'renewal.leaseDuration',
  ],
  ['completeRuns', (s) => s.completeRuns({} as never), 'completions'],
  ['completeRuns', (s) => s.completeRuns([null as never]), 'completions[0]'],
  [
    'completeRuns',
    (s) => s.completeRuns([{ ...COMPLETION, occurrenceId: '' }]),
    'completions[0].occurrenceId',
  ],
  [
    'completeRuns',
    (s) => s.completeRuns([{ ...COMPLETION, status: 'skipped' as never }]),
    'completions[0].status',
  ],
  [
    'completeRuns',
    (s) => s.completeRuns([{ ...COMPLETION, owner: 'x\u0000' }]),
    'completions[0].owner',
  ],
  ['completeRuns', (s) => s.completeRuns([{ ...COMPLETION, fence: 0.5 }]), 'completions[0].fence'],
  [
    'completeRuns',
    (s) => s.completeRuns([{ ...COMPLETION, finishedAt: Number.NaN }]),
    'completions[0].finishedAt',
  ],
  [
    'completeRuns',
    (s) => s.completeRuns([{ ...COMPLETION, result: { n: 1n } as never }]),
    'completions[0].result.n',
  ],
  [
    'completeRuns',
    (s) => s.completeRuns([{ ...COMPLETION, reason: '\uD800' }]),
    'completions[0].reason',
  ],
  [
    'completeRuns',
    (s) => s.completeRuns([{ ...COMPLETION, historyLimit: 1.5 }]),
    'completions[0].historyLimit',
  ],
  ['completeRuns', (s) => s.completeRuns([COMPLETION, COMPLETION]), 'completions'],
  ['claimExpiredRuns', (s) => s.claimExpiredRuns({ ...EXPIRED, owner: '' }), 'claim.owner'],
  ['claimExpiredRuns', (s) => s.claimExpiredRuns({ ...EXPIRED, now: -1 }), 'claim.now'],
  [
    'claimExpiredRuns',
    (s) => s.claimExpiredRuns({ ...EXPIRED, leaseDuration: 0 }),
    'claim.leaseDuration',
  ],
  ['claimExpiredRuns', (s) => s.claimExpiredRuns({ ...EXPIRED, limit: -1 }), 'claim.limit'],
  ['pauseJob', (s) => s.pauseJob('', 1), 'id'],
  ['pauseJob', (s) => s.pauseJob('a', Number.NaN), 'now'],
  ['resumeJob', (s) => s.resumeJob('a\u0000', 1), 'id'],
  ['resumeJob', (s) => s.resumeJob('a', 0.5), 'now'],
  ['updateJob', (s) => s.updateJob(null as never), 'update'],
  ['updateJob', (s) => s.updateJob({ ...UPDATE, id: '' }), 'update.id'],
  ['updateJob', (s) => s.updateJob({ ...UPDATE, expectedRevision: -1 }), 'update.expectedRevision'],
  [
    'updateJob',
    (s) => s.updateJob({ ...UPDATE, expectedRevision: undefined as never }),
    'update.expectedRevision',
  ],
  ['updateJob', (s) => s.updateJob({ ...UPDATE, spec: null as never }), 'update.spec'],
  ['updateJob', (s) => s.updateJob({ ...UPDATE, spec: { f: () => 1 } as never }), 'update.spec.f'],
  ['updateJob', (s) => s.updateJob({ ...UPDATE, nextRunAt: 1.5 }), 'update.nextRunAt'],
  ['updateJob', (s) => s.updateJob({ ...UPDATE, now: -1 }), 'update.now'],
  ['startRun', (s) => s.startRun(undefined as never), 'start'],
  ['startRun', (s) => s.startRun({ ...START, jobId: '' }), 'start.jobId'],
  ['startRun', (s) => s.startRun({ ...START, occurrenceId: '\uD800' }), 'start.occurrenceId'],
  ['startRun', (s) => s.startRun({ ...START, scheduledAt: Number.NaN }), 'start.scheduledAt'],
  ['startRun', (s) => s.startRun({ ...START, owner: 7 as never }), 'start.owner'],
  ['startRun', (s) => s.startRun({ ...START, leaseDuration: 0 }), 'start.leaseDuration'],
  ['startRun', (s) => s.startRun({ ...START, now: 8.64e15 + 1 }), 'start.now'],
  ['releaseLeases', (s) => s.releaseLeases(null as never), 'release'],
  ['releaseLeases', (s) => s.releaseLeases({ ...RELEASE, owner: '' }), 'release.owner'],
  ['releaseLeases', (s) => s.releaseLeases({ ...RELEASE, leases: 'a' as never }), 'release.leases'],
  [
    'releaseLeases',
    (s) => s.releaseLeases({ ...RELEASE, leases: [{ occurrenceId: 'a', fence: 1.5 }] }),
    'release.leases[0].fence',
  ],
  [
    'releaseLeases',
    (s) => s.releaseLeases({ ...RELEASE, leases: [...RELEASE.leases, ...RELEASE.leases] }),
    'release.leases',
  ],
  ['releaseLeases', (s) => s.releaseLeases({ ...RELEASE, now: Number.NaN }), 'release.now'],
  ['recordCallback', (s) => s.recordCallback(null as never), 'record'],
  [
    'recordCallback',
    (s) => s.recordCallback({ occurrenceId: '', callback: {} }),
    'record.occurrenceId',
  ],
  [
    'recordCallback',
    (s) => s.recordCallback({ occurrenceId: 'a@1', callback: null as never }),
    'record.callback',
  ],
  [
    'recordCallback',
    (s) => s.recordCallback({ occurrenceId: 'a@1', callback: { at: new Date() } as never }),
    'record.callback.at',
  ],
  ['getRun', (s) => s.getRun(''), 'occurrenceId'],
  ['history', (s) => s.history('', {}), 'jobId'],
  ['history', (s) => s.history('a', null as never), 'query'],
  ['history', (s) => s.history('a', { fromSequence: 1.5 }), 'query.fromSequence'],
  ['history', (s) => s.history('a', { limit: Number.NaN }), 'query.limit'],
  ['runningRuns', (s) => s.runningRuns(''), 'jobId'],
  ['pruneHistory', (s) => s.pruneHistory(undefined as never), 'retention'],
  ['pruneHistory', (s) => s.pruneHistory({ maxAge: 0.5, now: 1 }), 'retention.maxAge'],
  [
    'pruneHistory',
    (s) => s.pruneHistory({ maxRowsPerJob: 3.5, now: 1 }),
    'retention.maxRowsPerJob',
  ],
  ['pruneHistory', (s) => s.pruneHistory({ now: Number.NaN }), 'retention.now'],
  ['pruneJobs', (s) => s.pruneJobs(undefined as never), 'retention'],
  ['pruneJobs', (s) => s.pruneJobs({ finishedBefore: 1.5 }), 'retention.finishedBefore'],
  [
    'subscribe',
    (s) => (s.subscribe as NonNullable<JobStore['subscribe']>)('not a function' as never),
    'listener',
  ],
];

/** Invalid plans: what the planner returns, and the name the refusal must give. */
const PLAN_CASES: Array<[string, unknown, string]> = [
  ['not an object', 'run', 'the plan of job "a"'],
  ['no skipped list', { run: null, nextRunAt: 1 }, 'the plan of job "a".skipped'],
  [
    'a bad run time',
    { run: { scheduledAt: -1, occurrenceId: 'a@1' }, skipped: [], nextRunAt: 1 },
    'the plan of job "a".run.scheduledAt',
  ],
  [
    'a bad run id',
    { run: { scheduledAt: 1, occurrenceId: '' }, skipped: [], nextRunAt: 1 },
    'the plan of job "a".run.occurrenceId',
  ],
  [
    'a bad nextRunAt',
    { run: null, skipped: [], nextRunAt: Number.NaN },
    'the plan of job "a".nextRunAt',
  ],
  [
    'a bad skip reason',
    { run: null, skipped: [{ scheduledAt: 1, occurrenceId: 'a@1', reason: 1 }], nextRunAt: 2 },
    'the plan of job "a".skipped[0].reason',
  ],
  [
    'the same time twice',
    {
      run: { scheduledAt: 1, occurrenceId: 'a@1' },
      skipped: [{ scheduledAt: 1, occurrenceId: 'a@x', reason: '' }],
      nextRunAt: 2,
    },
    'the plan of job "a" (scheduledAt)',
  ],
  [
    'the same occurrence twice',
    {
      run: { scheduledAt: 2, occurrenceId: 'a@1' },
      skipped: [{ scheduledAt: 1, occurrenceId: 'a@1', reason: '' }],
      nextRunAt: 3,
    },
    'the plan of job "a" (occurrenceId)',
  ],
];

describe('createJobStore: argument rules', () => {
  it.each(
    ARGUMENT_CASES.map(([operation, call, name], index) => ({ operation, call, name, index })),
  )(
    '$operation refuses an invalid $name (case $index) before the driver sees it',
    async ({ operation, call, name }) => {
      const driver = fakeDriver();
      const error = await storageError(call(createJobStore(driver)));
      expect(error).toMatchObject({ code: 'ERR_STORAGE_INVALID_ARGUMENT', operation });
      expect(error.message).toContain(name);
      expect(driverCalls(driver)).toBe(0);
    },
  );

  it.each(PLAN_CASES)('claimDue refuses a plan with %s, naming it', async (_what, plan, name) => {
    const driver = fakeDriver();
    const error = await storageError(
      createJobStore(driver).claimDue({ ...CLAIM, plan: () => plan as DuePlan }),
    );
    expect(error).toMatchObject({ code: 'ERR_STORAGE_INVALID_ARGUMENT', operation: 'claimDue' });
    expect(error.message).toContain(name);
  });

  it('stores -0 as 0', async () => {
    const driver = fakeDriver();
    await createJobStore(driver).createJob({ id: 'a', spec: {}, nextRunAt: -0, now: -0 });
    const [job] = vi.mocked(driver.createJob).mock.calls[0] ?? [];
    expect(Object.is(job?.now, 0)).toBe(true);
    expect(Object.is(job?.nextRunAt, 0)).toBe(true);
  });
});

describe('createJobStore: what the driver receives', () => {
  it('normalises queries, histories and retention', async () => {
    const driver = fakeDriver();
    const store = createJobStore(driver);
    await store.queryJobs();
    await store.queryJobs({
      ids: ['b', 'a', 'b'],
      states: ['running', 'running'],
      offset: -3,
      limit: 0,
    });
    expect(vi.mocked(driver.queryJobs).mock.calls).toEqual([
      [{ ids: [], states: [], offset: 0, limit: undefined }],
      [{ ids: ['b', 'a'], states: ['running'], offset: 0, limit: undefined }],
    ]);
    await store.history('a', { fromSequence: 0, limit: -1 });
    await store.history('a', { fromSequence: 3, limit: 2 });
    expect(vi.mocked(driver.history).mock.calls).toEqual([
      ['a', { fromSequence: undefined, limit: undefined }],
      ['a', { fromSequence: 3, limit: 2 }],
    ]);
    await store.pruneHistory({ maxAge: -1, maxRowsPerJob: 2, now: 5 });
    expect(vi.mocked(driver.pruneHistory).mock.calls).toEqual([
      [{ maxAge: undefined, maxRowsPerJob: 2, now: 5 }],
    ]);
    await store.countJobs();
    expect(vi.mocked(driver.countJobs).mock.calls).toEqual([[[]]]);
  });

  it('hands specs and results over as JSON text, with reasons and history limits normalised', async () => {
    const driver = fakeDriver();
    const store = createJobStore(driver);
    const spec = JSON.parse('{"z":1,"__proto__":{"x":"\\ud800"},"a":"\\u0000"}') as JsonObject;
    await store.createJob({ id: 'a', spec, nextRunAt: null, now: 0 });
    expect(vi.mocked(driver.createJob).mock.calls[0]?.[0].spec).toBe(
      '{"z":1,"__proto__":{"x":"\\ud800"},"a":"\\u0000"}',
    );
    await store.completeRuns([
      { ...COMPLETION, result: { ok: true } },
      { ...COMPLETION, occurrenceId: 'a@2', reason: '', historyLimit: 0 },
      { ...COMPLETION, occurrenceId: 'a@3', reason: 'why', historyLimit: 4 },
    ]);
    expect(vi.mocked(driver.completeRuns).mock.calls[0]?.[0]).toEqual([
      { ...COMPLETION, result: '{"ok":true}', reason: null, historyLimit: undefined },
      { ...COMPLETION, occurrenceId: 'a@2', result: null, reason: '', historyLimit: undefined },
      { ...COMPLETION, occurrenceId: 'a@3', result: null, reason: 'why', historyLimit: 4 },
    ]);
  });

  it('returns fresh records parsed from the stored text, key order kept', async () => {
    const store = createJobStore(fakeDriver());
    const first = await store.getJob('a');
    const second = await store.getJob('a');
    expect(first).not.toBe(second);
    expect(first?.spec).not.toBe(second?.spec);
    expect(JSON.stringify(first?.spec)).toBe(JOB_ROW.spec);
    const [taken] = await store.claimExpiredRuns(EXPIRED);
    expect(taken).toEqual({
      job: { ...JOB_ROW, spec: { z: 1, a: [true, null] } },
      run: RUN_ROW,
      previousOwner: 'old',
    });
  });
});

describe('createJobStore: operating jobs in place', () => {
  it('hands the driver checked updates, starts, releases and callbacks (JSON as text)', async () => {
    const driver = fakeDriver();
    const store = createJobStore(driver);
    await store.pauseJob('a', -0);
    await store.resumeJob('a', 3);
    expect(vi.mocked(driver.pauseJob).mock.calls).toEqual([['a', 0]]);
    expect(vi.mocked(driver.resumeJob).mock.calls).toEqual([['a', 3]]);
    await store.updateJob({ ...UPDATE, spec: { z: 1, a: '\u0000' }, nextRunAt: null });
    expect(vi.mocked(driver.updateJob).mock.calls).toEqual([
      [{ ...UPDATE, spec: '{"z":1,"a":"\\u0000"}', nextRunAt: null }],
    ]);
    await store.startRun({ ...START, extra: true } as typeof START);
    expect(vi.mocked(driver.startRun).mock.calls).toEqual([[START]]);
    expect(await store.releaseLeases(RELEASE)).toBe(1);
    expect(vi.mocked(driver.releaseLeases).mock.calls).toEqual([[RELEASE]]);
    await store.recordCallback({ occurrenceId: 'a@1', callback: { b: [1], a: null } });
    expect(vi.mocked(driver.recordCallback).mock.calls).toEqual([
      [{ occurrenceId: 'a@1', callback: '{"b":[1],"a":null}' }],
    ]);
  });

  it('returns revision, trigger and callback parsed; undefined and null pass through', async () => {
    const driver = fakeDriver();
    const run: RunRow = { ...RUN_ROW, trigger: true, status: 'failed', callback: '{"s":1,"a":2}' };
    driver.getRun = vi.fn(async () => run);
    driver.getJob = vi.fn(async () => ({ ...JOB_ROW, revision: 4, lastRun: run }));
    const store = createJobStore(driver);
    const read = await store.getRun('a@1');
    expect(read).toMatchObject({ trigger: true, callback: { s: 1, a: 2 } });
    expect(JSON.stringify(read?.callback)).toBe('{"s":1,"a":2}');
    expect(await store.getJob('a')).toMatchObject({
      revision: 4,
      lastRun: { trigger: true, callback: { s: 1, a: 2 } },
    });
    const started = await store.startRun(START);
    expect(started).toEqual(CLAIMED_ROW);
    expect(started).not.toBe(CLAIMED_ROW);
    driver.startRun = vi.fn(async () => null);
    expect(await store.startRun(START)).toBeNull();
    driver.startRun = vi.fn(async () => undefined);
    expect(await store.startRun(START)).toBeUndefined();
    driver.updateJob = vi.fn(async () => null);
    expect(await store.updateJob(UPDATE)).toBeNull();
    driver.updateJob = vi.fn(async () => undefined);
    expect(await store.updateJob(UPDATE)).toBeUndefined();
    driver.pauseJob = vi.fn(async () => undefined);
    expect(await store.pauseJob('a', 1)).toBeUndefined();
    driver.recordCallback = vi.fn(async () => false);
    expect(await store.recordCallback({ occurrenceId: 'a@1', callback: {} })).toBe(false);
  });

  it("refuses startRun's occurrence already in the ledger as an invalid argument, naming it", async () => {
    const driver = fakeDriver();
    driver.startRun = vi.fn(async () => 'occurrence-exists' as const);
    const error = await storageError(createJobStore(driver).startRun(START));
    expect(error).toMatchObject({ code: 'ERR_STORAGE_INVALID_ARGUMENT', operation: 'startRun' });
    expect(error.message).toContain('start.occurrenceId "a!1"');
  });

  it('turns an unreadable stored callback into ERR_STORAGE_CORRUPT', async () => {
    const driver = fakeDriver();
    driver.getRun = vi.fn(async () => ({ ...RUN_ROW, callback: '[]' }));
    const error = await storageError(createJobStore(driver).getRun('a@1'));
    expect(error).toMatchObject({ code: 'ERR_STORAGE_CORRUPT', operation: 'getRun' });
    expect(error.message).toContain('callback');
  });
});

describe('createJobStore: claimDue and its planner', () => {
  it('gives the planner the due job, parsing its spec only when read, and the claim time', async () => {
    const corrupt: DueRow = { ...DUE_ROW, id: 'corrupt', spec: '{not json' };
    const driver = fakeDriver([DUE_ROW, corrupt]);
    const store = createJobStore(driver);
    const seen: unknown[] = [];
    const result = await store.claimDue({
      ...CLAIM,
      now: 7,
      plan: (job, now) => {
        seen.push({ id: job.id, createdAt: job.createdAt, nextRunAt: job.nextRunAt, now });
        return null;
      },
    });
    expect(result).toEqual({ now: 7, examined: 2, runs: [], conflicts: [] });
    expect(seen).toEqual([
      { id: 'a', createdAt: 0, nextRunAt: 1000, now: 7 },
      { id: 'corrupt', createdAt: 0, nextRunAt: 1000, now: 7 },
    ]);
    // Reading the corrupt spec throws from inside the planner: the claim rejects with that error.
    let read: unknown;
    const error = await rejection(
      store.claimDue({
        ...CLAIM,
        plan: (job) => {
          try {
            read = job.spec;
          } catch (failure) {
            read = failure;
            throw failure;
          }
          return null;
        },
      }),
    );
    expect(error).toBe(read);
    expect(error).toMatchObject({ code: 'ERR_STORAGE_CORRUPT', operation: 'claimDue' });
  });

  it("rethrows the planner's own error and an invalid plan's refusal even when the driver wraps them", async () => {
    const driver = fakeDriver();
    driver.claimDue = vi.fn(async (claim: DriverDueClaim) => {
      try {
        claim.plan(DUE_ROW, claim.now);
      } catch (error) {
        throw new Error('transaction rolled back', { cause: error });
      }
      return { now: claim.now, examined: 1, runs: [], conflicts: [] };
    });
    const store = createJobStore(driver);
    const failure = { thrown: 'by the planner' };
    expect(
      await rejection(
        store.claimDue({
          ...CLAIM,
          plan: () => {
            throw failure;
          },
        }),
      ),
    ).toBe(failure);
    const refusal = await storageError(
      store.claimDue({ ...CLAIM, plan: () => ({ run: null, skipped: [], nextRunAt: -5 }) }),
    );
    expect(refusal.code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
  });

  it('hands the driver a checked copy of each plan', async () => {
    const driver = fakeDriver();
    const plan = {
      run: { scheduledAt: 1000, occurrenceId: 'a@1000' },
      skipped: [{ scheduledAt: 500, occurrenceId: 'a@500', reason: 'missed', extra: true }],
      nextRunAt: 2000,
    };
    await createJobStore(driver).claimDue({ ...CLAIM, plan: () => plan });
    const [handed] = driver.planned;
    plan.run.occurrenceId = 'changed';
    plan.skipped.length = 0;
    expect(handed).toEqual({
      run: { scheduledAt: 1000, occurrenceId: 'a@1000' },
      skipped: [{ scheduledAt: 500, occurrenceId: 'a@500', reason: 'missed' }],
      nextRunAt: 2000,
    });
  });
});

describe('createJobStore: subscribe', () => {
  it('hands listeners a copy of each wake-up and keeps a throwing listener from the driver', async () => {
    const driver = fakeDriver();
    const store = createJobStore(driver);
    const wakes: WakeEvent[] = [];
    await store.subscribe?.((wake) => wakes.push(wake));
    await store.subscribe?.(() => {
      throw new Error('listener failure');
    });
    const [first, second] = vi.mocked(driver.subscribe as NonNullable<StoreDriver['subscribe']>)
      .mock.calls;
    const deliver = (call: typeof first, wake: WakeEvent): void => call?.[0](wake);
    const event = { jobId: 'a', at: 5, extra: 'driver detail' } as WakeEvent;
    deliver(first, event);
    expect(() => deliver(second, event)).not.toThrow();
    expect(wakes).toEqual([{ jobId: 'a', at: 5 }]);
    expect(wakes[0]).not.toBe(event);
  });
});
