export { createMemoryStorage } from './memory-store.js';
export { MEMORY_STORAGE_DEFAULTS, type MemoryStorageOptions } from './options.js';
