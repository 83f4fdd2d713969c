import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_TEMPORARY_ERRORS } from './defaults.js';
import { RegistryError } from './errors.js';
import type { Matcher } from './matcher.js';
import { createRegistry, type Registry } from './registry.js';

const withCode = (code: string, cause?: unknown): Error =>
  Object.assign(new Error(`failed: ${code}`, cause === undefined ? {} : { cause }), { code });

class UpstreamError extends Error {}
class BusyError extends UpstreamError {}

function expectRegistryError(run: () => unknown, code: RegistryError['code']): RegistryError {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(RegistryError);
  expect((thrown as RegistryError).code).toBe(code);
  return thrown as RegistryError;
}

describe('createRegistry', () => {
  it('starts empty, and an empty registry says nothing is temporary', () => {
    const registry = createRegistry();
    expect(registry.size).toBe(0);
    expect(registry.list()).toEqual([]);
    expect(registry.isTemporary(withCode('ECONNRESET'))).toBe(false);
  });

  it('takes initial matchers and the defaults', () => {
    const registry = createRegistry({ defaults: true, matchers: ['EMFILE', UpstreamError] });
    expect(registry.size).toBe(DEFAULT_TEMPORARY_ERRORS.length + 2);
    expect(registry.isTemporary(withCode('EMFILE'))).toBe(true);
    expect(registry.isTemporary(new BusyError())).toBe(true);
    expect(registry.isTemporary(withCode('ECONNRESET'))).toBe(true);
  });

  it('satisfies the structural registry type @again/retry accepts', () => {
    const asRetryWantsIt: { isTemporary(error: unknown): boolean } = createRegistry().register('X');
    expect(asRetryWantsIt.isTemporary(withCode('X'))).toBe(true);
  });

  it('returns a frozen object', () => {
    const registry = createRegistry();
    expect(Object.isFrozen(registry)).toBe(true);
    expect(() => {
      (registry as { isTemporary: unknown }).isTemporary = () => true;
    }).toThrow(TypeError);
  });

  it.each([
    ['maxDepth -1', { maxDepth: -1 }],
    ['maxDepth 1.5', { maxDepth: 1.5 }],
    ['maxDepth NaN', { maxDepth: Number.NaN }],
    ['maxDepth 1001', { maxDepth: 1001 }],
    ['maxDepth as a string', { maxDepth: '3' }],
    ['defaults as a string', { defaults: 'yes' }],
    ['matchers not an array', { matchers: 'ECONNRESET' }],
    ['options null', null],
    ['options a string', 'defaults'],
    ['options an array', []],
    ['a misspelt option', { defualts: true }],
  ])('rejects %s with ERR_REGISTRY_INVALID_OPTION', (_label, options) => {
    expectRegistryError(() => createRegistry(options as never), 'ERR_REGISTRY_INVALID_OPTION');
  });

  it('rejects an invalid initial matcher with ERR_REGISTRY_INVALID_MATCHER', () => {
    expectRegistryError(
      () => createRegistry({ matchers: ['ok', ''] }),
      'ERR_REGISTRY_INVALID_MATCHER',
    );
  });
});

