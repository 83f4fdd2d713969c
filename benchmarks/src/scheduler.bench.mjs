// @again/scheduler benchmarks, each measured side by side in one run.
//
// 1. Engine throughput with a fetch stub (answers at once): 20,000 one-off jobs due at the same
//    instant, claim + run + record, on the memory store and on a SQLite file (synchronous=normal).
//    Beside it: one bare ky call over the same stub, to show ky's share of a run.
// 2. Against a local 127.0.0.1 server at concurrency 50: the scheduler (guarded egress, memory
//    store) next to a bare ky-over-egress loop, a bare egress fetch loop and a bare undici
//    `request` loop, each with 50 requests in flight.
// 3. 100,000 interval jobs in a memory store: time to schedule, heap per idle job, fire lag
//    (how late each occurrence starts after its scheduled time) over the first seconds of a cycle.
// 4. Overload: one process offered 10x the occurrences it can run for OVERLOAD_SECONDS (default
//    30): the longest event-loop block, the longest lease-renewal gap, occurrences delivered twice
//    (must be 0) and the time stop() takes.
//
// Run: pnpm bench scheduler   (or: node --expose-gc benchmarks/src/scheduler.bench.mjs [part...])
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createScheduler } from '@again/scheduler';
import { createMemoryStorage } from '@again/storage-memory';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createEgress } from '@again/url-guard';
import ky from 'ky';
import { Agent, request } from 'undici';

const gc = globalThis.gc ?? (() => {});
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const parts = process.argv.slice(2);
const wanted = (part) => parts.length === 0 || parts.includes(part);

async function heapUsed() {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(10);
  }
  return process.memoryUsage().heapUsed;
}

/** A real-timer clock shifted so that `at` comes `lead` ms after now. */
function shiftedClock(at, lead) {
  const shift = at - Date.now() - lead;
  return {
    now: () => Date.now() + shift,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle),
  };
}

// ---- 1. engine throughput ---------------------------------------------------------------------

const stubFetch = async () => new Response('ok');

async function engineRate(makeStorage, jobs) {
  const storage = await makeStorage();
  const options = {
    unsafeAllowAnyUrl: true,
    fetch: stubFetch,
    logger: silent,
    pollInterval: 0,
    historyLimit: 1,
    maintenanceInterval: null,
  };
  const writer = await createScheduler({ storage, ...options });
  const at = Date.now() + 86_400_000;
  for (let i = 0; i < jobs; i++) {
    await writer.schedule({
      schedule: { at },
      request: { url: 'http://127.0.0.1:9/' },
      retryPolicy: { maxRetries: 0 },
    });
  }
  await writer.stop();
  const clock = shiftedClock(at, 300);
  let done;
  let count = 0;
  const finished = new Promise((resolve) => {
    done = resolve;
  });
  const runner = await createScheduler({
    storage,
    ...options,
    clock,
    fetch: async () => {
      if (++count === jobs) done();
      return new Response('ok');
    },
  });
  await sleep(300);
  const t0 = performance.now();
  await finished;
  // Every outcome recorded: the jobs are complete.
  while ((await runner.jobCount()) > 0) await sleep(1);
  const rate = jobs / ((performance.now() - t0) / 1000);
  await runner.stop();
  await storage.close();
  return rate;
}

async function kyCallMicros() {
  const client = ky.create({ fetch: stubFetch, retry: 0, timeout: false, throwHttpErrors: false });
  const bare = async () => (await stubFetch()).text();
  const viaKy = async (i) =>
    (await client(`http://127.0.0.1:9/${i}`, { headers: { 'idempotency-key': `k${i}` } })).text();
  const time = async (fn) => {
    for (let i = 0; i < 2_000; i++) await fn(i);
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) await fn(i);
    return ((performance.now() - t0) / 20_000) * 1000;
  };
  const stub = await time(bare);
  const withKy = await time(viaKy);
  return { stub, ky: withKy - stub };
}

async function throughput() {
  const JOBS = 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'again-bench-'));
  const memory = [];
  const sqlite = [];
  try {
    for (let round = 0; round < 3; round++) {
      memory.push(await engineRate(() => createMemoryStorage(), JOBS));
      sqlite.push(
        await engineRate(
          () => createSqliteStorage({ database: join(dir, `r${round}.db`), synchronous: 'normal' }),
          JOBS,
        ),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cost = await kyCallMicros();
  const memoryRate = median(memory);
  return {
    jobs: JOBS,
    memory: memoryRate,
    sqlite: median(sqlite),
    cost,
    runMicros: 1e6 / memoryRate,
  };
}

// ---- 2. against 127.0.0.1 -----------------------------------------------------------------------

function startTarget() {
  let count = 0;
  const server = createServer((_req, res) => {
    count++;
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        port: server.address().port,
        count: () => count,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(r);
          }),
      }),
    );
  });
}

