import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type RecordedRequest,
  selfSignedCertificate,
  startHttpServer,
  startHttpsServer,
  type TestServer,
} from '@again/test-utils';
import ky, { HTTPError } from 'ky';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEgress, type Egress, type EgressOptions } from './egress.js';
import { UrlGuardError } from './errors.js';
import type { Resolver } from './resolver.js';
import { tableResolver } from './test-utils/resolver.js';

// Two loopback servers: `allowed` on 127.0.0.2 (opened deliberately with allowedAddresses) and
// `forbidden` on 127.0.0.1 (never allowed). Every refusal test counts TCP connections on
// `forbidden` to prove that nothing ever connected to it.
let allowed: TestServer;
let forbidden: TestServer;
let plain: TestServer; // an allowed http server, the target of downgrade attempts
let secure: TestServer;
let cert: { key: string; cert: string };

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function routes(_incoming: IncomingMessage, res: ServerResponse, req: RecordedRequest): void {
  const url = new URL(req.path, 'http://placeholder');
  const to = url.searchParams.get('to');
  switch (url.pathname) {
    case '/ok':
      json(res, 200, { ok: true, host: req.headers.host, servername: req.servername ?? null });
      return;
    case '/echo':
      json(res, 200, { method: req.method, body: req.body, headers: req.headers });
      return;
    case '/redirect':
      res.writeHead(
        Number(url.searchParams.get('status') ?? '302'),
        to === null ? {} : { location: to },
      );
      res.end('moved');
      return;
    case '/chain': {
      const n = Number(url.searchParams.get('n') ?? '0');
      if (n > 0) res.writeHead(302, { location: `/chain?n=${n - 1}` }).end();
      else json(res, 200, { done: true });
      return;
    }
    case '/loop':
      res.writeHead(302, { location: '/loop' }).end();
      return;
    case '/cookies':
      json(res, 200, {}, { 'set-cookie': ['a=1', 'b=2'], 'x-extra': 'yes' });
      return;
    case '/empty':
      res.writeHead(204).end();
      return;
    case '/missing':
      json(res, 404, { error: 'missing' });
      return;
    case '/hang':
      return; // never answers; closed by the test
    default:
      res.writeHead(200, { 'content-type': 'text/plain' }).end('secret');
  }
}

beforeAll(async () => {
  cert = selfSignedCertificate(['example.test', 'secure.test']);
  allowed = await startHttpServer(routes, { host: '127.0.0.2' });
  forbidden = await startHttpServer(routes, { host: '127.0.0.1' });
  plain = await startHttpServer(routes, { host: '127.0.0.2' });
  secure = await startHttpsServer(routes, { host: '127.0.0.2', tls: cert });
});

afterAll(async () => {
  await Promise.all([allowed.close(), forbidden.close(), plain.close(), secure.close()]);
});

const names: Record<string, string[]> = {
  'allowed.test': ['127.0.0.2'],
  'other.test': ['127.0.0.2'],
  'internal.test': ['127.0.0.1'],
  'example.test': ['127.0.0.2'],
  'wrong-name.test': ['127.0.0.2'],
};

const egresses: Egress[] = [];
function egress(options: EgressOptions = {}): Egress {
  const created = createEgress({
    allowedSchemes: ['https', 'http'],
    allowIpLiterals: true,
    allowedAddresses: ['127.0.0.2'],
    resolver: tableResolver(names),
    ...options,
  });
  egresses.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(egresses.splice(0).map((e) => e.close()));
  expect(forbidden.connections).toBe(0);
});

async function refusal(promise: Promise<unknown>): Promise<UrlGuardError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UrlGuardError);
  expect((error as UrlGuardError).code).toBe('ERR_URL_REFUSED');
  return error as UrlGuardError;
}

function redirectTo(server: TestServer, target: string, status = 302): string {
  return `${server.url}/redirect?status=${status}&to=${encodeURIComponent(target)}`;
}

