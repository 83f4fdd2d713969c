import { describe, expect, it, vi } from 'vitest';
import {
  backendPids,
  createTestPool,
  pgTestContext,
  probePostgres,
  taggedConnection,
  terminateBackends,
} from './postgres.js';

const pg = await pgTestContext('utils');

describe.skipIf(pg.skipReason !== null)('PostgreSQL helpers', () => {
  it('hands out fresh schema names and drops a schema on demand', async () => {
    const [a, b] = [pg.schema(), pg.schema()];
    expect(a).not.toBe(b);
    expect(a).toMatch(/^t_utils_\d+_[0-9a-z]+_\d+$/);
    await pg.admin.query(`create schema "${a}"`);
    const exists = async (schema: string) =>
      (await pg.admin.query('select 1 from pg_namespace where nspname = $1', [schema])).rowCount;
    expect(await exists(a)).toBe(1);
    await pg.drop(a);
    expect(await exists(a)).toBe(0);
  });

  it('finds the backends of a tagged connection and terminates them', async () => {
    const { url, app } = taggedConnection(pg.url);
    const pool = createTestPool({ connectionString: url, max: 2 });
    try {
      await Promise.all([pool.query('select pg_sleep(0.05)'), pool.query('select 1')]);
      const pids = await backendPids(pg.admin, app);
      expect(pids.length).toBeGreaterThan(0);
      await terminateBackends(pg.admin, pids);
      await vi.waitFor(async () => expect(await backendPids(pg.admin, app)).toEqual([]));
      // The pool replaces the terminated connections (their errors are ignored).
      expect((await pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it('probePostgres says why a server does not answer', async () => {
    expect(await probePostgres(pg.url)).toBeNull();
    const url = new URL(pg.url);
    url.port = '1';
    expect(await probePostgres(url.toString())).toMatch(/ECONNREFUSED/);
  });
});
