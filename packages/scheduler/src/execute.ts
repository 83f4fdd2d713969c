import {
  createRetrier,
  parseRetryAfter,
  type Retrier,
  type RetrierOptions,
  type RetryTrace,
} from '@again/retry';
import ky, { type KyInstance } from 'ky';
import { RequestTimeoutError, RetryableStatusError, UnexpectedStatusError } from './errors.js';
import { type CallbackSpec, JOB_DEFAULTS, type JobSpec, type RetryPolicySpec } from './job.js';
import type { SchedulerLogger } from './logger.js';

/** One occurrence of a job: its identity is `jobId` + scheduled time. */
export interface Occurrence {
  readonly jobId: string;
  /** Scheduled time, epoch ms. */
  readonly scheduledAt: number;
  /** Stable id of the occurrence, sent as `Idempotency-Key`. */
  readonly occurrenceId: string;
}

/**
 * The result of one run, stored in history and POSTed to the callback. The first nine keys and
 * their order are go-again's; times are ISO-8601 UTC strings.
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
  /** `true` when the body was longer than `maxBodyBytes` (present with `response_body`). */
  response_body_truncated?: boolean;
  /** `'base64'` when the captured body is not UTF-8 text; absent for text. */
  response_body_encoding?: 'base64';
  /** The occurrence id (also the `Idempotency-Key` header). */
  occurrence_id: string;
  /** `true` when the run was cancelled (job removed, scheduler stopped); absent otherwise. */
  canceled?: boolean;
}

/** A `fetch`-compatible function (the egress fetch from `@again/url-guard`, or `globalThis.fetch`). */
export type FetchFunction = (
  input: string | URL | Request,
  init?: RequestInit,
) => Promise<Response>;

/** What {@link executeOccurrence} and {@link deliverCallback} need from the scheduler. */
export interface ExecuteDeps {
  /** The egress fetch; ky runs on top of it. */
  readonly fetch: FetchFunction;
  /** Clock, epoch ms. */
  readonly now: () => number;
  /**
   * For {@link executeOccurrence}: aborted when the run must stop (job removed, hard stop).
   * For {@link deliverCallback}: aborts the delivery; pass a signal that is *not* the run's, so
   * a cancelled run can still report `canceled: true` to its callback.
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
  readonly sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  /** Randomness for jitter (tests inject a fixed one). */
  readonly random?: (() => number) | undefined;
}

/** The outcome of {@link executeOccurrence}. */
export interface RunOutcome {
  readonly payload: CallbackPayload;
  readonly success: boolean;
  readonly canceled: boolean;
}

/** Result of {@link deliverCallback}. */
export interface CallbackDelivery {
  /** `true` when the callback endpoint answered 2xx. */
  readonly ok: boolean;
  /** The status received, or `null` when no response arrived. */
  readonly status: number | null;
  /** Why delivery failed, or `null`. */
  readonly error: string | null;
}

/** Names of the headers every attempt and callback carries. */
export const SCHEDULER_HEADERS: {
  readonly idempotencyKey: 'idempotency-key';
  readonly scheduledAt: 'x-again-scheduled-at';
  readonly attempt: 'x-again-attempt';
} = Object.freeze({
  idempotencyKey: 'idempotency-key',
  scheduledAt: 'x-again-scheduled-at',
  attempt: 'x-again-attempt',
});

/** Bytes of a callback endpoint's response read before the connection is dropped. */
const CALLBACK_RESPONSE_BYTES = 4096;

