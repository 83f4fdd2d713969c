import { isIPv4 } from 'node:net';
import { domainToUnicode } from 'node:url';
import { isBadPort } from './bad-ports.js';
import { classifyParsed, parseIp } from './classify.js';
import { UrlGuardError, type UrlGuardReason, UrlPolicyError } from './errors.js';
import {
  type CompiledPolicy,
  checkAddress,
  compiledPolicyOf,
  createUrlPolicy,
  type HostMatcher,
  isValidName,
  matchesHost,
  type UrlPolicyOptions,
} from './policy.js';
import { NEVER_ABORTED, type Resolver, raceAbort, systemResolver } from './resolver.js';
import { isSpecialUseName } from './special-use-names.js';

/** An address the guard checked and allowed. */
export interface CheckedAddress {
  /** Canonical address (dotted quad, or RFC 5952 IPv6 without brackets). */
  readonly address: string;
  /** 4 or 6. */
  readonly family: 4 | 6;
}

/**
 * A URL that passed the policy, with the addresses that were checked.
 *
 * @example
 * ```ts
 * const checked: CheckedUrl = await egress.check('https://example.com/hook');
 * checked.href; // 'https://example.com/hook'
 * checked.addresses; // [{ address: '93.184.215.14', family: 4 }]
 * ```
 */
export interface CheckedUrl {
  /** The parsed, normalised URL (a fresh object the caller may keep). */
  readonly url: URL;
  /** `url.href`: the normalised URL to send. */
  readonly href: string;
  /** The host as resolved and connected to: lower case, IPv6 without brackets. */
  readonly hostname: string;
  /** Every address the host resolved to (or the literal), each checked. */
  readonly addresses: readonly CheckedAddress[];
}

/**
 * Options of {@link checkUrl}: the policy options plus a resolver and an abort signal.
 *
 * @example
 * ```ts
 * const options: CheckUrlOptions = { allowedHosts: ['example.com'], signal: AbortSignal.timeout(5000) };
 * ```
 */
