/**
 * Throw-away self-signed certificates, made with the system's `openssl` in a temporary directory.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createTempDir } from './temp-dir.js';

/** A PEM private key and its certificate, as `https.createServer` takes them. */
export interface TlsCredentials {
  readonly key: string;
  readonly cert: string;
}

/** The names of the default certificate: what a test server on 127.0.0.1 is reached by. */
const LOCAL_NAMES: readonly string[] = ['localhost', '127.0.0.1'];

const made = new Map<string, TlsCredentials>();

/**
 * A self-signed P-256 certificate valid for `names` (host names and IP addresses), made once per
 * process and list of names. The certificate is its own CA: a client trusts it by passing `cert`
 * as its `ca`.
 *
 * @param names - the names it covers; the first is also its common name
 * @returns the key and certificate, in PEM
 * @example
 * ```ts
 * const tls = selfSignedCertificate(['example.test']);
 * const server = await startHttpsServer(okHandler, { tls });
 * const egress = createEgress({ dispatcherOptions: { connect: { ca: tls.cert } } });
 * ```
 */
export function selfSignedCertificate(names: readonly string[] = LOCAL_NAMES): TlsCredentials {
  const [first] = names;
  if (first === undefined) throw new Error('a certificate needs at least one name');
  const cacheKey = names.join(',');
  const cached = made.get(cacheKey);
  if (cached !== undefined) return cached;
  const dir = createTempDir('again-test-tls-');
  try {
    const keyPath = dir.file('key.pem');
    const certPath = dir.file('cert.pem');
    const altNames = names.map((name) => (isIP(name) === 0 ? `DNS:${name}` : `IP:${name}`));
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
        '2',
        '-subj',
        `/CN=${first}`,
        '-addext',
        `subjectAltName=${altNames.join(',')}`,
      ],
      { stdio: 'ignore' },
    );
    const credentials = {
      key: readFileSync(keyPath, 'utf8'),
      cert: readFileSync(certPath, 'utf8'),
    };
    made.set(cacheKey, credentials);
    return credentials;
  } finally {
    dir.remove();
  }
}
