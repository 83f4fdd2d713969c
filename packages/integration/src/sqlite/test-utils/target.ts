import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A job target on 127.0.0.1 that counts requests by their `Idempotency-Key` header. */
export interface Target {
  /** Base URL, e.g. `http://127.0.0.1:43123`. */
  readonly url: string;
  /** How many requests carried each key, in arrival order of first sight. */
  readonly keys: Map<string, number>;
  /** Requests answered or held so far. */
  readonly total: () => number;
  /**
   * `true`: new requests are held open (no response) until `release()` or the client goes away;
   * `false`: they are answered 200 at once.
   */
  hold(on: boolean): void;
  /** Answers every held request with 200. */
  release(): void;
  /** Stops the server, destroying open connections. */
  close(): Promise<void>;
}

/** Starts a {@link Target}. */
export async function startTarget(): Promise<Target> {
  const keys = new Map<string, number>();
  const held: ServerResponse[] = [];
  let holding = false;
  let total = 0;
  const server = createServer((req, res) => {
    total += 1;
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string') keys.set(key, (keys.get(key) ?? 0) + 1);
    req.resume();
    if (holding) {
      held.push(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    keys,
    total: () => total,
    hold: (on) => {
      holding = on;
    },
    release: () => {
      for (const res of held.splice(0)) {
        if (!res.destroyed) res.writeHead(200).end('ok');
      }
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
