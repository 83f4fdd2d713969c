import { RegistryError } from './errors.js';
import { checkOptionsObject, type MatchOptions, resolveMaxDepth } from './options.js';
import { read, someInErrorGraph } from './walk.js';

/**
 * A class whose instances are errors: `TypeError`, `DOMException`, undici's `SocketError`, your
 * own `class HttpError extends Error`. Matches with `instanceof`.
 *
 * @example
 * ```ts
 * class UpstreamBusyError extends Error {}
 * createRegistry().register(UpstreamBusyError, DOMException);
 * ```
 */
export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * A function that decides for itself. It is called with the thrown value and then with each
 * `cause` and `AggregateError` member in turn, and must return a boolean (a promise or any other
 * value makes `isTemporary` throw a `RegistryError` with code `ERR_REGISTRY_PREDICATE_FAILED`).
 *
 * @example
 * ```ts
 * createRegistry().register((error) => error instanceof HttpError && error.status >= 500);
 * ```
 */
export type ErrorPredicate = (error: unknown) => boolean;

/**
 * Matches errors whose `code` property equals `code` (a string, as Node and undici set it:
 * `'ECONNRESET'`, `'UND_ERR_SOCKET'`). With `name` too, both must match.
 *
 * @example
 * ```ts
 * createRegistry().register({ code: 'ECONNRESET' }, { code: 'E_BUSY', name: 'DbError' });
 * ```
 */
export interface CodeMatcher {
  /** The error code, compared with `===` against `error.code`. */
  readonly code: string;
  /** Optionally, the error name as well, compared with `===` against `error.name`. */
  readonly name?: string;
}

/**
 * Matches errors whose `name` property equals `name` (`'TimeoutError'`, `'AbortError'`). With
 * `code` too, both must match.
 *
 * @example
 * ```ts
 * createRegistry().register({ name: 'TimeoutError' });
 * ```
 */
export interface NameMatcher {
  /** Optionally, the error code as well, compared with `===` against `error.code`. */
  readonly code?: string;
  /** The error name, compared with `===` against `error.name`. */
  readonly name: string;
}

/**
 * Anything that says "this error is temporary". The kind is decided at run time, in this order:
 *
 * | value | matches an error (or any of its causes) that… |
 * | --- | --- |
 * | a string, e.g. `'ECONNRESET'` | has that `code` (a plain string is always a **code**) |
 * | `{ code: 'ECONNRESET' }` | has that `code` |
 * | `{ name: 'TimeoutError' }` | has that `name` |
 * | `{ code, name }` | has both |
 * | an `Error` instance | **is** that very object (identity), like Go's sentinel errors |
 * | an error class (`Error` or a subclass) | is an `instanceof` it |
 * | any other function | makes the predicate return `true` |
 *
 * Codes and names must be non-empty strings without whitespace. Objects may only have the keys
 * `code` and `name`, so a typo such as `{ nmae: 'X' }` is rejected instead of silently ignored.
 * A class that does not extend `Error` is rejected too: write `(e) => e instanceof MyClass`.
 *
 * @example
 * ```ts
 * import { createRegistry, type Matcher } from '@again/registry';
 *
 * const ErrQuota = new Error('quota exceeded'); // a sentinel, matched by identity
 * const matchers: Matcher[] = [
 *   'ECONNRESET',
 *   { name: 'TimeoutError' },
 *   ErrQuota,
 *   RangeError,
 *   (error) => error instanceof HttpError && error.status === 503,
 * ];
 * const registry = createRegistry({ matchers });
 * ```
 */
export type Matcher = string | CodeMatcher | NameMatcher | Error | ErrorClass | ErrorPredicate;

/** A validated matcher: its identity for deduplication, its listed form, and its test. */
export interface MatcherEntry {
  /** Equal keys mean the same matcher: a string for code/name matchers, else the value itself. */
  readonly key: unknown;
  /** What `list()` returns: the value as registered (object matchers as a frozen copy). */
  readonly matcher: Matcher;
  /** Tests one node of the error graph. */
  readonly test: (node: unknown) => boolean;
}

const TOKEN = /^\S+$/;
const OBJECT_KEYS: ReadonlySet<string> = new Set(['code', 'name']);
const EXPECTED =
  'expected an error code string, a { code } or { name } object, an Error instance, an Error class or a predicate function';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === '') return 'an empty string';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

function invalid(value: unknown, reason: string): RegistryError {
  const message = `invalid matcher (${describe(value)}): ${reason}`;
  return new RegistryError('ERR_REGISTRY_INVALID_MATCHER', message, { value });
}

function readToken(owner: unknown, field: 'code' | 'name', value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw invalid(owner, `${field} must be a non-empty string without whitespace`);
  }
  return value;
}

function codeNameEntry(
  matcher: Matcher,
  code: string | undefined,
  name: string | undefined,
): MatcherEntry {
  return {
    // JSON keeps ['A', null] and [null, 'A'] apart, and cannot collide with a reference key.
    key: JSON.stringify([code ?? null, name ?? null]),
    matcher,
    test: (node) => {
      if (typeof node !== 'object' || node === null) return false;
      return (
        (code === undefined || read(node, 'code') === code) &&
        (name === undefined || read(node, 'name') === name)
      );
    },
  };
}

