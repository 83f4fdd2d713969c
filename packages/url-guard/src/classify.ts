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

/**
 * The IPv6 forms that carry an IPv4 address, each unwrapped before judging.
 *
 * - `ipv4-mapped`: `::ffff:0:0/96` (RFC 4291).
 * - `ipv4-compatible`: `::/96` except `::` and `::1` (RFC 4291, deprecated).
 * - `ipv4-translated`: `::ffff:0:0:0/96` (RFC 2765, SIIT).
 * - `nat64`: the well-known prefix `64:ff9b::/96` (RFC 6052), IPv4 in the last 32 bits.
 * - `nat64-local`: the local-use prefix `64:ff9b:1::/48` (RFC 8215). A network may use any
 *   RFC 6052 layout inside it (/48, /56, /64 or /96), so the address is read in each of them.
 *   The rest of `64:ff9b::/32` (unassigned) is read in every layout, /32 to /96, the same way.
 * - `6to4`: `2002::/16` (RFC 3056), IPv4 in bits 16–47.
 * - `teredo`: `2001::/32` (RFC 4380), the client's IPv4 stored inverted in the last 32 bits.
 * - `isatap`: an interface identifier `0:5efe:a.b.c.d` or `200:5efe:a.b.c.d` (RFC 5214) under
 *   any prefix.
 */
export type Ipv4Embedding =
  | 'ipv4-mapped'
  | 'ipv4-compatible'
  | 'ipv4-translated'
  | 'nat64'
  | 'nat64-local'
  | '6to4'
  | 'teredo'
  | 'isatap';

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
 * classifyAddress('64:ff9b:1:a9fe:a9:fe00::').embeddings.length; // 4 (one per RFC 6052 layout)
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
  /** The first of {@link AddressClassification.embeddings}, or `null` when there is none. */
  readonly embedded: EmbeddedIpv4 | null;
  /**
   * Every IPv4 address the IPv6 address can be read as carrying, one entry per form and layout,
   * without repeats (a local-use NAT64 address has up to four readings, one per RFC 6052 layout;
   * an address with an ISATAP interface identifier under another form has two).
   * Empty for IPv4 addresses and for IPv6 addresses that carry none. The policy refuses the
   * address when any of them is refused on its own.
   */
  readonly embeddings: readonly EmbeddedIpv4[];
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
    embeddings: NO_EMBEDDINGS,
  });
}

const NO_EMBEDDINGS: readonly EmbeddedIpv4[] = Object.freeze([]);

function v4FromWords(high: number, low: number): IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function v4FromBytes(bytes: readonly number[], at: readonly number[]): IPv4 {
  return new ipaddr.IPv4(at.map((index) => bytes[index] ?? 0));
}

/**
 * Byte positions of the IPv4 address in each RFC 6052 §2.2 layout (byte 8, bits 64–71, is the
 * "u" octet and never part of the address). The /96 layout comes first: it is the common one.
 * The local-use prefix 64:ff9b:1::/48 holds the /48 to /96 layouts; the rest of 64:ff9b::/32
 * (neither it nor the well-known /96) is read in every layout.
 */
const NAT64_LAYOUTS: readonly (readonly number[])[] = [
  [12, 13, 14, 15], // /96
  [9, 10, 11, 12], // /64
  [7, 9, 10, 11], // /56
  [6, 7, 9, 10], // /48
  [5, 6, 7, 9], // /40
  [4, 5, 6, 7], // /32
];
const LOCAL_NAT64_LAYOUTS = NAT64_LAYOUTS.slice(0, 4);

interface Reading {
  readonly via: Ipv4Embedding;
  readonly ipv4: IPv4;
}

/**
 * Every IPv4 address `parts` can be read as carrying. Where a form's layout is not fixed (the
 * local-use NAT64 prefix and the rest of 64:ff9b::/32) every layout gives a reading, so that the
 * policy can refuse the address if any reading is refused: the guard cannot know which layout
 * the network uses.
 */
