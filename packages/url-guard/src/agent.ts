import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { resolveAndCheck } from './check.js';
import { UrlGuardError, UrlPolicyError } from './errors.js';
import { type CompiledPolicy, checkAddress } from './policy.js';
import { NEVER_ABORTED, type Resolver } from './resolver.js';

/**
 * TLS and socket options for the guarded connector. `lookup`, `socket`, `host`, `port`, `path`
 * and `servername` are set by the guard; `rejectUnauthorized: false` and `checkServerIdentity`
 * are refused so that certificate checks stay on. Pass a private CA with `ca`.
 *
 * @example
 * ```ts
 * const connect: EgressConnectOptions = { ca: readFileSync('internal-ca.pem'), timeout: 5000 };
 * ```
 */
export interface EgressConnectOptions
  extends Omit<
    ConnectionOptions,
    | 'lookup'
    | 'socket'
    | 'host'
    | 'port'
    | 'path'
    | 'servername'
    | 'checkServerIdentity'
    | 'timeout'
  > {
  /** Connect timeout in milliseconds (undici's default is 10 000). */
  readonly timeout?: number | null;
  /** TCP keep-alive on the socket. */
  readonly keepAlive?: boolean | null;
  /** Initial keep-alive delay in milliseconds. */
  readonly keepAliveInitialDelay?: number | null;
  /** TLS session cache size. */
  readonly maxCachedSessions?: number | null;
  /** Happy Eyeballs (RFC 8305) across the checked addresses. */
  readonly autoSelectFamily?: boolean;
  /** Per-attempt timeout of Happy Eyeballs. */
  readonly autoSelectFamilyAttemptTimeout?: number;
}

/**
 * Options for the undici `Agent` behind the guarded fetch: everything undici's `Agent.Options`
 * offers (timeouts, pipelining, connections, HTTP/2, …) except what would bypass the guard
 * (`factory`, `interceptors`, `socketPath`, `tls`, a `connect` function).
 *
 * @example
 * ```ts
 * const dispatcherOptions: EgressDispatcherOptions = {
 *   headersTimeout: 10_000,
 *   connect: { ca: selfSignedCert },
 * };
 * ```
 */
export interface EgressDispatcherOptions
  extends Omit<Agent.Options, 'connect' | 'factory' | 'interceptors' | 'socketPath' | 'tls'> {
  /** TLS and socket options of the guarded connector. */
  readonly connect?: EgressConnectOptions;
}

const FORBIDDEN_DISPATCHER_OPTIONS = ['factory', 'interceptors', 'socketPath', 'tls'] as const;
const FORBIDDEN_CONNECT_OPTIONS = [
  'lookup',
  'socket',
  'host',
  'port',
  'path',
  'socketPath',
  'servername',
  'checkServerIdentity',
] as const;

function requestedFamily(options: LookupOptions): 0 | 4 | 6 {
  const { family } = options;
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/**
 * @internal A `lookup` for `net.connect`/`tls.connect` that resolves with the policy's resolver
 * and checks every answer before the socket may use any of them. It honours `all` (Node's
 * Happy Eyeballs asks for every address) and `family`.
 */
export function createGuardedLookup(compiled: CompiledPolicy, resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    const lookupOptions: LookupOptions =
      typeof options === 'object' && options !== null ? options : {};
    // undici gives lookup no signal; its connect timeout bounds the wait.
    resolveAndCheck(compiled, resolver, hostname, NEVER_ABORTED).then(
      (addresses) => {
        const family = requestedFamily(lookupOptions);
        const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
        const first = usable[0];
        if (first === undefined) {
          callback(
            new UrlGuardError('dns-failure', `"${hostname}" has no IPv${family} address.`, {
              host: hostname,
            }),
            '',
          );
        } else if (lookupOptions.all === true) {
          callback(
            null,
            usable.map((a): LookupAddress => ({ address: a.address, family: a.family })),
          );
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: unknown) => {
        callback(
          error instanceof Error
            ? error
            : new UrlGuardError('dns-failure', String(error), { host: hostname }),
          '',
        );
      },
    );
  };
}

function validateDispatcherOptions(options: EgressDispatcherOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new UrlPolicyError('dispatcherOptions', 'expected an object');
  }
  const record = options as Record<string, unknown>;
  for (const key of FORBIDDEN_DISPATCHER_OPTIONS) {
    if (record[key] !== undefined) {
      throw new UrlPolicyError(
        `dispatcherOptions.${key}`,
        'not allowed: it would bypass the guard',
      );
    }
  }
  const connect = record.connect;
  if (connect === undefined) return;
  if (typeof connect !== 'object' || connect === null) {
    throw new UrlPolicyError(
      'dispatcherOptions.connect',
      'expected an options object (a connect function would bypass the guard)',
    );
  }
  const connectRecord = connect as Record<string, unknown>;
  for (const key of FORBIDDEN_CONNECT_OPTIONS) {
    if (connectRecord[key] !== undefined) {
      throw new UrlPolicyError(
        `dispatcherOptions.connect.${key}`,
        'not allowed: the guard sets it',
      );
    }
  }
  if (connectRecord.rejectUnauthorized === false) {
    throw new UrlPolicyError(
      'dispatcherOptions.connect.rejectUnauthorized',
      'certificate verification cannot be turned off; pass the CA with `ca` instead',
    );
  }
}

