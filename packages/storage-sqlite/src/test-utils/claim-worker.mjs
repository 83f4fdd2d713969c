// A child process for processes.test.ts: claims due occurrences through the adapter (built dist),
// on virtual time, and reports every claim it won to the parent over IPC.
//
//   node claim-worker.mjs <file> <owner> race   -> claims and completes until nothing is due,
//                                                  then sends { done: [occurrenceIds] } and exits
//   node claim-worker.mjs <file> <owner> crash  -> claims forever, completing every other run and
//                                                  leaving the rest running; sends { claimed: id }
//                                                  after each claim commits (to be SIGKILLed)
import { createSqliteStorage } from '../../dist/index.js';

const [file, owner, mode] = process.argv.slice(2);
const EVERY = 1000;
const LEASE = 5000;

const store = await createSqliteStorage({ database: file, defaultHistoryLimit: 1_000_000 });

/** Claims the occurrence a due job is waiting for; the run, or null when another process won. */
async function claim(job, now) {
  const at = job.nextRunAt;
  const last = job.spec.last;
  const result = await store.claimOccurrence({
    jobId: job.id,
    expectedNextRunAt: at,
    nextRunAt: at + EVERY <= last ? at + EVERY : null,
    run: { scheduledAt: at, occurrenceId: `${job.id}@${at}`, owner, leaseUntil: at + LEASE },
    now,
  });
  return result?.run ?? null;
}

async function complete(run) {
  const done = await store.completeRun({
    occurrenceId: run.occurrenceId,
    owner,
    fence: run.fence,
    status: 'succeeded',
    finishedAt: run.scheduledAt + 1,
    result: { owner },
  });
  if (!done) throw new Error(`completion of ${run.occurrenceId} refused`);
}

// Tell the parent the store is open, then wait for its go: every worker starts claiming at once.
const go = new Promise((resolve) => process.once('message', resolve));
process.send({ ready: true });
await go;

const now = Number.MAX_SAFE_INTEGER; // everything scheduled is due
const won = [];
let count = 0;
for (;;) {
  const due = await store.dueJobs(now, 20);
  if (due.length === 0) break;
  for (const job of due) {
    const run = await claim(job, job.nextRunAt);
    if (run === null) continue;
    won.push(run.occurrenceId);
    if (mode === 'crash') {
      process.send({ claimed: run.occurrenceId });
      if (count++ % 2 === 0) await complete(run);
    } else {
      await complete(run);
    }
  }
}
process.send({ done: won }, () => {
  store.close().then(() => process.exit(0));
});
