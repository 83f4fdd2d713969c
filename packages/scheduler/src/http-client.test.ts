import { describe, expect, it } from 'vitest';
import { type FetchFunction, raceAbort, SCHEDULER_HEADERS, send } from './http-client.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('raceAbort', () => {
  it('settles with the work when it finishes first', async () => {
    await expect(
      raceAbort(Promise.resolve(1), new AbortController().signal, () => {}),
    ).resolves.toBe(1);
    const failure = new Error('no');
    expect(
      await rejection(raceAbort(Promise.reject(failure), new AbortController().signal, () => {})),
    ).toBe(failure);
  });

  it('rejects with the signal’s reason at once, and hands a late value to discard', async () => {
    const controller = new AbortController();
    let finish!: (value: string) => void;
    const work = new Promise<string>((resolve) => {
      finish = resolve;
    });
    const discarded: string[] = [];
    const raced = raceAbort(work, controller.signal, (late) => discarded.push(late));
    const reason = new Error('timed out');
    controller.abort(reason);
    expect(await rejection(raced)).toBe(reason);
    finish('late');
    await work;
    await Promise.resolve();
    expect(discarded).toEqual(['late']);
  });

  it('rejects at once for an aborted signal and drops a late rejection', async () => {
    const reason = new Error('gone');
    let fail!: (error: unknown) => void;
    const work = new Promise<never>((_, reject) => {
      fail = reject;
    });
    expect(await rejection(raceAbort(work, AbortSignal.abort(reason), () => {}))).toBe(reason);
    fail(new Error('late failure')); // no unhandled rejection: the race handles it
    await Promise.resolve();
  });
});

describe('send', () => {
  it('hands the attempt’s own signal to fetch, with ky’s request', async () => {
    const seen: Array<{ input: unknown; signal: AbortSignal | null | undefined }> = [];
    const fetch: FetchFunction = async (input, init) => {
      seen.push({ input, signal: init?.signal });
      return new Response('ok');
    };
    const signal = new AbortController().signal;
    const response = await send(
      fetch,
      'https://api.example.com/x',
      { method: 'PUT', headers: { [SCHEDULER_HEADERS.attempt]: '1' }, body: 'b' },
      signal,
    );
    expect(await response.text()).toBe('ok');
    expect(seen[0]?.signal).toBe(signal);
    const request = seen[0]?.input as Request;
    expect(request.method).toBe('PUT');
    expect(request.headers.get('x-again-attempt')).toBe('1');
  });

  it('sends json with content-type application/json unless the headers set one', async () => {
    const requests: Request[] = [];
    const fetch: FetchFunction = async (input) => {
      requests.push((input as Request).clone());
      return new Response(null, { status: 204 });
    };
    const signal = new AbortController().signal;
    await send(fetch, 'https://h.example.com/', { method: 'POST', json: { a: 1 } }, signal);
    await send(
      fetch,
      'https://h.example.com/',
      { method: 'POST', json: { a: 1 }, headers: { 'content-type': 'application/vnd.x+json' } },
      signal,
    );
    expect(requests[0]?.headers.get('content-type')).toBe('application/json');
    expect(await requests[0]?.text()).toBe('{"a":1}');
    expect(requests[1]?.headers.get('content-type')).toBe('application/vnd.x+json');
  });

  it.each(['POST', 'PUT', 'PATCH'] as const)(
    '%s: a fetch that rejects without reading the body rejects the call at once',
    async (method) => {
      const failure = new TypeError('fetch failed');
      const fetch: FetchFunction = async () => {
        throw failure;
      };
      const call = send(
        fetch,
        'https://h.example.com/',
        { method, body: 'x' },
        new AbortController().signal,
      );
      expect(await rejection(call)).toBe(failure);
    },
  );

  it.each(['POST', 'PUT', 'PATCH'] as const)(
    '%s: a fetch that locks the body and never reads it still ends the call',
    async (method) => {
      const clones: Request[] = [];
      // A test double that keeps a clone of the request (a tee that locks ky's branch) and
      // answers without reading it.
      const fetch: FetchFunction = async (input) => {
        clones.push((input as Request).clone());
        return new Response('done');
      };
      const response = await send(
        fetch,
        'https://h.example.com/',
        { method, body: 'payload' },
        new AbortController().signal,
      );
      expect(response.status).toBe(200);
      expect(await clones[0]?.text()).toBe('payload');
    },
  );

  it('a POST refused by Node’s fetch (bad port) rejects at once', async () => {
    const call = send(
      (input, init) => globalThis.fetch(input, init),
      'http://127.0.0.1:10080/',
      { method: 'POST', body: 'x' },
      new AbortController().signal,
    );
    expect(await rejection(call)).toBeInstanceOf(TypeError);
  });

  it('rejects with the signal’s reason when fetch never settles, and cancels a late body', async () => {
    const controller = new AbortController();
    let answer!: (response: Response) => void;
    const fetch: FetchFunction = () =>
      new Promise<Response>((resolve) => {
        answer = resolve;
      });
    const call = send(fetch, 'https://h.example.com/', { method: 'GET' }, controller.signal);
    await new Promise((resolve) => setImmediate(resolve));
    const reason = new Error('attempt timed out');
    controller.abort(reason);
    expect(await rejection(call)).toBe(reason);
    let cancelled = false;
    answer(
      new Response(
        new ReadableStream({
          cancel() {
            cancelled = true;
          },
        }),
      ),
    );
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(cancelled).toBe(true);
  });

  it('does not call fetch when the signal is already aborted', async () => {
    let called = false;
    const fetch: FetchFunction = async () => {
      called = true;
      return new Response();
    };
    const reason = new Error('stopped');
    expect(
      await rejection(send(fetch, 'https://h.example.com/', {}, AbortSignal.abort(reason))),
    ).toBe(reason);
    expect(called).toBe(false);
  });
});
