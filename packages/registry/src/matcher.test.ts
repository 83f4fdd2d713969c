import { describe, expect, it } from 'vitest';
import { RegistryError } from './errors.js';
import { matchesAny } from './matcher.js';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
  code: 'ECONNREFUSED',
});

describe('matchesAny', () => {
  it('matches without a registry, through causes', () => {
    const error = new TypeError('fetch failed', { cause: refused });
    expect(matchesAny(error, ['ECONNREFUSED'])).toBe(true);
    expect(matchesAny(error, [{ name: 'TimeoutError' }])).toBe(false);
    expect(matchesAny(error, [TypeError])).toBe(true);
  });

  it('never matches with an empty list, or for null and undefined', () => {
    expect(matchesAny(refused, [])).toBe(false);
    expect(matchesAny(null, [() => true])).toBe(false);
    expect(matchesAny(undefined, [() => true])).toBe(false);
  });

  it('honours maxDepth', () => {
    const error = new TypeError('fetch failed', { cause: refused });
    expect(matchesAny(error, ['ECONNREFUSED'], { maxDepth: 0 })).toBe(false);
    expect(matchesAny(error, ['ECONNREFUSED'], { maxDepth: 1 })).toBe(true);
  });

  it('rejects bad matchers and options with typed errors', () => {
    expect(() => matchesAny(refused, [null as never])).toThrow(RegistryError);
    expect(() => matchesAny(refused, 'ECONNREFUSED' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_REGISTRY_INVALID_MATCHER' }),
    );
    expect(() => matchesAny(refused, ['X'], { maxDepth: -1 })).toThrow(
      expect.objectContaining({ name: 'RegistryError', code: 'ERR_REGISTRY_INVALID_OPTION' }),
    );
    expect(() => matchesAny(refused, ['X'], { depth: 2 } as never)).toThrow(
      expect.objectContaining({ name: 'RegistryError', code: 'ERR_REGISTRY_INVALID_OPTION' }),
    );
    expect(() => matchesAny(refused, ['X'], 3 as never)).toThrow(
      expect.objectContaining({ name: 'RegistryError', code: 'ERR_REGISTRY_INVALID_OPTION' }),
    );
  });
});
