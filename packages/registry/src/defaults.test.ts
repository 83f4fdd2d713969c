import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { closedPort } from '@again/test-utils';
import { Agent, Client, request, errors as undiciErrors, fetch as undiciFetch } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_TEMPORARY_ERRORS } from './defaults.js';
import { createRegistry } from './registry.js';
import {
  httpServer,
  listen,
  nodeSystemError,
  rejection,
  socketError,
} from './test-utils/sockets.js';

const defaults = createRegistry({ defaults: true });
const keyOf = (row: (typeof DEFAULT_TEMPORARY_ERRORS)[number]): string =>
  row.matcher.code ?? row.matcher.name ?? '';

/** A server that accepts connections and never answers. */
async function silentHttpServer(): Promise<string> {
  return httpServer(() => {});
}

function agent(options: Agent.Options): Agent {
  const dispatcher = new Agent(options);
  onTestFinished(() => dispatcher.destroy());
  return dispatcher;
}

// Each default is tested with an error a real client produced on 127.0.0.1, except the ones that
// need a real network; those are built the way Node builds them, and say so in their name.
const PRODUCED_FOR_REAL = [
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'TimeoutError',
];
const BUILT_LIKE_NODE = [
  ['ETIMEDOUT', 'connect'],
  ['ECONNABORTED', 'read'],
  ['EAI_AGAIN', 'getaddrinfo'],
  ['ENETUNREACH', 'connect'],
  ['EHOSTUNREACH', 'connect'],
  ['ENETDOWN', 'connect'],
  ['EHOSTDOWN', 'connect'],
] as const;

describe('DEFAULT_TEMPORARY_ERRORS', () => {
  it('has one test below per row, and no row twice', () => {
    const tested = [...PRODUCED_FOR_REAL, ...BUILT_LIKE_NODE.map(([code]) => code)].sort();
    const rows = DEFAULT_TEMPORARY_ERRORS.map(keyOf);
    expect(new Set(rows).size).toBe(rows.length);
    expect([...rows].sort()).toEqual(tested);
  });

  it('is deeply frozen', () => {
    expect(Object.isFrozen(DEFAULT_TEMPORARY_ERRORS)).toBe(true);
    for (const row of DEFAULT_TEMPORARY_ERRORS) {
      expect(Object.isFrozen(row)).toBe(true);
      expect(Object.isFrozen(row.matcher)).toBe(true);
    }
  });

  it('is the table in docs/registry.md, row for row', () => {
    const docs = readFileSync(new URL('../../../docs/registry.md', import.meta.url), 'utf8');
    // The table of the "## The defaults" section, cells trimmed (a formatter may pad them).
    const section = docs.split(/^## /m).find((part) => part.startsWith('The defaults')) ?? '';
    const table = section.split(/^### /m)[0] ?? '';
    const documented = table
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) =>
        line
          .slice(1, -1)
          .split('|')
          .map((cell) => cell.trim()),
      );
    const expected = DEFAULT_TEMPORARY_ERRORS.map((row) => [
      `\`${keyOf(row)}\``,
      row.matcher.code === undefined ? 'name' : 'code',
      row.source,
      row.meaning,
      row.transient,
    ]);
    expect(documented).toEqual(expected);
  });
});

