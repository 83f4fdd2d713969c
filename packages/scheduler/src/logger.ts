import { Logger } from 'tslog';

/**
 * The logger the scheduler writes to: any object with `debug`, `info`, `warn` and `error`.
 *
 * Each entry is written **context first**: `logger.info({ jobId, occurrenceId, … }, 'run finished')`.
 * That is the call pino and bunyan expect (the object's fields become the entry's fields), and
 * `console` and tslog print both arguments, so the context reaches each of them intact.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const logger: SchedulerLogger = pino();
 * const alsoFine: SchedulerLogger = console;
 * ```
 */
export interface SchedulerLogger {
  debug(...args: unknown[]): unknown;
  info(...args: unknown[]): unknown;
  warn(...args: unknown[]): unknown;
  error(...args: unknown[]): unknown;
}

/**
 * The least severe entries the scheduler writes; `'silent'` writes none.
 *
 * @example
 * ```ts
 * await createScheduler({ storage, egress, logLevel: 'warn' });
 * ```
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Every level, least severe first. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze([
  'debug',
  'info',
  'warn',
  'error',
  'silent',
]);

/**
 * Creates the default logger: tslog, named `again-scheduler`, pretty output, with colours only
 * when standard output is a terminal.
 *
 * @returns a tslog `Logger` typed as {@link SchedulerLogger}
 * @example
 * ```ts
 * const logger = createDefaultLogger();
 * logger.info({ jobId: 'report' }, 'scheduled');
 * ```
 */
export function createDefaultLogger(): SchedulerLogger {
  return new Logger({
    name: 'again-scheduler',
    type: 'pretty',
    // No ANSI escapes in files, pipes and log collectors.
    stylePrettyLogs: process.stdout.isTTY === true,
  });
}

/**
 * How the scheduler writes internally: message first, like a sentence, filtered by level; the
 * entry reaches the user's logger context first (see {@link SchedulerLogger}).
 */
export interface Log {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
  /** Whether entries of `level` are written (to skip building a costly context). */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

const NOTHING: Record<string, unknown> = Object.freeze({});

/**
 * Wraps the user's logger for the scheduler's own use.
 *
 * @param logger - the user's logger, or `false` for none
 * @param level - the least severe level written
 * @returns the scheduler's {@link Log}
 */
export function createLog(logger: SchedulerLogger | false, level: LogLevel): Log {
  const threshold = LOG_LEVELS.indexOf(level);
  const write =
    (name: Exclude<LogLevel, 'silent'>) =>
    (message: string, context: Record<string, unknown> = NOTHING): void => {
      if (logger === false || LOG_LEVELS.indexOf(name) < threshold) return;
      try {
        logger[name](context, message);
      } catch {
        // A logger that throws must not break a run or a loop.
      }
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    enabled: (name) => logger !== false && LOG_LEVELS.indexOf(name) >= threshold,
  };
}
