// Deadlines: go-again's "timeout" example, where Timeout bounded the whole call.
// 1. `timeout` is a total deadline: it aborts the running attempt's signal (reason: a
//    RetryDeadlineError with scope 'total') and the call gives up with reason 'timeout'.
// 2. `attemptTimeout` bounds each attempt: a hung attempt is aborted and retried.
// Run: pnpm --filter @again/example-timeout start
import { createRetrier, RetryDeadlineError, RetryError, sleep } from '@again/retry';

let started = Date.now();
const since = (): string => `+${String(Date.now() - started).padStart(4)} ms`;

function describe(reason: unknown): string {
  return reason instanceof RetryDeadlineError
    ? `RetryDeadlineError(scope=${reason.scope}, ${reason.timeout} ms)`
    : String(reason);
}

// 1. Total deadline -------------------------------------------------------------------------
console.log('1. timeout: 1000 ms; every attempt works for 600 ms and fails');
const withDeadline = createRetrier({ timeout: 1000, interval: 100, jitter: 0 });
try {
  await withDeadline.run(async ({ signal, attempt }) => {
    console.log(`${since()}  attempt ${attempt} starts`);
    signal.addEventListener('abort', () =>
      console.log(`${since()}  attempt ${attempt} told to stop: ${describe(signal.reason)}`),
    );
    await sleep(600, signal); // honours the signal, like fetch does
    throw new Error('upstream error');
  });
} catch (error) {
  if (!(error instanceof RetryError)) throw error;
  console.log(
    `${since()}  gave up: reason=${error.reason} code=${error.code} attempts=${error.attempts}`,
  );
}

// 2. Per-attempt timeout --------------------------------------------------------------------
console.log('\n2. attemptTimeout: 300 ms; the first two attempts hang, the third answers in 50 ms');
started = Date.now();
const perAttempt = createRetrier({ attemptTimeout: 300, interval: 100, jitter: 0 });
const value = await perAttempt.run(async ({ signal, attempt }) => {
  console.log(`${since()}  attempt ${attempt} starts`);
  signal.addEventListener('abort', () =>
    console.log(`${since()}  attempt ${attempt} timed out: ${describe(signal.reason)}`),
  );
  await sleep(attempt < 3 ? 60_000 : 50, signal);
  return `answer from attempt ${attempt}`;
});
console.log(`${since()}  ${value}`);

// 3. A wait that cannot fit is not started -------------------------------------------------
console.log(
  '\n3. timeout: 1000 ms, interval 800 ms, factor 2: the second wait (1600 ms) cannot fit',
);
started = Date.now();
const trace = await createRetrier({ timeout: 1000, interval: 800, jitter: 0 }).settle(async () => {
  throw new Error('still down');
});
console.log(
  `${since()}  ok=${trace.ok} reason=${trace.reason} attempts=${trace.attemptCount} (gave up without sleeping past the deadline)`,
);
