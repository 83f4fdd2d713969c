/**
 * Property-based tests of the rules that must hold under every option (issue 13): an IPv6 form
 * that carries an IPv4 address never gets a better verdict than the IPv4 address itself, and a
 * metadata address is refused in every form unless it is listed on its own. Deterministic: a
 * fixed seed and a bounded number of runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CheckUrlOptions, checkUrl } from './check.js';
import { UrlGuardError } from './errors.js';
import { URL_POLICY_DEFAULTS } from './policy.js';
import type { Resolver } from './resolver.js';

// 300 cases of about 14 checks each per property: a few seconds in all.
const RUNS = { seed: 20261203, numRuns: 300 } as const;

type Bytes = readonly number[];

function hex(bytes: Bytes): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2)
    words.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return words.join(':');
}

function dotted(v4: Bytes): string {
  return v4.join('.');
}

/** Every form that carries `v4`, each as an IPv6 address; `r` supplies the free bits. */
function embeddings(v4: Bytes, r: Bytes): { form: string; address: string }[] {
  const [a = 0, b = 0, c = 0, d = 0] = v4;
  const zeros = new Array<number>(16).fill(0);
  const put = (prefix: Bytes, at: number, rest: Bytes = []): number[] => {
    const out = [...zeros];
    prefix.forEach((byte, i) => {
      out[i] = byte;
    });
    rest.forEach((byte, i) => {
      out[at + i] = byte;
    });
    return out;
  };
  const forms: { form: string; address: string }[] = [
    { form: 'ipv4-mapped (dotted)', address: `::ffff:${dotted(v4)}` },
    { form: 'ipv4-mapped', address: hex(put([], 10, [0xff, 0xff, a, b, c, d])) },
    { form: 'ipv4-translated', address: hex(put([], 8, [0xff, 0xff, 0, 0, a, b, c, d])) },
    { form: 'nat64', address: hex(put([0, 0x64, 0xff, 0x9b], 12, [a, b, c, d])) },
    { form: '6to4', address: hex(put([0x20, 0x02, a, b, c, d], 6, r.slice(0, 10))) },
    {
      form: 'teredo',
      address: hex(
        put([0x20, 0x01, 0, 0], 4, [...r.slice(0, 8), 255 - a, 255 - b, 255 - c, 255 - d]),
      ),
    },
    {
      form: 'isatap',
      address: hex(
        put([0x20 | ((r[0] ?? 0) & 0x1f), ...r.slice(1, 8)], 8, [
          (r[8] ?? 0) & 2,
          0,
          0x5e,
          0xfe,
          a,
          b,
          c,
          d,
        ]),
      ),
    },
  ];
  // ::/96 minus :: and ::1, which are not IPv4-compatible addresses (RFC 4291).
  if (!(a === 0 && b === 0 && c === 0 && d <= 1)) {
    forms.push({ form: 'ipv4-compatible', address: hex(put([], 12, [a, b, c, d])) });
  }
  // Local-use NAT64 (RFC 8215) in each RFC 6052 layout: network-chosen bits after the /48, the
  // u octet (byte 8) zero, the IPv4 address around it, then suffix bits (zero, or not).
  const local = [0, 0x64, 0xff, 0x9b, 0, 1];
  const suffix = (r[15] ?? 0) % 2 === 0;
  const layouts: [number, Bytes][] = [
    [48, [6, 7, 9, 10]],
    [56, [7, 9, 10, 11]],
    [64, [9, 10, 11, 12]],
    [96, [12, 13, 14, 15]],
  ];
  for (const [length, at] of layouts) {
    const bytes = [...local, ...r.slice(6, 16)];
    for (let i = length / 8; i < 16; i++) bytes[i] = suffix ? (r[i] ?? 0) : 0;
    if (length < 96) bytes[8] = 0;
    at.forEach((index, i) => {
      bytes[index] = v4[i] ?? 0;
    });
    forms.push({ form: `nat64-local /${length}`, address: hex(bytes) });
  }
  // The rest of 64:ff9b::/32 as a /32 or /40 network-specific prefix (skipping addresses that
  // fall in the local-use /48 or the well-known /96, which are read their own way).
  for (const [length, at] of [
    [32, [4, 5, 6, 7]],
    [40, [5, 6, 7, 9]],
  ] as const) {
    const bytes = [0, 0x64, 0xff, 0x9b, ...r.slice(4, 16)];
    for (let i = length / 8; i < 16; i++) bytes[i] = suffix ? (r[i] ?? 0) : 0;
    bytes[8] = 0;
    at.forEach((index, i) => {
      bytes[index] = v4[i] ?? 0;
    });
    const localUse = bytes[4] === 0 && bytes[5] === 1;
    const wellKnown = bytes.slice(4, 12).every((b) => b === 0);
    if (!localUse && !wellKnown) forms.push({ form: `nat64 /${length}`, address: hex(bytes) });
  }
  return forms;
}

