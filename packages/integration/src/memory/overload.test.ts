// One scheduler process offered several times the occurrences it can run (memory store, real
// clock, a 127.0.0.1 target that holds each request 400 ms): it must keep every promise.
import { afterEach, describe, expect, it } from 'vitest';
import { type LoadWorker, startLoadWorker } from '../test-utils/load.js';
import { doubleDeliveries, startTarget, type Target } from '../test-utils/target.js';

const workers: LoadWorker[] = [];
let target: Target | undefined;

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.kill();
  await target?.close();
});

const LEASE = 2_000;
const STOP_TIMEOUT = 300;

describe('one scheduler process, overloaded', () => {
  it('no double delivery, renewals in time, stop bounded, the event loop never blocked long', async () => {
    const server = await startTarget({ delay: 400 });
    target = server;
    // 120 jobs every 100 ms: 1,200 occurrences/s offered; 20 slots / 0.4 s = 50/s of capacity.
    const worker = startLoadWorker({
      instanceId: 'solo',
      target: server.url,
      jobs: Array.from({ length: 120 }, (_, i) => ({
        id: `job-${i}`,
        schedule: { every: 100 },
        request: { url: `/${i}`, timeout: 0 },
        retryPolicy: { maxRetries: 0 },
      })),
      leaseDuration: LEASE,
      pollInterval: 0,
      concurrency: 20,
      stopTimeout: STOP_TIMEOUT,
      runFor: 4_000,
    });
    workers.push(worker);
    const stats = await worker.done;
    expect(stats.errors).toEqual([]);
    expect(stats.sent).toBeGreaterThan(0);
    expect(doubleDeliveries(server.deliveries, new Set(['solo']))).toEqual([]);
    expect(stats.longestRenewalGap).toBeLessThan(LEASE / 2);
    expect(stats.stopMs).toBeLessThanOrEqual(STOP_TIMEOUT + 150);
    // Well below half a lease: nothing kept the loop from renewing on time.
    expect(stats.longestLoopDelay).toBeLessThan(LEASE / 4);
  }, 30_000);
});
