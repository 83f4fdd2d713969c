// @again/storage-postgres on the local PostgreSQL server (AGAIN_PG_URL, default
// postgres://postgres@127.0.0.1:5432/test), in two parts:
//
//   pnpm bench storage-postgres
//
// 1. The batched claim of 500 due occurrences, side by side with a raw floor on the same server.
//    Each round creates a fresh schema holding 500 interval jobs (1 s), all due at every claim
//    (the store follows the callers' clock, `clock: 'caller'`, so the cycles can move time on).
//    After WARMUP claim + complete cycles (the ledger at its steady size: history limit 20 per
//    job), each of CYCLES cycles measures, back to back:
//      claim     one claimDue of the 500 due jobs (limit 500; one transaction)
//      raw       BEGIN; one INSERT … SELECT FROM unnest(…) of 500 rows into a plain table with
//                the ledger's columns and primary key; COMMIT: node-postgres on its own connection
//      complete  one completeRuns of the 500 runs just claimed (one transaction)
// 2. Scheduler throughput, one instance against three: INSTANCE_JOBS one-off jobs, all due at one
//    moment, run by 1 or 3 @again/scheduler processes (this file, forked as workers), each at
//    concurrency 50, against a 127.0.0.1 target that answers every request after 20 ms. The time
//    runs from the due moment until the last job has completed (read from the database).
//    Occurrences per second, the share of the machine's CPU in use meanwhile (Linux), and the
//    ratio of three instances to one (the target: ≥ 2.5). PG_BENCH_TARGET_DELAY changes the
//    target's delay, PG_BENCH_INSTANCE_JOBS the number of jobs, PG_BENCH_ROUNDS the rounds (3).
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createScheduler } from '@again/scheduler';
import { createPostgresStorage } from '@again/storage-postgres';
import pg from 'pg';

const URL_ = process.env.AGAIN_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.PG_BENCH_ROUNDS ?? 3);
const WARMUP = 5;
const CYCLES = 20;
const JOBS = 500;
const EVERY = 1000;
const T0 = 1_700_000_000_000;
const INSTANCE_JOBS = Number(process.env.PG_BENCH_INSTANCE_JOBS ?? 10_000);
const TARGET_DELAY = Number(process.env.PG_BENCH_TARGET_DELAY ?? 20);
const CONCURRENCY = 50;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

let schemaNo = 0;
function freshSchema() {
  return `bench_${process.pid}_${schemaNo++}`;
}

const plan = (job) => ({
  run: { scheduledAt: job.nextRunAt, occurrenceId: `${job.id}@${job.nextRunAt}` },
  skipped: [],
  nextRunAt: job.nextRunAt + EVERY,
});

