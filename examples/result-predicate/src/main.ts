// Retrying on a *result*, not only on errors: poll a job on a 127.0.0.1 server with runUntil
// until it is done. Refused results are recorded as RetryResultError (with the value), so a
// poll that never finishes still tells you what it last saw.
// Run: pnpm --filter @again/example-result-predicate start
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRetrier, RetryError, RetryResultError } from '@again/retry';

interface Job {
  readonly id: string;
  readonly state: 'queued' | 'running' | 'done';
  readonly progress: number;
}

// A report job that needs four polls to finish; a stuck job that never does.
let polls = 0;
const server = http.createServer((request, response) => {
  let job: Job;
  if (request.url === '/jobs/report') {
    polls++;
    const state = polls === 1 ? 'queued' : polls < 4 ? 'running' : 'done';
    job = { id: 'report', state, progress: Math.min(100, (polls - 1) * 40) };
  } else {
    job = { id: 'stuck', state: 'running', progress: 99 };
  }
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(job));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const poller = createRetrier({
  maxRetries: 5,
  backoff: 'constant', // poll at a steady pace...
  interval: 250,
  jitterStrategy: 'equal', // ...spread a little so many pollers do not sync up
});

async function getJob(id: string, signal: AbortSignal): Promise<Job> {
  const response = await fetch(`${base}/jobs/${id}`, { signal });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return (await response.json()) as Job;
}

const isDone = (job: Job, attempt: number): boolean => {
  console.log(`  poll ${attempt}: ${job.state} (${job.progress}%)`);
  return job.state === 'done';
};

try {
  console.log('polling the report job:');
  const job = await poller.runUntil(({ signal }) => getJob('report', signal), isDone);
  console.log(`done: ${JSON.stringify(job)}\n`);

  console.log('polling a job that never finishes:');
  await poller.runUntil(({ signal }) => getJob('stuck', signal), isDone);
} catch (error) {
  if (!(error instanceof RetryError)) throw error;
  const last = error.cause;
  console.log(`gave up: reason=${error.reason} after ${error.attempts} polls`);
  if (last instanceof RetryResultError) {
    console.log(`last refused result (attempt ${last.attempt}): ${JSON.stringify(last.value)}`);
  }
} finally {
  server.closeAllConnections();
  server.close();
}
