import type { JobStore } from '@again/storage';
import { runStorageConformance } from '@again/storage/conformance';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import * as vitest from 'vitest';
import { createSqliteStorage } from './sqlite-storage.js';
import { createTempDir } from './test-utils/temp-dir.js';

const dir = createTempDir();
vitest.afterAll(() => dir.remove());

// The main run: each store gets a fresh file; a peer is a second store (its own better-sqlite3
// connection) on the same file, the way a second scheduler process sees it.
const files = new Map<JobStore, string>();
runStorageConformance({
  name: 'sqlite (file path, peers on their own connections)',
  create: async () => {
    const file = dir.file();
    const store = await createSqliteStorage(file);
    files.set(store, file);
    return store;
  },
  openPeer: async (store) => createSqliteStorage(files.get(store) ?? ''),
  vitest,
});

// A Kysely instance passed in: the other way operations run (async, on a reserved connection).
// Peers share the instance (kysely serialises its one SQLite connection). A better-sqlite3
// Database passed in runs exactly like a path (sqlite-storage.test.ts covers what differs).
const kyselys = new Map<JobStore, Kysely<unknown>>();
runStorageConformance({
  name: 'sqlite (Kysely instance, synchronous normal)',
  create: async () => {
    const kysely = new Kysely<unknown>({
      dialect: new SqliteDialect({ database: new Database(dir.file()) }),
    });
    const store = await createSqliteStorage({ database: kysely, synchronous: 'normal' });
    kyselys.set(store, kysely);
    return store;
  },
  openPeer: async (store) => {
    const kysely = kyselys.get(store);
    if (kysely === undefined) throw new Error('unknown store');
    return createSqliteStorage({ database: kysely });
  },
  destroy: async (store) => {
    await store.close();
    await kyselys.get(store)?.destroy();
  },
  vitest,
});