/** Part 1, one round: the samples of every cycle (ms), and the cold claim. */
async function claimRound(admin) {
  const schema = freshSchema();
  const store = await createPostgresStorage({ connectionString: URL_, schema, clock: 'caller' });
  for (let start = 0; start < JOBS; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, JOBS - start) }, (_, k) => {
        const j = start + k;
        const id = `job-${String(j).padStart(3, '0')}`;
        return store.createJob({
          id,
          spec: { url: `https://example.com/hooks/${id}`, every: EVERY, method: 'POST' },
          nextRunAt: T0 + j,
          now: T0,
        });
      }),
    );
  }
  await admin.query(`create table "${schema}".bench_raw (occurrence_id text collate "C" primary key,
    job_id text, scheduled_at bigint, sequence bigint, fence bigint, status text, owner text,
    lease_until bigint, started_at bigint)`);
  const raw = new pg.Client({ connectionString: URL_ });
  await raw.connect();
  let rawRows = 0;
  globalThis.gc?.();
  const samples = { claim: [], raw: [], complete: [], cold: 0 };
  for (let cycle = 0; cycle < WARMUP + CYCLES; cycle++) {
    const now = T0 + JOBS - 1 + cycle * EVERY;
    let start = performance.now();
    const { runs } = await store.claimDue({
      owner: 'bench',
      now,
      limit: JOBS,
      leaseDuration: 60_000,
      plan,
    });
    const claim = performance.now() - start;
    if (runs.length !== JOBS) throw new Error(`claimed ${runs.length} of ${JOBS}`);

    const ids = Array.from({ length: JOBS }, (_, i) => `raw@${rawRows + i}`);
    const numbers = Array.from({ length: JOBS }, (_, i) => T0 + rawRows + i);
    start = performance.now();
    await raw.query('begin');
    await raw.query(
      `insert into "${schema}".bench_raw select * from unnest($1::text[], $2::text[],
        $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::bigint[], $9::bigint[])`,
      [
        ids,
        ids,
        numbers,
        numbers,
        numbers,
        ids.map(() => 'running'),
        ids.map(() => 'bench'),
        numbers,
        numbers,
      ],
    );
    await raw.query('commit');
    const rawMs = performance.now() - start;
    rawRows += JOBS;

    start = performance.now();
    const recorded = await store.completeRuns(
      runs.map((run) => ({
        occurrenceId: run.occurrenceId,
        owner: 'bench',
        fence: run.fence,
        status: 'succeeded',
        finishedAt: now + 5,
        result: { status: 200, attempts: 1 },
      })),
    );
    const complete = performance.now() - start;
    if (!recorded.every(Boolean)) throw new Error('a completion was refused');
    if (cycle === 0) samples.cold = claim;
    if (cycle >= WARMUP) {
      samples.claim.push(claim);
      samples.raw.push(rawMs);
      samples.complete.push(complete);
    }
  }
  await raw.end();
  await store.close();
  await admin.query(`drop schema "${schema}" cascade`);
  return samples;
}

/** The machine's CPU time so far (Linux `/proc/stat`): busy and total jiffies, or null elsewhere. */
function cpuTimes() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
    const values = fields.map(Number);
    const total = values.reduce((a, b) => a + b, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** A 127.0.0.1 target answering 200 after TARGET_DELAY ms; counts requests. */
async function startTarget() {
  let total = 0;
  const server = createServer((req, res) => {
    total++;
    req.resume();
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), TARGET_DELAY);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    total: () => total,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

/** A worker process: a scheduler on the schema until told to stop. */
async function worker(options) {
  const storage = await createPostgresStorage({
    connectionString: URL_,
    schema: options.schema,
    maxConnections: 8,
  });
  const scheduler = await createScheduler({
    storage,
    unsafeAllowAnyUrl: true,
    instanceId: options.instanceId,
    concurrency: CONCURRENCY,
    leaseDuration: 30_000,
    historyLimit: 1,
    logger: quiet,
  });
  process.on('message', async (message) => {
    if (message !== 'stop') return;
    await scheduler.stop();
    await storage.close();
    process.send('stopped', () => process.exit(0));
  });
  process.send('ready');
}

/** Part 2, one run: occurrences per second with `instances` scheduler processes. */
async function throughput(admin, target, instances) {
  const schema = freshSchema();
  const at = Date.now() + 60_000; // moved to the real start below, once everything is ready
  const storage = await createPostgresStorage({ connectionString: URL_, schema });
  const scheduler = await createScheduler({
    storage,
    unsafeAllowAnyUrl: true,
    pollInterval: null,
    logger: quiet,
  });
  for (let start = 0; start < INSTANCE_JOBS; start += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, INSTANCE_JOBS - start) }, (_, k) =>
        scheduler.schedule({
          id: `job-${String(start + k).padStart(5, '0')}`,
          schedule: { at },
          request: { method: 'POST', url: `${target.url}/${start + k}`, timeout: 0 },
          retryPolicy: { maxRetries: 0 },
          missedRuns: 'run-once',
        }),
      ),
    );
  }
  await scheduler.stop();
  await storage.close();
  const script = fileURLToPath(import.meta.url);
  const children = Array.from({ length: instances }, (_, i) =>
    fork(script, ['worker', JSON.stringify({ schema, instanceId: `instance-${i}` })], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  await Promise.all(
    children.map((child) => new Promise((resolve) => child.once('message', resolve))),
  );
  // Everything is up: make every job due now (the stored spec keeps its own `at`; the run only
  // needs the job row due), and wake the instances (NOTIFY, as createJob would).
  const before = target.total();
  const cpuBefore = cpuTimes();
  const started = performance.now();
  await admin.query(`update "${schema}".again_jobs set next_run_at = $1`, [Date.now()]);
  await admin.query(`select pg_notify($1, $2)`, [
    `${schema}.again_wake`,
    JSON.stringify({ jobId: 'job-00000', at: Date.now() }),
  ]);
  for (;;) {
    // An index-only probe (the partial due index holds exactly the live jobs): polling every
    // 20 ms must not cost the machine what a count over every job would.
    const { rows } = await admin.query(
      `select exists (select 1 from "${schema}".again_jobs
        where state in ('scheduled', 'running')) as live`,
    );
    if (!rows[0].live) break;
    await sleep(20);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = cpuTimes();
  const busy =
    cpuBefore === null || cpuAfter === null
      ? Number.NaN
      : (cpuAfter.busy - cpuBefore.busy) / (cpuAfter.total - cpuBefore.total);
  const sent = target.total() - before;
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          child.once('exit', resolve);
          child.send('stop');
        }),
    ),
  );
  await admin.query(`drop schema "${schema}" cascade`);
  if (sent < INSTANCE_JOBS) throw new Error(`only ${sent} of ${INSTANCE_JOBS} requests arrived`);
  return { rate: INSTANCE_JOBS / seconds, busy };
}

