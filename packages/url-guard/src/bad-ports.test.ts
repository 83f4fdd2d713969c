import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FETCH_BAD_PORTS, isBadPort } from './bad-ports.js';
import { createEgress } from './egress.js';
import { UrlGuardError } from './errors.js';

describe('FETCH_BAD_PORTS', () => {
  it('is undici’s own list (plus port 0, which the Fetch standard also lists)', () => {
    // Read from the installed undici for the comparison only; the guard keeps its own copy.
    const require = createRequire(import.meta.url);
    const constants = require(
      join(dirname(require.resolve('undici')), 'lib/web/fetch/constants.js'),
    ) as { badPorts: readonly string[] };
    expect(constants.badPorts.length).toBeGreaterThan(70);
    expect([...FETCH_BAD_PORTS].sort((a, b) => a - b)).toEqual(
      [0, ...constants.badPorts.map(Number)].sort((a, b) => a - b),
    );
    expect(Object.isFrozen(FETCH_BAD_PORTS)).toBe(true);
  });

  it('never holds a scheme’s default port', () => {
    expect(isBadPort(443)).toBe(false);
    expect(isBadPort(80)).toBe(false);
    expect(isBadPort(8080)).toBe(false);
    expect(isBadPort(6000)).toBe(true);
  });
});

describe('why: fetch never connects to a bad port', () => {
  let server: Server;
  let port = 0;
  let connections = 0;

  beforeAll(async () => {
    server = createServer((socket) => {
      connections++;
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
    });
    // The first bad port above 1024 that is free on this machine.
    for (const candidate of FETCH_BAD_PORTS.filter((p) => p > 1024)) {
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(candidate, '127.0.0.1', () => resolve(true));
      });
      if (bound) {
        port = candidate;
        break;
      }
    }
    expect(port).not.toBe(0);
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('undici’s fetch and the global fetch fail with "bad port" and never connect', async () => {
    for (const fetch of [undiciFetch, globalThis.fetch]) {
      const error = await fetch(`http://127.0.0.1:${port}/`).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TypeError);
      expect(((error as TypeError).cause as Error).message).toBe('bad port');
    }
    expect(connections).toBe(0);
  });

  it('the guard refuses it up front with reason bad-port, even when allowedPorts lists it', async () => {
    const egress = createEgress({
      allowedSchemes: ['http'],
      allowIpLiterals: true,
      allowedAddresses: ['127.0.0.1'],
      allowedPorts: [port],
    });
    try {
      for (const attempt of [
        egress.check(`http://127.0.0.1:${port}/`),
        egress.fetch(`http://127.0.0.1:${port}/`),
      ]) {
        const error = await attempt.then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(UrlGuardError);
        expect(error).toMatchObject({ reason: 'bad-port', policyRefusal: true });
        expect((error as Error).message).toContain(String(port));
      }
    } finally {
      await egress.close();
    }
    expect(connections).toBe(0);
  });
});
