import { describe, expect, it } from 'vitest';
import { UrlGuardError, UrlPolicyError } from './errors.js';
import {
  checkAddress,
  compiledPolicyOf,
  createUrlPolicy,
  type NormalizedUrlPolicy,
  URL_POLICY_DEFAULTS,
  type UrlPolicyOptions,
} from './policy.js';

function policyError(options: unknown): UrlPolicyError {
  try {
    createUrlPolicy(options as UrlPolicyOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(UrlPolicyError);
    expect((error as UrlPolicyError).code).toBe('ERR_URL_POLICY_INVALID');
    return error as UrlPolicyError;
  }
  throw new Error('expected createUrlPolicy to throw');
}

describe('URL_POLICY_DEFAULTS', () => {
  it('is the documented default policy, deeply frozen', () => {
    expect(URL_POLICY_DEFAULTS).toMatchObject({
      allowedSchemes: ['https'],
      allowPrivateAddresses: false,
      allowLocalhost: false,
      allowIpLiterals: false,
      allowSingleLabelNames: false,
      allowSpecialUseNames: false,
      allowIdn: false,
      allowedHosts: [],
      blockedHosts: [],
      allowedPorts: [],
      allowedAddresses: [],
      maxLength: 2048,
      maxRedirects: 10,
      maxAddresses: 16,
    });
    expect(URL_POLICY_DEFAULTS.metadataAddresses).toContain('168.63.129.16');
    expect(Object.isFrozen(URL_POLICY_DEFAULTS)).toBe(true);
    for (const value of Object.values(URL_POLICY_DEFAULTS)) {
      if (Array.isArray(value)) expect(Object.isFrozen(value)).toBe(true);
    }
  });

  it('createUrlPolicy() without options equals the defaults', () => {
    expect(createUrlPolicy()).toEqual(URL_POLICY_DEFAULTS);
    expect(createUrlPolicy({})).toEqual(URL_POLICY_DEFAULTS);
  });
});

describe('createUrlPolicy: normalisation', () => {
  it('returns a frozen policy and accepts its own output unchanged', () => {
    const policy = createUrlPolicy({ maxRedirects: 3 });
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.allowedHosts)).toBe(true);
    expect(createUrlPolicy(policy)).toBe(policy);
    expect(createUrlPolicy(URL_POLICY_DEFAULTS)).toBe(URL_POLICY_DEFAULTS);
  });

  it('normalises schemes: case, a trailing colon, duplicates', () => {
    expect(
      createUrlPolicy({ allowedSchemes: ['HTTPS:', 'http', 'https'] as never }).allowedSchemes,
    ).toEqual(['https', 'http']);
  });

  it('normalises host entries like URLs: case, IDNA, one trailing dot, wildcards, IP literals', () => {
    const policy = createUrlPolicy({
      allowedHosts: [
        ' Example.COM. ',
        '*.Partner.Example',
        'bücher.example',
        '*.bücher.example',
        '[2001:DB8::1]',
        '2001:0db8:0:0:0:0:0:2',
        '192.0.2.1',
        'example.com',
      ],
    });
    expect(policy.allowedHosts).toEqual([
      'example.com',
      '*.partner.example',
      'xn--bcher-kva.example',
      '*.xn--bcher-kva.example',
      '2001:db8::1',
      '2001:db8::2',
      '192.0.2.1',
    ]);
  });

  it('normalises address entries to canonical text and keeps prefix lengths', () => {
    const policy = createUrlPolicy({
      allowedAddresses: ['127.0.0.1', '10.0.0.0/8', '[::1]', 'FD00::/8', '::ffff:127.0.0.1'],
    });
    expect(policy.allowedAddresses).toEqual([
      '127.0.0.1',
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
      '::ffff:7f00:1',
    ]);
  });

  it('normalises metadata addresses', () => {
    expect(
      createUrlPolicy({ metadataAddresses: ['FD00:EC2::254', '169.254.169.254'] })
        .metadataAddresses,
    ).toEqual(['fd00:ec2::254', '169.254.169.254']);
  });
});

