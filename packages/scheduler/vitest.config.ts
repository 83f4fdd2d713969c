import { defineConfig } from 'vitest/config';

// The request-layer tests force garbage collections in the middle of a response body (a
// `Request`'s abort signal can be lost to GC; the scheduler must not depend on it), so workers
// run as child processes with `--expose-gc`. Flags like this one are refused by worker threads,
// hence the `forks` pool, which is also vitest's default.
export default defineConfig({
  test: {
    pool: 'forks',
    execArgv: ['--expose-gc'],
  },
});
