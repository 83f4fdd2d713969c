import { describe, expect, it } from 'vitest';
import { RegistryError } from './errors.js';

describe('RegistryError', () => {
  it('carries a literal name, a code, the value and the cause', () => {
    const cause = new Error('inner');
    const error = new RegistryError('ERR_REGISTRY_PREDICATE_FAILED', 'a predicate matcher threw', {
      cause,
      value: 'the predicate',
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('RegistryError');
    expect(error.code).toBe('ERR_REGISTRY_PREDICATE_FAILED');
    expect(error.value).toBe('the predicate');
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('a predicate matcher threw');
  });

  it('has no cause property when none is given', () => {
    const error = new RegistryError('ERR_REGISTRY_INVALID_MATCHER', 'bad');
    expect('cause' in error).toBe(false);
    expect(error.value).toBeUndefined();
  });
});
