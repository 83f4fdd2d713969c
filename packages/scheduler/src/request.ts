/**
 * One run of a job: its request, sent through ky over the egress `fetch`, retried under the
 * job's policy by `@again/retry`, and the payload that records what happened.
 *
 * @module
 */
import type { Retrier, SleepFunction } from '@again/retry';
import type { CallbackPayload } from './callback.js';
import {
  describeError,
  describeRunFailure,
  policyCallOptions,
  type RefusalCheck,
  statusOutcome,
} from './classify.js';
import { type FetchFunction, SCHEDULER_HEADERS, send } from './http-client.js';
import { JOB_DEFAULTS, type JobSpec } from './job-types.js';
import type { SchedulerLogger } from './logger.js';
import { resolveRetrier } from './policy-retriers.js';
import { bodyText, type CapturedBody, captureBody } from './response-body.js';
import { missingSecretMessage, type SigningSecrets, webhookHeaders } from './signing.js';

/**
 * One occurrence of a job: its identity is `jobId` + scheduled time.
 *
 * @example
 * ```ts
 * const occurrence: Occurrence = { jobId, scheduledAt, occurrenceId: occurrenceIdOf(jobId, scheduledAt) };
 * ```
 */
export interface Occurrence {
  readonly jobId: string;
  /** Scheduled time, epoch ms. */
  readonly scheduledAt: number;
  /** Stable id of the occurrence, sent as `Idempotency-Key`. */
  readonly occurrenceId: string;
}

/**
 * What {@link executeOccurrence} and `deliverCallback` need from the scheduler.
 *
 * @example
 * ```ts
 * const deps: ExecuteDeps = { fetch: egress.fetch, isRefusal: egress.isRefusal, now: Date.now, signal, logger, retriers };
 * ```
 */
export interface ExecuteDeps {
  /** The egress fetch; ky runs on top of it. */
  readonly fetch: FetchFunction;
  /**
   * The egress's refusal check (`egress.isRefusal` from `@again/url-guard`): an attempt it calls
   * a policy refusal is never retried. Without it nothing counts as a refusal, and an error is
   * retried only when it is a transient network failure.
   */
  readonly isRefusal?: RefusalCheck | null | undefined;
  /** Clock, epoch ms. */
  readonly now: () => number;
  /**
   * For {@link executeOccurrence}: aborted when the run must stop (job removed, hard stop).
   * For `deliverCallback`: aborts the delivery; pass a signal that is *not* the run's, so a
   * cancelled run can still report `canceled: true` to its callback.
   */
  readonly signal: AbortSignal;
  readonly logger: SchedulerLogger;
  /** Retriers registered on the scheduler by name. */
  readonly retriers: ReadonlyMap<string, Retrier>;
  /**
   * Retriers built for data-defined policies, keyed by the policy's delay and timeout fields and
   * reused by every later run with the same values (a retrier serves concurrent calls and keeps
   * no per-call state). Give one map per set of `now`/`logger`/`sleep`/`random` (the cached
   * retriers keep those); without it every run builds its own retrier.
   */
  readonly policyRetriers?: Map<string, Retrier> | undefined;
  /** Sleep used between retries of data-defined policies (tests inject an instant one). */
  readonly sleep?: SleepFunction | undefined;
  /** Randomness for jitter (tests inject a fixed one). */
  readonly random?: (() => number) | undefined;
  /**
   * Signing secrets registered on the scheduler by name (`signingSecrets`); a job's `signWith`
   * picks one. A signed job whose name is missing here is never sent unsigned: its run fails.
   */
  readonly signingSecrets?: SigningSecrets | undefined;
  /** Told about each attempt; absent when nobody watches (it then costs nothing). */
  readonly observer?: AttemptObserver | undefined;
}

/**
 * The outcome of {@link executeOccurrence}.
 *
 * @example
 * ```ts
 * const { payload, success, canceled } = await executeOccurrence(spec, occurrence, deps);
 * ```
 */
export interface RunOutcome {
  readonly payload: CallbackPayload;
  readonly success: boolean;
  readonly canceled: boolean;
}

