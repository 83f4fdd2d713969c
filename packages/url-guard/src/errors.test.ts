import { describe, expect, it } from 'vitest';
import { URL_GUARD_REASONS, UrlGuardError, UrlPolicyError } from './errors.js';

describe('UrlGuardError', () => {
  it('carries a literal name, a stable code, the reason and context', () => {
    const cause = new Error('root');
    const error = new UrlGuardError('private-address', 'refused', {
      url: 'https://x.example/',
      host: 'x.example',
      address: '10.0.0.1',
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'UrlGuardError',
      code: 'ERR_URL_REFUSED',
      reason: 'private-address',
      url: 'https://x.example/',
      host: 'x.example',
      address: '10.0.0.1',
    });
    expect(error.cause).toBe(cause);
  });

  it('cuts very long URLs', () => {
    const error = new UrlGuardError('too-long', 'long', {
      url: `https://x.example/${'a'.repeat(10_000)}`,
    });
    expect(error.url?.length).toBe(257);
  });

  it('lists every reason once', () => {
    expect(new Set(URL_GUARD_REASONS).size).toBe(URL_GUARD_REASONS.length);
    expect(URL_GUARD_REASONS).toContain('redirect-downgrade');
    expect(Object.isFrozen(URL_GUARD_REASONS)).toBe(true);
  });
});

describe('UrlPolicyError', () => {
  it('names the option', () => {
    const error = new UrlPolicyError('allowedHosts[2]', 'bad');
    expect(error).toMatchObject({
      name: 'UrlPolicyError',
      code: 'ERR_URL_POLICY_INVALID',
      option: 'allowedHosts[2]',
    });
    expect(error.message).toContain('allowedHosts[2]');
  });
});
