/**
 * The lease loop: on its own timer, whatever the claim loop is doing, it renews the leases of
 * every run this instance holds (batched: one store call per 10,000 runs), aborts runs whose
 * lease was lost or whose job was removed, and takes over runs whose owner's lease expired (a
 * dead or stalled instance).
 *
 * @module
 */
import { isTerminalState, STORAGE_LIMITS, type TakenOverRun } from '@again/storage';
import { type ActiveRun, abortRun, activeRun } from './active-runs.js';
import type { Engine } from './engine.js';
import type { JobSpec } from './job-types.js';
import { recordUnstarted } from './run.js';
import { specFromRecord } from './stored-spec.js';
import { createWakeTimer, type WakeTimer } from './timer.js';

/** The lease loop; see the module comment. */
export class LeaseLoop {
  readonly #engine: Engine;
  readonly #timer: WakeTimer;
  /**
   * Renew every quarter of the lease: a renewal may be missed (a stalled store, a busy machine)
   * and the lease still has half its length to go.
   */
  readonly #renewEvery: number;
  #nextRenewAt: number;
  /** When to look for expired leases next; `null`: only at startup (polling is off). */
  #nextTakeoverAt: number | null;
  #busy: Promise<void> | null = null;
  #stopped = false;
  /** The longest time between two successful renewals of a held run (for monitoring). */
  #longestGap = 0;

  constructor(engine: Engine) {
    this.#engine = engine;
    const { clock, leaseDuration } = engine.options;
    this.#renewEvery = Math.max(1, Math.floor(leaseDuration / 4));
    this.#timer = createWakeTimer(clock, () => void this.#tick());
    this.#nextRenewAt = clock.now() + this.#renewEvery;
    this.#nextTakeoverAt = clock.now();
  }

  /** The longest time between two successful lease renewals of a run held so far (ms). */
  get longestRenewalGap(): number {
    return this.#longestGap;
  }

  /** Starts the loop: a first takeover pass at once. */
  start(): void {
    void this.#tick();
  }

  /** A run started: make sure renewals are scheduled (a quarter of a lease from now at the latest). */
  held(): void {
    if (this.#stopped) return;
    const now = this.#engine.options.clock.now();
    // After an idle spell the last planned renewal is in the past: start a fresh period.
    if (this.#nextRenewAt < now) this.#nextRenewAt = now + this.#renewEvery;
    if (this.#busy === null) this.#arm();
  }

  /** Stops the loop (a pass in flight finishes on its own). */
  stop(): void {
    this.#stopped = true;
    this.#timer.cancel();
  }

  async #tick(): Promise<void> {
    if (this.#stopped || this.#busy !== null) return;
    this.#busy = this.#pass().finally(() => {
      this.#busy = null;
      this.#arm();
    });
    await this.#busy;
  }

  async #pass(): Promise<void> {
    const { clock, pollInterval } = this.#engine.options;
    const now = clock.now();
    if (now >= this.#nextRenewAt) {
      this.#nextRenewAt = now + this.#renewEvery;
      if (this.#engine.runs.size > 0) await this.#renew();
    }
    if (
      this.#nextTakeoverAt !== null &&
      clock.now() >= this.#nextTakeoverAt &&
      this.#engine.state() === 'running'
    ) {
      this.#nextTakeoverAt = pollInterval > 0 ? clock.now() + pollInterval : null;
      await this.#takeOver();
    }
  }

  #arm(): void {
    if (this.#stopped) return;
    let target = this.#engine.runs.size > 0 ? this.#nextRenewAt : null;
    // No takeovers once stopping: their due time, left in the past, would re-fire the timer at once.
    const takeoverAt = this.#engine.state() === 'running' ? this.#nextTakeoverAt : null;
    if (takeoverAt !== null && (target === null || takeoverAt < target)) target = takeoverAt;
    this.#timer.wakeAt(target);
  }

  /** Renews every held lease, in batches; aborts the runs whose lease or job is gone. */
  async #renew(): Promise<void> {
    const { options, runs, storeTime } = this.#engine;
    const { storage, logger, clock, leaseDuration, instanceId } = options;
    const held = [...runs.values()].filter((run) => !run.leaseLost);
    for (let start = 0; start < held.length; start += STORAGE_LIMITS.batch) {
      const batch = held.slice(start, start + STORAGE_LIMITS.batch);
      const localAt = clock.now();
      let lost: ReadonlyArray<{ occurrenceId: string; reason: string }>;
      try {
        const renewal = await storage.renewLeases({
          owner: instanceId,
          leases: batch.map((run) => ({ occurrenceId: run.occurrenceId, fence: run.fence })),
          now: storeTime.now(),
          leaseDuration,
        });
        storeTime.observe(renewal.now, localAt);
        lost = renewal.lost;
      } catch (error) {
        logger.error('scheduler storage operation failed', {
          operation: 'renewLeases',
          runs: batch.length,
          error,
        });
        // Without a renewal for a whole lease, another instance may have taken the run over.
        for (const run of batch) {
          if (clock.now() - run.renewedAt >= leaseDuration) this.#lose(run, 'lease-lost');
        }
        continue;
      }
      const lostById = new Map(lost.map((entry) => [entry.occurrenceId, entry.reason]));
      for (const run of batch) {
        const reason = lostById.get(run.occurrenceId);
        if (reason === 'taken-over' || reason === 'gone') {
          logger.warn('lost the lease of a running occurrence; aborting it', {
            jobId: run.jobId,
            occurrenceId: run.occurrenceId,
            reason,
          });
          this.#lose(run, 'lease-lost');
          continue;
        }
        this.#longestGap = Math.max(this.#longestGap, localAt - run.renewedAt);
        run.renewedAt = localAt;
        // Renewed, but the job was removed or canceled (possibly on another instance).
        if (reason === 'removed' || reason === 'canceled') abortRun(run, reason);
      }
    }
  }

