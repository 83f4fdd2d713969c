/**
 * What the engine's parts share: the options, the held runs, the outcome writer, the definition
 * cache, the store's time, and the two operations every loop needs (start a run, call the store).
 * `createScheduler` builds it; the claim loop, the lease loop, the maintenance loop and the public
 * API each work through it.
 *
 * @module
 */
import type { ActiveRun, ActiveRuns } from './active-runs.js';
import type { CompletionWriter } from './completions.js';
import type { SchedulerEventHub } from './events.js';
import type { ResolvedOptions } from './scheduler-options.js';
import type { SpecCache } from './spec-cache.js';
import type { SchedulerClock } from './timer.js';

/** The scheduler's life: running, stopping (draining), stopped. */
export type EngineState = 'running' | 'stopping' | 'stopped';

/**
 * The store's time as this instance sees it. A store that keeps time itself (its
 * `capabilities.clock`) reports the time it used with each claim and renewal; the difference to the
 * local clock is kept, so that due times from the store are waited for on the local timer.
 */
export class StoreTime {
  readonly #clock: SchedulerClock;
  readonly #keepsTime: boolean;
  #skew = 0;

  constructor(clock: SchedulerClock, keepsTime: boolean) {
    this.#clock = clock;
    this.#keepsTime = keepsTime;
  }

  /** The current time on the store's clock (the local clock for a store without one). */
  now(): number {
    return this.#clock.now() + this.#skew;
  }

  /**
   * Notes the time a store reported for a call made at `localAt`.
   *
   * @param storeAt - the `now` the store returned
   * @param localAt - the local time when the call was made
   */
  observe(storeAt: number, localAt: number): void {
    if (this.#keepsTime) this.#skew = storeAt - localAt;
  }

  /**
   * A time on the store's clock, on the local clock.
   *
   * @param storeAt - a time from the store
   * @returns the same moment on the local clock
   */
  toLocal(storeAt: number): number {
    return storeAt - this.#skew;
  }
}

/** The engine's shared parts; see the module comment. */
export interface Engine {
  readonly options: ResolvedOptions;
  readonly runs: ActiveRuns;
  readonly completions: CompletionWriter;
  readonly specs: SpecCache;
  readonly storeTime: StoreTime;
  /** Listeners and diagnostics channels of the scheduler's events. */
  readonly events: SchedulerEventHub;
  /** Jobs removed while a claim was in flight (id → incarnation): their claimed runs never start. */
  readonly removedDuringClaim: Map<string, number>;
  /** The scheduler's life. */
  state(): EngineState;
  /** Runs a held run to its recorded end (the slot is taken by the caller). */
  execute(run: ActiveRun): Promise<void>;
  /** A storage call whose failure is logged and thrown as `SchedulerStorageError`. */
  store<T>(
    operation: string,
    call: () => Promise<T>,
    context?: Record<string, unknown>,
  ): Promise<T>;
}