function objectEntry(value: object): MatcherEntry {
  const extra = Object.keys(value).filter((key) => !OBJECT_KEYS.has(key));
  if (extra.length > 0) {
    throw invalid(value, `unknown key ${JSON.stringify(extra[0])}; only code and name are allowed`);
  }
  const fields = value as { code?: unknown; name?: unknown };
  const code = readToken(value, 'code', fields.code);
  const name = readToken(value, 'name', fields.name);
  if (code === undefined && name === undefined) {
    throw invalid(value, 'an object matcher needs a code or a name');
  }
  const frozen: CodeMatcher | NameMatcher = Object.freeze(
    code === undefined ? { name: name as string } : name === undefined ? { code } : { code, name },
  );
  return codeNameEntry(frozen, code, name);
}

/** `instanceof`, but `false` for a value it throws on (a revoked proxy). */
function isInstance(node: unknown, errorClass: ErrorClass): boolean {
  try {
    return node instanceof errorClass;
  } catch {
    return false;
  }
}

function isErrorClass(value: unknown): value is ErrorClass {
  return (
    value === Error ||
    (typeof value === 'function' && (value as { prototype?: unknown }).prototype instanceof Error)
  );
}

function predicateEntry(predicate: ErrorPredicate): MatcherEntry {
  return {
    key: predicate,
    matcher: predicate,
    test: (node) => {
      let result: unknown;
      try {
        result = predicate(node);
      } catch (cause) {
        throw new RegistryError('ERR_REGISTRY_PREDICATE_FAILED', 'a predicate matcher threw', {
          cause,
          value: predicate,
        });
      }
      if (typeof result !== 'boolean') {
        throw new RegistryError(
          'ERR_REGISTRY_PREDICATE_FAILED',
          `a predicate matcher returned ${describe(result)}; it must return a boolean`,
          { value: predicate },
        );
      }
      return result;
    },
  };
}

/**
 * Validates one matcher and turns it into an entry.
 *
 * @throws {@link RegistryError} with code `ERR_REGISTRY_INVALID_MATCHER` when `value` is not a
 * {@link Matcher}
 */
export function toEntry(value: unknown): MatcherEntry {
  if (typeof value === 'string') {
    return codeNameEntry(value, readToken(value, 'code', value), undefined);
  }
  if (value instanceof Error) return { key: value, matcher: value, test: (node) => node === value };
  if (isErrorClass(value)) {
    return { key: value, matcher: value, test: (node) => isInstance(node, value) };
  }
  if (typeof value === 'function') {
    // Calling a class without `new` throws, so say it now rather than on the first failure.
    if (/^class\b/.test(Function.prototype.toString.call(value))) {
      throw invalid(
        value,
        'a class that does not extend Error; use a predicate such as (e) => e instanceof MyClass',
      );
    }
    return predicateEntry(value as ErrorPredicate);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return objectEntry(value);
  }
  const hint = Array.isArray(value)
    ? 'pass matchers as separate arguments, not an array'
    : EXPECTED;
  throw invalid(value, hint);
}

/**
 * Validates a list of matchers (for an explicit `isTemporary` list or `matchesAny`).
 *
 * @throws {@link RegistryError} with code `ERR_REGISTRY_INVALID_MATCHER` when `matchers` is not an
 * array or one of its items is not a matcher
 */
export function toEntries(matchers: unknown): MatcherEntry[] {
  if (!Array.isArray(matchers)) {
    const message = `matchers must be an array, got ${describe(matchers)}`;
    throw new RegistryError('ERR_REGISTRY_INVALID_MATCHER', message, { value: matchers });
  }
  return matchers.map(toEntry);
}

/** Whether any node of the error graph is accepted by any entry. */
export function matchEntries(
  error: unknown,
  entries: readonly MatcherEntry[],
  maxDepth: number,
): boolean {
  if (entries.length === 0) return false;
  return someInErrorGraph(error, maxDepth, (node) => entries.some((entry) => entry.test(node)));
}

/**
 * Tells whether `error`, or anything in its `cause` chain or `AggregateError` members, matches
 * any of `matchers`, without a registry.
 *
 * `null` and `undefined` never match. An empty list never matches. Each object in the chain is
 * visited once (cycles are safe) and links deeper than `maxDepth` are not followed.
 *
 * @param error - the thrown value
 * @param matchers - the matchers to try; see {@link Matcher} for the kinds
 * @param options - how deep to walk ({@link MatchOptions})
 * @returns `true` when some matcher matches the error or one of its causes
 * @throws {@link RegistryError} `ERR_REGISTRY_INVALID_MATCHER` for a bad matcher,
 * `ERR_REGISTRY_INVALID_OPTION` for a bad `maxDepth`, `ERR_REGISTRY_PREDICATE_FAILED` when a
 * predicate throws or returns a non-boolean
 *
 * @example
 * ```ts
 * import { matchesAny } from '@again/registry';
 *
 * try {
 *   await fetch('http://127.0.0.1:2/'); // a closed port (9 would be a Fetch "bad port", refused unsent)
 * } catch (error) {
 *   // fetch throws TypeError('fetch failed') with the socket error as `cause`.
 *   matchesAny(error, [{ code: 'ECONNREFUSED' }, { name: 'TimeoutError' }]); // true
 * }
 * ```
 */
export function matchesAny(
  error: unknown,
  matchers: readonly Matcher[],
  options?: MatchOptions,
): boolean {
  checkOptionsObject(options, ['maxDepth']);
  const maxDepth = resolveMaxDepth(options);
  return matchEntries(error, toEntries(matchers), maxDepth);
}
