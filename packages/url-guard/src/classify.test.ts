import { describe, expect, it } from 'vitest';
import { type AddressKind, classifyAddress } from './classify.js';
import { UrlGuardError } from './errors.js';

// Hand-written, independent of the tables: each block's edges and its neighbours.
const edges: [string, AddressKind][] = [
  ['0.0.0.0', 'non-unicast'],
  ['0.1.2.3', 'non-unicast'],
  ['0.255.255.255', 'non-unicast'],
  ['1.0.0.0', 'global'],
  ['9.255.255.255', 'global'],
  ['10.0.0.0', 'special'],
  ['10.255.255.255', 'special'],
  ['11.0.0.0', 'global'],
  ['100.63.255.255', 'global'],
  ['100.64.0.0', 'special'],
  ['100.100.100.200', 'special'],
  ['100.127.255.255', 'special'],
  ['100.128.0.0', 'global'],
  ['126.255.255.255', 'global'],
  ['127.0.0.1', 'special'],
  ['127.255.255.255', 'special'],
  ['128.0.0.0', 'global'],
  ['169.253.255.255', 'global'],
  ['169.254.0.0', 'special'],
  ['169.254.169.254', 'special'],
  ['169.255.0.0', 'global'],
  ['172.15.255.255', 'global'],
  ['172.16.0.0', 'special'],
  ['172.31.255.255', 'special'],
  ['172.32.0.0', 'global'],
  ['191.255.255.255', 'global'],
  ['192.0.0.0', 'special'],
  ['192.0.0.8', 'special'],
  ['192.0.0.9', 'global'],
  ['192.0.0.10', 'global'],
  ['192.0.0.11', 'special'],
  ['192.0.0.192', 'special'],
  ['192.0.0.255', 'special'],
  ['192.0.1.0', 'global'],
  ['192.0.2.0', 'special'],
  ['192.0.2.255', 'special'],
  ['192.0.3.0', 'global'],
  ['192.31.196.1', 'global'],
  ['192.88.98.255', 'global'],
  ['192.88.99.1', 'special'],
  ['192.88.99.2', 'special'],
  ['192.88.100.0', 'global'],
  ['192.167.255.255', 'global'],
  ['192.168.0.0', 'special'],
  ['192.168.255.255', 'special'],
  ['192.169.0.0', 'global'],
  ['198.17.255.255', 'global'],
  ['198.18.0.0', 'special'],
  ['198.19.255.255', 'special'],
  ['198.20.0.0', 'global'],
  ['198.51.100.7', 'special'],
  ['203.0.113.7', 'special'],
  ['223.255.255.255', 'global'],
  ['224.0.0.0', 'non-unicast'],
  ['239.255.255.250', 'non-unicast'],
  ['240.0.0.0', 'non-unicast'],
  ['255.255.255.254', 'non-unicast'],
  ['255.255.255.255', 'non-unicast'],
  ['168.63.129.16', 'global'], // looks public; refused by the policy's metadata list
  ['8.8.8.8', 'global'],
  ['::', 'non-unicast'],
  ['::1', 'special'],
  ['::2', 'non-unicast'], // IPv4-compatible 0.0.0.2
  ['1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'special'],
  ['2000::', 'global'],
  ['2001::', 'non-unicast'], // Teredo with client 255.255.255.255
  ['2001:1::1', 'global'],
  ['2001:1::4', 'special'],
  ['2001:2::1', 'special'],
  ['2001:3::1', 'global'],
  ['2001:10::1', 'special'],
  ['2001:20::1', 'global'],
  ['2001:30::1', 'global'],
  ['2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', 'special'],
  ['2001:200::', 'global'],
  ['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', 'global'],
  ['2001:db8::1', 'special'],
  ['2001:db9::', 'global'],
  ['2001:4860:4860::8888', 'global'],
  ['2606:4700:4700::1111', 'global'],
  ['2620:4f:8000::1', 'global'],
  ['3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'global'],
  ['3fff::', 'special'],
  ['3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', 'special'],
  ['3fff:1000::', 'global'],
  ['4000::', 'special'],
  ['5f00::1', 'special'],
  ['fc00::', 'special'],
  ['fd00:ec2::254', 'special'],
  ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'special'],
  ['fe80::1', 'special'],
  ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'special'],
  ['fec0::1', 'special'],
  ['ff02::1', 'non-unicast'],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'non-unicast'],
  ['100::1', 'special'],
  ['100:0:0:1::1', 'special'],
  ['64:ff9b:1::a9fe:a9fe', 'non-unicast'], // its /48 and /56 readings are 0.0.0.0
];

