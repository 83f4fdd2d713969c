import {
  type Agent,
  type BodyInit as UndiciBodyInit,
  type HeadersInit as UndiciHeadersInit,
  type Response as UndiciResponse,
  fetch as undiciFetch,
} from 'undici';
import type { CheckedUrl } from './check.js';
import { UrlGuardError } from './errors.js';

/** @internal What the fetch loop needs from an egress. */
export interface FetchContext {
  readonly dispatcher: Agent;
  readonly maxRedirects: number;
  check(url: string, signal: AbortSignal | undefined): Promise<CheckedUrl>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
// Headers that carry credentials for one origin; dropped when a redirect leaves it.
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
// Fetch spec "request-body-header names": dropped with the body on a 301/302/303 method change.
const BODY_HEADERS = [
  'content-encoding',
  'content-language',
  'content-location',
  'content-type',
  'content-length',
];

type RedirectMode = 'follow' | 'manual' | 'error';

interface PreparedRequest {
  url: string;
  method: string;
  headers: Headers;
  body: BodyInit | null;
  replayable: boolean;
  redirect: RedirectMode;
  signal: AbortSignal | undefined;
}

function isRequest(input: unknown): input is Request {
  if (input instanceof Request) return true;
  // A Request from another fetch implementation (e.g. undici's own class).
  return (
    typeof input === 'object' &&
    input !== null &&
    !(input instanceof URL) &&
    typeof (input as Request).url === 'string' &&
    typeof (input as Request).method === 'string' &&
    typeof (input as Request).arrayBuffer === 'function' &&
    typeof (input as Request).headers === 'object'
  );
}

function isReplayable(body: BodyInit | null): boolean {
  if (body === null || typeof body === 'string') return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (body instanceof URLSearchParams || body instanceof Blob || body instanceof FormData)
    return true;
  return false;
}

async function prepare(input: string | URL | Request, init: RequestInit): Promise<PreparedRequest> {
  let url: string;
  let method = 'GET';
  let headers: HeadersInit | undefined;
  let body: BodyInit | null = null;
  let redirect: RedirectMode = 'follow';
  let signal: AbortSignal | undefined;
  if (typeof input === 'string') url = input;
  else if (input instanceof URL) url = input.href;
  else if (isRequest(input)) {
    url = input.url;
    method = input.method;
    headers = input.headers;
    redirect = input.redirect;
    signal = input.signal;
    // A Request's body is a stream even when it was made from a string. Read it once, unless
    // init replaces it, so it can be re-sent on a 307/308 redirect.
    if (init.body === undefined && input.body !== null)
      body = new Uint8Array(await input.arrayBuffer());
  } else {
    throw new UrlGuardError('invalid-url', 'fetch input must be a string, a URL or a Request.');
  }
  if (init.method !== undefined) method = init.method;
  if (init.headers !== undefined) headers = init.headers;
  if (init.body !== undefined) body = init.body;
  if (init.redirect !== undefined) redirect = init.redirect;
  if (init.signal !== undefined) signal = init.signal ?? undefined;
  return {
    url,
    method: normalizeMethod(method),
    headers: new Headers(headers),
    body,
    replayable: isReplayable(body),
    redirect,
    signal,
  };
}

function normalizeMethod(method: string): string {
  const upper = method.toUpperCase();
  return ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : method;
}

/** Make undici's Response a standard `globalThis.Response` that keeps `url` and `redirected`. */
function toStandardResponse(response: UndiciResponse, url: string, redirected: boolean): Response {
  if (response instanceof Response) return response;
  const nullBody = response.body === null || NULL_BODY_STATUSES.has(response.status);
  if (nullBody && response.body !== null) void response.body.cancel().catch(() => {});
  const standard = new Response(nullBody ? null : (response.body as ReadableStream<Uint8Array>), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers as unknown as HeadersInit,
  });
  return decorate(standard, url, redirected);
}