describe('register', () => {
  it('matches each matcher kind', () => {
    const sentinel = new Error('sentinel');
    const registry = createRegistry().register(
      'ECONNRESET',
      { code: 'EPIPE' },
      { name: 'TimeoutError' },
      { code: 'E_BOTH', name: 'BothError' },
      sentinel,
      UpstreamError,
      (error) => error instanceof RangeError,
    );
    expect(registry.size).toBe(7);
    // string code and { code }
    expect(registry.isTemporary(withCode('ECONNRESET'))).toBe(true);
    expect(registry.isTemporary(withCode('EPIPE'))).toBe(true);
    // a name is never read as a code, nor a code as a name
    expect(registry.isTemporary(withCode('TimeoutError'))).toBe(false);
    expect(registry.isTemporary(Object.assign(new Error('x'), { name: 'ECONNRESET' }))).toBe(false);
    // { name }
    expect(registry.isTemporary(new DOMException('slow', 'TimeoutError'))).toBe(true);
    // { code, name } needs both
    expect(registry.isTemporary(Object.assign(withCode('E_BOTH'), { name: 'BothError' }))).toBe(
      true,
    );
    expect(registry.isTemporary(withCode('E_BOTH'))).toBe(false);
    // instance: identity only
    expect(registry.isTemporary(sentinel)).toBe(true);
    expect(registry.isTemporary(new Error('sentinel'))).toBe(false);
    // class: instanceof, subclasses included
    expect(registry.isTemporary(new UpstreamError())).toBe(true);
    expect(registry.isTemporary(new BusyError())).toBe(true);
    // predicate
    expect(registry.isTemporary(new RangeError('r'))).toBe(true);
    expect(registry.isTemporary(new SyntaxError('s'))).toBe(false);
  });

  it('matches plain objects that carry a code (some libraries reject with them)', () => {
    const registry = createRegistry().register('ECONNRESET');
    expect(registry.isTemporary({ code: 'ECONNRESET' })).toBe(true);
    expect(registry.isTemporary({ code: 104 })).toBe(false);
  });

  it('treats DOMException and Error itself as classes', () => {
    expect(createRegistry().register(DOMException).isTemporary(new DOMException('x'))).toBe(true);
    const everything = createRegistry().register(Error);
    expect(everything.isTemporary(new TypeError('x'))).toBe(true);
    expect(everything.isTemporary('a thrown string')).toBe(false);
  });

  it('does not duplicate a matcher registered twice', () => {
    const sentinel = new Error('sentinel');
    const predicate = (error: unknown): boolean => error === 1;
    const registry = createRegistry()
      .register('ECONNRESET', { code: 'ECONNRESET' }, 'ECONNRESET')
      .register({ name: 'TimeoutError' }, { name: 'TimeoutError' })
      .register({ code: 'A', name: 'B' }, { name: 'B', code: 'A' })
      .register(sentinel, sentinel, UpstreamError, UpstreamError, predicate, predicate);
    expect(registry.size).toBe(6);
    // the first registration is the one listed
    expect(registry.list()[0]).toBe('ECONNRESET');
  });

  it('keeps code, name and code+name matchers apart', () => {
    const registry = createRegistry().register(
      { code: 'X' },
      { name: 'X' },
      { code: 'X', name: 'X' },
    );
    expect(registry.size).toBe(3);
  });

  it('keeps two different functions with the same source apart', () => {
    const registry = createRegistry().register(
      (error) => error === 1,
      (error) => error === 1,
    );
    expect(registry.size).toBe(2);
  });

  it('loadDefaults twice registers the table once (go-again appended it again)', () => {
    const registry = createRegistry().loadDefaults().loadDefaults();
    expect(registry.size).toBe(DEFAULT_TEMPORARY_ERRORS.length);
    expect(registry.list()).toEqual(DEFAULT_TEMPORARY_ERRORS.map((row) => row.matcher));
  });

  it('adds nothing when one argument is invalid', () => {
    const registry = createRegistry();
    expectRegistryError(
      () => registry.register('A', 42 as never, 'B'),
      'ERR_REGISTRY_INVALID_MATCHER',
    );
    expect(registry.size).toBe(0);
  });

  it('snapshots object matchers, so changing the object later changes nothing', () => {
    const matcher = { code: 'EPIPE' };
    const registry = createRegistry().register(matcher);
    matcher.code = 'ECONNRESET';
    expect(registry.isTemporary(withCode('EPIPE'))).toBe(true);
    expect(registry.isTemporary(withCode('ECONNRESET'))).toBe(false);
    expect(registry.list()).toEqual([{ code: 'EPIPE' }]);
    expect(Object.isFrozen(registry.list()[0])).toBe(true);
  });
});

describe('invalid matchers', () => {
  class NotAnError {}
  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['NaN', Number.NaN],
    ['a boolean', true],
    ['a bigint', 1n],
    ['a symbol', Symbol('ECONNRESET')],
    ['an empty string', ''],
    ['a blank string', '   '],
    ['a string with a space', 'ECONN RESET'],
    ['an empty object', {}],
    ['{ code: "" }', { code: '' }],
    ['{ code: 42 }', { code: 42 }],
    ['{ name: null }', { name: null }],
    ['a misspelt key', { nmae: 'TimeoutError' }],
    ['an extra key', { code: 'EPIPE', retries: 3 }],
    ['an array', ['ECONNRESET']],
    ['a class that does not extend Error', NotAnError],
  ])('rejects %s with ERR_REGISTRY_INVALID_MATCHER and the value', (_label, value) => {
    const error = expectRegistryError(
      () => createRegistry().register(value as Matcher),
      'ERR_REGISTRY_INVALID_MATCHER',
    );
    expect(error.value).toBe(value);
  });
});

