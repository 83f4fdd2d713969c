import type { Snippet } from './markdown.js';

/**
 * A snippet written out as a module: its path under the generated source directory, its text,
 * and for each of its lines the markdown line it came from.
 *
 * @example
 * ```ts
 * const module = toModule(snippet);
 * module.lineMap[0]; // the markdown line of the module's first line
 * ```
 */
export interface SnippetModule {
  readonly snippet: Snippet;
  /** Relative to the generated source directory, with `/` separators (`docs/retry/line-34.ts`). */
  readonly path: string;
  readonly text: string;
  /** `lineMap[i]` is the markdown line of the module's line `i + 1`. */
  readonly lineMap: readonly number[];
}

/**
 * Turns a TypeScript or JavaScript snippet into a module: the prelude, then the code, then
 * `export {};` so that every snippet is an ES module (its own scope, top-level `await`).
 *
 * @param snippet - a `ts` or `js` snippet
 * @returns the module to write
 * @example
 * ```ts
 * writeFileSync(join(dir, toModule(snippet).path), toModule(snippet).text);
 * ```
 */
export function toModule(snippet: Snippet): SnippetModule {
  const dir = snippet.file.replace(/\.md$/i, '').replace(/\\/g, '/');
  const base = snippet.moduleName ?? `line-${snippet.line}`;
  const extension = snippet.kind === 'js' ? '.mjs' : '.ts';
  const lines = [...snippet.prelude, ...snippet.code];
  const lineMap = [
    ...snippet.prelude.map((_, i) => snippet.preludeLine + i),
    ...snippet.code.map((_, i) => snippet.line + i),
  ];
  if (snippet.kind === 'ts') {
    lines.push('export {};');
    lineMap.push(snippet.line + snippet.code.length);
  }
  return { snippet, path: `${dir}/${base}${extension}`, text: `${lines.join('\n')}\n`, lineMap };
}

/**
 * The markdown line of a module's 1-based line (the closing fence for lines past the end).
 *
 * @param module - the snippet module
 * @param line - a 1-based line of the module
 * @returns the markdown line
 * @example
 * ```ts
 * markdownLine(module, 3); // e.g. 37
 * ```
 */
export function markdownLine(module: SnippetModule, line: number): number {
  return module.lineMap[line - 1] ?? module.snippet.line + module.snippet.code.length;
}
