import { StorageError } from '@again/storage';
import { describe, expect, it } from 'vitest';
import { POSTGRES_STORAGE_DEFAULTS, type PostgresStorageOptions } from './options.js';
import { createPostgresStorage } from './postgres-storage.js';

/** A pool that records whether the store touched it (validation must fail before connecting). */
function untouchedPool(): {
  pool: NonNullable<PostgresStorageOptions['pool']>;
  touched: () => boolean;
} {
  let touched = false;
  return {
    pool: {
      connect: async () => {
        touched = true;
        throw new Error('connect must not be called');
      },
      end: async () => {
        touched = true;
      },
    },
    touched: () => touched,
  };
}

async function refusal(options: unknown): Promise<StorageError> {
  try {
    await createPostgresStorage(options as PostgresStorageOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
    expect((error as StorageError).operation).toBe('createPostgresStorage');
    return error as StorageError;
  }
  throw new Error('expected a refusal');
}

describe('createPostgresStorage options', () => {
  it('has documented defaults', () => {
    expect(POSTGRES_STORAGE_DEFAULTS).toEqual({
      maxConnections: 10,
      schema: 'again',
      clock: 'database',
      notifications: true,
      defaultHistoryLimit: 20,
    });
    expect(Object.isFrozen(POSTGRES_STORAGE_DEFAULTS)).toBe(true);
  });

  // `POOL` stands for a pool that must stay untouched.
  const POOL = Symbol('pool');
  it.each([
    ['an unknown key', { pool: POOL, schemaName: 'x' }, /unknown option: schemaName/],
    ['several unknown keys', { pool: POOL, max: 1, ssl: true }, /unknown options: max, ssl/],
    ['no pool and no connection string', { schema: 'again' }, /pool or connectionString/],
    [
      'both a pool and a connection string',
      { pool: POOL, connectionString: 'postgres://x' },
      /not both/,
    ],
    ['an empty connection string', { connectionString: ' ' }, /connectionString must be/],
    ['a connection string that is not a string', { connectionString: 5432 }, /connectionString/],
    ['a pool without connect()', { pool: { end: async () => {} } }, /pool must be/],
    ['maxConnections with a pool', { pool: POOL, maxConnections: 5 }, /maxConnections/],
    [
      'maxConnections of 0',
      { connectionString: 'postgres://x', maxConnections: 0 },
      /maxConnections/,
    ],
    [
      'a fractional maxConnections',
      { connectionString: 'postgres://x', maxConnections: 1.5 },
      /maxConnections/,
    ],
    ['a schema with a dash', { pool: POOL, schema: 'my-schema' }, /schema must be an identifier/],
    ['a schema with a quote', { pool: POOL, schema: 'a"; drop table x; --' }, /schema must be/],
    ['a schema with a dot', { pool: POOL, schema: 'a.b' }, /schema must be/],
    ['a schema starting with a digit', { pool: POOL, schema: '1again' }, /schema must be/],
    ['a schema starting with pg_', { pool: POOL, schema: 'pg_again' }, /schema must be/],
    ['an empty schema', { pool: POOL, schema: '' }, /schema must be/],
    ['a schema of 53 characters', { pool: POOL, schema: 'a'.repeat(53) }, /schema must be/],
    ['a schema that is not a string', { pool: POOL, schema: 42 }, /schema must be/],
    ['an unknown clock', { pool: POOL, clock: 'local' }, /clock must be 'database' or 'caller'/],
    [
      'notifications that are not a boolean',
      { pool: POOL, notifications: 'yes' },
      /notifications must be/,
    ],
    ['a defaultHistoryLimit of 0', { pool: POOL, defaultHistoryLimit: 0 }, /defaultHistoryLimit/],
    [
      'a defaultHistoryLimit of Infinity',
      { pool: POOL, defaultHistoryLimit: Infinity },
      /defaultHistoryLimit/,
    ],
  ])('refuses %s, naming the key, before connecting', async (_what, options, message) => {
    const { pool, touched } = untouchedPool();
    const withPool = Object.fromEntries(
      Object.entries(options).map(([key, value]) => [key, value === POOL ? pool : value]),
    );
    const error = await refusal(withPool);
    expect(error.message).toMatch(message);
    expect(touched()).toBe(false);
  });

  it.each([
    ['null', null],
    ['an array', [{ connectionString: 'postgres://x' }]],
    ['a number', 5432],
  ])('refuses %s as options', async (_what, options) => {
    const error = await refusal(options);
    expect(error.message).toMatch(/options must be an object or a connection string/);
  });

  it('accepts the longest schema name and identifiers with capitals and underscores', async () => {
    // Valid options get as far as connecting: the refusal is then the pool's, not validation's.
    for (const schema of ['a'.repeat(52), 'Jobs_2024', '_private']) {
      const { pool, touched } = untouchedPool();
      const error = await createPostgresStorage({ pool, schema }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe('ERR_STORAGE');
      expect(touched()).toBe(true);
    }
  });
});