describe('classifyAddress: block edges', () => {
  it.each(edges)('%s is %s', (address, kind) => {
    expect(classifyAddress(address).kind).toBe(kind);
  });
});

describe('classifyAddress: IPv4 embedded in IPv6 is unwrapped', () => {
  it.each([
    // [address, via, embedded IPv4, kind]
    ['::ffff:127.0.0.1', 'ipv4-mapped', '127.0.0.1', 'special'],
    ['::ffff:7f00:1', 'ipv4-mapped', '127.0.0.1', 'special'],
    ['::FFFF:7F00:1', 'ipv4-mapped', '127.0.0.1', 'special'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'ipv4-mapped', '169.254.169.254', 'special'],
    ['::ffff:8.8.8.8', 'ipv4-mapped', '8.8.8.8', 'global'],
    ['::ffff:0.0.0.0', 'ipv4-mapped', '0.0.0.0', 'non-unicast'],
    ['::127.0.0.1', 'ipv4-compatible', '127.0.0.1', 'special'],
    ['::7f00:1', 'ipv4-compatible', '127.0.0.1', 'special'],
    ['::808:808', 'ipv4-compatible', '8.8.8.8', 'special'], // refused outright
    ['::ffff:0:127.0.0.1', 'ipv4-translated', '127.0.0.1', 'special'],
    ['::ffff:0:808:808', 'ipv4-translated', '8.8.8.8', 'special'],
    ['64:ff9b::7f00:1', 'nat64', '127.0.0.1', 'special'],
    ['64:ff9b::a9fe:a9fe', 'nat64', '169.254.169.254', 'special'],
    ['64:ff9b::808:808', 'nat64', '8.8.8.8', 'global'], // IPv6-only (DNS64) networks keep working
    ['64:ff9b::e000:1', 'nat64', '224.0.0.1', 'non-unicast'],
    ['2002:a9fe:a9fe::', '6to4', '169.254.169.254', 'special'],
    ['2002:7f00:1::1', '6to4', '127.0.0.1', 'special'],
    ['2002:808:808::1', '6to4', '8.8.8.8', 'special'], // refused outright
    // RFC 4380 §4 example: client 192.0.2.45 stored inverted as 3fff:fdd2.
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo', '192.0.2.45', 'special'],
    ['2001::ffff:ffff:80ff:fffe', 'teredo', '127.0.0.1', 'special'],
    ['2001::ffff:ffff:f7f7:f7f7', 'teredo', '8.8.8.8', 'special'], // refused outright
  ] as const)('%s: %s of %s', (address, via, ipv4, kind) => {
    const classification = classifyAddress(address);
    expect(classification.family).toBe(6);
    expect(classification.embedded?.via).toBe(via);
    expect(classification.embedded?.ipv4.address).toBe(ipv4);
    expect(classification.kind).toBe(kind);
  });

  it('does not treat :: and ::1 as IPv4-compatible', () => {
    expect(classifyAddress('::').embedded).toBeNull();
    expect(classifyAddress('::1').embedded).toBeNull();
    expect(classifyAddress('::1').block?.name).toBe('Loopback Address');
  });

  it.each([
    // [address, the readings in /96, /64, /56, /48 order, without repeats]
    ['64:ff9b:1::a9fe:a9fe', ['169.254.169.254', '0.0.0.169', '0.0.0.0']],
    [
      '64:ff9b:1:0:a9:fea9:fe00:0',
      ['254.0.0.0', '169.254.169.254', '0.169.254.169', '0.0.169.254'],
    ],
    ['64:ff9b:1:a9:fe:a9fe::', ['0.0.0.0', '254.169.254.0', '169.254.169.254', '0.169.254.169']],
    ['64:ff9b:1:a9fe:a9:fe00::', ['0.0.0.0', '169.254.0.0', '254.169.254.0', '169.254.169.254']],
    ['64:ff9b:1:ffff:ff08:808:808:808', ['8.8.8.8', '255.8.8.8', '255.255.8.8']], // /64 repeats /96
  ] as const)('reads local-use NAT64 %s in every RFC 6052 layout', (address, readings) => {
    const classification = classifyAddress(address);
    expect(classification.embeddings.map((e) => e.via)).toEqual(readings.map(() => 'nat64-local'));
    expect(classification.embeddings.map((e) => e.ipv4.address)).toEqual(readings);
    expect(classification.embedded).toBe(classification.embeddings[0]);
    // Whatever it carries, a local-use NAT64 address is never global.
    expect(classification.kind).not.toBe('global');
  });

  it('reads the rest of 64:ff9b::/32 in every RFC 6052 layout, /32 to /96', () => {
    // 169.254.169.254 in the /32 layout: bytes 4–7.
    const c = classifyAddress('64:ff9b:a9fe:a9fe::');
    expect(c.embeddings.map((e) => e.ipv4.address)).toContain('169.254.169.254');
    expect(c.embeddings.every((e) => e.via === 'nat64-local')).toBe(true);
    // The /40 layout: bytes 5, 6, 7 and 9.
    expect(
      classifyAddress('64:ff9b:a9:fea9:fe:0:0:0').embeddings.map((e) => e.ipv4.address),
    ).toContain('169.254.169.254');
    expect(c.kind).not.toBe('global');
    // The well-known /96 has one reading.
    expect(classifyAddress('64:ff9b::a9fe:a9fe').embeddings).toHaveLength(1);
  });

  it('reads ISATAP interface identifiers under any prefix, with the prefix’s own kind', () => {
    const global = classifyAddress('2606:4700::200:5efe:808:808');
    expect(global.embeddings.map((e) => [e.via, e.ipv4.address])).toEqual([['isatap', '8.8.8.8']]);
    expect(global.kind).toBe('global');
    expect(classifyAddress('2606:4700::5efe:a00:1').kind).toBe('special');
    expect(classifyAddress('2606:4700::5efe:a9fe:a9fe').embedded?.ipv4.address).toBe(
      '169.254.169.254',
    );
    // 6to4 with an ISATAP interface identifier: both readings.
    expect(
      classifyAddress('2002:808:808:1:0:5efe:7f00:1').embeddings.map((e) => e.ipv4.address),
    ).toEqual(['8.8.8.8', '127.0.0.1']);
    // Not ISATAP: another interface identifier.
    expect(classifyAddress('2606:4700::400:5efe:808:808').embeddings).toEqual([]);
  });

  it('lists no embeddings for IPv4 and plain IPv6 addresses', () => {
    expect(classifyAddress('8.8.8.8').embeddings).toEqual([]);
    expect(classifyAddress('2606:4700::1111').embeddings).toEqual([]);
    expect(classifyAddress('::ffff:8.8.8.8').embeddings).toHaveLength(1);
  });
});