const byte = fc.integer({ min: 0, max: 255 });
const INTERESTING: Bytes[] = [
  ...URL_POLICY_DEFAULTS.metadataAddresses.filter((m) => !m.includes(':')),
  '127.0.0.1',
  '10.1.2.3',
  '192.168.1.1',
  '172.16.0.1',
  '100.64.0.1',
  '0.0.0.0',
  '0.1.2.3',
  '255.255.255.255',
  '224.0.0.1',
  '240.0.0.1',
  '192.0.0.9',
  '192.0.2.1',
  '198.18.0.1',
  '8.8.8.8',
  '93.184.215.14',
].map((text) => text.split('.').map(Number));
const ipv4 = fc.oneof(fc.tuple(byte, byte, byte, byte), fc.constantFrom(...INTERESTING));
const random = fc.array(byte, { minLength: 16, maxLength: 16 });

const ADDRESS_POOL = [
  '10.0.0.0/8',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '100.64.0.0/10',
  '0.0.0.0/8',
  '224.0.0.0/4',
  '0.0.0.0/0',
  '::/0',
  '::/96',
  '::ffff:0:0/96',
  '::ffff:0:0:0/96',
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  '2002::/16',
  '2001::/32',
  '2000::/3',
  'fd00:ec2::254',
];

/** Options that never list the IPv4 address itself in `allowedAddresses` unless `listV4`. */
const options = fc.record({
  allowPrivateAddresses: fc.boolean(),
  allowedAddresses: fc.subarray(ADDRESS_POOL),
  listV4: fc.boolean(),
  listForm: fc.boolean(),
  blockV4: fc.boolean(),
  allowOnlyV4: fc.boolean(),
  metadata: fc.constantFrom('default', 'none', 'v4'),
});

type Drawn = {
  allowPrivateAddresses: boolean;
  allowedAddresses: string[];
  listV4: boolean;
  listForm: boolean;
  blockV4: boolean;
  allowOnlyV4: boolean;
  metadata: 'default' | 'none' | 'v4';
};

function build(drawn: Drawn, v4: string, form: string, hostLists: boolean): CheckUrlOptions {
  const allowedAddresses = [...drawn.allowedAddresses];
  if (drawn.listV4) allowedAddresses.push(v4);
  if (drawn.listForm) allowedAddresses.push(form);
  return {
    allowIpLiterals: true,
    allowPrivateAddresses: drawn.allowPrivateAddresses,
    allowedAddresses,
    ...(drawn.metadata === 'none' ? { metadataAddresses: [] } : {}),
    ...(drawn.metadata === 'v4'
      ? { metadataAddresses: [...URL_POLICY_DEFAULTS.metadataAddresses, v4] }
      : {}),
    ...(hostLists && drawn.blockV4 ? { blockedHosts: [v4] } : {}),
    ...(hostLists && drawn.allowOnlyV4 ? { allowedHosts: [v4, 'example.com'] } : {}),
  };
}

async function verdict(url: string, options: CheckUrlOptions): Promise<string> {
  try {
    await checkUrl(url, options);
    return 'allowed';
  } catch (error) {
    if (!(error instanceof UrlGuardError)) throw error;
    return error.reason;
  }
}

function answering(address: string): Resolver {
  return async () => [{ address, family: address.includes(':') ? 6 : 4 }];
}

