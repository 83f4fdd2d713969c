/**
 * Options of {@link createPostgresStorage}, their defaults and their validation.
 *
 * @module
 */

import { StorageError } from '@again/storage';
import type { PostgresPool } from 'kysely';

/**
 * Whose clock decides what is due and when a lease expires:
 * - `'database'`: the PostgreSQL server's (`clock_timestamp()`), read once at the start of each
 *   claim, renewal and takeover. Every instance then judges leases by the same clock, whatever
 *   its own clock says. The store ignores the `now` those calls pass and returns the time it used
 *   (`capabilities.clock` is `true`).
 * - `'caller'`: the `now` each call passes (`capabilities.clock` is `false`). Meant for tests that
 *   drive time themselves, such as the storage conformance suite; in production two instances
 *   with skewed clocks would disagree about expiry.
 *
 * @example
 * ```ts
 * const clock: PostgresClock = 'caller';
 * const store = await createPostgresStorage({ connectionString, clock });
 * ```
 */
export type PostgresClock = 'database' | 'caller';

/**
 * Options of {@link createPostgresStorage}. Give exactly one of `pool` and `connectionString`.
 *
 * @example
 * ```ts
 * const options: PostgresStorageOptions = {
 *   connectionString: 'postgres://app@db.internal:5432/app',
 *   schema: 'scheduler',
 *   maxConnections: 10,
 * };
 * const store = await createPostgresStorage(options);
 * ```
 */
export interface PostgresStorageOptions {
  /**
   * A node-postgres `Pool` (any object with its `connect()`/`end()` shape) the store runs on. It
   * stays yours: `close()` never ends it. Give it an `'error'` listener (node-postgres emits
   * errors of idle clients on the pool) and room for the store's connections: one per operation
   * in flight, plus one held while a wake-up subscription is open.
   */
  readonly pool?: PostgresPool;
  /**
   * A connection string (`postgres://user:password@host:port/database?sslmode=...`). The store
   * builds its own node-postgres `Pool` from it and ends it in `close()`.
   */
  readonly connectionString?: string;
  /**
   * The size of the pool built from `connectionString` (not allowed with `pool`).
   *
   * @defaultValue 10
   */
  readonly maxConnections?: number;
  /**
   * The schema that holds the store's tables, created if missing. An identifier of letters,
   * digits and underscores, 1 to 52 characters, not starting with a digit or `pg_` (52 leaves
   * room for the notification channel `<schema>.again_wake` in PostgreSQL's 63-byte names).
   * Instances that share jobs use the same schema; one database can hold several stores in
   * different schemas.
   *
   * @defaultValue 'again'
   */
  readonly schema?: string;
  /**
   * Whose clock decides due times and lease expiry; see {@link PostgresClock}.
   *
   * @defaultValue 'database'
   */
  readonly clock?: PostgresClock;
  /**
   * Wake other instances with `NOTIFY` when a job is created with a due time, and let schedulers
   * `subscribe` (LISTEN on a dedicated connection). Turn it off behind a pooler that cannot
   * LISTEN (PgBouncer in transaction mode); instances then find new jobs by polling.
   *
   * @defaultValue true
   */
  readonly notifications?: boolean;
  /**
   * The history limit per job when a call passes none.
   *
   * @defaultValue 20
   */
  readonly defaultHistoryLimit?: number;
}

/**
 * The defaults of {@link PostgresStorageOptions}.
 *
 * @example
 * ```ts
 * POSTGRES_STORAGE_DEFAULTS.schema; // 'again'
 * ```
 */
export const POSTGRES_STORAGE_DEFAULTS: {
  readonly maxConnections: number;
  readonly schema: string;
  readonly clock: PostgresClock;
  readonly notifications: boolean;
  readonly defaultHistoryLimit: number;
} = Object.freeze({
  maxConnections: 10,
  schema: 'again',
  clock: 'database',
  notifications: true,
  defaultHistoryLimit: 20,
});

/** Where the store's connections come from. */
export type PoolInput =
  | { readonly kind: 'pool'; readonly pool: PostgresPool }
  | {
      readonly kind: 'connectionString';
      readonly connectionString: string;
      readonly maxConnections: number;
    };

