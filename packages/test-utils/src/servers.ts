/**
 * Real HTTP and HTTPS servers on loopback addresses for tests (no mocked HTTP client).
 *
 * Every request is recorded with its body (read in full before the handler runs), TCP
 * connections are counted (a test proves that nothing connected), and `close()` destroys open
 * connections. HTTPS servers use {@link selfSignedCertificate} unless given credentials; `ca` on
 * the returned server is the PEM a client must trust.
 *
 * @module
 */
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import type { TLSSocket } from 'node:tls';
import { selfSignedCertificate, type TlsCredentials } from './tls.js';

/** The address test servers listen on unless told otherwise. */
export const LOOPBACK = '127.0.0.1';

/** A server listening on a free port, see {@link listen}. */
export interface ListeningServer {
  readonly host: string;
  readonly port: number;
  /** Stops the server and destroys every open connection. */
  close(): Promise<void>;
}

/**
 * Listens on `host` on a free port, keeping track of the server's sockets so that `close()` can
 * destroy them (a server left with a kept-alive connection would never finish closing).
 *
 * @param server - any `net` server (`http`, `https` and `tls` servers are ones)
 * @param host - a loopback address
 * @returns the port, and how to close the server
 * @example
 * ```ts
 * const { port, close } = await listen(net.createServer((socket) => socket.destroy()));
 * ```
 */
export async function listen(server: NetServer, host: string = LOOPBACK): Promise<ListeningServer> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', track);
  server.on('secureConnection', track);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        if ('closeAllConnections' in server) (server as HttpServer).closeAllConnections();
      }),
  };
}

/**
 * A port on `host` that nothing listens on: bound once, then released.
 *
 * @param host - a loopback address
 * @returns the port
 * @example
 * ```ts
 * const refused = `http://127.0.0.1:${await closedPort()}/`;
 * ```
 */
export async function closedPort(host: string = LOOPBACK): Promise<number> {
  const { port, close } = await listen(createNetServer(), host);
  await close();
  return port;
}

/** One request a test server received, recorded before the handler runs. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, e.g. `/hook?x=1`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The request body as UTF-8 text (read completely before the handler runs). */
  readonly body: string;
  /** The request body's bytes. */
  readonly rawBody: Uint8Array;
  /** When the body was fully received (`Date.now()`). */
  readonly receivedAt: number;
  /** The TLS SNI name the client sent (HTTPS servers; `undefined` without one, and for HTTP). */
  readonly servername: string | undefined;
  /** Response progress, updated while the handler writes. */
  readonly response: {
    /** Body bytes the handler handed to `res.write`/`res.end` so far. */
    bytesWritten: number;
    /** True once the response finished normally. */
    finished: boolean;
    /** True when the connection closed before the response finished (client aborted). */
    clientAborted: boolean;
  };
}

/**
 * A request handler: a plain `node:http` handler that also gets the recorded request. What it
 * returns is awaited; a handler that throws or rejects answers 500 (if it has not answered yet).
 */
export type TestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  recorded: RecordedRequest,
) => unknown;

/** A running test server. */
export interface TestServer {
  /** Base URL, e.g. `http://127.0.0.1:43123` (no trailing slash). */
  readonly url: string;
  /** The address it listens on. */
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** PEM of the certificate a client must trust (HTTPS only; `undefined` for HTTP). */
  readonly ca: string | undefined;
  /** Resolves once `count` requests have been received (or rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Stops the server and destroys every open connection. */
  close(): Promise<void>;
}

/** Where and how a test server listens. */
export interface ServerOptions {
  /** The address to listen on, a loopback one (default `127.0.0.1`). */
  readonly host?: string;
  /** The server's `keepAliveTimeout` in ms (default: Node's, 5 s). */
  readonly keepAliveTimeout?: number;
}

/** Options of {@link startHttpsServer}. */
export interface HttpsServerOptions extends ServerOptions {
  /** Key and certificate (default: {@link selfSignedCertificate} for localhost and 127.0.0.1). */
  readonly tls?: TlsCredentials;
}

/**
 * Answers 200 with `ok` (text/plain).
 *
 * @example
 * ```ts
 * const server = await startHttpServer(okHandler);
 * ```
 */
export const okHandler: TestHandler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
};