describe('every IPv4-embedding form gets the IPv4 address’s verdict or is refused', () => {
  it('as an IP literal, under every combination of options', { timeout: 30_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(ipv4, random, options, async (v4Bytes, r, drawn) => {
        const v4 = dotted(v4Bytes);
        const own = await verdict(`https://${v4}/`, build(drawn, v4, '::', true));
        for (const { form, address } of embeddings(v4Bytes, r)) {
          const result = await verdict(`https://[${address}]/`, build(drawn, v4, address, true));
          if (result === 'allowed' && own !== 'allowed') {
            throw new Error(`${form} ${address} allowed while ${v4} is ${own}`);
          }
        }
      }),
      RUNS,
    );
  });

  it('as a DNS answer, under every combination of options', { timeout: 30_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(ipv4, random, options, async (v4Bytes, r, drawn) => {
        const v4 = dotted(v4Bytes);
        const url = 'https://hooks.example.com/';
        const own = await verdict(url, {
          ...build(drawn, v4, '::', false),
          resolver: answering(v4),
        });
        for (const { form, address } of embeddings(v4Bytes, r)) {
          const result = await verdict(url, {
            ...build(drawn, v4, address, false),
            resolver: answering(address),
          });
          if (result === 'allowed' && own !== 'allowed') {
            throw new Error(`${form} ${address} allowed while ${v4} is ${own}`);
          }
        }
      }),
      RUNS,
    );
  });
});

describe('a metadata address is refused in every form unless listed on its own', () => {
  const metadata = URL_POLICY_DEFAULTS.metadataAddresses.filter((m) => !m.includes(':'));

  it('as an IP literal and as a DNS answer, under every option that does not list it', {
    timeout: 30_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...metadata), random, options, async (m, r, drawn) => {
        const listed = { ...drawn, listV4: false, metadata: 'default' as const };
        const forms = [{ form: 'itself', address: m }, ...embeddings(m.split('.').map(Number), r)];
        for (const { form, address } of forms) {
          // Listing a form that carries it (not the address itself) does not count.
          const only = { ...listed, listForm: listed.listForm && form !== 'itself' };
          const options = build(only, m, address, false);
          const literal = address.includes(':') ? `[${address}]` : address;
          const asLiteral = await verdict(`https://${literal}/`, options);
          const asAnswer = await verdict('https://hooks.example.com/', {
            ...options,
            resolver: answering(address),
          });
          for (const result of [asLiteral, asAnswer]) {
            if (result === 'allowed') throw new Error(`${form} ${address} of ${m} was allowed`);
          }
        }
      }),
      RUNS,
    );
  });

  it('is allowed only when listed on its own, and then only in the forms the IPv4 reaches', async () => {
    const listed: CheckUrlOptions = {
      allowIpLiterals: true,
      allowedAddresses: ['169.254.169.254'],
    };
    expect(await verdict('https://169.254.169.254/', listed)).toBe('allowed');
    expect(await verdict('https://[::ffff:a9fe:a9fe]/', listed)).toBe('allowed');
    // The tunnel forms stay special: refused without allowPrivateAddresses.
    expect(await verdict('https://[64:ff9b:1::a9fe:a9fe]/', listed)).toBe('private-address');
    expect(await verdict('https://[2002:a9fe:a9fe::]/', listed)).toBe('private-address');
    // A block that covers it is not a listing.
    expect(
      await verdict('https://169.254.169.254/', {
        allowIpLiterals: true,
        allowedAddresses: ['169.254.0.0/16'],
      }),
    ).toBe('metadata-address');
  });
});

describe('the generators', () => {
  it('produce addresses that carry the IPv4 address (so the properties above can fail)', async () => {
    // Under allowPrivateAddresses, 10.1.2.3 is allowed and 0.0.0.0 refused: each form carrying
    // 0.0.0.0 must be refused, which only holds if the form is really unwrapped.
    const r = new Array<number>(16).fill(0x11);
    for (const { form, address } of embeddings([0, 0, 0, 0], r)) {
      const result = await verdict(`https://[${address}]/`, {
        allowIpLiterals: true,
        allowPrivateAddresses: true,
      });
      expect([form, result]).toEqual([form, 'private-address']);
    }
    for (const { form, address } of embeddings([169, 254, 169, 254], r)) {
      const result = await verdict(`https://[${address}]/`, {
        allowIpLiterals: true,
        allowPrivateAddresses: true,
        allowedAddresses: ['::/0'],
      });
      expect([form, result]).toEqual([form, 'metadata-address']);
    }
  });
});
