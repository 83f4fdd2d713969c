import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Who delivered an occurrence: the `x-again-instance` header of each request that carried it. */
export type Deliveries = Map<string, string[]>;

/** A job target on 127.0.0.1 that answers after a delay and records every delivery. */
export interface LoadTarget {
  /** Base URL, e.g. `http://127.0.0.1:43123`. */
  readonly url: string;
  /** Idempotency key → the instances that delivered it, in arrival order. */
  readonly deliveries: Deliveries;
  /** Requests received. */
  readonly total: () => number;
  /** Stops the server, destroying open connections. */
  close(): Promise<void>;
}

/**
 * Starts a {@link LoadTarget} answering 200 after `delay` ms (the time a run is in flight).
 *
 * @param delay - ms before each answer
 */
export async function startLoadTarget(delay: number): Promise<LoadTarget> {
  const deliveries: Deliveries = new Map();
  let total = 0;
  const server = createServer((req, res) => {
    total++;
    const key = String(req.headers['idempotency-key']);
    const by = String(req.headers['x-again-instance']);
    const seen = deliveries.get(key);
    if (seen === undefined) deliveries.set(key, [by]);
    else seen.push(by);
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

/**
 * The occurrences a set of instances delivered more than once, with who delivered them.
 *
 * @param deliveries - the target's record
 * @param live - the instances that were alive throughout (a killed one's runs are re-sent by the
 *   instance that takes them over: that is not a double delivery by live instances)
 * @returns `[key, instances]` for every key delivered twice by live instances
 */
export function doubleDeliveries(
  deliveries: Deliveries,
  live: ReadonlySet<string>,
): Array<[string, string[]]> {
  const doubles: Array<[string, string[]]> = [];
  for (const [key, by] of deliveries) {
    const byLive = by.filter((instance) => live.has(instance));
    if (byLive.length > 1) doubles.push([key, by]);
  }
  return doubles;
}
