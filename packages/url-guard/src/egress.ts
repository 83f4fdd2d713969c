import type { Agent } from 'undici';
import { createGuardedDispatcher, type EgressDispatcherOptions } from './agent.js';
import { type CheckedUrl, checkWithPolicy } from './check.js';
import { UrlPolicyError } from './errors.js';
import { guardedFetch } from './fetch.js';
import {
  type CompiledPolicy,
  compiledPolicyOf,
  createUrlPolicy,
  type NormalizedUrlPolicy,
  type UrlPolicyOptions,
} from './policy.js';
import { isUrlPolicyRefusal } from './refusal.js';
import { type Resolver, systemResolver } from './resolver.js';

/**
 * Options of {@link createEgress}: the URL policy, the resolver and the undici dispatcher options.
 *
 * @example
 * ```ts
 * const options: EgressOptions = {
 *   allowedHosts: ['*.example.com'],
 *   dispatcherOptions: { headersTimeout: 10_000 },
 * };
 * ```
 */
export interface EgressOptions extends UrlPolicyOptions {
  /**
   * Resolves host names, for the check and again at connect time.
   * @defaultValue {@link systemResolver}
   */
  readonly resolver?: Resolver;
  /**
   * Options of the undici `Agent` that carries the requests.
   * @defaultValue `{}`
   */
  readonly dispatcherOptions?: EgressDispatcherOptions;
}

/**
 * An outbound-HTTP gate: one policy, one checker and one guarded fetch that connects only to
 * checked addresses and re-checks every redirect hop.
 *
 * @example
 * ```ts
 * const egress: Egress = createEgress();
 * const response = await egress.fetch('https://hooks.example.com/notify', { method: 'POST', body: '{}' });
 * await egress.close();
 * ```
 */
export interface Egress {
  /**
   * Check a URL against the policy, resolving its host and checking every address.
   *
   * @param url - The URL to check.
   * @param options - `signal` aborts the check.
   * @returns The normalised URL and the checked addresses.
   * @throws {@link UrlGuardError} when the URL is refused; `signal.reason` when aborted.
   */
  check(url: string | URL, options?: { signal?: AbortSignal }): Promise<CheckedUrl>;
  /**
   * `fetch` with the policy applied to the URL and to every redirect hop, connecting only to
   * addresses that pass the policy at connect time. Works as ky's `fetch` option.
   *
   * @param input - URL string, URL or Request.
   * @param init - Request options (a `dispatcher` in them is ignored).
   * @returns A standard `Response` (`instanceof globalThis.Response`).
   * @throws {@link UrlGuardError} when the URL, a redirect or an address is refused.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * Whether an error from {@link Egress.check} or {@link Egress.fetch} is a policy refusal:
   * the URL, a redirect or an address was judged and refused, so trying again is pointless.
   * `false` for resolver failures (`dns-failure`, see `UrlGuardError.temporary`), transport
   * errors and anything else. The same as {@link isUrlPolicyRefusal}; callers that must not
   * import this package (a scheduler given the egress) use it from here.
   *
   * @param error - anything `check` or `fetch` threw.
   * @returns `true` for a policy refusal.
   */
  isRefusal(error: unknown): boolean;
  /** The frozen, normalised policy. */
  readonly policy: Readonly<NormalizedUrlPolicy>;
  /** Close the connection pool; later fetches fail. */
  close(): Promise<void>;
}

/** Validate egress options and build the policy and the guarded dispatcher. */
function setUp(options: EgressOptions): {
  policy: NormalizedUrlPolicy;
  compiled: CompiledPolicy;
  resolver: Resolver;
  dispatcher: Agent;
} {
  if (typeof options !== 'object' || options === null) {
    throw new UrlPolicyError('options', 'expected an object');
  }
  const { resolver = systemResolver, dispatcherOptions = {}, ...policyOptions } = options;
  if (typeof resolver !== 'function') throw new UrlPolicyError('resolver', 'expected a function');
  const policy = createUrlPolicy(policyOptions);
  const compiled = compiledPolicyOf(policy);
  const dispatcher = createGuardedDispatcher(compiled, resolver, dispatcherOptions);
  return { policy, compiled, resolver, dispatcher };
}

/**
 * Create an egress: a policy, a checker and a guarded `fetch` sharing one undici `Agent`.
 *
 * The guarded fetch checks the URL, then sends it through an undici `Agent` whose `lookup`
 * resolves again and refuses the connection unless every answer passes the policy (so DNS
 * rebinding cannot swap the address), whose connector checks IP literal hosts (which never
 * reach `lookup`) and the socket's remote address, and which keeps SNI and `Host` equal to the
 * URL's host. Redirects are followed here, at most `maxRedirects`, each hop re-checked in full;
 * https→http is refused; `authorization`, `cookie` and `proxy-authorization` are dropped when
 * the origin changes. The agent never uses environment proxies.
 *
 * @param options - Policy options plus `resolver` and `dispatcherOptions`.
 * @returns The egress.
 * @throws {@link UrlPolicyError} naming the option when an option is invalid.
 *
 * @example
 * ```ts
 * import ky from 'ky';
 * const egress = createEgress({ allowedPorts: [443] });
 * const api = ky.create({ fetch: egress.fetch });
 * const data = await api.get('https://api.example.com/items').json();
 * ```
 */
export function createEgress(options: EgressOptions = {}): Egress {
  const { policy, compiled, resolver, dispatcher } = setUp(options);
  const check = (url: string | URL, signal: AbortSignal | undefined): Promise<CheckedUrl> =>
    checkWithPolicy(compiled, resolver, url, signal);
  const context = { dispatcher, maxRedirects: policy.maxRedirects, check };
  return Object.freeze({
    policy,
    check: (url: string | URL, checkOptions: { signal?: AbortSignal } = {}) =>
      check(url, checkOptions.signal),
    fetch: (input: string | URL | Request, init?: RequestInit) =>
      guardedFetch(context, input, init),
    isRefusal: isUrlPolicyRefusal,
    close: () => dispatcher.close(),
  });
}

/**
 * Create the guarded undici `Agent` on its own, for undici's `request`/`stream` APIs or any
 * client that accepts an undici dispatcher. It checks addresses only (every DNS answer at
 * connect time, IP literal hosts, and the socket's remote address); the URL rules and redirect
 * re-checks are the egress's job, so prefer {@link createEgress} where a fetch will do.
 *
 * @param options - Policy options plus `resolver` and `dispatcherOptions`.
 * @returns An undici `Agent`; close it when done.
 * @throws {@link UrlPolicyError} naming the option when an option is invalid.
 *
 * @example
 * ```ts
 * import { request } from 'undici';
 * const dispatcher = createGuardedAgent();
 * const { statusCode } = await request('https://example.com/', { dispatcher });
 * ```
 */
export function createGuardedAgent(options: EgressOptions = {}): Agent {
  return setUp(options).dispatcher;
}
