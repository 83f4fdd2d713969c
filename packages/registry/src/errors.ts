/**
 * Stable codes carried by {@link RegistryError}.
 *
 * - `ERR_REGISTRY_INVALID_MATCHER`: a value given to `register`, `unregister`, `isTemporary` or
 *   `matchesAny` is not a matcher (null, a number, an empty string, an object with neither `code`
 *   nor `name`…).
 * - `ERR_REGISTRY_INVALID_OPTION`: an option of `createRegistry` or `matchesAny` is out of range.
 * - `ERR_REGISTRY_PREDICATE_FAILED`: a predicate matcher threw, or returned something other than a
 *   boolean (for example a promise, which would otherwise count as "true").
 *
 * @example
 * ```ts
 * const code: RegistryErrorCode = 'ERR_REGISTRY_INVALID_MATCHER';
 * ```
 */
export type RegistryErrorCode =
  | 'ERR_REGISTRY_INVALID_MATCHER'
  | 'ERR_REGISTRY_INVALID_OPTION'
  | 'ERR_REGISTRY_PREDICATE_FAILED';

/**
 * Options of the {@link RegistryError} constructor.
 *
 * @example
 * ```ts
 * new RegistryError('ERR_REGISTRY_INVALID_OPTION', 'maxDepth must be an integer', { value: -1 });
 * ```
 */
export interface RegistryErrorOptions {
  /** The underlying error, for example what a predicate threw. */
  readonly cause?: unknown;
  /** The offending value: the rejected matcher, option value, or the failing predicate. */
  readonly value?: unknown;
}

/**
 * The one error class thrown by `@again/registry`. Match it by class and `code`, never by message.
 *
 * @example
 * ```ts
 * import { createRegistry, RegistryError } from '@again/registry';
 *
 * try {
 *   createRegistry().register({ codes: ['ECONNRESET'] } as never);
 * } catch (error) {
 *   if (error instanceof RegistryError && error.code === 'ERR_REGISTRY_INVALID_MATCHER') {
 *     console.log('not a matcher:', error.value);
 *   }
 * }
 * ```
 */
export class RegistryError extends Error {
  /** Always `'RegistryError'`. */
  override readonly name: 'RegistryError' = 'RegistryError';
  /** What went wrong, as a stable machine-readable code. */
  readonly code: RegistryErrorCode;
  /** The offending value (matcher, option value or predicate); `undefined` when not applicable. */
  readonly value: unknown;

  /**
   * @param code - the stable error code
   * @param message - a human-readable description (never match on it)
   * @param options - the `cause` and the offending `value`
   */
  constructor(code: RegistryErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.value = options.value;
  }
}
