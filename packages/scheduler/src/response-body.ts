/**
 * Reading the start of a response body: at most a given number of bytes, the rest of the stream
 * cancelled, the read ended by the attempt's own signal, and a broken stream told apart from a
 * body that was simply longer than we keep.
 *
 * @module
 */
import { ResponseBodyError } from './errors.js';

/**
 * How a body read ended.
 *
 * @example
 * ```ts
 * if (captured.end === 'broken') throw captured.error;
 * ```
 */
export type BodyEnd =
  /** The whole body was read. */
  | 'complete'
  /** More than `limit` bytes: we stopped reading and cancelled the rest. */
  | 'limit'
  /** The signal aborted (attempt timeout, run budget, run cancelled); the read was cancelled. */
  | 'aborted'
  /** The stream failed (connection reset, socket closed): the body is incomplete. */
  | 'broken';

/**
 * The captured start of a response body.
 *
 * @example
 * ```ts
 * const captured: CapturedBody = await captureBody(response, 4096, signal);
 * ```
 */
export interface CapturedBody {
  /** At most `limit` bytes from the start of the body. */
  readonly bytes: Uint8Array;
  /** `true` when `bytes` is not the whole body (`end` is not `'complete'`). */
  readonly truncated: boolean;
  /** How the read ended. */
  readonly end: BodyEnd;
  /**
   * Why the read ended early: the signal's reason (`'aborted'`), a {@link ResponseBodyError}
   * whose `cause` is the stream's error (`'broken'`); `undefined` otherwise.
   */
  readonly error: unknown;
}

function noop(): void {}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    if (offset >= length) break;
    const part = chunk.subarray(0, length - offset);
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return bytes;
}

/**
 * Reads at most `limit` bytes of `response`'s body (plus the chunk that crosses it), then
 * cancels the stream, which closes the connection instead of downloading an unbounded body.
 *
 * The read is bounded by `signal` itself: when it aborts, the reader is cancelled and the read
 * ends at once. The signal of the `Request` that produced the response is not relied on: its
 * link to the caller's signal can be lost to garbage collection (a known Node/undici issue),
 * after which a slowly dripping body would never be interrupted. Never rejects.
 *
 * @param response - the response (its status is only used to describe a broken body).
 * @param limit - bytes to keep.
 * @param signal - the attempt's signal.
 * @returns the captured bytes and how the read ended.
 * @example
 * ```ts
 * const body = await captureBody(response, 4096, signal);
 * if (body.end === 'broken') throw body.error; // a ResponseBodyError
 * ```
 */
export async function captureBody(
  response: Response,
  limit: number,
  signal: AbortSignal,
): Promise<CapturedBody> {
  const body = response.body;
  if (body === null) {
    return { bytes: new Uint8Array(0), truncated: false, end: 'complete', error: undefined };
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let end: BodyEnd = 'complete';
  let error: unknown;
  // Ends the pending read at once when the signal aborts, even if the stream never answers.
  let wake: ((value: undefined) => void) | undefined;
  const onAbort = (): void => {
    wake?.(undefined);
    reader.cancel(signal.reason).catch(noop);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal.aborted) {
      const next = await new Promise<ReadableStreamReadResult<Uint8Array> | undefined>(
        (resolve, reject) => {
          wake = resolve;
          reader.read().then(resolve, reject);
        },
      );
      // Checked first: cancelling the reader also ends a pending read as if the body were done.
      if (signal.aborted || next === undefined || next.done) break;
      chunks.push(next.value);
      total += next.value.byteLength;
      if (total > limit) {
        end = 'limit';
        break;
      }
    }
    if (signal.aborted) {
      end = 'aborted';
      error = signal.reason;
    }
  } catch (failure) {
    if (signal.aborted) {
      end = 'aborted';
      error = signal.reason;
    } else {
      end = 'broken';
      error = new ResponseBodyError(response.status, total, { cause: failure });
    }
  } finally {
    wake = undefined;
    signal.removeEventListener('abort', onAbort);
    reader.cancel().catch(noop);
  }
  return {
    bytes: concat(chunks, Math.min(total, limit)),
    truncated: end !== 'complete',
    end,
    error,
  };
}

/**
 * The captured bytes as UTF-8 text, or base64 when they are not valid UTF-8.
 *
 * @param captured - from {@link captureBody}.
 * @returns the text and its encoding.
 * @example
 * ```ts
 * bodyText(captured); // { text: 'ok', encoding: 'utf8' }
 * ```
 */
export function bodyText(captured: CapturedBody): { text: string; encoding: 'utf8' | 'base64' } {
  try {
    // `stream: true` tolerates a multi-byte character cut where the read stopped.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(captured.bytes, {
      stream: captured.truncated,
    });
    return { text, encoding: 'utf8' };
  } catch {
    return { text: Buffer.from(captured.bytes).toString('base64'), encoding: 'base64' };
  }
}
