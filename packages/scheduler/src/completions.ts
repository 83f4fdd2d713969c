/**
 * Recording run outcomes: completions are written in batches (one store transaction for all the
 * outcomes that arrive in the same turn) and a failed write is retried with backoff, never
 * dropped in silence.
 *
 * @module
 */
import { type JobStore, type RunCompletion, STORAGE_LIMITS, StorageError } from '@again/storage';
import { SchedulerStorageError } from './errors.js';
import type { SchedulerLogger } from './logger.js';
import { type SchedulerClock, sleepOn } from './timer.js';

/** The lease a completion is written under; read when the batch is written (it may move on). */
export interface CompletionLease {
  readonly occurrenceId: string;
  readonly fence: number;
  readonly jobId: string;
}

/** A completion's own fields (the owner and the fence come from the writer and the lease). */
export type CompletionFields = Omit<RunCompletion, 'occurrenceId' | 'owner' | 'fence'>;

interface Pending {
  readonly lease: CompletionLease;
  readonly fields: CompletionFields;
  /** Whether to keep trying (false once the lease is lost: another instance takes the run). */
  readonly keepTrying: () => boolean;
  readonly resolve: (outcome: RecordOutcome) => void;
}

/**
 * What became of an outcome: written; refused by the store (the lease was taken over, the fence
 * moved on); or given up (logged) because the lease was lost while the store failed, or the
 * scheduler stopped.
 */
export type RecordOutcome = 'recorded' | 'refused' | 'given-up';

/** First retry delay after a failed write (ms); doubles up to {@link MAX_RETRY_DELAY}. */
const FIRST_RETRY_DELAY = 100;
const MAX_RETRY_DELAY = 5_000;

/** Writes run outcomes in batches; see the module comment. */
export class CompletionWriter {
  readonly #store: JobStore;
  readonly #owner: string;
  readonly #clock: SchedulerClock;
  readonly #logger: SchedulerLogger;
  readonly #stopped = new AbortController();
  #queue: Pending[] = [];
  #writing = false;

  constructor(store: JobStore, owner: string, clock: SchedulerClock, logger: SchedulerLogger) {
    this.#store = store;
    this.#owner = owner;
    this.#clock = clock;
    this.#logger = logger;
  }

  /**
   * Queues an outcome; it is written with the others of this turn.
   *
   * @param lease - the run's lease (its fence is read when the batch is written)
   * @param fields - status, time, result, reason, history limit
   * @param keepTrying - checked before each retry: `false` gives up (the lease is lost)
   * @returns what became of it
   */
  record(
    lease: CompletionLease,
    fields: CompletionFields,
    keepTrying: () => boolean,
  ): Promise<RecordOutcome> {
    if (this.#stopped.signal.aborted) {
      this.#giveUp([{ lease, fields, keepTrying, resolve: () => {} }], 'the scheduler stopped');
      return Promise.resolve('given-up');
    }
    return new Promise((resolve) => {
      this.#queue.push({ lease, fields, keepTrying, resolve });
      if (!this.#writing) {
        this.#writing = true;
        // Let every outcome of this turn of the event loop join the batch (a microtask would
        // write each run's outcome nearly alone: runs end at different microtask depths).
        setImmediate(() => void this.#write());
      }
    });
  }

  /** Gives up every outcome still waiting (at the end of `stop()`); each is logged. */
  close(): void {
    this.#stopped.abort();
    const left = this.#queue.splice(0);
    if (left.length > 0) this.#giveUp(left, 'the scheduler stopped');
  }

  async #write(): Promise<void> {
    let delay = FIRST_RETRY_DELAY;
    while (this.#queue.length > 0 && !this.#stopped.signal.aborted) {
      const batch = this.#queue.slice(0, STORAGE_LIMITS.batch);
      try {
        const recorded = await this.#store.completeRuns(
          batch.map((item) => this.#completion(item)),
        );
        this.#queue.splice(0, batch.length);
        for (const [index, item] of batch.entries()) {
          item.resolve(recorded[index] === true ? 'recorded' : 'refused');
        }
        delay = FIRST_RETRY_DELAY;
        continue;
      } catch (error) {
        if (error instanceof StorageError && error.code === 'ERR_STORAGE_INVALID_ARGUMENT') {
          await this.#isolate(batch);
          continue;
        }
        this.#logger.error('could not record run outcomes; retrying', {
          operation: 'completeRuns',
          runs: batch.length,
          retryIn: delay,
          error: new SchedulerStorageError('completeRuns', error),
        });
      }
      const hopeless = this.#queue.filter((item) => !item.keepTrying());
      if (hopeless.length > 0) {
        this.#queue = this.#queue.filter((item) => item.keepTrying());
        this.#giveUp(hopeless, 'its lease expired while the store failed');
      }
      try {
        await sleepOn(this.#clock, delay, this.#stopped.signal);
      } catch {
        break;
      }
      delay = Math.min(delay * 2, MAX_RETRY_DELAY);
    }
    this.#writing = false;
  }

  /**
   * A batch the store refused as invalid: write its outcomes one by one, so one bad outcome is
   * given up (and logged) without holding the others back.
   */
  async #isolate(batch: Pending[]): Promise<void> {
    this.#queue.splice(0, batch.length);
    for (const item of batch) {
      try {
        const [recorded] = await this.#store.completeRuns([this.#completion(item)]);
        item.resolve(recorded === true ? 'recorded' : 'refused');
      } catch (error) {
        if (error instanceof StorageError && error.code === 'ERR_STORAGE_INVALID_ARGUMENT') {
          this.#logger.error('the store refused a run outcome as invalid; it is not recorded', {
            jobId: item.lease.jobId,
            occurrenceId: item.lease.occurrenceId,
            error,
          });
          item.resolve('given-up');
        } else {
          // Not the outcome's fault: back in line with the others.
          this.#queue.unshift(item);
        }
      }
    }
  }

  #completion(item: Pending): RunCompletion {
    return {
      ...item.fields,
      occurrenceId: item.lease.occurrenceId,
      owner: this.#owner,
      fence: item.lease.fence,
    };
  }

  #giveUp(items: readonly Pending[], why: string): void {
    for (const item of items) {
      this.#logger.error(
        'gave up recording a run outcome; the run stays running in storage until its lease expires and another instance takes it over',
        {
          jobId: item.lease.jobId,
          occurrenceId: item.lease.occurrenceId,
          status: item.fields.status,
          why,
        },
      );
      item.resolve('given-up');
    }
  }
}
