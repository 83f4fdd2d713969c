/**
 * Schema migrations: kysely's `Migrator`, inside the store's schema, under an advisory lock.
 *
 * @module
 */

import { Migrator } from 'kysely';
import type { Database } from './database.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, type Queries } from './queries.js';
import { rowDecoder } from './rows.js';

/** Whether every migration is applied (a read, no lock). */
async function upToDate(db: Database, q: Queries): Promise<boolean> {
  const [table] = await db.rows(q.migrationTableExists());
  if (table?.exists !== true) return false;
  const applied = new Set(
    (await db.rows(q.appliedMigrations())).map((row) => rowDecoder.text(row, 'name')),
  );
  return Object.keys(q.migrations()).every((name) => applied.has(name));
}

/**
 * Brings the schema up to date. A store on an up-to-date schema only reads the migration table.
 * Otherwise it takes the schema's advisory lock (`pg_advisory_lock(ADVISORY_LOCK_CLASS,
 * hashtext(schema))`, on one connection that also runs the migrations), so instances starting at
 * once migrate one after the other: the first does the work, the others find nothing left. kysely
 * runs the migrations in one transaction (PostgreSQL's DDL is transactional), so a failed migration
 * leaves nothing behind. The lock is a session lock: if the connection dies, the server releases it.
 *
 * @param db - the store's database
 * @param q - the store's statements
 */
export async function migrate(db: Database, q: Queries): Promise<void> {
  if (await upToDate(db, q)) return;
  await db.session(async (connection) => {
    await q.lockMigrations().execute(connection);
    try {
      const { error } = await new Migrator({
        db: connection,
        provider: { getMigrations: async () => q.migrations() },
        migrationTableSchema: q.schema,
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: MIGRATION_LOCK_TABLE,
      }).migrateToLatest();
      if (error !== undefined) throw error;
    } finally {
      // On a dead connection the server has released the lock already.
      await q
        .unlockMigrations()
        .execute(connection)
        .catch(() => {});
    }
  });
}