/** Validated options, defaults applied. */
export interface ResolvedOptions {
  readonly source: PoolInput;
  readonly schema: string;
  readonly clock: PostgresClock;
  readonly notifications: boolean;
  readonly defaultHistoryLimit: number;
}

/** Every option's name: any other key is refused (a misspelt option must not pass silently). */
const OPTION_KEYS: ReadonlySet<string> = new Set<keyof PostgresStorageOptions>([
  'pool',
  'connectionString',
  'maxConnections',
  'schema',
  'clock',
  'notifications',
  'defaultHistoryLimit',
]);

/** The longest schema name: `<schema>.again_wake` must fit in 63 bytes. */
const MAX_SCHEMA_LENGTH = 52;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function invalid(message: string): StorageError {
  return new StorageError('createPostgresStorage', `invalid option: ${message}`, {
    code: 'ERR_STORAGE_INVALID_ARGUMENT',
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) {
    return String(value);
  }
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(`${name} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

function schemaName(value: unknown): string {
  if (value === undefined) return POSTGRES_STORAGE_DEFAULTS.schema;
  if (
    typeof value !== 'string' ||
    !IDENTIFIER.test(value) ||
    value.length > MAX_SCHEMA_LENGTH ||
    value.toLowerCase().startsWith('pg_')
  ) {
    throw invalid(
      `schema must be an identifier (letters, digits and underscores, not starting with a digit or pg_, at most ${MAX_SCHEMA_LENGTH} characters), got ${describe(value)}`,
    );
  }
  return value;
}

function poolInput(options: Record<string, unknown>): PoolInput {
  const { pool, connectionString, maxConnections } = options;
  if (pool !== undefined && connectionString !== undefined) {
    throw invalid('pool and connectionString: give one of them, not both');
  }
  if (pool !== undefined) {
    if (maxConnections !== undefined) {
      throw invalid(
        'maxConnections sizes the pool built from connectionString; size your own pool',
      );
    }
    // Duck typing rather than `instanceof pg.Pool`: the user's pg may be another copy.
    if (!isObject(pool) || typeof pool.connect !== 'function' || typeof pool.end !== 'function') {
      throw invalid(`pool must be a node-postgres Pool, got ${describe(pool)}`);
    }
    return { kind: 'pool', pool: pool as unknown as PostgresPool };
  }
  if (connectionString !== undefined) {
    if (typeof connectionString !== 'string' || connectionString.trim() === '') {
      throw invalid(
        `connectionString must be a non-empty string, got ${describe(connectionString)}`,
      );
    }
    return {
      kind: 'connectionString',
      connectionString,
      maxConnections: positiveInteger(
        'maxConnections',
        maxConnections,
        POSTGRES_STORAGE_DEFAULTS.maxConnections,
      ),
    };
  }
  throw invalid('pool or connectionString: one of them is required');
}

/**
 * Validates options and applies defaults.
 *
 * @throws StorageError with code `ERR_STORAGE_INVALID_ARGUMENT`, naming the first invalid option.
 */
export function resolveOptions(input: PostgresStorageOptions | string): ResolvedOptions {
  const options: unknown = typeof input === 'string' ? { connectionString: input } : input;
  if (!isObject(options) || Array.isArray(options)) {
    throw invalid(`options must be an object or a connection string, got ${describe(options)}`);
  }
  const unknown = Object.keys(options).filter((key) => !OPTION_KEYS.has(key));
  if (unknown.length > 0) {
    throw invalid(`unknown option${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
  }
  const clock = options.clock ?? POSTGRES_STORAGE_DEFAULTS.clock;
  if (clock !== 'database' && clock !== 'caller') {
    throw invalid(`clock must be 'database' or 'caller', got ${describe(clock)}`);
  }
  const notifications = options.notifications ?? POSTGRES_STORAGE_DEFAULTS.notifications;
  if (typeof notifications !== 'boolean') {
    throw invalid(`notifications must be a boolean, got ${describe(notifications)}`);
  }
  return {
    source: poolInput(options),
    schema: schemaName(options.schema),
    clock,
    notifications,
    defaultHistoryLimit: positiveInteger(
      'defaultHistoryLimit',
      options.defaultHistoryLimit,
      POSTGRES_STORAGE_DEFAULTS.defaultHistoryLimit,
    ),
  };
}
