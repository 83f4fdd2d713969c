import { describe, expect, it } from 'vitest';
import type { RunRow } from './driver.js';
import { CorruptRowError, createRowDecoder, readText, type SqlRow } from './rows.js';

/** Integers as strings or numbers, booleans as booleans (node-postgres' way). */
const decoder = createRowDecoder({
  int: (value, column) => {
    const parsed = typeof value === 'string' ? Number(value) : value;
    if (typeof parsed === 'number' && Number.isSafeInteger(parsed)) return parsed;
    throw new CorruptRowError(`column ${column} is not an integer: ${String(value)}`);
  },
  bool: (value, column) => {
    if (typeof value === 'boolean') return value;
    throw new CorruptRowError(`column ${column} is not a boolean`);
  },
});

const RUN: SqlRow = {
  occurrence_id: 'a@1000',
  job_id: 'a',
  scheduled_at: '1000',
  sequence: '1',
  fence: '2',
  status: 'succeeded',
  owner: null,
  lease_until: null,
  started_at: '1000',
  finished_at: '1100',
  reason: null,
  result: '{"ok":true}',
  triggered: false,
  callback: null,
};

const RUN_ROW: RunRow = {
  jobId: 'a',
  scheduledAt: 1000,
  occurrenceId: 'a@1000',
  sequence: 1,
  fence: 2,
  status: 'succeeded',
  trigger: false,
  owner: null,
  leaseUntil: null,
  startedAt: 1000,
  finishedAt: 1100,
  reason: null,
  result: '{"ok":true}',
  callback: null,
};

const JOB: SqlRow = {
  id: 'a',
  spec: '{}',
  revision: '3',
  state: 'scheduled',
  next_run_at: '2000',
  fence: '2',
  sequence: '1',
  started: '1',
  runs: '1',
  active_runs: '0',
  created_at: '0',
  updated_at: '1100',
  last_run: null,
};

function corrupt(body: () => unknown): string {
  try {
    body();
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptRowError);
    expect((error as CorruptRowError).name).toBe('CorruptRowError');
    expect((error as CorruptRowError).code).toBe('ERR_STORAGE_CORRUPT_ROW');
    return (error as CorruptRowError).message;
  }
  throw new Error('expected a throw');
}

describe('createRowDecoder', () => {
  it('decodes a run row with the dialect readers', () => {
    expect(decoder.toRunRow(RUN)).toEqual(RUN_ROW);
  });

  it('decodes a job row, its last_run copy a JSON object with the keys of a run row', () => {
    expect(decoder.toJobRow(JOB)).toEqual({
      id: 'a',
      spec: '{}',
      revision: 3,
      state: 'scheduled',
      nextRunAt: 2000,
      fence: 2,
      sequence: 1,
      started: 1,
      runs: 1,
      activeRuns: 0,
      createdAt: 0,
      updatedAt: 1100,
      lastRun: null,
    });
    const copy = JSON.stringify({ ...RUN, scheduled_at: 1000, sequence: 1, fence: 2 });
    expect(decoder.toJobRow({ ...JOB, next_run_at: null, last_run: copy })).toMatchObject({
      nextRunAt: null,
      lastRun: { ...RUN_ROW, startedAt: 1000, finishedAt: 1100 },
    });
  });

  it('reads single columns', () => {
    expect(decoder.int({ n: '42' }, 'n')).toBe(42);
    expect(decoder.text({ s: 'x' }, 's')).toBe('x');
    expect(decoder.jobState({ state: 'paused' })).toBe('paused');
    expect(readText('x', 'id')).toBe('x');
  });

  it.each<[string, () => unknown, string]>([
    [
      'text that is not a string',
      () => decoder.toJobRow({ ...JOB, id: 1 }),
      'column id is not text',
    ],
    ['a missing column', () => decoder.text({}, 'id'), 'column id is not text'],
    ['readText on a number', () => readText(1, 'spec'), 'column spec is not text'],
    [
      'an integer the reader refuses',
      () => decoder.toJobRow({ ...JOB, fence: 'x' }),
      'column fence is not an integer: x',
    ],
    [
      'a nullable integer the reader refuses',
      () => decoder.toRunRow({ ...RUN, lease_until: 'x' }),
      'column lease_until is not an integer: x',
    ],
    [
      'a boolean the reader refuses',
      () => decoder.toRunRow({ ...RUN, triggered: 0 }),
      'column triggered is not a boolean',
    ],
    ['an unknown job state', () => decoder.jobState({ state: 'done' }), 'unknown job state done'],
    [
      'an unknown run status',
      () => decoder.toRunRow({ ...RUN, status: 'ok' }),
      'unknown run status ok',
    ],
    [
      'a last_run that is not JSON',
      () => decoder.toJobRow({ ...JOB, last_run: '{oops' }),
      'column last_run is not JSON',
    ],
    [
      'a last_run that is a JSON array',
      () => decoder.toJobRow({ ...JOB, last_run: '[]' }),
      'column last_run is not a JSON object',
    ],
    [
      'a last_run that is JSON null',
      () => decoder.toJobRow({ ...JOB, last_run: 'null' }),
      'column last_run is not a JSON object',
    ],
    [
      'a last_run with a bad value inside',
      () => decoder.toJobRow({ ...JOB, last_run: JSON.stringify({ ...RUN, triggered: 1 }) }),
      'column triggered is not a boolean',
    ],
  ])('throws CorruptRowError on %s', (_, body, message) => {
    expect(corrupt(body)).toBe(message);
  });

  it('keeps the JSON parse error as the cause', () => {
    try {
      decoder.toJobRow({ ...JOB, last_run: '{oops' });
    } catch (error) {
      expect((error as Error).cause).toBeInstanceOf(SyntaxError);
      return;
    }
    throw new Error('expected a throw');
  });
});
