// Snapshot of the IANA IPv6 Special-Purpose Address Registry, transcribed from
// https://www.iana.org/assignments/iana-ipv6-special-registry/iana-ipv6-special-registry-1.csv
// 25 records. Update this file (and its date) when IANA changes the registry;
// special-purpose.test.ts checks every row.
import type { SpecialPurposeRegistry } from './types.js';

/**
 * Dated snapshot of the IANA IPv6 Special-Purpose Address Registry (RFC 6890).
 *
 * @example
 * ```ts
 * IANA_IPV6_SPECIAL_PURPOSE.entries.find((e) => e.prefix === '3fff::/20')?.rfc; // 'RFC 9637'
 * ```
 */
export const IANA_IPV6_SPECIAL_PURPOSE: SpecialPurposeRegistry = Object.freeze({
  title: 'IANA IPv6 Special-Purpose Address Registry',
  source: 'https://www.iana.org/assignments/iana-ipv6-special-registry/',
  snapshotDate: '2026-11-28',
  newestAllocation: '2025-04',
  entries: Object.freeze([
    { prefix: '::1/128', name: 'Loopback Address', rfc: 'RFC 4291', allocated: '2006-02', terminated: null, globallyReachable: false },
    { prefix: '::/128', name: 'Unspecified Address', rfc: 'RFC 4291', allocated: '2006-02', terminated: null, globallyReachable: false },
    { prefix: '::ffff:0:0/96', name: 'IPv4-mapped Address', rfc: 'RFC 4291', allocated: '2006-02', terminated: null, globallyReachable: false },
    { prefix: '64:ff9b::/96', name: 'IPv4-IPv6 Translat.', rfc: 'RFC 6052', allocated: '2010-10', terminated: null, globallyReachable: true },
    { prefix: '64:ff9b:1::/48', name: 'IPv4-IPv6 Translat.', rfc: 'RFC 8215', allocated: '2017-06', terminated: null, globallyReachable: false },
    { prefix: '100::/64', name: 'Discard-Only Address Block', rfc: 'RFC 6666', allocated: '2012-06', terminated: null, globallyReachable: false },
    { prefix: '100:0:0:1::/64', name: 'Dummy IPv6 Prefix', rfc: 'RFC 9780', allocated: '2025-04', terminated: null, globallyReachable: false },
    { prefix: '2001::/23', name: 'IETF Protocol Assignments', rfc: 'RFC 2928', allocated: '2000-09', terminated: null, globallyReachable: false },
    { prefix: '2001::/32', name: 'TEREDO', rfc: 'RFC 4380, RFC 8190', allocated: '2006-01', terminated: null, globallyReachable: null },
    { prefix: '2001:1::1/128', name: 'Port Control Protocol Anycast', rfc: 'RFC 7723', allocated: '2015-10', terminated: null, globallyReachable: true },
    { prefix: '2001:1::2/128', name: 'Traversal Using Relays around NAT Anycast', rfc: 'RFC 8155', allocated: '2017-02', terminated: null, globallyReachable: true },
    { prefix: '2001:1::3/128', name: 'DNS-SD Service Registration Protocol Anycast', rfc: 'RFC 9665', allocated: '2024-04', terminated: null, globallyReachable: true },
    { prefix: '2001:2::/48', name: 'Benchmarking', rfc: 'RFC 5180, RFC Errata 1752', allocated: '2008-04', terminated: null, globallyReachable: false },
    { prefix: '2001:3::/32', name: 'AMT', rfc: 'RFC 7450', allocated: '2014-12', terminated: null, globallyReachable: true },
    { prefix: '2001:4:112::/48', name: 'AS112-v6', rfc: 'RFC 7535', allocated: '2014-12', terminated: null, globallyReachable: true },
    { prefix: '2001:10::/28', name: 'Deprecated (previously ORCHID)', rfc: 'RFC 4843', allocated: '2007-03', terminated: '2014-03', globallyReachable: null },
    { prefix: '2001:20::/28', name: 'ORCHIDv2', rfc: 'RFC 7343', allocated: '2014-07', terminated: null, globallyReachable: true },
    { prefix: '2001:30::/28', name: 'Drone Remote ID Protocol Entity Tags (DETs) Prefix', rfc: 'RFC 9374', allocated: '2022-12', terminated: null, globallyReachable: true },
    { prefix: '2001:db8::/32', name: 'Documentation', rfc: 'RFC 3849', allocated: '2004-07', terminated: null, globallyReachable: false },
    { prefix: '2002::/16', name: '6to4', rfc: 'RFC 3056', allocated: '2001-02', terminated: null, globallyReachable: null },
    { prefix: '2620:4f:8000::/48', name: 'Direct Delegation AS112 Service', rfc: 'RFC 7534', allocated: '2011-05', terminated: null, globallyReachable: true },
    { prefix: '3fff::/20', name: 'Documentation', rfc: 'RFC 9637', allocated: '2024-07', terminated: null, globallyReachable: false },
    { prefix: '5f00::/16', name: 'Segment Routing (SRv6) SIDs', rfc: 'RFC 9602', allocated: '2024-04', terminated: null, globallyReachable: false },
    { prefix: 'fc00::/7', name: 'Unique-Local', rfc: 'RFC 4193, RFC 8190', allocated: '2005-10', terminated: null, globallyReachable: false },
    { prefix: 'fe80::/10', name: 'Link-Local Unicast', rfc: 'RFC 4291', allocated: '2006-02', terminated: null, globallyReachable: false },
  ]),
});
