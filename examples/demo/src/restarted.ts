/**
 * The demo's second process: a scheduler on the file the first one left, as a restarted service
 * would start. It finds the jobs there, resumes the cron job (occurrences missed while no process
 * ran follow the job's missed-run policy: the latest runs, the earlier ones are recorded
 * `skipped`), prints the final job statuses and stops.
 */
import { colorsWanted, createOutput } from './output.js';
import { paceFromEnv } from './pace.js';
import { createProgress } from './progress.js';
import { demoListeners, openScheduler } from './setup.js';

/** The command-line flag that makes `main.ts` run this part. */
export const RESTARTED_FLAG = '--restarted';

/** What the first process hands over (as JSON on the command line). */
export interface RestartedArgs {
  readonly file: string;
  readonly port: number;
  /** The demo's start, so both processes print times from the same origin. */
  readonly startedAt: number;
}

/**
 * Runs the second process.
 *
 * @param json - `RestartedArgs` as JSON
 * @returns the exit code
 */
export async function runRestarted(json: string): Promise<number> {
  const { file, port, startedAt } = JSON.parse(json) as RestartedArgs;
  const pace = paceFromEnv();
  const out = createOutput(startedAt, 'proc 2', colorsWanted());
  const progress = createProgress();

  out.say(`proc 2 (pid ${process.pid}) opens ${file}`);
  const { scheduler, close } = await openScheduler(
    file,
    port,
    // Given up front: the restarted scheduler resumes runs while it starts.
    demoListeners(out, progress),
  );
  out.table('found in the file by proc 2', await scheduler.jobStatuses());

  await progress.until(
    () => progress.count('tick') >= pace.ticksAfterRestart,
    pace.partTimeout,
    'the cron job to resume',
  );
  out.say(`the cron job resumed in proc 2: ${progress.count('tick')} runs here so far`, 'good');
  out.table('final job statuses', await scheduler.jobStatuses());
  const history = (await scheduler.jobHistory('tick')) ?? [];
  const count = (status: string) => history.filter((run) => run.status === status).length;
  out.say(
    `tick's history (the last ${history.length} entries): ${count('succeeded')} succeeded, ${count('skipped')} skipped (missed while no process ran)`,
  );
  out.say('stopping proc 2');
  await close();
  return 0;
}
