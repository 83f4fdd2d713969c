// Snapshot of the IANA IPv4 Special-Purpose Address Registry, transcribed from
// https://www.iana.org/assignments/iana-ipv4-special-registry/iana-ipv4-special-registry-1.csv
// The registry has 25 records; the record "192.0.0.170/32, 192.0.0.171/32" holds two prefixes and
// is split into two entries here, so the table has 26 rows. Update this file (and its date) when
// IANA changes the registry; special-purpose.test.ts checks every row.
import type { SpecialPurposeRegistry } from './types.js';

/**
 * Dated snapshot of the IANA IPv4 Special-Purpose Address Registry (RFC 6890).
 *
 * @example
 * ```ts
 * IANA_IPV4_SPECIAL_PURPOSE.entries.find((e) => e.prefix === '100.64.0.0/10')?.name; // 'Shared Address Space'
 * ```
 */
export const IANA_IPV4_SPECIAL_PURPOSE: SpecialPurposeRegistry = Object.freeze({
  title: 'IANA IPv4 Special-Purpose Address Registry',
  source: 'https://www.iana.org/assignments/iana-ipv4-special-registry/',
  snapshotDate: '2026-11-28',
  newestAllocation: '2017-02',
  entries: Object.freeze([
    { prefix: '0.0.0.0/8', name: '"This network"', rfc: 'RFC 791, Section 3.2', allocated: '1981-09', terminated: null, globallyReachable: false },
    { prefix: '0.0.0.0/32', name: '"This host on this network"', rfc: 'RFC 1122, Section 3.2.1.3', allocated: '1981-09', terminated: null, globallyReachable: false },
    { prefix: '10.0.0.0/8', name: 'Private-Use', rfc: 'RFC 1918', allocated: '1996-02', terminated: null, globallyReachable: false },
    { prefix: '100.64.0.0/10', name: 'Shared Address Space', rfc: 'RFC 6598', allocated: '2012-04', terminated: null, globallyReachable: false },
    { prefix: '127.0.0.0/8', name: 'Loopback', rfc: 'RFC 1122, Section 3.2.1.3', allocated: '1981-09', terminated: null, globallyReachable: false },
    { prefix: '169.254.0.0/16', name: 'Link Local', rfc: 'RFC 3927', allocated: '2005-05', terminated: null, globallyReachable: false },
    { prefix: '172.16.0.0/12', name: 'Private-Use', rfc: 'RFC 1918', allocated: '1996-02', terminated: null, globallyReachable: false },
    { prefix: '192.0.0.0/24', name: 'IETF Protocol Assignments', rfc: 'RFC 6890, Section 2.1', allocated: '2010-01', terminated: null, globallyReachable: false },
    { prefix: '192.0.0.0/29', name: 'IPv4 Service Continuity Prefix', rfc: 'RFC 7335', allocated: '2011-06', terminated: null, globallyReachable: false },
    { prefix: '192.0.0.8/32', name: 'IPv4 dummy address', rfc: 'RFC 7600', allocated: '2015-03', terminated: null, globallyReachable: false },
    { prefix: '192.0.0.9/32', name: 'Port Control Protocol Anycast', rfc: 'RFC 7723', allocated: '2015-10', terminated: null, globallyReachable: true },
    { prefix: '192.0.0.10/32', name: 'Traversal Using Relays around NAT Anycast', rfc: 'RFC 8155', allocated: '2017-02', terminated: null, globallyReachable: true },
    { prefix: '192.0.0.170/32', name: 'NAT64/DNS64 Discovery', rfc: 'RFC 8880, RFC 7050 Section 2.2', allocated: '2013-02', terminated: null, globallyReachable: false },
    { prefix: '192.0.0.171/32', name: 'NAT64/DNS64 Discovery', rfc: 'RFC 8880, RFC 7050 Section 2.2', allocated: '2013-02', terminated: null, globallyReachable: false },
    { prefix: '192.0.2.0/24', name: 'Documentation (TEST-NET-1)', rfc: 'RFC 5737', allocated: '2010-01', terminated: null, globallyReachable: false },
    { prefix: '192.31.196.0/24', name: 'AS112-v4', rfc: 'RFC 7535', allocated: '2014-12', terminated: null, globallyReachable: true },
    { prefix: '192.52.193.0/24', name: 'AMT', rfc: 'RFC 7450', allocated: '2014-12', terminated: null, globallyReachable: true },
    { prefix: '192.88.99.0/24', name: 'Deprecated (6to4 Relay Anycast)', rfc: 'RFC 7526', allocated: '2001-06', terminated: '2015-03', globallyReachable: null },
    { prefix: '192.88.99.2/32', name: '6a44-relay anycast address', rfc: 'RFC 6751', allocated: '2012-10', terminated: null, globallyReachable: false },
    { prefix: '192.168.0.0/16', name: 'Private-Use', rfc: 'RFC 1918', allocated: '1996-02', terminated: null, globallyReachable: false },
    { prefix: '192.175.48.0/24', name: 'Direct Delegation AS112 Service', rfc: 'RFC 7534', allocated: '1996-01', terminated: null, globallyReachable: true },
    { prefix: '198.18.0.0/15', name: 'Benchmarking', rfc: 'RFC 2544', allocated: '1999-03', terminated: null, globallyReachable: false },
    { prefix: '198.51.100.0/24', name: 'Documentation (TEST-NET-2)', rfc: 'RFC 5737', allocated: '2010-01', terminated: null, globallyReachable: false },
    { prefix: '203.0.113.0/24', name: 'Documentation (TEST-NET-3)', rfc: 'RFC 5737', allocated: '2010-01', terminated: null, globallyReachable: false },
    { prefix: '240.0.0.0/4', name: 'Reserved', rfc: 'RFC 1112, Section 4', allocated: '1989-08', terminated: null, globallyReachable: false },
    { prefix: '255.255.255.255/32', name: 'Limited Broadcast', rfc: 'RFC 8190, RFC 919 Section 7', allocated: '1984-10', terminated: null, globallyReachable: false },
  ]),
});
