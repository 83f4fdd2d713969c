import { DEFAULT_TEMPORARY_ERRORS } from './defaults.js';
import { RegistryError } from './errors.js';
import { type Matcher, type MatcherEntry, matchEntries, toEntries, toEntry } from './matcher.js';
import { checkOptionsObject, type RegistryOptions, resolveMaxDepth } from './options.js';

/**
 * A set of matchers that classify errors as temporary (worth retrying). Structurally it is the
 * `{ isTemporary(error: unknown): boolean }` that `@again/retry` accepts as `registry`.
 *
 * Unlike go-again's `Registry`, registering the same matcher twice keeps one entry, and
 * `unregister` removes exactly the matcher given (not whatever `errors.Is` the target).
 *
 * @example
 * ```ts
 * import { createRegistry, type Registry } from '@again/registry';
 *
 * const registry: Registry = createRegistry().loadDefaults().register('EMFILE');
 * const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
 * registry.isTemporary(reset); // true
 * ```
 */
export interface Registry {
  /**
   * Adds matchers. A matcher already present (the same code/name, the same instance, class or
   * function) is not added again. All arguments are validated first, so on error nothing is added.
   *
   * @param matchers - the matchers to add; see {@link Matcher}
   * @returns the registry, for chaining
   * @throws {@link RegistryError} with code `ERR_REGISTRY_INVALID_MATCHER` when an argument is not
   * a matcher
   *
   * @example
   * ```ts
   * registry.register('ECONNRESET', { name: 'TimeoutError' }, MyUpstreamError);
   * ```
   */
  register(...matchers: readonly Matcher[]): Registry;
  /**
   * Removes one matcher: the same code/name (`'X'` and `{ code: 'X' }` are the same matcher), or
   * the very same instance, class or function.
   *
   * @param matcher - the matcher to remove
   * @returns `true` if it was registered
   * @throws {@link RegistryError} with code `ERR_REGISTRY_INVALID_MATCHER` when `matcher` is not a
   * matcher
   *
   * @example
   * ```ts
   * registry.unregister({ code: 'ECONNREFUSED' }); // true if it was there
   * ```
   */
  unregister(matcher: Matcher): boolean;
  /**
   * The registered matchers in registration order, as a new array (changing it changes nothing).
   * Object matchers are returned as frozen copies taken when they were registered.
   *
   * @returns a copy of the matcher list
   *
   * @example
   * ```ts
   * createRegistry().register('EPIPE').list(); // ['EPIPE']
   * ```
   */
  list(): Matcher[];
  /**
   * Removes every matcher. An empty registry says that no error is temporary.
   *
   * @example
   * ```ts
   * registry.clear();
   * registry.size; // 0
   * ```
   */
  clear(): void;
  /**
   * How many matchers are registered.
   *
   * @example
   * ```ts
   * createRegistry().loadDefaults().size; // DEFAULT_TEMPORARY_ERRORS.length
   * ```
   */
  readonly size: number;
  /**
   * Registers {@link DEFAULT_TEMPORARY_ERRORS}. Calling it again adds nothing.
   *
   * @returns the registry, for chaining
   *
   * @example
   * ```ts
   * const registry = createRegistry().loadDefaults().register(MyUpstreamError);
   * ```
   */
  loadDefaults(): Registry;
  /**
   * Tells whether `error` is temporary: whether it, or anything in its `cause` chain or its
   * `AggregateError` members, matches a matcher.
   *
   * With a non-empty `explicit` list, only that list is used and the registry is ignored (as in
   * go-again's `IsTemporaryError(err, errs...)`). `null` and `undefined` are never temporary, and
   * an empty registry (with no explicit list) says no error is.
   *
   * @param error - the thrown value
   * @param explicit - matchers that replace the registry's for this call, when not empty
   * @returns `true` when the error is temporary
   * @throws {@link RegistryError} `ERR_REGISTRY_INVALID_MATCHER` for a bad explicit matcher,
   * `ERR_REGISTRY_PREDICATE_FAILED` when a predicate throws or returns a non-boolean
   *
   * @example
   * ```ts
   * const registry = createRegistry().loadDefaults();
   * try {
   *   await fetch('http://127.0.0.1:2/'); // a closed port (9 would be a Fetch "bad port", refused unsent)
   * } catch (error) {
   *   registry.isTemporary(error); // true: TypeError('fetch failed') caused by ECONNREFUSED
   *   registry.isTemporary(error, ['EPIPE']); // false: only the explicit list counts
   * }
   * ```
   */
  isTemporary(error: unknown, explicit?: readonly Matcher[]): boolean;
}

/**
 * Creates a registry of temporary-error matchers, empty unless `options` says otherwise.
 *
 * @param options - initial matchers, whether to load the defaults, and the walk depth
 * @returns a new, independent {@link Registry}
 * @throws {@link RegistryError} `ERR_REGISTRY_INVALID_OPTION` for a bad option,
 * `ERR_REGISTRY_INVALID_MATCHER` for a bad initial matcher
 *
 * @example
 * ```ts
 * import { createRegistry } from '@again/registry';
 * import { createRetrier } from '@again/retry';
 *
 * class UpstreamBusyError extends Error {}
 *
 * const registry = createRegistry({ defaults: true }).register(UpstreamBusyError, 'EMFILE');
 * const retrier = createRetrier({ registry });
 * ```
 */
export function createRegistry(options?: RegistryOptions): Registry {
  checkOptionsObject(options, ['matchers', 'defaults', 'maxDepth']);
  const maxDepth = resolveMaxDepth(options);
  const entries = new Map<unknown, MatcherEntry>();
  // isTemporary iterates this snapshot, so a predicate that changes the registry cannot disturb
  // the walk in progress; every change makes a new one.
  let snapshot: readonly MatcherEntry[] = [];

  const registry: Registry = {
    register(...matchers) {
      const added = matchers.map(toEntry);
      for (const entry of added) {
        if (!entries.has(entry.key)) entries.set(entry.key, entry);
      }
      snapshot = [...entries.values()];
      return registry;
    },
    unregister(matcher) {
      const removed = entries.delete(toEntry(matcher).key);
      if (removed) snapshot = [...entries.values()];
      return removed;
    },
    list() {
      return snapshot.map((entry) => entry.matcher);
    },
    clear() {
      entries.clear();
      snapshot = [];
    },
    get size() {
      return entries.size;
    },
    loadDefaults() {
      return registry.register(...DEFAULT_TEMPORARY_ERRORS.map((row) => row.matcher));
    },
    isTemporary(error, explicit) {
      const chosen = explicit === undefined ? snapshot : toEntries(explicit);
      return matchEntries(error, chosen.length > 0 ? chosen : snapshot, maxDepth);
    },
  };

  const defaults = options?.defaults;
  if (defaults !== undefined && typeof defaults !== 'boolean') {
    throw new RegistryError('ERR_REGISTRY_INVALID_OPTION', 'defaults must be a boolean', {
      value: defaults,
    });
  }
  if (defaults === true) registry.loadDefaults();
  const initial = options?.matchers;
  if (initial !== undefined) {
    if (!Array.isArray(initial)) {
      throw new RegistryError('ERR_REGISTRY_INVALID_OPTION', 'matchers must be an array', {
        value: initial,
      });
    }
    registry.register(...initial);
  }
  return Object.freeze(registry);
}
