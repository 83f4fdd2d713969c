export {
  type AnyKysely,
  SQLITE_STORAGE_DEFAULTS,
  type SqliteStorageOptions,
  type SqliteSynchronous,
} from './options.js';
export { createSqliteStorage } from './sqlite-storage.js';