describe('guarded fetch: allowed requests', () => {
  it('fetches an allowed literal and returns a standard Response', async () => {
    const response = await egress().fetch(`${allowed.url}/ok`);
    expect(response).toBeInstanceOf(globalThis.Response);
    expect(response.status).toBe(200);
    expect(response.url).toBe(`${allowed.url}/ok`);
    expect(response.redirected).toBe(false);
    expect(await response.json()).toMatchObject({ ok: true, host: `127.0.0.2:${allowed.port}` });
  });

  it('fetches by name through the injected resolver with the right Host header', async () => {
    const response = await egress().fetch(`http://allowed.test:${allowed.port}/ok`);
    expect(await response.json()).toMatchObject({ host: `allowed.test:${allowed.port}` });
  });

  it('keeps headers (several set-cookie), clone() keeps url, and null-body statuses work', async () => {
    const e = egress();
    const response = await e.fetch(`${allowed.url}/cookies`);
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(response.headers.get('x-extra')).toBe('yes');
    const copy = response.clone();
    expect(copy).toBeInstanceOf(Response);
    expect(copy.url).toBe(`${allowed.url}/cookies`);
    expect(await copy.json()).toEqual({});
    const empty = await e.fetch(`${allowed.url}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    const head = await e.fetch(`${allowed.url}/ok`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('returns 3xx responses without a Location as they are', async () => {
    const response = await egress().fetch(`${allowed.url}/redirect?status=302`);
    expect(response.status).toBe(302);
    expect(await response.text()).toBe('moved');
  });

  it('check() returns the checked addresses', async () => {
    const checked = await egress().check(`http://allowed.test:${allowed.port}/ok`);
    expect(checked).toMatchObject({
      hostname: 'allowed.test',
      addresses: [{ address: '127.0.0.2', family: 4 }],
    });
  });

  it('exposes the frozen policy', () => {
    const e = egress({ maxRedirects: 3 });
    expect(e.policy.maxRedirects).toBe(3);
    expect(Object.isFrozen(e.policy)).toBe(true);
  });
});

describe('guarded fetch: refusals open no connection', () => {
  it('refuses an internal literal before connecting', async () => {
    const error = await refusal(egress().fetch(`${forbidden.url}/`));
    expect(error).toMatchObject({ reason: 'private-address', address: '127.0.0.1' });
  });

  it('refuses a name that resolves inward before connecting', async () => {
    const error = await refusal(egress().fetch(`http://internal.test:${forbidden.port}/`));
    expect(error).toMatchObject({
      reason: 'private-address',
      host: 'internal.test',
      address: '127.0.0.1',
    });
  });

  it('refuses URLs by policy without touching the network', async () => {
    const e = egress({ allowedSchemes: ['https'] });
    expect((await refusal(e.fetch(`${allowed.url}/ok`))).reason).toBe('scheme');
    expect((await refusal(e.fetch('https://user:pw@example.test/'))).reason).toBe('userinfo');
    expect(allowed.requests.filter((r) => r.path === '/never')).toHaveLength(0);
  });
});

describe('DNS rebinding', () => {
  function rebinding(first: string[]): { resolver: Resolver; calls: () => number } {
    let calls = 0;
    const resolver: Resolver = async (hostname) => {
      await new Promise((resolve) => setImmediate(resolve));
      calls++;
      if (hostname !== 'rebind.test') throw new Error('ENOTFOUND');
      return (calls === 1 ? first : ['127.0.0.1']).map((address) => ({ address, family: 4 }));
    };
    return { resolver, calls: () => calls };
  }

  it('an allowed answer at check time and 127.0.0.1 at connect time: refused, nothing connects', async () => {
    const { resolver, calls } = rebinding(['127.0.0.2']);
    const error = await refusal(
      egress({ resolver }).fetch(`http://rebind.test:${forbidden.port}/`),
    );
    expect(error).toMatchObject({
      reason: 'private-address',
      address: '127.0.0.1',
      host: 'rebind.test',
    });
    expect(calls()).toBe(2); // fetch's check (allowed answer), then the connection's lookup
  });

  it('a public-looking answer at check time: the connection never goes anywhere', async () => {
    const { resolver, calls } = rebinding(['93.184.215.14']);
    const error = await refusal(
      egress({ resolver }).fetch(`http://rebind.test:${forbidden.port}/`),
    );
    expect(error).toMatchObject({ reason: 'private-address', address: '127.0.0.1' });
    expect(calls()).toBe(2);
  });

  it('a mixed answer at connect time (Happy Eyeballs could pick either): refused', async () => {
    let calls = 0;
    const resolver: Resolver = async () => {
      calls++;
      return (calls === 1 ? ['127.0.0.2'] : ['127.0.0.2', '127.0.0.1']).map((address) => ({
        address,
        family: 4,
      }));
    };
    const error = await refusal(egress({ resolver }).fetch(`http://mixed.test:${forbidden.port}/`));
    expect(error.reason).toBe('private-address');
  });
});

describe('redirects are re-checked on every hop', () => {
  it.each<[string, (port: number) => string, string]>([
    ['an internal literal', (port) => `http://127.0.0.1:${port}/secret`, 'private-address'],
    [
      'a mapped IPv6 literal',
      (port) => `http://[::ffff:127.0.0.1]:${port}/secret`,
      'private-address',
    ],
    // A Location is resolved against the current URL (WHATWG), then checked: 127.0.0.1.
    ['a decimal IPv4', (port) => `http://2130706433:${port}/secret`, 'private-address'],
    ['a name resolving inward', (port) => `http://internal.test:${port}/secret`, 'private-address'],
    ['localhost', (port) => `http://localhost:${port}/secret`, 'localhost'],
    ['userinfo', (port) => `http://user@127.0.0.2:${port}/secret`, 'userinfo'],
    ['a file URL', () => 'file:///etc/passwd', 'scheme'],
    ['an ftp URL', () => 'ftp://127.0.0.2/', 'scheme'],
    ['a bad port of an allowed host', () => 'http://127.0.0.2:6000/', 'bad-port'],
    ['a special-use name', (port) => `http://printer.local:${port}/`, 'special-use-name'],
    [
      'a local-use NAT64 metadata literal',
      (port) => `http://[64:ff9b:1::a9fe:a9fe]:${port}/`,
      'metadata-address',
    ],
  ])('a redirect to %s is refused (%s)', async (_label, target, reason) => {
    const before = allowed.requests.length;
    const error = await refusal(egress().fetch(redirectTo(allowed, target(forbidden.port))));
    expect(error.reason).toBe(reason);
    expect(allowed.requests.length).toBe(before + 1); // the first hop was sent, nothing after
  });

  it('an https to http redirect is refused even when http is allowed', async () => {
    const e = egress({ dispatcherOptions: { connect: { ca: cert.cert } } });
    const target = `${plain.url}/ok`;
    const error = await refusal(
      e.fetch(redirectTo({ ...secure, url: `https://example.test:${secure.port}` }, target)),
    );
    expect(error).toMatchObject({ reason: 'redirect-downgrade', url: target });
    expect(plain.connections).toBe(0);
  });

  it('follows allowed redirects up to maxRedirects and reports the final URL', async () => {
    const response = await egress({ maxRedirects: 3 }).fetch(`${allowed.url}/chain?n=3`);
    expect(await response.json()).toEqual({ done: true });
    expect(response.redirected).toBe(true);
    expect(response.url).toBe(`${allowed.url}/chain?n=0`);
  });

  it('refuses the redirect after maxRedirects', async () => {
    expect(
      (await refusal(egress({ maxRedirects: 3 }).fetch(`${allowed.url}/chain?n=4`))).reason,
    ).toBe('redirect-limit');
    expect(
      (await refusal(egress({ maxRedirects: 0 }).fetch(`${allowed.url}/chain?n=1`))).reason,
    ).toBe('redirect-limit');
  });

  it('the default limit is 10', async () => {
    await expect(egress().fetch(`${allowed.url}/chain?n=10`)).resolves.toBeInstanceOf(Response);
    expect((await refusal(egress().fetch(`${allowed.url}/chain?n=11`))).reason).toBe(
      'redirect-limit',
    );
  });

  it('detects loops', async () => {
    expect((await refusal(egress().fetch(`${allowed.url}/loop`))).reason).toBe('redirect-loop');
  });

  it('refuses an unparsable Location', async () => {
    expect((await refusal(egress().fetch(redirectTo(allowed, 'http://[::1')))).reason).toBe(
      'redirect-invalid',
    );
  });

  it('redirect "manual" returns the redirect; "error" refuses it', async () => {
    const e = egress();
    const url = redirectTo(allowed, `${forbidden.url}/secret`);
    const manual = await e.fetch(url, { redirect: 'manual' });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe(`${forbidden.url}/secret`);
    expect((await refusal(e.fetch(url, { redirect: 'error' }))).reason).toBe('redirect-refused');
    const request = new Request(url, { redirect: 'manual' });
    expect((await e.fetch(request)).status).toBe(302);
  });
});

describe('redirect method and body rules (fetch spec)', () => {
  async function echoAfter(
    status: number,
    init: RequestInit,
  ): Promise<{ method: string; body: string; headers: Record<string, string> }> {
    const response = await egress().fetch(redirectTo(allowed, '/echo', status), init);
    return response.json() as Promise<{
      method: string;
      body: string;
      headers: Record<string, string>;
    }>;
  }
  const post: RequestInit = {
    method: 'POST',
    body: 'payload',
    headers: { 'content-type': 'text/plain' },
  };

  it.each([301, 302, 303])(
    '%i turns POST into GET and drops the body and its headers',
    async (status) => {
      const echoed = await echoAfter(status, post);
      expect(echoed.method).toBe('GET');
      expect(echoed.body).toBe('');
      expect(echoed.headers['content-type']).toBeUndefined();
    },
  );

  it('303 turns PUT into GET; 302 keeps PUT and its body', async () => {
    expect((await echoAfter(303, { method: 'PUT', body: 'x' })).method).toBe('GET');
    expect(await echoAfter(302, { method: 'PUT', body: 'x' })).toMatchObject({
      method: 'PUT',
      body: 'x',
    });
  });

  it.each([307, 308])('%i keeps the method and re-sends the body', async (status) => {
    const echoed = await echoAfter(status, post);
    expect(echoed).toMatchObject({ method: 'POST', body: 'payload' });
    expect(echoed.headers['content-type']).toBe('text/plain');
  });

  it.each([307, 308])('%i re-sends a Request body and a Uint8Array body', async (status) => {
    const url = redirectTo(allowed, '/echo', status);
    const fromRequest = await egress().fetch(
      new Request(url, { method: 'POST', body: 'from-request' }),
    );
    expect(await fromRequest.json()).toMatchObject({ method: 'POST', body: 'from-request' });
    const bytes = await echoAfter(status, {
      method: 'PATCH',
      body: new TextEncoder().encode('bytes'),
    });
    expect(bytes).toMatchObject({ method: 'PATCH', body: 'bytes' });
  });

  it('a 307 of a stream body cannot be re-sent: redirect-body', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const init = { method: 'POST', body: stream, duplex: 'half' } as RequestInit;
    const error = await refusal(egress().fetch(redirectTo(allowed, '/echo', 307), init));
    expect(error.reason).toBe('redirect-body');
  });

  it('a stream body is sent once when there is no redirect', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const response = await egress().fetch(`${allowed.url}/echo`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(await response.json()).toMatchObject({ body: 'streamed' });
  });
});

