import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Problem } from './markdown.js';
import { markdownLine, type SnippetModule } from './modules.js';

/**
 * Options of {@link runSnippets}.
 *
 * @example
 * ```ts
 * const options: RunOptions = { srcDir, outDir, timeout: 20_000 };
 * ```
 */
export interface RunOptions {
  /** Where the snippet modules are (their source maps point there). */
  readonly srcDir: string;
  /** Where their compiled JavaScript is. */
  readonly outDir: string;
  /** Longest a snippet may run, ms. @defaultValue 20000 */
  readonly timeout?: number;
  /** Snippets run at once. @defaultValue the machine's parallelism, from 4 to 8 */
  readonly concurrency?: number;
  /** Called with each snippet's run time, ms. */
  readonly onTiming?: (module: SnippetModule, ms: number) => void;
}

/**
 * Runs compiled snippets with Node, each in a fresh empty working directory (so a snippet that
 * writes `jobs.db` writes it there), several at a time. A snippet passes when it exits 0 within
 * the timeout.
 *
 * @param modules - the modules to run
 * @param options - see {@link RunOptions}
 * @returns a problem per failed snippet, with its output and markdown lines in the stack
 * @example
 * ```ts
 * const problems = await runSnippets(runnable, { srcDir, outDir });
 * ```
 */
export async function runSnippets(
  modules: readonly SnippetModule[],
  options: RunOptions,
): Promise<Problem[]> {
  const timeout = options.timeout ?? 20_000;
  // Snippets mostly wait (servers, timers, retries), so run more than one per core.
  const concurrency = options.concurrency ?? Math.max(4, Math.min(8, availableParallelism()));
  const problems: Problem[] = [];
  const queue = [...modules];
  const worker = async (): Promise<void> => {
    for (let module = queue.shift(); module !== undefined; module = queue.shift()) {
      const started = performance.now();
      const problem = await runOne(module, options, timeout);
      options.onTiming?.(module, performance.now() - started);
      if (problem !== undefined) problems.push(problem);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

async function runOne(
  module: SnippetModule,
  options: RunOptions,
  timeout: number,
): Promise<Problem | undefined> {
  const cwd = mkdtempSync(join(tmpdir(), 'again-docs-check-'));
  const script = resolve(options.outDir, module.path.replace(/\.ts$/, '.js'));
  try {
    const child = spawn(process.execPath, ['--enable-source-maps', script], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    const code = await new Promise<number | null>((done, fail) => {
      child.once('error', fail);
      child.once('close', (exitCode) => done(exitCode));
    });
    clearTimeout(timer);
    if (!timedOut && code === 0) return undefined;
    const what = timedOut
      ? `snippet did not exit within ${timeout} ms (a server, timer or connection left open?)`
      : `snippet exited with code ${code}`;
    return {
      file: module.snippet.file,
      line: module.snippet.line,
      message: `${what}\n${indent(tail(mapStack(output, module, options.srcDir)))}`,
    };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** Rewrites `<srcDir>/<module>.ts:<line>:<column>` in a stack trace to `<file>.md:<line>`. */
function mapStack(output: string, module: SnippetModule, srcDir: string): string {
  const path = resolve(srcDir, module.path);
  let mapped = output;
  for (const prefix of [`file://${path}`, path]) {
    mapped = mapped.split(prefix).join('\0');
  }
  return mapped.replace(
    /\0:(\d+)(?::\d+)?/g,
    (_, line: string) => `${module.snippet.file}:${markdownLine(module, Number(line))}`,
  );
}

function tail(output: string): string {
  const lines = output.trimEnd().split('\n');
  return lines.slice(-15).join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
