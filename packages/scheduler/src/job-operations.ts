/**
 * Jobs operated in place: the checks `schedule()` and `update()` share, and `pause`, `resume`,
 * `trigger` and `update` themselves. Each goes through the storage contract, so it works across
 * every instance sharing one store.
 *
 * @module
 */
import { isTerminalState, type JobRecord, type JsonObject } from '@again/storage';
import { activeRun } from './active-runs.js';
import type { Engine } from './engine.js';
import {
  InvalidJobError,
  type JobIssue,
  JobNotFoundError,
  JobPausedError,
  JobUpdateConflictError,
} from './errors.js';
import type { JobInput, JobSpec } from './job-types.js';
import { occurrenceIdOf } from './occurrences.js';
import { parseJob } from './parse-job.js';
import { unknownRetrierNames } from './policy-retriers.js';
import { occurrenceAfterChange } from './schedule.js';
import { unknownSigningNames } from './signing.js';
import { inputFromSpec } from './spec-input.js';
import { specFromRecord } from './stored-spec.js';
import { checkJobUrls } from './url-check.js';

/**
 * The changes `update()` applies to a job: any top-level part of a job definition, each replacing
 * that part as a whole (the schedule, the request, the callback, the retry policy, the missed-run
 * and overlap policies, the metadata).
 *
 * @example
 * ```ts
 * const changes: JobChanges = { schedule: { every: 300_000 }, retryPolicy: { maxRetries: 2 } };
 * ```
 */
export type JobChanges = Partial<Omit<JobInput, 'id'>>;

/**
 * A job's current definition as input, from `scheduler.jobDefinition(id)`: every field explicit,
 * defaults included, so a part can be changed and handed back to `update()` (which replaces each
 * part it is given whole). Signing secrets are never part of it, only their names.
 *
 * @example
 * ```ts
 * const definition = await scheduler.jobDefinition('sync');
 * if (definition) {
 *   const headers = { ...definition.request.headers, authorization: 'Bearer next' };
 *   await scheduler.update('sync', { request: { ...definition.request, headers } });
 * }
 * ```
 */
export type JobDefinition = Omit<JobInput, 'id'>;

/**
 * The definition of the job with this id, finished or not, as input (see {@link JobDefinition}).
 *
 * @param engine - the engine
 * @param id - a checked job id
 * @returns the definition, or `undefined` when there is no job with this id
 */
export async function jobDefinition(
  engine: Engine,
  id: string,
): Promise<JobDefinition | undefined> {
  const job = await engine.store('getJob', () => engine.options.storage.getJob(id));
  return job === undefined ? undefined : inputFromSpec(specFromRecord(job.spec));
}

/** Most attempts of an update that loses its compare-and-set to concurrent updates. */
const UPDATE_ATTEMPTS = 5;

/**
 * What a definition needs beyond its own validity: registered retrier and signing names, and URLs
 * the egress accepts. Collects every problem.
 *
 * @param engine - the engine
 * @param spec - the parsed definition
 * @param signal - bounds the URL checks
 * @returns the problems and the first refusal's cause
 */
export async function checkDefinition(
  engine: Engine,
  spec: JobSpec,
  signal: AbortSignal | undefined,
): Promise<{ issues: JobIssue[]; cause: unknown }> {
  const o = engine.options;
  const issues: JobIssue[] = [...unknownRetrierNames(spec, o.retriers)];
  issues.push(...unknownSigningNames(spec, o.signingSecrets));
  const urls = await checkJobUrls(spec, o.check, o.isRefusal, signal);
  issues.push(...urls.issues);
  return { issues, cause: urls.cause };
}

/** The job, if it is unfinished; throws {@link JobNotFoundError} otherwise. */
async function unfinished(engine: Engine, id: string): Promise<JobRecord> {
  const job = await engine.store('getJob', () => engine.options.storage.getJob(id));
  if (job === undefined || isTerminalState(job.state)) throw new JobNotFoundError(id);
  return job;
}

/**
 * Pauses a job: it keeps its schedule and history and starts no run until resumed (runs in
 * flight finish).
 *
 * @returns `true` when the job is paused now, `false` when there is no unfinished job with this id
 */
export async function pauseJob(engine: Engine, id: string): Promise<boolean> {
  const { storage } = engine.options;
  const job = await engine.store('pauseJob', () => storage.pauseJob(id, engine.storeTime.now()));
  if (job === undefined || job.state !== 'paused') return false;
  engine.events.emit('job:paused', () => ({ instanceId: engine.options.instanceId, jobId: id }));
  return true;
}

/**
 * Resumes a paused job; occurrences that fell due meanwhile follow its missed-run policy.
 *
 * @returns the job's next occurrence when it was paused and is resumed; `undefined` when there was
 *   no paused job with this id
 */
export async function resumeJob(
  engine: Engine,
  id: string,
): Promise<{ nextRunAt: number | null } | undefined> {
  const { storage } = engine.options;
  const before = await engine.store('getJob', () => storage.getJob(id));
  if (before?.state !== 'paused') return undefined;
  const job = await engine.store('resumeJob', () => storage.resumeJob(id, engine.storeTime.now()));
  if (job === undefined || job.state === 'paused') return undefined;
  engine.events.emit('job:resumed', () => ({
    instanceId: engine.options.instanceId,
    jobId: id,
    nextRunAt: job.nextRunAt === null ? null : new Date(job.nextRunAt),
  }));
  return { nextRunAt: job.nextRunAt };
}

