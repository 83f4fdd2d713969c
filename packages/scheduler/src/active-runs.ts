/**
 * The runs this instance holds: their leases, their abort controllers and the concurrency slots
 * they take.
 *
 * @module
 */
import { SchedulerStoppedError } from './errors.js';
import type { JobSpec } from './job-types.js';

/** A run this instance holds a lease on, from its claim until its outcome is recorded. */
export interface ActiveRun {
  readonly jobId: string;
  /** When the job's incarnation was created (identifies its definition). */
  readonly createdAt: number;
  readonly occurrenceId: string;
  readonly scheduledAt: number;
  /** The definition the run started with (an update never changes a run in flight). */
  readonly spec: JobSpec;
  /** Started by a trigger, not by the schedule. */
  readonly trigger: boolean;
  /** The fence the lease is held under (a takeover of one's own late run moves it on). */
  fence: number;
  /** When the lease was last granted or renewed, on the scheduler's clock. */
  renewedAt: number;
  /** Aborted when the run must stop: job removed or canceled, lease lost, hard stop. */
  readonly controller: AbortController;
  /** Why the run was aborted, for its record (`removed`, `stopped`, `lease-lost`, …). */
  cancelReason: string | null;
  /** The lease is gone: nothing may be recorded for this run any more. */
  leaseLost: boolean;
  /** Taken over from a dead instance and waiting for a free slot. */
  queued: boolean;
  /** Its request is done and its outcome is being recorded. */
  recording: boolean;
  /** Settles when the run has left its slot (recorded, refused or given up). */
  done: Promise<void>;
}

/**
 * Creates the record of a run about to start.
 *
 * @param fields - the run's identity, definition, fence and lease time
 * @returns an active run with a fresh controller
 */
export function activeRun(
  fields: Pick<
    ActiveRun,
    'jobId' | 'createdAt' | 'occurrenceId' | 'scheduledAt' | 'spec' | 'fence' | 'renewedAt'
  > & { readonly trigger?: boolean },
): ActiveRun {
  return {
    ...fields,
    trigger: fields.trigger ?? false,
    controller: new AbortController(),
    cancelReason: null,
    leaseLost: false,
    queued: false,
    recording: false,
    done: Promise.resolve(),
  };
}

/**
 * Aborts a run once, with a reason its record will carry.
 *
 * @param run - the run
 * @param reason - `removed`, `canceled`, `stopped`, `lease-lost`, …
 */
export function abortRun(run: ActiveRun, reason: string): void {
  if (run.controller.signal.aborted) return;
  run.cancelReason = reason;
  run.controller.abort(
    reason === 'stopped' ? new SchedulerStoppedError() : new DOMException(reason, 'AbortError'),
  );
}

/**
 * The registry of held runs. A run takes a slot from its claim until its outcome is recorded (or
 * recording is given up); taken-over runs wait in a queue, with their leases renewed, until a
 * slot is free.
 */
export class ActiveRuns {
  readonly #concurrency: number;
  readonly #runs = new Map<string, ActiveRun>();
  readonly #queue: ActiveRun[] = [];
  readonly #idleWaiters = new Set<() => void>();
  readonly #onSlotFree: () => void;
  #executing = 0;

  /**
   * @param concurrency - most runs executing at once
   * @param onSlotFree - called whenever a slot frees
   */
  constructor(concurrency: number, onSlotFree: () => void) {
    this.#concurrency = concurrency;
    this.#onSlotFree = onSlotFree;
  }

  /** Slots free for new claims (queued takeovers come first). */
  get free(): number {
    return Math.max(0, this.#concurrency - this.#executing - this.#queue.length);
  }

  /** Taken-over runs waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Every held run (executing, recording or queued). */
  get size(): number {
    return this.#runs.size;
  }

  /** Every held run. */
  values(): IterableIterator<ActiveRun> {
    return this.#runs.values();
  }

  get(occurrenceId: string): ActiveRun | undefined {
    return this.#runs.get(occurrenceId);
  }

  /**
   * Starts a run now, taking a slot.
   *
   * @param run - the run
   * @param execute - runs it to its recorded end
   */
  start(run: ActiveRun, execute: (run: ActiveRun) => Promise<void>): void {
    this.#runs.set(run.occurrenceId, run);
    this.#executing++;
    run.done = execute(run).finally(() => this.#release(run));
  }

  /**
   * Holds a taken-over run until a slot frees; {@link startQueued} starts it.
   *
   * @param run - the run
   */
  enqueue(run: ActiveRun): void {
    run.queued = true;
    this.#runs.set(run.occurrenceId, run);
    this.#queue.push(run);
  }

  /**
   * Starts queued runs while slots are free.
   *
   * @param execute - runs one to its recorded end
   */
  startQueued(execute: (run: ActiveRun) => Promise<void>): void {
    while (this.#queue.length > 0 && this.#executing < this.#concurrency) {
      const run = this.#queue.shift() as ActiveRun;
      run.queued = false;
      this.#executing++;
      run.done = execute(run).finally(() => this.#release(run));
    }
  }

  /**
   * Drops queued runs that were never started: all of them (at stop: they keep their leases until
   * those expire), or those `which` selects (a removed job).
   *
   * @param which - selects the runs to drop; absent: all
   * @returns the dropped runs
   */
  dropQueued(which: (run: ActiveRun) => boolean = () => true): ActiveRun[] {
    const dropped = this.#queue.filter(which);
    if (dropped.length === 0) return dropped;
    this.#queue.splice(0, this.#queue.length, ...this.#queue.filter((run) => !which(run)));
    for (const run of dropped) this.#runs.delete(run.occurrenceId);
    this.#notifyIdle();
    return dropped;
  }

  /** Resolves once no run is held. */
  whenIdle(): Promise<void> {
    if (this.#runs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  #release(run: ActiveRun): void {
    this.#runs.delete(run.occurrenceId);
    this.#executing--;
    this.#notifyIdle();
    this.#onSlotFree();
  }

  #notifyIdle(): void {
    if (this.#runs.size > 0) return;
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters.clear();
  }
}
