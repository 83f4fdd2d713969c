// @again/scheduler benchmarks.
//
// 1. 100,000 interval jobs in a memory store: time to schedule them, heap per job, and fire lag
//    (how late each occurrence starts after its scheduled time, p50/p99) over one full cycle.
//    The HTTP part is a fetch stub that answers at once (unsafeAllowAnyUrl + custom fetch), so
//    this measures the engine, not the network.
// 2. Executions per second against a local 127.0.0.1 server: the scheduler (guarded egress
//    fetch, memory store, one-off jobs, concurrency 50) next to a bare undici `request` loop with
//    the same concurrency.
//
// Run: pnpm bench scheduler   (or: node --expose-gc benchmarks/src/scheduler.bench.mjs)
import { createServer } from 'node:http';
import { createScheduler } from '@again/scheduler';
import { createMemoryStorage } from '@again/storage-memory';
import { createEgress } from '@again/url-guard';
import { Agent, request } from 'undici';

const gc = globalThis.gc ?? (() => {});
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function heapUsed() {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(10);
  }
  return process.memoryUsage().heapUsed;
}

// ---- 1. 100,000 interval jobs --------------------------------------------------------------

async function manyJobs() {
  const JOBS = 100_000;
  const EVERY = 120_000; // each job fires every 2 minutes: 833 occurrences per second overall
  const OBSERVE = 10_000; // watch the first 10 s of the cycle (~16,700 occurrences)
  const DAY = 86_400_000;
  const lags = [];
  let fired = 0;
  let clock = null;
  const stubFetch = async (input) => {
    const scheduledAt = Date.parse(input.headers.get('x-again-scheduled-at'));
    lags.push(clock.now() - scheduledAt);
    fired++;
    return new Response('ok');
  };
  const options = {
    unsafeAllowAnyUrl: true,
    fetch: stubFetch,
    logger: silent,
    pollInterval: 0,
    historyLimit: 1,
  };

  // Phase A: schedule 100k jobs whose first occurrences are a day ahead, spread over `EVERY`.
  const before = await heapUsed();
  const storage = createMemoryStorage();
  const writer = await createScheduler({ storage, ...options });
  const firstAt = Date.now() + DAY;
  const t0 = performance.now();
  for (let i = 0; i < JOBS; i++) {
    await writer.schedule({
      schedule: { every: EVERY, startAt: firstAt + Math.floor((i * EVERY) / JOBS) },
      request: { url: `http://127.0.0.1:9/job/${i}` },
      retryPolicy: { maxRetries: 0 },
    });
  }
  const scheduleMs = performance.now() - t0;
  const after = await heapUsed();
  await writer.stop();

  // Phase B: a second scheduler on the same store with its clock moved a day ahead (real timers),
  // so the first occurrences come due 2 s after it starts. Watches the first OBSERVE ms.
  clock = shiftedClock(firstAt, 2_000);
  const runner = await createScheduler({ storage, clock, ...options });
  await sleep(2_000 + OBSERVE);
  await runner.stop({ timeout: 5_000 });
  const sorted = lags.sort((a, b) => a - b);
  return {
    jobs: JOBS,
    expected: Math.round((JOBS * OBSERVE) / EVERY),
    scheduleMs,
    perJobUs: (scheduleMs * 1000) / JOBS,
    heapPerJob: (after - before) / JOBS,
    fired,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
  };
}

// ---- 2. engine throughput: one-off jobs all due at once, fetch stub -------------------------

/** A real-timer clock shifted so that `at` comes `lead` ms after now. */
function shiftedClock(at, lead) {
  const shift = at - Date.now() - lead;
  return {
    now: () => Date.now() + shift,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle),
  };
}

