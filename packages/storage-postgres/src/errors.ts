/**
 * How the PostgreSQL driver reports failures. The contract's wrapper turns any other error into a
 * `StorageError` with code `ERR_STORAGE`; the driver reports the ones only it can recognise, by
 * SQLSTATE or Node error code (never by message text).
 *
 * @module
 */

import {
  CorruptRowError,
  JobExistsError,
  StorageError,
  type StorageErrorCode,
} from '@again/storage';
import { sqlState } from './database.js';

/** SQLSTATEs of damaged data: `data_corrupted`, `index_corrupted`. */
const CORRUPT: ReadonlySet<string> = new Set(['XX001', 'XX002']);

/**
 * SQLSTATEs of a lost connection: class 08 (connection exception), and the server ending the
 * session (`admin_shutdown` from `pg_terminate_backend` or a fast shutdown, `crash_shutdown`,
 * `cannot_connect_now` while it starts).
 */
const CONNECTION_LOST: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03']);

/** Node's socket errors on the way to the server. */
const SOCKET_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function nodeCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SOCKET_ERRORS.has(code) ? code : undefined;
}

/**
 * Whether an error (or its cause) says the connection to the server was lost or could not be made:
 * the operation did not commit (or, when it was lost during `COMMIT`, may have), and the pool
 * replaces the connection.
 *
 * @param error - what an operation threw
 * @returns true for SQLSTATE class 08, 57P01–57P03, and Node socket errors
 */
export function isConnectionError(error: unknown): boolean {
  for (let e = error, depth = 0; e != null && depth < 4; depth++) {
    const state = sqlState(e);
    if (state !== undefined && (state.startsWith('08') || CONNECTION_LOST.has(state))) return true;
    if (nodeCode(e) !== undefined) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Wraps a failure in a `StorageError` with the error as `cause`: `ERR_STORAGE_CORRUPT` for a row
 * that does not decode and for SQLSTATEs XX001/XX002, `ERR_STORAGE` for the rest, its message
 * prefixed with the SQLSTATE (or Node's code) and, for a lost connection, saying so. The
 * contract's own errors (`StorageError`, `JobExistsError`) pass through.
 *
 * @param operation - the store operation that failed
 * @param error - what it threw
 * @returns the error to reject with
 */
export function toStorageError(operation: string, error: unknown): StorageError | JobExistsError {
  if (error instanceof StorageError || error instanceof JobExistsError) return error;
  if (error instanceof CorruptRowError) {
    return new StorageError(operation, `unreadable data: ${error.message}`, {
      cause: error,
      code: 'ERR_STORAGE_CORRUPT',
    });
  }
  const state = sqlState(error);
  const code = state ?? nodeCode(error);
  const storageCode: StorageErrorCode =
    state !== undefined && CORRUPT.has(state) ? 'ERR_STORAGE_CORRUPT' : 'ERR_STORAGE';
  const message = error instanceof Error ? error.message : String(error);
  const lost = isConnectionError(error) ? 'no connection to the server: ' : '';
  return new StorageError(operation, `${lost}${code === undefined ? '' : `${code}: `}${message}`, {
    cause: error,
    code: storageCode,
  });
}
