/**
 * stopOnSignals()'s options are checked when it is called, so a mistake shows at start-up rather
 * than when the signal arrives; nothing is installed for options it refuses. (A real child process
 * stopped by SIGTERM is in @again/integration's signals test.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidSchedulerOptionsError } from './scheduler-options.js';
import { tracked } from './test-utils/harness.js';

const t = tracked();
afterEach(() => t.flush());

describe('stopOnSignals() options', () => {
  it.each([
    ['a number', 5, ''],
    ['an unknown key', { signal: 'SIGTERM' }, 'signal'],
    ['an empty signal list', { signals: [] }, 'signals'],
    ['an unknown signal', { signals: ['SIGFOO'] }, 'signals'],
    ['a signal no process can catch', { signals: ['SIGKILL'] }, 'signals'],
    ['a signal that is not a string', { signals: [15] }, 'signals'],
    ['a negative timeout', { timeout: -1 }, 'timeout'],
    ['a fractional timeout', { timeout: 1.5 }, 'timeout'],
    ['an exit that is not a boolean', { exit: 'no' }, 'exit'],
  ])('%s: InvalidSchedulerOptionsError at %j, nothing installed', async (_, options, path) => {
    const h = await t.harness();
    const before = process.listenerCount('SIGTERM') + process.listenerCount('SIGINT');
    let error: unknown;
    try {
      h.scheduler.stopOnSignals(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidSchedulerOptionsError);
    expect((error as InvalidSchedulerOptionsError).issues.map((i) => i.path)).toEqual([path]);
    expect(process.listenerCount('SIGTERM') + process.listenerCount('SIGINT')).toBe(before);
  });

  it('valid options install one listener per signal; the returned function removes them', async () => {
    const h = await t.harness();
    const before = process.listenerCount('SIGHUP');
    const remove = h.scheduler.stopOnSignals({ signals: ['SIGHUP'], timeout: 1_000, exit: false });
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    remove();
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });
});
