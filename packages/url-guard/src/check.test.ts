import { describe, expect, it } from 'vitest';
import { FETCH_BAD_PORTS } from './bad-ports.js';
import { type CheckUrlOptions, checkUrl } from './check.js';
import { UrlGuardError, UrlPolicyError } from './errors.js';
import type { Resolver } from './resolver.js';
import { tableResolver } from './test-utils/resolver.js';

// Documentation and test addresses stand in for "public" answers; nothing here opens a socket.
const PUBLIC = '93.184.215.14';
const PUBLIC6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

const resolver: Resolver = tableResolver({
  'example.com': [PUBLIC],
  'example.com.': [PUBLIC],
  'api.example.com': [PUBLIC, PUBLIC6],
  'xn--bcher-kva.example': [PUBLIC],
  'xn--exmple-4nf.com': [PUBLIC],
  'evil.example.com': [PUBLIC],
  'evil.example.com.': [PUBLIC],
  'partner.example.com': [PUBLIC],
  'a.partner.example.com': [PUBLIC],
  // Names resolving inward (bypass class 8).
  'rebind.example.com': ['127.0.0.1'],
  '127.0.0.1.nip.io': ['127.0.0.1'],
  'localtest.me': ['127.0.0.1'],
  'localhost.localdomain': ['127.0.0.1'],
  'metadata.google.internal': ['169.254.169.254'],
  'host.docker.internal': ['192.168.65.254'],
  'aaaa-loopback.example.com': ['::1'],
  'aaaa-mapped.example.com': ['::ffff:7f00:1'],
  'aaaa-compat.example.com': ['::7f00:1'],
  'aaaa-nat64.example.com': ['64:ff9b::a9fe:a9fe'],
  'aaaa-6to4.example.com': ['2002:a9fe:a9fe::1'],
  'aaaa-teredo.example.com': ['2001:0:4136:e378:8000:63bf:80ff:fffe'],
  'cgnat.example.com': ['100.100.100.200'],
  'azure.example.com': ['168.63.129.16'],
  'zero.example.com': ['0.0.0.0'],
  // Mixed answers (bypass class 9): one bad address taints the name.
  'mixed.example.com': [PUBLIC, '10.0.0.1'],
  'mixed6.example.com': [PUBLIC, '::1'],
  'empty.example.com': [],
  'garbage.example.com': ['not-an-ip'],
  'zoned.example.com': ['fe80::1%eth0'],
});

async function outcome(url: unknown, options: CheckUrlOptions = {}): Promise<string> {
  try {
    await checkUrl(url as string, { resolver, ...options });
    return 'allowed';
  } catch (error) {
    if (!(error instanceof UrlGuardError)) throw error;
    expect(error.name).toBe('UrlGuardError');
    expect(error.code).toBe('ERR_URL_REFUSED');
    return error.reason;
  }
}

const literals: CheckUrlOptions = { allowIpLiterals: true };
const idn: CheckUrlOptions = { allowIdn: true };

type Row = [input: string, byDefault: string, withLiterals: string];

describe('bypass class 1: non-canonical IPv4 spellings (WHATWG normalises them)', () => {
  it.each<Row>([
    ['https://0x7f.1/', 'ip-literal', 'non-canonical'],
    ['https://127.1/', 'ip-literal', 'non-canonical'],
    ['https://127.0.1/', 'ip-literal', 'non-canonical'],
    ['https://2130706433/', 'ip-literal', 'non-canonical'],
    ['https://0x7f000001/', 'ip-literal', 'non-canonical'],
    ['https://0177.0.0.1/', 'ip-literal', 'non-canonical'],
    ['https://017700000001/', 'ip-literal', 'non-canonical'],
    ['https://169.254.43518/', 'ip-literal', 'non-canonical'],
    ['https://012.1.2.3/', 'ip-literal', 'non-canonical'],
    ['https://010.8.8.8/', 'ip-literal', 'non-canonical'],
    ['https://0x8.0x8.0x8.0x8/', 'ip-literal', 'non-canonical'],
    ['https://127.0.0.1./', 'ip-literal', 'non-canonical'],
    ['https://127.0.0.1/', 'ip-literal', 'private-address'],
    ['https://8.8.8.8/', 'ip-literal', 'allowed'],
  ])('%s: %s by default, %s with literals', async (input, byDefault, withLiterals) => {
    expect(await outcome(input)).toBe(byDefault);
    expect(await outcome(input, literals)).toBe(withLiterals);
  });
});

