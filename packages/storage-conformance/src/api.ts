/**
 * The public options of the storage conformance suite and the minimal test-runner surface it needs.
 *
 * @module
 */

import type { JobStore } from '@again/storage';

/**
 * The assertions the suite uses, a structural subset of vitest's (and jest's) `expect(value)`.
 *
 * @example
 * ```ts
 * import { expect } from 'vitest';
 * const assertion: ConformanceAssertion = expect(1);
 * assertion.toBe(1);
 * ```
 */
export interface ConformanceAssertion {
  /** `Object.is` equality. */
  toBe(expected: unknown): void;
  /** Recursive equality. */
  toEqual(expected: unknown): void;
  /** Recursive equality that also checks `undefined` properties and array sparseness. */
  toStrictEqual(expected: unknown): void;
  /** The value is `null`. */
  toBeNull(): void;
  /** The value is `undefined`. */
  toBeUndefined(): void;
  /** The value is a number greater than `expected`. */
  toBeGreaterThan(expected: number): void;
  /** The value has a `length` of `expected`. */
  toHaveLength(expected: number): void;
  /** The value is an instance of `expected`. */
  toBeInstanceOf(expected: unknown): void;
  /** The value matches a subset of properties. */
  toMatchObject(expected: object): void;
  /** The negated assertions. */
  readonly not: ConformanceAssertion;
}

/**
 * The test-runner functions the suite registers its tests with: vitest's `describe`, `it` and
 * `expect` fit as they are (so does `import * as vitest from 'vitest'`); jest's and `bun:test`'s have
 * the same shape.
 *
 * @example
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * const api: ConformanceTestApi = { describe, it, expect };
 * ```
 */
export interface ConformanceTestApi {
  /** Groups tests: `describe(name, factory)`. */
  readonly describe: (name: string, factory: () => void) => unknown;
  /** Registers one async test: `it(name, fn, timeoutMs)`. */
  readonly it: (name: string, fn: () => Promise<void>, timeout: number) => unknown;
  /** Starts an assertion: `expect(value)`. */
  readonly expect: (actual: unknown) => ConformanceAssertion;
}

/**
 * Options of {@link runStorageConformance}.
 *
 * @example
 * ```ts
 * import * as vitest from 'vitest';
 * import { runStorageConformance } from '@again/storage-conformance';
 * import { createMemoryStorage } from '@again/storage-memory';
 *
 * runStorageConformance({
 *   name: 'memory',
 *   create: async () => createMemoryStorage(),
 *   vitest,
 * });
 * ```
 */
export interface StorageConformanceOptions {
  /** The adapter's name, used as the top-level `describe` title (`JobStore conformance: <name>`). */
  readonly name: string;
  /**
   * Opens a fresh, empty store. Called once per test, so tests never see each other's data (for a
   * shared database: a new file, schema or table prefix per call).
   *
   * The store must follow the caller's times (`capabilities.clock` false): every case passes its
   * own fixed times and never sleeps. An adapter that keeps its own clock (the database's) offers
   * a mode that uses the `now` of each call instead, and `create` returns a store in that mode;
   * with `capabilities.clock` true the suite fails at once, saying so.
   */
  readonly create: () => Promise<JobStore>;
  /**
   * Disposes of a store made by `create` after its test (for example deletes its file). It may be
   * given a store the test already closed.
   *
   * @defaultValue `store.close()`
   */
  readonly destroy?: (store: JobStore) => Promise<void>;
  /**
   * Opens another handle on the same data as `store`, the way a second scheduler instance (another
   * connection or process) would see it. The race tests spread their calls over such peers, and a
   * store that notifies must wake a subscriber on a peer. Peers are closed by the suite with
   * `close()` before `destroy` runs on the original store.
   *
   * @defaultValue every "instance" uses the one store
   */
  readonly openPeer?: (store: JobStore) => Promise<JobStore>;
  /**
   * The history limit the adapter applies when a call passes none, as configured for the stores
   * `create` returns.
   *
   * @defaultValue 20
   */
  readonly defaultHistoryLimit?: number;
  /**
   * The timeout of each test in milliseconds (the suite never sleeps; this only bounds slow I/O).
   *
   * @defaultValue 30000
   */
  readonly timeout?: number;
  /** The test-runner functions: pass `{ describe, it, expect }` from vitest, or the vitest module. */
  readonly vitest: ConformanceTestApi;
}

/**
 * The defaults of {@link StorageConformanceOptions}.
 *
 * @example
 * ```ts
 * STORAGE_CONFORMANCE_DEFAULTS.timeout; // 30000
 * ```
 */
export const STORAGE_CONFORMANCE_DEFAULTS: {
  readonly defaultHistoryLimit: number;
  readonly timeout: number;
} = Object.freeze({
  defaultHistoryLimit: 20,
  timeout: 30_000,
});
