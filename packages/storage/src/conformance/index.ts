/**
 * `@again/storage/conformance`: the test suite every `JobStore` adapter runs to prove it keeps the
 * contract. It needs a test runner with vitest's `describe`/`it`/`expect` (vitest is an optional
 * peer dependency of `@again/storage`); the main entry point never loads it.
 *
 * @example
 * ```ts
 * import * as vitest from 'vitest';
 * import { runStorageConformance } from '@again/storage/conformance';
 * import { createMemoryStorage } from '@again/storage-memory';
 *
 * runStorageConformance({ name: 'memory', create: async () => createMemoryStorage(), vitest });
 * ```
 *
 * @module
 */

export {
  type ConformanceAssertion,
  type ConformanceTestApi,
  STORAGE_CONFORMANCE_DEFAULTS,
  type StorageConformanceOptions,
} from './api.js';
export { runStorageConformance } from './run.js';
