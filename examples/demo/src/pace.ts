/**
 * How long each part of the demo lasts. `AGAIN_DEMO_FAST=1` compresses it for the end-to-end test:
 * the 503 job still waits for its server's `Retry-After: 1` twice and the cron job still fires
 * once a second (cron's resolution), but the demo moves on as soon as it has shown each thing.
 */
export interface Pace {
  /** Runs of the cron job the first process waits for (after the other jobs are done). */
  readonly ticksBeforeRestart: number;
  /** How long no process runs between the two, so cron occurrences are missed (ms). */
  readonly downtime: number;
  /** Runs of the cron job the second process waits for before it stops. */
  readonly ticksAfterRestart: number;
  /** A part that takes longer than this fails the demo (ms). */
  readonly partTimeout: number;
}

/** About 20 seconds in all. */
const NORMAL: Pace = {
  ticksBeforeRestart: 8,
  downtime: 2_500,
  ticksAfterRestart: 5,
  partTimeout: 30_000,
};

/** About 5 seconds: every part still happens, with the fewest cron runs that show it. */
const FAST: Pace = {
  ticksBeforeRestart: 1,
  downtime: 0,
  ticksAfterRestart: 2,
  partTimeout: 20_000,
};

/** The pace chosen by `AGAIN_DEMO_FAST` (`1` or `true`: fast). */
export function paceFromEnv(env: NodeJS.ProcessEnv = process.env): Pace {
  const fast = env.AGAIN_DEMO_FAST === '1' || env.AGAIN_DEMO_FAST === 'true';
  return fast ? FAST : NORMAL;
}
