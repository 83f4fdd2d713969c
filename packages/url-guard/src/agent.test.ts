import type { LookupAddress } from 'node:dns';
import { startHttpServer, type TestServer } from '@again/test-utils';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedLookup } from './agent.js';
import { createGuardedAgent } from './egress.js';
import { UrlGuardError, UrlPolicyError } from './errors.js';
import { compiledPolicyOf, createUrlPolicy } from './policy.js';
import type { Resolver } from './resolver.js';
import { tableResolver } from './test-utils/resolver.js';

function guardError(error: unknown): UrlGuardError {
  let current: unknown = error;
  while (current instanceof Error && !(current instanceof UrlGuardError)) current = current.cause;
  expect(current).toBeInstanceOf(UrlGuardError);
  return current as UrlGuardError;
}

describe('the guarded lookup', () => {
  const resolver = tableResolver({
    'dual.test': ['127.0.0.2', '::1'],
    'mixed.test': ['127.0.0.2', '127.0.0.1'],
    'v4.test': ['127.0.0.2'],
  });
  const compiled = compiledPolicyOf(createUrlPolicy({ allowedAddresses: ['127.0.0.2', '::1'] }));
  const lookup = createGuardedLookup(compiled, resolver);

  function call(
    hostname: string,
    options: object,
  ): Promise<{ error: Error | null; address: unknown; family: unknown }> {
    return new Promise((resolve) => {
      lookup(hostname, options, (error, address, family) => resolve({ error, address, family }));
    });
  }

  it('answers every checked address when Node asks for all of them (Happy Eyeballs)', async () => {
    const { error, address } = await call('dual.test', { all: true, hints: 32 });
    expect(error).toBeNull();
    expect(address as LookupAddress[]).toEqual([
      { address: '127.0.0.2', family: 4 },
      { address: '::1', family: 6 },
    ]);
  });

  it('answers one address, honouring family', async () => {
    expect(await call('dual.test', {})).toMatchObject({
      error: null,
      address: '127.0.0.2',
      family: 4,
    });
    expect(await call('dual.test', { family: 6 })).toMatchObject({
      error: null,
      address: '::1',
      family: 6,
    });
    expect(await call('dual.test', { family: 'IPv6' })).toMatchObject({ address: '::1' });
  });

  it('refuses the whole name when any answer is refused', async () => {
    const { error } = await call('mixed.test', { all: true });
    expect(guardError(error)).toMatchObject({ reason: 'private-address', address: '127.0.0.1' });
  });

  it('refuses a local-use NAT64 answer carrying a metadata address under every option', async () => {
    const nat64 = tableResolver({ 'nat64.test': ['64:ff9b:1::a9fe:a9fe'] });
    for (const options of [
      { allowPrivateAddresses: true },
      { allowedAddresses: ['64:ff9b:1::/48'] },
      { allowPrivateAddresses: true, allowedAddresses: ['::/0', '169.254.0.0/16'] },
    ]) {
      const guarded = createGuardedLookup(compiledPolicyOf(createUrlPolicy(options)), nat64);
      const error = await new Promise<Error | null>((resolve) => {
        guarded('nat64.test', { all: true }, (e) => resolve(e));
      });
      expect(guardError(error)).toMatchObject({
        reason: 'metadata-address',
        address: '64:ff9b:1::a9fe:a9fe',
      });
    }
  });

  it('hands over at most maxAddresses answers, in the resolver’s order', async () => {
    const many: Resolver = async () =>
      Array.from({ length: 3000 }, (_, i) => ({
        address: i < 2 ? `127.0.0.${i + 2}` : '127.0.0.1',
        family: 4,
      }));
    const compiledTwo = compiledPolicyOf(
      createUrlPolicy({ allowedAddresses: ['127.0.0.2', '127.0.0.3'], maxAddresses: 2 }),
    );
    const answers = await new Promise<unknown>((resolve) => {
      createGuardedLookup(compiledTwo, many)('many.test', { all: true }, (_e, address) =>
        resolve(address),
      );
    });
    expect(answers).toEqual([
      { address: '127.0.0.2', family: 4 },
      { address: '127.0.0.3', family: 4 },
    ]);
  });

  it('fails closed on resolver failure and on a missing family', async () => {
    expect(guardError((await call('unknown.test', { all: true })).error).reason).toBe(
      'dns-failure',
    );
    expect(guardError((await call('v4.test', { family: 6 })).error).reason).toBe('dns-failure');
  });
});

