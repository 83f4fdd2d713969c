import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory for the test file's databases, removed by `remove()`. */
export interface TempDir {
  readonly path: string;
  /** A fresh database file path inside the directory (not created). */
  file(name?: string): string;
  remove(): void;
}

export function createTempDir(prefix = 'again-sqlite-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file: (name = `${randomUUID()}.db`) => join(path, name),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}
