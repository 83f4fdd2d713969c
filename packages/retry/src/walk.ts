// Reading what a thrown value links to. Anything can be thrown, including objects whose getters
// throw and revoked proxies, so every read here is guarded: a value that cannot be read is a
// value without that property.

/**
 * How many links a walk follows from the thrown error: values `MAX_CAUSE_DEPTH` links away are
 * still looked at, their own links are not. The same limit as `@again/registry`'s default
 * `maxDepth`, so `retryOn`, Retry-After hints and a registry see the same errors.
 * @internal
 */
export const MAX_CAUSE_DEPTH = 32;

/** `value[key]`, or `undefined` when reading it throws. @internal */
export function read(value: unknown, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** `true` when `value` has a `cause` or an `errors` array that a walk could follow. @internal */
export function hasLinks(value: unknown): boolean {
  return isObject(value) && (read(value, 'cause') != null || Array.isArray(read(value, 'errors')));
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/**
 * Breadth-first walk over an error, its `cause` chain and `AggregateError` members (also from
 * another realm, told by name), cutting cycles and stopping at {@link MAX_CAUSE_DEPTH}. Returns
 * `true` as soon as `test` accepts a value; a `test` that throws counts as `false`.
 * @internal
 */
export function someInErrorGraph(root: unknown, test: (value: unknown) => boolean): boolean {
  // Most errors link to nothing: test the one value without building the walk's state.
  if (!hasLinks(root)) return root != null && safeTest(test, root);
  const seen = new Set<unknown>();
  let level: unknown[] = [root];
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && level.length > 0; depth++) {
    const next: unknown[] = [];
    for (const value of level) {
      if (value === undefined || value === null || seen.has(value)) continue;
      seen.add(value);
      if (safeTest(test, value)) return true;
      if (depth === MAX_CAUSE_DEPTH || !isObject(value)) continue;
      next.push(read(value, 'cause'));
      try {
        const members = read(value, 'errors');
        // A loop, not push(...members): 150,000 members would overflow the stack as arguments.
        if (Array.isArray(members) && isAggregate(value)) for (const m of members) next.push(m);
      } catch {
        // A revoked proxy as `errors`, or an iterator that throws: no members.
      }
    }
    level = next;
  }
  return false;
}

function isAggregate(value: object): boolean {
  return value instanceof AggregateError || read(value, 'name') === 'AggregateError';
}

/** `test(value)`; a test that throws (a value that cannot be inspected) matches nothing. */
function safeTest(test: (value: unknown) => boolean, value: unknown): boolean {
  try {
    return test(value);
  } catch {
    return false;
  }
}