function loopbackEgress(port) {
  return createEgress({
    allowedSchemes: ['http'],
    allowIpLiterals: true,
    allowedAddresses: ['127.0.0.1'],
    allowedPorts: [port],
  });
}

/** `total` requests with `concurrency` in flight; returns requests per second. */
async function loop(total, concurrency, send) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        await send();
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

async function viaScheduler(target, total, concurrency) {
  const egress = loopbackEgress(target.port);
  const scheduler = await createScheduler({
    storage: createMemoryStorage(),
    egress,
    logger: silent,
    concurrency,
    historyLimit: 1,
    maintenanceInterval: null,
  });
  const start = target.count();
  const at = Date.now() + 2_000;
  for (let i = 0; i < total; i++) {
    await scheduler.schedule({
      schedule: { at },
      request: { url: target.url },
      retryPolicy: { maxRetries: 0 },
    });
  }
  await sleep(Math.max(0, at - Date.now()));
  const t0 = performance.now();
  while ((await scheduler.jobCount()) > 0) await sleep(1);
  const rate = total / ((performance.now() - t0) / 1000);
  if (target.count() - start !== total) throw new Error('not every job ran exactly once');
  await scheduler.stop();
  await egress.close();
  return rate;
}

async function network() {
  const target = await startTarget();
  const TOTAL = 3_000;
  const CONCURRENCY = 50;
  const results = { scheduler: [], ky: [], fetch: [], undici: [] };
  for (let round = 0; round < 3; round++) {
    const egress = loopbackEgress(target.port);
    const client = ky.create({
      fetch: egress.fetch,
      retry: 0,
      timeout: false,
      throwHttpErrors: false,
    });
    results.ky.push(await loop(TOTAL, CONCURRENCY, async () => (await client(target.url)).text()));
    results.fetch.push(
      await loop(TOTAL, CONCURRENCY, async () => (await egress.fetch(target.url)).text()),
    );
    await egress.close();
    const dispatcher = new Agent({ connections: CONCURRENCY });
    results.undici.push(
      await loop(TOTAL, CONCURRENCY, async () => {
        const { body } = await request(target.url, { dispatcher });
        await body.text();
      }),
    );
    await dispatcher.close();
    results.scheduler.push(await viaScheduler(target, TOTAL, CONCURRENCY));
  }
  await target.close();
  return {
    total: TOTAL,
    concurrency: CONCURRENCY,
    scheduler: median(results.scheduler),
    ky: median(results.ky),
    fetch: median(results.fetch),
    undici: median(results.undici),
  };
}

// ---- 3. 100,000 interval jobs -------------------------------------------------------------------

async function manyJobs() {
  const JOBS = 100_000;
  const EVERY = 120_000; // each job every 2 minutes: 833 occurrences per second overall
  const OBSERVE = 10_000;
  const DAY = 86_400_000;
  const lags = [];
  let clock = null;
  const fetch = async (input) => {
    lags.push(clock.now() - Date.parse(input.headers.get('x-again-scheduled-at')));
    return new Response('ok');
  };
  const options = {
    unsafeAllowAnyUrl: true,
    fetch,
    logger: silent,
    historyLimit: 1,
    maintenanceInterval: null,
  };
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
  await writer.stop();
  const after = await heapUsed();

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
    fired: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
  };
}

// ---- 4. overload ----------------------------------------------------------------------------------

