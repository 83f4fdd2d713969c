/**
 * Options of the in-memory store.
 *
 * @module
 */

import { StorageError } from '@again/storage';

/**
 * Options of {@link createMemoryStorage}.
 *
 * @example
 * ```ts
 * const store = createMemoryStorage({ historyLimit: 50 });
 * ```
 */
export interface MemoryStorageOptions {
  /**
   * How many finished ledger entries to keep per job when a call passes no `historyLimit` (or a
   * zero or negative one). A positive integer.
   *
   * @defaultValue 20 (go-again's history limit)
   */
  readonly historyLimit?: number;
}

/**
 * The defaults of {@link MemoryStorageOptions}.
 *
 * @example
 * ```ts
 * MEMORY_STORAGE_DEFAULTS.historyLimit; // 20
 * ```
 */
export const MEMORY_STORAGE_DEFAULTS: { readonly historyLimit: number } = Object.freeze({
  historyLimit: 20,
});

/** The options with defaults applied. */
export interface ResolvedMemoryStorageOptions {
  readonly historyLimit: number;
}

/**
 * Validates options and applies defaults.
 *
 * @throws {@link StorageError} with code `ERR_STORAGE_INVALID_ARGUMENT` listing every problem
 */
export function resolveMemoryStorageOptions(
  options: MemoryStorageOptions | undefined,
): ResolvedMemoryStorageOptions {
  if (options === undefined) return MEMORY_STORAGE_DEFAULTS;
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) {
    problems.push('options must be an object');
  } else {
    for (const key of Object.keys(options)) {
      if (key !== 'historyLimit') problems.push(`${key} is not an option of the memory store`);
    }
    const limit = options.historyLimit;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
      problems.push(`historyLimit must be a positive integer (got ${String(limit)})`);
    }
  }
  if (problems.length > 0) {
    throw new StorageError('createMemoryStorage', `invalid options: ${problems.join('; ')}`, {
      code: 'ERR_STORAGE_INVALID_ARGUMENT',
    });
  }
  return { historyLimit: options.historyLimit ?? MEMORY_STORAGE_DEFAULTS.historyLimit };
}