describe('classifyAddress: canonical output and input rules', () => {
  it('returns canonical text, family, block and frozen results', () => {
    const c = classifyAddress('[2001:DB8:0:0:0:0:0:1]');
    expect(c).toMatchObject({ address: '2001:db8::1', family: 6, kind: 'special' });
    expect(c.block).toMatchObject({
      prefix: '2001:db8::/32',
      rfc: 'RFC 3849',
      globallyReachable: false,
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(classifyAddress('192.0.2.1')).toMatchObject({
      address: '192.0.2.1',
      family: 4,
      embedded: null,
    });
  });

  it.each([
    '127.1',
    '0x7f.1',
    '2130706433',
    '0177.0.0.1',
    '010.0.0.1',
    'fe80::1%eth0',
    'example.com',
    '',
    '[::1',
    '1.2.3.4.5',
    '::ffff:1.2.3',
  ])('refuses %j as not an address', (input) => {
    expect(() => classifyAddress(input)).toThrowError(UrlGuardError);
    try {
      classifyAddress(input);
    } catch (error) {
      expect(error).toBeInstanceOf(UrlGuardError);
      expect((error as UrlGuardError).code).toBe('ERR_URL_REFUSED');
      expect((error as UrlGuardError).reason).toBe('invalid-address');
    }
  });

  it('refuses non-string input with a typed error', () => {
    expect(() => classifyAddress(42 as unknown as string)).toThrowError(
      expect.objectContaining({ reason: 'invalid-address' }),
    );
  });
});
