import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import {
  type AddressClassification,
  type AddressKind,
  classifyParsed,
  parseIp,
} from './classify.js';
import { UrlGuardError, UrlPolicyError } from './errors.js';

/** A scheme the guard can allow. Nothing but HTTP(S) can be fetched, so nothing else is allowed. */
export type UrlScheme = 'https' | 'http';

/**
 * Options of the outbound-URL policy. Every option is optional; the defaults are in
 * {@link URL_POLICY_DEFAULTS} and match the default policy table in `docs/url-guard.md`.
 *
 * Host lists take exact names, `*.suffix` entries (any depth below the suffix, not the suffix
 * itself) and IP literals. Entries are normalised like URLs: lower-cased, IDNA-mapped to
 * A-labels, one trailing dot removed.
 *
 * @example
 * ```ts
 * const options: UrlPolicyOptions = {
 *   allowedHosts: ['hooks.example.com', '*.partner.example'],
 *   allowedPorts: [443, 8443],
 * };
 * ```
 */
export interface UrlPolicyOptions {
  /**
   * Schemes to allow. `http` is for local development; a redirect from https to http is refused
   * regardless.
   * @defaultValue `['https']`
   */
  readonly allowedSchemes?: readonly UrlScheme[];
  /**
   * Allow non-global unicast addresses (loopback, RFC 1918, link-local, CGNAT, ULA, …). Never
   * allows unspecified, multicast or broadcast addresses, nor `metadataAddresses`.
   * @defaultValue `false`
   */
  readonly allowPrivateAddresses?: boolean;
  /**
   * Allow the names `localhost` and `*.localhost`. Their addresses must still pass the address
   * policy (`allowPrivateAddresses` or `allowedAddresses`).
   * @defaultValue `false`
   */
  readonly allowLocalhost?: boolean;
  /**
   * Allow IP literal hosts. Even then only canonical dotted-quad IPv4 or bracketed IPv6 is
   * accepted, and the address must pass the address policy.
   * @defaultValue `false`
   */
  readonly allowIpLiterals?: boolean;
  /**
   * Allow dotless names such as `https://payments/`. Their meaning depends on resolver search
   * domains, hence off by default.
   * @defaultValue `false`
   */
  readonly allowSingleLabelNames?: boolean;
  /**
   * Allow special-use and private-use names (`*.internal`, `*.local`, `*.home.arpa`, `*.lan`,
   * `metadata.google.internal`, … the list is `SPECIAL_USE_NAMES`). They are answered by local
   * resolvers, multicast DNS or private zones, so they are refused by name even when they resolve
   * to public addresses. Their addresses must still pass the address policy.
   * @defaultValue `false`
   */
  readonly allowSpecialUseNames?: boolean;
  /**
   * Allow internationalised names (Unicode hosts and `xn--` labels). Unicode hosts must already
   * be in the form IDNA maps them to (no fullwidth dots, no zero-width characters).
   * @defaultValue `false`
   */
  readonly allowIdn?: boolean;
  /**
   * When not empty, only these hosts are allowed (exact names, `*.suffix`, IP literals).
   * @defaultValue `[]` (any host)
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Hosts to refuse (exact names, `*.suffix`, IP literals). Checked before `allowedHosts`. An
   * IPv4 entry also refuses the IPv6 literals that carry it (`[::ffff:808:808]`, NAT64, …).
   * @defaultValue `[]`
   */
  readonly blockedHosts?: readonly string[];
  /**
   * When not empty, only these ports (1–65535) are allowed. The default port of the scheme
   * counts as the port when the URL has none. The ports `fetch` refuses (`FETCH_BAD_PORTS`) stay
   * refused even when listed here.
   * @defaultValue `[]` (any port from 1 to 65535 that `fetch` can reach)
   */
  readonly allowedPorts?: readonly number[];
  /**
   * IP addresses or CIDR blocks to allow even though they are not globally reachable, for
   * deliberate internal targets (e.g. `['10.20.0.0/16']`). A metadata address inside a block is
   * still refused unless it is listed on its own (`'169.254.169.254'`).
   * @defaultValue `[]`
   */
  readonly allowedAddresses?: readonly string[];
  /**
   * Cloud metadata addresses, refused even under `allowPrivateAddresses` or an allowed block.
   * 168.63.129.16 (Azure WireServer) looks public and is refused only because of this list.
   * @defaultValue see {@link URL_POLICY_DEFAULTS}
   */
  readonly metadataAddresses?: readonly string[];
  /**
   * Maximum URL length in characters, checked on the trimmed input and on the normalised URL.
   * @defaultValue `2048`
   */
  readonly maxLength?: number;
  /**
   * Maximum redirects the guarded fetch follows (each re-checked). `0` follows none.
   * @defaultValue `10`
   */
  readonly maxRedirects?: number;
  /**
   * How many addresses of one DNS answer are checked and handed to the socket: the first
   * `maxAddresses` in the resolver's order; the rest are dropped unread (not checked, never
   * connected to). Bounds the work a hostile resolver can cause, and the connection attempts
   * Happy Eyeballs makes.
   * @defaultValue `16`
   */
  readonly maxAddresses?: number;
}

