// Test helpers: servers on 127.0.0.1 closed after each test (built on @again/test-utils), and
// errors shaped the way Node's bindings shape them.
import type http from 'node:http';
import type net from 'node:net';
import { getSystemErrorMap } from 'node:util';
import { listen as listenOnLoopback, startHttpServer } from '@again/test-utils';
import { onTestFinished } from 'vitest';

/**
 * Listens on 127.0.0.1 on a free port, and closes the server (and its sockets) after the test.
 *
 * @returns the port
 */
export async function listen(server: net.Server): Promise<number> {
  const listening = await listenOnLoopback(server);
  onTestFinished(() => listening.close());
  return listening.port;
}

/**
 * Starts an HTTP server on 127.0.0.1, closed after the test.
 *
 * @returns its base URL
 */
export async function httpServer(handler: http.RequestListener): Promise<string> {
  const server = await startHttpServer(handler);
  onTestFinished(() => server.close());
  return server.url;
}

/** Resolves with the error a `net` socket emits. */
export function socketError(socket: net.Socket): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve) => socket.once('error', resolve));
}

/** Resolves with what `promise` rejects with; fails if it fulfils. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/**
 * Builds an error the way Node's libuv bindings do (`UVExceptionWithHostPort`, or
 * `dnsException` for `getaddrinfo`): an `Error` with `errno`, `code`, `syscall` and the target.
 * For the codes that need a real network to happen (EAI_AGAIN, ENETUNREACH…).
 */
export function nodeSystemError(code: string, syscall: 'connect' | 'read' | 'getaddrinfo'): Error {
  // Node reports getaddrinfo's EAI_NONAME under the code ENOTFOUND, keeping EAI_NONAME's errno.
  const uvName = code === 'ENOTFOUND' ? 'EAI_NONAME' : code;
  const errno = [...getSystemErrorMap()].find(([, [name]]) => name === uvName)?.[0];
  if (syscall === 'getaddrinfo') {
    return Object.assign(new Error(`getaddrinfo ${code} service.example`), {
      errno,
      code,
      syscall,
      hostname: 'service.example',
    });
  }
  return Object.assign(new Error(`${syscall} ${code} 192.0.2.10:443`), {
    errno,
    code,
    syscall,
    address: '192.0.2.10',
    port: 443,
  });
}
