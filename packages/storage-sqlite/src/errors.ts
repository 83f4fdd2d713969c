/**
 * How the SQLite driver reports failures. The contract's wrapper turns any other error into a
 * `StorageError` with code `ERR_STORAGE`; the driver reports the ones only it can recognise.
 *
 * @module
 */

import {
  CorruptRowError,
  JobExistsError,
  StorageError,
  type StorageErrorCode,
} from '@again/storage';

function driverCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Wraps a failure in a `StorageError` with the error as `cause`: `ERR_STORAGE_CORRUPT` for a row
 * that does not decode and for SQLite's `SQLITE_CORRUPT…` and `SQLITE_NOTADB` (the file is not a
 * database), `ERR_STORAGE` for the rest, its message prefixed with SQLite's code. The contract's
 * own errors (`StorageError`, `JobExistsError`) pass through.
 */
export function toStorageError(operation: string, error: unknown): StorageError | JobExistsError {
  if (error instanceof StorageError || error instanceof JobExistsError) return error;
  if (error instanceof CorruptRowError) {
    return new StorageError(operation, `unreadable data: ${error.message}`, {
      cause: error,
      code: 'ERR_STORAGE_CORRUPT',
    });
  }
  const code = driverCode(error) ?? driverCode((error as { cause?: unknown } | null)?.cause);
  // SQLITE_CORRUPT and its extended codes (SQLITE_CORRUPT_VTAB, ...), and "file is not a database".
  const storageCode: StorageErrorCode =
    code !== undefined && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
      ? 'ERR_STORAGE_CORRUPT'
      : 'ERR_STORAGE';
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError(operation, code === undefined ? message : `${code}: ${message}`, {
    cause: error,
    code: storageCode,
  });
}
