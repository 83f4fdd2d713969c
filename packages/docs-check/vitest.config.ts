import { defineConfig } from 'vitest/config';

// Only this package's own tests: the generated snippet modules (.snippets*/) are not tests.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
