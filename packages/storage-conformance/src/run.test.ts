import { type JobStore, StorageError } from '@again/storage';
import { describe, expect, it } from 'vitest';
import { STORAGE_CONFORMANCE_DEFAULTS, type StorageConformanceOptions } from './api.js';
import { runStorageConformance } from './run.js';

const create = async (): Promise<JobStore> => {
  throw new Error('not called while registering');
};

/** Registers the suite with a recording runner and returns the test names and their timeouts. */
function register(options: Partial<StorageConformanceOptions> = {}): {
  groups: string[];
  tests: Array<{ name: string; timeout: number }>;
} {
  const groups: string[] = [];
  const tests: Array<{ name: string; timeout: number }> = [];
  runStorageConformance({
    name: 'recorder',
    create,
    vitest: {
      describe: (name, factory) => {
        groups.push(name);
        factory();
      },
      it: (name, _fn, timeout) => {
        tests.push({ name, timeout });
      },
      expect,
    },
    ...options,
  });
  return { groups, tests };
}

describe('runStorageConformance', () => {
  it('registers one top-level group named after the adapter, with every group inside', () => {
    const { groups, tests } = register();
    expect(groups).toEqual([
      'JobStore conformance: recorder',
      'capabilities',
      'jobs',
      'claims',
      'runs and history',
      'completion batches',
      'leases and takeover',
      'pause and resume',
      'updates',
      'triggered runs',
      'lease releases',
      'callback outcomes',
      'retention',
      'argument rules',
      'defensive copies and JSON',
      'races across instances',
      'lifecycle',
    ]);
    expect(tests.length).toBeGreaterThanOrEqual(120);
    expect(tests[0]?.name).toContain('capabilities.clock is false');
    expect(new Set(tests.map((test) => test.name)).size).toBe(tests.length);
    expect(tests.every((test) => test.timeout === STORAGE_CONFORMANCE_DEFAULTS.timeout)).toBe(true);
  });

  it('passes the timeout option to every test', () => {
    const { tests } = register({ timeout: 1234 });
    expect(tests.every((test) => test.timeout === 1234)).toBe(true);
  });

  it.each([
    ['a missing name', { name: '' }, 'name'],
    ['a missing create', { create: undefined }, 'create'],
    ['a destroy that is not a function', { destroy: 1 }, 'destroy'],
    ['an openPeer that is not a function', { openPeer: 'x' }, 'openPeer'],
    ['a zero defaultHistoryLimit', { defaultHistoryLimit: 0 }, 'defaultHistoryLimit'],
    ['a fractional defaultHistoryLimit', { defaultHistoryLimit: 2.5 }, 'defaultHistoryLimit'],
    ['a negative timeout', { timeout: -1 }, 'timeout'],
    ['no test functions', { vitest: undefined }, 'vitest'],
    [
      'a test api without expect',
      { vitest: { describe: () => {}, it: () => {} } },
      'vitest.expect',
    ],
  ])('rejects %s with ERR_STORAGE_INVALID_ARGUMENT', (_what, patch, field) => {
    const options = {
      name: 'x',
      create,
      vitest: { describe: () => {}, it: () => {}, expect },
      ...patch,
    } as unknown as StorageConformanceOptions;
    let caught: unknown;
    try {
      runStorageConformance(options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StorageError);
    expect(caught).toMatchObject({
      code: 'ERR_STORAGE_INVALID_ARGUMENT',
      operation: 'runStorageConformance',
    });
    expect((caught as StorageError).message).toContain(field);
  });

  it('cleans up after a failing test: peers closed, then the store destroyed; the test error wins', async () => {
    const events: string[] = [];
    const broken = new Error('broken store');
    const fake = (name: string): JobStore =>
      new Proxy({} as JobStore, {
        get: (_target, key) =>
          key === 'then'
            ? undefined
            : async () => {
                if (key === 'close') {
                  events.push(`close ${name}`);
                  return;
                }
                throw broken;
              },
      });
    const tests = new Map<string, () => Promise<void>>();
    let peers = 0;
    runStorageConformance({
      name: 'fake',
      create: async () => fake('main'),
      openPeer: async () => fake(`peer-${++peers}`),
      destroy: async () => {
        events.push('destroy main');
        throw new Error('cleanup failed too');
      },
      vitest: {
        describe: (_name, factory) => factory(),
        it: (name, fn) => tests.set(name, fn),
        expect,
      },
    });
    const race = [...tests.entries()].find(([name]) => name.startsWith('50 concurrent claims'));
    const run = race?.[1];
    expect(run).toBeDefined();
    await expect(run?.()).rejects.toBe(broken);
    expect(events).toEqual([
      'close peer-1',
      'close peer-2',
      'close peer-3',
      'close peer-4',
      'destroy main',
    ]);
  });

  it('rejects options that are not an object', () => {
    expect(() => runStorageConformance(null as unknown as StorageConformanceOptions)).toThrow(
      StorageError,
    );
  });
});

describe('runStorageConformance on a store that keeps its own clock', () => {
  /** A store whose only answer is its capabilities; every method call throws. */
  function clockStore(): { store: JobStore; calls: string[] } {
    const calls: string[] = [];
    const store = new Proxy({} as JobStore, {
      get: (_target, key) => {
        if (key === 'then' || key === 'subscribe') return undefined;
        if (key === 'capabilities') return { shared: true, notifies: false, clock: true };
        return async () => {
          calls.push(String(key));
        };
      },
    });
    return { store, calls };
  }

  it('fails the first test saying why, and every other test at once with the same message', async () => {
    const { store, calls } = clockStore();
    const tests: Array<{ name: string; fn: () => Promise<void> }> = [];
    runStorageConformance({
      name: 'clock',
      create: async () => store,
      vitest: {
        describe: (_name, factory) => factory(),
        it: (name, fn) => tests.push({ name, fn }),
        expect,
      },
    });
    const failures: unknown[] = [];
    for (const test of tests) {
      try {
        await test.fn();
      } catch (error) {
        failures.push(error);
      }
    }
    // The capability-shape test still runs; every other one fails.
    expect(failures).toHaveLength(tests.length - 1);
    const [first] = failures;
    expect(first).toBeInstanceOf(Error);
    expect((first as Error).message).toContain('capabilities.clock');
    expect((first as Error).message).toContain("follows the caller's times");
    expect(new Set(failures.map((failure) => (failure as Error).message)).size).toBe(1);
    // No test body ran against the store: only the suite's cleanup closed it.
    expect(new Set(calls)).toEqual(new Set(['close']));
  });
});
