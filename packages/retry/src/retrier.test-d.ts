import { expectTypeOf } from 'vitest';
import type { RetryError, RetryReason } from './errors.js';
import { createRetrier, type Retrier } from './retrier.js';
import { retry } from './retry.js';
import type { RetryTrace } from './trace.js';
import type { AttemptContext } from './types.js';

const retrier: Retrier = createRetrier();

// The value type is inferred from fn, sync or async.
expectTypeOf(retrier.run(async () => 42)).toEqualTypeOf<Promise<number>>();
expectTypeOf(retrier.run(() => 'sync')).toEqualTypeOf<Promise<string>>();
expectTypeOf(retry(async ({ signal }) => signal.aborted)).toEqualTypeOf<Promise<boolean>>();
expectTypeOf(
  retrier.runUntil(
    async () => ({ done: true }),
    (v) => v.done,
  ),
).toEqualTypeOf<Promise<{ done: boolean }>>();

// fn receives { signal, attempt }.
retrier.run((context) => {
  expectTypeOf(context).toEqualTypeOf<AttemptContext>();
  expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>();
  expectTypeOf(context.attempt).toEqualTypeOf<number>();
});

// The trace narrows on ok.
async function traces(): Promise<void> {
  const trace = await retrier.settle(async () => 1);
  expectTypeOf(trace).toEqualTypeOf<RetryTrace<number>>();
  if (trace.ok) {
    expectTypeOf(trace.value).toEqualTypeOf<number>();
    expectTypeOf(trace.error).toEqualTypeOf<undefined>();
  } else {
    expectTypeOf(trace.reason).toEqualTypeOf<RetryReason>();
    expectTypeOf(trace.error).toEqualTypeOf<RetryError>();
  }
}
void traces;

// Hooks see the call's value type.
retrier.run(async () => 'x', {
  hooks: { onSuccess: ({ value }) => expectTypeOf(value).toEqualTypeOf<string>() },
});

// Options are readonly.
// @ts-expect-error options are frozen and readonly
retrier.options.maxRetries = 3;
