/**
 * Temporary directories for the files a test writes (SQLite databases, certificates).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory, removed by {@link TempDir.remove}. */
export interface TempDir {
  /** The directory's absolute path. */
  readonly path: string;
  /** A fresh path inside the directory (not created): `name`, or a random `<uuid>.db`. */
  file(name?: string): string;
  /** Removes the directory and everything in it (no error if it is gone already). */
  remove(): void;
}

/**
 * Creates a directory under the system's temporary directory.
 *
 * @param prefix - the start of the directory's name
 * @returns the directory
 * @example
 * ```ts
 * const dir = createTempDir();
 * afterAll(() => dir.remove());
 * const store = await createSqliteStorage(dir.file());
 * ```
 */
export function createTempDir(prefix = 'again-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file: (name = `${randomUUID()}.db`) => join(path, name),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}
