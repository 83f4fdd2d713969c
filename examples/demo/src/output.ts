/**
 * The demo's terminal output: one line per event with the time since the demo started, and a
 * table of job statuses. Colours only on a terminal and without `NO_COLOR`; piped (CI, `| cat`)
 * it writes plain lines, no escape codes, no cursor movement.
 */
import type { JobStatus, SchedulerEventName, SchedulerEvents } from '@again/scheduler';

/** How a line is coloured on a terminal. */
export type Tone = 'plain' | 'dim' | 'good' | 'warn' | 'bad' | 'note';

const CODES: Record<Tone, string> = {
  plain: '',
  dim: '\u001b[2m',
  good: '\u001b[32m',
  warn: '\u001b[33m',
  bad: '\u001b[31m',
  note: '\u001b[36m',
};
const RESET = '\u001b[0m';

/** Colours on: standard output is a terminal and `NO_COLOR` is unset or empty (no-color.org). */
export function colorsWanted(
  stream: { readonly isTTY?: boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/** Writes the demo's lines for one process. */
export interface Output {
  /** A line about the demo itself. */
  say(text: string, tone?: Tone): void;
  /** A line about one job. */
  job(jobId: string, text: string, tone?: Tone): void;
  /** A scheduler event as one line (events the demo does not show are ignored). */
  event<E extends SchedulerEventName>(name: E, event: SchedulerEvents[E]): void;
  /** Lines shown as they are, indented under the last line (a payload, say). */
  block(lines: readonly string[]): void;
  /** A table of job statuses. */
  table(title: string, statuses: readonly JobStatus[]): void;
  /** `+1.23s` for a time, relative to the demo's start. */
  at(time: Date | number): string;
}

/**
 * An output for one process of the demo.
 *
 * @param startedAt - when the demo started (epoch ms), shared by both processes
 * @param process - the process's label, `proc 1` or `proc 2`
 * @param color - whether to colour lines
 */
export function createOutput(startedAt: number, process: string, color: boolean): Output {
  const paint = (tone: Tone, text: string): string =>
    color && tone !== 'plain' ? `${CODES[tone]}${text}${RESET}` : text;
  const at = (time: Date | number): string => {
    const ms = (typeof time === 'number' ? time : time.getTime()) - startedAt;
    return `${ms < 0 ? '-' : '+'}${(Math.abs(ms) / 1000).toFixed(2)}s`;
  };
  const write = (who: string, text: string, tone: Tone): void => {
    const stamp = paint('dim', `${at(Date.now()).padStart(7)}  ${process}`);
    globalThis.process.stdout.write(
      `${stamp}  ${paint('note', who.padEnd(7))} ${paint(tone, text)}\n`,
    );
  };
  const output: Output = {
    at,
    say: (text, tone = 'plain') => write('', text, tone),
    job: (jobId, text, tone = 'plain') => write(jobId, text, tone),
    event(name, event) {
      const line = describe(name, event, at);
      if (line !== null) write(event.jobId, line.text, line.tone);
    },
    block(lines) {
      for (const line of lines)
        globalThis.process.stdout.write(`${' '.repeat(26)}${paint('dim', line)}\n`);
    },
    table(title, statuses) {
      const rows = statuses.map((status) => [
        status.jobId,
        status.state,
        String(status.runs),
        lastRunOf(status),
        status.nextRunAt === null ? '-' : at(status.nextRunAt),
      ]);
      const header = ['job', 'state', 'runs', 'last run', 'next run'];
      const widths = header.map((name, i) =>
        Math.max(name.length, ...rows.map((row) => (row[i] ?? '').length)),
      );
      const format = (cells: readonly string[]): string =>
        cells
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd();
      const out = globalThis.process.stdout;
      out.write(`\n${paint('note', title)}\n`);
      out.write(`  ${paint('dim', format(header))}\n`);
      for (const row of rows) out.write(`  ${format(row)}\n`);
      out.write('\n');
    },
  };
  return output;
}

function lastRunOf(status: JobStatus): string {
  const last = status.lastRun;
  if (last === null) return '-';
  const attempts = `${last.attempts} attempt${last.attempts === 1 ? '' : 's'}`;
  const code = last.status_code === undefined ? '' : `, ${last.status_code}`;
  return `${last.success ? 'succeeded' : 'failed'} (${attempts}${code})`;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)}s`;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The line for an event, or `null` for one the demo leaves out. */
function describe<E extends SchedulerEventName>(
  name: E,
  payload: SchedulerEvents[E],
  at: (time: Date) => string,
): { text: string; tone: Tone } | null {
  // One switch over the union: each case reads its own event's fields.
  const event = { name, payload } as {
    [K in SchedulerEventName]: { name: K; payload: SchedulerEvents[K] };
  }[SchedulerEventName];
  switch (event.name) {
    case 'occurrence:skipped':
      return {
        text: `occurrence ${at(event.payload.scheduledAt)} skipped: ${event.payload.reason}`,
        tone: 'warn',
      };
    case 'attempt:succeeded': {
      const { attempt, statusCode, durationMs } = event.payload;
      return { text: `  attempt ${attempt}: ${statusCode} in ${durationMs} ms`, tone: 'plain' };
    }
    case 'attempt:failed': {
      const { attempt, statusCode, error, durationMs, retryIn } = event.payload;
      const next = retryIn === null ? 'no retry left' : `retry in ${seconds(retryIn)}`;
      const what = statusCode === null ? error : String(statusCode);
      return { text: `  attempt ${attempt}: ${what} in ${durationMs} ms, ${next}`, tone: 'warn' };
    }
    case 'run:succeeded': {
      const { attempts, durationMs, scheduledAt } = event.payload;
      const text = `run succeeded after ${plural(attempts, 'attempt')}, ${seconds(durationMs)} (occurrence ${at(scheduledAt)})`;
      return { text, tone: 'good' };
    }
    case 'run:failed': {
      const { attempts, error, scheduledAt } = event.payload;
      const text = `run failed after ${plural(attempts, 'attempt')}: ${error} (occurrence ${at(scheduledAt)})`;
      return { text, tone: 'bad' };
    }
    case 'run:canceled': {
      const { reason, scheduledAt } = event.payload;
      return { text: `run canceled: ${reason} (occurrence ${at(scheduledAt)})`, tone: 'bad' };
    }
    case 'callback:delivered': {
      const { attempts, statusCode } = event.payload;
      return {
        text: `callback delivered: ${statusCode} after ${plural(attempts, 'attempt')}`,
        tone: 'good',
      };
    }
    case 'callback:failed':
      return { text: `callback not delivered: ${event.payload.error}`, tone: 'bad' };
    default:
      return null;
  }
}
