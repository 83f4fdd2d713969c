import { Logger } from 'tslog';
import { describe, expect, it } from 'vitest';
import { createDefaultLogger, type SchedulerLogger } from './logger.js';

describe('createDefaultLogger', () => {
  it('returns a tslog logger named again-scheduler at level info', () => {
    const logger = createDefaultLogger();
    expect(logger).toBeInstanceOf(Logger);
    const settings = (logger as Logger<unknown>).settings;
    expect(settings.name).toBe('again-scheduler');
    expect(settings.minLevel).toBe(3);
    expect(settings.type).toBe('pretty');
  });

  it('accepts console as a SchedulerLogger', () => {
    const logger: SchedulerLogger = console;
    expect(typeof logger.warn).toBe('function');
  });
});
