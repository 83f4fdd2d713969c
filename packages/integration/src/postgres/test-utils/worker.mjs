// A child process for scheduler-instances.test.ts: a real @again/scheduler (built) on
// @again/storage-postgres (built), on the real clock and the database's clock, sending to the
// parent's 127.0.0.1 target.
//
//   node worker.mjs '<json options>'
//
// Options: { url, schema, instanceId, leaseDuration, pollInterval, concurrency, target,
//   jobs: { from, to, at } }: it schedules the one-off jobs `job-<from>` … `job-<to - 1>`, due at
//   `at`, each a POST to `<target>/<n>` without retries. Every request carries
//   `x-again-instance: <instanceId>`. It sends { ready } once its scheduler runs, { scheduled }
//   once its jobs are stored, then { done, errors } and exits 0 when no job is active any more
//   (unless SIGKILLed before).
import { createScheduler } from '@again/scheduler';
import { createPostgresStorage } from '@again/storage-postgres';

const options = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const errors = [];
const logger = {
  debug() {},
  info() {},
  warn() {},
  error(context, message) {
    if (errors.length < 20) {
      errors.push(`${message}: ${context?.error?.cause?.message ?? context?.error?.message ?? ''}`);
    }
  },
};
const fetch = (input, init) => {
  const request = new Request(input, init);
  request.headers.set('x-again-instance', options.instanceId);
  return globalThis.fetch(request);
};

const storage = await createPostgresStorage({
  connectionString: options.url,
  schema: options.schema,
  maxConnections: 8,
});
const scheduler = await createScheduler({
  storage,
  unsafeAllowAnyUrl: true,
  fetch,
  instanceId: options.instanceId,
  leaseDuration: options.leaseDuration,
  pollInterval: options.pollInterval,
  concurrency: options.concurrency,
  stopTimeout: 5_000,
  logger,
});
process.send({ ready: true });

const { from, to, at } = options.jobs;
for (let start = from; start < to; start += 100) {
  const batch = [];
  for (let n = start; n < Math.min(start + 100, to); n++) {
    batch.push(
      scheduler.schedule({
        id: `job-${String(n).padStart(5, '0')}`,
        schedule: { at },
        request: { method: 'POST', url: `${options.target}/${n}`, timeout: 0 },
        retryPolicy: { maxRetries: 0 },
      }),
    );
  }
  await Promise.all(batch);
}
process.send({ scheduled: true });

while ((await scheduler.jobCount()) > 0) await sleep(100);
await scheduler.stop();
await storage.close();
process.send({ done: true, errors }, () => process.exit(0));