async function engineThroughput() {
  const JOBS = 20_000;
  const rates = [];
  for (let round = 0; round < 3; round++) {
    const storage = createMemoryStorage();
    const options = {
      storage,
      unsafeAllowAnyUrl: true,
      fetch: async () => new Response('ok'),
      logger: silent,
      pollInterval: 0,
      historyLimit: 1,
    };
    const writer = await createScheduler(options);
    const at = Date.now() + 86_400_000;
    for (let i = 0; i < JOBS; i++) {
      await writer.schedule({
        schedule: { at },
        request: { url: 'http://127.0.0.1:9/' },
        retryPolicy: { maxRetries: 0 },
      });
    }
    await writer.stop();
    const clock = shiftedClock(at, 500);
    const runner = await createScheduler({ ...options, clock });
    await sleep(500);
    while ((await runner.jobCount()) > 0) await sleep(1);
    rates.push(JOBS / ((clock.now() - at) / 1000));
    await runner.stop();
  }
  return { jobs: JOBS, rate: median(rates) };
}

// ---- 3. executions per second vs bare undici -------------------------------------------------

function startTarget() {
  let count = 0;
  const server = createServer((_req, res) => {
    count++;
    res.end('ok');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        port: server.address().port,
        count: () => count,
        close: () => new Promise((r) => server.close(r)),
      }),
    );
  });
}

async function bareUndici(url, total, concurrency) {
  const dispatcher = new Agent({ connections: concurrency });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const { body } = await request(url, { dispatcher });
        await body.text();
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await dispatcher.close();
  return total / seconds;
}

async function viaScheduler(target, total, concurrency) {
  const egress = createEgress({
    allowedSchemes: ['http'],
    allowIpLiterals: true,
    allowedAddresses: ['127.0.0.1'],
    allowedPorts: [target.port],
  });
  const scheduler = await createScheduler({
    storage: createMemoryStorage(),
    egress,
    logger: silent,
    pollInterval: 0,
    concurrency,
    historyLimit: 1,
  });
  const start = target.count();
  const at = Date.now() + 3_000;
  for (let i = 0; i < total; i++) {
    await scheduler.schedule({
      schedule: { at },
      request: { url: target.url },
      retryPolicy: { maxRetries: 0 },
    });
  }
  await sleep(Math.max(0, at - Date.now()));
  while ((await scheduler.jobCount()) > 0) await sleep(1);
  const seconds = (Date.now() - at) / 1000;
  if (target.count() - start !== total) throw new Error('not every job ran exactly once');
  await scheduler.stop();
  await egress.close();
  return total / seconds;
}

async function throughput() {
  const target = await startTarget();
  const TOTAL = 2_000;
  const CONCURRENCY = 50;
  const bare = [];
  const scheduled = [];
  for (let i = 0; i < 3; i++) {
    bare.push(await bareUndici(target.url, TOTAL, CONCURRENCY));
    scheduled.push(await viaScheduler(target, TOTAL, CONCURRENCY));
  }
  await target.close();
  return {
    total: TOTAL,
    concurrency: CONCURRENCY,
    bare: median(bare),
    scheduled: median(scheduled),
  };
}

const many = await manyJobs();
console.log(
  `\n100,000 interval jobs (memory store, fetch stub, every 2 min; first ${fmt(many.expected)} occurrences due in 10 s)`,
);
console.table({
  'schedule 100k jobs': { value: `${fmt(many.scheduleMs)} ms (${fmt(many.perJobUs, 1)} µs/job)` },
  'heap per job': { value: `${fmt(many.heapPerJob)} bytes` },
  'occurrences fired': { value: `${fmt(many.fired)} of ${fmt(many.expected)}` },
  'fire lag p50': { value: `${fmt(many.p50)} ms` },
  'fire lag p99': { value: `${fmt(many.p99)} ms` },
  'fire lag max': { value: `${fmt(many.max)} ms` },
});

const engine = await engineThroughput();
console.log(
  `\nEngine throughput (${fmt(engine.jobs)} one-off jobs due at once, fetch stub, median of 3)`,
);
console.table({ 'claim + run + record': { 'runs/s': fmt(engine.rate) } });

const tp = await throughput();
console.log(
  `\nExecutions per second against 127.0.0.1 (${fmt(tp.total)} requests, concurrency ${tp.concurrency}, median of 3)`,
);
console.table({
  'bare undici request loop': { 'req/s': fmt(tp.bare) },
  '@again/scheduler (egress fetch, memory store)': { 'req/s': fmt(tp.scheduled) },
  'scheduler / bare': { 'req/s': `${fmt((tp.scheduled / tp.bare) * 100, 1)} %` },
});
