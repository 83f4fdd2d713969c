/**
 * `@again/scheduler`: a durable HTTP job scheduler. Interval, cron and one-off jobs with retries,
 * callbacks, status and history, kept in a storage adapter so jobs survive restarts and several
 * instances can share one store.
 *
 * @example
 * ```ts
 * import { createScheduler } from '@again/scheduler';
 * import { createMemoryStorage } from '@again/storage-memory';
 * import { createEgress } from '@again/url-guard';
 *
 * const scheduler = await createScheduler({ storage: createMemoryStorage(), egress: createEgress() });
 * await scheduler.schedule({ schedule: { every: 60_000 }, request: { url: 'https://example.com/' } });
 * ```
 *
 * @module
 */

export {
  JobExistsError,
  type JobState,
  type RunStatus,
  StorageError,
} from '@again/storage';
export type { CallbackPayload } from './callback.js';
export {
  InvalidJobError,
  type JobIssue,
  JobNotFoundError,
  JobPausedError,
  JobUpdateConflictError,
  ResponseBodyError,
  RetryableStatusError,
  SchedulerStoppedError,
  SchedulerStorageError,
  UnexpectedStatusError,
} from './errors.js';
export {
  diagnosticsChannelOf,
  type OccurrenceEventBase,
  type RunEventBase,
  SCHEDULER_EVENTS,
  type SchedulerEventBase,
  type SchedulerEventName,
  type SchedulerEvents,
} from './events.js';
export { type FetchFunction, SCHEDULER_HEADERS } from './http-client.js';
export type { JobChanges, JobDefinition } from './job-operations.js';
export {
  type CallbackInput,
  type CallbackMethod,
  type CallbackMethodInput,
  type CallbackSpec,
  type CronScheduleInput,
  type HeadersInput,
  HTTP_METHODS,
  type HttpMethod,
  type HttpMethodInput,
  type IntervalScheduleInput,
  type JitterStrategy,
  JOB_DEFAULTS,
  JOB_LIMITS,
  type JobInput,
  type JobSpec,
  type MissedRunPolicy,
  type OnceScheduleInput,
  type OverlapPolicy,
  type RequestInput,
  type RequestSpec,
  type RetryPolicyInput,
  type RetryPolicySpec,
  type ScheduleInput,
  type TimeInput,
} from './job-types.js';
export { createDefaultLogger, LOG_LEVELS, type LogLevel, type SchedulerLogger } from './logger.js';
export { occurrenceIdOf } from './occurrences.js';
export { parseJob } from './parse-job.js';
export type { Occurrence } from './request.js';
export type { ScheduleSpec } from './schedule.js';
export {
  createScheduler,
  type ScheduleOptions,
  type Scheduler,
  type StopOnSignalsOptions,
  type StopOptions,
} from './scheduler.js';
export {
  InvalidSchedulerOptionsError,
  type RestartPolicy,
  SCHEDULER_DEFAULTS,
  type SchedulerEgress,
  type SchedulerListeners,
  type SchedulerOptions,
  type StopPolicy,
} from './scheduler-options.js';
export { type SigningSecretsInput, WEBHOOK_HEADERS } from './signing.js';
export {
  type CallbackOutcome,
  InvalidQueryError,
  type JobHistoryQuery,
  type JobRun,
  type JobStatus,
  type JobStatusQuery,
} from './status.js';
export { MAX_TIMER_DELAY, type SchedulerClock, systemClock } from './timer.js';
