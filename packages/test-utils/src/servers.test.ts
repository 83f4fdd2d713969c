import { request as httpsRequest } from 'node:https';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { gate } from './gate.js';
import { startHoldingServer } from './holding.js';
import {
  closedPort,
  delayed,
  listen,
  startHttpServer,
  startHttpsServer,
  type TestServer,
} from './servers.js';
import { selfSignedCertificate } from './tls.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
async function track<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
  const started = await server;
  servers.push(started);
  return started;
}

/** GETs `path` over HTTPS trusting `ca`, connecting to the server but naming `servername`. */
function getHttps(server: TestServer, ca: string, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: server.host, port: server.port, path: '/tls', ca, servername, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('startHttpServer', () => {
  it('records each request with its body, path and headers before the handler runs', async () => {
    const server = await track(
      startHttpServer((_req, res, recorded) => {
        res.end(`got ${recorded.body}`);
      }),
    );
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.ca).toBeUndefined();
    const response = await fetch(`${server.url}/hook?x=1`, {
      method: 'POST',
      body: 'héllo',
      headers: { 'x-test': 'yes' },
    });
    expect(await response.text()).toBe('got héllo');
    const [recorded] = await server.waitForRequests(1);
    expect(recorded).toMatchObject({
      method: 'POST',
      path: '/hook?x=1',
      body: 'héllo',
      servername: undefined,
      response: { bytesWritten: 'got héllo'.length + 1, finished: true, clientAborted: false },
    });
    expect(recorded?.headers['x-test']).toBe('yes');
    expect(Buffer.from(recorded?.rawBody ?? []).toString('utf8')).toBe('héllo');
    expect(server.connections).toBe(1);
  });

  it('answers 500 when the handler throws, and ok by default', async () => {
    const failing = await track(
      startHttpServer(() => {
        throw new Error('boom');
      }),
    );
    expect((await fetch(failing.url)).status).toBe(500);
    const ok = await track(startHttpServer());
    const response = await fetch(ok.url);
    expect([response.status, await response.text()]).toEqual([200, 'ok']);
  });

  it('waitForRequests rejects after its timeout with the count so far', async () => {
    const server = await track(startHttpServer());
    await expect(server.waitForRequests(1, 20)).rejects.toThrow('expected 1 requests, got 0');
  });

  it('listens on another loopback address when told to', async () => {
    const server = await track(startHttpServer(undefined, { host: '127.0.0.2' }));
    expect(server.url).toBe(`http://127.0.0.2:${server.port}`);
    expect(await (await fetch(server.url)).text()).toBe('ok');
  });

  it('close() ends open connections (a request still waiting included)', async () => {
    const never = gate();
    const server = await startHttpServer(() => never.promise);
    const pending = fetch(server.url).catch((error: unknown) => error);
    await server.waitForRequests(1);
    await server.close();
    expect(await pending).toBeInstanceOf(TypeError);
    expect(server.requests[0]?.response.clientAborted).toBe(true);
  });
});

describe('delayed', () => {
  it('answers after the delay', async () => {
    const server = await track(startHttpServer(delayed(50)));
    const started = Date.now();
    expect(await (await fetch(server.url)).text()).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });
});

describe('startHttpsServer', () => {
  it('serves the default certificate (localhost, 127.0.0.1) and records the SNI name', async () => {
    const server = await track(startHttpsServer());
    expect(server.url).toBe(`https://127.0.0.1:${server.port}`);
    expect(server.ca).toBe(selfSignedCertificate().cert);
    expect(await getHttps(server, server.ca as string, 'localhost')).toBe('ok');
    expect(server.requests[0]?.servername).toBe('localhost');
  });

  it('serves given credentials: names the certificate does not cover fail', async () => {
    const tls = selfSignedCertificate(['example.test', 'other.test']);
    expect(selfSignedCertificate(['example.test', 'other.test'])).toBe(tls); // made once
    const server = await track(startHttpsServer(undefined, { tls }));
    expect(server.ca).toBe(tls.cert);
    expect(await getHttps(server, tls.cert, 'other.test')).toBe('ok');
    await expect(getHttps(server, tls.cert, 'wrong.test')).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('refuses to make a certificate without a name', () => {
    expect(() => selfSignedCertificate([])).toThrow('at least one name');
  });
});

describe('listen and closedPort', () => {
  it('listen() serves any net server; close() destroys its sockets', async () => {
    const server = createServer(() => {});
    const { port, close } = await listen(server);
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await close();
    await closed;
    expect(server.listening).toBe(false);
  });

  it('closedPort() is a port nothing listens on', async () => {
    const socket = connect(await closedPort(), '127.0.0.1');
    const error = await new Promise<NodeJS.ErrnoException>((resolve) =>
      socket.once('error', resolve),
    );
    expect(error.code).toBe('ECONNREFUSED');
  });
});

describe('startHoldingServer', () => {
  it('holds the first `limit` requests until open(); later ones answer at once', async () => {
    const server = await track(startHoldingServer({ limit: 1 }));
    let firstDone = false;
    const first = fetch(`${server.url}/1`).then(async (response) => {
      firstDone = true;
      return response.text();
    });
    await server.waitForRequests(1);
    expect(await (await fetch(`${server.url}/2`)).text()).toBe('ok');
    expect(firstDone).toBe(false);
    server.open();
    expect(await first).toBe('ok');
  });

  it('hold(true) holds new requests; release() answers the held ones and keeps holding', async () => {
    const server = await track(startHoldingServer({ holding: false }));
    expect(await (await fetch(server.url)).text()).toBe('ok');
    server.hold(true);
    const held = fetch(server.url).then((response) => response.text());
    await server.waitForRequests(2);
    server.release();
    expect(await held).toBe('ok');
    const heldAgain = fetch(server.url).then((response) => response.text());
    await server.waitForRequests(3);
    server.hold(false);
    expect(await (await fetch(server.url)).text()).toBe('ok');
    server.release();
    expect(await heldAgain).toBe('ok');
    expect(server.requests).toHaveLength(4);
  });

  it('close() answers what it held before closing', async () => {
    const server = await startHoldingServer({ answer: (_req, res) => res.end('late') });
    const held = fetch(server.url).then((response) => response.text());
    await server.waitForRequests(1);
    await server.close();
    expect(await held).toBe('late');
  });
});
