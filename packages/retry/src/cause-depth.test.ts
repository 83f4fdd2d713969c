import { describe, expect, it } from 'vitest';
import { matchesRetryOn } from './match.js';
import { MAX_CAUSE_DEPTH } from './walk.js';

// @again/retry has no dependencies, so it cannot import @again/registry's constant. This test
// keeps the two walks in step: the same depth, checked by behaviour on both sides. The registry
// is loaded from its sources in this workspace (a path TypeScript does not follow).
const REGISTRY = new URL('../../registry/src/index.ts', import.meta.url).href;

interface RegistryModule {
  REGISTRY_DEFAULTS: { maxDepth: number };
  createRegistry(): {
    register(...matchers: unknown[]): { isTemporary(error: unknown): boolean };
  };
}

function wrapped(target: unknown, depth: number): unknown {
  let error = target;
  for (let i = 0; i < depth; i++) error = new Error(`wrap ${i}`, { cause: error });
  return error;
}

describe('the cause-walk depth', () => {
  it("is @again/registry's default maxDepth, in value and in behaviour", async () => {
    const registry: RegistryModule = await import(/* @vite-ignore */ REGISTRY);
    expect(MAX_CAUSE_DEPTH).toBe(registry.REGISTRY_DEFAULTS.maxDepth);
    const temporary = registry.createRegistry().register('EDEPTH');
    for (const depth of [0, 1, MAX_CAUSE_DEPTH - 1, MAX_CAUSE_DEPTH, MAX_CAUSE_DEPTH + 1, 40]) {
      const error = wrapped(Object.assign(new Error('deep'), { code: 'EDEPTH' }), depth);
      expect([depth, matchesRetryOn(error, ['EDEPTH'])]).toEqual([
        depth,
        temporary.isTemporary(error),
      ]);
    }
  });
});
