// A flaky inventory service on 127.0.0.1, called through @again/retry.
// Shows every attempt, the delay chosen before each retry (backoff, jitter and the server's
// Retry-After hint), the final trace, and a non-retryable error that stops at once.
// Run: pnpm --filter @again/example-basic-retry start   (also the root `pnpm demo`)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createRetrier,
  parseRetryAfter,
  RetryError,
  type RetryTrace,
  withRetryAfter,
} from '@again/retry';

/** An HTTP response we did not want. */
class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  constructor(status: number) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

// The service: busy first (503 + Retry-After: 1), then a dropped connection, then the data.
let requests = 0;
const server = http.createServer((request, response) => {
  requests++;
  if (request.url !== '/stock') {
    response.writeHead(404).end();
  } else if (requests === 1) {
    response.writeHead(503, { 'retry-after': '1' }).end();
  } else if (requests === 2) {
    request.socket.destroy(); // the client sees a network error
  } else {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ sku: 'tea-42', inStock: 17 }));
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const started = Date.now();
const since = (): string => `+${String(Date.now() - started).padStart(4)} ms`;

const retrier = createRetrier({
  maxRetries: 4,
  interval: 200,
  backoffFactor: 2,
  jitter: 50, // additive jitter, as in go-again: U[0, 50) ms on top of the backoff
  timeout: 10_000, // total deadline for each call
  attemptTimeout: 2_000, // each attempt's own deadline
  // 4xx other than 429 are the caller's fault: retrying cannot help.
  shouldRetry: (error) =>
    !(error instanceof HttpError) || error.status >= 500 || error.status === 429,
  hooks: {
    onAttempt: ({ attempt }) => console.log(`${since()}  → attempt ${attempt}`),
    onRetry: ({ attempt, error, delay }) =>
      console.log(
        `${since()}  ✗ attempt ${attempt} failed (${describe(error)}); next try in ${Math.round(delay)} ms`,
      ),
    onSuccess: ({ attempt }) => console.log(`${since()}  ✓ attempt ${attempt} succeeded`),
    onGiveUp: ({ reason }) => console.log(`${since()}  ■ giving up: ${reason}`),
  },
});

function describe(error: unknown): string {
  if (error instanceof HttpError) return error.message;
  if (error instanceof Error) {
    const cause = error.cause as { code?: string } | undefined;
    return cause?.code === undefined ? error.message : `${error.message}: ${cause.code}`;
  }
  return String(error);
}

async function getJson(path: string, signal: AbortSignal): Promise<unknown> {
  const response = await fetch(`${base}${path}`, { signal });
  if (!response.ok) {
    await response.body?.cancel();
    const error = new HttpError(response.status);
    const hint = parseRetryAfter(response.headers.get('retry-after'));
    throw hint === undefined ? error : withRetryAfter(error, hint);
  }
  return response.json();
}

function printTrace(trace: RetryTrace<unknown>): void {
  console.log(`\n  attempt   started   duration   waited before   outcome`);
  for (const t of trace.timings) {
    const outcome = t.ok ? 'ok' : describe(t.error);
    console.log(
      `  ${String(t.attempt).padStart(7)}   ${`${t.startedAt - started}`.padStart(4)} ms   ` +
        `${`${t.duration}`.padStart(5)} ms   ${`${Math.round(t.delayBefore)}`.padStart(10)} ms   ${outcome}`,
    );
  }
  console.log(`  ${trace.attemptCount} attempts in ${trace.elapsed} ms; ok: ${trace.ok}\n`);
}

try {
  console.log(`GET ${base}/stock — the service is busy, then drops a connection, then answers\n`);
  const trace = await retrier.settle(({ signal }) => getJson('/stock', signal));
  printTrace(trace);
  if (trace.ok) console.log('value:', trace.value);
  console.log('errors along the way (trace.join()):');
  console.log(`  ${trace.join()?.message.replaceAll('\n', '\n  ')}\n`);

  console.log(`GET ${base}/missing — a 404 is not worth retrying\n`);
  await retrier.run(({ signal }) => getJson('/missing', signal));
} catch (error) {
  if (!(error instanceof RetryError)) throw error;
  console.log(
    `\nRetryError: reason=${error.reason} code=${error.code} attempts=${error.attempts} ` +
      `cause=${describe(error.cause)}`,
  );
} finally {
  server.closeAllConnections();
  server.close();
}
