import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { checkCommands, readWorkspace } from './commands.js';
import { extractSnippets, type Problem, type Snippet } from './markdown.js';
import { type SnippetModule, toModule } from './modules.js';
import { runSnippets } from './run.js';
import { typecheck } from './typecheck.js';

/**
 * Options of {@link checkDocs}.
 *
 * @example
 * ```ts
 * const options: CheckDocsOptions = { root: '/work/main', files: ['README.md'], workDir };
 * ```
 */
export interface CheckDocsOptions {
  /** The repository root: markdown paths are relative to it, and its `tsconfig.base.json` is used. */
  readonly root: string;
  /** Markdown files, relative to `root`. @defaultValue {@link docFiles}(root) */
  readonly files?: readonly string[];
  /**
   * Where the snippet modules are generated (emptied first). It must be inside a package that
   * depends on what the snippets import, so they resolve through its node_modules.
   */
  readonly workDir: string;
  /** Longest a snippet may run, ms. @defaultValue 20000 */
  readonly timeout?: number;
  /** Whether to run the `run` snippets (not only type-check them). @defaultValue true */
  readonly run?: boolean;
}

/**
 * What {@link checkDocs} found and did.
 *
 * @example
 * ```ts
 * if (result.problems.length > 0) process.exitCode = 1;
 * ```
 */
export interface CheckDocsResult {
  readonly problems: readonly Problem[];
  readonly files: number;
  readonly snippets: number;
  readonly typechecked: number;
  readonly ran: number;
  readonly skipped: number;
  /** How long the type-check took, ms. */
  readonly typecheckMs: number;
  /** Run time of each snippet that ran, slowest first. */
  readonly runTimes: readonly {
    readonly file: string;
    readonly line: number;
    readonly ms: number;
  }[];
}

/**
 * The markdown files the check covers: `README.md`, `docs/*.md` and `packages/*\/README.md`.
 *
 * @param root - the repository root
 * @returns paths relative to `root`, sorted
 * @example
 * ```ts
 * docFiles('/work/main'); // ['README.md', 'docs/architecture.md', …, 'packages/url-guard/README.md']
 * ```
 */
export function docFiles(root: string): string[] {
  const files = ['README.md'];
  const docs = join(root, 'docs');
  if (existsSync(docs)) {
    for (const name of readdirSync(docs).sort())
      if (name.endsWith('.md')) files.push(`docs/${name}`);
  }
  for (const name of readdirSync(join(root, 'packages')).sort()) {
    if (existsSync(join(root, 'packages', name, 'README.md'))) {
      files.push(`packages/${name}/README.md`);
    }
  }
  return files.filter((file) => existsSync(join(root, file)));
}

/**
 * Checks the snippets of markdown files: every `ts`/`js` snippet not marked `skip` is
 * type-checked in one strict program; those not marked `no-run` are then run with Node and must
 * exit 0; shell commands must name scripts and packages that exist.
 *
 * @param options - see {@link CheckDocsOptions}
 * @returns the problems (as `file:line` with a message) and counts
 * @example
 * ```ts
 * const result = await checkDocs({ root, workDir: join(root, 'packages/docs-check/.snippets') });
 * ```
 */
export async function checkDocs(options: CheckDocsOptions): Promise<CheckDocsResult> {
  const root = resolve(options.root);
  const files = options.files ?? docFiles(root);
  const workspace = readWorkspace(root);
  const problems: Problem[] = [];
  const snippets: Snippet[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const extracted = extractSnippets(file, text);
    problems.push(...extracted.problems, ...checkCommands(file, text, workspace));
    snippets.push(...extracted.snippets);
  }

  const code = snippets.filter((snippet) => snippet.kind !== 'sh');
  const checked = code.filter((snippet) => snippet.mode !== 'skip').map(toModule);
  problems.push(...duplicateNames(checked));

  const srcDir = join(options.workDir, 'src');
  const outDir = join(options.workDir, 'out');
  rmSync(options.workDir, { recursive: true, force: true });
  mkdirSync(options.workDir, { recursive: true });
  // Snippets are ES modules (imports, top-level await), whatever package holds the work dir.
  writeFileSync(join(options.workDir, 'package.json'), '{ "type": "module", "private": true }\n');
  for (const module of checked) {
    const path = join(srcDir, module.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, module.text);
  }
  const typecheckStarted = performance.now();
  const typed =
    checked.length === 0
      ? { problems: [], failed: new Set<SnippetModule>() }
      : typecheck(checked, { baseConfig: join(root, 'tsconfig.base.json'), srcDir, outDir });
  problems.push(...typed.problems);
  const typecheckMs = performance.now() - typecheckStarted;
  const runTimes: { file: string; line: number; ms: number }[] = [];

  const runnable = checked.filter(
    (module) => module.snippet.mode === 'run' && !typed.failed.has(module),
  );
  if (options.run !== false) {
    problems.push(
      ...(await runSnippets(runnable, {
        srcDir,
        outDir,
        onTiming: (module, ms) =>
          runTimes.push({ file: module.snippet.file, line: module.snippet.line, ms }),
        ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      })),
    );
  }
  return {
    problems: problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line),
    files: files.length,
    snippets: code.length,
    typechecked: checked.length,
    ran: options.run === false ? 0 : runnable.length,
    skipped: code.length - checked.length,
    typecheckMs,
    runTimes: runTimes.sort((a, b) => b.ms - a.ms),
  };
}

function duplicateNames(modules: readonly SnippetModule[]): Problem[] {
  const seen = new Map<string, SnippetModule>();
  const problems: Problem[] = [];
  for (const module of modules) {
    const first = seen.get(module.path);
    if (first === undefined) seen.set(module.path, module);
    else {
      problems.push({
        file: module.snippet.file,
        line: module.snippet.fenceLine,
        message: `snippet file name already used at line ${first.snippet.fenceLine}`,
      });
    }
  }
  return problems;
}