/**
 * Answers with `handler` after `ms` ms of real time, unless the client went away first: a slow
 * target, whose runs stay in flight for a while.
 *
 * @param ms - how long each request waits
 * @param handler - the answer (default {@link okHandler})
 * @returns the handler
 * @example
 * ```ts
 * const slow = await startHttpServer(delayed(400), { keepAliveTimeout: 60_000 });
 * ```
 */
export function delayed(ms: number, handler: TestHandler = okHandler): TestHandler {
  return async (req, res, recorded) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (!res.destroyed) await handler(req, res, recorded);
  };
}

/**
 * Starts a plain HTTP server on 127.0.0.1 (or `options.host`) and a free port.
 *
 * @param handler - answers each request (default {@link okHandler})
 * @param options - the address and keep-alive timeout
 * @returns the running server
 * @example
 * ```ts
 * const server = await startHttpServer((_req, res) => res.end('hi'));
 * await fetch(`${server.url}/hook`, { method: 'POST', body: 'x' });
 * const [request] = await server.waitForRequests(1);
 * await server.close();
 * ```
 */
export function startHttpServer(
  handler: TestHandler = okHandler,
  options: ServerOptions = {},
): Promise<TestServer> {
  return start(handler, options, undefined);
}

/**
 * Starts an HTTPS server on 127.0.0.1 (or `options.host`) and a free port, with a self-signed
 * certificate for localhost and 127.0.0.1 (or `options.tls`).
 *
 * @param handler - answers each request (default {@link okHandler})
 * @param options - the address, keep-alive timeout and credentials
 * @returns the running server; its `ca` is the certificate to trust
 * @example
 * ```ts
 * const server = await startHttpsServer();
 * const agent = new Agent({ connect: { ca: server.ca } });
 * ```
 */
export function startHttpsServer(
  handler: TestHandler = okHandler,
  options: HttpsServerOptions = {},
): Promise<TestServer> {
  return start(handler, options, options.tls ?? selfSignedCertificate());
}

async function start(
  handler: TestHandler,
  options: ServerOptions,
  tls: TlsCredentials | undefined,
): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  let connections = 0;

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => {});
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: { ...req.headers },
        body: rawBody.toString('utf8'),
        rawBody,
        receivedAt: Date.now(),
        servername:
          tls === undefined ? undefined : (req.socket as TLSSocket).servername || undefined,
        response: { bytesWritten: 0, finished: false, clientAborted: false },
      };
      trackResponse(res, recorded);
      requests.push(recorded);
      // The handler starts now, before anyone waiting for the request hears of it: what it decides
      // on arrival (whether to hold it, say) cannot race the test's next step.
      const handle = async (): Promise<unknown> => handler(req, res, recorded);
      handle().catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      for (const wake of waiters) wake();
    });
  };

  const server = tls === undefined ? createHttpServer(listener) : createHttpsServer(tls, listener);
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  server.on('connection', () => {
    connections++;
  });
  const { host, port, close } = await listen(server, options.host);
  const protocol = tls === undefined ? 'http' : 'https';

  return {
    url: `${protocol}://${host}:${port}`,
    host,
    port,
    get connections() {
      return connections;
    },
    requests,
    ca: tls?.cert,
    waitForRequests(count: number, timeoutMs = 5_000): Promise<RecordedRequest[]> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (requests.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(requests.slice());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} requests, got ${requests.length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close,
  };
}

/** Counts the body bytes a handler writes, and notes whether the response finished. */
function trackResponse(res: ServerResponse, recorded: RecordedRequest): void {
  const progress = recorded.response;
  const count = (chunk: unknown): void => {
    if (typeof chunk === 'string') progress.bytesWritten += Buffer.byteLength(chunk);
    else if (chunk instanceof Uint8Array) progress.bytesWritten += chunk.byteLength;
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  (res as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    count(args[0]);
    return write(...args);
  };
  (res as { end: (...args: unknown[]) => ServerResponse }).end = (...args: unknown[]) => {
    if (typeof args[0] !== 'function') count(args[0]);
    return end(...args);
  };
  res.on('finish', () => {
    progress.finished = true;
  });
  res.on('close', () => {
    if (!progress.finished) progress.clientAborted = true;
  });
}