/**
 * A validated, frozen policy: every option present, lists normalised. Returned by
 * {@link createUrlPolicy} and exposed as `egress.policy`.
 *
 * @example
 * ```ts
 * const policy: NormalizedUrlPolicy = createUrlPolicy({ maxRedirects: 3 });
 * ```
 */
export interface NormalizedUrlPolicy {
  readonly allowedSchemes: readonly UrlScheme[];
  readonly allowPrivateAddresses: boolean;
  readonly allowLocalhost: boolean;
  readonly allowIpLiterals: boolean;
  readonly allowSingleLabelNames: boolean;
  readonly allowSpecialUseNames: boolean;
  readonly allowIdn: boolean;
  readonly allowedHosts: readonly string[];
  readonly blockedHosts: readonly string[];
  readonly allowedPorts: readonly number[];
  readonly allowedAddresses: readonly string[];
  readonly metadataAddresses: readonly string[];
  readonly maxLength: number;
  readonly maxRedirects: number;
  readonly maxAddresses: number;
}

/**
 * The default policy: https only, no IP literals, no IDN, no localhost, single-label or
 * special-use names, only globally reachable addresses, cloud metadata addresses refused, any
 * port 1–65535 but those `fetch` refuses, 2048 characters, 10 redirects, at most 16 addresses
 * of a DNS answer used.
 *
 * @example
 * ```ts
 * URL_POLICY_DEFAULTS.maxRedirects; // 10
 * ```
 */
export const URL_POLICY_DEFAULTS: NormalizedUrlPolicy = Object.freeze({
  allowedSchemes: Object.freeze(['https'] as const),
  allowPrivateAddresses: false,
  allowLocalhost: false,
  allowIpLiterals: false,
  allowSingleLabelNames: false,
  allowSpecialUseNames: false,
  allowIdn: false,
  allowedHosts: Object.freeze([]),
  blockedHosts: Object.freeze([]),
  allowedPorts: Object.freeze([]),
  allowedAddresses: Object.freeze([]),
  metadataAddresses: Object.freeze([
    '169.254.169.254', // AWS, GCP, Azure, OpenStack, DigitalOcean, … instance metadata
    '169.254.169.253', // AWS VPC DNS resolver
    '169.254.170.2', // AWS ECS task metadata and credentials
    '169.254.0.23', // Tencent Cloud metadata
    '100.100.100.200', // Alibaba Cloud metadata
    '192.0.0.192', // Oracle Cloud legacy metadata
    '168.63.129.16', // Azure WireServer (a public-looking address)
    'fd00:ec2::254', // AWS instance metadata over IPv6
  ]),
  maxLength: 2048,
  maxRedirects: 10,
  // Large round-robin answers rarely hold more than 8 addresses per family; 16 keeps both
  // families of such an answer, and 16 Happy Eyeballs attempts of 250 ms fit well inside
  // undici's 10 s connect timeout.
  maxAddresses: 16,
});

const OPTION_KEYS = new Set<string>(Object.keys(URL_POLICY_DEFAULTS));

/** @internal Everything the checks need, derived once from a policy. */
export interface CompiledPolicy {
  readonly policy: NormalizedUrlPolicy;
  readonly schemes: ReadonlySet<string>;
  readonly allowedHosts: HostMatcher | null;
  readonly blockedHosts: HostMatcher | null;
  readonly allowedPorts: ReadonlySet<number> | null;
  readonly allowedRanges: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][];
  readonly exactAllowed: ReadonlySet<string>;
  readonly metadata: ReadonlySet<string>;
}

/** @internal */
export interface HostMatcher {
  readonly exact: ReadonlySet<string>;
  readonly suffixes: readonly string[];
}

const compiledPolicies = new WeakMap<NormalizedUrlPolicy, CompiledPolicy>();

function fail(option: string, message: string, cause?: unknown): never {
  throw new UrlPolicyError(option, message, cause);
}

function readBoolean(options: Record<string, unknown>, key: keyof NormalizedUrlPolicy): boolean {
  const value = options[key];
  if (value === undefined) return URL_POLICY_DEFAULTS[key] as boolean;
  if (typeof value !== 'boolean') fail(key, `expected a boolean, got ${describe(value)}`);
  return value;
}

