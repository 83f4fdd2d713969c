/**
 * In-process write locks, one per database file.
 *
 * SQLite lets one connection write at a time, and a connection that finds the write lock taken
 * waits in SQLite's busy handler, which **sleeps the thread**. Between processes that is what we
 * want. Inside one process it is a trap: when a transaction stays open across an `await` (kysely's
 * API is async, and so is its `Migrator`), a second connection on the same file that starts a
 * write meanwhile sleeps on the very thread the first one needs to finish, until the busy timeout
 * ends it with `SQLITE_BUSY`.
 *
 * So every write transaction that spans awaits runs under this process's lock for its file, and a
 * synchronous transaction (which never spans an await) waits for that lock, asynchronously, when
 * it is held. Writes of one process to one file therefore never meet in SQLite's busy handler;
 * only other processes do.
 *
 * @module
 */

/** The write lock of one database file in this process. */
export class FileLock {
  /** Settles when the last holder or waiter so far has released the lock. */
  #tail: Promise<void> = Promise.resolve();
  /** Holders plus waiters. */
  #queued = 0;

  /** Whether a transaction holds the lock or waits for it. */
  get busy(): boolean {
    return this.#queued > 0;
  }

  /** Runs `body` once every earlier holder has released the lock, holding it until `body` settles. */
  async run<T>(body: () => Promise<T> | T): Promise<T> {
    this.#queued++;
    const previous = this.#tail;
    let release = (): void => {};
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await previous;
      return await body();
    } finally {
      this.#queued--;
      release();
    }
  }
}

/** The locks of the files stores have open, with how many stores share each. */
const locks = new Map<string, { readonly lock: FileLock; users: number }>();

/** A file's lock, shared by every store on the file; `release()` when the store closes. */
export interface FileLockHandle {
  readonly lock: FileLock;
  /** Gives the lock back (once the last store on the file releases it, it is forgotten). */
  release(): void;
}

/**
 * The lock of `file` (a path as SQLite reports it in `PRAGMA database_list`), or `null` for a
 * private database (`''`: in memory or temporary), which no other connection can open.
 */
export function acquireFileLock(file: string): FileLockHandle | null {
  if (file === '') return null;
  let entry = locks.get(file);
  if (entry === undefined) {
    entry = { lock: new FileLock(), users: 0 };
    locks.set(file, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    lock: held.lock,
    release: () => {
      if (released) return;
      released = true;
      held.users--;
      if (held.users === 0 && locks.get(file) === held) locks.delete(file);
    },
  };
}
