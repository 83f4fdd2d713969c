/**
 * Real HTTP and HTTPS servers on 127.0.0.1 for tests (no mocked HTTP client).
 *
 * The HTTPS server uses a self-signed certificate generated once per process with `openssl`
 * into a temp dir; `ca` on the returned server is the PEM a client must trust.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One request the server received, recorded before the handler runs. */
export interface RecordedRequest {
  readonly method: string;
  /** Path + query, e.g. `/hook?x=1`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The request body as UTF-8 text (read completely before the handler runs). */
  readonly body: string;
  /** The request body bytes. */
  readonly rawBody: Uint8Array;
  /** Receive time (Date.now()). */
  readonly receivedAt: number;
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

/** Handler: a plain node:http handler that also gets the recorded request. */
export type TestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  recorded: RecordedRequest,
) => void | Promise<void>;

/** A running test server. */
export interface TestServer {
  /** Base URL, e.g. `http://127.0.0.1:43123` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** PEM of the self-signed certificate (HTTPS only; `undefined` for HTTP). */
  readonly ca: string | undefined;
  /** Resolves once `count` requests have been received (or rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Stops the server and destroys every open connection. */
  close(): Promise<void>;
}

/** Handler that answers 200 with `ok`. */
export const okHandler: TestHandler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
};

interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
}

let tlsMaterial: TlsMaterial | undefined;

/** Generates (once per process) a self-signed cert for localhost / 127.0.0.1. */
export function selfSignedCertificate(): TlsMaterial {
  if (tlsMaterial !== undefined) return tlsMaterial;
  const dir = mkdtempSync(join(tmpdir(), 'again-scheduler-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-days',
        '2',
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { stdio: 'ignore' },
    );
    tlsMaterial = { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
    return tlsMaterial;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts a plain HTTP server on 127.0.0.1 (random port). */
export function startHttpServer(handler: TestHandler = okHandler): Promise<TestServer> {
  return start('http', handler);
}

/** Starts an HTTPS server on 127.0.0.1 (random port) with a self-signed certificate. */
export function startHttpsServer(handler: TestHandler = okHandler): Promise<TestServer> {
  return start('https', handler);
}

/** Returns a port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function start(protocol: 'http' | 'https', handler: TestHandler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();

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
        response: { bytesWritten: 0, finished: false, clientAborted: false },
      };
      trackResponse(res, recorded);
      requests.push(recorded);
      for (const wake of waiters) wake();
      Promise.resolve()
        .then(() => handler(req, res, recorded))
        .catch(() => {
          if (!res.headersSent) res.writeHead(500);
          res.end();
        });
    });
  };

  const server =
    protocol === 'https'
      ? createHttpsServer(selfSignedCertificate(), listener)
      : createHttpServer(listener);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    url: `${protocol}://127.0.0.1:${port}`,
    port,
    requests,
    ca: protocol === 'https' ? selfSignedCertificate().cert : undefined,
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
    close(): Promise<void> {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
      });
    },
  };
}

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
