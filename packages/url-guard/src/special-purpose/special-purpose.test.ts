import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { classifyAddress } from '../classify.js';
import { checkAddress, compiledPolicyOf, createUrlPolicy } from '../policy.js';
import { ADDITIONAL_NON_GLOBAL_BLOCKS } from './additional.data.js';
import { IANA_IPV4_SPECIAL_PURPOSE } from './iana-ipv4.data.js';
import { IANA_IPV6_SPECIAL_PURPOSE } from './iana-ipv6.data.js';
import type { SpecialPurposeEntry, SpecialPurposeRegistry } from './types.js';

const registries: [string, SpecialPurposeRegistry][] = [
  ['IPv4', IANA_IPV4_SPECIAL_PURPOSE],
  ['IPv6', IANA_IPV6_SPECIAL_PURPOSE],
  ['additional', ADDITIONAL_NON_GLOBAL_BLOCKS],
];

function family(prefix: string): typeof ipaddr.IPv4 | typeof ipaddr.IPv6 {
  return prefix.includes(':') ? ipaddr.IPv6 : ipaddr.IPv4;
}

function first(prefix: string): string {
  return family(prefix).networkAddressFromCIDR(prefix).toString();
}

function last(prefix: string): string {
  return family(prefix).broadcastAddressFromCIDR(prefix).toString();
}

const defaultPolicy = compiledPolicyOf(createUrlPolicy());

describe.each(registries)('%s table integrity', (_label, registry) => {
  it('is dated and sourced', () => {
    expect(registry.snapshotDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(registry.newestAllocation).toMatch(/^\d{4}-\d{2}$/);
    expect(registry.source).toMatch(/^https:\/\/www\.iana\.org\//);
    expect(Object.isFrozen(registry)).toBe(true);
    expect(Object.isFrozen(registry.entries)).toBe(true);
  });

  it.each(registry.entries.map((e) => [e.prefix, e] as const))(
    '%s is a well-formed entry',
    (prefix, entry) => {
      const written = ipaddr.parse(prefix.slice(0, prefix.indexOf('/')));
      // Written with its network address: no host bits set.
      expect(written.toString()).toBe(first(prefix));
      expect(isIP(written.toString())).not.toBe(0);
      expect(entry.name.length).toBeGreaterThan(0);
      expect(entry.rfc).toMatch(/^RFC \d+/);
      expect([true, false, null]).toContain(entry.globallyReachable);
      if (entry.allocated !== null) expect(entry.allocated).toMatch(/^\d{4}-\d{2}$/);
      if (entry.allocated !== null) expect(entry.allocated <= registry.newestAllocation).toBe(true);
    },
  );
});

describe('IANA registry snapshot contents', () => {
  it('holds the 25 IPv4 records (one split in two) and the 25 IPv6 records', () => {
    expect(IANA_IPV4_SPECIAL_PURPOSE.entries).toHaveLength(26);
    expect(IANA_IPV6_SPECIAL_PURPOSE.entries).toHaveLength(25);
  });

  it('includes the blocks other libraries missed', () => {
    const prefixes = [
      ...IANA_IPV4_SPECIAL_PURPOSE.entries,
      ...IANA_IPV6_SPECIAL_PURPOSE.entries,
    ].map((e) => e.prefix);
    for (const missed of [
      '100.64.0.0/10',
      '192.0.0.0/24',
      '198.18.0.0/15',
      '240.0.0.0/4',
      '3fff::/20',
      '5f00::/16',
      '64:ff9b:1::/48',
      '100:0:0:1::/64',
    ]) {
      expect(prefixes).toContain(missed);
    }
  });
});

// Forms that embed IPv4 are judged by the embedded address (mapped, NAT64) or refused as
// tunnels; their first/last addresses embed 0.0.0.0 and 255.255.255.255, which are refused too.
function expectRefused(address: string): void {
  expect(classifyAddress(address).kind).not.toBe('global');
  expect(() => checkAddress(defaultPolicy, address)).toThrowError(
    expect.objectContaining({
      name: 'UrlGuardError',
      reason: expect.stringMatching(/^(private|metadata)-address$/),
    }),
  );
}

const allEntries: SpecialPurposeEntry[] = registries.flatMap(([, r]) => [...r.entries]);
const nonGlobal = allEntries.filter((e) => e.globallyReachable !== true);
const global = allEntries.filter(
  (e) => e.globallyReachable === true && e.prefix !== '64:ff9b::/96',
);

describe('every non-global block is refused', () => {
  it.each(nonGlobal.map((e) => [e.prefix, e.name] as const))(
    '%s (%s): first and last address',
    (prefix) => {
      expectRefused(first(prefix));
      expectRefused(last(prefix));
    },
  );

  it.each(nonGlobal.map((e) => [e.prefix, e.name] as const))(
    '%s (%s): classified by its own block or a more specific one',
    (prefix) => {
      const classification = classifyAddress(last(prefix));
      if (classification.embedded !== null) return; // judged by the embedded IPv4 (tested below)
      const found = classification.block?.prefix ?? '';
      const [network, bits] = ipaddr.parseCIDR(prefix);
      const [, foundBits] = ipaddr.parseCIDR(found);
      expect(foundBits).toBeGreaterThanOrEqual(bits);
      expect(ipaddr.parse(last(prefix)).match(network, bits)).toBe(true);
    },
  );
});

describe('every globally reachable block inside a special range is allowed', () => {
  it.each(global.map((e) => [e.prefix, e.name] as const))('%s (%s)', (prefix) => {
    for (const address of [first(prefix), last(prefix)]) {
      const classification = classifyAddress(address);
      expect(classification.kind).toBe('global');
      expect(classification.block?.prefix).toBe(prefix);
      expect(checkAddress(defaultPolicy, address).address).toBe(classification.address);
    }
  });

  it('NAT64 64:ff9b::/96 (globally reachable) is judged by the embedded IPv4 address', () => {
    expect(classifyAddress('64:ff9b::808:808').kind).toBe('global');
    expectRefused('64:ff9b::a9fe:a9fe');
    expectRefused('64:ff9b::');
  });
});
