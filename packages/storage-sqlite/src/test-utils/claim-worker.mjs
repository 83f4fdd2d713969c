// A child process for processes.test.ts: claims due occurrences through the adapter (built dist)
// with batched claimDue and completeRuns, on virtual time, and reports what it won to the parent.
// Every claim runs at the virtual time <now>, leases last <lease> ms, jobs repeat every <every> ms
// until their spec's `last` occurrence.
//
//   node claim-worker.mjs <file> <owner> <now> <lease> <every> race
//                                               -> claims and completes until nothing is due,
//                                                  then sends { done: [occurrenceIds] } and exits
//   node claim-worker.mjs ... crash             -> claims forever, completing every other run and
//                                                  leaving the rest running; sends { claimed: id }
//                                                  for each run once its claim committed (to be
//                                                  SIGKILLed)
import { createSqliteStorage } from '../../dist/index.js';

const [file, owner, now, lease, every, mode] = process.argv.slice(2);
const EVERY = Number(every);

const store = await createSqliteStorage({ database: file, defaultHistoryLimit: 1_000_000 });

/** Interval jobs whose spec says when they end: the due occurrence runs, the next is EVERY later. */
function plan(job) {
  const at = job.nextRunAt;
  const next = at + EVERY;
  return {
    run: { scheduledAt: at, occurrenceId: `${job.id}@${at}` },
    skipped: [],
    nextRunAt: next <= job.spec.last ? next : null,
  };
}

// Tell the parent the store is open, then wait for its go: every worker starts claiming at once.
const go = new Promise((resolve) => process.once('message', resolve));
process.send({ ready: true });
await go;

const won = [];
let count = 0;
for (;;) {
  const { runs, examined, conflicts } = await store.claimDue({
    owner,
    now: Number(now),
    limit: 4,
    leaseDuration: Number(lease),
    plan,
  });
  if (conflicts.length > 0) throw new Error(`unexpected conflicts: ${conflicts.join(', ')}`);
  if (examined === 0) break;
  const finished = [];
  for (const run of runs) {
    won.push(run.occurrenceId);
    if (mode === 'crash') process.send({ claimed: run.occurrenceId });
    if (mode !== 'crash' || count++ % 2 === 0) finished.push(run);
  }
  const recorded = await store.completeRuns(
    finished.map((run) => ({
      occurrenceId: run.occurrenceId,
      owner,
      fence: run.fence,
      status: 'succeeded',
      finishedAt: run.scheduledAt + 1,
      result: { owner },
    })),
  );
  if (!recorded.every(Boolean)) throw new Error('a completion was refused');
}
process.send({ done: won }, () => {
  store.close().then(() => process.exit(0));
});
