import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import type { Problem } from './markdown.js';
import { markdownLine, type SnippetModule } from './modules.js';

/**
 * Type-checks every snippet module in one TypeScript program with the repository's strict
 * settings (`tsconfig.base.json`), and emits JavaScript (with source maps) for the runs.
 *
 * @param modules - the modules, already written under `srcDir`
 * @param options - `baseConfig`: the tsconfig to take compiler options from; `srcDir` and
 *   `outDir`: where the modules are and where their JavaScript goes
 * @returns the problems, at their markdown lines, and the modules that had none
 * @example
 * ```ts
 * const { problems } = typecheck(modules, { baseConfig, srcDir, outDir });
 * ```
 */
export function typecheck(
  modules: readonly SnippetModule[],
  options: { readonly baseConfig: string; readonly srcDir: string; readonly outDir: string },
): { problems: Problem[]; failed: Set<SnippetModule> } {
  const config = ts.readConfigFile(options.baseConfig, ts.sys.readFile);
  if (config.error !== undefined) throw new Error(formatDiagnostic(config.error));
  const parsed = ts.parseJsonConfigFileContent(
    config.config,
    ts.sys,
    resolve(options.baseConfig, '..'),
  );
  const compilerOptions: ts.CompilerOptions = {
    ...parsed.options,
    // Snippets are examples, not libraries: no declarations, so no explicit export types.
    declaration: false,
    declarationMap: false,
    isolatedDeclarations: false,
    noEmit: false,
    sourceMap: true,
    allowJs: true,
    checkJs: false,
    types: ['node'],
    rootDir: options.srcDir,
    outDir: options.outDir,
  };
  const byPath = new Map(modules.map((module) => [resolve(options.srcDir, module.path), module]));
  const program = ts.createProgram([...byPath.keys()], compilerOptions);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  program.emit();

  const problems: Problem[] = [];
  const failed = new Set<SnippetModule>();
  for (const diagnostic of diagnostics) {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
    const message = `TS${diagnostic.code}: ${text}`;
    const file = diagnostic.file;
    const module = file === undefined ? undefined : byPath.get(resolve(file.fileName));
    if (file === undefined || module === undefined || diagnostic.start === undefined) {
      // Not inside a snippet (a library or a compiler option): report it where it is.
      const where = file === undefined ? 'tsc' : relative(process.cwd(), file.fileName);
      problems.push({ file: where, line: 0, message });
      continue;
    }
    failed.add(module);
    const { line } = file.getLineAndCharacterOfPosition(diagnostic.start);
    problems.push({
      file: module.snippet.file,
      line: markdownLine(module, line + 1),
      message: `${message}${hint(diagnostic, module)}`,
    });
  }
  return { problems, failed };
}

/** Where the compiled JavaScript of a module is. */
export function outputPath(module: SnippetModule, outDir: string): string {
  return join(outDir, module.path.replace(/\.ts$/, '.js'));
}

function hint(diagnostic: ts.Diagnostic, module: SnippetModule): string {
  // "Cannot find name" in a fragment: say how to declare what the page defined earlier.
  if (diagnostic.code === 2304 && module.snippet.mode !== 'skip') {
    return ' (a fragment? declare what it uses in a hidden prelude: docs/contributing.md#code-snippets-in-the-docs)';
  }
  if (diagnostic.code === 2307) {
    return ' (is it built? snippets may import the @again/* packages and the devDependencies of packages/docs-check)';
  }
  return '';
}

function formatDiagnostic(diagnostic: ts.Diagnostic): string {
  return ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
}