describe('credential headers across origins', () => {
  const credentials = {
    authorization: 'Bearer token',
    cookie: 'session=1',
    'proxy-authorization': 'Basic eA==',
    'x-trace': 'kept',
  };

  it('are dropped when a redirect changes the origin', async () => {
    const target = `http://other.test:${allowed.port}/echo`;
    const response = await egress().fetch(redirectTo(allowed, target, 307), {
      headers: credentials,
    });
    const { headers } = (await response.json()) as { headers: Record<string, string> };
    expect(headers.authorization).toBeUndefined();
    expect(headers.cookie).toBeUndefined();
    expect(headers['proxy-authorization']).toBeUndefined();
    expect(headers['x-trace']).toBe('kept');
    expect(headers.host).toBe(`other.test:${allowed.port}`);
  });

  it('are kept on a same-origin redirect', async () => {
    const response = await egress().fetch(redirectTo(allowed, '/echo', 307), {
      headers: credentials,
    });
    const { headers } = (await response.json()) as { headers: Record<string, string> };
    expect(headers).toMatchObject({ authorization: 'Bearer token', cookie: 'session=1' });
  });
});

describe('HTTPS: SNI and Host stay the URL host while the connection goes to the checked IP', () => {
  it('sends SNI and Host for the name and verifies the certificate against it', async () => {
    const e = egress({ dispatcherOptions: { connect: { ca: cert.cert } } });
    const response = await e.fetch(`https://example.test:${secure.port}/ok`);
    expect(await response.json()).toEqual({
      ok: true,
      host: `example.test:${secure.port}`,
      servername: 'example.test',
    });
  });

  it('keeps certificate verification on: a name the certificate does not cover fails', async () => {
    const e = egress({ dispatcherOptions: { connect: { ca: cert.cert } } });
    const error = await e
      .fetch(`https://wrong-name.test:${secure.port}/ok`)
      .catch((x: unknown) => x);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).not.toBeInstanceOf(UrlGuardError);
    expect(((error as TypeError).cause as { code?: string }).code).toBe(
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
  });

  it('refuses an untrusted certificate without the CA', async () => {
    const error = await egress()
      .fetch(`https://example.test:${secure.port}/ok`)
      .catch((x: unknown) => x);
    expect(((error as TypeError).cause as { code?: string }).code).toBe(
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    );
  });
});

