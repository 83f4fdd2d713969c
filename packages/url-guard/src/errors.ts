import { isTemporaryResolverFailure } from './refusal.js';

/**
 * Every reason a URL, a redirect hop or a resolved address can be refused. The strings are
 * stable: match on them in code, tests and logs, never on error messages.
 *
 * - `invalid-url`: empty, unparsable, or without a host.
 * - `too-long`: longer than `maxLength` before or after normalisation.
 * - `control-character`: a C0/C1 control or DEL anywhere after trimming surrounding whitespace.
 * - `scheme`: the scheme is not in `allowedSchemes`.
 * - `non-canonical`: input that only parses after the WHATWG parser repairs it (backslashes,
 *   missing `//`, percent-encoded or IDNA-mapped hosts, non-canonical IPv4 spellings, port
 *   spellings with leading zeros).
 * - `userinfo`: any `@` in the authority, even an empty `https://@host`.
 * - `idn`: a non-ASCII host or an `xn--` label while `allowIdn` is off.
 * - `invalid-host`: empty labels, labels over 63 octets or names over 253 octets.
 * - `localhost`: `localhost` or `*.localhost` while `allowLocalhost` is off.
 * - `single-label`: a dotless name while `allowSingleLabelNames` is off.
 * - `special-use-name`: a special-use or private-use name (`*.internal`, `*.local`, `*.home.arpa`,
 *   `metadata.google.internal`, … see `SPECIAL_USE_NAMES`) while `allowSpecialUseNames` is off.
 * - `ip-literal`: an IP literal host while `allowIpLiterals` is off.
 * - `host-blocked`: the host matches `blockedHosts`.
 * - `host-not-allowed`: `allowedHosts` is set and the host matches none of it.
 * - `port`: port 0, or a port outside `allowedPorts`.
 * - `bad-port`: a port `fetch` never connects to (`FETCH_BAD_PORTS`: 1, 22, 25, 6000, 10080, …),
 *   whatever `allowedPorts` says.
 * - `private-address`: an address that is not globally reachable unicast.
 * - `metadata-address`: a cloud metadata address from `metadataAddresses`.
 * - `dns-failure`: resolution failed, answered nothing, or answered something that is not an IP.
 *   The only reason that is not a policy decision ({@link UrlGuardError.policyRefusal} is
 *   `false`); {@link UrlGuardError.temporary} says whether asking again later may succeed.
 * - `invalid-address`: {@link classifyAddress} was given something that is not an IP address.
 *   Counted as a policy refusal: the input itself cannot be allowed, and asking again with the
 *   same input gives the same answer (a resolver answering a non-IP is a `dns-failure`).
 * - `redirect-limit`: more than `maxRedirects` redirects.
 * - `redirect-loop`: a redirect back to a URL already requested with the same method.
 * - `redirect-downgrade`: a redirect from `https:` to `http:`.
 * - `redirect-invalid`: a `Location` header that is not a valid URL.
 * - `redirect-body`: a 307/308 redirect of a request whose body was a stream and cannot be re-sent.
 * - `redirect-refused`: a redirect while the request's `redirect` mode is `'error'`.
 */
export type UrlGuardReason =
  | 'invalid-url'
  | 'too-long'
  | 'control-character'
  | 'scheme'
  | 'non-canonical'
  | 'userinfo'
  | 'idn'
  | 'invalid-host'
  | 'localhost'
  | 'single-label'
  | 'special-use-name'
  | 'ip-literal'
  | 'host-blocked'
  | 'host-not-allowed'
  | 'port'
  | 'bad-port'
  | 'private-address'
  | 'metadata-address'
  | 'dns-failure'
  | 'invalid-address'
  | 'redirect-limit'
  | 'redirect-loop'
  | 'redirect-downgrade'
  | 'redirect-invalid'
  | 'redirect-body'
  | 'redirect-refused';

/**
 * All {@link UrlGuardReason} values, for exhaustive tests and documentation tables.
 *
 * @example
 * ```ts
 * URL_GUARD_REASONS.includes('scheme'); // true
 * ```
 */
export const URL_GUARD_REASONS: readonly UrlGuardReason[] = Object.freeze([
  'invalid-url',
  'too-long',
  'control-character',
  'scheme',
  'non-canonical',
  'userinfo',
  'idn',
  'invalid-host',
  'localhost',
  'single-label',
  'special-use-name',
  'ip-literal',
  'host-blocked',
  'host-not-allowed',
  'port',
  'bad-port',
  'private-address',
  'metadata-address',
  'dns-failure',
  'invalid-address',
  'redirect-limit',
  'redirect-loop',
  'redirect-downgrade',
  'redirect-invalid',
  'redirect-body',
  'redirect-refused',
] as const);

