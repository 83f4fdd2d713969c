/**
 * A real store seen through a spy: every call is recorded with the time it was made, and a test
 * may put a hook around any method (to fail it, hold it, or change what it answers), so the engine
 * tests check what the scheduler asks of its store without a mocked store.
 *
 * @module
 */
import type { JobStore, StoreCapabilities } from '@again/storage';
import type { JobInput } from '../job-types.js';
import { occurrenceIdOf } from '../occurrences.js';
import { parseJob } from '../parse-job.js';
import { firstOccurrence } from '../schedule.js';

/** The store's methods (every key but `capabilities`). */
export type StoreMethod = Exclude<keyof JobStore, 'capabilities'>;

type MethodOf<K extends StoreMethod> = NonNullable<JobStore[K]>;

/** Runs around one method: `next` is the real store's method. */
export type StoreHook<K extends StoreMethod> = (
  next: MethodOf<K>,
  ...args: Parameters<MethodOf<K>>
) => ReturnType<MethodOf<K>>;

/** Hooks by method; read at each call, so a test may set or clear one mid-test. */
export type StoreHooks = { -readonly [K in StoreMethod]?: StoreHook<K> | undefined };

/** One recorded call. */
export interface StoreCall<K extends StoreMethod = StoreMethod> {
  readonly method: K;
  readonly args: Parameters<MethodOf<K>>;
  /** The spy clock's time when the call was made. */
  readonly at: number;
}

/** A spied store. */
export interface SpiedStore {
  /** The store to give the scheduler. */
  readonly store: JobStore;
  /** Every call, in order. */
  readonly calls: StoreCall[];
  /** The hooks (mutable). */
  readonly hooks: StoreHooks;
  /** The calls of one method, in order. */
  callsOf<K extends StoreMethod>(method: K): StoreCall<K>[];
}

/**
 * Wraps `inner` in a recording proxy.
 *
 * @param inner - the real store
 * @param options - `clock` stamps the calls (default `Date.now`), `hooks` go around methods,
 *   `capabilities` replaces the store's declared capabilities
 */
export function spyStorage(
  inner: JobStore,
  options: {
    clock?: { now(): number };
    hooks?: StoreHooks;
    capabilities?: StoreCapabilities;
  } = {},
): SpiedStore {
  const calls: StoreCall[] = [];
  const hooks: StoreHooks = options.hooks ?? {};
  const clock = options.clock ?? { now: () => Date.now() };
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'capabilities' && options.capabilities !== undefined) {
        return options.capabilities;
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const method = property as StoreMethod;
      const next = (...args: unknown[]): unknown => value.apply(target, args);
      return (...args: unknown[]): unknown => {
        calls.push({ method, args, at: clock.now() } as unknown as StoreCall);
        const hook = hooks[method] as ((...a: unknown[]) => unknown) | undefined;
        return hook === undefined ? next(...args) : hook(next, ...args);
      };
    },
  });
  return {
    store,
    calls,
    hooks,
    callsOf: <K extends StoreMethod>(method: K) =>
      calls.filter((call): call is StoreCall<K> => call.method === method) as StoreCall<K>[],
  };
}

/** A promise that never settles (a store call that hangs). */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

/**
 * Stores `input` as a job due at `now` and claims its first occurrence as `owner`, the way another
 * scheduler instance would: the run is `running` in the store, leased to `owner` for
 * `leaseDuration`. With `nextRunAt` the job's next occurrence is set to it (default: one minute
 * later).
 *
 * @returns the occurrence id of the claimed run
 */
export async function claimAsOtherOwner(
  store: JobStore,
  input: JobInput & { readonly id: string },
  options: { owner: string; now: number; leaseDuration: number; nextRunAt?: number },
): Promise<string> {
  const { spec } = parseJob(input);
  const first = firstOccurrence(spec.schedule, options.now);
  if (first === null || first > options.now) throw new Error('the job must be due now');
  await store.createJob({
    id: input.id,
    spec: spec as unknown as Parameters<JobStore['createJob']>[0]['spec'],
    nextRunAt: first,
    now: options.now,
  });
  const occurrenceId = occurrenceIdOf(input.id, first);
  const result = await store.claimDue({
    owner: options.owner,
    now: options.now,
    limit: 10_000,
    leaseDuration: options.leaseDuration,
    plan: (job) =>
      job.id === input.id
        ? {
            run: { scheduledAt: job.nextRunAt, occurrenceId },
            skipped: [],
            nextRunAt: options.nextRunAt ?? job.nextRunAt + 60_000,
          }
        : null,
  });
  if (!result.runs.some((run) => run.occurrenceId === occurrenceId)) {
    throw new Error(`could not claim ${occurrenceId} as ${options.owner}`);
  }
  return occurrenceId;
}
