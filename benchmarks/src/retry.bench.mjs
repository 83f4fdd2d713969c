// @again/retry against a bare `await`, p-retry 7 and cockatiel 3.
//
// Scenarios
//   success: fn resolves on the first try.
//   fail3:   fn rejects three times, then resolves; every library is set to its smallest delay
//            (ours: interval 0, which yields one event-loop turn per retry without a timer;
//            p-retry: minTimeout 0, no timer; cockatiel: ConstantBackoff(0), a setTimeout each).
//
// Method: each (library, scenario) is measured in rounds interleaved with the bare baseline, so
// machine noise hits both alike. A round times one batch sized to take ~150 ms. Reported: the
// median ns/op over ROUNDS rounds, the median of the per-round ratios to bare, and heap bytes
// allocated per call (v8.GCProfiler adds back what the collector freed during the batch, so
// collections do not hide allocations).
//
// Run: pnpm bench retry   (builds the packages first; needs node --expose-gc, which run-all adds)

import { GCProfiler } from 'node:v8';
import { createRetrier } from '@again/retry';
import { ConstantBackoff, retry as cockatielRetry, handleAll } from 'cockatiel';
import pRetry from 'p-retry';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc (pnpm bench does)');
  process.exit(1);
}

const ROUNDS = Number(process.env.RETRY_BENCH_ROUNDS ?? 11);
const TARGET_MS = 150;
const now = () => Number(process.hrtime.bigint()) / 1e6;

// ---- the work -----------------------------------------------------------------------------

const ok = async () => 1;
const failure = new Error('temporary');
/** A fresh fn per call: rejects three times, then resolves. */
function fail3() {
  let n = 0;
  return async () => {
    if (n++ < 3) throw failure;
    return n;
  };
}

// ---- contenders ---------------------------------------------------------------------------

const again = createRetrier({ maxRetries: 3, interval: 0, jitter: 0 });
const againDeadline = createRetrier({ maxRetries: 3, interval: 0, jitter: 0, timeout: 20_000 });
const cockatiel = cockatielRetry(handleAll, { maxAttempts: 3, backoff: new ConstantBackoff(0) });

async function bareLoop(fn) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

const contenders = {
  success: {
    'bare await': () => ok(),
    '@again/retry': () => again.run(ok),
    '@again/retry (timeout: 20 s)': () => againDeadline.run(ok),
    'p-retry 7': () => pRetry(ok, { retries: 3 }),
    'cockatiel 3': () => cockatiel.execute(ok),
  },
  fail3: {
    'bare await': () => bareLoop(fail3()),
    '@again/retry': () => again.run(fail3()),
    '@again/retry (timeout: 20 s)': () => againDeadline.run(fail3()),
    'p-retry 7': () => pRetry(fail3(), { retries: 3, minTimeout: 0 }),
    'cockatiel 3': () => cockatiel.execute(fail3()),
  },
};

// ---- measurement --------------------------------------------------------------------------

async function batch(call, n) {
  // Start every batch from a clean heap, so one contender's garbage is not collected on the
  // next one's time.
  globalThis.gc();
  const start = now();
  for (let i = 0; i < n; i++) await call();
  return now() - start;
}

async function calibrate(call) {
  let n = 10;
  for (;;) {
    const ms = await batch(call, n);
    if (ms > 20 || n >= 1_000_000)
      return Math.max(10, Math.round((n * TARGET_MS) / Math.max(ms, 0.01)));
    n *= 4;
  }
}

async function heapPerCall(call, n) {
  globalThis.gc();
  const profiler = new GCProfiler();
  profiler.start();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) await call();
  const after = process.memoryUsage().heapUsed;
  const { statistics } = profiler.stop();
  let freed = 0;
  for (const gc of statistics) {
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
  }
  return (after - before + freed) / n;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function format(ns) {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

const rows = [];
for (const [scenario, libs] of Object.entries(contenders)) {
  const bare = libs['bare await'];
  const sizes = {};
  for (const [name, call] of Object.entries(libs)) sizes[name] = await calibrate(call);
  const times = Object.fromEntries(Object.keys(libs).map((name) => [name, []]));
  const ratios = Object.fromEntries(Object.keys(libs).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, call] of Object.entries(libs)) {
      if (name === 'bare await') continue;
      const nb = sizes['bare await'];
      const bareNs = ((await batch(bare, nb)) * 1e6) / nb;
      const n = sizes[name];
      const ns = ((await batch(call, n)) * 1e6) / n;
      times['bare await'].push(bareNs);
      times[name].push(ns);
      ratios[name].push(ns / bareNs);
    }
  }
  for (const [name, call] of Object.entries(libs)) {
    const heapCalls = Math.min(sizes[name], scenario === 'success' ? 100_000 : 20_000);
    rows.push({
      scenario,
      name,
      ns: median(times[name]),
      ratio: name === 'bare await' ? 1 : median(ratios[name]),
      heap: await heapPerCall(call, heapCalls),
    });
  }
}

// ---- report -------------------------------------------------------------------------------

console.log(`@again/retry benchmark — node ${process.version}, ${ROUNDS} rounds, median`);
const header = ['scenario', 'library', 'time / call', '× bare', 'heap B / call'];
const table = rows.map((r) => [
  r.scenario,
  r.name,
  format(r.ns),
  r.ratio.toFixed(2),
  Math.round(r.heap).toLocaleString('en-US'),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) =>
  `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
console.log(line(header));
console.log(line(widths.map((w, i) => (i < 2 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`))));
for (const row of table) console.log(line(row));

const byName = (scenario) =>
  Object.fromEntries(rows.filter((r) => r.scenario === scenario).map((r) => [r.name, r]));
const success = byName('success');
const fail3Rows = byName('fail3');
const ours = success['@again/retry'];
console.log(
  `\nsuccess path: ${(success['p-retry 7'].ns / ours.ns).toFixed(1)}× faster than p-retry 7, ` +
    `${(success['cockatiel 3'].ns / ours.ns).toFixed(1)}× faster than cockatiel 3`,
);

// The three targets of issue 11, from this one run (ratios of medians of interleaved rounds).
const heapAbove = ours.heap - success['bare await'].heap;
const targets = [
  ['first-try success', `${ours.ratio.toFixed(2)}× a bare await`, ours.ratio, 1.5, '≤ 1.5×'],
  [
    'three zero-delay failures, then success',
    `${fail3Rows['@again/retry'].ratio.toFixed(2)}× a bare inline loop`,
    fail3Rows['@again/retry'].ratio,
    2,
    '≤ 2×',
  ],
  [
    'heap per successful call',
    `${Math.round(heapAbove)} B above a bare await`,
    heapAbove,
    200,
    '≤ 200 B',
  ],
];
console.log('\nissue 11 targets (this run):');
for (const [what, measured, value, limit, target] of targets) {
  console.log(`  ${what}: ${measured} (target ${target}) ${value <= limit ? 'met' : 'MISSED'}`);
}
