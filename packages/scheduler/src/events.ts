/**
 * Typed events for the life of jobs and runs, delivered to `scheduler.on()` listeners and
 * published on `node:diagnostics_channel` (channel `again:scheduler:<event>`). Nothing is built
 * when nobody listens.
 *
 * @module
 */
import diagnostics from 'node:diagnostics_channel';
import type { Log } from './logger.js';

/** What every event carries. */
export interface SchedulerEventBase {
  /** The scheduler instance that emitted it. */
  readonly instanceId: string;
  /** The job. */
  readonly jobId: string;
}

/** What every event about one occurrence carries. */
export interface OccurrenceEventBase extends SchedulerEventBase {
  /** The occurrence id (the `Idempotency-Key`). */
  readonly occurrenceId: string;
  /** The occurrence's scheduled time. */
  readonly scheduledAt: Date;
}

/** What every event about a run carries. */
export interface RunEventBase extends OccurrenceEventBase {
  /** `true` for a run started by `trigger()`, not by the schedule. */
  readonly trigger: boolean;
}

/**
 * Every event, by name, with its payload.
 *
 * @example
 * ```ts
 * scheduler.on('run:failed', (event: SchedulerEvents['run:failed']) => alert(event.error));
 * ```
 */
export interface SchedulerEvents {
  /** A job was stored by `schedule()`. */
  'job:scheduled': SchedulerEventBase & { readonly nextRunAt: Date | null };
  /** A job's definition was changed by `update()`. */
  'job:updated': SchedulerEventBase & { readonly nextRunAt: Date | null };
  /** A job was paused. */
  'job:paused': SchedulerEventBase;
  /** A job was resumed. */
  'job:resumed': SchedulerEventBase & { readonly nextRunAt: Date | null };
  /** A job was removed. */
  'job:removed': SchedulerEventBase;
  /** An occurrence was recorded `skipped` without running (reason `missed…` or `overlap`). */
  'occurrence:skipped': OccurrenceEventBase & { readonly reason: string };
  /** A run started on this instance (claimed, triggered, or taken over). */
  'run:started': RunEventBase;
  /** An attempt of a run started. */
  'attempt:started': RunEventBase & {
    readonly attempt: number;
    readonly method: string;
    readonly url: string;
  };
  /** An attempt got a 2xx response. */
  'attempt:succeeded': RunEventBase & {
    readonly attempt: number;
    readonly statusCode: number;
    readonly durationMs: number;
  };
  /**
   * An attempt failed; `retryIn` is the delay before the next attempt, or `null` when none
   * follows (the run fails).
   */
  'attempt:failed': RunEventBase & {
    readonly attempt: number;
    readonly statusCode: number | null;
    readonly error: string;
    readonly durationMs: number;
    readonly retryIn: number | null;
  };
  /** A run succeeded (recorded). */
  'run:succeeded': RunEventBase & {
    readonly attempts: number;
    readonly statusCode: number | null;
    readonly durationMs: number;
  };
  /** A run failed after its attempts (recorded). */
  'run:failed': RunEventBase & {
    readonly attempts: number;
    readonly statusCode: number | null;
    readonly error: string;
    readonly durationMs: number;
  };
  /** A run was canceled (job removed or canceled, scheduler stopped), recorded. */
  'run:canceled': RunEventBase & { readonly reason: string };
  /** A callback was answered with a 2xx. */
  'callback:delivered': RunEventBase & {
    readonly attempts: number;
    readonly statusCode: number;
  };
  /** A callback was not delivered after its attempts. */
  'callback:failed': RunEventBase & {
    readonly attempts: number;
    readonly statusCode: number | null;
    readonly error: string;
  };
}

/**
 * The name of an event.
 *
 * @example
 * ```ts
 * const name: SchedulerEventName = 'run:succeeded';
 * ```
 */
export type SchedulerEventName = keyof SchedulerEvents;

/** Every event name, in a stable order. */
export const SCHEDULER_EVENTS: readonly SchedulerEventName[] = Object.freeze([
  'job:scheduled',
  'job:updated',
  'job:paused',
  'job:resumed',
  'job:removed',
  'occurrence:skipped',
  'run:started',
  'attempt:started',
  'attempt:succeeded',
  'attempt:failed',
  'run:succeeded',
  'run:failed',
  'run:canceled',
  'callback:delivered',
  'callback:failed',
] as const);

/**
 * The `node:diagnostics_channel` name of an event: `again:scheduler:<event>`.
 *
 * @param event - the event name
 * @returns the channel name
 * @example
 * ```ts
 * import diagnostics from 'node:diagnostics_channel';
 * diagnostics.subscribe(diagnosticsChannelOf('run:failed'), (event) => console.log(event));
 * ```
 */
export function diagnosticsChannelOf(event: SchedulerEventName): string {
  return `again:scheduler:${event}`;
}

const CHANNELS = new Map(
  SCHEDULER_EVENTS.map((name) => [name, diagnostics.channel(diagnosticsChannelOf(name))]),
);

type Listener<E extends SchedulerEventName> = (event: SchedulerEvents[E]) => void;

/** The scheduler's event hub; see the module comment. */
export class SchedulerEventHub {
  readonly #listeners = new Map<SchedulerEventName, Set<Listener<never>>>();
  readonly #log: Log;

  constructor(log: Log) {
    this.#log = log;
  }

  /**
   * Adds a listener.
   *
   * @param event - the event name
   * @param listener - called with each event's payload (a throwing listener is logged at warn)
   * @returns a function that removes the listener
   */
  on<E extends SchedulerEventName>(event: E, listener: Listener<E>): () => void {
    if (!CHANNELS.has(event)) {
      throw new TypeError(`unknown scheduler event "${String(event)}"`);
    }
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    // Each subscription is its own entry, so removing one never removes another.
    const entry: Listener<never> = (payload) => (listener as Listener<never>)(payload);
    set.add(entry);
    return () => {
      set?.delete(entry);
    };
  }

  /**
   * Whether anyone listens to `event` (a listener or a diagnostics-channel subscriber).
   *
   * @param event - the event name
   * @returns `true` when emitting it would reach someone
   */
  wanted(event: SchedulerEventName): boolean {
    return (
      (this.#listeners.get(event)?.size ?? 0) > 0 || CHANNELS.get(event)?.hasSubscribers === true
    );
  }

  /**
   * Emits an event; `build` runs only when someone listens.
   *
   * @param event - the event name
   * @param build - makes the payload
   */
  emit<E extends SchedulerEventName>(event: E, build: () => SchedulerEvents[E]): void {
    if (!this.wanted(event)) return;
    const payload = Object.freeze(build()) as SchedulerEvents[E];
    CHANNELS.get(event)?.publish(payload);
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as Listener<E>)(payload);
      } catch (error) {
        this.#log.warn('an event listener threw', { event, error });
      }
    }
  }
}
