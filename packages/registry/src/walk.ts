/**
 * Breadth-first walk over an error and everything it links to: `cause` (standard since ES2022) and
 * the `errors` of an `AggregateError` (what `Promise.any` and Node's happy-eyeballs connect throw).
 * Returns true as soon as `test` accepts a node.
 *
 * Each object is visited once, so cycles (`a.cause = b; b.cause = a`) end. Links deeper than
 * `maxDepth` from the root are not followed, so a pathological chain cannot make a retry decision
 * slow. `null` and `undefined` are never visited: "no cause" is not an error.
 */
export function someInErrorGraph(
  root: unknown,
  maxDepth: number,
  test: (node: unknown) => boolean,
): boolean {
  if (root === null || root === undefined) return false;
  const seen = new Set<unknown>([root]);
  const queue: unknown[] = [root];
  const depths: number[] = [0];
  const enqueue = (value: unknown, depth: number): void => {
    if (value === null || value === undefined || seen.has(value)) return;
    seen.add(value);
    queue.push(value);
    depths.push(depth);
  };
  for (let index = 0; index < queue.length; index++) {
    const node = queue[index];
    if (test(node)) return true;
    const depth = depths[index] ?? 0;
    if (typeof node !== 'object' || node === null || depth >= maxDepth) continue;
    enqueue(read(node, 'cause'), depth + 1);
    // A loop, not a spread: an AggregateError with 150,000 members must not overflow the stack.
    for (const member of aggregateMembers(node)) enqueue(member, depth + 1);
  }
  return false;
}

const NO_MEMBERS: readonly unknown[] = [];

/**
 * `node[key]`, or `undefined` when reading it throws: anything can be thrown, including objects
 * whose getters throw and revoked proxies, and such a value simply has no links.
 */
export function read(node: unknown, key: string): unknown {
  try {
    return (node as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * The members of an `AggregateError`, also one from another realm (matched by name). Other objects
 * with an `errors` array (validation results, for example) are not walked: their entries are data,
 * not causes.
 */
function aggregateMembers(node: object): readonly unknown[] {
  try {
    const errors = read(node, 'errors');
    if (!Array.isArray(errors)) return NO_MEMBERS;
    const isAggregate = node instanceof AggregateError || read(node, 'name') === 'AggregateError';
    return isAggregate ? errors : NO_MEMBERS;
  } catch {
    // A revoked proxy (Array.isArray and instanceof throw on one): no members.
    return NO_MEMBERS;
  }
}
