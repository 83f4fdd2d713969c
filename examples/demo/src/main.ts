/**
 * `pnpm demo`: @again/scheduler on a SQLite file, against a local target, with live progress.
 *
 * 1. Starts a `node:http` target on 127.0.0.1 and a scheduler on a new SQLite file in a temporary
 *    directory (removed at the end), with a URL policy that opens exactly that target.
 * 2. Schedules four jobs: one that succeeds, one that gets 503 + `Retry-After: 1` twice and then
 *    succeeds, a cron job every second, and one whose outcome is sent to a callback URL. Every
 *    attempt and run is printed as it happens, with the time since the start.
 * 3. Prints the job statuses, stops the scheduler and, after a pause, starts a second process on
 *    the same file (`restarted.ts`), which finds the jobs there and resumes the cron job.
 *
 * Run: `pnpm demo` (about 20 s), or `AGAIN_DEMO_FAST=1 pnpm demo` (about 5 s: the cron job runs
 * fewer times). Colours only on a terminal without `NO_COLOR`; `pnpm demo | cat` is plain text.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { demoJobs } from './jobs.js';
import { colorsWanted, createOutput } from './output.js';
import { paceFromEnv } from './pace.js';
import { createProgress } from './progress.js';
import { RESTARTED_FLAG, type RestartedArgs, runRestarted } from './restarted.js';
import { demoListeners, openScheduler } from './setup.js';
import { startTarget } from './target.js';

async function runDemo(): Promise<number> {
  const pace = paceFromEnv();
  const startedAt = Date.now();
  const out = createOutput(startedAt, 'proc 1', colorsWanted());
  const target = await startTarget();
  const dir = mkdtempSync(join(tmpdir(), 'again-demo-'));
  // Interrupted (Ctrl-C, kill): the second process, if running, ends too, and so does the directory.
  let child: ChildProcess | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      child?.kill(signal);
      rmSync(dir, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  const file = join(dir, 'demo.db');
  out.say(
    `@again demo (pid ${process.pid}): four jobs on SQLite against a local target, then a restart`,
  );
  out.say(`storage  ${file} (SQLite; its directory is removed at the end)`);
  out.say(`target   ${target.base} (the URL policy allows http to 127.0.0.1:${target.port} only)`);
  out.say('each line: time since the start, the process, the job, what happened');
  try {
    const progress = createProgress();
    const { scheduler, close } = await openScheduler(
      file,
      target.port,
      demoListeners(out, progress),
    );
    void target.callback.then((payload) => {
      out.job('report', 'the target received the callback:');
      out.block(JSON.stringify(payload, null, 2).split('\n'));
      progress.mark('callback');
    });

    const jobs = demoJobs(target.base, Date.now());
    for (const { job, about } of jobs) {
      out.job(job.id, about);
      await scheduler.schedule(job);
    }
    const oneOffs = ['hello', 'flaky', 'report'];
    await progress.until(
      () =>
        oneOffs.every((id) => progress.count(id) > 0) &&
        progress.has('callback') &&
        progress.count('tick') >= pace.ticksBeforeRestart,
      pace.partTimeout,
      'the one-off jobs, the callback and the first cron runs',
    );
    out.table('job statuses in proc 1', await scheduler.jobStatuses());

    out.say('stopping proc 1: stop() lets runs in flight finish; the jobs stay in the file');
    await close();
    out.say(
      pace.downtime > 0
        ? `proc 1 stopped; proc 2 starts in ${(pace.downtime / 1000).toFixed(1)} s (the cron occurrences meanwhile are missed)`
        : 'proc 1 stopped',
    );
    await sleep(pace.downtime);

    const args: RestartedArgs = { file, port: target.port, startedAt };
    out.say('starting proc 2 on the same file, as a restarted service would');
    const code = await new Promise<number>((resolve, reject) => {
      const started = spawn(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), RESTARTED_FLAG, JSON.stringify(args)],
        { stdio: 'inherit' },
      );
      child = started;
      started.on('error', reject);
      started.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 128)));
    });
    out.say(
      code === 0 ? `done in ${out.at(Date.now()).slice(1)}` : `proc 2 failed (exit code ${code})`,
      code === 0 ? 'good' : 'bad',
    );
    return code;
  } finally {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const restartedArgs = process.argv[2] === RESTARTED_FLAG ? process.argv[3] : undefined;
process.exitCode = await (restartedArgs === undefined ? runDemo() : runRestarted(restartedArgs));
