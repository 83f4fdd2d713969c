/**
 * The run's result as the callback receives it ({@link CallbackPayload}), and its delivery: one
 * attempt, bounded by its own timeout and by the delivery signal.
 *
 * @module
 */
import { createRetrier } from '@again/retry';
import { describeError } from './classify.js';
import { UnexpectedStatusError } from './errors.js';
import { type FetchFunction, SCHEDULER_HEADERS, send } from './http-client.js';
import type { CallbackSpec, JobSpec } from './job-types.js';
import type { SchedulerLogger } from './logger.js';
import { captureBody } from './response-body.js';
import { missingSecretMessage, type SigningSecrets, webhookHeaders } from './signing.js';

/**
 * The result of one run, stored in history and POSTed to the callback. The first nine keys and
 * their order are go-again's; times are ISO-8601 UTC strings.
 *
 * @example
 * ```ts
 * const payload: CallbackPayload = (await executeOccurrence(spec, occurrence, deps)).payload;
 * ```
 */
export interface CallbackPayload {
  job_id: string;
  scheduled_at: string;
  started_at: string;
  finished_at: string;
  /** Attempts started (1 + retries). */
  attempts: number;
  success: boolean;
  /** Status of the last response received; absent when no response arrived. */
  status_code?: number;
  /** Why the run failed; absent on success. */
  error?: string;
  /** Captured start of the last response body; absent when empty. */
  response_body?: string;
  /**
   * `true` when `response_body` is not the whole body: it was longer than `maxBodyBytes`, or its
   * read was cut short (connection broken, attempt timed out); present with `response_body`.
   */
  response_body_truncated?: boolean;
  /** `'base64'` when the captured body is not UTF-8 text; absent for text. */
  response_body_encoding?: 'base64';
  /** The occurrence id (also the `Idempotency-Key` header). */
  occurrence_id: string;
  /** `true` when the run was cancelled (job removed, scheduler stopped); absent otherwise. */
  canceled?: boolean;
}

/**
 * What {@link deliverCallback} needs from the scheduler (a subset of `ExecuteDeps`).
 *
 * @example
 * ```ts
 * await deliverCallback(spec, payload, { fetch, now: Date.now, signal: shutdown.signal, logger });
 * ```
 */
export interface CallbackDeps {
  /** The egress fetch; ky runs on top of it. */
  readonly fetch: FetchFunction;
  /**
   * Aborts the delivery. Give a signal that is *not* the run's, so a cancelled run can still
   * report `canceled: true` to its callback.
   */
  readonly signal: AbortSignal;
  readonly logger: SchedulerLogger;
  /** Clock, epoch ms (the `webhook-timestamp` of a signed callback). */
  readonly now: () => number;
  /**
   * Signing secrets registered on the scheduler by name; `callback.signWith` picks one. A signed
   * callback whose name is missing here is not sent.
   */
  readonly signingSecrets?: SigningSecrets | undefined;
}

/**
 * Result of {@link deliverCallback}.
 *
 * @example
 * ```ts
 * const { ok, status, error } = await deliverCallback(spec, payload, deps);
 * ```
 */
export interface CallbackDelivery {
  /** `true` when the callback endpoint answered 2xx. */
  readonly ok: boolean;
  /** The status received, or `null` when no response arrived. */
  readonly status: number | null;
  /** Why delivery failed, or `null`. */
  readonly error: string | null;
}

/** Bytes of a callback endpoint's response read before the connection is dropped. */
const CALLBACK_RESPONSE_BYTES = 4096;

/**
 * One attempt, no retry: the callback's timeout becomes the call's `attemptTimeout`. Shared by
 * every delivery (a retrier keeps no per-call state).
 */
const ONE_ATTEMPT = createRetrier({ maxRetries: 0 });

/**
 * Sends the run's payload to the job's callback. Never throws.
 *
 * The body is the payload as JSON. Headers: `Content-Type: application/json` unless the
 * callback's own headers set one, then the callback's headers, then `Idempotency-Key` (the
 * occurrence id) and `X-Again-Scheduled-At`. With `callback.signWith`, the callback is also
 * signed (Standard Webhooks: `webhook-id` = the occurrence id, `webhook-timestamp` from
 * `deps.now`, `webhook-signature` over the exact JSON sent); when that name has no secret in
 * `deps.signingSecrets`, nothing is sent and the failure is logged at error.
 *
 * One attempt, ended by its timeout (`callback.timeout`, covering the whole exchange) or by
 * `deps.signal`, whatever the `fetch` underneath does; at most 4 KiB of the endpoint's response
 * is read. A non-2xx answer or a transport failure is logged at warn and returned.
 *
 * @param spec - the job (nothing is sent when it has no callback).
 * @param payload - the run's payload.
 * @param deps - fetch, clock, signal (delivery abort), logger and signing secrets.
 * @returns whether the endpoint answered 2xx, its status and the failure text.
 * @example
 * ```ts
 * const delivery = await deliverCallback(spec, outcome.payload, deps);
 * if (!delivery.ok) console.log(delivery.status, delivery.error);
 * ```
 */
export async function deliverCallback(
  spec: JobSpec,
  payload: CallbackPayload,
  deps: CallbackDeps,
): Promise<CallbackDelivery> {
  const callback: CallbackSpec | null = spec.callback;
  if (callback === null) return { ok: true, status: null, error: null };
  const context = { jobId: payload.job_id, occurrenceId: payload.occurrence_id };
  const signWith = callback.signWith;
  const keys = signWith === null ? null : (deps.signingSecrets?.get(signWith) ?? null);
  if (signWith !== null && keys === null) {
    const error = `${missingSecretMessage(signWith)}; the callback was not sent`;
    deps.logger.error('callback not sent: its signing secret is missing', { ...context, error });
    return { ok: false, status: null, error };
  }
  // Serialised here, not by ky, so the signature covers the exact bytes sent.
  const body = JSON.stringify(payload);
  const trace = await ONE_ATTEMPT.settle(
    async ({ signal }) => {
      const response = await send(
        deps.fetch,
        callback.url,
        {
          method: callback.method,
          headers: {
            'content-type': 'application/json',
            ...callback.headers,
            [SCHEDULER_HEADERS.idempotencyKey]: payload.occurrence_id,
            [SCHEDULER_HEADERS.scheduledAt]: payload.scheduled_at,
            ...(keys === null ? {} : webhookHeaders(keys, payload.occurrence_id, deps.now(), body)),
          },
          body,
        },
        signal,
      );
      // The status is the answer; the body is drained a little (then dropped) whatever it holds.
      const drained = await captureBody(response, CALLBACK_RESPONSE_BYTES, signal);
      if (drained.end === 'broken') {
        deps.logger.warn('callback response body read failed', {
          ...context,
          status: response.status,
          error: describeError(drained.error),
        });
      }
      return response.status;
    },
    {
      signal: deps.signal,
      ...(callback.timeout > 0 ? { attemptTimeout: callback.timeout } : {}),
    },
  );
  if (trace.ok) {
    const status = trace.value;
    if (status >= 200 && status < 300) return { ok: true, status, error: null };
    deps.logger.warn('callback answered with a non-2xx status', { ...context, status });
    return { ok: false, status, error: new UnexpectedStatusError(status).message };
  }
  const text = describeError(trace.last ?? trace.error.cause);
  deps.logger.warn('callback delivery failed', { ...context, error: text });
  return { ok: false, status: null, error: text };
}
