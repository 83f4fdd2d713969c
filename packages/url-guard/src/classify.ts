import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { UrlGuardError } from './errors.js';
import { ADDITIONAL_NON_GLOBAL_BLOCKS } from './special-purpose/additional.data.js';
import { IANA_IPV4_SPECIAL_PURPOSE } from './special-purpose/iana-ipv4.data.js';
import { IANA_IPV6_SPECIAL_PURPOSE } from './special-purpose/iana-ipv6.data.js';
import type { SpecialPurposeEntry } from './special-purpose/types.js';

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;

/**
 * How an address may be used as an outbound destination.
 *
 * - `global`: globally reachable unicast; allowed by default.
 * - `special`: a non-global unicast block (loopback, private-use, link-local, shared, documentation,
 *   benchmarking, unique-local, site-local, transition forms such as 6to4 and Teredo, reserved
 *   IPv6 space outside 2000::/3). Refused unless `allowPrivateAddresses` or `allowedAddresses`.
 * - `non-unicast`: never a valid destination (unspecified / "this network", multicast, limited
 *   broadcast, 240.0.0.0/4). Refused unless listed in `allowedAddresses`.
 */
export type AddressKind = 'global' | 'special' | 'non-unicast';

/** The IPv6 forms that carry an IPv4 address, each unwrapped before judging. */
export type Ipv4Embedding =
  | 'ipv4-mapped'
  | 'ipv4-compatible'
  | 'ipv4-translated'
  | 'nat64'
  | '6to4'
  | 'teredo';

/** An IPv4 address found inside an IPv6 address. */
export interface EmbeddedIpv4 {
  /** How the IPv4 address is embedded. */
  readonly via: Ipv4Embedding;
  /** The embedded address, classified on its own. */
  readonly ipv4: AddressClassification;
}

/**
 * The result of {@link classifyAddress}.
 *
 * @example
 * ```ts
 * const c = classifyAddress('::ffff:127.0.0.1');
 * c.kind; // 'special'
 * c.embedded?.via; // 'ipv4-mapped'
 * c.embedded?.ipv4.block?.name; // 'Loopback'
 * ```
 */
export interface AddressClassification {
  /** The address in canonical form (dotted quad, or RFC 5952 IPv6 without brackets). */
  readonly address: string;
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Whether and how the address may be a destination. */
  readonly kind: AddressKind;
  /** The most specific table block that contains the address, or `null` when none does. */
  readonly block: SpecialPurposeEntry | null;
  /** The embedded IPv4 address of an IPv6 transition form, or `null`. */
  readonly embedded: EmbeddedIpv4 | null;
}

interface CompiledBlock {
  readonly entry: SpecialPurposeEntry;
  readonly range: [IPv4 | IPv6, number];
  readonly bits: number;
}

// Blocks whose addresses are never unicast destinations, whatever the policy says about
// private addresses.
const NON_UNICAST_PREFIXES = new Set([
  '0.0.0.0/8',
  '0.0.0.0/32',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '255.255.255.255/32',
  '::/128',
  'ff00::/8',
]);

function compile(entries: readonly SpecialPurposeEntry[], kind: 'ipv4' | 'ipv6'): CompiledBlock[] {
  const out: CompiledBlock[] = [];
  for (const entry of entries) {
    const range = ipaddr.parseCIDR(entry.prefix);
    if (range[0].kind() === kind) out.push({ entry, range, bits: range[1] });
  }
  return out;
}

const ALL_ENTRIES = [
  ...IANA_IPV4_SPECIAL_PURPOSE.entries,
  ...IANA_IPV6_SPECIAL_PURPOSE.entries,
  ...ADDITIONAL_NON_GLOBAL_BLOCKS.entries,
];
const V4_BLOCKS = compile(ALL_ENTRIES, 'ipv4');
const V6_BLOCKS = compile(ALL_ENTRIES, 'ipv6');
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

function mostSpecific(
  address: IPv4 | IPv6,
  blocks: readonly CompiledBlock[],
): CompiledBlock | null {
  let best: CompiledBlock | null = null;
  for (const block of blocks) {
    if ((best === null || block.bits > best.bits) && address.match(block.range)) best = block;
  }
  return best;
}

function kindOf(block: CompiledBlock | null, outside: AddressKind): AddressKind {
  if (block === null) return outside;
  if (block.entry.globallyReachable === true) return 'global';
  return NON_UNICAST_PREFIXES.has(block.entry.prefix) ? 'non-unicast' : 'special';
}

const SEVERITY: Record<AddressKind, number> = { global: 0, special: 1, 'non-unicast': 2 };

