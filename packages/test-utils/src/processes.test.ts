import { describe, expect, it } from 'vitest';
import { forkScript, has } from './processes.js';

const ECHO = new URL('./fixtures/echo-worker.mjs', import.meta.url);

describe('forkScript', () => {
  it('passes arguments, collects messages and finds a matching one', async () => {
    const worker = forkScript(ECHO, ['a', 'b']);
    const ready = await worker.waitFor(has('ready', 'args'));
    expect(ready.args).toEqual(['a', 'b']);
    worker.child.send({ echo: 1 });
    worker.child.send({ echo: 2 });
    await expect(worker.waitFor(has('echoed'))).resolves.toEqual({ echoed: 1 });
    await expect.poll(() => worker.messages).toHaveLength(3);
    // A message received already is found at once.
    expect(await worker.waitFor(has('ready'))).toBe(ready);
    worker.child.send({ exit: 3 });
    expect(await worker.exited).toEqual({ code: 3, signal: null });
  });

  it('rejects a wait when the process exits before the message', async () => {
    const worker = forkScript(ECHO.pathname);
    await worker.waitFor(has('ready'));
    const never = worker.waitFor(has('never'));
    worker.child.send({ exit: 0 });
    await expect(never).rejects.toThrow('echo-worker.mjs exited (code 0, signal null)');
  });

  it('kills with SIGKILL unless told otherwise, and once it has exited does nothing', async () => {
    const worker = forkScript(ECHO);
    await worker.waitFor(has('ready'));
    expect(await worker.kill()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await worker.kill('SIGTERM')).toEqual({ code: null, signal: 'SIGKILL' });
    const other = forkScript(ECHO);
    await other.waitFor(has('ready'));
    expect(await other.kill('SIGTERM')).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('refuses a relative path (it would be resolved against the wrong directory)', () => {
    expect(() => forkScript('./fixtures/echo-worker.mjs')).toThrow(/absolute path/);
  });
});

describe('has', () => {
  it('matches objects that carry every key', () => {
    expect(has('a')({ a: undefined })).toBe(true);
    expect(has('a', 'b')({ a: 1 })).toBe(false);
    expect(has('a')(null)).toBe(false);
    expect(has('a')('a')).toBe(false);
  });
});