describe('unregister', () => {
  it('removes the same matcher and says whether it was there', () => {
    const sentinel = new Error('sentinel');
    const registry = createRegistry().register('ECONNRESET', sentinel, UpstreamError, {
      name: 'X',
    });
    expect(registry.unregister({ code: 'ECONNRESET' })).toBe(true);
    expect(registry.unregister('ECONNRESET')).toBe(false);
    expect(registry.isTemporary(withCode('ECONNRESET'))).toBe(false);
    // a look-alike instance is a different matcher
    expect(registry.unregister(new Error('sentinel'))).toBe(false);
    expect(registry.unregister(sentinel)).toBe(true);
    // a subclass is not its parent (go-again removed by errors.Is, in the wrong direction)
    expect(registry.unregister(BusyError)).toBe(false);
    expect(registry.unregister(UpstreamError)).toBe(true);
    expect(registry.list()).toEqual([{ name: 'X' }]);
  });

  it('rejects an invalid matcher', () => {
    expectRegistryError(
      () => createRegistry().unregister(null as never),
      'ERR_REGISTRY_INVALID_MATCHER',
    );
  });
});

describe('list, size and clear', () => {
  it('list returns a copy in registration order', () => {
    const registry = createRegistry().register('A', 'B');
    const listed = registry.list();
    listed.push('C');
    listed.length = 0;
    expect(registry.list()).toEqual(['A', 'B']);
    expect(registry.list()).not.toBe(registry.list());
  });

  it('clear empties the registry', () => {
    const registry = createRegistry({ defaults: true });
    expect(registry.size).toBe(DEFAULT_TEMPORARY_ERRORS.length);
    registry.clear();
    expect(registry.size).toBe(0);
    expect(registry.list()).toEqual([]);
    expect(registry.isTemporary(withCode('ECONNRESET'))).toBe(false);
  });
});

describe('isTemporary with an explicit list', () => {
  const registry: Registry = createRegistry().register('ABORT_HANDLER');

  // go-again's TestRegistryIsTemporaryError, in our terms.
  it('uses only the explicit list when it is not empty', () => {
    expect(registry.isTemporary(withCode('ABORT_HANDLER'), ['ABORT_HANDLER'])).toBe(true);
    expect(registry.isTemporary(withCode('SKIP_ALT'), ['HANDLER_TIMEOUT'])).toBe(false);
    expect(registry.isTemporary(withCode('ABORT_HANDLER'), ['HANDLER_TIMEOUT'])).toBe(false);
  });

  it('falls back to the registry for an empty list', () => {
    expect(registry.isTemporary(withCode('ABORT_HANDLER'), [])).toBe(true);
  });

  it('validates the explicit list', () => {
    expectRegistryError(
      () => registry.isTemporary(new Error('x'), [{}] as never),
      'ERR_REGISTRY_INVALID_MATCHER',
    );
    expectRegistryError(
      () => registry.isTemporary(new Error('x'), 'X' as never),
      'ERR_REGISTRY_INVALID_MATCHER',
    );
  });
});

describe('walking causes', () => {
  const registry = createRegistry().register('ECONNRESET');

  it('follows a cause chain', () => {
    const error = new Error('outer', {
      cause: new Error('middle', { cause: withCode('ECONNRESET') }),
    });
    expect(registry.isTemporary(error)).toBe(true);
  });

  it('follows AggregateError members, also inside a cause', () => {
    const aggregate = new AggregateError([new Error('a'), withCode('ECONNRESET')], 'all failed');
    expect(registry.isTemporary(aggregate)).toBe(true);
    expect(registry.isTemporary(new Error('outer', { cause: aggregate }))).toBe(true);
    expect(registry.isTemporary(new AggregateError([new Error('a')]))).toBe(false);
  });

  it('does not walk the errors array of an object that is not an AggregateError', () => {
    const validation = Object.assign(new Error('invalid'), { errors: [{ code: 'ECONNRESET' }] });
    expect(registry.isTemporary(validation)).toBe(false);
  });

  it('ends on a cycle, with or without a match', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(registry.isTemporary(a)).toBe(false);
    const c = withCode('ECONNRESET', a);
    (b as { cause?: unknown }).cause = c;
    expect(registry.isTemporary(a)).toBe(true);
    const self = new Error('self');
    (self as { cause?: unknown }).cause = self;
    expect(registry.isTemporary(self)).toBe(false);
  });

  it('visits each object of a cycle once', () => {
    const visited: unknown[] = [];
    const counting = createRegistry().register((error) => {
      visited.push(error);
      return false;
    });
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    const aggregate = new AggregateError([a, b]);
    (aggregate as { errors: unknown[] }).errors.push(aggregate);
    expect(counting.isTemporary(aggregate)).toBe(false);
    expect(visited).toEqual([aggregate, a, b]);
  });

  it('ends on an AggregateError that contains itself', () => {
    const members: unknown[] = [];
    const aggregate = new AggregateError(members);
    (aggregate as { errors: unknown[] }).errors.push(aggregate);
    expect(registry.isTemporary(aggregate)).toBe(false);
  });

  it('stops at maxDepth (32 by default)', () => {
    const chain = (depth: number): Error => {
      let error = withCode('ECONNRESET');
      for (let level = 0; level < depth; level++)
        error = new Error(`level ${level}`, { cause: error });
      return error;
    };
    expect(registry.isTemporary(chain(32))).toBe(true);
    expect(registry.isTemporary(chain(33))).toBe(false);
    const deep = createRegistry({ maxDepth: 1000 }).register('ECONNRESET');
    expect(deep.isTemporary(chain(1000))).toBe(true);
    const shallow = createRegistry({ maxDepth: 0 }).register('ECONNRESET');
    expect(shallow.isTemporary(chain(1))).toBe(false);
    expect(shallow.isTemporary(chain(0))).toBe(true);
  });
});