export interface CheckUrlOptions extends UrlPolicyOptions {
  /**
   * Resolves host names.
   * @defaultValue {@link systemResolver}
   */
  readonly resolver?: Resolver;
  /** Aborts the check; the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

function refuse(reason: UrlGuardReason, message: string, url: string, host?: string): never {
  throw new UrlGuardError(reason, message, { url, host });
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7e) return false;
  return true;
}

function isAsciiWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

function trimAsciiWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isAsciiWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isAsciiWhitespace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/**
 * Whether a host is on the block list. An IPv6 literal that carries an IPv4 address (mapped,
 * NAT64, local-use NAT64 in any layout, 6to4, Teredo, …) is blocked when any IPv4 address it can
 * be read as carrying is, so `[::ffff:808:808]` cannot spell its way around a blocked `8.8.8.8`.
 */
function isBlocked(blocked: HostMatcher, hostKey: string, literal: string | null): boolean {
  if (matchesHost(blocked, hostKey)) return true;
  if (literal === null || !literal.includes(':')) return false;
  const parsed = parseIp(literal);
  if (parsed === null) return false;
  return classifyParsed(parsed).embeddings.some(({ ipv4 }) => blocked.exact.has(ipv4.address));
}

/** What would allow a scheme, for the refusal message. */
function schemeRemedy(scheme: string, allowed: readonly string[]): string {
  if (scheme !== 'https' && scheme !== 'http') return 'only https and http can be allowed';
  return `allow it with allowedSchemes: [${[...allowed, scheme].map((s) => `'${s}'`).join(', ')}]`;
}

/** The result of the synchronous part of a check. */
interface VettedUrl {
  readonly url: URL;
  readonly href: string;
  /** As connected to: `url.hostname` without IPv6 brackets. */
  readonly hostname: string;
  /** The literal address, or `null` for a name. */
  readonly literal: string | null;
}

/**
 * @internal Everything but DNS: input hygiene, parsing, scheme, userinfo, host rules, lists, port
 * and length. Throws a {@link UrlGuardError} on the first failure.
 */
export function vetUrl(compiled: CompiledPolicy, input: unknown): VettedUrl {
  const { policy } = compiled;
  let raw: string;
  if (typeof input === 'string') raw = input;
  else if (input instanceof URL) raw = input.href;
  else throw new UrlGuardError('invalid-url', 'The URL must be a string or a URL object.');

  const text = trimAsciiWhitespace(raw);
  const where = text.length > 0 ? text : raw;
  if (text.length === 0) refuse('invalid-url', 'The URL is empty.', raw);
  if (text.length > policy.maxLength) {
    refuse(
      'too-long',
      `The URL is ${text.length} characters long; the limit is ${policy.maxLength}.`,
      where,
    );
  }
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
      refuse(
        'control-character',
        `The URL contains the control character U+${code.toString(16).padStart(4, '0')}.`,
        where,
      );
    }
  }

  const scheme = SCHEME.exec(text)?.[0];
  if (scheme === undefined) refuse('invalid-url', 'The URL has no scheme.', where);
  const schemeName = scheme.slice(0, -1).toLowerCase();
  if (!compiled.schemes.has(schemeName)) {
    refuse(
      'scheme',
      `The scheme "${schemeName}" is not allowed (allowed: ${policy.allowedSchemes.join(', ')}); ${schemeRemedy(schemeName, policy.allowedSchemes)}.`,
      where,
    );
  }
  if (!text.startsWith('//', scheme.length)) {
    refuse('non-canonical', `The URL must be written as ${schemeName}://host/…`, where);
  }

  // The authority ends at the first "/", "?" or "#" (RFC 3986). A backslash inside it is refused
  // rather than read as "/" the way WHATWG does, because other parsers disagree about it.
  const authorityStart = scheme.length + 2;
  let authorityEnd = authorityStart;
  while (authorityEnd < text.length) {
    const char = text[authorityEnd];
    if (char === '/' || char === '?' || char === '#') break;
    authorityEnd++;
  }
  const authority = text.slice(authorityStart, authorityEnd);
  if (authority.length === 0) refuse('invalid-url', 'The URL has no host.', where);
  if (authority.includes('\\'))
    refuse('non-canonical', 'The URL has a backslash in its host.', where);
  if (authority.includes('@'))
    refuse('userinfo', 'The URL has userinfo (an "@" before the host).', where);
  if (authority.includes('%'))
    refuse('non-canonical', 'The URL has a percent-encoded host.', where);
  if (authority.includes(' ')) refuse('invalid-url', 'The URL has a space in its host.', where);
  const asciiAuthority = isAscii(authority);
  if (!asciiAuthority && !policy.allowIdn) {
    refuse(
      'idn',
      'The host has non-ASCII characters and IDN is off; allow it with allowIdn: true.',
      where,
    );
  }

  let rawHost: string;
  let rawPort: string | null = null;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) refuse('invalid-url', 'The IPv6 literal has no closing bracket.', where);
    rawHost = authority.slice(0, close + 1);
    const rest = authority.slice(close + 1);
    if (rest.length > 0) {
      if (!rest.startsWith(':'))
        refuse('invalid-url', 'Unexpected text after the IPv6 literal.', where);
      rawPort = rest.slice(1);
    }
  } else {
    const colon = authority.lastIndexOf(':');
    rawHost = colon === -1 ? authority : authority.slice(0, colon);
    rawPort = colon === -1 ? null : authority.slice(colon + 1);
  }

  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new UrlGuardError('invalid-url', 'The URL does not parse.', { url: where, cause: error });
  }
  if (url.username !== '' || url.password !== '')
    refuse('userinfo', 'The URL has userinfo.', where);
  if (rawPort !== null && (rawPort.length === 0 || rawPort !== String(Number(rawPort)))) {
    refuse('non-canonical', `The port "${rawPort}" is not written canonically.`, where);
  }

  const urlHostname = url.hostname;
  if (urlHostname.length === 0) refuse('invalid-url', 'The URL has no host.', where);
  let hostname: string;
  let hostKey: string;
  let literal: string | null = null;
  const bracketed = urlHostname.startsWith('[');
  if (bracketed || isIPv4(urlHostname)) {
    hostname = bracketed ? urlHostname.slice(1, -1) : urlHostname;
    hostKey = hostname;
    literal = hostname;
    if (!policy.allowIpLiterals)
      refuse(
        'ip-literal',
        'IP literal hosts are not allowed; allow them with allowIpLiterals: true (the address must still pass the address policy).',
        where,
        hostname,
      );
    // WHATWG reads 0x7f.1, 127.1, 2130706433 and 0177.0.0.1 as 127.0.0.1; other parsers read
    // them differently, so only the canonical dotted quad is accepted.
    if (!bracketed && rawHost !== urlHostname) {
      refuse(
        'non-canonical',
        `The IPv4 literal "${rawHost}" is not a canonical dotted quad.`,
        where,
        hostname,
      );
    }
  } else {
    hostname = urlHostname;
    // The raw host must already be what the URL parser produced: no IDNA-mapped look-alikes
    // (fullwidth dots, circled letters, zero-width characters, soft hyphens).
    const canonical = asciiAuthority
      ? rawHost.toLowerCase() === urlHostname
      : rawHost.toLowerCase().normalize('NFC') === domainToUnicode(urlHostname);
    if (!canonical) {
      refuse(
        'non-canonical',
        `The host "${rawHost}" is not in canonical form (${urlHostname}).`,
        where,
        urlHostname,
      );
    }
    const name = urlHostname.endsWith('.') ? urlHostname.slice(0, -1) : urlHostname;
    hostKey = name;
    if (!isValidName(name)) {
      refuse(
        'invalid-host',
        `The host "${urlHostname}" has an empty or over-long label.`,
        where,
        name,
      );
    }
    if (!policy.allowLocalhost && (name === 'localhost' || name.endsWith('.localhost'))) {
      refuse(
        'localhost',
        `The host "${name}" is a localhost name; allow it with allowLocalhost: true (its addresses must still pass: allowPrivateAddresses or allowedAddresses).`,
        where,
        name,
      );
    }
    if (!policy.allowSingleLabelNames && !name.includes('.') && name !== 'localhost') {
      refuse(
        'single-label',
        `The host "${name}" is a single-label name; allow it with allowSingleLabelNames: true.`,
        where,
        name,
      );
    }
    if (!policy.allowSpecialUseNames && isSpecialUseName(name)) {
      refuse(
        'special-use-name',
        `The host "${name}" is a special-use or private-use name, answered by local resolvers rather than public DNS; allow it with allowSpecialUseNames: true.`,
        where,
        name,
      );
    }
    if (!policy.allowIdn && (name.startsWith('xn--') || name.includes('.xn--'))) {
      refuse(
        'idn',
        `The host "${name}" is an internationalised name and IDN is off; allow it with allowIdn: true.`,
        where,
        name,
      );
    }
  }

  if (compiled.blockedHosts !== null && isBlocked(compiled.blockedHosts, hostKey, literal)) {
    refuse('host-blocked', `The host "${hostKey}" is blocked.`, where, hostKey);
  }
  if (compiled.allowedHosts !== null && !matchesHost(compiled.allowedHosts, hostKey)) {
    refuse('host-not-allowed', `The host "${hostKey}" is not in allowedHosts.`, where, hostKey);
  }

  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if (port === 0) refuse('port', 'Port 0 is not allowed.', where, hostKey);
  // Checked before allowedPorts: listing such a port cannot make fetch connect to it.
  if (isBadPort(port)) {
    refuse(
      'bad-port',
      `Port ${port} is one that fetch never connects to (a "bad port" of the Fetch standard); no option allows it.`,
      where,
      hostKey,
    );
  }
  if (compiled.allowedPorts !== null && !compiled.allowedPorts.has(port)) {
    refuse('port', `Port ${port} is not in allowedPorts.`, where, hostKey);
  }
  const href = url.href;
  if (href.length > policy.maxLength) {
    refuse(
      'too-long',
      `The normalised URL is ${href.length} characters long; the limit is ${policy.maxLength}.`,
      where,
      hostKey,
    );
  }
  return { url, href, hostname, literal };
}

