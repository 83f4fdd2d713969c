// @again/storage-sqlite: ledger write throughput and the cost of claiming 500 due jobs, against a
// raw better-sqlite3 insert loop (the floor: one prepared INSERT, in one transaction or one
// transaction per row). Every figure is the median of RUNS runs on a fresh file in a temp dir.
//
//   pnpm bench storage-sqlite
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStorage } from '@again/storage-sqlite';
import Database from 'better-sqlite3';

const RUNS = 5;
// claimOccurrence + completeRun pairs per run: fewer with synchronous=full, where every commit
// waits for the disk, to keep the whole file near a minute.
const LEDGER_PAIRS = { full: 250, normal: 1000 };
const DUE_JOBS = 500;
const T0 = 1_700_000_000_000;

const dir = mkdtempSync(join(tmpdir(), 'again-bench-sqlite-'));
let fileNo = 0;
const freshFile = () => join(dir, `bench-${fileNo++}.db`);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** ms for `pairs` claim + complete pairs on 10 interval jobs (history limit 20 applied). */
async function ledgerWrites(synchronous, pairs) {
  const store = await createSqliteStorage({ database: freshFile(), synchronous });
  const jobs = 10;
  for (let j = 0; j < jobs; j++) {
    await store.createJob({ id: `job-${j}`, spec: { n: j }, nextRunAt: T0, now: T0 });
  }
  const next = Array.from({ length: jobs }, () => T0);
  const start = performance.now();
  for (let i = 0; i < pairs; i++) {
    const j = i % jobs;
    const at = next[j];
    const claimed = await store.claimOccurrence({
      jobId: `job-${j}`,
      expectedNextRunAt: at,
      nextRunAt: at + 1000,
      run: {
        scheduledAt: at,
        occurrenceId: `job-${j}@${at}`,
        owner: 'bench',
        leaseUntil: at + 60_000,
      },
      now: at,
    });
    await store.completeRun({
      occurrenceId: claimed.run.occurrenceId,
      owner: 'bench',
      fence: claimed.run.fence,
      status: 'succeeded',
      finishedAt: at + 5,
      result: { status: 200 },
    });
    next[j] = at + 1000;
  }
  const elapsed = performance.now() - start;
  await store.close();
  return elapsed;
}

/** ms to find and claim DUE_JOBS due jobs (one dueJobs call, then one claim per job). */
async function claimDue(synchronous) {
  const store = await createSqliteStorage({ database: freshFile(), synchronous });
  for (let j = 0; j < DUE_JOBS; j++) {
    await store.createJob({ id: `job-${j}`, spec: { n: j }, nextRunAt: T0 + j, now: T0 });
  }
  const now = T0 + DUE_JOBS;
  const start = performance.now();
  const due = await store.dueJobs(now, DUE_JOBS);
  for (const job of due) {
    const at = job.nextRunAt;
    const claimed = await store.claimOccurrence({
      jobId: job.id,
      expectedNextRunAt: at,
      nextRunAt: at + 60_000,
      run: {
        scheduledAt: at,
        occurrenceId: `${job.id}@${at}`,
        owner: 'bench',
        leaseUntil: now + 60_000,
      },
      now,
    });
    if (claimed === null) throw new Error(`lost ${job.id}`);
  }
  const elapsed = performance.now() - start;
  if (due.length !== DUE_JOBS) throw new Error(`expected ${DUE_JOBS} due jobs, got ${due.length}`);
  await store.close();
  return elapsed;
}

/** ms for `rows` inserts through one prepared statement, in one transaction or one per row. */
function rawInserts(synchronous, rows, oneTransaction) {
  const db = new Database(freshFile());
  db.pragma('journal_mode = wal');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec(
    'create table ledger (id text primary key, job_id text, scheduled_at integer, status text)',
  );
  const insert = db.prepare('insert into ledger values (?, ?, ?, ?)');
  const loop = () => {
    for (let i = 0; i < rows; i++) insert.run(`job@${i}`, 'job', T0 + i, 'succeeded');
  };
  const start = performance.now();
  if (oneTransaction) db.transaction(loop)();
  else loop();
  const elapsed = performance.now() - start;
  db.close();
  return elapsed;
}

const perSecond = (count, ms) => Math.round((count / ms) * 1000).toLocaleString('en-US');
const fixed = (ms) => ms.toFixed(1);

// Round-robin: every round measures each scenario once, so drifting load (a shared disk, other
// processes) spreads over all of them instead of skewing the ones measured last.
const scenarios = [];
for (const synchronous of ['full', 'normal']) {
  const pairs = LEDGER_PAIRS[synchronous];
  scenarios.push(
    { synchronous, name: 'ledger', run: () => ledgerWrites(synchronous, pairs), samples: [] },
    { synchronous, name: 'claim', run: () => claimDue(synchronous), samples: [] },
    { synchronous, name: 'rawTx', run: () => rawInserts(synchronous, DUE_JOBS, true), samples: [] },
    {
      synchronous,
      name: 'rawAuto',
      run: () => rawInserts(synchronous, DUE_JOBS, false),
      samples: [],
    },
  );
}
for (let round = 0; round < RUNS; round++) {
  for (const scenario of scenarios) {
    globalThis.gc?.();
    scenario.samples.push(await scenario.run());
  }
}

const medians = [];
const fastest = [];
for (const synchronous of ['full', 'normal']) {
  const pairs = LEDGER_PAIRS[synchronous];
  const of = (name) => scenarios.find((s) => s.synchronous === synchronous && s.name === name);
  for (const [rows, pick] of [
    [medians, median],
    [fastest, (samples) => Math.min(...samples)],
  ]) {
    const [ledger, claim, rawTx, rawAuto] = ['ledger', 'claim', 'rawTx', 'rawAuto'].map((name) =>
      pick(of(name).samples),
    );
    rows.push({
      synchronous,
      'ledger pairs/s (claim+complete)': perSecond(pairs, ledger),
      'claim 500 due jobs (ms)': fixed(claim),
      'raw: 500 inserts, 1 tx (ms)': fixed(rawTx),
      'raw: 500 inserts, 500 tx (ms)': fixed(rawAuto),
      'claim ÷ raw 500 tx': (claim / rawAuto).toFixed(2),
    });
  }
}

console.log(`@again/storage-sqlite, WAL, ${RUNS} rounds, fresh file each run in ${tmpdir()}`);
console.log('median run:');
console.table(medians);
console.log('fastest run:');
console.table(fastest);
rmSync(dir, { recursive: true, force: true });
