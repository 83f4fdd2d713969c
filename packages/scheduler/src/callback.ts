/**
 * The run's result as the callback receives it ({@link CallbackPayload}), and its delivery:
 * retried under the callback's own retry policy, each attempt bounded by its own timeout and the
 * whole delivery by the delivery signal.
 *
 * @module
 */
import {
  describeError,
  describeRunFailure,
  policyCallOptions,
  type RefusalCheck,
  statusOutcome,
} from './classify.js';
import { type FetchFunction, SCHEDULER_HEADERS, send } from './http-client.js';
import type { CallbackSpec, JobSpec } from './job-types.js';
import { type PolicyRetrierDeps, resolveRetrier } from './policy-retriers.js';
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
 * What {@link deliverCallback} needs from the scheduler: a subset of `ExecuteDeps`, so the
 * engine passes the deps of its runs with the delivery's own signal.
 *
 * @example
 * ```ts
 * await deliverCallback(spec, payload, {
 *   fetch, now: Date.now, signal: shutdown.signal, logger, retriers: new Map(),
 * });
 * ```
 */
export interface CallbackDeps extends PolicyRetrierDeps {
  /** The egress fetch; ky runs on top of it. */
  readonly fetch: FetchFunction;
  /**
   * The egress's refusal check: an attempt it calls a policy refusal is never retried. Without
   * it nothing counts as a refusal.
   */
  readonly isRefusal?: RefusalCheck | null | undefined;
  /**
   * Aborts the delivery, its attempts and the waits between them. Give a signal that is *not*
   * the run's, so a cancelled run can still report `canceled: true` to its callback.
   */
  readonly signal: AbortSignal;
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
 * const { ok, status, error, attempts } = await deliverCallback(spec, payload, deps);
 * ```
 */
export interface CallbackDelivery {
  /** `true` when the callback endpoint answered 2xx. */
  readonly ok: boolean;
  /** The status of the last response received, or `null` when none arrived. */
  readonly status: number | null;
  /** Why delivery failed, or `null`. */
  readonly error: string | null;
  /** Attempts made (1 + retries); `0` when nothing was sent. */
  readonly attempts: number;
}

/** Bytes of a callback endpoint's response read before the connection is dropped. */
const CALLBACK_RESPONSE_BYTES = 4096;

/**
 * Sends the run's payload to the job's callback, retrying under `callback.retry`. Never throws.
 *
 * The body is the payload as JSON. Headers: `Content-Type: application/json` unless the
 * callback's own headers set one, then the callback's headers, then `Idempotency-Key` (the
 * occurrence id) and `X-Again-Scheduled-At`. With `callback.signWith`, every attempt is also
 * signed (Standard Webhooks: `webhook-id` = the occurrence id, a fresh `webhook-timestamp` from
 * `deps.now` per attempt, `webhook-signature` over the exact JSON sent); when that name has no
 * secret in `deps.signingSecrets`, nothing is sent and the failure is logged at error.
 *
 * Retries follow the callback's policy through `@again/retry` (a retrier registered under
 * `retry.retrier`, or one built for the policy's values): a status in `retryStatusCodes` is
 * retried, waiting at least its Retry-After (up to `maxRetryAfter`); another non-2xx status is
 * not; a transient network failure (including an attempt's timeout) is when
 * `retryNetworkErrors` is on; a refusal by the URL policy never is. Each attempt is ended by its
 * timeout (`callback.timeout`, covering the whole exchange), the delivery by the policy's
 * `timeout` or by `deps.signal`, whatever the `fetch` underneath does. At most 4 KiB of each
 * response is read; the status is the answer, so a body cut short does not undo a 2xx. A
 * delivery that fails is logged at warn once, after its last attempt.
 *
 * @param spec - the job (nothing is sent when it has no callback).
 * @param payload - the run's payload.
 * @param deps - fetch, refusal check, clock, signal (delivery abort), logger, named retriers,
 *   the policy-retrier cache, sleep, random and signing secrets.
 * @returns whether the endpoint answered 2xx, the last status received, the failure text (as a
 *   run's `error` says it, e.g. `gave up after 4 attempts; last response 503`) and the attempts.
 * @example
 * ```ts
 * const delivery = await deliverCallback(spec, outcome.payload, deps);
 * if (!delivery.ok) console.log(delivery.attempts, delivery.status, delivery.error);
 * ```
 */
export async function deliverCallback(
  spec: JobSpec,
  payload: CallbackPayload,
  deps: CallbackDeps,
): Promise<CallbackDelivery> {
  const callback: CallbackSpec | null = spec.callback;
  if (callback === null) return { ok: true, status: null, error: null, attempts: 0 };
  const context = { jobId: payload.job_id, occurrenceId: payload.occurrence_id };
  const signWith = callback.signWith;
  const keys = signWith === null ? null : (deps.signingSecrets?.get(signWith) ?? null);
  if (signWith !== null && keys === null) {
    const error = `${missingSecretMessage(signWith)}; the callback was not sent`;
    deps.logger.error('callback not sent: its signing secret is missing', { ...context, error });
    return { ok: false, status: null, error, attempts: 0 };
  }
  const policy = callback.retry;
  const retrier = resolveRetrier(policy, deps);
  if (retrier instanceof Error) {
    const error = `${retrier.message}; the callback was not sent`;
    deps.logger.error('callback not sent: its retry policy has no retrier', { ...context, error });
    return { ok: false, status: null, error, attempts: 0 };
  }
  // Serialised here, not by ky, so the signature covers the exact bytes sent.
  const body = JSON.stringify(payload);
  /** The status of the last response received, by any attempt. */
  let status: number | null = null;
  const trace = await retrier.settle(
    async ({ signal, attempt }) => {
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
            // Signed per attempt: each one carries its own timestamp.
            ...(keys === null ? {} : webhookHeaders(keys, payload.occurrence_id, deps.now(), body)),
          },
          body,
        },
        signal,
      );
      status = response.status;
      // The status is the answer; the body is drained a little (then dropped) whatever it holds.
      const drained = await captureBody(response, CALLBACK_RESPONSE_BYTES, signal);
      if (drained.end === 'broken') {
        deps.logger.warn('callback response body read failed', {
          ...context,
          attempt,
          status: response.status,
          error: describeError(drained.error),
        });
      }
      return statusOutcome(response, policy, deps.now());
    },
    policyCallOptions(policy, callback.timeout, deps.signal, deps.isRefusal),
  );
  const attempts = trace.attemptCount;
  if (trace.ok) return { ok: true, status: trace.value, error: null, attempts };
  // Aborted (hard stop): say so, whichever attempt or wait the abort cut short.
  const error = deps.signal.aborted
    ? `canceled: ${describeError(deps.signal.reason)}`
    : describeRunFailure(trace, retrier.options.timeout);
  deps.logger.warn('callback not delivered', { ...context, attempts, status, error });
  return { ok: false, status, error, attempts };
}
