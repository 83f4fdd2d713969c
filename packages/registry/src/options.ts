import { RegistryError } from './errors.js';
import type { Matcher } from './matcher.js';

/**
 * Options for matching an error against matchers ({@link matchesAny}, and every registry).
 *
 * @example
 * ```ts
 * matchesAny(error, ['ECONNRESET'], { maxDepth: 4 });
 * ```
 */
export interface MatchOptions {
  /**
   * How many links (`cause`, `AggregateError` members) to follow from the thrown error. Deeper
   * links are not inspected. An integer from 0 (the thrown error only) to 1000.
   *
   * @defaultValue `REGISTRY_DEFAULTS.maxDepth` (32)
   */
  readonly maxDepth?: number;
}

/**
 * Options for {@link createRegistry}. Defaults are in {@link REGISTRY_DEFAULTS}.
 *
 * @example
 * ```ts
 * const options: RegistryOptions = { defaults: true, matchers: ['EMFILE'], maxDepth: 8 };
 * const registry = createRegistry(options);
 * ```
 */
export interface RegistryOptions extends MatchOptions {
  /**
   * Matchers to register at creation, as if passed to `register`.
   *
   * @defaultValue `REGISTRY_DEFAULTS.matchers` (none)
   */
  readonly matchers?: readonly Matcher[];
  /**
   * Register {@link DEFAULT_TEMPORARY_ERRORS} at creation, as if `loadDefaults()` were called.
   *
   * @defaultValue `REGISTRY_DEFAULTS.defaults` (false, like the Go original's `NewRegistry`)
   */
  readonly defaults?: boolean;
}

/**
 * The defaults of {@link RegistryOptions} (and of {@link MatchOptions}).
 *
 * @example
 * ```ts
 * import { REGISTRY_DEFAULTS } from '@again/registry';
 *
 * console.log(REGISTRY_DEFAULTS.maxDepth); // 32
 * ```
 */
export const REGISTRY_DEFAULTS: {
  readonly maxDepth: number;
  readonly matchers: readonly Matcher[];
  readonly defaults: boolean;
} = Object.freeze({
  // Real chains are 2-4 links deep (fetch failed -> SocketError -> ...). 32 is generous and still
  // bounds the work a hostile or buggy chain can cause.
  maxDepth: 32,
  matchers: Object.freeze([]),
  defaults: false,
});

/** The largest accepted `maxDepth`; beyond it a chain is a bug, not an error history. */
const MAX_DEPTH_LIMIT = 1000;

/** Validates `maxDepth` and applies its default. */
export function resolveMaxDepth(options: MatchOptions | undefined): number {
  const value = options?.maxDepth;
  if (value === undefined) return REGISTRY_DEFAULTS.maxDepth;
  if (!Number.isInteger(value) || value < 0 || value > MAX_DEPTH_LIMIT) {
    throw new RegistryError(
      'ERR_REGISTRY_INVALID_OPTION',
      `maxDepth must be an integer from 0 to ${MAX_DEPTH_LIMIT}, got ${String(value)}`,
      { value },
    );
  }
  return value;
}

/**
 * Rejects an options argument that is not a plain object, or that has a key outside `known` (a
 * typo such as `defualts` would otherwise be ignored silently).
 */
export function checkOptionsObject(options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new RegistryError('ERR_REGISTRY_INVALID_OPTION', 'options must be an object', {
      value: options,
    });
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new RegistryError(
        'ERR_REGISTRY_INVALID_OPTION',
        `unknown option "${key}"; the options are ${known.join(', ')}`,
        { value: options },
      );
    }
  }
}
