// Two scheduler instances on one PostgreSQL schema. Each instance is a scheduler on its own store
// (its own pool): in production they would run in separate processes or on separate machines.
// Instance A schedules four interval jobs; both instances run them, each occurrence exactly once,
// and the ledger shows which instance ran which occurrence.
//
// Run: pnpm --filter @again/example-scheduler-postgres start
// The server is AGAIN_PG_URL (default postgres://postgres@127.0.0.1:5432/test). The example
// creates the schema `again_example` and drops it at the end.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createScheduler } from '@again/scheduler';
import { createPostgresStorage } from '@again/storage-postgres';
import { createEgress } from '@again/url-guard';
import pg from 'pg';

const connectionString = process.env.AGAIN_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = 'again_example';

// The target: answers every request after 50 ms (so runs overlap and both instances get work).
const target = http.createServer((_req, res) => {
  setTimeout(
    () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    50,
  );
});
await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;

// A clean schema for this run (the stores create it and its tables: migrations under an advisory
// lock, so the two can start at once).
const admin = new pg.Pool({ connectionString, max: 1 });
await admin.query(`drop schema if exists ${schema} cascade`);
const [storageA, storageB] = await Promise.all([
  createPostgresStorage({ connectionString, schema, maxConnections: 4 }),
  createPostgresStorage({ connectionString, schema, maxConnections: 4 }),
]);
console.log(`schema ${schema} ready; capabilities:`, storageA.capabilities);

// The URL policy allows plain http to 127.0.0.1 only, for this local demo.
const egress = createEgress({
  allowedSchemes: ['http'],
  allowIpLiterals: true,
  allowedAddresses: ['127.0.0.1'],
});
const quiet = { debug() {}, info() {}, warn() {}, error: console.error };
const a = await createScheduler({
  storage: storageA,
  egress,
  instanceId: 'instance-a',
  logger: quiet,
});
const b = await createScheduler({
  storage: storageB,
  egress,
  instanceId: 'instance-b',
  logger: quiet,
});

// Jobs created on A wake B at once (NOTIFY): both claim them, with SKIP LOCKED.
const ids = ['report', 'sync', 'cleanup', 'ping'];
for (const id of ids) {
  await a.schedule({ id, schedule: { every: 150, maxRuns: 6 }, request: { url: `${url}/${id}` } });
}

// Wait for every job to finish its runs (bounded, so the example always ends).
const deadline = Date.now() + 20_000;
while ((await a.jobCount()) > 0) {
  if (Date.now() > deadline) throw new Error('the jobs did not complete in time');
  await new Promise((resolve) => setTimeout(resolve, 50));
}

// The ledger (read through either store: they share it) names the instance behind each run.
const rows = [];
const perInstance = new Map<string, number>();
for (const id of ids) {
  for (const run of (await storageB.history(id)) ?? []) {
    rows.push({ occurrence: run.occurrenceId, 'ran on': run.owner, status: run.status });
    perInstance.set(run.owner ?? '-', (perInstance.get(run.owner ?? '-') ?? 0) + 1);
  }
}
console.table(rows);
console.log('runs per instance:', Object.fromEntries(perInstance));
const occurrences = new Set(rows.map((row) => row.occurrence));
console.log(`${rows.length} runs, ${occurrences.size} distinct occurrences: none ran twice`);

await Promise.all([a.stop(), b.stop()]);
await Promise.all([storageA.close(), storageB.close()]);
await admin.query(`drop schema if exists ${schema} cascade`);
await admin.end();
await new Promise<void>((resolve) => target.close(() => resolve()));
