import { promises as dns } from 'node:dns';

/** One answer of a {@link Resolver}. */
export interface ResolvedAddress {
  /** The IP address. */
  readonly address: string;
  /** 4 or 6 (recomputed from `address` by the guard). */
  readonly family: number;
}

/**
 * Resolves a host name to every address the connection may use. Must reject (or answer nothing)
 * when the name does not resolve; the guard then refuses with `dns-failure`. It is called for
 * the check and again inside the connection's `lookup`, so it must answer the way the connector
 * would; the default, {@link systemResolver}, is `dns.lookup` with `all: true`.
 *
 * @param hostname - The name exactly as the connector will resolve it (a trailing dot is kept).
 * @param options - `signal` aborts the resolution. When the caller gave no signal it is a shared
 *   signal that never aborts: remove any listener you add to it.
 * @returns Every address, in the resolver's order.
 *
 * @example
 * ```ts
 * const offline: Resolver = async (hostname) =>
 *   hostname === 'api.example.com' ? [{ address: '93.184.215.14', family: 4 }] : [];
 * ```
 */
export type Resolver = (
  hostname: string,
  options: { readonly signal: AbortSignal },
) => Promise<readonly ResolvedAddress[]>;

/**
 * @internal The signal given to resolvers when the caller gave none. It never aborts and is
 * shared, so {@link raceAbort} adds no listener to it (one `AbortController` per check would
 * cost more than the rest of a cached check).
 */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * @internal Settle with `promise`, or reject with `signal.reason` as soon as the signal aborts.
 * Resolvers cannot always be cancelled (`dns.lookup` cannot), so the caller stops waiting.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal === NEVER_ABORTED) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The default resolver: `dns.lookup(hostname, { all: true, order: 'verbatim' })`, the same
 * getaddrinfo path (with `/etc/hosts` and search domains) that Node's sockets use.
 *
 * @param hostname - The name to resolve.
 * @param options - `signal` stops waiting for the answer.
 * @returns Every address getaddrinfo returned.
 * @throws The `dns.lookup` error (e.g. `ENOTFOUND`), or `signal.reason` when aborted.
 *
 * @example
 * ```ts
 * const answers = await systemResolver('example.com', { signal: AbortSignal.timeout(5000) });
 * ```
 */
export const systemResolver: Resolver = (hostname, { signal }) =>
  raceAbort(dns.lookup(hostname, { all: true, order: 'verbatim' }), signal);
