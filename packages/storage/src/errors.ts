/**
 * Typed storage errors. Nothing in @again matches errors by message text: use `instanceof` or `code`.
 *
 * @module
 */

/**
 * Stable codes of {@link StorageError}.
 *
 * - `ERR_STORAGE`: the operation failed (the driver error is the `cause`);
 * - `ERR_STORAGE_CLOSED`: the store was closed;
 * - `ERR_STORAGE_CORRUPT`: stored data could not be read back;
 * - `ERR_STORAGE_INVALID_ARGUMENT`: an adapter was given invalid options, or a call was given a
 *   value the store cannot keep (for example a spec that is not JSON); nothing was written.
 *
 * @example
 * ```ts
 * if (error instanceof StorageError && error.code === ('ERR_STORAGE_CLOSED' satisfies StorageErrorCode)) return;
 * ```
 */
export type StorageErrorCode =
  | 'ERR_STORAGE'
  | 'ERR_STORAGE_CLOSED'
  | 'ERR_STORAGE_CORRUPT'
  | 'ERR_STORAGE_INVALID_ARGUMENT';

/**
 * A store operation failed. The driver's error, if any, is the `cause`.
 *
 * @example
 * ```ts
 * try {
 *   await store.getJob('job-1');
 * } catch (error) {
 *   if (error instanceof StorageError) console.error(error.operation, error.cause);
 * }
 * ```
 */
export class StorageError extends Error {
  override readonly name: 'StorageError' = 'StorageError';
  /** A stable code. */
  readonly code: StorageErrorCode;
  /** The store operation that failed, e.g. `claimOccurrence`. */
  readonly operation: string;

  /**
   * @param operation - the store operation that failed
   * @param message - what went wrong
   * @param options - `cause` (the driver error) and `code` (default `ERR_STORAGE`)
   */
  constructor(
    operation: string,
    message: string,
    options: { cause?: unknown; code?: StorageErrorCode } = {},
  ) {
    super(`${operation}: ${message}`, 'cause' in options ? { cause: options.cause } : undefined);
    this.operation = operation;
    this.code = options.code ?? 'ERR_STORAGE';
  }
}

/**
 * A job with this id exists and is not terminal.
 *
 * @example
 * ```ts
 * try {
 *   await store.createJob({ id: 'a', spec: {}, nextRunAt: 0, now: 0 });
 * } catch (error) {
 *   if (error instanceof JobExistsError) console.log('taken:', error.jobId);
 * }
 * ```
 */
export class JobExistsError extends Error {
  override readonly name: 'JobExistsError' = 'JobExistsError';
  /** A stable code. */
  readonly code: 'ERR_JOB_EXISTS' = 'ERR_JOB_EXISTS';
  /** The id that is taken. */
  readonly jobId: string;

  /** @param jobId - the id that is taken */
  constructor(jobId: string) {
    super(`job id already exists: ${jobId}`);
    this.jobId = jobId;
  }
}
