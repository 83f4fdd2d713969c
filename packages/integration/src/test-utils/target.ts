/**
 * The job target of the integration tests: a server on 127.0.0.1 (from `@again/test-utils`) that
 * records who delivered each occurrence, from the headers every scheduler request carries.
 *
 * @module
 */
import {
  delayed,
  type HoldingServer,
  okHandler,
  type RecordedRequest,
  startHoldingServer,
} from '@again/test-utils';

/** One delivery of an occurrence. */
export interface Delivery {
  /** The `x-again-instance` header: which instance sent it (the workers set it). */
  readonly by: string;
  /** When it arrived (`Date.now()`). */
  readonly at: number;
}

/** A job target that counts requests by their `Idempotency-Key` header (the occurrence id). */
export interface Target extends HoldingServer {
  /** Idempotency key → its deliveries, in arrival order. */
  readonly deliveries: Map<string, Delivery[]>;
  /** Idempotency key → how many requests carried it. */
  readonly keys: Map<string, number>;
  /** Requests received. */
  total(): number;
}

/**
 * Starts a {@link Target} answering 200, after `delay` ms (the time a run is in flight) when
 * given. It holds nothing until `hold(true)`; keep-alive connections last a minute (instances
 * under load reuse them).
 *
 * @param options - `delay`: ms before each answer (default 0)
 * @returns the running target
 */
export async function startTarget(options: { readonly delay?: number } = {}): Promise<Target> {
  const { delay = 0 } = options;
  const server = await startHoldingServer({
    holding: false,
    answer: delay > 0 ? delayed(delay) : okHandler,
    keepAliveTimeout: 60_000,
  });
  // Derived from the recorded requests, again only when more have come in.
  let seen = -1;
  let deliveries = new Map<string, Delivery[]>();
  const current = (): Map<string, Delivery[]> => {
    if (seen !== server.requests.length) {
      seen = server.requests.length;
      deliveries = byKey(server.requests);
    }
    return deliveries;
  };
  const record = {
    get deliveries(): Map<string, Delivery[]> {
      return current();
    },
    get keys(): Map<string, number> {
      return new Map([...current()].map(([key, list]) => [key, list.length]));
    },
    total: (): number => server.requests.length,
  };
  return Object.defineProperties(server, Object.getOwnPropertyDescriptors(record)) as Target;
}

function byKey(requests: readonly RecordedRequest[]): Map<string, Delivery[]> {
  const deliveries = new Map<string, Delivery[]>();
  for (const request of requests) {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string') continue;
    const delivery = { by: String(request.headers['x-again-instance']), at: request.receivedAt };
    const seen = deliveries.get(key);
    if (seen === undefined) deliveries.set(key, [delivery]);
    else seen.push(delivery);
  }
  return deliveries;
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
  deliveries: ReadonlyMap<string, readonly Delivery[]>,
  live: ReadonlySet<string>,
): Array<[string, string[]]> {
  const doubles: Array<[string, string[]]> = [];
  for (const [key, list] of deliveries) {
    const by = list.map((delivery) => delivery.by);
    if (by.filter((instance) => live.has(instance)).length > 1) doubles.push([key, by]);
  }
  return doubles;
}
