export {
  POSTGRES_STORAGE_DEFAULTS,
  type PostgresClock,
  type PostgresStorageOptions,
} from './options.js';
export { createPostgresStorage } from './postgres-storage.js';
