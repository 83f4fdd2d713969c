import type { CodeMatcher, NameMatcher } from './matcher.js';

/**
 * One row of {@link DEFAULT_TEMPORARY_ERRORS}: which error, who produces it, what it means and
 * why a later attempt can succeed.
 *
 * @example
 * ```ts
 * const row: TemporaryErrorDefault = DEFAULT_TEMPORARY_ERRORS[0]!;
 * console.log(row.matcher, row.source, row.transient);
 * ```
 */
export interface TemporaryErrorDefault {
  /** The matcher registered by `loadDefaults()`: a `{ code }` or a `{ name }`. */
  readonly matcher: CodeMatcher | NameMatcher;
  /** Who produces it: Node's sockets and DNS, undici (Node's `fetch`), or the web platform. */
  readonly source: 'node' | 'undici' | 'web';
  /** What the error says happened. */
  readonly meaning: string;
  /** Why retrying after a pause can succeed. */
  readonly transient: string;
}

/**
 * The errors `loadDefaults()` registers: failures of a Node client's connection, DNS lookup or
 * HTTP exchange that usually go away on their own. The same table, with the errors deliberately
 * left out (`ENOTFOUND`, `EAI_NONAME`, `AbortError`, `UND_ERR_CLOSED`…) and why, is in
 * `docs/registry.md`.
 *
 * Go's go-again registered mostly server-side sentinels (`http.ErrServerClosed`…); these are what
 * a client actually sees. Whether a *request* is safe to repeat (idempotency) is the caller's
 * decision, not the error's.
 *
 * @example
 * ```ts
 * import { DEFAULT_TEMPORARY_ERRORS } from '@again/registry';
 *
 * for (const row of DEFAULT_TEMPORARY_ERRORS) {
 *   console.log(row.matcher, row.meaning);
 * }
 * ```
 */
export const DEFAULT_TEMPORARY_ERRORS: readonly TemporaryErrorDefault[] = freezeRows([
  {
    matcher: { code: 'ECONNRESET' },
    source: 'node',
    meaning:
      'The peer reset the connection (TCP RST); the Node HTTP client may call it a socket hang up.',
    transient:
      'The server restarted, or a proxy or load balancer dropped an idle keep-alive connection just as it was reused. A new connection usually works.',
  },
  {
    matcher: { code: 'ECONNREFUSED' },
    source: 'node',
    meaning: 'Nothing accepted the connection at that address and port.',
    transient:
      'The service is restarting, being deployed or not listening yet. (A wrong port gives the same error: keep retries bounded.)',
  },
  {
    matcher: { code: 'ETIMEDOUT' },
    source: 'node',
    meaning:
      'A connect or a read timed out in the operating system (or in the happy-eyeballs connect of Node).',
    transient: 'Packet loss, congestion or an overloaded peer; the next attempt may get through.',
  },
  {
    matcher: { code: 'EPIPE' },
    source: 'node',
    meaning: 'Wrote to a connection the peer had already closed (broken pipe).',
    transient:
      'Usually a keep-alive race: the server closed an idle connection while the client reused it.',
  },
  {
    matcher: { code: 'ECONNABORTED' },
    source: 'node',
    meaning: 'The local network stack aborted the connection (software caused connection abort).',
    transient: 'Caused by a network change or a timeout in the local stack, not by the request.',
  },
  {
    matcher: { code: 'EAI_AGAIN' },
    source: 'node',
    meaning: 'getaddrinfo: temporary failure in name resolution.',
    transient:
      'The resolver timed out or answered SERVFAIL; the name may well exist. Unlike ENOTFOUND it is not an answer.',
  },
  {
    matcher: { code: 'ENETUNREACH' },
    source: 'node',
    meaning: 'No route to the destination network.',
    transient:
      'An interface, VPN or route is coming up or changing (roaming, a container network starting).',
  },
  {
    matcher: { code: 'EHOSTUNREACH' },
    source: 'node',
    meaning: 'No route to the host (an ICMP host-unreachable, or no ARP answer).',
    transient: 'The host is rebooting or a route is flapping.',
  },
  {
    matcher: { code: 'ENETDOWN' },
    source: 'node',
    meaning: 'The local network interface is down.',
    transient: 'Links come back: a Wi-Fi reconnect, a link flap, a restarted container network.',
  },
  {
    matcher: { code: 'EHOSTDOWN' },
    source: 'node',
    meaning: 'The host is down (mostly from macOS and BSD; Linux usually reports EHOSTUNREACH).',
    transient: 'As EHOSTUNREACH: the host is rebooting or briefly unreachable.',
  },
  {
    matcher: { code: 'UND_ERR_SOCKET' },
    source: 'undici',
    meaning: 'undici SocketError: the socket failed or the other side closed it mid-request.',
    transient:
      'The same causes as ECONNRESET on a pooled connection, reported under the undici code.',
  },
  {
    matcher: { code: 'UND_ERR_CONNECT_TIMEOUT' },
    source: 'undici',
    meaning:
      'undici ConnectTimeoutError: the TCP (and TLS) connect did not finish in connect.timeout (10 s by default).',
    transient: 'Congestion, a full accept queue on a busy server, or a slow TLS handshake.',
  },
  {
    matcher: { code: 'UND_ERR_HEADERS_TIMEOUT' },
    source: 'undici',
    meaning:
      'undici HeadersTimeoutError: no response headers within headersTimeout (300 s by default).',
    transient: 'The server is overloaded or the request queued behind slow ones.',
  },
  {
    matcher: { code: 'UND_ERR_BODY_TIMEOUT' },
    source: 'undici',
    meaning: 'undici BodyTimeoutError: the response body stalled for longer than bodyTimeout.',
    transient: 'A stalled stream; a fresh request usually completes.',
  },
  {
    matcher: { name: 'TimeoutError' },
    source: 'web',
    meaning:
      'A DOMException named TimeoutError: an AbortSignal.timeout() passed to fetch (or another API) fired.',
    transient:
      'This attempt was too slow. A retrier that creates a timeout per attempt gives the next one a fresh signal.',
  },
]);

/** Freezes the table deeply, so nobody edits the defaults of every registry in the process. */
function freezeRows(rows: TemporaryErrorDefault[]): readonly TemporaryErrorDefault[] {
  return Object.freeze(
    rows.map((row) => Object.freeze({ ...row, matcher: Object.freeze({ ...row.matcher }) })),
  );
}
