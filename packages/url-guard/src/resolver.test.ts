import { startHttpServer, type TestServer } from '@again/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkUrl } from './check.js';
import { createEgress } from './egress.js';
import { UrlGuardError } from './errors.js';
import { raceAbort, systemResolver } from './resolver.js';

// The system resolver is exercised only with "localhost", which getaddrinfo answers from
// /etc/hosts without any network traffic.
describe('systemResolver', () => {
  it('answers every loopback address for localhost', async () => {
    const answers = await systemResolver('localhost', { signal: new AbortController().signal });
    expect(answers.length).toBeGreaterThan(0);
    for (const { address } of answers) expect(['127.0.0.1', '::1']).toContain(address);
  });

  it('rejects with the signal reason when already aborted', async () => {
    const reason = new Error('stop');
    await expect(systemResolver('localhost', { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
  });

  it('checkUrl with the system resolver checks the real answers', async () => {
    const error = await checkUrl('https://localhost/', { allowLocalhost: true }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UrlGuardError);
    expect((error as UrlGuardError).reason).toBe('private-address');
  });
});

describe('raceAbort', () => {
  it('settles with the promise and detaches from the signal', async () => {
    const controller = new AbortController();
    await expect(raceAbort(Promise.resolve(1), controller.signal)).resolves.toBe(1);
    await expect(raceAbort(Promise.reject(new Error('x')), controller.signal)).rejects.toThrow('x');
    controller.abort();
  });

  it('rejects with the reason when the signal aborts first', async () => {
    const controller = new AbortController();
    const pending = raceAbort(new Promise(() => {}), controller.signal);
    controller.abort(new Error('late'));
    await expect(pending).rejects.toThrow('late');
  });
});

describe('guarded fetch with the system resolver', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startHttpServer((_req, res) => res.end('local'), { host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('reaches localhost only when its addresses are deliberately allowed', async () => {
    const refused = createEgress({ allowedSchemes: ['http'], allowLocalhost: true });
    const allowed = createEgress({
      allowedSchemes: ['http'],
      allowLocalhost: true,
      allowedAddresses: ['127.0.0.1', '::1'],
    });
    try {
      const error = await refused
        .fetch(`http://localhost:${server.port}/`)
        .catch((e: unknown) => e);
      expect((error as UrlGuardError).reason).toBe('private-address');
      expect(server.connections).toBe(0);
      const response = await allowed.fetch(`http://localhost:${server.port}/`);
      expect(await response.text()).toBe('local');
      expect(server.requests[0]?.headers.host).toBe(`localhost:${server.port}`);
    } finally {
      await Promise.all([refused.close(), allowed.close()]);
    }
  });
});
