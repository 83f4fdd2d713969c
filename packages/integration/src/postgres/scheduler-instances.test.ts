// Three @again/scheduler processes on one PostgreSQL schema run 10,000 one-off jobs against a
// 127.0.0.1 target; one process is SIGKILLed mid-run. No occurrence may be delivered twice by the
// processes that stayed alive, none may be lost, and the runs the dead process held must be taken
// over (and re-sent, with the same idempotency key) within one lease plus one poll interval.
import { createPostgresStorage } from '@again/storage-postgres';
import { PG_URL, pgTestContext } from '@again/test-utils/postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { startTarget, type Target } from '../test-utils/target.js';
import { startWorker, type Worker } from './test-utils/workers.js';

const pg = await pgTestContext('instances');
const workers: Worker[] = [];
let target: Target | undefined;

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.kill();
  await target?.close();
});

const OCCURRENCES = 10_000;
const LEASE = 2_000;
const POLL = 250;
/** Room for the takeover's claim, the request's trip and a busy CI machine. */
const SLACK = 2_000;

async function until(condition: () => Promise<boolean> | boolean, timeout: number, what: string) {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.skipIf(pg.skipReason !== null)(
  'three scheduler instances on one PostgreSQL schema',
  () => {
    it('deliver 10,000 occurrences once each; a SIGKILLed instance is taken over within lease + poll', async () => {
      const schema = pg.schema();
      // Migrate once up front (the instances would also manage, under the advisory lock).
      await (await createPostgresStorage({ connectionString: PG_URL, schema })).close();
      const server = await startTarget({ delay: 20 });
      target = server;
      const ids = ['a', 'b', 'killed'];
      const share = Math.ceil(OCCURRENCES / ids.length);
      const at = Date.now() + 5_000;
      for (const [index, instanceId] of ids.entries()) {
        workers.push(
          startWorker({
            url: PG_URL,
            schema,
            instanceId,
            leaseDuration: LEASE,
            pollInterval: POLL,
            concurrency: 50,
            target: server.url,
            jobs: { from: index * share, to: Math.min((index + 1) * share, OCCURRENCES), at },
          }),
        );
      }
      await Promise.all(workers.map((worker) => worker.scheduled));
      const { rows: created } = await pg.admin.query(
        `select count(*)::int as n from "${schema}".again_jobs`,
      );
      expect(created[0]?.n).toBe(OCCURRENCES);

      // Kill one instance mid-run, while it holds runs in flight.
      await until(() => server.total() >= 3_000, 60_000, '3,000 deliveries');
      const killed = workers[2] as Worker;
      await killed.kill();
      const killedAt = Date.now();
      const { rows: held } = await pg.admin.query<{ occurrence_id: string }>(
        `select occurrence_id from "${schema}".again_runs where owner = 'killed' and status = 'running'`,
      );
      expect(held.length).toBeGreaterThan(0);

      const errors = await Promise.all([workers[0]?.done, workers[1]?.done]);
      expect(errors).toEqual([[], []]);

      // None lost: every job completed, every occurrence in the ledger once, finished, and
      // delivered at least once.
      const { rows: jobs } = await pg.admin.query(
        `select state, count(*)::int as n from "${schema}".again_jobs group by state`,
      );
      expect(jobs).toEqual([{ state: 'completed', n: OCCURRENCES }]);
      const { rows: ledger } = await pg.admin.query<{ status: string; n: number }>(
        `select status, count(*)::int as n from "${schema}".again_runs group by status`,
      );
      expect(ledger).toEqual([{ status: 'succeeded', n: OCCURRENCES }]);
      expect(server.deliveries.size).toBe(OCCURRENCES);

      // Never twice by the live instances: a second delivery only re-sends what the dead one held.
      const live = new Set(['a', 'b']);
      const doubles = [...server.deliveries].filter(
        ([, deliveries]) => deliveries.filter((d) => live.has(d.by)).length > 1,
      );
      expect(doubles).toEqual([]);
      const heldIds = new Set(held.map((row) => row.occurrence_id));
      const resentByLive = [...server.deliveries].filter(
        ([key, deliveries]) => deliveries.length > 1 && !heldIds.has(key),
      );
      expect(resentByLive).toEqual([]);

      // Taken over in time: each run the dead instance held reached the target from a live
      // instance within one lease plus one poll interval of the kill (plus the slack).
      const delays = [...heldIds].map((key) => {
        const byLive = server.deliveries.get(key)?.find((d) => live.has(d.by));
        if (byLive === undefined) throw new Error(`${key} was never delivered by a live instance`);
        return byLive.at - killedAt;
      });
      const slowest = Math.max(...delays);
      console.info(
        `[postgres instances] ${held.length} runs held by the killed instance; ` +
          `slowest re-delivery ${slowest} ms after the kill (lease ${LEASE} + poll ${POLL})`,
      );
      expect(slowest).toBeLessThanOrEqual(LEASE + POLL + SLACK);
    }, 180_000);
  },
);
