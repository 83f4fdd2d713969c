import { Logger } from 'tslog';

/**
 * The logger the scheduler writes to. Structural, so tslog, pino, `console` or any object with
 * these four methods fits.
 *
 * @example
 * ```ts
 * const logger: SchedulerLogger = console;
 * ```
 */
export interface SchedulerLogger {
  debug(...args: unknown[]): unknown;
  info(...args: unknown[]): unknown;
  warn(...args: unknown[]): unknown;
  error(...args: unknown[]): unknown;
}

/**
 * Creates the default logger: tslog, named `again-scheduler`, pretty output, level info and above.
 *
 * @returns a tslog `Logger` typed as {@link SchedulerLogger}.
 * @example
 * ```ts
 * const logger = createDefaultLogger();
 * logger.info('scheduler started');
 * ```
 */
export function createDefaultLogger(): SchedulerLogger {
  // minLevel 3 = info in tslog's numbering (0 silly, 1 trace, 2 debug, 3 info, 4 warn, 5 error).
  return new Logger({ name: 'again-scheduler', minLevel: 3, type: 'pretty' });
}