async function overload() {
  const SECONDS = Number(process.env.OVERLOAD_SECONDS ?? 30);
  const DELAY = 100; // each request is answered after 100 ms
  const CONCURRENCY = 50; // capacity: 50 / 0.1 s = 500 runs/s
  const JOBS = 500; // every 100 ms: 5,000 occurrences/s offered, 10x the capacity
  const LEASE = 2_000;
  const deliveries = new Map();
  const server = createServer((req, res) => {
    const key = req.headers['idempotency-key'];
    deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
    req.resume();
    setTimeout(() => res.end('ok'), DELAY);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  const egress = loopbackEgress(server.address().port);

  // Watch the store: the time between a held run's claim or renewal and its next renewal or end.
  const inner = createMemoryStorage();
  const held = new Map();
  let gap = 0;
  const touch = (id, now) => {
    const last = held.get(id);
    if (last !== undefined) gap = Math.max(gap, now - last);
    held.set(id, now);
  };
  const storage = new Proxy(inner, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return async (...args) => {
        const result = await value.apply(target, args);
        const now = Date.now();
        if (property === 'claimDue') for (const run of result.runs) held.set(run.occurrenceId, now);
        if (property === 'renewLeases') {
          const lost = new Set(result.lost.map((entry) => entry.occurrenceId));
          for (const lease of args[0].leases)
            if (!lost.has(lease.occurrenceId)) touch(lease.occurrenceId, now);
        }
        if (property === 'completeRuns') {
          for (const completion of args[0]) {
            touch(completion.occurrenceId, now);
            held.delete(completion.occurrenceId);
          }
        }
        return result;
      };
    },
  });
  const scheduler = await createScheduler({
    storage,
    egress,
    logger: silent,
    concurrency: CONCURRENCY,
    leaseDuration: LEASE,
    maintenanceInterval: null,
  });
  for (let i = 0; i < JOBS; i++) {
    await scheduler.schedule({
      schedule: { every: 100 },
      request: { url: `${url}/${i}`, timeout: 0 },
      retryPolicy: { maxRetries: 0 },
    });
  }
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  await sleep(SECONDS * 1000);
  const stopping = performance.now();
  await scheduler.stop({ timeout: 2_000 });
  const stopMs = performance.now() - stopping;
  loopDelay.disable();
  await egress.close();
  server.closeAllConnections();
  server.close();
  let twice = 0;
  let delivered = 0;
  for (const count of deliveries.values()) {
    delivered += count;
    if (count > 1) twice++;
  }
  return {
    seconds: SECONDS,
    offered: (JOBS * 1000) / 100,
    capacity: (CONCURRENCY * 1000) / DELAY,
    delivered,
    longestBlock: loopDelay.max / 1e6,
    p99Block: loopDelay.percentile(99) / 1e6,
    longestGap: gap,
    lease: LEASE,
    twice,
    stopMs,
  };
}

console.log(`node ${process.version}`);
if (wanted('throughput')) {
  const tp = await throughput();
  console.log(
    `\nEngine throughput (${fmt(tp.jobs)} one-off jobs due at once, fetch stub, median of 3)`,
  );
  console.table({
    'memory store': { 'runs/s': fmt(tp.memory), 'µs per run': fmt(1e6 / tp.memory, 1) },
    'SQLite file (synchronous=normal)': {
      'runs/s': fmt(tp.sqlite),
      'µs per run': fmt(1e6 / tp.sqlite, 1),
    },
  });
  console.log(
    `ky's own cost per call over the same stub: ${fmt(tp.cost.ky, 1)} µs (the stub itself: ${fmt(tp.cost.stub, 1)} µs), ` +
      `${fmt((tp.cost.ky / tp.runMicros) * 100, 0)} % of a run on the memory store`,
  );
}
if (wanted('network')) {
  const net = await network();
  console.log(
    `\nAgainst 127.0.0.1 (${fmt(net.total)} requests, concurrency ${net.concurrency}, median of 3)`,
  );
  console.table({
    'bare undici request loop': { 'req/s': fmt(net.undici) },
    'bare egress fetch loop': { 'req/s': fmt(net.fetch) },
    'bare ky-over-egress loop': { 'req/s': fmt(net.ky) },
    '@again/scheduler (egress, memory store)': { 'req/s': fmt(net.scheduler) },
    'scheduler / ky-over-egress': { 'req/s': `${fmt(net.scheduler / net.ky, 2)}x` },
  });
}
if (wanted('jobs')) {
  const many = await manyJobs();
  console.log(
    `\n100,000 interval jobs (memory store, fetch stub, every 2 min; ${fmt(many.expected)} occurrences due in the 10 s watched)`,
  );
  console.table({
    'schedule 100k jobs': { value: `${fmt(many.scheduleMs)} ms (${fmt(many.perJobUs, 1)} µs/job)` },
    'heap per idle job': { value: `${fmt(many.heapPerJob)} bytes` },
    'occurrences fired': { value: `${fmt(many.fired)} of ${fmt(many.expected)}` },
    'fire lag p50': { value: `${fmt(many.p50)} ms` },
    'fire lag p99': { value: `${fmt(many.p99)} ms` },
    'fire lag max': { value: `${fmt(many.max)} ms` },
  });
}
if (wanted('overload')) {
  const o = await overload();
  console.log(
    `\nOverload: ${fmt(o.offered)} occurrences/s offered to a capacity of ${fmt(o.capacity)}/s for ${o.seconds} s (one process, memory store, 127.0.0.1)`,
  );
  console.table({
    'requests delivered': { value: fmt(o.delivered) },
    'longest event-loop block': {
      value: `${fmt(o.longestBlock, 1)} ms (p99 ${fmt(o.p99Block, 1)} ms)`,
    },
    'longest lease-renewal gap': { value: `${fmt(o.longestGap)} ms (lease ${fmt(o.lease)} ms)` },
    'occurrences delivered twice': { value: fmt(o.twice) },
    'stop({ timeout: 2000 })': { value: `${fmt(o.stopMs)} ms` },
  });
}