function decorate(response: Response, url: string, redirected: boolean): Response {
  const clone = Response.prototype.clone;
  Object.defineProperties(response, {
    url: { value: url, enumerable: true },
    redirected: { value: redirected, enumerable: true },
    clone: {
      value(this: Response): Response {
        return decorate(clone.call(this), url, redirected);
      },
    },
  });
  return response;
}

/** Unwrap the guard's own refusal from undici's `TypeError('fetch failed')`. */
function guardCause(error: unknown): UrlGuardError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof UrlGuardError) return current;
    current = current.cause;
  }
  return null;
}

function withoutFragment(url: URL): string {
  return url.hash === '' ? url.href : url.href.slice(0, -url.hash.length);
}

/**
 * @internal The guarded fetch: check every hop with the whole policy, send it through the
 * guarded dispatcher with `redirect: 'manual'`, and follow redirects here.
 */
export async function guardedFetch(
  context: FetchContext,
  input: string | URL | Request,
  init: RequestInit = {},
): Promise<Response> {
  const request = await prepare(input, init);
  const { signal, headers } = request;
  let method = request.method;
  let body = request.body;
  let target = request.url;
  let redirects = 0;
  const visited = new Set<string>();
  for (;;) {
    const checked = await context.check(target, signal);
    visited.add(`${method} ${withoutFragment(checked.url)}`);
    let response: UndiciResponse;
    try {
      response = await undiciFetch(checked.href, {
        method,
        headers: headers as unknown as UndiciHeadersInit,
        body: body as UndiciBodyInit | null,
        redirect: 'manual',
        dispatcher: context.dispatcher,
        ...(signal === undefined ? {} : { signal }),
        ...(request.replayable ? {} : { duplex: 'half' as const }),
      });
    } catch (error) {
      throw guardCause(error) ?? error;
    }
    const location = response.headers.get('location');
    if (
      !REDIRECT_STATUSES.has(response.status) ||
      location === null ||
      request.redirect === 'manual'
    ) {
      return toStandardResponse(response, withoutFragment(checked.url), redirects > 0);
    }
    await response.body?.cancel().catch(() => {});
    const details = { url: checked.href, host: checked.hostname };
    if (request.redirect === 'error') {
      throw new UrlGuardError(
        'redirect-refused',
        `Redirected (${response.status}) while redirect is "error".`,
        details,
      );
    }
    let next: URL;
    try {
      next = new URL(location, checked.url);
    } catch (error) {
      throw new UrlGuardError('redirect-invalid', 'The redirect Location is not a valid URL.', {
        ...details,
        cause: error,
      });
    }
    if (next.hash === '' && checked.url.hash !== '') next.hash = checked.url.hash;
    redirects++;
    if (redirects > context.maxRedirects) {
      throw new UrlGuardError(
        'redirect-limit',
        `More than ${context.maxRedirects} redirects.`,
        details,
      );
    }
    if (checked.url.protocol === 'https:' && next.protocol === 'http:') {
      throw new UrlGuardError('redirect-downgrade', 'Redirect from https to http refused.', {
        ...details,
        url: next.href,
      });
    }
    const status = response.status;
    if (
      (status === 303 && method !== 'GET' && method !== 'HEAD') ||
      ((status === 301 || status === 302) && method === 'POST')
    ) {
      method = 'GET';
      body = null;
      for (const name of BODY_HEADERS) headers.delete(name);
    } else if (body !== null && !request.replayable) {
      throw new UrlGuardError(
        'redirect-body',
        `A ${status} redirect needs the body again, but it was a stream.`,
        details,
      );
    }
    if (next.origin !== checked.url.origin) {
      for (const name of CREDENTIAL_HEADERS) headers.delete(name);
    }
    if (visited.has(`${method} ${withoutFragment(next)}`)) {
      throw new UrlGuardError(
        'redirect-loop',
        'The redirect leads back to a URL already requested.',
        {
          ...details,
          url: next.href,
        },
      );
    }
    target = next.href;
  }
}
