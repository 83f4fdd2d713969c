/**
 * `runStorageConformance`: registers the whole conformance suite with the caller's test runner.
 *
 * @module
 */

import { type JobStore, StorageError } from '@again/storage';
import {
  type ConformanceTestApi,
  STORAGE_CONFORMANCE_DEFAULTS,
  type StorageConformanceOptions,
} from './api.js';
import { argumentCases } from './cases/arguments.js';
import { callbackCases } from './cases/callbacks.js';
import { capabilityCases } from './cases/capabilities.js';
import { claimCases } from './cases/claims.js';
import { completionCases } from './cases/completions.js';
import { copyCases } from './cases/copies.js';
import { jobCases } from './cases/jobs.js';
import { leaseCases } from './cases/leases.js';
import { lifecycleCases } from './cases/lifecycle.js';
import { pauseCases } from './cases/pause.js';
import { raceCases } from './cases/races.js';
import { releaseCases } from './cases/releases.js';
import { retentionCases } from './cases/retention.js';
import { runCases } from './cases/runs.js';
import { triggerCases } from './cases/triggers.js';
import { updateCases } from './cases/updates.js';
import { CLOCK_MESSAGE, type Harness, type SuiteContext } from './harness.js';

/**
 * Registers the `JobStore` conformance suite: every behaviour of the contract in
 * `@again/storage`, tested on fresh stores from `options.create`, with injected times only (no
 * sleeps). Call it once at the top level of a test file; it registers one `describe` block named
 * `JobStore conformance: <name>` holding every test.
 *
 * Every case passes its own fixed times, so `create` must return a store that follows the
 * caller's times (`capabilities.clock` false): an adapter that keeps its own clock offers a mode
 * for this. On a store whose `capabilities.clock` is true, the first test fails saying so and
 * every other test fails at once with the same message.
 *
 * @param options - the adapter's factory, optional cleanup and peers, and the runner's functions
 * @returns nothing; the tests run with the rest of the file
 * @throws {@link StorageError} with code `ERR_STORAGE_INVALID_ARGUMENT` when `options` is malformed
 * @example
 * ```ts
 * // my-store.test.ts
 * import { mkdtempSync, rmSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import * as vitest from 'vitest';
 * import { runStorageConformance } from '@again/storage-conformance';
 * import { createMyStore } from './my-store.js';
 *
 * const dir = mkdtempSync(join(tmpdir(), 'my-store-'));
 * vitest.afterAll(() => rmSync(dir, { recursive: true, force: true }));
 *
 * runStorageConformance({
 *   name: 'my-store',
 *   create: async () => createMyStore({ path: join(dir, `${crypto.randomUUID()}.db`) }),
 *   vitest,
 * });
 * ```
 */
export function runStorageConformance(options: StorageConformanceOptions): void {
  const api = validateOptions(options);
  const timeout = options.timeout ?? STORAGE_CONFORMANCE_DEFAULTS.timeout;
  const destroy = options.destroy ?? ((store: JobStore) => store.close());
  const openPeer = options.openPeer;

  const context: SuiteContext = {
    describe: (name, factory) => {
      api.describe(name, factory);
    },
    expect: api.expect,
    defaultHistoryLimit:
      options.defaultHistoryLimit ?? STORAGE_CONFORMANCE_DEFAULTS.defaultHistoryLimit,
    test: (name, body, testOptions = {}) => {
      api.it(
        name,
        async () => {
          const store = await options.create();
          const peers: JobStore[] = [];
          // Every case passes its own times; a store on its own clock would fail them confusingly.
          const ownClock = store.capabilities?.clock === true && testOptions.anyClock !== true;
          const harness: Harness = {
            store,
            instances: async (count) => {
              if (openPeer !== undefined) {
                while (peers.length < count - 1) peers.push(await openPeer(store));
                return [store, ...peers.slice(0, Math.max(0, count - 1))];
              }
              return Array.from({ length: count }, () => store);
            },
          };
          let failed = false;
          let failure: unknown;
          try {
            if (ownClock) throw new Error(CLOCK_MESSAGE);
            await body(harness);
          } catch (error) {
            failed = true;
            failure = error;
          }
          try {
            for (const peer of peers) await peer.close();
            await destroy(store);
          } catch (error) {
            // The test's own failure says more than a cleanup failure it may have caused.
            if (!failed) throw error;
          }
          if (failed) throw failure;
        },
        timeout,
      );
    },
  };

  api.describe(`JobStore conformance: ${options.name}`, () => {
    capabilityCases(context);
    jobCases(context);
    claimCases(context);
    runCases(context);
    completionCases(context);
    leaseCases(context);
    pauseCases(context);
    updateCases(context);
    triggerCases(context);
    releaseCases(context);
    callbackCases(context);
    retentionCases(context);
    argumentCases(context);
    copyCases(context);
    raceCases(context);
    lifecycleCases(context);
  });
}

function validateOptions(options: StorageConformanceOptions): ConformanceTestApi {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) {
    throw invalid(['options must be an object']);
  }
  if (typeof options.name !== 'string' || options.name === '') {
    problems.push('name must be a non-empty string');
  }
  if (typeof options.create !== 'function') problems.push('create must be a function');
  if (options.destroy !== undefined && typeof options.destroy !== 'function') {
    problems.push('destroy must be a function');
  }
  if (options.openPeer !== undefined && typeof options.openPeer !== 'function') {
    problems.push('openPeer must be a function');
  }
  const limit = options.defaultHistoryLimit;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
    problems.push('defaultHistoryLimit must be a positive integer');
  }
  const timeout = options.timeout;
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
    problems.push('timeout must be a positive number');
  }
  const api = options.vitest as Partial<ConformanceTestApi> | null | undefined;
  if (typeof api !== 'object' || api === null) {
    problems.push('vitest must be an object with describe, it and expect');
  } else {
    for (const key of ['describe', 'it', 'expect'] as const) {
      if (typeof api[key] !== 'function') problems.push(`vitest.${key} must be a function`);
    }
  }
  if (problems.length > 0) throw invalid(problems);
  return options.vitest;
}

function invalid(problems: readonly string[]): StorageError {
  return new StorageError('runStorageConformance', `invalid options: ${problems.join('; ')}`, {
    code: 'ERR_STORAGE_INVALID_ARGUMENT',
  });
}
