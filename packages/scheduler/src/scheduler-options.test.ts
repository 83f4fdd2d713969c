import { createMemoryStorage } from '@again/storage-memory';
import { createManualClock } from '@again/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createScheduler } from './scheduler.js';
import { InvalidSchedulerOptionsError, resolveOptions } from './scheduler-options.js';
import { tracked } from './test-utils/harness.js';
import { spyStorage } from './test-utils/store-spy.js';

describe('resolveOptions: the egress’s isRefusal', () => {
  const storage = createMemoryStorage();
  const fetch = async (): Promise<Response> => new Response();

  it('passes it on, called on the egress', () => {
    const egress = {
      fetch,
      refused: new Set<unknown>(['no']),
      isRefusal(this: { refused: Set<unknown> }, error: unknown): boolean {
        return this.refused.has(error);
      },
    };
    const resolved = resolveOptions({ storage, egress });
    expect(resolved.isRefusal?.('no')).toBe(true);
    expect(resolved.isRefusal?.('yes')).toBe(false);
  });

  it('is null without one, and with unsafeAllowAnyUrl', () => {
    expect(resolveOptions({ storage, egress: { fetch } }).isRefusal).toBeNull();
    expect(resolveOptions({ storage, unsafeAllowAnyUrl: true, fetch }).isRefusal).toBeNull();
  });

  it('refuses one that is not a function', () => {
    let caught: unknown;
    try {
      resolveOptions({ storage, egress: { fetch, isRefusal: true } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidSchedulerOptionsError);
    expect((caught as InvalidSchedulerOptionsError).code).toBe('ERR_INVALID_SCHEDULER_OPTIONS');
    expect((caught as InvalidSchedulerOptionsError).issues.map((issue) => issue.path)).toEqual([
      'egress.isRefusal',
    ]);
  });
});

describe('resolveOptions: keys, storage and numbers', () => {
  const storage = createMemoryStorage();

  /** The issues `options` is refused with (fails the test if it is accepted). */
  function issuesOf(options: unknown): ReadonlyArray<{ path: string; message: string }> {
    try {
      resolveOptions(options);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidSchedulerOptionsError);
      expect((error as InvalidSchedulerOptionsError).code).toBe('ERR_INVALID_SCHEDULER_OPTIONS');
      return (error as InvalidSchedulerOptionsError).issues;
    }
    throw new Error('the options were accepted');
  }

  it('refuses unknown keys, naming each', () => {
    expect(
      issuesOf({ storage, unsafeAllowAnyUrl: true, pollIntervall: 1_000, maxConcurrency: 5 }),
    ).toEqual([
      { path: 'pollIntervall', message: 'is not a scheduler option' },
      { path: 'maxConcurrency', message: 'is not a scheduler option' },
    ]);
  });

  it('createScheduler refuses them before it touches the store', async () => {
    const spy = spyStorage(storage);
    const error = await createScheduler({
      storage: spy.store,
      unsafeAllowAnyUrl: true,
      ...({ concurency: 5 } as object),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSchedulerOptionsError);
    expect((error as InvalidSchedulerOptionsError).issues.map((issue) => issue.path)).toEqual([
      'concurency',
    ]);
    expect(spy.calls).toEqual([]);
  });

  it('asks whether an `await` is missing when storage is a Promise', () => {
    const issues = issuesOf({ storage: Promise.resolve(storage), unsafeAllowAnyUrl: true });
    expect(issues.map((issue) => issue.path)).toEqual(['storage']);
    expect(issues[0]?.message).toContain('is an `await` missing');
  });

  it.each([
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
    0,
    -1,
    1.5,
    100_001,
    '10',
  ])('refuses concurrency %s', (concurrency) => {
    expect(issuesOf({ storage, unsafeAllowAnyUrl: true, concurrency })).toEqual([
      { path: 'concurrency', message: 'must be an integer from 1 to 100000' },
    ]);
  });

  it('takes concurrency from 1 to 100,000; 100 by default', () => {
    const resolve = (concurrency?: number) =>
      resolveOptions({ storage, unsafeAllowAnyUrl: true, concurrency }).concurrency;
    expect([resolve(1), resolve(100_000), resolve()]).toEqual([1, 100_000, 100]);
  });

  const capabilities = [
    { name: 'memory (not shared)', shared: false, notifies: true, poll: 0 },
    { name: 'shared, without notifications', shared: true, notifies: false, poll: 1_000 },
    { name: 'shared, with notifications', shared: true, notifies: true, poll: 5_000 },
  ];

  it.each(capabilities)(
    'pollInterval defaults by the store’s capabilities: $name → $poll',
    ({ shared, notifies, poll }) => {
      const store = spyStorage(storage, {
        capabilities: { shared, notifies, clock: false },
      }).store;
      expect(resolveOptions({ storage: store, unsafeAllowAnyUrl: true }).pollInterval).toBe(poll);
      expect(
        resolveOptions({ storage: store, unsafeAllowAnyUrl: true, pollInterval: 250 }).pollInterval,
      ).toBe(250);
      expect(
        resolveOptions({ storage: store, unsafeAllowAnyUrl: true, pollInterval: null })
          .pollInterval,
      ).toBe(0);
    },
  );

  describe('the default poll, in behaviour', () => {
    const t = tracked();
    afterEach(() => t.flush());

    it.each(capabilities)(
      '$name: looks at the store every $poll ms',
      async ({ shared, notifies, poll }) => {
        const clock = createManualClock();
        const spy = spyStorage(createMemoryStorage(), {
          clock,
          capabilities: { shared, notifies, clock: false },
        });
        // `pollInterval: undefined` leaves the default (the harness turns polling off otherwise).
        await t.harness({ storage: spy.store, pollInterval: undefined }, { clock });
        const start = clock.now();
        for (let i = 0; i < 10; i++) await clock.advance(1_000);
        const expected = [0];
        if (poll > 0) for (let at = poll; at <= 10_000; at += poll) expected.push(at);
        expect(spy.callsOf('claimDue').map((call) => call.at - start)).toEqual(expected);
      },
    );
  });
});
