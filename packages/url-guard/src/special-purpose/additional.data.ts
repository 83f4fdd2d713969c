// Blocks that are not in the IANA special-purpose registries but are never globally reachable
// unicast destinations. They come from the IPv4 multicast registry and the IPv6 address-space
// registry; the embedding forms are deprecated or translation-only prefixes of RFC 4291 / RFC 2765.
import type { SpecialPurposeRegistry } from './types.js';

/**
 * Non-global blocks outside the IANA special-purpose registries that the classifier also refuses:
 * IPv4 multicast, IPv6 multicast, the deprecated site-local prefix and the IPv4-compatible and
 * IPv4-translated forms.
 *
 * @example
 * ```ts
 * ADDITIONAL_NON_GLOBAL_BLOCKS.entries.map((e) => e.prefix);
 * ```
 */
export const ADDITIONAL_NON_GLOBAL_BLOCKS: SpecialPurposeRegistry = Object.freeze({
  title: 'Additional non-global blocks (IPv4 multicast, IPv6 address space)',
  source: 'https://www.iana.org/assignments/multicast-addresses/ and https://www.iana.org/assignments/ipv6-address-space/',
  snapshotDate: '2026-11-28',
  newestAllocation: '2004-09',
  entries: Object.freeze([
    { prefix: '224.0.0.0/4', name: 'Multicast', rfc: 'RFC 5771', allocated: null, terminated: null, globallyReachable: false },
    { prefix: 'ff00::/8', name: 'Multicast', rfc: 'RFC 4291', allocated: null, terminated: null, globallyReachable: false },
    { prefix: 'fec0::/10', name: 'Site-Local (deprecated)', rfc: 'RFC 3879', allocated: null, terminated: '2004-09', globallyReachable: false },
    { prefix: '::/96', name: 'IPv4-compatible Address (deprecated)', rfc: 'RFC 4291, Section 2.5.5.1', allocated: null, terminated: null, globallyReachable: false },
    { prefix: '::ffff:0:0:0/96', name: 'IPv4-translated Address', rfc: 'RFC 2765, Section 2.1', allocated: null, terminated: null, globallyReachable: false },
  ]),
});