describe('createUrlPolicy: invalid options name the option', () => {
  it.each<[string, unknown, string]>([
    ['unknown option', { allowPrivateIPs: true }, 'allowPrivateIPs'],
    ['options not an object', 'https', 'options'],
    ['allowedSchemes not an array', { allowedSchemes: 'https' }, 'allowedSchemes'],
    ['allowedSchemes empty', { allowedSchemes: [] }, 'allowedSchemes'],
    ['allowedSchemes ftp', { allowedSchemes: ['https', 'ftp'] }, 'allowedSchemes[1]'],
    ['allowedSchemes file', { allowedSchemes: ['file'] }, 'allowedSchemes[0]'],
    [
      'allowPrivateAddresses not boolean',
      { allowPrivateAddresses: 'yes' },
      'allowPrivateAddresses',
    ],
    ['allowLocalhost not boolean', { allowLocalhost: 1 }, 'allowLocalhost'],
    ['allowIpLiterals not boolean', { allowIpLiterals: null }, 'allowIpLiterals'],
    [
      'allowSingleLabelNames not boolean',
      { allowSingleLabelNames: 'false' },
      'allowSingleLabelNames',
    ],
    ['allowIdn not boolean', { allowIdn: {} }, 'allowIdn'],
    ['allowedHosts not an array', { allowedHosts: 'example.com' }, 'allowedHosts'],
    ['allowedHosts entry not a string', { allowedHosts: ['example.com', 42] }, 'allowedHosts[1]'],
    ['allowedHosts with a path', { allowedHosts: ['example.com/x'] }, 'allowedHosts[0]'],
    ['allowedHosts with a port', { allowedHosts: ['example.com:443'] }, 'allowedHosts[0]'],
    ['allowedHosts with userinfo', { allowedHosts: ['a@example.com'] }, 'allowedHosts[0]'],
    ['allowedHosts inner wildcard', { allowedHosts: ['a.*.example.com'] }, 'allowedHosts[0]'],
    ['allowedHosts bare wildcard', { allowedHosts: ['*'] }, 'allowedHosts[0]'],
    ['allowedHosts wildcard IP', { allowedHosts: ['*.127.0.0.1'] }, 'allowedHosts[0]'],
    ['allowedHosts non-canonical IPv4', { allowedHosts: ['127.1'] }, 'allowedHosts[0]'],
    ['allowedHosts hex IPv4', { allowedHosts: ['0x7f.0.0.1'] }, 'allowedHosts[0]'],
    ['allowedHosts empty label', { allowedHosts: ['a..example.com'] }, 'allowedHosts[0]'],
    ['allowedHosts empty', { allowedHosts: [''] }, 'allowedHosts[0]'],
    ['allowedHosts long label', { allowedHosts: [`${'a'.repeat(64)}.com`] }, 'allowedHosts[0]'],
    ['allowedHosts zone id', { allowedHosts: ['fe80::1%eth0'] }, 'allowedHosts[0]'],
    ['blockedHosts entry invalid', { blockedHosts: ['exa mple.com'] }, 'blockedHosts[0]'],
    ['allowedPorts not an array', { allowedPorts: 443 }, 'allowedPorts'],
    ['allowedPorts zero', { allowedPorts: [0] }, 'allowedPorts[0]'],
    ['allowedPorts too big', { allowedPorts: [443, 65536] }, 'allowedPorts[1]'],
    ['allowedPorts fraction', { allowedPorts: [44.3] }, 'allowedPorts[0]'],
    ['allowedPorts string', { allowedPorts: ['443'] }, 'allowedPorts[0]'],
    ['allowedAddresses name', { allowedAddresses: ['localhost'] }, 'allowedAddresses[0]'],
    ['allowedAddresses non-canonical', { allowedAddresses: ['127.1'] }, 'allowedAddresses[0]'],
    ['allowedAddresses bad prefix', { allowedAddresses: ['10.0.0.0/33'] }, 'allowedAddresses[0]'],
    ['allowedAddresses bad IPv6 prefix', { allowedAddresses: ['::1/129'] }, 'allowedAddresses[0]'],
    ['allowedAddresses prefix text', { allowedAddresses: ['10.0.0.0/x'] }, 'allowedAddresses[0]'],
    ['metadataAddresses block', { metadataAddresses: ['169.254.0.0/16'] }, 'metadataAddresses[0]'],
    ['metadataAddresses not string', { metadataAddresses: [1] }, 'metadataAddresses[0]'],
    ['maxLength zero', { maxLength: 0 }, 'maxLength'],
    ['maxLength fraction', { maxLength: 10.5 }, 'maxLength'],
    ['maxLength infinite', { maxLength: Number.POSITIVE_INFINITY }, 'maxLength'],
    ['maxRedirects negative', { maxRedirects: -1 }, 'maxRedirects'],
    ['maxRedirects string', { maxRedirects: '10' }, 'maxRedirects'],
    ['maxAddresses zero', { maxAddresses: 0 }, 'maxAddresses'],
    ['maxAddresses fraction', { maxAddresses: 1.5 }, 'maxAddresses'],
    ['maxAddresses string', { maxAddresses: '16' }, 'maxAddresses'],
    ['allowSpecialUseNames string', { allowSpecialUseNames: 'yes' }, 'allowSpecialUseNames'],
    ['allowSpecialUseNames list', { allowSpecialUseNames: ['internal'] }, 'allowSpecialUseNames'],
  ])('%s', (_label, options, option) => {
    expect(policyError(options).option).toBe(option);
  });

  it('accepts maxRedirects 0 and a single allowed port', () => {
    expect(createUrlPolicy({ maxRedirects: 0, allowedPorts: [8443] })).toMatchObject({
      maxRedirects: 0,
      allowedPorts: [8443],
    });
  });
});

