// Test helpers: real HTTP(S) servers on loopback addresses that count TCP connections, and a
// throw-away self-signed certificate made with the system's openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** TLS SNI name, for HTTPS servers. */
  readonly servername: string | undefined;
}

export type Handler = (request: RecordedRequest, response: http.ServerResponse) => void;

export interface TestServer {
  /** `http(s)://host:port` */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

function wrap(
  server: http.Server | https.Server,
  protocol: 'http' | 'https',
  host: string,
  handler: Handler,
): Promise<TestServer> {
  let connections = 0;
  const requests: RecordedRequest[] = [];
  server.on('connection', () => {
    connections++;
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        servername:
          protocol === 'https' ? (req.socket as TLSSocket).servername || undefined : undefined,
      };
      requests.push(recorded);
      handler(recorded, res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        origin: `${protocol}://${host}:${port}`,
        host,
        port,
        get connections() {
          return connections;
        },
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Start a plain HTTP server on `host` (a loopback address) and a random port. */
export function startHttpServer(host: string, handler: Handler): Promise<TestServer> {
  return wrap(http.createServer(), 'http', host, handler);
}

/** Start an HTTPS server on `host` (a loopback address) with the given key and certificate. */
export function startHttpsServer(
  host: string,
  credentials: { key: string; cert: string },
  handler: Handler,
): Promise<TestServer> {
  return wrap(https.createServer(credentials), 'https', host, handler);
}

/** A self-signed P-256 certificate for `names`, made by openssl in a temporary directory. */
export function makeSelfSignedCert(names: readonly string[]): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'url-guard-cert-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '1',
        '-subj',
        `/CN=${names[0]}`,
        '-addext',
        `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A resolver backed by a fixed table; unknown names fail like getaddrinfo's ENOTFOUND. */
export function tableResolver(
  table: Readonly<Record<string, readonly string[]>>,
): (hostname: string) => Promise<{ address: string; family: number }[]> {
  return async (hostname) => {
    await new Promise((resolve) => setImmediate(resolve));
    const answers = table[hostname];
    if (answers === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    }
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}
