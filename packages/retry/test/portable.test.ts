import { describe, expect, it } from 'vitest';
import { PORTABLE_CASES, runPortableCases } from './portable-cases.js';

// The portable cases in Node; browser.test.ts runs the same module bundled in Chromium.
describe('portable cases in Node', () => {
  it('are many, with unique names', () => {
    expect(PORTABLE_CASES.length).toBeGreaterThanOrEqual(50);
    expect(new Set(PORTABLE_CASES.map((c) => c.name)).size).toBe(PORTABLE_CASES.length);
  });

  it.each(PORTABLE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await c.run();
  });

  it('the runner reports every case, in order, and all pass', async () => {
    const results = await runPortableCases();
    expect(results.map((r) => r.name)).toEqual(PORTABLE_CASES.map((c) => c.name));
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
