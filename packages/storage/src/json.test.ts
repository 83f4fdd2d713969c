import { describe, expect, it } from 'vitest';
import { StorageError } from './errors.js';
import { jsonObjectText, parseJsonObject } from './json.js';

function thrown(body: () => unknown): StorageError {
  try {
    body();
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('expected a throw');
}

function nested(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let current = root;
  for (let level = 1; level < depth; level++) {
    const next: Record<string, unknown> = {};
    current.next = next;
    current = next;
  }
  return root;
}

describe('jsonObjectText', () => {
  it.each([
    [
      'key order, integer keys first as JavaScript orders them',
      { z: 1, a: 2, 10: 'x', 2: 'y' },
      '{"2":"y","10":"x","z":1,"a":2}',
    ],
    [
      'a "__proto__" own key',
      JSON.parse('{"__proto__":{"a":1},"b":2}'),
      '{"__proto__":{"a":1},"b":2}',
    ],
    ['undefined properties dropped', { a: undefined, b: { c: undefined }, d: 1 }, '{"b":{},"d":1}'],
    ['-0 written as 0', { n: -0, list: [-0] }, '{"n":0,"list":[0]}'],
    [
      'lone surrogates and U+0000 escaped',
      { s: 'a\uD800b\u0000', '\uDC00': 1 },
      '{"s":"a\\ud800b\\u0000","\\udc00":1}',
    ],
    [
      'an object without a prototype',
      Object.assign(Object.create(null), { a: [null, true, 'x'] }),
      '{"a":[null,true,"x"]}',
    ],
    [
      'numbers at their limits',
      { a: 5e-324, b: 1.7976931348623157e308, c: 1e21, d: -1e-7 },
      '{"a":5e-324,"b":1.7976931348623157e+308,"c":1e+21,"d":-1e-7}',
    ],
  ])('writes %s exactly', (_what, value, text) => {
    expect(jsonObjectText(value, 'createJob', 'job.spec')).toBe(text);
  });

  it('accepts a value shared (not circular) between two places', () => {
    const shared = { x: 1 };
    expect(jsonObjectText({ a: shared, b: [shared] }, 'createJob', 'job.spec')).toBe(
      '{"a":{"x":1},"b":[{"x":1}]}',
    );
  });

  it.each([
    ['a Date', { at: new Date(0) }, 'job.spec.at'],
    ['a Map', { deep: { map: new Map() } }, 'job.spec.deep.map'],
    ['a class instance', { list: [1, new (class Point {})()] }, 'job.spec.list[1]'],
    ['a BigInt', { n: 1n }, 'job.spec.n'],
    ['a function', { f: () => 1 }, 'job.spec.f'],
    ['a symbol', { s: Symbol('s') }, 'job.spec.s'],
    ['NaN', { n: Number.NaN }, 'job.spec.n'],
    ['-Infinity', { n: Number.NEGATIVE_INFINITY }, 'job.spec.n'],
    ['an undefined array item', { list: [1, undefined] }, 'job.spec.list[1]'],
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is under test
    ['a hole', { list: [1, , 3] }, 'job.spec.list[1]'],
    ['an object with toJSON', { x: { toJSON: () => 'x' } }, 'job.spec.x.toJSON'],
    ['a boxed number', { n: new Number(1) }, 'job.spec.n'],
    ['an array at the top', [1], 'job.spec'],
    ['null at the top', null, 'job.spec'],
    ['a string at the top', '{}', 'job.spec'],
  ])('refuses %s, naming where it is', (_what, value, path) => {
    const error = thrown(() => jsonObjectText(value, 'createJob', 'job.spec'));
    expect(error).toMatchObject({ code: 'ERR_STORAGE_INVALID_ARGUMENT', operation: 'createJob' });
    expect(error.message).toContain(path);
  });

  it('refuses a cycle, through objects and arrays', () => {
    const cycle: Record<string, unknown> = {};
    cycle.list = [{ back: cycle }];
    const error = thrown(() => jsonObjectText(cycle, 'completeRuns', 'completions[0].result'));
    expect(error.code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
    expect(error.message).toContain('completions[0].result.list[0].back');
  });

  it('accepts 256 levels of nesting and refuses 257', () => {
    expect(jsonObjectText(nested(256), 'createJob', 'job.spec')).toMatch(/^\{"next":/);
    const error = thrown(() => jsonObjectText(nested(257), 'createJob', 'job.spec'));
    expect(error.code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
  });

  it('refuses a value whose getter or proxy trap throws, with that error as cause', () => {
    const failure = new Error('getter');
    const getter = {};
    Object.defineProperty(getter, 'x', {
      enumerable: true,
      get() {
        throw failure;
      },
    });
    const fromGetter = thrown(() => jsonObjectText(getter, 'createJob', 'job.spec'));
    expect(fromGetter.code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
    expect(fromGetter.cause).toBe(failure);
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw failure;
        },
      },
    );
    const fromTrap = thrown(() => jsonObjectText(trap, 'createJob', 'job.spec'));
    expect(fromTrap.code).toBe('ERR_STORAGE_INVALID_ARGUMENT');
    expect(fromTrap.cause).toBe(failure);
  });
});

describe('parseJsonObject', () => {
  it('parses stored text into a fresh object, keeping "__proto__" as data', () => {
    const text = '{"__proto__":{"polluted":true},"a":[1]}';
    const first = parseJsonObject(text, 'getJob', 'the spec of job "a"');
    const second = parseJsonObject(text, 'getJob', 'the spec of job "a"');
    expect(first).not.toBe(second);
    expect(Object.keys(first)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['text that is not JSON', '{"a":', true],
    ['an array', '[1]', false],
    ['null', 'null', false],
    ['a number', '1', false],
  ])('refuses %s with ERR_STORAGE_CORRUPT', (_what, text, hasCause) => {
    const error = thrown(() => parseJsonObject(text, 'getRun', 'the result of run "a@1"'));
    expect(error).toMatchObject({ code: 'ERR_STORAGE_CORRUPT', operation: 'getRun' });
    expect(error.message).toContain('the result of run "a@1"');
    expect(error.cause instanceof SyntaxError).toBe(hasCause);
  });
});