function readInteger(
  options: Record<string, unknown>,
  key: 'maxLength' | 'maxRedirects' | 'maxAddresses',
  min: number,
): number {
  const value = options[key];
  if (value === undefined) return URL_POLICY_DEFAULTS[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(key, `expected an integer >= ${min}, got ${describe(value)}`);
  }
  return value;
}

function readList(
  options: Record<string, unknown>,
  key: keyof NormalizedUrlPolicy,
): unknown[] | null {
  const value = options[key];
  if (value === undefined) return null;
  if (!Array.isArray(value)) fail(key, `expected an array, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/**
 * Normalise a host the way URLs are normalised (WHATWG host parser: lower case, IDNA to
 * A-labels), then strip one trailing dot. Returns `null` when the text is not a valid host.
 */
function normalizeHostEntry(entry: string): { host: string; isIp: boolean } | null {
  const bare = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
  const family = isIP(bare);
  if (family === 6) {
    if (bare.includes('%')) return null;
    return { host: new URL(`https://[${bare}]/`).hostname.slice(1, -1), isIp: true };
  }
  if (family === 4) return { host: bare, isIp: true };
  for (const char of entry) {
    if (' /?#@\\%:[]*'.includes(char) || char.charCodeAt(0) < 0x21) return null;
  }
  let host: string;
  try {
    host = new URL(`https://${entry}/`).hostname;
  } catch {
    return null;
  }
  // A name that the URL parser turns into an IPv4 address ('127.1', '0x7f.1') is ambiguous.
  if (isIP(host) !== 0) return null;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (!isValidName(name)) return null;
  return { host: name, isIp: false };
}

/** @internal Labels of 1–63 octets, at most 253 octets in all. */
export function isValidName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  let start = 0;
  for (;;) {
    const dot = name.indexOf('.', start);
    const end = dot === -1 ? name.length : dot;
    if (end === start || end - start > 63) return false;
    if (dot === -1) return true;
    start = dot + 1;
  }
}

function readHosts(
  options: Record<string, unknown>,
  key: 'allowedHosts' | 'blockedHosts',
): string[] {
  const list = readList(options, key);
  if (list === null) return [];
  const out: string[] = [];
  list.forEach((entry, index) => {
    const option = `${key}[${index}]`;
    if (typeof entry !== 'string') fail(option, `expected a string, got ${describe(entry)}`);
    let text = entry.trim().toLowerCase();
    const wildcard = text.startsWith('*.');
    if (wildcard) text = text.slice(2);
    const normalized = normalizeHostEntry(text);
    if (normalized === null) {
      fail(option, `${describe(entry)} is not a host name, "*.suffix" or canonical IP literal`);
    }
    if (wildcard && normalized.isIp) fail(option, 'a wildcard cannot apply to an IP literal');
    const value = wildcard ? `*.${normalized.host}` : normalized.host;
    if (!out.includes(value)) out.push(value);
  });
  return out;
}

function readAddresses(
  options: Record<string, unknown>,
  key: 'allowedAddresses' | 'metadataAddresses',
): string[] {
  const list = readList(options, key);
  if (list === null) return [...URL_POLICY_DEFAULTS[key]];
  const out: string[] = [];
  list.forEach((entry, index) => {
    const option = `${key}[${index}]`;
    if (typeof entry !== 'string') fail(option, `expected a string, got ${describe(entry)}`);
    const text = entry.trim();
    const slash = text.indexOf('/');
    const addressText = slash === -1 ? text : text.slice(0, slash);
    const parsed = parseIp(addressText);
    if (parsed === null) fail(option, `${describe(entry)} is not a canonical IP address`);
    const maxBits = parsed.kind() === 'ipv4' ? 32 : 128;
    let bits = maxBits;
    if (slash !== -1) {
      if (key === 'metadataAddresses') fail(option, 'expected a single address, not a block');
      const bitsText = text.slice(slash + 1);
      bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : Number.NaN;
      if (!(bits >= 0 && bits <= maxBits)) fail(option, `prefix length must be 0–${maxBits}`);
    }
    const canonical = classifyParsed(parsed).address;
    const value = bits === maxBits ? canonical : `${canonical}/${bits}`;
    if (!out.includes(value)) out.push(value);
  });
  return out;
}

