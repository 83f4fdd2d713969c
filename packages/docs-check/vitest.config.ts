import { defineConfig } from 'vitest/config';

// Only this package's own tests: the generated snippet modules (.snippets*/) are not tests.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // One TypeScript program and a few Node processes: seconds alone, longer on a busy machine.
    hookTimeout: 120_000,
  },
});