/** Context attached to a {@link UrlGuardError}. */
export interface UrlGuardErrorDetails {
  /** The URL (or redirect target) being checked, cut to 256 characters. */
  readonly url?: string | undefined;
  /** The host as the policy saw it (lower-case, no brackets). */
  readonly host?: string | undefined;
  /** The offending IP address, for address refusals. */
  readonly address?: string | undefined;
  /** The underlying error, e.g. the resolver's. */
  readonly cause?: unknown;
  /**
   * Whether a `dns-failure` may go away if asked again later. Omitted: worked out from `cause`
   * (see {@link isTemporaryResolverFailure}). Ignored for every other reason (always `false`).
   */
  readonly temporary?: boolean | undefined;
}

const MAX_URL_IN_ERROR = 256;

/**
 * A URL, redirect hop or address was refused by the outbound-URL policy.
 *
 * `code` is always `'ERR_URL_REFUSED'`; `reason` says why, as a stable {@link UrlGuardReason}.
 * `host` and `address` name what was refused when that is known.
 *
 * @example
 * ```ts
 * try {
 *   await egress.check('https://127.0.0.1/');
 * } catch (error) {
 *   if (error instanceof UrlGuardError && error.reason === 'ip-literal') {
 *     // refused: IP literals are off by default
 *   }
 * }
 * ```
 */
export class UrlGuardError extends Error {
  override readonly name: 'UrlGuardError' = 'UrlGuardError';
  /** Always `'ERR_URL_REFUSED'`. */
  readonly code: 'ERR_URL_REFUSED' = 'ERR_URL_REFUSED';
  /** Why the URL was refused. */
  readonly reason: UrlGuardReason;
  /** The URL (or redirect target) that was refused, cut to 256 characters. */
  readonly url: string | undefined;
  /** The refused host, lower-case and without IPv6 brackets. */
  readonly host: string | undefined;
  /** The refused IP address, for address refusals. */
  readonly address: string | undefined;
  /**
   * `true` when the policy judged the URL, a redirect or an address and said no (every reason
   * but `dns-failure`): asking again gives the same answer, so never retry it. `false` for a
   * `dns-failure`: the guard could not find out, so it refused to connect (fail closed), but
   * the destination was not judged.
   */
  readonly policyRefusal: boolean;
  /**
   * `true` for a `dns-failure` that may go away if asked again later (the resolver timed out,
   * the DNS server failed: `EAI_AGAIN`, `ETIMEOUT`, `ESERVFAIL`, …); `false` when the name does
   * not resolve (`ENOTFOUND`, no address) and for every policy refusal.
   */
  readonly temporary: boolean;

  /**
   * @param reason - The stable reason code.
   * @param message - A human-readable explanation (never match on it).
   * @param details - The URL, host, address and cause.
   */
  constructor(reason: UrlGuardReason, message: string, details: UrlGuardErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.reason = reason;
    this.url =
      details.url === undefined || details.url.length <= MAX_URL_IN_ERROR
        ? details.url
        : `${details.url.slice(0, MAX_URL_IN_ERROR)}…`;
    this.host = details.host;
    this.address = details.address;
    this.policyRefusal = reason !== 'dns-failure';
    this.temporary =
      reason === 'dns-failure' && (details.temporary ?? isTemporaryResolverFailure(details.cause));
  }
}

/**
 * An option given to {@link createUrlPolicy}, {@link createEgress} or {@link checkUrl} is invalid.
 *
 * `option` names the offending option (with an index for list entries, e.g. `allowedHosts[2]`).
 *
 * @example
 * ```ts
 * try {
 *   createUrlPolicy({ allowedSchemes: ['ftp'] });
 * } catch (error) {
 *   if (error instanceof UrlPolicyError) console.log(error.option); // 'allowedSchemes[0]'
 * }
 * ```
 */
export class UrlPolicyError extends Error {
  override readonly name: 'UrlPolicyError' = 'UrlPolicyError';
  /** Always `'ERR_URL_POLICY_INVALID'`. */
  readonly code: 'ERR_URL_POLICY_INVALID' = 'ERR_URL_POLICY_INVALID';
  /** The offending option, e.g. `maxRedirects` or `allowedHosts[2]`. */
  readonly option: string;

  /**
   * @param option - The offending option.
   * @param message - What is wrong with it.
   * @param cause - The underlying error, if any.
   */
  constructor(option: string, message: string, cause?: unknown) {
    super(
      `Invalid URL policy option \`${option}\`: ${message}`,
      cause === undefined ? undefined : { cause },
    );
    this.option = option;
  }
}