/**
 * Starts one extra run of a job now, with its own occurrence id (its idempotency key), leaving
 * the schedule as it is. The run starts at once when a slot is free, else first when one frees.
 *
 * @returns the triggered run's occurrence id
 * @throws {@link JobNotFoundError} when there is no unfinished job with this id
 * @throws {@link JobPausedError} when the job is paused
 */
export async function triggerJob(engine: Engine, id: string): Promise<string> {
  const { storage, instanceId, leaseDuration, clock } = engine.options;
  const job = await unfinished(engine, id);
  if (job.state === 'paused') throw new JobPausedError(id);
  const spec = specFromRecord(job.spec);
  const now = engine.storeTime.now();
  // Its own occurrence: the time, plus a random suffix (two triggers in one millisecond differ).
  const occurrenceId = `${occurrenceIdOf(id, now)}+trigger-${globalThis.crypto.randomUUID().slice(0, 8)}`;
  const started = await engine.store('startRun', () =>
    storage.startRun({
      jobId: id,
      occurrenceId,
      scheduledAt: now,
      owner: instanceId,
      leaseDuration,
      now,
    }),
  );
  if (started === undefined) throw new JobNotFoundError(id);
  if (started === null) {
    const state = (await engine.store('getJob', () => storage.getJob(id)))?.state;
    throw state === 'paused' ? new JobPausedError(id) : new JobNotFoundError(id);
  }
  const run = activeRun({ ...started, spec, trigger: true, renewedAt: clock.now() });
  // Ahead of new work, like a run taken over; started now if a slot is free.
  engine.runs.enqueue(run);
  engine.runs.startQueued((held) => engine.execute(held));
  return occurrenceId;
}

/**
 * Changes a job in place, atomically and fenced: the changes are applied to its current
 * definition, checked like a new job's (one `InvalidJobError` listing every problem, nothing
 * written), and stored only if nobody changed the job meanwhile (else it is read again and the
 * changes applied again). Runs already in flight finish with the definition they started with;
 * the history is kept. A changed schedule takes the job to its first occurrence after the latest
 * one already scheduled (see `occurrenceAfterChange`).
 *
 * @returns the job's next occurrence under the new definition
 * @throws {@link InvalidJobError} listing every problem
 * @throws {@link JobNotFoundError} when there is no unfinished job with this id
 * @throws {@link JobUpdateConflictError} when other updates kept winning the race
 */
export async function updateJob(
  engine: Engine,
  id: string,
  changes: JobChanges,
  signal: AbortSignal | undefined,
): Promise<{ nextRunAt: number | null }> {
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) {
    throw new InvalidJobError([{ path: '', message: 'changes must be an object' }]);
  }
  if ('id' in changes) {
    throw new InvalidJobError([{ path: 'id', message: 'a job id cannot be changed' }]);
  }
  const { storage } = engine.options;
  for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
    const job = await unfinished(engine, id);
    const current = specFromRecord(job.spec);
    const { spec } = parseJob({ ...inputFromSpec(current), ...changes, id });
    const { issues, cause } = await checkDefinition(engine, spec, signal);
    const now = engine.storeTime.now();
    let nextRunAt = job.nextRunAt;
    if ('schedule' in changes) {
      nextRunAt = occurrenceAfterChange(
        spec.schedule,
        await latestScheduled(engine, id),
        job.nextRunAt,
        now,
        job.started,
      );
      if (nextRunAt === null && job.activeRuns === 0 && job.state !== 'paused') {
        issues.push({ path: 'schedule', message: 'the schedule has no occurrence from now on' });
      }
    }
    if (issues.length > 0) {
      throw new InvalidJobError(issues, cause === undefined ? undefined : { cause });
    }
    signal?.throwIfAborted();
    const updated = await engine.store('updateJob', () =>
      storage.updateJob({
        id,
        expectedRevision: job.revision,
        spec: spec as unknown as JsonObject,
        nextRunAt,
        now,
      }),
    );
    if (updated === undefined) throw new JobNotFoundError(id);
    if (updated === null) continue; // changed (or ended) meanwhile: read it again
    engine.events.emit('job:updated', () => ({
      instanceId: engine.options.instanceId,
      jobId: id,
      nextRunAt: updated.nextRunAt === null ? null : new Date(updated.nextRunAt),
    }));
    return { nextRunAt: updated.nextRunAt };
  }
  throw new JobUpdateConflictError(id);
}

/** The latest scheduled (not triggered) occurrence in the job's ledger, or `null`. */
async function latestScheduled(engine: Engine, id: string): Promise<number | null> {
  const { storage } = engine.options;
  const [history, running] = await Promise.all([
    engine.store('history', () => storage.history(id)),
    engine.store('runningRuns', () => storage.runningRuns(id)),
  ]);
  let latest: number | null = null;
  for (const run of [...(history ?? []), ...running]) {
    if (!run.trigger && (latest === null || run.scheduledAt > latest)) latest = run.scheduledAt;
  }
  return latest;
}