describe('defaults against errors from real sockets on 127.0.0.1', () => {
  it('ECONNREFUSED: node:net connect to a closed port', async () => {
    const socket = net.connect(await closedPort(), '127.0.0.1');
    const error = await socketError(socket);
    expect(error.code).toBe('ECONNREFUSED');
    expect(defaults.isTemporary(error)).toBe(true);
  });

  it('ECONNREFUSED: global fetch wraps it as TypeError("fetch failed") with the cause', async () => {
    const error = await rejection(fetch(`http://127.0.0.1:${await closedPort()}/`));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error & { cause: { code: string } }).cause.code).toBe('ECONNREFUSED');
    expect(defaults.isTemporary(error)).toBe(true);
    // Only the cause matches: without walking it the answer is false.
    expect(createRegistry({ defaults: true, maxDepth: 0 }).isTemporary(error)).toBe(false);
  });

  it('ECONNREFUSED: members of the AggregateError from Promise.any over two connects', async () => {
    const connect = async (): Promise<never> => {
      throw await socketError(net.connect(await closedPort(), '127.0.0.1'));
    };
    const error = await rejection(Promise.any([connect(), connect()]));
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors.map((member: { code: string }) => member.code)).toEqual(
      ['ECONNREFUSED', 'ECONNREFUSED'],
    );
    expect(defaults.isTemporary(error)).toBe(true);
  });

  it('ECONNRESET: node:http request to a server that resets the socket', async () => {
    const url = await httpServer((req) => req.socket.resetAndDestroy());
    const error = await new Promise<NodeJS.ErrnoException>((resolve) =>
      http.get(url, () => resolve(new Error('unexpected response'))).once('error', resolve),
    );
    expect(error.code).toBe('ECONNRESET');
    expect(defaults.isTemporary(error)).toBe(true);
  });

  it('ECONNRESET: global fetch to a server that resets the socket (in the cause)', async () => {
    const url = await httpServer((req) => req.socket.resetAndDestroy());
    const error = await rejection(fetch(url));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error & { cause: { code: string } }).cause.code).toBe('ECONNRESET');
    expect(defaults.isTemporary(error)).toBe(true);
  });

  it('EPIPE: node:net write to a connection the peer closed', async () => {
    const port = await listen(net.createServer((socket) => socket.destroy()));
    // allowHalfOpen keeps our side writable after the peer's FIN; the first write draws an RST,
    // a later one fails with EPIPE.
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    onTestFinished(() => {
      socket.destroy();
    });
    await new Promise((resolve) => socket.once('end', resolve));
    const failed = socketError(socket);
    const writeUntilError = (left: number): void => {
      if (left > 0) socket.write('x', (error) => error ?? setImmediate(writeUntilError, left - 1));
    };
    writeUntilError(100);
    const error = await failed;
    expect(error.code).toBe('EPIPE');
    expect(defaults.isTemporary(error)).toBe(true);
  });

  it('UND_ERR_SOCKET: undici request to a server that closes the socket', async () => {
    const url = await httpServer((req) => req.socket.destroy());
    const error = await rejection(request(url, { dispatcher: agent({}) }));
    expect(error).toBeInstanceOf(undiciErrors.SocketError);
    expect((error as undiciErrors.SocketError).code).toBe('UND_ERR_SOCKET');
    expect(defaults.isTemporary(error)).toBe(true);
  });

  it('UND_ERR_SOCKET: global fetch to a server that closes the socket (in the cause)', async () => {
    const url = await httpServer((req) => req.socket.destroy());
    const error = await rejection(fetch(url));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error & { cause: { code: string } }).cause.code).toBe('UND_ERR_SOCKET');
    expect(defaults.isTemporary(error)).toBe(true);
  });

  // undici runs these timeouts on its coarse timer wheel (about 1 s resolution), so each waits
  // about a second of real time; they run concurrently. Their outcome does not depend on timing:
  // the server never answers.
  describe.concurrent('undici timeouts', () => {
    it('UND_ERR_CONNECT_TIMEOUT: https to a server that never answers the TLS handshake', async () => {
      const port = await listen(net.createServer(() => {}));
      const dispatcher = agent({ connect: { timeout: 50 } });
      const error = await rejection(request(`https://127.0.0.1:${port}/`, { dispatcher }));
      expect(error).toBeInstanceOf(undiciErrors.ConnectTimeoutError);
      expect((error as undiciErrors.UndiciError).code).toBe('UND_ERR_CONNECT_TIMEOUT');
      expect(defaults.isTemporary(error)).toBe(true);
    });

    it('UND_ERR_HEADERS_TIMEOUT: undici fetch to a server that never answers (in the cause)', async () => {
      const dispatcher = agent({ headersTimeout: 50 });
      const error = await rejection(undiciFetch(await silentHttpServer(), { dispatcher }));
      expect(error).toBeInstanceOf(TypeError);
      const cause = (error as Error).cause;
      expect(cause).toBeInstanceOf(undiciErrors.HeadersTimeoutError);
      expect((cause as undiciErrors.UndiciError).code).toBe('UND_ERR_HEADERS_TIMEOUT');
      expect(defaults.isTemporary(error)).toBe(true);
    });

    it('UND_ERR_BODY_TIMEOUT: undici request whose response body stalls', async () => {
      const url = await httpServer((_req, res) => {
        res.writeHead(200, { 'content-length': '10' });
        res.write('abc');
      });
      const response = await request(url, { dispatcher: agent({ bodyTimeout: 50 }) });
      const error = await rejection(response.body.text());
      expect(error).toBeInstanceOf(undiciErrors.BodyTimeoutError);
      expect((error as undiciErrors.UndiciError).code).toBe('UND_ERR_BODY_TIMEOUT');
      expect(defaults.isTemporary(error)).toBe(true);
    });
  });

  it('TimeoutError: global fetch with AbortSignal.timeout(1) to a server that never answers', async () => {
    const error = await rejection(
      fetch(await silentHttpServer(), { signal: AbortSignal.timeout(1) }),
    );
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
    expect(defaults.isTemporary(error)).toBe(true);
  });

  it.each(BUILT_LIKE_NODE)(
    '%s: built as Node builds it (needs a real network to happen)',
    (code, syscall) => {
      const error = nodeSystemError(code, syscall);
      expect(error).toMatchObject({ code, syscall, errno: expect.any(Number) });
      expect(defaults.isTemporary(error)).toBe(true);
      expect(defaults.isTemporary(new TypeError('fetch failed', { cause: error }))).toBe(true);
    },
  );
});

describe('errors deliberately not in the defaults', () => {
  it('ENOTFOUND (no such name), built as Node builds it', () => {
    const error = nodeSystemError('ENOTFOUND', 'getaddrinfo');
    expect(error).toMatchObject({ code: 'ENOTFOUND', errno: expect.any(Number) });
    expect(defaults.isTemporary(error)).toBe(false);
  });

  it('AbortError: global fetch cancelled by its caller', async () => {
    const controller = new AbortController();
    const pending = fetch(await silentHttpServer(), { signal: controller.signal });
    controller.abort();
    const error = await rejection(pending);
    expect((error as DOMException).name).toBe('AbortError');
    expect(defaults.isTemporary(error)).toBe(false);
  });

  it('UND_ERR_CLOSED and UND_ERR_DESTROYED: requests on an undici Client we closed', async () => {
    const client = new Client(await silentHttpServer());
    const closing = client.close();
    const closed = await rejection(client.request({ path: '/', method: 'GET' }));
    await closing;
    const destroyed = await rejection(client.request({ path: '/', method: 'GET' }));
    expect(closed).toBeInstanceOf(undiciErrors.ClientClosedError);
    expect((closed as undiciErrors.UndiciError).code).toBe('UND_ERR_CLOSED');
    expect(destroyed).toBeInstanceOf(undiciErrors.ClientDestroyedError);
    expect((destroyed as undiciErrors.UndiciError).code).toBe('UND_ERR_DESTROYED');
    expect(defaults.isTemporary(closed)).toBe(false);
    expect(defaults.isTemporary(destroyed)).toBe(false);
  });

  it('a plain programming error', () => {
    expect(defaults.isTemporary(new TypeError('x is not a function'))).toBe(false);
  });
});