function worst(a: AddressKind, b: AddressKind): AddressKind {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

function classifyV4(address: IPv4): AddressClassification {
  const block = mostSpecific(address, V4_BLOCKS);
  return Object.freeze({
    address: address.toString(),
    family: 4,
    kind: kindOf(block, 'global'),
    block: block?.entry ?? null,
    embedded: null,
  });
}

function v4FromWords(high: number, low: number): IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function findEmbedding(parts: readonly number[]): { via: Ipv4Embedding; ipv4: IPv4 } | null {
  const [p0, p1, p2, p3, p4, p5, p6, p7] = parts as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zeroTo3 = p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0;
  if (zeroTo3 && p4 === 0 && p5 === 0xffff)
    return { via: 'ipv4-mapped', ipv4: v4FromWords(p6, p7) };
  if (zeroTo3 && p4 === 0xffff && p5 === 0) {
    return { via: 'ipv4-translated', ipv4: v4FromWords(p6, p7) };
  }
  // ::/96 except the unspecified (::) and loopback (::1) addresses.
  if (zeroTo3 && p4 === 0 && p5 === 0 && !(p6 === 0 && p7 <= 1)) {
    return { via: 'ipv4-compatible', ipv4: v4FromWords(p6, p7) };
  }
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0) {
    return { via: 'nat64', ipv4: v4FromWords(p6, p7) };
  }
  if (p0 === 0x2002) return { via: '6to4', ipv4: v4FromWords(p1, p2) };
  // Teredo (RFC 4380 §4): the client's IPv4 address is stored inverted in the last 32 bits.
  if (p0 === 0x2001 && p1 === 0)
    return { via: 'teredo', ipv4: v4FromWords(~p6 & 0xffff, ~p7 & 0xffff) };
  return null;
}

function classifyV6(address: IPv6): AddressClassification {
  const block = mostSpecific(address, V6_BLOCKS);
  const canonical = address.toRFC5952String();
  const embedding = findEmbedding(address.parts);
  if (embedding !== null) {
    const inner = classifyV4(embedding.ipv4);
    // Mapped and NAT64 addresses reach exactly the embedded IPv4 host, so they are judged by it:
    // NAT64 of a public address stays usable for IPv6-only (DNS64) networks. The other forms are
    // tunnels or deprecated, and refused outright (edge tier), whatever they carry.
    const direct = embedding.via === 'ipv4-mapped' || embedding.via === 'nat64';
    return Object.freeze({
      address: canonical,
      family: 6,
      kind: direct ? inner.kind : worst('special', inner.kind),
      block: block?.entry ?? null,
      embedded: Object.freeze({ via: embedding.via, ipv4: inner }),
    });
  }
  const outside: AddressKind = address.match(GLOBAL_UNICAST_V6) ? 'global' : 'special';
  return Object.freeze({
    address: canonical,
    family: 6,
    kind: kindOf(block, outside),
    block: block?.entry ?? null,
    embedded: null,
  });
}

/**
 * Parse an IP address string into ipaddr.js form, or return `null`. Only canonical dotted-quad
 * IPv4 (as `net.isIP` accepts) and IPv6 without a zone are addresses; `[brackets]` are stripped.
 *
 * @internal
 */
export function parseIp(text: string): IPv4 | IPv6 | null {
  const bare =
    text.length > 1 && text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const family = isIP(bare);
  if (family === 0 || bare.includes('%')) return null;
  if (family === 4) return ipaddr.IPv4.parse(bare);
  // ipaddr.js reads the dotted IPv4-compatible form `::127.0.0.1` as mapped (`::ffff:7f00:1`).
  // Let the WHATWG host parser turn a dotted tail into hex words first; it gets this right.
  const hex = bare.includes('.') ? new URL(`http://[${bare}]/`).hostname.slice(1, -1) : bare;
  return ipaddr.IPv6.parse(hex);
}

/** @internal Classify an already parsed address. */
export function classifyParsed(address: IPv4 | IPv6): AddressClassification {
  return address.kind() === 'ipv4' ? classifyV4(address as IPv4) : classifyV6(address as IPv6);
}

/**
 * Classify an IP address for use as an outbound destination.
 *
 * The tables are the dated IANA IPv4 and IPv6 special-purpose registries plus multicast, the
 * deprecated site-local prefix and the IPv4-compatible/-translated forms; the most specific block
 * wins, so e.g. 192.0.0.9/32 (globally reachable) beats 192.0.0.0/24. IPv6 addresses outside
 * 2000::/3 are `special`. Every IPv6 form that embeds IPv4 (mapped, compatible, translated, NAT64
 * 64:ff9b::/96, 6to4, Teredo with its inverted client address) is unwrapped: mapped and NAT64
 * addresses take the embedded address's kind, the others are at least `special`.
 *
 * @param ip - A canonical IPv4 dotted quad or an IPv6 address, with or without `[brackets]`.
 *   Zone IDs (`fe80::1%eth0`) and non-canonical IPv4 spellings (`127.1`, `0x7f.1`) are refused.
 * @returns The canonical address, its family, kind, matching block and embedded IPv4.
 * @throws {@link UrlGuardError} with reason `invalid-address` when `ip` is not an IP address.
 *
 * @example
 * ```ts
 * classifyAddress('8.8.8.8').kind; // 'global'
 * classifyAddress('100.100.100.200').block?.name; // 'Shared Address Space'
 * classifyAddress('64:ff9b::a9fe:a9fe').embedded?.ipv4.address; // '169.254.169.254'
 * ```
 */
export function classifyAddress(ip: string): AddressClassification {
  const parsed = typeof ip === 'string' ? parseIp(ip) : null;
  if (parsed === null) {
    throw new UrlGuardError('invalid-address', `Not an IP address: ${String(ip)}`, {
      address: typeof ip === 'string' ? ip : undefined,
    });
  }
  return classifyParsed(parsed);
}
