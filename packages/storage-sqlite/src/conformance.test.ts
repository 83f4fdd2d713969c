import type { JobStore } from '@again/storage';
import { runStorageConformance } from '@again/storage-conformance';
import { createTempDir } from '@again/test-utils';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import * as vitest from 'vitest';
import { createSqliteStorage } from './sqlite-storage.js';

const dir = createTempDir();
vitest.afterAll(() => dir.remove());

// The main run: each store gets a fresh file; a peer is a second store with its own better-sqlite3
// connection on the same file, the way a second scheduler process sees it. Transactions run
// synchronously.
const files = new Map<JobStore, string>();
runStorageConformance({
  name: 'sqlite (file path; peers: own connections on the file)',
  create: async () => {
    const file = dir.file();
    const store = await createSqliteStorage(file);
    files.set(store, file);
    return store;
  },
  openPeer: async (store) => {
    const file = files.get(store);
    if (file === undefined) throw new Error('unknown store');
    return createSqliteStorage(file);
  },
  vitest,
});

// A Kysely instance passed in: the other way operations run (async, on a reserved connection).
// A peer is another Kysely instance on its own connection to the same file (the stores of one
// process wait for each other's transactions on the process's lock of the file). A better-sqlite3
// Database passed in runs exactly like a path (sqlite-storage.test.ts covers what differs).
const kyselys = new Map<JobStore, { file: string; instances: Array<Kysely<unknown>> }>();
function kyselyOn(file: string): Kysely<unknown> {
  return new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
}
runStorageConformance({
  name: 'sqlite (Kysely instance, synchronous normal; peers: own Kysely instances on the file)',
  create: async () => {
    const file = dir.file();
    const kysely = kyselyOn(file);
    const store = await createSqliteStorage({ database: kysely, synchronous: 'normal' });
    kyselys.set(store, { file, instances: [kysely] });
    return store;
  },
  openPeer: async (store) => {
    const entry = kyselys.get(store);
    if (entry === undefined) throw new Error('unknown store');
    const kysely = kyselyOn(entry.file);
    entry.instances.push(kysely);
    return createSqliteStorage({ database: kysely, synchronous: 'normal' });
  },
  destroy: async (store) => {
    await store.close();
    for (const kysely of kyselys.get(store)?.instances ?? []) await kysely.destroy();
    kyselys.delete(store);
  },
  vitest,
});
