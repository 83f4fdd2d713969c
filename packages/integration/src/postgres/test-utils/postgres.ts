/**
 * The tests' PostgreSQL (`AGAIN_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`), and a
 * schema per test file that is dropped afterwards. Outside CI a missing server skips the file's
 * tests, saying why; in CI (`CI=true`) it fails them.
 */
import pg from 'pg';
import { afterAll } from 'vitest';

/** The test server. */
export const PG_URL: string = process.env.AGAIN_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A test file's access to the server. */
export interface PgTestContext {
  /** Why the server cannot be used, or `null`. */
  readonly skipReason: string | null;
  /** A pool for the test's own reads. */
  readonly admin: pg.Pool;
  /** A fresh schema name, dropped (with everything in it) after the file. */
  schema(): string;
}

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

let counter = 0;

/** Connects for one test file; call at its top level, then `describe.skipIf(ctx.skipReason)`. */
export async function pgTestContext(name: string): Promise<PgTestContext> {
  const failure = await probe();
  const skipReason =
    failure === null ? null : `PostgreSQL at ${PG_URL} is not reachable (${failure})`;
  if (skipReason !== null) {
    if (process.env.CI === 'true') throw new Error(`${skipReason}: CI needs it`);
    console.warn(`[integration] skipping ${name}: ${skipReason}. Set AGAIN_PG_URL.`);
  }
  const admin = new pg.Pool({ connectionString: PG_URL, max: 3 });
  admin.on('error', () => {});
  const created: string[] = [];
  afterAll(async () => {
    try {
      if (skipReason === null) {
        for (const schema of created)
          await admin.query(`drop schema if exists "${schema}" cascade`);
      }
    } finally {
      await admin.end();
    }
  });
  return {
    skipReason,
    admin,
    schema: () => {
      const schema = `it_${name}_${process.pid}_${++counter}`;
      created.push(schema);
      return schema;
    },
  };
}
