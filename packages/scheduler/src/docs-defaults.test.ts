import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JOB_DEFAULTS } from './job-types.js';

// docs/scheduler.md documents both retry policies' defaults in tables; they must be the code's.
const guide = readFileSync(new URL('../../../docs/scheduler.md', import.meta.url), 'utf8');

/** The `| \`field\` | \`value\` … |` rows of the first table after `marker`, as field → value. */
function defaultsTable(marker: string): Map<string, unknown> {
  const start = guide.indexOf(marker);
  if (start === -1) throw new Error(`docs/scheduler.md has no ${JSON.stringify(marker)}`);
  const lines = guide.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows = new Map<string, unknown>();
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    const [field = '', value = ''] = line.split(/(?<!\\)\|/).slice(1, 3);
    const name = /^\s*`(\w+)`\s*$/.exec(field)?.[1];
    const literal = /`([^`]+)`/.exec(value)?.[1];
    if (name === undefined || literal === undefined) {
      throw new Error(
        `docs/scheduler.md: a defaults row must be one \`field\` and a \`value\`: ${line}`,
      );
    }
    rows.set(name, JSON.parse(literal.replace(/'/g, '"')));
  }
  return rows;
}

describe('docs/scheduler.md retry defaults', () => {
  it.each([
    ['the job', '## Retries', JOB_DEFAULTS.retry],
    ['the callback', '**Retries.** A callback is retried', JOB_DEFAULTS.callbackRetry],
  ])("%s's table lists every field of the policy with the code's default", (_, marker, code) => {
    expect(Object.fromEntries(defaultsTable(marker))).toEqual({
      ...code,
      retryStatusCodes: [...code.retryStatusCodes],
    });
  });
});
