import { describe, expect, it } from 'vitest';
import { ResponseBodyError } from './errors.js';
import { bodyText, captureBody } from './response-body.js';

const encoder = new TextEncoder();

/** A response whose body yields `chunks`, then ends with `end` (close, error or nothing). */
function streamed(
  chunks: string[],
  end: 'close' | 'error' | 'never',
  onCancel?: (reason: unknown) => void,
): Response {
  let index = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller): Promise<void> | undefined {
      const chunk = chunks[index++];
      if (chunk !== undefined) {
        controller.enqueue(encoder.encode(chunk));
        return undefined;
      }
      if (end === 'never') return new Promise<void>(() => {});
      if (end === 'close') controller.close();
      else controller.error(Object.assign(new TypeError('terminated'), { code: 'UND_ERR_SOCKET' }));
      return undefined;
    },
    cancel(reason) {
      onCancel?.(reason);
    },
  });
  return new Response(stream, { status: 200 });
}

const live = (): AbortSignal => new AbortController().signal;

describe('captureBody', () => {
  it('reads a whole body', async () => {
    const captured = await captureBody(streamed(['he', 'llo'], 'close'), 10, live());
    expect(captured).toMatchObject({ truncated: false, end: 'complete', error: undefined });
    expect(new TextDecoder().decode(captured.bytes)).toBe('hello');
  });

  it('stops past the limit, keeps exactly `limit` bytes and cancels the rest', async () => {
    const reasons: unknown[] = [];
    const captured = await captureBody(
      streamed(['abc', 'def', 'ghi'], 'never', (reason) => reasons.push(reason)),
      4,
      live(),
    );
    expect(captured).toMatchObject({ truncated: true, end: 'limit' });
    expect(new TextDecoder().decode(captured.bytes)).toBe('abcd');
    expect(reasons).toHaveLength(1);
  });

  it('treats a body of exactly `limit` bytes as complete', async () => {
    const captured = await captureBody(streamed(['abcd'], 'close'), 4, live());
    expect(captured).toMatchObject({ truncated: false, end: 'complete' });
  });

  it('reports a broken stream as a ResponseBodyError with the bytes read and the cause', async () => {
    const captured = await captureBody(streamed(['part'], 'error'), 100, live());
    expect(captured.end).toBe('broken');
    expect(captured.truncated).toBe(true);
    expect(new TextDecoder().decode(captured.bytes)).toBe('part');
    const error = captured.error as ResponseBodyError;
    expect(error).toBeInstanceOf(ResponseBodyError);
    expect(error).toMatchObject({
      name: 'ResponseBodyError',
      code: 'ERR_RESPONSE_BODY',
      status: 200,
      bytesRead: 4,
    });
    expect((error.cause as { code?: string }).code).toBe('UND_ERR_SOCKET');
  });

  it('ends a read that never returns as soon as the signal aborts, cancelling the stream', async () => {
    const reasons: unknown[] = [];
    const controller = new AbortController();
    const reading = captureBody(
      streamed(['first'], 'never', (reason) => reasons.push(reason)),
      100,
      controller.signal,
    );
    // Let the first chunk arrive; the next read waits for ever.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    const reason = new Error('attempt timed out');
    controller.abort(reason);
    const captured = await reading;
    expect(captured).toMatchObject({ end: 'aborted', truncated: true, error: reason });
    expect(new TextDecoder().decode(captured.bytes)).toBe('first');
    expect(reasons[0]).toBe(reason);
  });

  it('does not read at all when the signal is already aborted', async () => {
    const reasons: unknown[] = [];
    const reason = new Error('gone');
    const captured = await captureBody(
      streamed(['never read'], 'close', (r) => reasons.push(r)),
      100,
      AbortSignal.abort(reason),
    );
    expect(captured).toMatchObject({ end: 'aborted', error: reason });
    expect(captured.bytes.byteLength).toBe(0);
    expect(reasons).toHaveLength(1);
  });

  it('leaves no listener on the signal', async () => {
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof signal.removeEventListener;
    await captureBody(streamed(['a', 'b'], 'close'), 10, signal);
    await captureBody(streamed(['a'], 'error'), 10, signal);
    expect(added).toBe(2);
    expect(removed).toBe(2);
  });

  it('returns nothing for a response without a body', async () => {
    const captured = await captureBody(new Response(null, { status: 204 }), 10, live());
    expect(captured).toMatchObject({ truncated: false, end: 'complete' });
    expect(captured.bytes.byteLength).toBe(0);
  });
});

describe('bodyText', () => {
  const capture = (bytes: number[], truncated = false) => ({
    bytes: new Uint8Array(bytes),
    truncated,
    end: truncated ? ('limit' as const) : ('complete' as const),
    error: undefined,
  });

  it('decodes UTF-8, keeps a character cut by truncation from breaking it, else base64', () => {
    expect(bodyText(capture([0x6f, 0x6b]))).toEqual({ text: 'ok', encoding: 'utf8' });
    expect(bodyText(capture([0xc3, 0xa9, 0xc3], true))).toEqual({ text: 'é', encoding: 'utf8' });
    expect(bodyText(capture([0xff, 0xfe]))).toEqual({ text: '//4=', encoding: 'base64' });
  });
});