function remoteRefusal(
  compiled: CompiledPolicy,
  socket: Socket,
  hostname: string,
): UrlGuardError | null {
  const remote = socket.remoteAddress;
  if (remote === undefined) {
    // The socket closed before it could be checked: a connection failure, worth another try.
    return new UrlGuardError('dns-failure', 'The socket has no remote address.', {
      host: hostname,
      temporary: true,
    });
  }
  try {
    checkAddress(compiled, remote, { host: hostname });
    return null;
  } catch (error) {
    return error instanceof UrlGuardError
      ? error
      : new UrlGuardError('private-address', String(error), { host: hostname });
  }
}

/**
 * @internal Build the guarded undici `Agent`: names go through the guarded `lookup`, IP literal
 * hosts (which never reach `lookup`) are checked before connecting, and the connected socket's
 * remote address is checked again before the first HTTP byte is written.
 */
export function createGuardedDispatcher(
  compiled: CompiledPolicy,
  resolver: Resolver,
  dispatcherOptions: EgressDispatcherOptions = {},
): Agent {
  validateDispatcherOptions(dispatcherOptions);
  const {
    connect: connectOptions = {},
    connectTimeout,
    maxCachedSessions,
    allowH2,
    autoSelectFamily,
    autoSelectFamilyAttemptTimeout,
    ...agentOptions
  } = dispatcherOptions;
  const connector = buildConnector({
    ...(connectTimeout === undefined ? {} : { timeout: connectTimeout }),
    ...(maxCachedSessions === undefined ? {} : { maxCachedSessions }),
    ...(allowH2 === undefined ? {} : { allowH2 }),
    ...(autoSelectFamily === undefined ? {} : { autoSelectFamily }),
    ...(autoSelectFamilyAttemptTimeout === undefined ? {} : { autoSelectFamilyAttemptTimeout }),
    ...(connectOptions as buildConnector.BuildOptions),
    lookup: createGuardedLookup(compiled, resolver),
  });
  const guardedConnect: buildConnector.connector = (options, callback) => {
    const host = options.hostname.startsWith('[')
      ? options.hostname.slice(1, -1)
      : options.hostname;
    if (isIP(host) !== 0) {
      try {
        checkAddress(compiled, host, { host });
      } catch (error) {
        callback(error as Error, null);
        return;
      }
    }
    connector(options, (...result) => {
      const [error, socket] = result;
      if (error !== null) {
        callback(error, null);
        return;
      }
      const refusal = remoteRefusal(compiled, socket, host);
      if (refusal !== null) {
        socket.destroy();
        callback(refusal, null);
        return;
      }
      callback(null, socket);
    });
  };
  return new Agent({
    ...agentOptions,
    ...(allowH2 === undefined ? {} : { allowH2 }),
    connect: guardedConnect,
  });
}