/** Transport error codes worth retrying: the connection failed or broke, not the request. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

const kyClients = new WeakMap<FetchFunction, KyInstance>();

function clientFor(fetch: FetchFunction): KyInstance {
  let client = kyClients.get(fetch);
  if (client === undefined) {
    // ky's own retry and timeout are off: @again/retry and our per-attempt timer own those.
    client = ky.create({ fetch, retry: 0, timeout: false, throwHttpErrors: false });
    kyClients.set(fetch, client);
  }
  return client;
}

/** Errors along the `cause` chain, outermost first (bounded, cycle-safe). */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (
    current !== undefined &&
    current !== null &&
    chain.length < 8 &&
    !chain.includes(current)
  ) {
    chain.push(current);
    current = typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
  return chain;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/**
 * Whether `error` is a refusal by `@again/url-guard` (never retried: the policy will refuse again).
 *
 * @param error - an attempt's error.
 * @returns `true` when a `UrlGuardError` is on the cause chain.
 * @example
 * ```ts
 * isUrlGuardRefusal(new TypeError('fetch failed', { cause: guardError })); // true
 * ```
 */
export function isUrlGuardRefusal(error: unknown): boolean {
  return causeChain(error).some(
    (item) => field(item, 'name') === 'UrlGuardError' || field(item, 'code') === 'URL_REFUSED',
  );
}

/**
 * Whether `error` is a transport failure worth retrying: connection refused or reset, socket
 * closed, DNS temporarily unavailable, undici timeouts, or a per-attempt timeout.
 *
 * @param error - an attempt's error.
 * @returns `true` for transient network errors; `false` for URL-guard refusals and anything else.
 * @example
 * ```ts
 * isTransientNetworkError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })); // true
 * ```
 */
export function isTransientNetworkError(error: unknown): boolean {
  if (isUrlGuardRefusal(error)) return false;
  return causeChain(error).some((item) => {
    if (item instanceof RequestTimeoutError) return true;
    const code = field(item, 'code');
    return typeof code === 'string' && TRANSIENT_CODES.has(code);
  });
}

/**
 * The retry decision of a job's policy for one failed attempt.
 *
 * @param policy - the job's retry policy.
 * @param error - the attempt's error.
 * @returns `true` to retry (the retrier still applies `maxRetries`, its timeout and budget).
 * @example
 * ```ts
 * shouldRetryAttempt(spec.retry, new RetryableStatusError(503)); // true
 * shouldRetryAttempt(spec.retry, new UnexpectedStatusError(404)); // false
 * ```
 */
export function shouldRetryAttempt(policy: RetryPolicySpec, error: unknown): boolean {
  if (error instanceof RetryableStatusError) return true;
  if (error instanceof UnexpectedStatusError) return false;
  return policy.retryNetworkErrors && isTransientNetworkError(error);
}

/**
 * Builds `@again/retry` options from a data-defined policy, passing only the fields that apply
 * to its backoff and jitter strategy (the retrier refuses contradictory combinations).
 *
 * @param policy - the job's retry policy (from `parseJob`).
 * @returns options for `createRetrier`; a `timeout` of 0 becomes `Infinity`.
 * @example
 * ```ts
 * const retrier = createRetrier({ ...retrierOptionsFromPolicy(spec.retry), sleep });
 * ```
 */
export function retrierOptionsFromPolicy(policy: RetryPolicySpec): RetrierOptions {
  const decorrelated = policy.jitterStrategy === 'decorrelated';
  return {
    maxRetries: policy.maxRetries,
    interval: policy.interval,
    ...(decorrelated
      ? {}
      : {
          backoff: policy.backoff,
          ...(policy.backoff === 'exponential' ? { backoffFactor: policy.backoffFactor } : {}),
        }),
    maxDelay: policy.maxDelay,
    jitterStrategy: policy.jitterStrategy,
    ...(policy.jitterStrategy === 'additive' ? { jitter: policy.jitter } : {}),
    timeout: policy.timeout === 0 ? Number.POSITIVE_INFINITY : policy.timeout,
    maxRetryAfter: policy.maxRetryAfter,
  };
}

/**
 * Describes an error for the payload: the messages along its cause chain, plus error codes.
 *
 * @param error - anything thrown.
 * @returns e.g. `fetch failed: connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)`.
 * @example
 * ```ts
 * describeError(new UnexpectedStatusError(404)); // 'unexpected status 404'
 * ```
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let code: string | undefined;
  for (const item of causeChain(error)) {
    const message =
      item instanceof Error || typeof field(item, 'message') === 'string'
        ? String(field(item, 'message'))
        : String(item);
    if (message !== '' && !parts.includes(message)) parts.push(message);
    const itemCode = field(item, 'code');
    const reason = field(item, 'reason');
    if (
      code === undefined &&
      field(item, 'name') === 'UrlGuardError' &&
      typeof reason === 'string'
    ) {
      code = `refused: ${reason}`;
    } else if (code === undefined && typeof itemCode === 'string' && !itemCode.startsWith('ERR_')) {
      // System and undici codes (ECONNREFUSED, UND_ERR_SOCKET) say more than their messages;
      // our own ERR_ codes repeat the message.
      code = itemCode;
    }
  }
  const text = parts.length === 0 ? 'unknown error' : parts.join(': ');
  return code !== undefined && !text.includes(code) ? `${text} (${code})` : text;
}

interface CapturedBody {
  readonly bytes: Uint8Array;
  readonly truncated: boolean;
}

const EMPTY: CapturedBody = { bytes: new Uint8Array(0), truncated: false };

/**
 * Reads at most `limit` bytes (plus the chunk that crosses it) and cancels the rest of the
 * stream, which closes the connection instead of downloading an unbounded body.
 */
async function captureBody(
  response: Response,
  limit: number,
  logger: SchedulerLogger,
): Promise<CapturedBody> {
  const body = response.body;
  if (body === null) return EMPTY;
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
      if (total > limit) {
        truncated = true;
        break;
      }
    }
  } catch (error) {
    // Like the seed: keep what was read; the status already decided the attempt.
    logger.warn('response body read failed', { error: describeError(error) });
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(total, limit));
  let offset = 0;
  for (const chunk of chunks) {
    if (offset >= bytes.length) break;
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return { bytes, truncated };
}

