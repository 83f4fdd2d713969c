import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the target received. */
export interface Delivery {
  /** The `x-again-instance` header: who sent it. */
  readonly by: string;
  /** When it arrived (`Date.now()`). */
  readonly at: number;
}

/** A job target on 127.0.0.1 that answers after a delay and records every delivery. */
export interface Target {
  /** Base URL, e.g. `http://127.0.0.1:43123`. */
  readonly url: string;
  /** Idempotency key (the occurrence id) → its deliveries, in arrival order. */
  readonly deliveries: Map<string, Delivery[]>;
  /** Requests received. */
  total(): number;
  /** Stops the server, destroying open connections. */
  close(): Promise<void>;
}

/** Starts a {@link Target} answering 200 after `delay` ms. */
export async function startTarget(delay: number): Promise<Target> {
  const deliveries = new Map<string, Delivery[]>();
  let total = 0;
  const server = createServer((req, res) => {
    total++;
    const key = String(req.headers['idempotency-key']);
    const delivery = { by: String(req.headers['x-again-instance']), at: Date.now() };
    const seen = deliveries.get(key);
    if (seen === undefined) deliveries.set(key, [delivery]);
    else seen.push(delivery);
    req.resume();
    setTimeout(() => {
      if (!res.destroyed) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    }, delay);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    total: () => total,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
