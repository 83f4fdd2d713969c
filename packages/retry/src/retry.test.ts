import { describe, expect, it, vi } from 'vitest';
import { RetryError, RetryOptionsError } from './errors.js';
import { createRetrier } from './retrier.js';
import { retry } from './retry.js';

describe('retry (one-shot)', () => {
  it('runs fn with a throwaway retrier', async () => {
    let n = 0;
    const value = await retry(
      async ({ attempt }) => {
        n = attempt;
        if (attempt < 3) throw new Error('again');
        return 'done';
      },
      { interval: 0, jitter: 0 },
    );
    expect(value).toBe('done');
    expect(n).toBe(3);
  });

  it('works without options (defaults) on a first-try success', async () => {
    await expect(retry(() => 7)).resolves.toBe(7);
  });

  it('routes signal, retryOn and accept to the call', async () => {
    class Busy extends Error {}
    const sleep = vi.fn(async () => {});
    const error = await retry(() => Promise.reject(new TypeError('bug')), {
      retryOn: [Busy],
      sleep,
    }).catch((e: unknown) => e);
    expect((error as RetryError).reason).toBe('non-retryable');
    expect(sleep).not.toHaveBeenCalled();

    const aborted = await retry(() => 1, { signal: AbortSignal.abort('no') }).catch(
      (e: unknown) => e,
    );
    expect((aborted as RetryError).reason).toBe('aborted');

    let polls = 0;
    await expect(retry(() => ++polls, { accept: (v) => v === 2, sleep })).resolves.toBe(2);
  });

  it('rejects (never throws) on bad options', async () => {
    const bad = retry(() => 1, { maxRetries: -1 });
    await expect(bad).rejects.toBeInstanceOf(RetryOptionsError);
    await expect(retry(() => 1, 'fast' as never)).rejects.toMatchObject({
      code: 'ERR_RETRY_OPTIONS',
      option: 'options',
    });
  });
});

describe('more edge cases', () => {
  it('an async shouldRetry that rejects means "do not retry", and is logged', async () => {
    const error = vi.fn();
    const retrier = createRetrier({
      logger: { error },
      sleep: async () => {},
      shouldRetry: async () => {
        throw new Error('predicate bug');
      },
    });
    const failure = await retrier
      .run(() => Promise.reject(new Error('x')))
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RetryError);
    expect((failure as RetryError).reason).toBe('non-retryable');
    expect(error).toHaveBeenCalledTimes(1);
  });

  it('a broken injected sleep is logged and the loop goes on', async () => {
    const error = vi.fn();
    const retrier = createRetrier({
      maxRetries: 2,
      logger: { error },
      sleep: async () => {
        throw new Error('sleep bug');
      },
    });
    let calls = 0;
    await expect(
      retrier.run(() => {
        calls++;
        if (calls < 3) throw new Error('again');
        return 'ok';
      }),
    ).resolves.toBe('ok');
    expect(error).toHaveBeenCalledTimes(2);
  });

  it('reports retriesLeft as Infinity for unlimited retries', async () => {
    const infos: number[] = [];
    const retrier = createRetrier({
      maxRetries: Number.POSITIVE_INFINITY,
      sleep: async () => {},
      hooks: { onRetry: ({ retriesLeft }) => infos.push(retriesLeft) },
    });
    let n = 0;
    await retrier.run(() => {
      if (++n < 3) throw new Error('again');
    });
    expect(infos).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
  });

  it('retrier.signal is created lazily and only aborts on cancel()', async () => {
    const retrier = createRetrier();
    const signal = retrier.signal;
    expect(signal).toBe(retrier.signal);
    expect(signal.aborted).toBe(false);
    await retrier.run(() => 1);
    expect(signal.aborted).toBe(false);
    expect(retrier.cancelled).toBe(false);
    retrier.cancel();
    expect(signal.aborted).toBe(true);
  });

  it('fires onGiveUp for a call that never started', async () => {
    const onGiveUp = vi.fn();
    const retrier = createRetrier({ hooks: { onGiveUp } });
    retrier.stop();
    await retrier.settle(() => 1);
    expect(onGiveUp).toHaveBeenCalledTimes(1);
    expect(onGiveUp.mock.calls[0]?.[0]).toMatchObject({ reason: 'stopped' });
  });
});
