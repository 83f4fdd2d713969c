/**
 * The demo's target: a `node:http` server on 127.0.0.1 with an ephemeral port, playing the
 * services the jobs call and the endpoint that receives the callback.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallbackPayload } from '@again/scheduler';

/** The paths the target serves. */
export const PATHS = {
  /** Always 200. */
  hello: '/hello',
  /** 503 with `Retry-After: 1` twice, then 200. */
  flaky: '/flaky',
  /** The cron job's endpoint: 200 with a count of its calls. */
  tick: '/tick',
  /** A report the callback job posts to: 200. */
  report: '/report',
  /** Receives callbacks: 204. */
  callback: '/callback',
} as const;

/** A running target. */
export interface Target {
  /** `http://127.0.0.1:<port>`. */
  readonly base: string;
  readonly port: number;
  /** Resolves with the first callback received. */
  readonly callback: Promise<CallbackPayload>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts the target on 127.0.0.1, on a port the system picks. */
export async function startTarget(): Promise<Target> {
  let flakyCalls = 0;
  let ticks = 0;
  let onCallback: (payload: CallbackPayload) => void = () => {};
  const callback = new Promise<CallbackPayload>((resolve) => {
    onCallback = resolve;
  });
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://target').pathname;
    let answer: { status: number; headers: Record<string, string>; body?: string };
    switch (path) {
      case PATHS.hello:
        answer = json(200, { hello: 'world' });
        break;
      case PATHS.flaky:
        flakyCalls += 1;
        answer =
          flakyCalls <= 2
            ? json(503, { error: 'busy' }, { 'retry-after': '1' })
            : json(200, { ok: true, calls: flakyCalls });
        break;
      case PATHS.tick:
        ticks += 1;
        answer = json(200, { tick: ticks });
        break;
      case PATHS.report:
        answer = json(200, { report: 'generated', for: JSON.parse(body || 'null') });
        break;
      case PATHS.callback:
        onCallback(JSON.parse(body) as CallbackPayload);
        answer = { status: 204, headers: {} };
        break;
      default:
        answer = json(404, { error: 'not found' });
    }
    res.writeHead(answer.status, answer.headers).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    callback,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