function readSchemes(options: Record<string, unknown>): UrlScheme[] {
  const list = readList(options, 'allowedSchemes');
  if (list === null) return [...URL_POLICY_DEFAULTS.allowedSchemes];
  if (list.length === 0) fail('allowedSchemes', 'at least one scheme is required');
  const out: UrlScheme[] = [];
  list.forEach((entry, index) => {
    const text = typeof entry === 'string' ? entry.trim().toLowerCase().replace(/:$/, '') : '';
    if (text !== 'https' && text !== 'http') {
      fail(
        `allowedSchemes[${index}]`,
        `only "https" and "http" are supported, got ${describe(entry)}`,
      );
    }
    if (!out.includes(text)) out.push(text);
  });
  return out;
}

function readPorts(options: Record<string, unknown>): number[] {
  const list = readList(options, 'allowedPorts');
  if (list === null) return [];
  const out: number[] = [];
  list.forEach((entry, index) => {
    if (typeof entry !== 'number' || !Number.isInteger(entry) || entry < 1 || entry > 65535) {
      fail(`allowedPorts[${index}]`, `expected an integer from 1 to 65535, got ${describe(entry)}`);
    }
    if (!out.includes(entry)) out.push(entry);
  });
  return out;
}

function compilePolicy(policy: NormalizedUrlPolicy): CompiledPolicy {
  const matcher = (hosts: readonly string[]): HostMatcher | null => {
    if (hosts.length === 0) return null;
    const exact = new Set<string>();
    const suffixes: string[] = [];
    for (const host of hosts) {
      if (host.startsWith('*.')) suffixes.push(host.slice(1));
      else exact.add(host);
    }
    return { exact, suffixes };
  };
  const allowedRanges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  const exactAllowed = new Set<string>();
  for (const entry of policy.allowedAddresses) {
    const [address = '', bits] = entry.split('/');
    const parsed = parseIp(address);
    if (parsed === null) continue; // unreachable: entries were validated
    allowedRanges.push([
      parsed,
      bits === undefined ? (parsed.kind() === 'ipv4' ? 32 : 128) : Number(bits),
    ]);
    if (bits === undefined) exactAllowed.add(address);
  }
  return {
    policy,
    schemes: new Set(policy.allowedSchemes),
    allowedHosts: matcher(policy.allowedHosts),
    blockedHosts: matcher(policy.blockedHosts),
    allowedPorts: policy.allowedPorts.length === 0 ? null : new Set(policy.allowedPorts),
    allowedRanges,
    exactAllowed,
    metadata: new Set(policy.metadataAddresses),
  };
}

/**
 * Validate policy options once and return a frozen, normalised policy.
 *
 * Passing a policy that this function returned before gives it back unchanged, so a policy can
 * be shared between egresses without re-validating.
 *
 * @param options - Policy options; omitted options take their {@link URL_POLICY_DEFAULTS}.
 * @returns The normalised policy.
 * @throws {@link UrlPolicyError} naming the option when an option is unknown or invalid.
 *
 * @example
 * ```ts
 * const policy = createUrlPolicy({
 *   allowedSchemes: ['https', 'http'],
 *   allowIpLiterals: true,
 *   allowedAddresses: ['127.0.0.1'],
 * });
 * ```
 */
export function createUrlPolicy(options: UrlPolicyOptions = {}): NormalizedUrlPolicy {
  if (compiledPolicies.has(options as NormalizedUrlPolicy)) return options as NormalizedUrlPolicy;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail('options', `expected an object, got ${describe(options)}`);
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!OPTION_KEYS.has(key)) fail(key, 'unknown option');
  }
  const policy: NormalizedUrlPolicy = Object.freeze({
    allowedSchemes: Object.freeze(readSchemes(record)),
    allowPrivateAddresses: readBoolean(record, 'allowPrivateAddresses'),
    allowLocalhost: readBoolean(record, 'allowLocalhost'),
    allowIpLiterals: readBoolean(record, 'allowIpLiterals'),
    allowSingleLabelNames: readBoolean(record, 'allowSingleLabelNames'),
    allowSpecialUseNames: readBoolean(record, 'allowSpecialUseNames'),
    allowIdn: readBoolean(record, 'allowIdn'),
    allowedHosts: Object.freeze(readHosts(record, 'allowedHosts')),
    blockedHosts: Object.freeze(readHosts(record, 'blockedHosts')),
    allowedPorts: Object.freeze(readPorts(record)),
    allowedAddresses: Object.freeze(readAddresses(record, 'allowedAddresses')),
    metadataAddresses: Object.freeze(readAddresses(record, 'metadataAddresses')),
    maxLength: readInteger(record, 'maxLength', 1),
    maxRedirects: readInteger(record, 'maxRedirects', 0),
    maxAddresses: readInteger(record, 'maxAddresses', 1),
  });
  compiledPolicies.set(policy, compilePolicy(policy));
  return policy;
}

