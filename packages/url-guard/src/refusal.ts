/**
 * What a refusal is: whether a guard error is a policy decision (never worth retrying) and
 * whether a resolver failure is temporary. Structural, so errors from another copy of this
 * package are judged the same way.
 *
 * @module
 */

/** Resolver error codes that say "try again later" (getaddrinfo, c-ares, sockets). */
const TEMPORARY_RESOLVER_CODES: ReadonlySet<string> = new Set([
  // getaddrinfo: temporary failure in name resolution; out of memory.
  'EAI_AGAIN',
  'EAI_MEMORY',
  // c-ares (dns.Resolver): timeouts, server failures, garbled or refused answers, no server.
  'ETIMEOUT',
  'ESERVFAIL',
  'EREFUSED',
  'EBADRESP',
  'ECONNREFUSED',
  'EOF',
  'ENOMEM',
  // Sockets under a custom resolver (DNS over TCP/HTTPS).
  'ETIMEDOUT',
  'ECONNRESET',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** Most errors {@link isTemporaryResolverFailure} and {@link isUrlPolicyRefusal} look at. */
const MAX_WALK = 32;

/**
 * Walks an error, its `cause` chain and `AggregateError` members, outermost first: bounded and
 * cycle-safe. `visit` returns `true` to stop, or `'skip'` not to descend into that error.
 */
function walk(error: unknown, visit: (item: object) => boolean | 'skip'): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < MAX_WALK) {
    const item = queue.shift();
    if (typeof item !== 'object' || item === null || seen.has(item)) continue;
    seen.add(item);
    let verdict: boolean | 'skip';
    let cause: unknown;
    let members: unknown;
    try {
      verdict = visit(item);
      if (verdict === true) return true;
      if (verdict === 'skip') continue;
      cause = (item as { cause?: unknown }).cause;
      members = (item as { errors?: unknown }).errors;
    } catch {
      // A throwing getter on a hostile error: nothing more to learn from it.
      continue;
    }
    if (cause !== undefined) queue.push(cause);
    if (Array.isArray(members)) queue.push(...members.slice(0, MAX_WALK));
  }
  return false;
}

/**
 * Whether a resolver's error means "try again later": a timeout (`EAI_AGAIN`, `ETIMEOUT`, an
 * `AbortSignal.timeout` `TimeoutError`) or a server failure (`ESERVFAIL`, `EREFUSED`, no server
 * reachable), as opposed to an answer that the name does not exist (`ENOTFOUND`, `ENODATA`,
 * `EAI_FAIL`). Looks along the `cause` chain and `AggregateError` members.
 *
 * @param error - what the resolver threw.
 * @returns `true` for temporary failures; `false` otherwise, and for anything unknown.
 * @example
 * ```ts
 * isTemporaryResolverFailure(Object.assign(new Error('queryA ETIMEOUT'), { code: 'ETIMEOUT' })); // true
 * isTemporaryResolverFailure(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })); // false
 * ```
 */
export function isTemporaryResolverFailure(error: unknown): boolean {
  return walk(error, (item) => {
    const { code, name } = item as { code?: unknown; name?: unknown };
    return (
      (typeof code === 'string' && TEMPORARY_RESOLVER_CODES.has(code)) || name === 'TimeoutError'
    );
  });
}

/**
 * Whether `error` is, or wraps, a policy refusal by a URL guard: a {@link UrlGuardError} whose
 * {@link UrlGuardError.policyRefusal} is `true`. Such a request will be refused again, so it is
 * not worth retrying; a `dns-failure` is not a policy refusal.
 *
 * Looks at the error, its `cause` chain (e.g. undici's `TypeError('fetch failed')`) and
 * `AggregateError` members, at most 32 errors, cycle-safe. A guard error's own `cause` is not
 * searched: its verdict stands. The match is structural (`name` `'UrlGuardError'`, `code`
 * `'ERR_URL_REFUSED'`), so errors from another copy of this package count too; a copy without
 * `policyRefusal` is judged by its `reason`.
 *
 * @param error - anything thrown by a check or a guarded fetch.
 * @returns `true` for a policy refusal.
 * @example
 * ```ts
 * try {
 *   await egress.fetch(url);
 * } catch (error) {
 *   if (isUrlPolicyRefusal(error)) markInvalid(url); // never retry
 *   else scheduleRetry();
 * }
 * ```
 */
export function isUrlPolicyRefusal(error: unknown): boolean {
  return walk(error, (item) => {
    const guard = item as {
      name?: unknown;
      code?: unknown;
      policyRefusal?: unknown;
      reason?: unknown;
    };
    if (guard.name !== 'UrlGuardError' || guard.code !== 'ERR_URL_REFUSED') return false;
    const verdict =
      typeof guard.policyRefusal === 'boolean'
        ? guard.policyRefusal
        : typeof guard.reason === 'string' && guard.reason !== 'dns-failure';
    return verdict ? true : 'skip';
  });
}
