/**
 * The tests' PostgreSQL: the server (`AGAIN_PG_URL`), whether it answers, and a schema per test
 * file that is dropped afterwards.
 *
 * Outside CI a missing server skips the tests that need it, saying so once per file; in CI
 * (`CI=true`) it fails the file instead, so a broken CI machine cannot pass by skipping.
 */

import pg from 'pg';
import { afterAll } from 'vitest';

/** The test server. */
export const PG_URL: string = process.env.AGAIN_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Whether the server answers, or why not. */
async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A test file's access to the server. */
export interface PgTestContext {
  /** Why the server cannot be used, or `null` when it can. */
  readonly skipReason: string | null;
  /** A pool for the test's own statements (setup, checks, `pg_terminate_backend`). */
  readonly admin: pg.Pool;
  /** A fresh schema name for this file, dropped (with everything in it) after the file. */
  schema(): string;
  /** Drops a schema now. */
  drop(schema: string): Promise<void>;
}

let counter = 0;

/**
 * Connects to the test server for one test file: call at the top level of the file, then
 * `describe.skipIf(pg.skipReason !== null)`.
 *
 * @param name - a short name of the file, used in its schema names (letters and underscores)
 */
export async function pgTestContext(name: string): Promise<PgTestContext> {
  const skipReason = await probe();
  if (skipReason !== null) {
    const reason = `PostgreSQL at ${PG_URL} is not reachable (${skipReason})`;
    if (process.env.CI === 'true') {
      throw new Error(`${reason}: CI needs it (.ci/run starts it)`);
    }
    console.warn(`[storage-postgres] skipping ${name} tests: ${reason}. Set AGAIN_PG_URL.`);
  }
  const admin = new pg.Pool({ connectionString: PG_URL, max: 4 });
  admin.on('error', () => {});
  const prefix = `t_${name}_${process.pid}_${Date.now().toString(36)}`;
  const created = new Set<string>();
  const drop = async (schema: string): Promise<void> => {
    created.delete(schema);
    await admin.query(`drop schema if exists "${schema}" cascade`);
  };
  afterAll(async () => {
    try {
      if (skipReason === null) for (const schema of [...created]) await drop(schema);
    } finally {
      await admin.end();
    }
  });
  return {
    skipReason: skipReason === null ? null : `PostgreSQL is not reachable: ${skipReason}`,
    admin,
    schema: () => {
      const schema = `${prefix}_${++counter}`;
      if (schema.length > 52) throw new Error(`schema name too long: ${schema}`);
      created.add(schema);
      return schema;
    },
    drop,
  };
}
