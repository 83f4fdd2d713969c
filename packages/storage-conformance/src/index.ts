/**
 * `@again/storage-conformance`: the test suite every `JobStore` adapter runs to prove it keeps the
 * `@again/storage` contract. It registers its tests with the `describe`/`it`/`expect` it is given
 * (vitest's, or jest's and `bun:test`'s, which have the same shape) and never imports a test
 * runner itself; vitest is an optional peer dependency.
 *
 * @example
 * ```ts
 * import * as vitest from 'vitest';
 * import { runStorageConformance } from '@again/storage-conformance';
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
