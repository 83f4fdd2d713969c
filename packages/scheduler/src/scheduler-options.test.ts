import { createMemoryStorage } from '@again/storage-memory';
import { describe, expect, it } from 'vitest';
import { InvalidSchedulerOptionsError, resolveOptions } from './scheduler-options.js';

describe('resolveOptions: the egress’s isRefusal', () => {
  const storage = createMemoryStorage();
  const fetch = async (): Promise<Response> => new Response();

  it('passes it on, called on the egress', () => {
    const egress = {
      fetch,
      refused: new Set<unknown>(['no']),
      isRefusal(this: { refused: Set<unknown> }, error: unknown): boolean {
        return this.refused.has(error);
      },
    };
    const resolved = resolveOptions({ storage, egress });
    expect(resolved.isRefusal?.('no')).toBe(true);
    expect(resolved.isRefusal?.('yes')).toBe(false);
  });

  it('is null without one, and with unsafeAllowAnyUrl', () => {
    expect(resolveOptions({ storage, egress: { fetch } }).isRefusal).toBeNull();
    expect(resolveOptions({ storage, unsafeAllowAnyUrl: true, fetch }).isRefusal).toBeNull();
  });

  it('refuses one that is not a function', () => {
    let caught: unknown;
    try {
      resolveOptions({ storage, egress: { fetch, isRefusal: true } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidSchedulerOptionsError);
    expect((caught as InvalidSchedulerOptionsError).code).toBe('ERR_INVALID_SCHEDULER_OPTIONS');
    expect((caught as InvalidSchedulerOptionsError).issues.map((issue) => issue.path)).toEqual([
      'egress.isRefusal',
    ]);
  });
});
