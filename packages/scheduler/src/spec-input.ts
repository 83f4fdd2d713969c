/**
 * A stored definition turned back into job input, so `update()` can apply changes to it and check
 * the result exactly as `schedule()` checks a new job.
 *
 * @module
 */
import type {
  CallbackInput,
  JobInput,
  JobSpec,
  RetryPolicyInput,
  RetryPolicySpec,
  ScheduleInput,
} from './job-types.js';

/** A retry policy as input: only the fields its strategy allows (the parser refuses the rest). */
export function retryInputFromSpec(policy: RetryPolicySpec): RetryPolicyInput {
  const common = {
    retryStatusCodes: [...policy.retryStatusCodes],
    retryNetworkErrors: policy.retryNetworkErrors,
  };
  if (policy.retrier !== null) return { ...common, retrier: policy.retrier };
  const decorrelated = policy.jitterStrategy === 'decorrelated';
  return {
    ...common,
    maxRetries: policy.maxRetries,
    interval: policy.interval,
    ...(decorrelated ? {} : { backoff: policy.backoff }),
    ...(!decorrelated && policy.backoff === 'exponential'
      ? { backoffFactor: policy.backoffFactor }
      : {}),
    jitterStrategy: policy.jitterStrategy,
    ...(policy.jitterStrategy === 'additive' ? { jitter: policy.jitter } : {}),
    maxDelay: policy.maxDelay,
    timeout: policy.timeout,
    maxRetryAfter: policy.maxRetryAfter,
  };
}

function scheduleInputFromSpec(schedule: JobSpec['schedule']): ScheduleInput {
  switch (schedule.kind) {
    case 'once':
      return { at: schedule.at };
    case 'interval':
      return {
        every: schedule.every,
        startAt: schedule.startAt,
        endAt: schedule.endAt,
        maxRuns: schedule.maxRuns,
      };
    case 'cron':
      return {
        cron: schedule.expression,
        timezone: schedule.timezone,
        startAt: schedule.startAt,
        endAt: schedule.endAt,
        maxRuns: schedule.maxRuns,
      };
  }
}

/**
 * The job input that parses back into `spec` (without an id).
 *
 * @param spec - a stored, parsed definition
 * @returns the input
 */
export function inputFromSpec(spec: JobSpec): Omit<JobInput, 'id'> {
  const { request, callback } = spec;
  const body =
    request.body === null
      ? null
      : request.bodyEncoding === 'base64'
        ? new Uint8Array(Buffer.from(request.body, 'base64'))
        : request.body;
  let callbackInput: CallbackInput | null = null;
  if (callback !== null) {
    callbackInput = {
      url: callback.url,
      method: callback.method,
      headers: { ...callback.headers },
      timeout: callback.timeout,
      maxBodyBytes: callback.maxBodyBytes,
      signWith: callback.signWith,
      retryPolicy: retryInputFromSpec(callback.retry),
    } as CallbackInput;
  }
  return {
    schedule: scheduleInputFromSpec(spec.schedule),
    request: {
      method: request.method,
      url: request.url,
      headers: { ...request.headers },
      body,
      timeout: request.timeout,
      signWith: request.signWith,
    },
    callback: callbackInput,
    retryPolicy: retryInputFromSpec(spec.retry),
    missedRuns: { ...spec.missedRuns },
    overlap: spec.overlap,
    metadata: { ...spec.metadata },
  };
}