  #lose(run: ActiveRun, reason: string): void {
    run.leaseLost = true;
    abortRun(run, reason);
  }

  /** Takes over runs whose owner's lease expired. */
  async #takeOver(): Promise<void> {
    const engine = this.#engine;
    const { options, runs, storeTime } = engine;
    const { storage, leaseDuration, claimBatchSize, instanceId, concurrency, clock } = options;
    // Taken-over runs wait for a slot with their leases renewed; hold at most `concurrency`.
    const limit = Math.min(claimBatchSize, concurrency - runs.queued);
    if (limit <= 0) return;
    const localAt = clock.now();
    let taken: TakenOverRun[];
    try {
      taken = await engine.store('claimExpiredRuns', () =>
        storage.claimExpiredRuns({
          owner: instanceId,
          now: storeTime.now(),
          leaseDuration,
          limit,
        }),
      );
    } catch {
      return; // logged; the next pass tries again
    }
    for (const { job, run, previousOwner } of taken) {
      const local = runs.get(run.occurrenceId);
      if (local !== undefined) {
        // Our own run whose renewal came late: it keeps running under the new fence.
        local.fence = run.fence;
        local.renewedAt = localAt;
        continue;
      }
      let spec: JobSpec | null = null;
      try {
        spec = specFromRecord(job.spec);
      } catch (error) {
        options.logger.error('job definition in storage is unreadable', { jobId: job.id, error });
      }
      const lease = { ...run, startedAt: run.startedAt };
      if (spec === null || isTerminalState(job.state)) {
        const reason = spec === null ? 'unreadable job definition' : `job ${job.state}`;
        void recordUnstarted(engine, lease, 'canceled', reason, localAt);
      } else if (spec.missedRuns.policy === 'skip') {
        void recordUnstarted(engine, lease, 'abandoned', 'owner-lost', localAt);
      } else {
        options.logger.info('re-running an occurrence whose owner lost its lease', {
          jobId: job.id,
          occurrenceId: run.occurrenceId,
          previousOwner,
        });
        runs.enqueue(
          activeRun({
            jobId: run.jobId,
            createdAt: job.createdAt,
            occurrenceId: run.occurrenceId,
            scheduledAt: run.scheduledAt,
            spec,
            fence: run.fence,
            renewedAt: localAt,
          }),
        );
      }
    }
    if (runs.queued > 0) {
      runs.startQueued((active) => engine.execute(active));
      this.held();
    }
  }
}
