// A child process for signals.test.ts: a scheduler on a SQLite file that stops on SIGTERM/SIGINT
// with `stopOnSignals()`, one job against the parent's 127.0.0.1 target.
//
//   node signal-worker.mjs <file> <target url>
import { createScheduler } from '@again/scheduler';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createEgress } from '@again/url-guard';

const [file, url] = process.argv.slice(2);
const storage = await createSqliteStorage(file);
const scheduler = await createScheduler({
  storage,
  egress: createEgress({
    allowedSchemes: ['http'],
    allowIpLiterals: true,
    allowedAddresses: ['127.0.0.1'],
  }),
  instanceId: 'signaled',
  leaseDuration: 60_000,
  logger: false,
});
scheduler.stopOnSignals({ timeout: 400 });
await scheduler.schedule({
  id: 'long',
  schedule: { at: Date.now() },
  request: { url, timeout: 0 },
  retryPolicy: { maxRetries: 0 },
});
process.send({ ready: true });