/**
 * @internal Resolve `hostname` with `resolver` and check every answer. Fails closed on errors,
 * empty answers and answers that are not IP addresses. Aborts with `signal.reason`.
 */
export async function resolveAndCheck(
  compiled: CompiledPolicy,
  resolver: Resolver,
  hostname: string,
  signal: AbortSignal,
  url?: string,
): Promise<CheckedAddress[]> {
  let answers: readonly { address: string; family: number }[];
  try {
    // `then` turns a resolver that throws synchronously into a rejection.
    answers = await raceAbort(
      Promise.resolve().then(() => resolver(hostname, { signal })),
      signal,
    );
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new UrlGuardError('dns-failure', `Resolving "${hostname}" failed.`, {
      url,
      host: hostname,
      cause: error,
    });
  }
  signal.throwIfAborted();
  if (!Array.isArray(answers) || answers.length === 0) {
    throw new UrlGuardError('dns-failure', `"${hostname}" resolved to no address.`, {
      url,
      host: hostname,
    });
  }
  const checked: CheckedAddress[] = [];
  const seen = new Set<string>();
  // Only the first maxAddresses answers are read, checked and used; the rest are dropped.
  const limit = Math.min(answers.length, compiled.policy.maxAddresses);
  for (let index = 0; index < limit; index++) {
    const answer: unknown = answers[index];
    const address =
      typeof answer === 'object' && answer !== null
        ? (answer as { address?: unknown }).address
        : undefined;
    if (typeof address !== 'string') {
      throw new UrlGuardError(
        'dns-failure',
        `The resolver gave a malformed answer for "${hostname}".`,
        {
          url,
          host: hostname,
        },
      );
    }
    let result: CheckedAddress;
    try {
      result = checkAddress(compiled, address, { url, host: hostname });
    } catch (error) {
      if (error instanceof UrlGuardError && error.reason === 'invalid-address') {
        throw new UrlGuardError(
          'dns-failure',
          `The resolver answered "${address}", not an IP address.`,
          {
            url,
            host: hostname,
            cause: error,
          },
        );
      }
      throw error;
    }
    if (!seen.has(result.address)) {
      seen.add(result.address);
      checked.push(Object.freeze(result));
    }
  }
  return checked;
}

