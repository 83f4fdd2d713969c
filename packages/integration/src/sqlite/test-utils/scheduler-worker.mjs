// A child process for scheduler-processes.test.ts: a real @again/scheduler on the SQLite file
// (@again/storage-sqlite, built), on the real clock, sending to the parent's 127.0.0.1 target.
//
//   node scheduler-worker.mjs <file> <instanceId> <leaseDuration>
//
// It sends { ready } once its scheduler runs, then { done } and exits when no job is active any
// more (or is SIGKILLed by the test before that).
import { createScheduler } from '@again/scheduler';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createEgress } from '@again/url-guard';

const [file, instanceId, leaseDuration] = process.argv.slice(2);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const storage = await createSqliteStorage(file);
const scheduler = await createScheduler({
  storage,
  egress: createEgress({
    allowedSchemes: ['http'],
    allowIpLiterals: true,
    allowedAddresses: ['127.0.0.1'],
  }),
  instanceId,
  leaseDuration: Number(leaseDuration),
  pollInterval: 50,
  logger: quiet,
});
process.send({ ready: true });

while ((await scheduler.jobCount()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
await scheduler.stop();
await storage.close();
process.send({ done: true }, () => process.exit(0));
