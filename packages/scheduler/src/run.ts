/**
 * One run: its request (with retries), the record of its outcome, then its callback.
 *
 * @module
 */
import type { JsonObject } from '@again/storage';
import type { ActiveRun } from './active-runs.js';
import type { CallbackPayload } from './callback.js';
import type { Engine } from './engine.js';
import {
  type AttemptObserver,
  type ExecuteDeps,
  executeOccurrence,
  type RunOutcome,
} from './request.js';

/** What a run needs beyond the engine: its request dependencies and the callback sender. */
export interface RunDeps {
  /** The request dependencies for a run aborted by `signal`. */
  readonly deps: (signal: AbortSignal) => ExecuteDeps;
  /** Sends the callback of a recorded run (outside the run's slot). */
  readonly deliver: (run: ActiveRun, payload: CallbackPayload) => void;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A payload for a run recorded without (fully) executing it.
 *
 * @param run - the run's identity and start
 * @param finishedAt - when it ended
 * @param error - why
 * @param canceled - whether it counts as canceled
 * @returns the payload
 */
export function syntheticPayload(
  run: { jobId: string; occurrenceId: string; scheduledAt: number; startedAt: number | null },
  finishedAt: number,
  error: string,
  canceled: boolean,
): CallbackPayload {
  const iso = (time: number): string => new Date(time).toISOString();
  const payload: CallbackPayload = {
    job_id: run.jobId,
    scheduled_at: iso(run.scheduledAt),
    started_at: iso(run.startedAt ?? run.scheduledAt),
    finished_at: iso(finishedAt),
    attempts: 0,
    success: false,
    error,
    occurrence_id: run.occurrenceId,
  };
  return canceled ? { ...payload, canceled: true } : payload;
}

/** Turns a run's attempts into `attempt:*` events; `undefined` when nobody listens to them. */
function attemptObserver(engine: Engine, run: ActiveRun): AttemptObserver | undefined {
  const { events } = engine;
  if (
    !events.wanted('attempt:started') &&
    !events.wanted('attempt:succeeded') &&
    !events.wanted('attempt:failed')
  ) {
    return undefined;
  }
  const base = () => ({
    instanceId: engine.options.instanceId,
    jobId: run.jobId,
    occurrenceId: run.occurrenceId,
    scheduledAt: new Date(run.scheduledAt),
    trigger: run.trigger,
  });
  return {
    started: (attempt) =>
      events.emit('attempt:started', () => ({
        ...base(),
        attempt,
        method: run.spec.request.method,
        url: run.spec.request.url,
      })),
    succeeded: (attempt, statusCode, durationMs) =>
      events.emit('attempt:succeeded', () => ({ ...base(), attempt, statusCode, durationMs })),
    failed: (attempt, statusCode, error, durationMs, retryIn) =>
      events.emit('attempt:failed', () => ({
        ...base(),
        attempt,
        statusCode,
        error,
        durationMs,
        retryIn,
      })),
  };
}

/**
 * Runs a held run to its recorded end: sends the request under the job's retry policy, records
 * the outcome (unless the lease was lost), then hands the payload to the callback sender.
 *
 * @param engine - the engine
 * @param run - the run (its slot is taken)
 * @param runDeps - request dependencies and the callback sender
 */
export async function runToEnd(engine: Engine, run: ActiveRun, runDeps: RunDeps): Promise<void> {
  const { clock, logger, historyLimit } = engine.options;
  const occurrence = {
    jobId: run.jobId,
    scheduledAt: run.scheduledAt,
    occurrenceId: run.occurrenceId,
  };
  const trigger = run.trigger;
  engine.events.emit('run:started', () => ({
    instanceId: engine.options.instanceId,
    jobId: run.jobId,
    occurrenceId: run.occurrenceId,
    scheduledAt: new Date(run.scheduledAt),
    trigger,
  }));
  let outcome: RunOutcome;
  try {
    const deps = runDeps.deps(run.controller.signal);
    const observer = attemptObserver(engine, run);
    outcome = await executeOccurrence(
      run.spec,
      occurrence,
      observer === undefined ? deps : { ...deps, observer },
    );
  } catch (error) {
    // executeOccurrence reports failures in its outcome; this is a defect, not a run failure.
    logger.error('run failed unexpectedly', { jobId: run.jobId, error });
    const now = clock.now();
    const canceled = run.controller.signal.aborted;
    outcome = {
      payload: syntheticPayload({ ...occurrence, startedAt: now }, now, errorText(error), canceled),
      success: false,
      canceled,
    };
  }
  if (run.cancelReason === 'stopped') {
    // Aborted by stop(): not an outcome. Its lease is given back, and the occurrence is run again
    // by the instance that takes it over (with the same idempotency key).
    return;
  }
  if (run.leaseLost) {
    logger.warn('run finished after its lease was lost; its result is not recorded', {
      jobId: run.jobId,
      occurrenceId: run.occurrenceId,
    });
    return;
  }
  const status = outcome.canceled ? 'canceled' : outcome.success ? 'succeeded' : 'failed';
  const finishedAt = clock.now();
  run.recording = true;
  const recorded = await engine.completions.record(
    run,
    {
      status,
      finishedAt,
      result: outcome.payload as unknown as JsonObject,
      ...(status === 'canceled' ? { reason: run.cancelReason ?? 'canceled' } : {}),
      historyLimit,
    },
    () => !run.leaseLost,
  );
  if (recorded === 'refused') {
    logger.warn('run result refused by storage: another instance took the run over', {
      jobId: run.jobId,
      occurrenceId: run.occurrenceId,
    });
  }
  if (recorded !== 'recorded') return;
  const { payload } = outcome;
  const durationMs = finishedAt - Date.parse(payload.started_at);
  const base = {
    instanceId: engine.options.instanceId,
    jobId: run.jobId,
    occurrenceId: run.occurrenceId,
    scheduledAt: new Date(run.scheduledAt),
    trigger,
  };
  if (status === 'succeeded') {
    engine.events.emit('run:succeeded', () => ({
      ...base,
      attempts: payload.attempts,
      statusCode: payload.status_code ?? null,
      durationMs,
    }));
  } else if (status === 'failed') {
    engine.events.emit('run:failed', () => ({
      ...base,
      attempts: payload.attempts,
      statusCode: payload.status_code ?? null,
      error: payload.error ?? 'failed',
      durationMs,
    }));
  } else {
    engine.events.emit('run:canceled', () => ({ ...base, reason: run.cancelReason ?? 'canceled' }));
  }
  if (logger.enabled('info')) {
    logger.info('run finished', {
      jobId: run.jobId,
      occurrenceId: run.occurrenceId,
      status,
      attempts: payload.attempts,
      durationMs,
      ...(payload.status_code === undefined ? {} : { statusCode: payload.status_code }),
      ...(payload.error === undefined ? {} : { error: payload.error }),
    });
  }
  runDeps.deliver(run, outcome.payload);
}

/**
 * Records a held run this instance will not execute: its job ended, its definition is
 * unreadable, or its missed-run policy says not to run it again after a takeover.
 *
 * @param engine - the engine
 * @param run - the run's lease and identity
 * @param status - `canceled` or `abandoned`
 * @param reason - why (stored as the entry's reason)
 * @param heldSince - when this instance got the lease (recording is given up once it expired)
 */
export async function recordUnstarted(
  engine: Engine,
  run: {
    jobId: string;
    occurrenceId: string;
    scheduledAt: number;
    startedAt: number | null;
    fence: number;
  },
  status: 'canceled' | 'abandoned',
  reason: string,
  heldSince: number,
): Promise<void> {
  const { clock, leaseDuration } = engine.options;
  const now = clock.now();
  const error =
    status === 'abandoned'
      ? 'the instance running this occurrence lost its lease; not run again (missed-run policy skip)'
      : `canceled: ${reason}`;
  const recorded = await engine.completions.record(
    run,
    {
      status,
      finishedAt: now,
      result: syntheticPayload(run, now, error, status === 'canceled') as unknown as JsonObject,
      reason,
      historyLimit: engine.options.historyLimit,
    },
    () => clock.now() - heldSince < leaseDuration,
  );
  if (recorded === 'refused') {
    engine.options.logger.warn('could not record a run: its lease was taken over again', {
      jobId: run.jobId,
      occurrenceId: run.occurrenceId,
    });
  }
}