/** @internal The whole check against a compiled policy. */
export async function checkWithPolicy(
  compiled: CompiledPolicy,
  resolver: Resolver,
  input: string | URL,
  signal: AbortSignal | undefined,
): Promise<CheckedUrl> {
  signal?.throwIfAborted();
  const vetted = vetUrl(compiled, input);
  const addresses =
    vetted.literal !== null
      ? [
          Object.freeze(
            checkAddress(compiled, vetted.literal, { url: vetted.href, host: vetted.hostname }),
          ),
        ]
      : await resolveAndCheck(
          compiled,
          resolver,
          vetted.hostname,
          signal ?? NEVER_ABORTED,
          vetted.href,
        );
  return Object.freeze({
    url: vetted.url,
    href: vetted.href,
    hostname: vetted.hostname,
    addresses: Object.freeze(addresses),
  });
}

/**
 * Check one URL against a policy: input hygiene, WHATWG parsing, scheme, userinfo, IP-literal
 * and name rules, host lists, port and length, then resolve the host and check every address.
 *
 * For repeated checks create an egress ({@link createEgress}) or a policy once
 * ({@link createUrlPolicy}) instead: this function validates its options on every call.
 *
 * @param url - The URL to check.
 * @param options - Policy options, plus `resolver` and `signal`.
 * @returns The normalised URL, its host and the checked addresses.
 * @throws {@link UrlGuardError} with a stable `reason` when the URL is refused.
 * @throws {@link UrlPolicyError} when an option is invalid.
 * @throws `signal.reason` when the signal aborts.
 *
 * @example
 * ```ts
 * const checked = await checkUrl('https://hooks.example.com/x', {
 *   resolver: async () => [{ address: '93.184.215.14', family: 4 }],
 * });
 * ```
 */
export function checkUrl(url: string | URL, options: CheckUrlOptions = {}): Promise<CheckedUrl> {
  try {
    if (typeof options !== 'object' || options === null) {
      throw new UrlPolicyError('options', 'expected an object');
    }
    const { resolver = systemResolver, signal, ...policyOptions } = options;
    if (typeof resolver !== 'function') throw new UrlPolicyError('resolver', 'expected a function');
    const compiled = compiledPolicyOf(createUrlPolicy(policyOptions));
    return checkWithPolicy(compiled, resolver, url, signal);
  } catch (error) {
    return Promise.reject(error);
  }
}