describe('ky 1.9 with the egress fetch (ky passes a Request object)', () => {
  it('gets JSON', async () => {
    const api = ky.create({ fetch: egress().fetch, retry: 0 });
    expect(await api.get(`${allowed.url}/ok`).json()).toMatchObject({ ok: true });
  });

  it('posts JSON through a 307 redirect (the body is replayed) and runs afterResponse hooks', async () => {
    const seen: number[] = [];
    const api = ky.create({
      fetch: egress().fetch,
      retry: 0,
      hooks: { afterResponse: [(_request, _options, response) => void seen.push(response.status)] },
    });
    const echoed = await api
      .post(redirectTo(allowed, '/echo', 307), {
        json: { hello: 'world' },
        headers: { authorization: 'x' },
      })
      .json<{ method: string; body: string; headers: Record<string, string> }>();
    expect(echoed.method).toBe('POST');
    expect(JSON.parse(echoed.body)).toEqual({ hello: 'world' });
    expect(echoed.headers['content-type']).toBe('application/json');
    expect(echoed.headers.authorization).toBe('x');
    expect(seen).toEqual([200]);
  });

  it('turns an error status into ky HTTPError', async () => {
    const api = ky.create({ fetch: egress().fetch, retry: 0 });
    const error = await api.get(`${allowed.url}/missing`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HTTPError);
    expect((error as HTTPError).response.status).toBe(404);
  });

  it('surfaces refusals as UrlGuardError, including on redirects', async () => {
    const api = ky.create({ fetch: egress().fetch, retry: 0 });
    expect((await refusal(api.get(`${forbidden.url}/`).text())).reason).toBe('private-address');
    const redirected = await refusal(
      api.get(redirectTo(allowed, `${forbidden.url}/secret`)).text(),
    );
    expect(redirected.reason).toBe('private-address');
  });
});