function findEmbeddings(parts: readonly number[]): Reading[] {
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
  const readings: Reading[] = [];
  const zeroTo3 = p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0;
  if (zeroTo3 && p4 === 0 && p5 === 0xffff) {
    readings.push({ via: 'ipv4-mapped', ipv4: v4FromWords(p6, p7) });
  } else if (zeroTo3 && p4 === 0xffff && p5 === 0) {
    readings.push({ via: 'ipv4-translated', ipv4: v4FromWords(p6, p7) });
  } else if (zeroTo3 && p4 === 0 && p5 === 0 && !(p6 === 0 && p7 <= 1)) {
    // ::/96 except the unspecified (::) and loopback (::1) addresses.
    readings.push({ via: 'ipv4-compatible', ipv4: v4FromWords(p6, p7) });
  } else if (p0 === 0x64 && p1 === 0xff9b && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0) {
    readings.push({ via: 'nat64', ipv4: v4FromWords(p6, p7) });
  } else if (p0 === 0x64 && p1 === 0xff9b) {
    const bytes = parts.flatMap((word) => [word >> 8, word & 0xff]);
    const seen = new Set<string>();
    for (const layout of p2 === 1 ? LOCAL_NAT64_LAYOUTS : NAT64_LAYOUTS) {
      const ipv4 = v4FromBytes(bytes, layout);
      const text = ipv4.toString();
      if (!seen.has(text)) readings.push({ via: 'nat64-local', ipv4 });
      seen.add(text);
    }
  } else if (p0 === 0x2002) {
    readings.push({ via: '6to4', ipv4: v4FromWords(p1, p2) });
  } else if (p0 === 0x2001 && p1 === 0) {
    // Teredo (RFC 4380 §4): the client's IPv4 address, which a relay sends the packets to, is
    // stored inverted in the last 32 bits.
    readings.push({ via: 'teredo', ipv4: v4FromWords(~p6 & 0xffff, ~p7 & 0xffff) });
  }
  // ISATAP (RFC 5214 §6.1): interface identifier [0|2]00:5efe:a.b.c.d under any /64 prefix. The
  // mapped, translated and compatible forms cannot have this interface identifier.
  if ((p4 & 0xfcff) === 0 && p5 === 0x5efe) {
    readings.push({ via: 'isatap', ipv4: v4FromWords(p6, p7) });
  }
  return readings;
}

function classifyV6(address: IPv6): AddressClassification {
  const block = mostSpecific(address, V6_BLOCKS);
  const canonical = address.toRFC5952String();
  const outside: AddressKind = address.match(GLOBAL_UNICAST_V6) ? 'global' : 'special';
  const ownKind = kindOf(block, outside);
  const readings = findEmbeddings(address.parts);
  if (readings.length === 0) {
    return Object.freeze({
      address: canonical,
      family: 6,
      kind: ownKind,
      block: block?.entry ?? null,
      embedded: null,
      embeddings: NO_EMBEDDINGS,
    });
  }
  const embeddings = readings.map(({ via, ipv4 }) =>
    Object.freeze({ via, ipv4: classifyV4(ipv4) }),
  );
  const first = embeddings[0] as EmbeddedIpv4;
  // Mapped and NAT64 (well-known prefix) addresses reach exactly the embedded IPv4 host, so they
  // are judged by it: NAT64 of a public address stays usable for IPv6-only (DNS64) networks.
  // ISATAP keeps the kind of its own prefix. The other forms are tunnels, deprecated or of
  // unknown layout, and refused outright (edge tier), whatever they carry. In every case the
  // worst reading counts.
  const direct = first.via === 'ipv4-mapped' || first.via === 'nat64';
  const onlyIsatap = embeddings.every((e) => e.via === 'isatap');
  let kind: AddressKind = direct ? first.ipv4.kind : onlyIsatap ? ownKind : 'special';
  for (const embedding of embeddings) kind = worst(kind, embedding.ipv4.kind);
  return Object.freeze({
    address: canonical,
    family: 6,
    kind,
    block: block?.entry ?? null,
    embedded: first,
    embeddings: Object.freeze(embeddings),
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
 * 2000::/3 are `special`. Every IPv6 form that embeds IPv4 is unwrapped (see {@link Ipv4Embedding}):
 * mapped, compatible, translated, NAT64 `64:ff9b::/96`, local-use NAT64 `64:ff9b:1::/48` in each
 * RFC 6052 layout, 6to4, Teredo (client and server) and ISATAP. Mapped and NAT64 addresses take
 * the embedded address's kind, ISATAP its own prefix's; the others are at least `special`, and
 * the worst reading counts. `embeddings` lists every reading.
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
 * classifyAddress('64:ff9b:1::a9fe:a9fe').embeddings.map((e) => e.ipv4.address);
 * // ['169.254.169.254', '0.0.0.169', '0.0.0.0'] (the /96, /64, and /56 and /48 layouts)
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