/** UTF-8 text, or base64 when the bytes are not valid UTF-8. */
function bodyText(captured: CapturedBody): { text: string; encoding: 'utf8' | 'base64' } {
  try {
    // `stream: true` tolerates a multi-byte character cut by truncation.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(captured.bytes, {
      stream: captured.truncated,
    });
    return { text, encoding: 'utf8' };
  } catch {
    return { text: Buffer.from(captured.bytes).toString('base64'), encoding: 'base64' };
  }
}

/** Runs `fn` with a signal that also aborts after `timeout` ms (0 = never) with a RequestTimeoutError. */
async function withTimeout<T>(
  signal: AbortSignal,
  timeout: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  let timedOut: RequestTimeoutError | undefined;
  const timer =
    timeout > 0
      ? setTimeout(() => {
          timedOut = new RequestTimeoutError(timeout);
          controller.abort(timedOut);
        }, timeout)
      : undefined;
  try {
    return await fn(controller.signal);
  } catch (error) {
    if (timedOut !== undefined && error !== timedOut)
      throw new RequestTimeoutError(timeout, { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function requestBody(spec: JobSpec): string | Uint8Array<ArrayBuffer> | undefined {
  const { body, bodyEncoding } = spec.request;
  if (body === null) return undefined;
  return bodyEncoding === 'base64' ? new Uint8Array(Buffer.from(body, 'base64')) : body;
}

interface LastResponse {
  status: number;
  captured: CapturedBody;
}

/**
 * Runs one occurrence: sends the job's request through ky over the egress fetch, retrying per
 * the job's policy, and returns the payload. Never throws for run failures.
 *
 * Every attempt sends `Idempotency-Key: <occurrenceId>`, `X-Again-Scheduled-At: <ISO time>` and
 * `X-Again-Attempt: <n>`. Each attempt has its own timeout (`request.timeout`). At most
 * `callback.maxBodyBytes` (4096 without a callback) of the response body are read; the rest of
 * the stream is cancelled. A retryable status's Retry-After header becomes the retrier's delay
 * hint.
 *
 * @param spec - the job.
 * @param occurrence - which occurrence this is.
 * @param deps - fetch, clock, signal, logger and named retriers.
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
  const client = clientFor(deps.fetch);
  const body = requestBody(spec);
  const scheduledAt = iso(occurrence.scheduledAt);
  let last: LastResponse | undefined;

  const attempt = async ({ signal, attempt: number }: { signal: AbortSignal; attempt: number }) => {
    const response = await withTimeout(signal, spec.request.timeout, async (attemptSignal) => {
      const res = await client(spec.request.url, {
        method: spec.request.method,
        headers: {
          ...spec.request.headers,
          [SCHEDULER_HEADERS.idempotencyKey]: occurrence.occurrenceId,
          [SCHEDULER_HEADERS.scheduledAt]: scheduledAt,
          [SCHEDULER_HEADERS.attempt]: String(number),
        },
        ...(body === undefined ? {} : { body }),
        signal: attemptSignal,
      });
      const captured = await captureBody(res, limit, deps.logger);
      return { status: res.status, captured, retryAfter: res.headers.get('retry-after') };
    });
    last = { status: response.status, captured: response.captured };
    if (response.status >= 200 && response.status < 300) return response.status;
    if (spec.retry.retryStatusCodes.includes(response.status)) {
      throw new RetryableStatusError(
        response.status,
        parseRetryAfter(response.retryAfter, deps.now()),
      );
    }
    throw new UnexpectedStatusError(response.status);
  };

  let errorText = '';
  let ok = false;
  let attempts = 0;
  const retrier = resolveRetrier(spec.retry, deps);
  if (retrier instanceof Error) {
    errorText = retrier.message;
  } else {
    const trace = await retrier.settle(attempt, {
      signal: deps.signal,
      // Every error goes to the job's own classification (status lists, network errors).
      retryOn: [Error],
      shouldRetry: (failure: unknown) => shouldRetryAttempt(spec.retry, failure),
    });
    ok = trace.ok;
    attempts = trace.attemptCount;
    if (!trace.ok) errorText = failureText(trace);
  }

  const canceled = !ok && deps.signal.aborted;
  const captured =
    last !== undefined && (last.captured.bytes.byteLength > 0 || last.captured.truncated)
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

/** The payload's `error`: the last attempt's error, or why the retrier gave up early. */
function failureText(trace: RetryTrace<unknown>): string {
  if (trace.ok) return '';
  const plainFailure =
    (trace.reason === 'exhausted' && !trace.error.budgetExhausted) ||
    trace.reason === 'non-retryable';
  if (plainFailure && trace.last !== undefined) return describeError(trace.last);
  return trace.error.message;
}

/** Most distinct data-defined policies whose retriers {@link resolveRetrier} keeps. */
const POLICY_RETRIERS_LIMIT = 1_000;

/** Every policy field {@link retrierOptionsFromPolicy} reads: equal keys build equal retriers. */
function retrierKey(policy: RetryPolicySpec): string {
  return [
    policy.maxRetries,
    policy.interval,
    policy.backoff,
    policy.backoffFactor,
    policy.maxDelay,
    policy.jitterStrategy,
    policy.jitter,
    policy.timeout,
    policy.maxRetryAfter,
  ].join(' ');
}

function resolveRetrier(policy: RetryPolicySpec, deps: ExecuteDeps): Retrier | Error {
  if (policy.retrier !== null) {
    const named = deps.retriers.get(policy.retrier);
    return named ?? new Error(`retrier "${policy.retrier}" is not registered on the scheduler`);
  }
  const cache = deps.policyRetriers;
  const key = cache === undefined ? '' : retrierKey(policy);
  const cached = cache?.get(key);
  if (cached !== undefined) return cached;
  try {
    const retrier = createRetrier({
      ...retrierOptionsFromPolicy(policy),
      clock: { now: deps.now },
      logger: deps.logger,
      ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
      ...(deps.random === undefined ? {} : { random: deps.random }),
    });
    if (cache !== undefined) {
      // Full (more distinct policies than the limit): start over rather than track ages.
      if (cache.size >= POLICY_RETRIERS_LIMIT) cache.clear();
      cache.set(key, retrier);
    }
    return retrier;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Sends the run's payload to the job's callback. Never throws.
 *
 * Headers: `Content-Type: application/json` first, then the callback's own headers (which may
 * override it), then `Idempotency-Key` (the occurrence id) and `X-Again-Scheduled-At`. The
 * callback is one attempt with its own timeout, aborted by `deps.signal` (give it a signal
 * that outlives the run, so cancelled runs are reported too); at most 4 KiB of its response is
 * read. A non-2xx answer or a transport failure is logged at warn and returned.
 *
 * @param spec - the job (nothing is sent when it has no callback).
 * @param payload - the run's payload.
 * @param deps - fetch, signal (delivery abort) and logger.
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
  deps: ExecuteDeps,
): Promise<CallbackDelivery> {
  const callback: CallbackSpec | null = spec.callback;
  if (callback === null) return { ok: true, status: null, error: null };
  const client = clientFor(deps.fetch);
  try {
    const status = await withTimeout(deps.signal, callback.timeout, async (signal) => {
      const response = await client(callback.url, {
        method: callback.method,
        headers: {
          'content-type': 'application/json',
          ...callback.headers,
          [SCHEDULER_HEADERS.idempotencyKey]: payload.occurrence_id,
          [SCHEDULER_HEADERS.scheduledAt]: payload.scheduled_at,
        },
        body: JSON.stringify(payload),
        signal,
      });
      await captureBody(response, CALLBACK_RESPONSE_BYTES, deps.logger);
      return response.status;
    });
    if (status >= 200 && status < 300) return { ok: true, status, error: null };
    const error = new UnexpectedStatusError(status);
    deps.logger.warn('callback answered with a non-2xx status', {
      jobId: payload.job_id,
      occurrenceId: payload.occurrence_id,
      status,
    });
    return { ok: false, status, error: error.message };
  } catch (error) {
    const text = describeError(error);
    deps.logger.warn('callback delivery failed', {
      jobId: payload.job_id,
      occurrenceId: payload.occurrence_id,
      error: text,
    });
    return { ok: false, status: null, error: text };
  }
}