describe('createGuardedAgent with undici.request', () => {
  let forbidden: TestServer;
  let allowed: TestServer;
  beforeAll(async () => {
    forbidden = await startHttpServer((_req, res) => res.end('secret'), { host: '127.0.0.1' });
    allowed = await startHttpServer((_req, res) => res.end('fine'), { host: '127.0.0.2' });
  });
  afterAll(async () => {
    await forbidden.close();
    await allowed.close();
  });

  it('checks IP literal hosts, which never reach lookup: no connection is opened', async () => {
    const agent = createGuardedAgent();
    try {
      const error = await request(`${forbidden.url}/`, { dispatcher: agent }).catch(
        (e: unknown) => e,
      );
      expect(guardError(error)).toMatchObject({ reason: 'private-address', address: '127.0.0.1' });
      const mapped = await request(`http://[::ffff:127.0.0.1]:${forbidden.port}/`, {
        dispatcher: agent,
      }).catch((e: unknown) => e);
      expect(guardError(mapped).reason).toBe('private-address');
      expect(forbidden.connections).toBe(0);
    } finally {
      await agent.close();
    }
  });

  it('checks names at connect time: no connection is opened', async () => {
    const agent = createGuardedAgent({
      resolver: tableResolver({ 'internal.test': ['127.0.0.1'] }),
    });
    try {
      const error = await request(`http://internal.test:${forbidden.port}/`, {
        dispatcher: agent,
      }).catch((e: unknown) => e);
      expect(guardError(error)).toMatchObject({ reason: 'private-address', host: 'internal.test' });
      expect(forbidden.connections).toBe(0);
    } finally {
      await agent.close();
    }
  });

  it('connects to allowed addresses, by literal and by name', async () => {
    const agent = createGuardedAgent({
      allowedAddresses: ['127.0.0.2'],
      resolver: tableResolver({ 'allowed.test': ['127.0.0.2'] }),
    });
    try {
      const byLiteral = await request(`${allowed.url}/`, { dispatcher: agent });
      expect(await byLiteral.body.text()).toBe('fine');
      const byName = await request(`http://allowed.test:${allowed.port}/`, { dispatcher: agent });
      expect(await byName.body.text()).toBe('fine');
      expect(allowed.requests.at(-1)?.headers.host).toBe(`allowed.test:${allowed.port}`);
    } finally {
      await agent.close();
    }
  });

  it('control: an unguarded agent with the same resolver does reach the forbidden server', async () => {
    // Shows that the connection counter in these tests can see a connection when one happens.
    const resolver = tableResolver({ 'internal.test': ['127.0.0.1'] });
    const before = forbidden.connections;
    const agent = new Agent({
      connect: {
        lookup: (hostname, _options, callback) => {
          resolver(hostname).then(
            (answers) => callback(null, answers as LookupAddress[]),
            (error: Error) => callback(error, ''),
          );
        },
      },
    });
    try {
      const response = await request(`http://internal.test:${forbidden.port}/`, {
        dispatcher: agent,
      });
      expect(await response.body.text()).toBe('secret');
      expect(forbidden.connections).toBe(before + 1);
    } finally {
      await agent.close();
    }
  });
});

describe('dispatcherOptions that would bypass the guard are refused', () => {
  const resolver: Resolver = async () => [];
  it.each<[string, object]>([
    ['dispatcherOptions.factory', { factory: () => new Agent() }],
    ['dispatcherOptions.interceptors', { interceptors: {} }],
    ['dispatcherOptions.socketPath', { socketPath: '/tmp/x.sock' }],
    ['dispatcherOptions.tls', { tls: {} }],
    ['dispatcherOptions.connect', { connect: () => {} }],
    ['dispatcherOptions.connect.lookup', { connect: { lookup: () => {} } }],
    ['dispatcherOptions.connect.servername', { connect: { servername: 'x' } }],
    [
      'dispatcherOptions.connect.checkServerIdentity',
      { connect: { checkServerIdentity: () => undefined } },
    ],
    ['dispatcherOptions.connect.rejectUnauthorized', { connect: { rejectUnauthorized: false } }],
  ])('%s', (option, dispatcherOptions) => {
    let caught: unknown;
    try {
      createGuardedAgent({ resolver, dispatcherOptions: dispatcherOptions as never });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UrlPolicyError);
    expect((caught as UrlPolicyError).option).toBe(option);
  });

  it.each<[string, unknown]>([
    ['options', null],
    ['options', 'https'],
    ['resolver', { resolver: 'dns' }],
  ])('bad %s: a typed error, as from createEgress', (option, options) => {
    let caught: unknown;
    try {
      createGuardedAgent(options as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UrlPolicyError);
    expect((caught as UrlPolicyError).code).toBe('ERR_URL_POLICY_INVALID');
    expect((caught as UrlPolicyError).option).toBe(option);
  });

  it('accepts ordinary undici options', async () => {
    const agent = createGuardedAgent({
      resolver,
      dispatcherOptions: {
        headersTimeout: 1000,
        connections: 2,
        connect: { timeout: 500, rejectUnauthorized: true },
      },
    });
    expect(agent).toBeInstanceOf(Agent);
    await agent.close();
  });
});