describe('abort, proxies and close', () => {
  it('aborts an in-flight request with the signal', async () => {
    const controller = new AbortController();
    const before = allowed.requests.length;
    const pending = egress().fetch(`${allowed.url}/hang`, { signal: controller.signal });
    await vi.waitFor(() => expect(allowed.requests.length).toBe(before + 1));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('aborts during a slow resolution', async () => {
    const controller = new AbortController();
    const never: Resolver = () => new Promise(() => {});
    const pending = egress({ resolver: never }).fetch('http://slow.test/', {
      signal: controller.signal,
    });
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });

  it('ignores environment proxies: requests go straight to the checked address', async () => {
    const proxy = await startHttpServer((_req, res) => res.end('proxied'), { host: '127.0.0.2' });
    vi.stubEnv('HTTP_PROXY', proxy.url);
    vi.stubEnv('http_proxy', proxy.url);
    vi.stubEnv('HTTPS_PROXY', proxy.url);
    vi.stubEnv('NODE_USE_ENV_PROXY', '1');
    try {
      const response = await egress().fetch(`${allowed.url}/ok`);
      expect(await response.json()).toMatchObject({ ok: true });
      expect(proxy.connections).toBe(0);
    } finally {
      vi.unstubAllEnvs();
      await proxy.close();
    }
  });

  it('fails after close()', async () => {
    const e = createEgress({
      allowIpLiterals: true,
      allowedSchemes: ['http'],
      allowedAddresses: ['127.0.0.2'],
    });
    await e.close();
    await expect(e.fetch(`${allowed.url}/ok`)).rejects.toThrow();
  });

  it('refuses non-URL input with a typed error', async () => {
    expect((await refusal(egress().fetch(42 as unknown as string))).reason).toBe('invalid-url');
  });
});

describe('maxAddresses: a DNS answer is cut before it is checked or used', () => {
  /** 5,000 answers: 16 of the allowed server, then the forbidden one; counts reads past `cut`. */
  function hostile(cut: number): { resolver: Resolver; readsPastCut: () => number } {
    let reads = 0;
    const resolver: Resolver = async () => {
      const answers = Array.from({ length: 5000 }, (_, index) => ({
        address: index < 16 ? '127.0.0.2' : '127.0.0.1',
        family: 4,
      }));
      return new Proxy(answers, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key) && Number(key) >= cut) reads++;
          return Reflect.get(target, key, receiver);
        },
      });
    };
    return { resolver, readsPastCut: () => reads };
  }

  it('checks and connects with the first 16 answers by default, never reading the rest', async () => {
    const { resolver, readsPastCut } = hostile(16);
    const e = egress({ resolver });
    expect(e.policy.maxAddresses).toBe(16);
    const checked = await e.check(`http://many.test:${allowed.port}/ok`);
    expect(checked.addresses).toEqual([{ address: '127.0.0.2', family: 4 }]);
    const response = await e.fetch(`http://many.test:${allowed.port}/ok`);
    expect(await response.json()).toMatchObject({ ok: true });
    expect(readsPastCut()).toBe(0);
    expect(forbidden.connections).toBe(0);
  });

  it('a larger cap reads further, and the forbidden answer refuses the name', async () => {
    const { resolver } = hostile(17);
    const e = egress({ resolver, maxAddresses: 17 });
    expect((await refusal(e.check(`http://many.test:${allowed.port}/ok`))).reason).toBe(
      'private-address',
    );
    expect((await refusal(e.fetch(`http://many.test:${allowed.port}/ok`))).reason).toBe(
      'private-address',
    );
  });

  it('hands the socket only the addresses within the cap', async () => {
    const e = egress({
      maxAddresses: 1,
      resolver: async () => [
        { address: '127.0.0.2', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    });
    const checked = await e.check(`http://two.test:${allowed.port}/ok`);
    expect(checked.addresses).toEqual([{ address: '127.0.0.2', family: 4 }]);
    for (let i = 0; i < 5; i++) {
      const response = await e.fetch(`http://two.test:${allowed.port}/ok`);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    expect(forbidden.connections).toBe(0);
  });
});
