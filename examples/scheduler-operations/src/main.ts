/**
 * Operating a job in place, and a signed callback verified by its receiver:
 * 1. schedule a job (every 2 s) whose callback is signed (Standard Webhooks);
 * 2. pause it (no run starts, not even a triggered one), then resume it;
 * 3. trigger one extra run by hand, with its own idempotency key;
 * 4. update its request in place: the next run uses the new definition, the history stays;
 * throughout, the receiver checks every callback's signature with the `standardwebhooks` package.
 *
 * Run: pnpm --filter @again/example-scheduler-operations start
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createScheduler } from '@again/scheduler';
import { createMemoryStorage } from '@again/storage-memory';
import { createEgress } from '@again/url-guard';
import { Webhook } from 'standardwebhooks';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const receiver = new Webhook(secret);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// One local server: the job's two endpoints and the callback receiver.
const callbacks: string[] = [];
const hits: string[] = [];
const server = createServer(async (req, res) => {
  const body = await readBody(req);
  if (req.url === '/callback') {
    // What a receiver does: refuse anything whose signature does not check out.
    const headers = Object.fromEntries(
      ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [
        name,
        String(req.headers[name]),
      ]),
    );
    try {
      const payload = receiver.verify(body, headers) as { occurrence_id: string };
      console.log(`receiver  <- verified callback for ${payload.occurrence_id}`);
      callbacks.push(payload.occurrence_id);
      res.writeHead(204).end();
    } catch (error) {
      console.log(`receiver  <- REFUSED callback: ${(error as Error).message}`);
      res.writeHead(401).end();
    }
    return;
  }
  console.log(`target    <- ${req.method} ${req.url} (${req.headers['idempotency-key']})`);
  hits.push(`${req.method} ${req.url}`);
  res.writeHead(200).end('ok');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** Waits (at most 10 s) until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !done(); ) {
    if (Date.now() > deadline) throw new Error('the example timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const egress = createEgress({
  allowedSchemes: ['http'],
  allowIpLiterals: true,
  allowedAddresses: ['127.0.0.1'],
});
const scheduler = await createScheduler({
  storage: createMemoryStorage(),
  egress,
  logger: false,
  signingSecrets: { receiver: secret },
});

console.log('1. schedule: every 2 s, signed callback');
const id = await scheduler.schedule({
  id: 'sync',
  schedule: { every: 2_000 },
  request: { url: `${base}/v1/sync` },
  callback: { url: `${base}/callback`, signWith: 'receiver' },
});
await until(() => callbacks.length === 1);

console.log('2. pause: no run starts while it is paused');
await scheduler.pause(id);
const seen = hits.length;
await new Promise((resolve) => setTimeout(resolve, 2_500));
console.log(
  `   state: ${(await scheduler.jobStatus(id))?.state}, runs started meanwhile: ${hits.length - seen}`,
);
await scheduler.trigger(id).catch((error: Error) => console.log(`   trigger: ${error.name}`));
await scheduler.resume(id);
console.log('   resumed (the occurrence that fell due meanwhile runs now)');
await until(() => callbacks.length === 2);

console.log('3. trigger one extra run now, with its own idempotency key');
const triggered = await scheduler.trigger(id);
await until(() => callbacks.includes(triggered));

console.log('4. update the request in place');
await scheduler.update(id, {
  request: { method: 'POST', url: `${base}/v2/sync`, body: { full: true } },
});
await until(() => hits.includes('POST /v2/sync') && callbacks.length >= 4);

await scheduler.stop();
await egress.close();
server.close();

console.log('\nhistory:');
for (const run of (await scheduler.jobHistory(id)) ?? []) {
  console.log(
    `  #${run.sequence} ${run.status}${run.trigger ? ' (triggered)' : ''} ${run.occurrenceId}` +
      ` callback: ${run.callback?.delivered === true ? 'delivered' : 'not delivered'}`,
  );
}
