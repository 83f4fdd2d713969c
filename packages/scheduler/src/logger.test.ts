import { Writable } from 'node:stream';
import { createMemoryStorage } from '@again/storage-memory';
import { createManualClock } from '@again/test-utils';
import pino from 'pino';
import { Logger } from 'tslog';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDefaultLogger, createLog, type SchedulerLogger } from './logger.js';
import { createScheduler } from './scheduler.js';
import { eventually, loopbackEgress, tracked } from './test-utils/harness.js';

const t = tracked();
afterEach(async () => {
  vi.restoreAllMocks();
  await t.flush();
});

/** A pino logger writing JSON lines into an array. */
function pinoLines(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('createDefaultLogger', () => {
  it('returns a tslog logger named again-scheduler, pretty, without colours off a terminal', () => {
    const logger = createDefaultLogger();
    expect(logger).toBeInstanceOf(Logger);
    const settings = (logger as Logger<unknown>).settings;
    expect(settings.name).toBe('again-scheduler');
    expect(settings.type).toBe('pretty');
    // Tests run with stdout piped: no ANSI escapes.
    expect(process.stdout.isTTY).not.toBe(true);
    expect(settings.stylePrettyLogs).toBe(false);
    const written: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      written.push(args.map(String).join(' '));
    });
    logger.info({ jobId: 'report' }, 'run finished');
    expect(written.join('\n')).toContain('run finished');
    expect(written.join('\n')).toContain('report');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what is checked.
    expect(written.join('\n')).not.toMatch(/\u001b\[/);
  });
});

describe('createLog', () => {
  it('writes context first, filtered by level; false writes nothing', () => {
    const calls: unknown[][] = [];
    const record = (...args: unknown[]) => calls.push(args);
    const logger: SchedulerLogger = { debug: record, info: record, warn: record, error: record };
    const log = createLog(logger, 'warn');
    log.info('not written', { a: 1 });
    log.warn('written', { jobId: 'x' });
    expect(calls).toEqual([[{ jobId: 'x' }, 'written']]);
    expect(log.enabled('info')).toBe(false);
    expect(log.enabled('error')).toBe(true);
    const off = createLog(false, 'debug');
    off.error('nothing');
    expect(off.enabled('error')).toBe(false);
    expect(calls).toHaveLength(1);
  });

  it('a logger that throws does not throw into the scheduler', () => {
    const boom = () => {
      throw new Error('logger broke');
    };
    const log = createLog({ debug: boom, info: boom, warn: boom, error: boom }, 'debug');
    expect(() => log.error('still fine')).not.toThrow();
  });
});

describe('logging through the scheduler', () => {
  async function oneRun(options: Record<string, unknown>): Promise<void> {
    const target = await t.server();
    const clock = createManualClock();
    const scheduler = await createScheduler({
      storage: createMemoryStorage(),
      egress: loopbackEgress(),
      clock,
      ...options,
    });
    t.cleanups.push(() => scheduler.stop({ timeout: 0 }));
    const id = await scheduler.schedule({
      id: 'report',
      schedule: { every: 60_000, maxRuns: 1 },
      request: { url: `${target.url}/` },
    });
    await clock.advance(0);
    await eventually(async () => expect((await scheduler.jobStatus(id))?.state).toBe('completed'));
  }

  it('pino gets one info entry per finished run with its context intact', async () => {
    const { logger, lines } = pinoLines();
    await oneRun({ logger });
    await eventually(() => expect(lines.some((l) => l.msg === 'run finished')).toBe(true));
    const entry = lines.find((l) => l.msg === 'run finished');
    expect(entry).toMatchObject({
      level: 30,
      jobId: 'report',
      status: 'succeeded',
      attempts: 1,
    });
    expect(entry?.occurrenceId).toMatch(/^report@/);
    expect(typeof entry?.durationMs).toBe('number');
  });

  it('console gets the context object and the message', async () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    await oneRun({ logger: console });
    await eventually(() => expect(info).toHaveBeenCalled());
    const call = info.mock.calls.find((args) => args[1] === 'run finished');
    expect(call?.[0]).toMatchObject({ jobId: 'report', status: 'succeeded', attempts: 1 });
  });

  it('logger: false and logLevel silence it', async () => {
    const { logger, lines } = pinoLines();
    await oneRun({ logger, logLevel: 'warn' });
    expect(lines.filter((l) => (l.level as number) < 40)).toEqual([]);
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await oneRun({ logger: false });
    expect(info).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  });

  it('refuses a bad logger or level with a typed error naming the option', async () => {
    for (const [options, path] of [
      [{ logger: { info() {} } }, 'logger'],
      [{ logLevel: 'loud' }, 'logLevel'],
    ] as const) {
      await expect(
        createScheduler({
          storage: createMemoryStorage(),
          unsafeAllowAnyUrl: true,
          ...options,
        } as never),
      ).rejects.toMatchObject({
        code: 'ERR_INVALID_SCHEDULER_OPTIONS',
        issues: [expect.objectContaining({ path })],
      });
    }
  });
});
