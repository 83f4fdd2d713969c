// @again/storage-sqlite: the batched claim of 500 due occurrences, side by side with the floor of
// a raw better-sqlite3 loop of 500 inserts in one transaction on the same file, and the
// throughput of claim + batched completion, with `synchronous` `normal` and `full` (WAL).
//
//   pnpm bench storage-sqlite
//
// Each round opens a fresh file per mode holding 500 interval jobs (1 s), all due at every claim.
// After WARMUP claim + complete cycles (statements prepared, ledger at its steady size: history
// limit 20 per job), each of CYCLES cycles measures, interleaved so load drift hits all alike:
//   claim    one claimDue of the 500 due jobs (limit 500; one transaction)
//   raw      500 inserts through one prepared statement in one transaction, into a plain table
//            of the same file on a second connection with the same settings
//   complete one completeRuns of the 500 runs just claimed (one transaction)
// The first claim of each fresh store (statements not prepared yet, empty ledger) is reported
// apart as "cold".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStorage } from '@again/storage-sqlite';
import Database from 'better-sqlite3';

const ROUNDS = Number(process.env.SQLITE_BENCH_ROUNDS ?? 5);
const WARMUP = 5;
const CYCLES = 20;
const JOBS = 500;
const EVERY = 1000;
const T0 = 1_700_000_000_000;
const MODES = ['normal', 'full'];

const dir = mkdtempSync(join(tmpdir(), 'again-bench-sqlite-'));
let fileNo = 0;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const plan = (job) => ({
  run: { scheduledAt: job.nextRunAt, occurrenceId: `${job.id}@${job.nextRunAt}` },
  skipped: [],
  nextRunAt: job.nextRunAt + EVERY,
});

/** A fresh file with JOBS interval jobs, job j first due at T0 + j. */
async function seed() {
  const file = join(dir, `bench-${fileNo++}.db`);
  const store = await createSqliteStorage({ database: file, synchronous: 'normal' });
  for (let j = 0; j < JOBS; j++) {
    const id = `job-${String(j).padStart(3, '0')}`;
    await store.createJob({
      id,
      spec: { url: `https://example.com/hooks/${id}`, every: EVERY, method: 'POST' },
      nextRunAt: T0 + j,
      now: T0,
    });
  }
  await store.close();
  return file;
}

/** One round of one mode: the samples of every cycle (ms), and the cold claim. */
async function round(synchronous) {
  const file = await seed();
  // Collect before the round, not before each claim: a forced collection right before a claim
  // evicts the CPU caches and added about 0.9 ms to every claim (and none to the raw loop after it).
  globalThis.gc?.();
  const store = await createSqliteStorage({ database: file, synchronous });
  const raw = new Database(file);
  raw.pragma(`synchronous = ${synchronous}`);
  raw.exec(
    'create table bench_raw (id text primary key, job_id text, scheduled_at integer, status text)',
  );
  const insert = raw.prepare('insert into bench_raw values (?, ?, ?, ?)');
  const insertAll = raw.transaction((base) => {
    for (let i = 0; i < JOBS; i++) insert.run(`raw@${base + i}`, 'job', T0 + base + i, 'running');
  });
  let rawRows = 0;

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

    start = performance.now();
    insertAll(rawRows);
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
  raw.close();
  await store.close();
  return samples;
}

const all = Object.fromEntries(
  MODES.map((mode) => [mode, { claim: [], raw: [], complete: [], cold: [], ratio: [] }]),
);
// Round-robin: every round measures each mode once, so drifting load (a shared disk, other
// processes) spreads over both instead of skewing the one measured last.
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of MODES) {
    const samples = await round(mode);
    const into = all[mode];
    into.claim.push(...samples.claim);
    into.raw.push(...samples.raw);
    into.complete.push(...samples.complete);
    into.cold.push(samples.cold);
    // Per-cycle ratios: a claim and its raw floor ran back to back.
    into.ratio.push(...samples.claim.map((claim, i) => claim / samples.raw[i]));
  }
}

const ms = (value) => `${value.toFixed(2)} ms`;
const perSecond = (count, time) => Math.round((count / time) * 1000).toLocaleString('en-US');
const rows = MODES.map((mode) => {
  const s = all[mode];
  const claim = median(s.claim);
  const complete = median(s.complete);
  const pairs = s.claim.map((c, i) => c + s.complete[i]);
  return {
    synchronous: mode,
    'claim 500 (median)': ms(claim),
    'claim 500 (best)': ms(Math.min(...s.claim)),
    'claim 500, cold': ms(median(s.cold)),
    'raw 500 inserts, 1 tx': ms(median(s.raw)),
    'claim ÷ raw': median(s.ratio).toFixed(1),
    'complete 500': ms(complete),
    'claim+complete /s': perSecond(JOBS, median(pairs)),
  };
});

console.log(
  `@again/storage-sqlite, WAL, ${JOBS} due jobs, ${ROUNDS} rounds × ${CYCLES} cycles ` +
    `(after ${WARMUP} warm-up cycles) per mode, files in ${tmpdir()}`,
);
console.table(rows);
rmSync(dir, { recursive: true, force: true });