describe('checkAddress: the address policy', () => {
  const check = (policy: NormalizedUrlPolicy, address: string): string => {
    try {
      checkAddress(compiledPolicyOf(policy), address);
      return 'allowed';
    } catch (error) {
      expect(error).toBeInstanceOf(UrlGuardError);
      return (error as UrlGuardError).reason;
    }
  };
  const defaults = createUrlPolicy();
  const privateAllowed = createUrlPolicy({ allowPrivateAddresses: true });

  it.each([
    ['8.8.8.8', 'allowed', 'allowed'],
    ['127.0.0.1', 'private-address', 'allowed'],
    ['10.1.2.3', 'private-address', 'allowed'],
    ['::1', 'private-address', 'allowed'],
    ['fd12::1', 'private-address', 'allowed'],
    ['::ffff:8.8.8.8', 'allowed', 'allowed'],
    ['0.0.0.0', 'private-address', 'private-address'],
    ['::', 'private-address', 'private-address'],
    ['224.0.0.1', 'private-address', 'private-address'],
    ['255.255.255.255', 'private-address', 'private-address'],
    ['240.0.0.1', 'private-address', 'private-address'],
    ['169.254.169.254', 'metadata-address', 'metadata-address'],
    ['::ffff:169.254.169.254', 'metadata-address', 'metadata-address'],
    ['64:ff9b::a9fe:a9fe', 'metadata-address', 'metadata-address'],
    ['168.63.129.16', 'metadata-address', 'metadata-address'],
    ['100.100.100.200', 'metadata-address', 'metadata-address'],
    ['fd00:ec2::254', 'metadata-address', 'metadata-address'],
  ])('%s: default %s, allowPrivateAddresses %s', (address, byDefault, withPrivate) => {
    expect(check(defaults, address)).toBe(byDefault);
    expect(check(privateAllowed, address)).toBe(withPrivate);
  });

  it('allowedAddresses opens deliberate internal targets, including mapped forms', () => {
    const policy = createUrlPolicy({ allowedAddresses: ['127.0.0.1', '10.20.0.0/16', 'fd00::/8'] });
    expect(check(policy, '127.0.0.1')).toBe('allowed');
    expect(check(policy, '::ffff:127.0.0.1')).toBe('allowed');
    expect(check(policy, '127.0.0.2')).toBe('private-address');
    expect(check(policy, '10.20.255.255')).toBe('allowed');
    expect(check(policy, '10.21.0.0')).toBe('private-address');
    expect(check(policy, 'fd12::1')).toBe('allowed');
    expect(check(policy, '::1')).toBe('private-address');
  });

  it('a metadata address inside an allowed block stays refused unless listed on its own', () => {
    expect(
      check(createUrlPolicy({ allowedAddresses: ['169.254.0.0/16'] }), '169.254.169.254'),
    ).toBe('metadata-address');
    expect(check(createUrlPolicy({ allowedAddresses: ['169.254.0.0/16'] }), '169.254.1.1')).toBe(
      'allowed',
    );
    expect(
      check(createUrlPolicy({ allowedAddresses: ['169.254.169.254'] }), '169.254.169.254'),
    ).toBe('allowed');
    expect(check(createUrlPolicy({ allowedAddresses: ['168.63.129.16'] }), '168.63.129.16')).toBe(
      'allowed',
    );
    expect(check(createUrlPolicy({ metadataAddresses: [] }), '168.63.129.16')).toBe('allowed');
  });

  it('names the refused address and the block in the error', () => {
    try {
      checkAddress(compiledPolicyOf(defaults), '::ffff:7f00:1', { host: 'evil.example' });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({
        name: 'UrlGuardError',
        code: 'ERR_URL_REFUSED',
        reason: 'private-address',
        address: '::ffff:7f00:1',
        host: 'evil.example',
      });
    }
  });
});