/** @internal The compiled form of a policy created by {@link createUrlPolicy}. */
export function compiledPolicyOf(policy: NormalizedUrlPolicy): CompiledPolicy {
  const compiled = compiledPolicies.get(policy);
  if (compiled !== undefined) return compiled;
  const created = createUrlPolicy(policy);
  return compiledPolicies.get(created) as CompiledPolicy;
}

compiledPolicies.set(URL_POLICY_DEFAULTS, compilePolicy(URL_POLICY_DEFAULTS));

/** @internal Whether `host` (normalised, no trailing dot) matches a host list. */
export function matchesHost(matcher: HostMatcher, host: string): boolean {
  if (matcher.exact.has(host)) return true;
  for (const suffix of matcher.suffixes) {
    if (host.length > suffix.length && host.endsWith(suffix)) return true;
  }
  return false;
}

function inAllowedRanges(compiled: CompiledPolicy, address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  const kind = address.kind();
  for (const range of compiled.allowedRanges) {
    if (range[0].kind() === kind && address.match(range)) return true;
  }
  return false;
}

/** Context for address refusals. */
interface AddressContext {
  readonly url?: string | undefined;
  readonly host?: string | undefined;
}

function describeBlock(classification: AddressClassification): string {
  const { block } = classification;
  if (block !== null) return `${block.name}, ${block.prefix}`;
  return classification.family === 6 ? 'outside global unicast 2000::/3' : 'global unicast';
}

/** What would allow an address of this kind (never a metadata address: see the metadata rule). */
function remedy(kind: AddressKind): string {
  return kind === 'special'
    ? 'allow it with allowPrivateAddresses: true, or list it in allowedAddresses'
    : 'only listing it in allowedAddresses allows it';
}

interface Refusal {
  readonly reason: 'private-address' | 'metadata-address';
  readonly why: string;
}

/**
 * Judge one classified address: `null` when allowed, or why it is refused. An IPv6 address that
 * carries IPv4 is allowed only when every IPv4 address it can be read as carrying is allowed on
 * its own, so the metadata rule and `allowedAddresses` see the IPv4 inside under every option;
 * an IPv6 `allowedAddresses` block cannot allow what its IPv4 reading would not be.
 */
function judge(
  compiled: CompiledPolicy,
  parsed: ipaddr.IPv4 | ipaddr.IPv6,
  classification: AddressClassification,
): Refusal | null {
  const canonical = classification.address;
  // Every reading is judged; a metadata reading names the refusal, else the first refused one.
  let refused: Refusal | null = null;
  for (const { via, ipv4 } of classification.embeddings) {
    const inner = judge(compiled, ipaddr.IPv4.parse(ipv4.address), ipv4);
    if (inner !== null && (refused === null || inner.reason === 'metadata-address')) {
      refused = { reason: inner.reason, why: `it carries ${ipv4.address} (${via}), ${inner.why}` };
      if (inner.reason === 'metadata-address') break;
    }
  }
  if (refused !== null) return refused;
  if (compiled.metadata.has(canonical)) {
    if (compiled.exactAllowed.has(canonical)) return null;
    return { reason: 'metadata-address', why: 'a cloud metadata address (metadataAddresses)' };
  }
  // A mapped address reaches exactly its IPv4 host: the IPv4 verdict above is the verdict.
  if (classification.embedded?.via === 'ipv4-mapped') return null;
  if (inAllowedRanges(compiled, parsed)) return null;
  if (classification.kind === 'global') return null;
  if (classification.kind === 'special' && compiled.policy.allowPrivateAddresses) return null;
  return {
    reason: 'private-address',
    why: `not a globally reachable unicast address (${describeBlock(classification)}); ${remedy(classification.kind)}`,
  };
}

/**
 * @internal Judge one address against the policy. Returns the canonical address and family, or
 * throws a {@link UrlGuardError} (`private-address`, `metadata-address`, `invalid-address`).
 */
export function checkAddress(
  compiled: CompiledPolicy,
  address: string,
  context: AddressContext = {},
): { address: string; family: 4 | 6 } {
  const parsed = parseIp(address);
  if (parsed === null) {
    throw new UrlGuardError('invalid-address', `Not an IP address: ${address}`, {
      ...context,
      address,
    });
  }
  const classification = classifyParsed(parsed);
  const refusal = judge(compiled, parsed, classification);
  if (refusal !== null) {
    throw new UrlGuardError(refusal.reason, `Refused ${classification.address}: ${refusal.why}.`, {
      ...context,
      address: classification.address,
    });
  }
  return { address: classification.address, family: classification.family };
}