async function main() {
  const admin = new pg.Pool({ connectionString: URL_, max: 2 });
  const { rows } = await admin.query('show server_version');
  console.log(`PostgreSQL ${rows[0].server_version} at ${URL_.replace(/\/\/[^@]*@/, '//')}`);

  const all = { claim: [], raw: [], complete: [], cold: [], ratio: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const samples = await claimRound(admin);
    all.claim.push(...samples.claim);
    all.raw.push(...samples.raw);
    all.complete.push(...samples.complete);
    all.cold.push(samples.cold);
    all.ratio.push(...samples.claim.map((claim, i) => claim / samples.raw[i]));
  }
  const ms = (value) => `${value.toFixed(2)} ms`;
  const claim = median(all.claim);
  const complete = median(all.complete);
  console.table([
    {
      'claim 500': ms(claim),
      'best claim': ms(Math.min(...all.claim)),
      'raw 500-row insert, 1 tx': ms(median(all.raw)),
      'claim ÷ raw': median(all.ratio).toFixed(1),
      'complete 500': ms(complete),
      'claim + complete': `${Math.round((JOBS / (claim + complete)) * 1000).toLocaleString('en-US')}/s`,
      'cold claim': ms(median(all.cold)),
    },
  ]);
  console.log(`${ROUNDS} rounds × ${CYCLES} cycles (after ${WARMUP} warm-up cycles), medians`);

  const target = await startTarget();
  const one = [];
  const three = [];
  for (let r = 0; r < ROUNDS; r++) {
    one.push(await throughput(admin, target, 1));
    three.push(await throughput(admin, target, 3));
  }
  await target.close();
  await admin.end();
  const rate = (value) => `${Math.round(value).toLocaleString('en-US')}/s`;
  const percent = (value) => `${Math.round(value * 100)}%`;
  const row = (instances, runs) => ({
    instances,
    'occurrences/s': rate(median(runs.map((run) => run.rate))),
    runs: runs.map((run) => rate(run.rate)).join(', '),
    'machine CPU busy': runs.map((run) => percent(run.busy)).join(', '),
  });
  console.table([row(1, one), row(3, three)]);
  const ratio = median(three.map((run) => run.rate)) / median(one.map((run) => run.rate));
  console.log(
    `${INSTANCE_JOBS} one-off jobs, concurrency ${CONCURRENCY} per instance, target answers after ` +
      `${TARGET_DELAY} ms; three ÷ one = ${ratio.toFixed(2)} (target ≥ 2.5); ` +
      `the ceiling of one instance is ${rate((CONCURRENCY * 1000) / TARGET_DELAY)} ` +
      `(${CONCURRENCY} in flight × 1 s / ${TARGET_DELAY} ms)`,
  );
}

if (process.argv[2] === 'worker') {
  await worker(JSON.parse(process.argv[3]));
} else {
  await main();
}
