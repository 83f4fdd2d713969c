/**
 * One HTTP exchange, bounded by a signal: ky over the egress `fetch`, settled when the signal
 * aborts whatever the `fetch` underneath does, and the headers every request carries.
 *
 * @module
 */
import ky, { type Options as KyOptions } from 'ky';

/**
 * A `fetch`-compatible function (the egress fetch from `@again/url-guard`, or `globalThis.fetch`).
 *
 * @example
 * ```ts
 * const fetch: FetchFunction = (input, init) => egress.fetch(input, init);
 * ```
 */
export type FetchFunction = (
  input: string | URL | Request,
  init?: RequestInit,
) => Promise<Response>;

/**
 * Names of the headers every attempt and callback carries.
 *
 * @example
 * ```ts
 * request.headers.get(SCHEDULER_HEADERS.idempotencyKey); // 'report@2026-03-01T09:00:00.000Z'
 * ```
 */
export const SCHEDULER_HEADERS: {
  readonly idempotencyKey: 'idempotency-key';
  readonly scheduledAt: 'x-again-scheduled-at';
  readonly attempt: 'x-again-attempt';
} = Object.freeze({
  idempotencyKey: 'idempotency-key',
  scheduledAt: 'x-again-scheduled-at',
  attempt: 'x-again-attempt',
});

/**
 * What {@link send} sends: ky's own request options, minus what the scheduler owns.
 *
 * @example
 * ```ts
 * const options: SendOptions = { method: 'POST', json: { done: true } };
 * ```
 */
export type SendOptions = Pick<KyOptions, 'method' | 'headers' | 'body' | 'json'>;

// @again/retry owns retries and time limits (its attemptTimeout covers the body read too, which
// ky's `timeout` does not); a non-2xx answer is a result to classify, not an exception.
const client = ky.create({ retry: 0, timeout: false, throwHttpErrors: false });

function noop(): void {}

/**
 * Releases a request body the `fetch` never read. ky clones every request (a stream tee) and,
 * once the call ends, cancels its clone's body, which only completes when the branch handed to
 * `fetch` is read or cancelled too: without this a `fetch` that rejects or answers without
 * reading a POST body would leave the ky call pending forever.
 */
function releaseUnreadBody(input: string | URL | Request): void {
  if (typeof input !== 'object' || input instanceof URL) return;
  const body = input.body;
  if (body !== null && !input.bodyUsed && !body.locked) body.cancel().catch(noop);
}

/**
 * Settles with `promise`, or rejects with `signal.reason` as soon as `signal` aborts, so a call
 * whose underlying work ignores the signal still ends on time. A value that arrives after the
 * abort goes to `discard` (to release it); a late rejection is dropped.
 *
 * @param promise - the work.
 * @param signal - ends the wait.
 * @param discard - receives a value that arrived too late.
 * @returns the work's value.
 * @example
 * ```ts
 * const response = await raceAbort(fetch(url), signal, (late) => void late.body?.cancel());
 * ```
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  discard: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) discard(value);
        else {
          settled = true;
          resolve(value);
        }
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) {
          settled = true;
          reject(error);
        }
      },
    );
  });
}

/**
 * Sends one request through ky on top of `fetch` and resolves with the response (any status),
 * before its body is read. `signal` bounds the whole call: it is handed to `fetch` directly (not
 * only through ky's `Request`, whose signal link a garbage collection can drop), and the call
 * rejects with `signal.reason` as soon as it aborts, even when `fetch` ignores it or never
 * settles. When `fetch` settles, so does the call, with its outcome: ky's clean-up of the
 * request body can never hold it open (a body that `fetch` did not read is also released, so
 * that clean-up finishes).
 *
 * @param fetch - the egress fetch.
 * @param url - the absolute URL.
 * @param options - method, headers and `body` (or `json`, serialised by ky with
 *   `content-type: application/json` unless the headers set one).
 * @param signal - the attempt's signal: its timeout, the run's budget and the run's abort.
 * @returns the response; read its body with `captureBody` under the same signal.
 * @throws `signal.reason` when it aborts; the fetch's error (e.g. `TypeError('fetch failed')`).
 * @example
 * ```ts
 * const response = await send(deps.fetch, url, { method: 'POST', json: payload }, signal);
 * ```
 */
export function send(
  fetch: FetchFunction,
  url: string,
  options: SendOptions,
  signal: AbortSignal,
): Promise<Response> {
  if (signal.aborted) return Promise.reject(signal.reason);
  // The call ends with fetch's own outcome: ky's clean-up after the call (cancelling its clone
  // of the request body) waits for the branch handed to fetch, which a fetch that locked the
  // body and never read it (Node's fetch refusing a port, a test double that clones the request)
  // would hold open for ever. No ky hook changes the response, so ky's result is fetch's.
  let settle!: { resolve: (response: Response) => void; reject: (error: unknown) => void };
  const fetched = new Promise<Response>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const bounded: FetchFunction = async (input, init) => {
    try {
      const response = await fetch(input, { ...init, signal });
      settle.resolve(response);
      return response;
    } catch (error) {
      settle.reject(error);
      throw error;
    } finally {
      releaseUnreadBody(input);
    }
  };
  // ky's own failures (before fetch is called) still end the call. The signal goes to `fetch`
  // directly (above), not through ky: ky would tie it to its own controller with
  // `AbortSignal.any`, a cost on every request that adds nothing here.
  const call = client(url, { ...options, fetch: bounded });
  call.catch(noop);
  return raceAbort(Promise.race([call, fetched]), signal, (late) => {
    late.body?.cancel().catch(noop);
  });
}