describe('bypass class 2: zero and unspecified', () => {
  it.each<Row>([
    ['https://0/', 'ip-literal', 'non-canonical'],
    ['https://0x0/', 'ip-literal', 'non-canonical'],
    ['https://0.0/', 'ip-literal', 'non-canonical'],
    ['https://0.0.0.0/', 'ip-literal', 'private-address'],
    ['https://[::]/', 'ip-literal', 'private-address'],
    ['https://zero.example.com/', 'private-address', 'private-address'],
  ])('%s: %s by default, %s with literals', async (input, byDefault, withLiterals) => {
    expect(await outcome(input)).toBe(byDefault);
    expect(await outcome(input, literals)).toBe(withLiterals);
  });
});

describe('bypass classes 3-7: IPv6 literals, embedded IPv4 and brackets', () => {
  it.each<Row>([
    ['https://[::1]/', 'ip-literal', 'private-address'],
    ['https://[0:0:0:0:0:0:0:1]/', 'ip-literal', 'private-address'],
    ['https://[::ffff:127.0.0.1]/', 'ip-literal', 'private-address'],
    ['https://[::ffff:7f00:1]/', 'ip-literal', 'private-address'],
    ['https://[::FFFF:7F00:1]/', 'ip-literal', 'private-address'],
    ['https://[0:0:0:0:0:ffff:127.0.0.1]/', 'ip-literal', 'private-address'],
    ['https://[::127.0.0.1]/', 'ip-literal', 'private-address'],
    ['https://[::ffff:0:127.0.0.1]/', 'ip-literal', 'private-address'],
    ['https://[64:ff9b::7f00:1]/', 'ip-literal', 'private-address'],
    ['https://[64:ff9b::a9fe:a9fe]/', 'ip-literal', 'metadata-address'],
    // Local-use NAT64 (RFC 8215), read in each RFC 6052 layout: the metadata rule sees the IPv4.
    ['https://[64:ff9b:1::a9fe:a9fe]/', 'ip-literal', 'metadata-address'], // /96
    ['https://[64:ff9b:1:0:a9:fea9:fe00:0]/', 'ip-literal', 'metadata-address'], // /64
    ['https://[64:ff9b:1:a9:fe:a9fe::]/', 'ip-literal', 'metadata-address'], // /56
    ['https://[64:ff9b:1:a9fe:a9:fe00::]/', 'ip-literal', 'metadata-address'], // /48
    ['https://[64:ff9b:1::808:808]/', 'ip-literal', 'private-address'], // refused outright
    ['https://[2001:db8::5efe:a9fe:a9fe]/', 'ip-literal', 'metadata-address'], // ISATAP
    ['https://[2002:a9fe:a9fe::]/', 'ip-literal', 'metadata-address'],
    ['https://[2002:7f00:1::]/', 'ip-literal', 'private-address'],
    ['https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'ip-literal', 'private-address'],
    ['https://[::ffff:8.8.8.8]/', 'ip-literal', 'allowed'],
    ['https://[64:ff9b::808:808]/', 'ip-literal', 'allowed'],
    ['https://[2001:4860:4860::8888]/', 'ip-literal', 'allowed'],
  ])('%s: %s by default, %s with literals', async (input, byDefault, withLiterals) => {
    expect(await outcome(input)).toBe(byDefault);
    expect(await outcome(input, literals)).toBe(withLiterals);
  });
});

describe('bypass class 6: blocks other guards miss', () => {
  it.each<Row>([
    ['https://100.100.100.200/', 'ip-literal', 'metadata-address'],
    ['https://100.64.0.1/', 'ip-literal', 'private-address'],
    ['https://224.0.0.1/', 'ip-literal', 'private-address'],
    ['https://239.255.255.250/', 'ip-literal', 'private-address'],
    ['https://255.255.255.255/', 'ip-literal', 'private-address'],
    ['https://240.0.0.1/', 'ip-literal', 'private-address'],
    ['https://192.0.0.192/', 'ip-literal', 'metadata-address'],
    ['https://192.0.0.1/', 'ip-literal', 'private-address'],
    ['https://198.18.0.1/', 'ip-literal', 'private-address'],
    ['https://192.0.2.1/', 'ip-literal', 'private-address'],
    ['https://169.254.169.254/', 'ip-literal', 'metadata-address'],
    ['https://168.63.129.16/', 'ip-literal', 'metadata-address'],
    ['https://[fec0::1]/', 'ip-literal', 'private-address'],
    ['https://[3fff::1]/', 'ip-literal', 'private-address'],
    ['https://[5f00::1]/', 'ip-literal', 'private-address'],
    ['https://[2001:db8::1]/', 'ip-literal', 'private-address'],
    ['https://[100::1]/', 'ip-literal', 'private-address'],
    ['https://[fe80::1]/', 'ip-literal', 'private-address'],
    ['https://[fc00::1]/', 'ip-literal', 'private-address'],
    ['https://[fd00:ec2::254]/', 'ip-literal', 'metadata-address'],
    ['https://[ff02::1]/', 'ip-literal', 'private-address'],
  ])('%s: %s by default, %s with literals', async (input, byDefault, withLiterals) => {
    expect(await outcome(input)).toBe(byDefault);
    expect(await outcome(input, literals)).toBe(withLiterals);
  });
});

describe('bypass class 8: names resolving inward, special names, single labels', () => {
  it.each<[string, string]>([
    ['https://rebind.example.com/', 'private-address'],
    ['https://127.0.0.1.nip.io/', 'private-address'],
    ['https://localtest.me/', 'private-address'],
    ['https://localhost.localdomain/', 'special-use-name'],
    ['https://metadata.google.internal/', 'special-use-name'],
    ['https://host.docker.internal/', 'special-use-name'],
    ['https://aaaa-loopback.example.com/', 'private-address'],
    ['https://aaaa-mapped.example.com/', 'private-address'],
    ['https://aaaa-compat.example.com/', 'private-address'],
    ['https://aaaa-nat64.example.com/', 'metadata-address'],
    ['https://aaaa-6to4.example.com/', 'metadata-address'],
    ['https://aaaa-teredo.example.com/', 'private-address'],
    ['https://cgnat.example.com/', 'metadata-address'],
    ['https://azure.example.com/', 'metadata-address'],
    ['https://metadata/', 'single-label'],
    ['https://instance-data/', 'single-label'],
    ['https://kubernetes/', 'single-label'],
    ['https://localhost/', 'localhost'],
    ['https://foo.localhost/', 'localhost'],
    ['https://a.b.localhost/', 'localhost'],
    ['https://example.com/', 'allowed'],
  ])('%s: %s', async (input, expected) => {
    expect(await outcome(input)).toBe(expected);
  });

  it.each([
    'metadata.google.internal',
    'METADATA.GOOGLE.INTERNAL.',
    'a.internal',
    'printer.local',
    'nas.home.arpa',
    'ipv4only.arpa',
    'router.lan',
    'git.corp',
    'wiki.intranet',
    'box.home',
    'x.private',
    'hidden.onion',
    'name.alt',
    'kubernetes.default',
    'kubernetes.default.svc',
    'api.prod.svc',
    'redis.default.svc.cluster.local',
    'metadata.goog',
    'metadata.tencentyun.com',
    'instance-data.ec2.internal',
    'nothing.invalid',
    'localhost.localdomain',
  ])('%s is refused by name even when it resolves to a public address', async (name) => {
    const everywhere: Resolver = async () => [{ address: PUBLIC, family: 4 }];
    expect(await outcome(`https://${name}/`, { resolver: everywhere })).toBe('special-use-name');
    expect(
      await outcome(`https://${name}/`, { resolver: everywhere, allowSpecialUseNames: true }),
    ).toBe('allowed');
  });

  it.each([
    'example.com',
    'hooks.example',
    'api.test',
    'internal.example.com',
    'local.example.com',
    'notinternal',
    'localinternal.com',
    'goog',
    'svc.example.com',
    'metadata.goog.example.com',
  ])('%s is not a special-use name', async (name) => {
    const everywhere: Resolver = async () => [{ address: PUBLIC, family: 4 }];
    expect(
      await outcome(`https://${name}/`, { resolver: everywhere, allowSingleLabelNames: true }),
    ).toBe('allowed');
  });

  it('special-use names, when allowed, still have their addresses checked', async () => {
    expect(await outcome('https://metadata.google.internal/', { allowSpecialUseNames: true })).toBe(
      'metadata-address',
    );
    expect(
      await outcome('https://metadata.google.internal/', {
        allowSpecialUseNames: true,
        allowPrivateAddresses: true,
      }),
    ).toBe('metadata-address');
    expect(await outcome('https://host.docker.internal/', { allowSpecialUseNames: true })).toBe(
      'private-address',
    );
    // A single label is refused as such first; allowing it leaves the special-use rule.
    expect(await outcome('https://local/', { allowSingleLabelNames: true })).toBe(
      'special-use-name',
    );
  });

  it('localhost and single labels can be enabled; their addresses are still checked', async () => {
    const local = tableResolver({ localhost: ['127.0.0.1', '::1'], payments: ['10.0.0.7'] });
    expect(await outcome('https://localhost/', { allowLocalhost: true, resolver: local })).toBe(
      'private-address',
    );
    expect(
      await outcome('https://localhost/', {
        allowLocalhost: true,
        allowedAddresses: ['127.0.0.1', '::1'],
        resolver: local,
      }),
    ).toBe('allowed');
    expect(
      await outcome('https://payments/', { allowSingleLabelNames: true, resolver: local }),
    ).toBe('private-address');
    expect(
      await outcome('https://payments/', {
        allowSingleLabelNames: true,
        allowPrivateAddresses: true,
        resolver: local,
      }),
    ).toBe('allowed');
  });
});

describe('bypass class 9: every answer is checked', () => {
  it.each<[string, string]>([
    ['https://mixed.example.com/', 'private-address'],
    ['https://mixed6.example.com/', 'private-address'],
    ['https://api.example.com/', 'allowed'],
  ])('%s: %s', async (input, expected) => {
    expect(await outcome(input)).toBe(expected);
  });

  it('returns every checked address, deduplicated, in resolver order', async () => {
    const twice: Resolver = async () => [
      { address: PUBLIC, family: 4 },
      { address: PUBLIC6.toUpperCase(), family: 6 },
      { address: PUBLIC, family: 4 },
    ];
    const checked = await checkUrl('https://api.example.com/x?y#z', { resolver: twice });
    expect(checked.addresses).toEqual([
      { address: PUBLIC, family: 4 },
      { address: PUBLIC6, family: 6 },
    ]);
    expect(checked.href).toBe('https://api.example.com/x?y#z');
    expect(checked.hostname).toBe('api.example.com');
    expect(checked.url).toBeInstanceOf(URL);
    expect(Object.isFrozen(checked)).toBe(true);
  });
});

describe('bypass classes 12-14: parser differentials, controls, percent-encoding, zones, dots', () => {
  it.each<[string, string, CheckUrlOptions?]>([
    ['https://example.com\\@127.0.0.1/', 'non-canonical'],
    ['https://example.com\\.evil/', 'non-canonical'],
    ['https:example.com', 'non-canonical'],
    ['https:/example.com', 'non-canonical'],
    ['https:\\\\example.com', 'non-canonical'],
    ['https:///example.com', 'invalid-url'],
    ['https://', 'invalid-url'],
    ['https://?x', 'invalid-url'],
    ['//example.com/', 'invalid-url'],
    ['example.com', 'invalid-url'],
    ['https://%31%32%37.0.0.1/', 'non-canonical'],
    ['https://ex%61mple.com/', 'non-canonical'],
    ['https://exa\tmple.com/', 'control-character'],
    ['https://exa\nmple.com/', 'control-character'],
    ['https://exa\rmple.com/', 'control-character'],
    ['https://example.com/\n', 'allowed'], // surrounding whitespace is trimmed
    ['  https://example.com/  ', 'allowed'],
    ['\u0000https://example.com/', 'control-character'],
    ['https://example.com/\u0000', 'control-character'],
    ['https://example.com/\u007f', 'control-character'],
    ['https://example.com/\u0085', 'control-character'],
    ['https://example.com/a\u0008b', 'control-character'],
    ['https://exa mple.com/', 'invalid-url'],
    ['https://[fe80::1%25eth0]/', 'non-canonical'],
    ['https://[fe80::1%eth0]/', 'non-canonical'],
    ['https://[::1/', 'invalid-url'],
    ['https://[::1]x/', 'invalid-url'],
    ['https://1.2.3.999/', 'invalid-url'],
    ['https://example.com:65536/', 'invalid-url'],
    ['https://example.com:0443/', 'non-canonical'],
    ['https://example.com:/', 'non-canonical'],
    ['https://example.com:443/', 'allowed'],
    ['https://example.com./', 'allowed'],
    ['https://localhost./', 'localhost'],
    ['https://LOCALHOST/', 'localhost'],
    ['https://LocalHost./', 'localhost'],
    ['https://localhost../', 'invalid-host'],
    ['https://127.0.0.1../', 'invalid-host'],
    ['https://a..example.com/', 'invalid-host'],
    ['https://./', 'invalid-host'],
    ['https://EXAMPLE.com/', 'allowed'],
    ['HTTPS://example.com/', 'allowed'],
  ])('%j: %s', async (input, expected, options = {}) => {
    expect(await outcome(input, options)).toBe(expected);
  });

  it('with IP literals on, the same differentials stay refused', async () => {
    expect(await outcome('https://example.com\\@127.0.0.1/', literals)).toBe('non-canonical');
    expect(await outcome('https://%31%32%37.0.0.1/', literals)).toBe('non-canonical');
    expect(await outcome('https://[fe80::1%25eth0]/', literals)).toBe('non-canonical');
  });
});

describe('bypass class 12: userinfo and "@" confusion', () => {
  it.each([
    'https://@example.com/',
    'https://:@example.com/',
    'https://user@example.com/',
    'https://user:pass@example.com/',
    'https://example.com@127.0.0.1/',
    'https://example.com%40@127.0.0.1/',
  ])('%s: userinfo', async (input) => {
    expect(await outcome(input, literals)).toBe('userinfo');
  });

  it('an "@" after the authority is just path', async () => {
    expect(await outcome('https://example.com/@127.0.0.1')).toBe('allowed');
  });
});

describe('IDN and homographs', () => {
  it.each<[string, string, string]>([
    // [input, IDN off, IDN on]
    ['https://exаmple.com/', 'idn', 'allowed'], // Cyrillic "а"
    ['https://xn--exmple-4nf.com/', 'idn', 'allowed'],
    ['https://bücher.example/', 'idn', 'allowed'],
    ['https://BÜCHER.example/', 'idn', 'allowed'],
    ['https://xn--bcher-kva.example/', 'idn', 'allowed'],
    ['https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/', 'idn', 'non-canonical'],
    ['https://ｌｏｃａｌｈｏｓｔ/', 'idn', 'non-canonical'],
    ['https://127。0。0。1/', 'idn', 'ip-literal'],
    ['https://exam\u200bple.com/', 'idn', 'non-canonical'],
    ['https://exam\u00adple.com/', 'idn', 'non-canonical'],
    ['https://example\uff0ecom/', 'idn', 'non-canonical'],
  ])('%s: %s with IDN off, %s with IDN on', async (input, off, on) => {
    expect(await outcome(input)).toBe(off);
    expect(await outcome(input, idn)).toBe(on);
  });

  it('an IDNA-mapped IPv4 literal is non-canonical even with IDN and literals on', async () => {
    expect(await outcome('https://127。0。0。1/', { allowIdn: true, allowIpLiterals: true })).toBe(
      'non-canonical',
    );
    expect(await outcome('https://８.８.８.８/', { allowIdn: true, allowIpLiterals: true })).toBe(
      'non-canonical',
    );
  });

  it('a homograph does not match an allow-list entry', async () => {
    const options: CheckUrlOptions = { allowIdn: true, allowedHosts: ['example.com'] };
    expect(await outcome('https://exаmple.com/', options)).toBe('host-not-allowed');
    expect(await outcome('https://example.com/', options)).toBe('allowed');
  });

  it('a Unicode allow-list entry matches both spellings of the host', async () => {
    const options: CheckUrlOptions = { allowIdn: true, allowedHosts: ['bücher.example'] };
    expect(await outcome('https://bücher.example/', options)).toBe('allowed');
    expect(await outcome('https://xn--bcher-kva.example/', options)).toBe('allowed');
  });
});

describe('schemes', () => {
  it.each<[string, string, string]>([
    ['http://example.com/', 'scheme', 'allowed'],
    ['HTTP://example.com/', 'scheme', 'allowed'],
    ['ftp://example.com/', 'scheme', 'scheme'],
    ['file:///etc/passwd', 'scheme', 'scheme'],
    ['gopher://example.com/', 'scheme', 'scheme'],
    ['javascript:alert(1)', 'scheme', 'scheme'],
    ['data:text/plain,hi', 'scheme', 'scheme'],
    ['ws://example.com/', 'scheme', 'scheme'],
    ['https://example.com/', 'allowed', 'allowed'],
  ])('%s: %s by default, %s with http allowed', async (input, byDefault, withHttp) => {
    expect(await outcome(input)).toBe(byDefault);
    expect(await outcome(input, { allowedSchemes: ['https', 'http'] })).toBe(withHttp);
  });
});

describe('host lists (applied to names and IP literals, trailing dots normalised)', () => {
  const lists: CheckUrlOptions = {
    allowIpLiterals: true,
    allowedHosts: ['example.com', '*.partner.example.com', '8.8.8.8', '2001:4860:4860::8888'],
    blockedHosts: ['evil.example.com', '8.8.4.4'],
  };
  it.each<[string, string]>([
    ['https://example.com/', 'allowed'],
    ['https://example.com./', 'allowed'],
    ['https://EXAMPLE.COM/', 'allowed'],
    ['https://a.partner.example.com/', 'allowed'],
    ['https://partner.example.com/', 'host-not-allowed'], // "*." matches below the suffix only
    ['https://api.example.com/', 'host-not-allowed'],
    ['https://xpartner.example.com/', 'host-not-allowed'],
    ['https://8.8.8.8/', 'allowed'],
    ['https://[2001:4860:4860:0::8888]/', 'allowed'],
    ['https://1.1.1.1/', 'host-not-allowed'], // literals do not escape the allow-list
    ['https://8.8.4.4/', 'host-blocked'],
  ])('%s: %s', async (input, expected) => {
    expect(await outcome(input, lists)).toBe(expected);
  });

  it.each(['https://evil.example.com/', 'https://evil.example.com./', 'https://EVIL.example.com/'])(
    '%s is blocked (trailing dot and case do not escape)',
    async (input) => {
      expect(await outcome(input, { blockedHosts: ['evil.example.com'] })).toBe('host-blocked');
    },
  );

  it.each([
    'https://[::ffff:8.8.4.4]/',
    'https://[::ffff:808:404]/',
    'https://[64:ff9b::808:404]/',
  ])('%s is blocked by the IPv4 entry it carries', async (input) => {
    const options: CheckUrlOptions = { allowIpLiterals: true, blockedHosts: ['8.8.4.4'] };
    expect(await outcome(input, options)).toBe('host-blocked');
    expect(await outcome(input, { allowIpLiterals: true })).toBe('allowed');
  });

  it.each([
    'https://[64:ff9b:1::808:404]/', // local-use NAT64, /96
    'https://[64:ff9b:1:0:8:804:400:0]/', // /64
    'https://[64:ff9b:1:8:8:404::]/', // /56
    'https://[64:ff9b:1:808:4:400::]/', // /48
    'https://[2002:808:404::1]/', // 6to4
    'https://[2001::ffff:ffff:f7f7:fbfb]/', // Teredo
    'https://[::808:404]/', // IPv4-compatible
    'https://[::ffff:0:808:404]/', // IPv4-translated
    'https://[2606:4700::200:5efe:808:404]/', // ISATAP
  ])('%s is blocked by the IPv4 entry it can be read as carrying', async (input) => {
    const options: CheckUrlOptions = {
      allowIpLiterals: true,
      allowPrivateAddresses: true,
      blockedHosts: ['8.8.4.4'],
    };
    expect(await outcome(input, options)).toBe('host-blocked');
    expect(await outcome(input, { ...options, blockedHosts: ['8.8.8.8'] })).not.toBe(
      'host-blocked',
    );
  });

  it('wildcard block entries match every depth below the suffix', async () => {
    const options: CheckUrlOptions = { blockedHosts: ['*.example.com'] };
    expect(await outcome('https://a.partner.example.com/', options)).toBe('host-blocked');
    expect(await outcome('https://example.com/', options)).toBe('allowed');
  });

  it('the block list wins over the allow list', async () => {
    const options: CheckUrlOptions = {
      allowedHosts: ['*.example.com'],
      blockedHosts: ['evil.example.com'],
    };
    expect(await outcome('https://evil.example.com/', options)).toBe('host-blocked');
  });
});

describe('refusal messages name the option that would allow the URL', () => {
  it.each<[string, CheckUrlOptions, string, string]>([
    ['http://example.com/', {}, 'scheme', "allowedSchemes: ['https', 'http']"],
    ['https://8.8.8.8/', {}, 'ip-literal', 'allowIpLiterals: true'],
    ['https://localhost/', {}, 'localhost', 'allowLocalhost: true'],
    ['https://payments/', {}, 'single-label', 'allowSingleLabelNames: true'],
    ['https://a.internal/', {}, 'special-use-name', 'allowSpecialUseNames: true'],
    ['https://xn--bcher-kva.example/', {}, 'idn', 'allowIdn: true'],
    ['https://rebind.example.com/', {}, 'private-address', 'allowPrivateAddresses: true'],
    ['https://rebind.example.com/', {}, 'private-address', 'allowedAddresses'],
    ['https://[::ffff:7f00:1]/', literals, 'private-address', 'allowPrivateAddresses: true'],
    ['https://zero.example.com/', {}, 'private-address', 'allowedAddresses'],
  ])('%s (%j): %s names %s', async (input, options, reason, option) => {
    const error = await checkUrl(input, { resolver, ...options }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UrlGuardError);
    expect((error as UrlGuardError).reason).toBe(reason);
    expect((error as UrlGuardError).message).toContain(option);
  });

  it('never suggests an option for a metadata address or an unspecified one', async () => {
    for (const input of ['https://metadata.google.internal/', 'https://zero.example.com/']) {
      const error = (await checkUrl(input, {
        resolver,
        allowSpecialUseNames: true,
      }).catch((e: unknown) => e)) as UrlGuardError;
      expect(error.message).not.toContain('allowPrivateAddresses');
    }
    const scheme = (await checkUrl('ftp://example.com/', { resolver }).catch(
      (e: unknown) => e,
    )) as UrlGuardError;
    expect(scheme.reason).toBe('scheme');
    expect(scheme.message).not.toContain('allowedSchemes:');
  });
});

describe('ports', () => {
  it.each<[string, string, string]>([
    ['https://example.com/', 'allowed', 'allowed'],
    ['https://example.com:443/', 'allowed', 'allowed'],
    ['https://example.com:8443/', 'allowed', 'allowed'],
    ['https://example.com:22/', 'bad-port', 'bad-port'],
    ['https://example.com:6000/', 'bad-port', 'bad-port'],
    ['https://example.com:10080/', 'bad-port', 'bad-port'],
    ['https://example.com:1/', 'bad-port', 'bad-port'],
    ['https://example.com:2222/', 'allowed', 'port'],
    ['https://example.com:0/', 'port', 'port'],
    ['https://example.com:65535/', 'allowed', 'port'],
  ])(
    '%s: %s by default, %s with allowedPorts [443, 8443]',
    async (input, byDefault, restricted) => {
      expect(await outcome(input)).toBe(byDefault);
      expect(await outcome(input, { allowedPorts: [443, 8443] })).toBe(restricted);
    },
  );

  it('refuses every bad port, even when allowedPorts lists it', async () => {
    for (const port of FETCH_BAD_PORTS) {
      const expected = port === 0 ? 'port' : 'bad-port';
      expect(await outcome(`https://example.com:${port}/`)).toBe(expected);
      expect(await outcome(`http://example.com:${port}/`, { allowedSchemes: ['http'] })).toBe(
        expected,
      );
      if (port !== 0) {
        expect(await outcome(`https://example.com:${port}/`, { allowedPorts: [port] })).toBe(
          'bad-port',
        );
      }
    }
    // The scheme's default port is never bad.
    expect(await outcome('https://example.com:443/', { allowedPorts: [443] })).toBe('allowed');
    expect(await outcome('http://example.com:80/', { allowedSchemes: ['http'] })).toBe('allowed');
  });

  it('the scheme default port counts for http', async () => {
    const options: CheckUrlOptions = { allowedSchemes: ['http'], allowedPorts: [80] };
    expect(await outcome('http://example.com/', options)).toBe('allowed');
    expect(await outcome('http://example.com:8080/', options)).toBe('port');
  });
});

describe('length and very long input', () => {
  it('refuses over-long input before parsing it', async () => {
    expect(await outcome(`https://${'a'.repeat(100_000)}.example.com/`)).toBe('too-long');
    expect(await outcome(`https://example.com/${'a'.repeat(60_000)}`)).toBe('too-long');
    // Over-long input is refused even when it is also malformed: length is checked first.
    expect(await outcome(`https://exa\tmple.com/${'%'.repeat(5000)}`)).toBe('too-long');
  });

  it('counts the trimmed input and the normalised URL against maxLength', async () => {
    const base = 'https://example.com/';
    expect(await outcome(`${base}${'a'.repeat(2048 - base.length)}`)).toBe('allowed');
    expect(await outcome(`${base}${'a'.repeat(2049 - base.length)}`)).toBe('too-long');
    // "é" is 1 character raw but 6 once percent-encoded.
    expect(await outcome(`${base}${'é'.repeat(400)}`)).toBe('too-long');
    expect(await outcome('https://example.com/abc', { maxLength: 10 })).toBe('too-long');
  });

  it('refuses over-long labels and names', async () => {
    const long = { maxLength: 100_000 };
    expect(await outcome(`https://${'a'.repeat(64)}.example.com/`, long)).toBe('invalid-host');
    expect(await outcome(`https://${'a'.repeat(63)}.example.com/`, long)).toBe('dns-failure');
    const name = `${Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.')}.com`;
    expect(await outcome(`https://${name}/`, long)).toBe('invalid-host');
  });
});

describe('the resolver', () => {
  it.each<[string, string]>([
    ['https://unknown.example.com/', 'dns-failure'],
    ['https://empty.example.com/', 'dns-failure'],
    ['https://garbage.example.com/', 'dns-failure'],
    ['https://zoned.example.com/', 'dns-failure'],
  ])('%s fails closed: %s', async (input, expected) => {
    expect(await outcome(input)).toBe(expected);
  });

  it('keeps the resolver error as the cause', async () => {
    const error = await checkUrl('https://unknown.example.com/', { resolver }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UrlGuardError);
    expect((error as UrlGuardError).host).toBe('unknown.example.com');
    expect(((error as UrlGuardError).cause as { code?: string }).code).toBe('ENOTFOUND');
  });

  it('fails closed on a resolver that throws synchronously or returns a non-array', async () => {
    const throwing: Resolver = () => {
      throw new Error('boom');
    };
    const notArray = (async () => 'nope') as unknown as Resolver;
    const nullEntry = (async () => [null]) as unknown as Resolver;
    expect(await outcome('https://example.com/', { resolver: throwing })).toBe('dns-failure');
    expect(await outcome('https://example.com/', { resolver: notArray })).toBe('dns-failure');
    expect(await outcome('https://example.com/', { resolver: nullEntry })).toBe('dns-failure');
  });

  it('resolves the name as the connector will (trailing dot kept) and passes a signal', async () => {
    const seen: { hostname: string; signal: AbortSignal }[] = [];
    const recording: Resolver = async (hostname, { signal }) => {
      seen.push({ hostname, signal });
      return [{ address: PUBLIC, family: 4 }];
    };
    await checkUrl('https://Example.COM./path', { resolver: recording });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.hostname).toBe('example.com.');
    expect(seen[0]?.signal).toBeInstanceOf(AbortSignal);
  });

  it('does not resolve IP literals or refused URLs', async () => {
    let calls = 0;
    const counting: Resolver = async () => {
      calls++;
      return [{ address: PUBLIC, family: 4 }];
    };
    await checkUrl('https://8.8.8.8/', { resolver: counting, allowIpLiterals: true });
    await checkUrl('http://example.com/', { resolver: counting }).catch(() => {});
    expect(calls).toBe(0);
  });

  it('waits for a slow resolver and still checks its answer', async () => {
    let release: (value: { address: string; family: number }[]) => void = () => {};
    const slow: Resolver = () => new Promise((resolve) => (release = resolve));
    const pending = checkUrl('https://example.com/', { resolver: slow });
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    release([{ address: '10.0.0.1', family: 4 }]);
    await expect(pending).rejects.toMatchObject({ reason: 'private-address', address: '10.0.0.1' });
  });

  it('concurrent checks without a signal do not pile listeners onto a shared signal', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      await Promise.all(
        Array.from({ length: 30 }, () => checkUrl('https://example.com/', { resolver })),
      );
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });

  it('aborts a slow resolution with the signal reason', async () => {
    const never: Resolver = () => new Promise(() => {});
    const controller = new AbortController();
    const pending = checkUrl('https://example.com/', {
      resolver: never,
      signal: controller.signal,
    });
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('rejects at once when the signal is already aborted', async () => {
    let calls = 0;
    const counting: Resolver = async () => {
      calls++;
      return [];
    };
    const error = await checkUrl('https://example.com/', {
      resolver: counting,
      signal: AbortSignal.abort(),
    }).catch((e: unknown) => e);
    expect((error as DOMException).name).toBe('AbortError');
    expect(calls).toBe(0);
  });
});

describe('checkUrl input and options', () => {
  it('accepts URL objects', async () => {
    expect(await outcome(new URL('https://example.com/a'))).toBe('allowed');
    expect(await outcome(new URL('https://user@example.com/'))).toBe('userinfo');
  });

  it.each([undefined, null, 42, {}])('refuses %j as invalid-url', async (input) => {
    expect(await outcome(input)).toBe('invalid-url');
  });

  it.each(['', '   '])('refuses the empty string %j', async (input) => {
    expect(await outcome(input)).toBe('invalid-url');
  });

  it('rejects invalid options with a UrlPolicyError', async () => {
    const error = await checkUrl('https://example.com/', { maxRedirects: -1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UrlPolicyError);
    expect((error as UrlPolicyError).option).toBe('maxRedirects');
  });

  it.each<[string, unknown]>([
    ['options', null],
    ['resolver', { resolver: 'dns' }],
  ])(
    'rejects bad %s with a UrlPolicyError, not a TypeError or dns-failure',
    async (option, options) => {
      const error = await checkUrl('https://example.com/', options as never).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UrlPolicyError);
      expect((error as UrlPolicyError).code).toBe('ERR_URL_POLICY_INVALID');
      expect((error as UrlPolicyError).option).toBe(option);
    },
  );

  it('the error names the refused host and URL', async () => {
    const error = await checkUrl('https://rebind.example.com/x', { resolver }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      reason: 'private-address',
      host: 'rebind.example.com',
      address: '127.0.0.1',
      url: 'https://rebind.example.com/x',
    });
  });
});
