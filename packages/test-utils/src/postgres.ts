/**
 * The tests' PostgreSQL: the server (`AGAIN_PG_URL`, default
 * `postgres://postgres@127.0.0.1:5432/test`), whether it answers, a fresh schema per test that is
 * dropped after the file, and the admin statements tests run on the side (terminating backends).
 *
 * Outside CI a missing server skips the tests that need it, saying so once per file; in CI
 * (`CI=true`) it fails the file instead, so a broken CI machine cannot pass by skipping.
 *
 * @module
 */
import { basename } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';

/** The test server's connection string: `AGAIN_PG_URL`, or the local server's `test` database. */
export const PG_URL: string = process.env.AGAIN_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Whether a server answers a query.
 *
 * @param connectionString - the server (default {@link PG_URL})
 * @returns `null` when it answers, else why not (the driver's message)
 * @example
 * ```ts
 * const down = await probePostgres();
 * ```
 */
export async function probePostgres(connectionString: string = PG_URL): Promise<string | null> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 3000 });
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

/** Options of {@link createTestPool}. */
export interface TestPoolOptions {
  /** The server (default {@link PG_URL}). */
  readonly connectionString?: string;
  /** Most connections (default 4). */
  readonly max?: number;
}

/**
 * A `pg` pool whose idle-client errors are ignored (a test that terminates backends must not
 * crash the process through the pool's `error` event). The caller ends it.
 *
 * @param options - the server and the pool's size
 * @returns the pool
 * @example
 * ```ts
 * const pool = createTestPool({ max: 3 });
 * try { … } finally { await pool.end(); }
 * ```
 */
export function createTestPool(options: TestPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString ?? PG_URL,
    max: options.max ?? 4,
  });
  pool.on('error', () => {});
  return pool;
}

let tags = 0;

/**
 * A connection string whose backends carry a unique `application_name`, to find them in
 * `pg_stat_activity` (see {@link backendPids}).
 *
 * @param connectionString - the server (default {@link PG_URL})
 * @returns the tagged connection string and the name
 * @example
 * ```ts
 * const { url, app } = taggedConnection();
 * const store = await createPostgresStorage({ connectionString: url, schema });
 * await terminateBackends(admin, await backendPids(admin, app));
 * ```
 */
export function taggedConnection(connectionString: string = PG_URL): { url: string; app: string } {
  const app = `again_test_${process.pid}_${++tags}`;
  const url = new URL(connectionString);
  url.searchParams.set('application_name', app);
  return { url: url.toString(), app };
}

/**
 * The backends connected with `application_name` `app`.
 *
 * @param admin - a pool or client on the server
 * @param app - the name (see {@link taggedConnection})
 * @returns their process ids
 * @example
 * ```ts
 * expect(await backendPids(admin, app)).toEqual([]);
 * ```
 */
export async function backendPids(admin: pg.Pool | pg.ClientBase, app: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    'select pid from pg_stat_activity where application_name = $1',
    [app],
  );
  return rows.map((row) => row.pid);
}

/**
 * Terminates backends (as a server restart or an administrator would), waiting up to 5 s for each
 * to go.
 *
 * @param admin - a pool or client on the server, not one of the backends
 * @param pids - the backends' process ids
 * @example
 * ```ts
 * await terminateBackends(admin, [pid]);
 * ```
 */
export async function terminateBackends(
  admin: pg.Pool | pg.ClientBase,
  pids: readonly number[],
): Promise<void> {
  await admin.query('select pg_terminate_backend(pid, 5000) from unnest($1::int[]) as pid', [
    [...pids],
  ]);
}

/** A test file's access to the server. */
export interface PgTestContext {
  /** Why the server cannot be used, or `null` when it can. */
  readonly skipReason: string | null;
  /** The server's connection string. */
  readonly url: string;
  /** A pool for the test's own statements (setup, checks, `pg_terminate_backend`). */
  readonly admin: pg.Pool;
  /** A fresh schema name (not created), dropped with everything in it after the file. */
  schema(): string;
  /** Drops a schema now. */
  drop(schema: string): Promise<void>;
}

/** Options of {@link pgTestContext}. */
export interface PgTestContextOptions {
  /** The server (default {@link PG_URL}). */
  readonly connectionString?: string;
  /** Names the tests in the skip notice (default: the directory vitest runs in, the package's). */
  readonly label?: string;
}

let schemas = 0;

/**
 * Connects to the test server for one test file: call it at the top level of the file, then
 * `describe.skipIf(pg.skipReason !== null)`. Registers an `afterAll` that drops the file's
 * schemas and ends the admin pool.
 *
 * @param name - a short name of the file, used in its schema names (letters and underscores)
 * @param options - the server, and the label of the skip notice
 * @returns the context
 * @throws Error in CI (`CI=true`) when the server does not answer
 * @example
 * ```ts
 * const pg = await pgTestContext('store');
 * describe.skipIf(pg.skipReason !== null)('on PostgreSQL', () => {
 *   it('works', async () => {
 *     const store = await createPostgresStorage({ connectionString: pg.url, schema: pg.schema() });
 *   });
 * });
 * ```
 */
export async function pgTestContext(
  name: string,
  options: PgTestContextOptions = {},
): Promise<PgTestContext> {
  const url = options.connectionString ?? PG_URL;
  const failure = await probePostgres(url);
  const skipReason = failure === null ? null : `PostgreSQL at ${url} is not reachable (${failure})`;
  if (skipReason !== null) {
    if (process.env.CI === 'true') {
      throw new Error(`${skipReason}: CI needs it (.ci/run starts it)`);
    }
    const label = options.label ?? basename(process.cwd());
    console.warn(`[${label}] skipping ${name} tests: ${skipReason}. Set AGAIN_PG_URL.`);
  }
  const admin = createTestPool({ connectionString: url });
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
    skipReason,
    url,
    admin,
    schema: () => {
      const schema = `${prefix}_${++schemas}`;
      if (schema.length > 52) throw new Error(`schema name too long: ${schema}`);
      created.add(schema);
      return schema;
    },
    drop,
  };
}
