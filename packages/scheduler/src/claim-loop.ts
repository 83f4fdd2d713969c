/**
 * The claim loop: claims due occurrences in batches, one store transaction per batch, and only as
 * many as there are free slots to start them. What it cannot start stays due in the store, for
 * later or for another instance. It yields to the event loop between batches, and a batch stops
 * planning after a few milliseconds, so no turn blocks the loop for long.
 *
 * @module
 */
import type { DueJob, DuePlan, SkippedOccurrence } from '@again/storage';
import { activeRun } from './active-runs.js';
import type { Engine } from './engine.js';
import type { JobSpec } from './job-types.js';
import { occurrenceIdOf, planOccurrences } from './occurrences.js';
import { recordUnstarted } from './run.js';
import { createWakeTimer, type WakeTimer } from './timer.js';

/** Most skipped occurrences written per job and claim (history keeps at most `historyLimit`). */
const MAX_SKIPPED_RECORDED = 1_000;
/** Most cron occurrences a plan computes one by one (a longer backlog takes several claims). */
const CRON_OCCURRENCES_PER_PLAN = 50;
/** Planning time after which a batch leaves the remaining due jobs to the next batch (ms). */
const PLAN_BUDGET_MS = 4;
/** Delay before claiming again after a storage failure (ms). */
const STORAGE_RETRY_DELAY = 1_000;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The claim loop; see the module comment. */
export class ClaimLoop {
  readonly #engine: Engine;
  readonly #timer: WakeTimer;
  /** A turn is running; `#again` asks it for one more. */
  #turning: Promise<void> | null = null;
  #again = false;
  /** The earliest due time known, on the store's clock; `null`: none or unknown. */
  #dueAt: number | null = null;
  /** When to look at the store again without a known due time (polling), local clock. */
  #nextPollAt: number | null = null;
  /** When to retry after a storage failure, local clock. */
  #retryAt: number | null = null;
  #stopped = false;
  /** The last turn stopped for want of free slots: a freed slot should claim at once. */
  #starved = false;
  /** A claim is queued for the end of this turn of the event loop. */
  #wakePending = false;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#timer = createWakeTimer(engine.options.clock, () => this.wake());
  }

  /** Starts the loop with a first turn. */
  start(): void {
    this.wake();
  }

  /** Stops claiming; a turn in flight finishes its store call. */
  stop(): void {
    this.#stopped = true;
    this.#timer.cancel();
  }

  /**
   * A job is due at `at` (created, or woken by the store): the timer is set for it. Without `at`,
   * look at the store now.
   *
   * @param at - the due time on the store's clock; absent: claim now
   */
  wake(at?: number | null): void {
    if (this.#stopped) return;
    if (this.#turning !== null) {
      // The turn in flight may have read the due time before this job existed.
      this.#again = true;
      return;
    }
    if (at === undefined) {
      this.#turning = this.#loop().finally(() => {
        this.#turning = null;
        this.#arm();
      });
      return;
    }
    if (at !== null && (this.#dueAt === null || at < this.#dueAt)) {
      this.#dueAt = at;
      this.#arm();
    }
  }

  /**
   * A slot freed: start a queued takeover, or claim, at once if work was waiting for one; else only
   * re-arm the timer.
   */
  slotFreed(): void {
    if (this.#stopped) return;
    const due = this.#dueAt !== null && this.#dueAt <= this.#engine.storeTime.now();
    if (this.#starved || due || this.#engine.runs.queued > 0) this.#wakeSoon();
    else if (this.#turning === null) this.#arm();
  }

  /**
   * Claims at the end of this turn of the event loop: every run that ends in the same turn frees
   * its slot first, so one claim fills them all (instead of one claim per freed slot).
   */
  #wakeSoon(): void {
    if (this.#turning !== null) {
      this.#again = true;
      return;
    }
    if (this.#wakePending) return;
    this.#wakePending = true;
    setImmediate(() => {
      this.#wakePending = false;
      this.wake();
    });
  }

  /** Resolves when the turn in flight (if any) has finished. */
  settled(): Promise<void> {
    return this.#turning ?? Promise.resolve();
  }

  async #loop(): Promise<void> {
    for (let first = true; ; first = false) {
      // Between batches, let timers and I/O in (memory-store calls settle as microtasks).
      if (!first) await yieldToEventLoop();
      this.#again = false;
      const more = await this.#turn();
      if (!more && !this.#again) return;
      if (this.#stopped || this.#engine.state() !== 'running') return;
    }
  }

  /** One batch; returns whether more due work may be waiting (and slots are free for it). */
  async #turn(): Promise<boolean> {
    const engine = this.#engine;
    const { options, runs } = engine;
    if (this.#stopped || engine.state() !== 'running') return false;
    runs.startQueued((run) => engine.execute(run));
    const limit = Math.min(runs.free, options.claimBatchSize);
    this.#starved = limit === 0;
    if (limit === 0) return false; // a freed slot wakes the loop
    const localAt = options.clock.now();
    this.#retryAt = null;
    const poll = options.pollInterval;
    this.#nextPollAt = poll > 0 ? localAt + poll : null;
    try {
      const more = await this.#claim(limit, localAt);
      if (more) return true;
      this.#dueAt = await engine.store('nextDueAt', () => options.storage.nextDueAt());
    } catch (error) {
      if (!(error instanceof Error && error.name === 'SchedulerStorageError')) {
        options.logger.error('claim loop failed', { error });
      }
      // The due time is unknown now; a stale one in the past would spin the loop.
      this.#dueAt = null;
      this.#retryAt = options.clock.now() + STORAGE_RETRY_DELAY;
    }
    return false;
  }

  async #claim(limit: number, localAt: number): Promise<boolean> {
    const engine = this.#engine;
    const { options, specs, storeTime } = engine;
    const { storage, logger, missedRunGrace, historyLimit, instanceId } = options;
    const planned = new Map<string, JobSpec>();
    const skippedOf = new Map<string, readonly SkippedOccurrence[]>();
    const unreadable: string[] = [];
    const recordLimit = Math.min(historyLimit, MAX_SKIPPED_RECORDED);
    const budgetStart = performance.now();
    const plan = (job: DueJob, now: number): DuePlan | null => {
      // Out of time for this batch: the rest stays due for the next one (at least one is planned).
      if (planned.size > 0 && performance.now() - budgetStart > PLAN_BUDGET_MS) return null;
      let spec: JobSpec;
      try {
        spec = specs.get(job.specText, () => job.spec);
      } catch (error) {
        logger.error('job definition in storage is unreadable; canceling the job', {
          jobId: job.id,
          error,
        });
        unreadable.push(job.id);
        return null;
      }
      planned.set(job.id, spec);
      const step = planOccurrences(job.id, spec, job.nextRunAt, job.started, {
        now,
        missedRunGrace,
        recordLimit,
        busy: job.activeRuns > 0,
        maxExamined: CRON_OCCURRENCES_PER_PLAN,
      });
      if (step.skipped.length > 0) {
        skippedOf.set(job.id, step.skipped);
        logger.debug('skipped occurrences', {
          jobId: job.id,
          count: step.skipped.length,
          reason: step.skipped[step.skipped.length - 1]?.reason,
        });
      }
      return {
        run:
          step.run === null
            ? null
            : { scheduledAt: step.run, occurrenceId: occurrenceIdOf(job.id, step.run) },
        skipped: step.skipped,
        nextRunAt: step.nextRunAt,
      };
    };
    const result = await engine.store('claimDue', () =>
      storage.claimDue({
        owner: instanceId,
        now: storeTime.now(),
        limit,
        leaseDuration: options.leaseDuration,
        historyLimit,
        plan,
      }),
    );
    storeTime.observe(result.now, localAt);
    const heldSince = options.clock.now();
    for (const claimed of result.runs) {
      const removed = engine.removedDuringClaim.get(claimed.jobId);
      if (removed === claimed.createdAt) {
        void recordUnstarted(engine, claimed, 'canceled', 'removed', heldSince);
        continue;
      }
      const spec = planned.get(claimed.jobId) as JobSpec;
      engine.runs.start(activeRun({ ...claimed, spec, renewedAt: heldSince }), (run) =>
        engine.execute(run),
      );
    }
    const conflicts = new Set(result.conflicts);
    for (const [jobId, skipped] of skippedOf) {
      if (conflicts.has(jobId)) continue;
      for (const entry of skipped) {
        engine.events.emit('occurrence:skipped', () => ({
          instanceId,
          jobId,
          occurrenceId: entry.occurrenceId,
          scheduledAt: new Date(entry.scheduledAt),
          reason: entry.reason,
        }));
      }
    }
    for (const id of result.conflicts) {
      logger.error(
        "a job's next occurrence is already in its history (storage out of step); canceling the job",
        { jobId: id },
      );
    }
    for (const id of [...unreadable, ...result.conflicts]) {
      await engine.store('endJob', () => storage.endJob(id, 'canceled', storeTime.now()));
    }
    const more = result.examined >= limit;
    this.#starved = more && engine.runs.free === 0;
    return more && !this.#starved;
  }

  /** Sets the timer to the next reason to look at the store. */
  #arm(): void {
    if (this.#stopped || this.#engine.state() !== 'running') {
      this.#timer.cancel();
      return;
    }
    const { clock } = this.#engine.options;
    let target: number | null = null;
    const consider = (time: number | null): void => {
      if (time !== null && Number.isFinite(time) && (target === null || time < target)) {
        target = time;
      }
    };
    // Every reason to look needs a free slot to claim into (a freed slot re-arms the timer); a time
    // left in the past while the slots are busy would re-fire the timer at once, again and again.
    if (this.#engine.runs.free > 0) {
      consider(this.#dueAt === null ? null : this.#engine.storeTime.toLocal(this.#dueAt));
      consider(this.#nextPollAt);
      consider(this.#retryAt);
    }
    if (target !== null && target < clock.now()) target = clock.now();
    this.#timer.wakeAt(target);
  }
}