/**
 * Watches the attempts of one run (the scheduler turns these calls into `attempt:*` events).
 *
 * @example
 * ```ts
 * const observer: AttemptObserver = {
 *   started: (attempt) => console.log('attempt', attempt),
 *   succeeded: (attempt, status) => console.log(attempt, status),
 *   failed: (attempt, status, error, durationMs, retryIn) => console.log(attempt, error, retryIn),
 * };
 * ```
 */
export interface AttemptObserver {
  /** An attempt starts. */
  started(attempt: number): void;
  /** An attempt got a 2xx response. */
  succeeded(attempt: number, statusCode: number, durationMs: number): void;
  /**
   * An attempt failed; `retryIn` is the delay before the next one, or `null` when none follows.
   */
  failed(
    attempt: number,
    statusCode: number | null,
    error: string,
    durationMs: number,
    retryIn: number | null,
  ): void;
}

/** The last response an attempt received, and the start of its body. */
interface LastResponse {
  readonly status: number;
  readonly captured: CapturedBody;
  /** Which attempt received it. */
  readonly attempt: number;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function requestBody(spec: JobSpec): string | Uint8Array<ArrayBuffer> | undefined {
  const { body, bodyEncoding } = spec.request;
  if (body === null) return undefined;
  return bodyEncoding === 'base64' ? new Uint8Array(Buffer.from(body, 'base64')) : body;
}

/**
 * Runs one occurrence: sends the job's request through ky over the egress fetch, retrying per
 * the job's policy, and returns the payload. Never throws for run failures.
 *
 * Every attempt sends `Idempotency-Key: <occurrenceId>`, `X-Again-Scheduled-At: <ISO time>` and
 * `X-Again-Attempt: <n>`. With `request.signWith`, every attempt is also signed (Standard
 * Webhooks): `webhook-id` (the occurrence id), `webhook-timestamp` (Unix seconds from
 * `deps.now`, per attempt) and `webhook-signature` over the exact body sent; when that name has
 * no secret in `deps.signingSecrets`, nothing is sent and the run fails.
 *
 * Each attempt is bounded by its own signal from `@again/retry`, which aborts on the attempt's
 * timeout (`request.timeout`, the retrier's per-call `attemptTimeout`), on the run's budget
 * (`retryPolicy.timeout`) and when `deps.signal` aborts; that signal ends the call and the body
 * read themselves, whatever the `fetch` underneath does. At most `callback.maxBodyBytes` (4096
 * without a callback) of the response body are read; the rest of the stream is cancelled and
 * the run still succeeds (`response_body_truncated`). A body cut short by the connection fails
 * the attempt with a `ResponseBodyError`, retried like a network error. A retryable status's
 * Retry-After header becomes the retrier's delay hint.
 *
 * @param spec - the job.
 * @param occurrence - which occurrence this is.
 * @param deps - fetch, refusal check, clock, signal, logger, named retriers and signing secrets.
 * @returns the payload; `canceled` when `deps.signal` aborted.
 * @example
 * ```ts
 * const outcome = await executeOccurrence(spec, { jobId, scheduledAt, occurrenceId }, deps);
 * if (!outcome.success) console.log(outcome.payload.error);
 * ```
 */
export async function executeOccurrence(
  spec: JobSpec,
  occurrence: Occurrence,
  deps: ExecuteDeps,
): Promise<RunOutcome> {
  const startedAt = deps.now();
  const limit = spec.callback?.maxBodyBytes ?? JOB_DEFAULTS.maxBodyBytes;
  const body = requestBody(spec);
  const scheduledAt = iso(occurrence.scheduledAt);
  const headers = {
    ...spec.request.headers,
    [SCHEDULER_HEADERS.idempotencyKey]: occurrence.occurrenceId,
    [SCHEDULER_HEADERS.scheduledAt]: scheduledAt,
  };
  const signWith = spec.request.signWith;
  const keys = signWith === null ? null : (deps.signingSecrets?.get(signWith) ?? null);
  let last: LastResponse | undefined;

  const observer = deps.observer;
  /** The last failed attempt, reported once the retrier says whether another one follows. */
  let failure:
    | { attempt: number; statusCode: number | null; error: string; durationMs: number }
    | undefined;
  const reportFailure = (retryIn: number | null): void => {
    if (failure === undefined || observer === undefined) return;
    const { attempt, statusCode, error, durationMs } = failure;
    failure = undefined;
    observer.failed(attempt, statusCode, error, durationMs, retryIn);
  };

  const attempt = async (context: { signal: AbortSignal; attempt: number }) => {
    if (observer === undefined) return sendOnce(context);
    observer.started(context.attempt);
    const began = deps.now();
    let statusCode: number;
    try {
      statusCode = await sendOnce(context);
    } catch (error) {
      failure = {
        attempt: context.attempt,
        statusCode: last?.attempt === context.attempt ? last.status : null,
        error: describeError(error),
        durationMs: deps.now() - began,
      };
      throw error;
    }
    observer.succeeded(context.attempt, statusCode, deps.now() - began);
    return statusCode;
  };

  const sendOnce = async ({
    signal,
    attempt: number,
  }: {
    signal: AbortSignal;
    attempt: number;
  }) => {
    const response = await send(
      deps.fetch,
      spec.request.url,
      {
        method: spec.request.method,
        headers: {
          ...headers,
          [SCHEDULER_HEADERS.attempt]: String(number),
          // Signed per attempt: each one carries its own timestamp.
          ...(keys === null
            ? {}
            : webhookHeaders(keys, occurrence.occurrenceId, deps.now(), body ?? '')),
        },
        ...(body === undefined ? {} : { body }),
      },
      signal,
    );
    const captured = await captureBody(response, limit, signal);
    last = { status: response.status, captured, attempt: number };
    if (captured.end === 'broken') {
      deps.logger.warn('response body read failed', {
        jobId: occurrence.jobId,
        occurrenceId: occurrence.occurrenceId,
        attempt: number,
        status: response.status,
        error: describeError(captured.error),
      });
    }
    // Timed out, cancelled or cut short while reading the body: the attempt failed.
    if (captured.end === 'aborted' || captured.end === 'broken') throw captured.error;
    return statusOutcome(response, spec.retry, deps.now());
  };

  let errorText = '';
  let ok = false;
  let attempts = 0;
  const retrier = resolveRetrier(spec.retry, deps);
  if (signWith !== null && keys === null) {
    // Fail closed: a receiver that checks signatures must never get an unsigned request.
    errorText = `${missingSecretMessage(signWith)}; the request was not sent`;
  } else if (retrier instanceof Error) {
    errorText = retrier.message;
  } else {
    const trace = await retrier.settle(attempt, {
      ...policyCallOptions<number>(spec.retry, spec.request.timeout, deps.signal, deps.isRefusal),
      ...(observer === undefined
        ? {}
        : { hooks: { onRetry: ({ delay }) => reportFailure(delay) } }),
    });
    reportFailure(null);
    ok = trace.ok;
    attempts = trace.attemptCount;
    if (!trace.ok) errorText = describeRunFailure(trace, retrier.options.timeout);
  }

  const canceled = !ok && deps.signal.aborted;
  // Kept when there is something to show, or when the body was longer than we keep.
  const captured =
    last !== undefined && (last.captured.bytes.byteLength > 0 || last.captured.end === 'limit')
      ? { ...bodyText(last.captured), truncated: last.captured.truncated }
      : undefined;
  const payload: CallbackPayload = {
    job_id: occurrence.jobId,
    scheduled_at: scheduledAt,
    started_at: iso(startedAt),
    finished_at: iso(deps.now()),
    attempts,
    success: ok,
    ...(last === undefined ? {} : { status_code: last.status }),
    ...(ok
      ? {}
      : {
          error: canceled ? `canceled: ${describeError(deps.signal.reason)}` : errorText,
        }),
    ...(captured === undefined
      ? {}
      : {
          response_body: captured.text,
          response_body_truncated: captured.truncated,
          ...(captured.encoding === 'base64' ? { response_body_encoding: 'base64' as const } : {}),
        }),
    occurrence_id: occurrence.occurrenceId,
    ...(canceled ? { canceled: true } : {}),
  };
  return { payload, success: ok, canceled };
}
