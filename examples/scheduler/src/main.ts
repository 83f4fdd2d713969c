/**
 * @again/scheduler in one screen: schedule a one-off HTTP job, receive its callback on a local
 * 127.0.0.1 server, print what arrived, then stop.
 *
 * Run: pnpm --filter @again/example-scheduler start
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CallbackPayload, createScheduler } from '@again/scheduler';
import { createMemoryStorage } from '@again/storage-memory';
import { createEgress } from '@again/url-guard';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// One local server plays both parts: the job's target and the callback receiver.
let onCallback: (payload: CallbackPayload) => void = () => {};
const callbackArrived = new Promise<CallbackPayload>((resolve) => {
  onCallback = resolve;
});
const server = createServer(async (req, res) => {
  const body = await readBody(req);
  if (req.url === '/report') {
    console.log(`target   <- ${req.method} /report ${body}`);
    console.log(`            idempotency-key: ${req.headers['idempotency-key']}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ report: 'generated' }));
    return;
  }
  if (req.url === '/callback') {
    onCallback(JSON.parse(body) as CallbackPayload);
    res.writeHead(204);
    res.end();
    return;
  }
  res.writeHead(404);
  res.end();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const base = `http://127.0.0.1:${port}`;

// The URL guard refuses loopback and plain http by default; this demo opens exactly its own
// server's address and port, on purpose.
const egress = createEgress({
  allowedSchemes: ['http'],
  allowIpLiterals: true,
  allowedAddresses: ['127.0.0.1'],
  allowedPorts: [port],
});
const scheduler = await createScheduler({
  storage: createMemoryStorage(),
  egress,
  pollInterval: 0,
});

const runAt = new Date(Date.now() + 300);
const id = await scheduler.schedule({
  id: 'nightly-report',
  schedule: { at: runAt },
  request: { method: 'POST', url: `${base}/report`, body: { day: '2026-01-01' } },
  callback: { url: `${base}/callback` },
});
console.log(`scheduled ${id} for ${runAt.toISOString()}`);

const payload = await callbackArrived;
console.log('callback <- payload:');
console.log(JSON.stringify(payload, null, 2));

const status = await scheduler.jobStatus(id);
console.log(`status: ${status?.state}, runs: ${status?.runs}, next run: ${status?.nextRunAt}`);
const history = (await scheduler.jobHistory(id)) ?? [];
for (const run of history) {
  console.log(`history #${run.sequence}: ${run.status} (${run.occurrenceId})`);
}

await scheduler.stop();
await egress.close();
await new Promise<void>((resolve) => server.close(() => resolve()));
console.log('stopped');
