/**
 * A resolver for the URL guard's `resolver` option backed by a fixed table (the test servers
 * themselves come from `@again/test-utils`).
 *
 * @module
 */

/** A resolver backed by a fixed table; unknown names fail like getaddrinfo's ENOTFOUND. */
export function tableResolver(
  table: Readonly<Record<string, readonly string[]>>,
): (hostname: string) => Promise<{ address: string; family: number }[]> {
  return async (hostname) => {
    await new Promise((resolve) => setImmediate(resolve));
    const answers = table[hostname];
    if (answers === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    }
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}
