/**
 * The maintenance loop: retention. On its own timer it deletes history older than
 * `historyMaxAge`, history beyond `historyLimit` per job, and finished jobs not changed for
 * `finishedJobRetention`, so no store grows without bound.
 *
 * @module
 */
import type { Engine } from './engine.js';
import { createWakeTimer, type WakeTimer } from './timer.js';

/** The maintenance loop; see the module comment. */
export class MaintenanceLoop {
  readonly #engine: Engine;
  readonly #timer: WakeTimer;
  #stopped = false;

  constructor(engine: Engine) {
    this.#engine = engine;
    // The next pass is armed only once this one has finished: passes never overlap.
    this.#timer = createWakeTimer(engine.options.clock, () => {
      void this.pass().then(() => this.#arm());
    });
  }

  /** Starts the loop: the first pass runs one interval from now. */
  start(): void {
    this.#arm();
  }

  /** Stops the loop (a pass in flight finishes on its own). */
  stop(): void {
    this.#stopped = true;
    this.#timer.cancel();
  }

  /**
   * One retention pass (also run by the timer).
   *
   * @returns how many history entries and jobs were deleted
   */
  async pass(): Promise<{ history: number; jobs: number }> {
    const { options, storeTime } = this.#engine;
    const { storage, historyMaxAge, historyLimit, finishedJobRetention, logger } = options;
    const now = storeTime.now();
    let history = 0;
    let jobs = 0;
    try {
      history = await this.#engine.store('pruneHistory', () =>
        storage.pruneHistory({
          ...(historyMaxAge === null ? {} : { maxAge: historyMaxAge }),
          maxRowsPerJob: historyLimit,
          now,
        }),
      );
      if (finishedJobRetention !== null) {
        const before = now - finishedJobRetention;
        jobs = await this.#engine.store('pruneJobs', () =>
          storage.pruneJobs({ finishedBefore: Math.max(0, before) }),
        );
      }
    } catch {
      // Logged by the store call; the next pass tries again.
    }
    if (history > 0 || jobs > 0) {
      logger.debug('retention: deleted old history and finished jobs', { history, jobs });
    }
    return { history, jobs };
  }

  #arm(): void {
    const interval = this.#engine.options.maintenanceInterval;
    if (this.#stopped || interval <= 0) return;
    this.#timer.wakeAt(this.#engine.options.clock.now() + interval);
  }
}
