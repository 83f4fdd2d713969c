// Cancels a retrier from elsewhere while a call waits between attempts: go-again's "chan"
// example, where another goroutine called retrier.Cancel().
// cancel() is terminal: the waiting call ends at once with reason 'stopped', and later calls
// on the same retrier give up before running anything.
// Run: pnpm --filter @again/example-cancel start
import { createRetrier, RetryError } from '@again/retry';

const started = Date.now();
const since = (): string => `+${String(Date.now() - started).padStart(4)} ms`;

const retrier = createRetrier({
  maxRetries: 10,
  interval: 500,
  jitter: 0,
  hooks: {
    onAttempt: ({ attempt }) => console.log(`${since()}  attempt ${attempt}`),
    onRetry: ({ delay }) => console.log(`${since()}  failed; waiting ${delay} ms`),
  },
});

// The operation keeps failing: a dependency that is down.
const operation = async (): Promise<string> => {
  throw new Error('dependency unavailable');
};

// "Elsewhere": a shutdown handler, a supervisor, another request...
setTimeout(() => {
  console.log(`${since()}  shutdown: retrier.cancel()`);
  retrier.cancel();
}, 1200);

try {
  await retrier.run(operation);
} catch (error) {
  if (!(error instanceof RetryError)) throw error;
  console.log(
    `${since()}  gave up: reason=${error.reason} code=${error.code} after ${error.attempts} attempts`,
  );
  console.log(`           the wait was cut short; retrier.cancelled = ${retrier.cancelled}`);
}

// The retrier stays cancelled: the next call does not even start its function.
let ran = false;
const next = await retrier.settle(async () => {
  ran = true;
  return 'never';
});
console.log(
  `${since()}  next call: ok=${next.ok} reason=${next.reason} attempts=${next.attemptCount} fn ran=${ran}`,
);
