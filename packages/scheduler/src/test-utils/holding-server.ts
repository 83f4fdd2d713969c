/**
 * A test server whose first requests wait for a gate: runs that stay in flight until the test
 * lets them finish.
 *
 * @module
 */
import { type Gate, gate, type Tracked } from './harness.js';
import type { TestServer } from './servers.js';

/** A holding server and its gate. */
export interface HoldingServer {
  readonly server: TestServer;
  /** Open it to let every held request (and every later one) answer. */
  readonly hold: Gate;
}

/**
 * Starts a server (closed by the tracker) whose first `held` requests wait for the gate; later ones
 * answer 200 at once. The tracker opens the gate before it closes the server.
 *
 * @param t - the test file's tracker
 * @param held - how many requests to hold (default: all until the gate opens)
 */
export async function holdingServer(
  t: Tracked,
  held: number = Number.POSITIVE_INFINITY,
): Promise<HoldingServer> {
  const hold = gate();
  let seen = 0;
  const server = await t.server(async (_req, res) => {
    seen++;
    if (seen <= held) await hold.promise;
    res.end('ok');
  });
  t.cleanups.push(async () => hold.open());
  return { server, hold };
}
