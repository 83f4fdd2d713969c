// Stops a retrying call with the caller's AbortSignal: go-again's "context" example, where the
// caller cancelled its ctx. The signal reaches the running attempt (here a slow request to a
// 127.0.0.1 server) and ends the call at once with reason 'aborted'.
// Run: pnpm --filter @again/example-abort-signal start
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRetrier, RetryError } from '@again/retry';

// A server that answers 503 quickly at first, then hangs (a slow dependency).
let requests = 0;
const server = http.createServer((_request, response) => {
  requests++;
  if (requests <= 2) response.writeHead(503).end();
  // Otherwise: never answer. Only the client's abort ends the request.
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/report`;

const started = Date.now();
const since = (): string => `+${String(Date.now() - started).padStart(4)} ms`;

const retrier = createRetrier({ maxRetries: 5, interval: 200, jitter: 0 });

// The caller: for example an HTTP handler whose client went away after one second.
const controller = new AbortController();
setTimeout(() => {
  console.log(`${since()}  caller aborts`);
  controller.abort(new Error('client disconnected'));
}, 1000);

try {
  await retrier.run(
    async ({ signal, attempt }) => {
      console.log(`${since()}  attempt ${attempt}: GET ${url}`);
      signal.addEventListener('abort', () =>
        console.log(
          `${since()}  attempt ${attempt}: its signal aborted (${String(signal.reason)})`,
        ),
      );
      const response = await fetch(url, { signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.text();
    },
    { signal: controller.signal },
  );
} catch (error) {
  if (!(error instanceof RetryError)) throw error;
  console.log(`${since()}  gave up: reason=${error.reason} code=${error.code}`);
  console.log(
    `           attempts=${error.attempts}, errors: ${error.errors.map(String).join(' | ')}`,
  );
} finally {
  server.closeAllConnections();
  server.close();
}

// An already aborted signal: the function never runs (go-again ran it once anyway).
const trace = await retrier.settle(async () => 'never', { signal: AbortSignal.abort() });
console.log(
  `${since()}  with an aborted signal: reason=${trace.reason}, attempts=${trace.attemptCount}`,
);
