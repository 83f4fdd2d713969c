/**
 * A test server that can hold requests open: runs that stay in flight until the test lets them
 * finish (to stop, kill or take over an instance in the middle of its work).
 *
 * @module
 */
import { gate } from './gate.js';
import {
  okHandler,
  type ServerOptions,
  startHttpServer,
  type TestHandler,
  type TestServer,
} from './servers.js';

/** A {@link TestServer} that holds requests while told to. */
export interface HoldingServer extends TestServer {
  /** Whether new requests are held (`true`) or answered at once (`false`). */
  hold(on: boolean): void;
  /** Answers every request held so far; holding goes on for new ones if it is on. */
  release(): void;
  /** Stops holding and answers every held request: `hold(false)`, then `release()`. */
  open(): void;
  /** Stops holding, lets what it held answer, then closes (see {@link TestServer.close}). */
  close(): Promise<void>;
}

/** Options of {@link startHoldingServer}. */
export interface HoldingServerOptions extends ServerOptions {
  /** Whether it holds from the start (default `true`). */
  readonly holding?: boolean;
  /** Only the first `limit` requests it receives may be held; later ones answer at once. */
  readonly limit?: number;
  /** How a request is answered once released, or when it is not held (default 200 `ok`). */
  readonly answer?: TestHandler;
}

/**
 * Starts an HTTP server on 127.0.0.1 whose requests wait, without an answer, while it holds; a
 * held request whose client went away is never answered.
 *
 * @param options - whether it holds from the start, how many requests it may hold, the answer,
 *   and where it listens
 * @returns the running server
 * @example
 * ```ts
 * const target = await startHoldingServer({ limit: 1 }); // holds the first request only
 * // … the run is in flight: stop or kill its scheduler …
 * target.open();
 * await target.close();
 * ```
 */
export async function startHoldingServer(
  options: HoldingServerOptions = {},
): Promise<HoldingServer> {
  const {
    holding: initially = true,
    limit = Number.POSITIVE_INFINITY,
    answer = okHandler,
  } = options;
  let holding = initially;
  let released = gate();
  let seen = 0;
  const server = await startHttpServer(async (req, res, recorded) => {
    seen++;
    if (holding && seen <= limit) await released.promise;
    if (!res.destroyed) await answer(req, res, recorded);
  }, options);
  const release = (): void => {
    released.open();
    released = gate();
  };
  const open = (): void => {
    holding = false;
    release();
  };
  return {
    url: server.url,
    host: server.host,
    port: server.port,
    get connections() {
      return server.connections;
    },
    requests: server.requests,
    ca: server.ca,
    waitForRequests: (count, timeoutMs) => server.waitForRequests(count, timeoutMs),
    hold: (on) => {
      holding = on;
    },
    release,
    open,
    close: async () => {
      open();
      // Let the held requests' answers be written before the connections go.
      await new Promise((resolve) => setImmediate(resolve));
      await server.close();
    },
  };
}
