import type { JobStore } from '@again/storage';
import { runStorageConformance } from '@again/storage-conformance';
import { PG_URL, pgTestContext } from '@again/test-utils/postgres';
import * as vitest from 'vitest';
import { createPostgresStorage } from './postgres-storage.js';

const pg = await pgTestContext('conf');

// Each test gets a fresh schema. The suite drives time itself, so the stores follow the callers'
// clock (`clock: 'caller'`); a peer is a second store with its own pool on the same schema, the
// way another scheduler instance sees it. Pools stay small: the race cases open five instances.
const schemas = new Map<JobStore, string>();
const open = (schema: string): Promise<JobStore> =>
  createPostgresStorage({ connectionString: PG_URL, schema, clock: 'caller', maxConnections: 4 });

runStorageConformance({
  name: 'postgres (clock: caller; peers: own pools on the schema)',
  create: async () => {
    const schema = pg.schema();
    const store = await open(schema);
    schemas.set(store, schema);
    return store;
  },
  openPeer: async (store) => {
    const schema = schemas.get(store);
    if (schema === undefined) throw new Error('unknown store');
    return open(schema);
  },
  destroy: async (store) => {
    await store.close();
    const schema = schemas.get(store);
    schemas.delete(store);
    if (schema !== undefined) await pg.drop(schema);
  },
  vitest: {
    ...vitest,
    describe: pg.skipReason === null ? vitest.describe : vitest.describe.skip,
  },
});
