import http from 'node:http';
import net from 'node:net';
import { getSystemErrorMap } from 'node:util';
import { onTestFinished } from 'vitest';

type Server = net.Server | http.Server;

/** Listens on 127.0.0.1 on a free port, and closes the server (and its sockets) after the test. */
export async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

/** A 127.0.0.1 port with nothing listening: bound once by us, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts an HTTP server on 127.0.0.1 and returns its base URL. */
export async function httpServer(handler: http.RequestListener): Promise<string> {
  const port = await listen(http.createServer(handler));
  return `http://127.0.0.1:${port}`;
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
