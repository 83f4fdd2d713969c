// Classifies errors from real 127.0.0.1 sockets with @again/registry, then lets @again/retry use
// the registry against a server that resets its first two connections.
// Run: pnpm --filter @again/example-registry start
import http from 'node:http';
import net from 'node:net';
import { createRegistry, RegistryError } from '@again/registry';
import { createRetrier, RetryError } from '@again/retry';

/** An error our own code throws when the upstream asks us to come back later. */
class UpstreamBusyError extends Error {
  override readonly name = 'UpstreamBusyError';
}

const registry = createRegistry()
  .loadDefaults() // ECONNREFUSED, ECONNRESET, EPIPE, undici timeouts, TimeoutError, …
  .register({ code: 'EMFILE' }, UpstreamBusyError); // a code and a class of our own

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A 127.0.0.1 port where nothing listens. */
async function refusedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

async function caught(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `, cause ${describe(error.cause)}` : '';
  return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}${cause}`;
}

function show(label: string, error: unknown): void {
  const verdict = registry.isTemporary(error) ? 'temporary    ' : 'not temporary';
  console.log(`  ${verdict}  ${label.padEnd(34)} ${describe(error)}`);
}

console.log(`Registered matchers: ${registry.size}`);
console.log('\n1. Real errors, classified:');

const port = await refusedPort();
const netError = await new Promise<Error>((resolve) =>
  net.connect(port, '127.0.0.1').once('error', resolve),
);
show('node:net connect, closed port', netError);

// fetch wraps the socket error: TypeError('fetch failed', { cause }). The registry walks `cause`.
show('fetch, closed port', await caught(() => fetch(`http://127.0.0.1:${port}/`)));
show('our UpstreamBusyError', new UpstreamBusyError('try later'));
show('a programming error', new TypeError('x.map is not a function'));
show(
  'caller cancelled (AbortError)',
  await caught(() => fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.abort() })),
);

console.log('\n2. An explicit list replaces the registry for one call:');
console.log(`  isTemporary(netError, ['EPIPE']) = ${registry.isTemporary(netError, ['EPIPE'])}`);

console.log('\n3. @again/retry with the registry, against a server that resets twice:');
let connections = 0;
const flaky = http.createServer((req, res) => {
  connections++;
  if (connections <= 2) req.socket.resetAndDestroy();
  else res.end(`hello on connection ${connections}`);
});
const flakyUrl = `http://127.0.0.1:${await listen(flaky)}/`;
const retrier = createRetrier({
  maxRetries: 4,
  interval: 50,
  jitterStrategy: 'none',
  registry,
  hooks: {
    onRetry: ({ attempt, error, delay }) =>
      console.log(`  attempt ${attempt}: ${describe(error)} is temporary, retrying in ${delay} ms`),
  },
});
const body = await retrier.run(async ({ signal }) => {
  const response = await fetch(flakyUrl, { signal });
  return response.text();
});
console.log(`  then: ${body}`);
flaky.closeAllConnections();
await close(flaky);

// A programming error is not temporary: the retrier gives up after the first attempt.
try {
  await retrier.run(() => {
    throw new TypeError('x.map is not a function');
  });
} catch (error) {
  if (error instanceof RetryError) {
    console.log(`  a TypeError: ${error.code} after ${error.attempts} attempt(s)`);
  }
}

console.log('\n4. Bad matchers are refused with a typed error:');
try {
  registry.register({ nmae: 'TimeoutError' } as never);
} catch (error) {
  if (error instanceof RegistryError)
    console.log(`  ${error.name} ${error.code}: ${error.message}`);
}
