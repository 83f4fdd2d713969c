// A scheduler on a SQLite file (go-again's scheduler_sqlite example): one interval job against a
// 127.0.0.1 target, its status and history once it has run, then history pruning.
// Run: pnpm --filter @again/example-scheduler-sqlite start
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScheduler } from '@again/scheduler';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createEgress } from '@again/url-guard';

// The target: answers every request, and shows the idempotency key each run carries.
const target = http.createServer((req, res) => {
  console.log(`target: ${req.method} ${req.url} idempotency-key=${req.headers['idempotency-key']}`);
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});
await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/ping`;

const dir = mkdtempSync(join(tmpdir(), 'again-example-sqlite-'));
const file = join(dir, 'jobs.db');
const storage = await createSqliteStorage({
  database: file,
  historyMaxAge: 24 * 3_600_000, // keep one day of history (applied on every write)
});
console.log(`storage: ${file}`);

// The URL policy allows plain http to 127.0.0.1 only, for this local demo.
const egress = createEgress({
  allowedSchemes: ['http'],
  allowIpLiterals: true,
  allowedAddresses: ['127.0.0.1'],
});
// Retention: the scheduler's maintenance pass deletes history older than a week and finished jobs
// not touched for a day (the store also applies `historyMaxAge` on every write).
const scheduler = await createScheduler({
  storage,
  egress,
  logger: console,
  historyMaxAge: 7 * 24 * 3_600_000,
  finishedJobRetention: 24 * 3_600_000,
});

const id = await scheduler.schedule({
  id: 'ping',
  schedule: { every: 200, maxRuns: 3 },
  request: { url },
});

// Wait for the job to finish its three runs (bounded, so the example always ends).
const deadline = Date.now() + 15_000;
let status = await scheduler.jobStatus(id);
while (status?.state !== 'completed') {
  if (Date.now() > deadline) throw new Error(`job ${id} did not complete: ${status?.state}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  status = await scheduler.jobStatus(id);
}

console.log('\nstatus:', {
  state: status.state,
  runs: status.runs,
  activeRuns: status.activeRuns,
  lastRun: status.lastRun && {
    success: status.lastRun.success,
    status_code: status.lastRun.status_code,
    attempts: status.lastRun.attempts,
  },
});
const print = (entries: Awaited<ReturnType<typeof scheduler.jobHistory>>) =>
  console.table(
    entries?.map((run) => ({
      sequence: run.sequence,
      status: run.status,
      scheduledAt: run.scheduledAt.toISOString(),
      occurrenceId: run.occurrenceId,
    })),
  );
console.log('\nhistory:');
print(await scheduler.jobHistory(id));

// Nothing is older than a day, so that retention deletes nothing...
const old = await storage.pruneHistory({ maxAge: 24 * 3_600_000, now: Date.now() });
console.log(`\npruneHistory({ maxAge: one day }): ${old} entries deleted`);
// ...one by count keeps only the newest entry of each job.
const pruned = await storage.pruneHistory({ maxRowsPerJob: 1, now: Date.now() });
console.log(`pruneHistory({ maxRowsPerJob: 1 }): ${pruned} entries deleted`);
print(await scheduler.jobHistory(id));

await scheduler.stop();
await storage.close();
await new Promise<void>((resolve) => target.close(() => resolve()));
rmSync(dir, { recursive: true, force: true });
