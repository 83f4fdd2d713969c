// A child process for the overload and kill tests: a real @again/scheduler (built) on a SQLite file
// or on its own memory store, on the real clock, sending to the parent's 127.0.0.1 target.
//
//   node load-worker.mjs '<json options>'
//
// Options: { file?, jobs?, instanceId, leaseDuration, pollInterval, concurrency, claimBatchSize?,
//   historyLimit?,
//   writeDelay?: [min, max] ms before every store write, runFor?: ms (else until no job is
//   active), stopTimeout, target }
//
// Every request carries `x-again-instance: <instanceId>` (so the target can tell who delivered
// what). The worker watches its store calls to measure, per held run, the longest time between
// its claim or a renewal and the next renewal or its completion (the renewal gap), and the
// event loop's longest delay. It sends { ready }, then { done, stats } and exits 0 after a
// graceful stop (unless SIGKILLed first).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createScheduler } from '@again/scheduler';
import { createMemoryStorage } from '@again/storage-memory';
import { createSqliteStorage } from '@again/storage-sqlite';

const options = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const errors = [];
const logger = {
  debug() {},
  info() {},
  warn() {},
  error(context, message) {
    errors.push(`${message}: ${context?.error?.cause?.message ?? context?.error?.message ?? ''}`);
  },
};

const WRITES = new Set([
  'createJob',
  'endJob',
  'claimDue',
  'renewLeases',
  'completeRuns',
  'claimExpiredRuns',
  'pruneHistory',
  'pruneJobs',
]);

/** Per held run: when it was last granted or renewed; the longest gap seen. */
const heldSince = new Map();
let longestGap = 0;
const slowest = {};
function touch(occurrenceId, now) {
  const last = heldSince.get(occurrenceId);
  if (last !== undefined) longestGap = Math.max(longestGap, now - last);
  heldSince.set(occurrenceId, now);
}

const inner =
  options.file === undefined
    ? createMemoryStorage()
    : await createSqliteStorage({ database: options.file, synchronous: 'normal' });
const [minDelay, maxDelay] = options.writeDelay ?? [0, 0];
const storage = new Proxy(inner, {
  get(target, property) {
    const value = Reflect.get(target, property);
    if (typeof value !== 'function') return value;
    return async (...args) => {
      if (WRITES.has(property) && maxDelay > 0) {
        await sleep(minDelay + Math.random() * (maxDelay - minDelay));
      }
      const began = performance.now();
      const result = await value.apply(target, args);
      const took = performance.now() - began;
      if (took > (slowest[property] ?? 0)) slowest[property] = Math.round(took);
      const now = Date.now();
      if (property === 'claimDue') {
        for (const run of result.runs) heldSince.set(run.occurrenceId, now);
      } else if (property === 'renewLeases') {
        const lost = new Set(result.lost.map((entry) => entry.occurrenceId));
        for (const lease of args[0].leases) {
          if (!lost.has(lease.occurrenceId)) touch(lease.occurrenceId, now);
        }
      } else if (property === 'claimExpiredRuns') {
        for (const { run } of result) heldSince.set(run.occurrenceId, now);
      } else if (property === 'completeRuns') {
        for (const completion of args[0]) {
          touch(completion.occurrenceId, now);
          heldSince.delete(completion.occurrenceId);
        }
      }
      return result;
    };
  },
});

let sent = 0;
const fetch = (input, init) => {
  sent++;
  const request = new Request(input, init);
  request.headers.set('x-again-instance', options.instanceId);
  return globalThis.fetch(request);
};

const scheduler = await createScheduler({
  storage,
  unsafeAllowAnyUrl: true,
  fetch,
  instanceId: options.instanceId,
  leaseDuration: options.leaseDuration,
  pollInterval: options.pollInterval,
  concurrency: options.concurrency,
  ...(options.claimBatchSize === undefined ? {} : { claimBatchSize: options.claimBatchSize }),
  ...(options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit }),
  stopTimeout: options.stopTimeout,
  logger,
});
for (const job of options.jobs ?? []) {
  await scheduler.schedule({
    ...job,
    request: { ...job.request, url: options.target + job.request.url },
  });
}
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
process.send({ ready: true });

if (options.runFor !== undefined) await sleep(options.runFor);
else while ((await scheduler.jobCount()) > 0) await sleep(50);
const stopping = Date.now();
await scheduler.stop();
const stopMs = Date.now() - stopping;
loop.disable();
await inner.close();
process.send(
  {
    done: true,
    stats: {
      sent,
      stopMs,
      longestRenewalGap: longestGap,
      longestLoopDelay: Math.round(loop.max / 1e6),
      errors: errors.slice(0, 20),
      slowest,
    },
  },
  () => process.exit(0),
);