describe('hostile errors', () => {
  const registry = createRegistry().loadDefaults().register(UpstreamError, { name: 'BusyError' });

  /** An error whose every property read throws. */
  function throwingGetters(): Error {
    const error = new Error('hostile');
    for (const key of ['code', 'name', 'cause', 'errors', 'message']) {
      Object.defineProperty(error, key, {
        get() {
          throw new Error(`reading ${key}`);
        },
      });
    }
    return error;
  }

  function revokedProxy(): object {
    const { proxy, revoke } = Proxy.revocable(new Error('gone'), {});
    revoke();
    return proxy;
  }

  it('survives an AggregateError with 150,000 members', { timeout: 60_000 }, () => {
    // Plain objects: 150,000 Errors would spend seconds capturing stack traces. Walking 300,000
    // members takes 0.5 s alone but over 5 s in the loaded gate: hence the long timeout.
    const members: unknown[] = Array.from({ length: 150_000 }, (_, i) => ({ code: `M${i}` }));
    expect(registry.isTemporary(new AggregateError(members))).toBe(false);
    members.push(withCode('ECONNRESET'));
    expect(registry.isTemporary(new AggregateError(members))).toBe(true);
  });

  it.each([
    ['getters that throw', throwingGetters],
    ['a revoked proxy', revokedProxy],
  ])('says "not temporary" for an error with %s, and still looks at its neighbours', (_n, make) => {
    expect(registry.isTemporary(make())).toBe(false);
    expect(registry.isTemporary(new AggregateError([make(), withCode('ECONNRESET')]))).toBe(true);
    expect(registry.isTemporary(new Error('outer', { cause: make() }))).toBe(false);
  });
});

describe('predicates', () => {
  it('see the error and each cause, and never null or undefined', () => {
    const seen: unknown[] = [];
    const registry = createRegistry().register((error) => {
      seen.push(error);
      return false;
    });
    const inner = 'a thrown string';
    const outer = new Error('outer', { cause: inner });
    expect(registry.isTemporary(outer)).toBe(false);
    expect(seen).toEqual([outer, inner]);
    seen.length = 0;
    expect(registry.isTemporary(null)).toBe(false);
    expect(registry.isTemporary(undefined)).toBe(false);
    expect(seen).toEqual([]);
  });

  it('wrap what a predicate throws in ERR_REGISTRY_PREDICATE_FAILED with the cause', () => {
    const boom = new Error('boom');
    const predicate = (): boolean => {
      throw boom;
    };
    const error = expectRegistryError(
      () => createRegistry().register(predicate).isTemporary(new Error('x')),
      'ERR_REGISTRY_PREDICATE_FAILED',
    );
    expect(error.cause).toBe(boom);
    expect(error.value).toBe(predicate);
  });

  it('reject a non-boolean result such as the promise of an async predicate', () => {
    const asyncPredicate = (async () => true) as unknown as Matcher;
    expectRegistryError(
      () => createRegistry().register(asyncPredicate).isTemporary(new Error('x')),
      'ERR_REGISTRY_PREDICATE_FAILED',
    );
  });

  it('may change the registry while it runs without disturbing the current call', () => {
    const registry = createRegistry();
    const predicate = vi.fn((): boolean => {
      registry.clear();
      return false;
    });
    registry.register(predicate, 'ECONNRESET');
    expect(registry.isTemporary(new Error('outer', { cause: withCode('ECONNRESET') }))).toBe(true);
    expect(registry.size).toBe(0);
  });
});
