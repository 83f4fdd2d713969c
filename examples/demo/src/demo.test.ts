/**
 * `pnpm demo` end to end: the demo runs as a subprocess (fast pace, output piped, so no TTY) and
 * its output must show every promised part.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
// The example's directory: `--import tsx` resolves from there (tsx is the workspace's).
const cwd = fileURLToPath(new URL('..', import.meta.url));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runDemo(env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The lines of one job, in order. */
const linesOf = (stdout: string, jobId: string): string[] =>
  stdout
    .split('\n')
    .filter((line) => new RegExp(`^\\s*\\+\\d+\\.\\d\\ds  proc \\d  ${jobId} `).test(line));

describe('pnpm demo (AGAIN_DEMO_FAST=1, piped)', () => {
  let result: Result;
  beforeAll(async () => {
    // FORCE_COLOR must not matter: colours follow the terminal and NO_COLOR only.
    result = await runDemo({ AGAIN_DEMO_FAST: '1', NO_COLOR: '', FORCE_COLOR: '1' });
  }, 60_000);

  it('ends by itself with exit code 0 and nothing on stderr', () => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/done in \d+\.\d\ds\n$/);
  });

  it('writes plain lines when not on a terminal: no ANSI escape codes', () => {
    expect(result.stdout).not.toContain('\u001b');
  });

  it('runs the job that succeeds', () => {
    const lines = linesOf(result.stdout, 'hello');
    expect(lines.some((line) => line.includes('attempt 1: 200'))).toBe(true);
    expect(lines.some((line) => line.includes('run succeeded after 1 attempt,'))).toBe(true);
  });

  it('shows the 503 job retried twice after Retry-After: 1, then succeeding', () => {
    const lines = linesOf(result.stdout, 'flaky').filter((line) => / attempt \d| run /.test(line));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/proc 1 {2}flaky {5}attempt 1: 503 in \d+ ms, retry in 1\.00s$/);
    expect(lines[1]).toMatch(/proc 1 {2}flaky {5}attempt 2: 503 in \d+ ms, retry in 1\.00s$/);
    expect(lines[2]).toMatch(/proc 1 {2}flaky {5}attempt 3: 200 in \d+ ms$/);
    expect(lines[3]).toMatch(/run succeeded after 3 attempts, [2-9]\.\d\ds \(occurrence \+/);
    // The waits are real: each retry comes at least a second after the attempt before it (the
    // times are printed to the hundredth, hence 0.98).
    const times = lines.slice(0, 3).map((line) => Number(/\+(\d+\.\d\d)s/.exec(line)?.[1]));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(0.98);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(0.98);
  });

  it('delivers the callback and prints what the target received', () => {
    expect(result.stdout).toMatch(/proc 1 {2}report {2}callback delivered: 204 after 1 attempt/);
    expect(result.stdout).toContain('report  the target received the callback:');
    expect(result.stdout).toMatch(/"job_id": "report",[\s\S]*"success": true,/);
  });

  it('runs the cron job every second in the first process', () => {
    const runs = linesOf(result.stdout, 'tick').filter((line) => line.includes('proc 1'));
    expect(runs.some((line) => line.includes('run succeeded after 1 attempt'))).toBe(true);
  });

  it('restarts on the same file: proc 2 finds the jobs and the cron job resumes there', () => {
    const [before = '', after = ''] = result.stdout.split('found in the file by proc 2');
    expect(before).toContain('job statuses in proc 1');
    expect(after).toMatch(/\n {2}flaky +completed +1 +succeeded \(3 attempts, 200\)/);
    expect(after).toMatch(/\n {2}hello +completed +1 +succeeded \(1 attempt, 200\)/);
    expect(after).toMatch(/\n {2}report +completed +1 +succeeded \(1 attempt, 200\)/);
    const resumed = linesOf(after, 'tick').filter(
      (line) => line.includes('proc 2') && line.includes('run succeeded'),
    );
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    expect(after).toContain('the cron job resumed in proc 2');
  });

  it('ends with the table of job statuses', () => {
    const final = result.stdout.split('final job statuses\n')[1] ?? '';
    const rows = final.split('\n\n')[0]?.split('\n') ?? [];
    expect(rows[0]).toMatch(/^ {2}job +state +runs +last run +next run$/);
    expect(rows.slice(1).map((row) => row.trim().split(/ +/)[0])).toEqual([
      'flaky',
      'hello',
      'report',
      'tick',
    ]);
    expect(final).toMatch(/\n {2}tick +(scheduled|running) +\d+ +succeeded/);
  });
});
