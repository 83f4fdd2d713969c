/**
 * Reading code blocks and their `<!-- snippet: … -->` directives out of a markdown file.
 *
 * A directive is an HTML comment right before a fenced block (blank lines may separate them):
 *
 * ```md
 * <!-- snippet: no-run file=my-storage.ts the driver is yours to write
 * import type { StoreDriver } from '@again/storage';
 * declare const driver: StoreDriver;
 * -->
 * ```
 *
 * Its first line holds the mode (`run`, the default without a directive; `no-run`: type-check
 * only; `skip`: neither), an optional `file=<name>` (the snippet's module name, so another snippet
 * of the same page can import it as `./<name>.js`) and the reason (required for `no-run` and
 * `skip`). Further lines, up to `-->`, are a prelude: code compiled before the snippet but not
 * shown to readers (imports, `declare const scheduler: Scheduler;`).
 */

/** What the check does with a snippet. */
export type SnippetMode = 'run' | 'no-run' | 'skip';

/** How a snippet is checked: a TypeScript or JavaScript module, or shell commands. */
export type SnippetKind = 'ts' | 'js' | 'sh';

/**
 * One fenced code block of a markdown file that the check looks at.
 *
 * @example
 * ```ts
 * const [snippet] = extractSnippets('README.md', text).snippets;
 * snippet?.line; // the 1-based markdown line of the first code line
 * ```
 */
export interface Snippet {
  /** The markdown file, as given to {@link extractSnippets}. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly fenceLine: number;
  /** 1-based markdown line of the first code line (`fenceLine + 1`). */
  readonly line: number;
  /** The info string's first word, lower-cased (`ts`, `typescript`, `sh`, …). */
  readonly lang: string;
  readonly kind: SnippetKind;
  /** The code lines, without the fence's indentation. */
  readonly code: readonly string[];
  readonly mode: SnippetMode;
  /** Why the snippet is not run (or not checked); empty for `run`. */
  readonly reason: string;
  /** The module name given by `file=`, without extension; `undefined` when none. */
  readonly moduleName: string | undefined;
  /** Hidden code compiled before the snippet. */
  readonly prelude: readonly string[];
  /** 1-based markdown line of the first prelude line. */
  readonly preludeLine: number;
}

/**
 * A problem found in a markdown file, with the line it is about.
 *
 * @example
 * ```ts
 * const problem: Problem = { file: 'README.md', line: 3, message: 'snippet exited with code 1' };
 * ```
 */
export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

const LANGS: Readonly<Record<string, SnippetKind>> = {
  ts: 'ts',
  typescript: 'ts',
  mts: 'ts',
  js: 'js',
  javascript: 'js',
  mjs: 'js',
  sh: 'sh',
  bash: 'sh',
  shell: 'sh',
  console: 'sh',
};

const MODES: readonly SnippetMode[] = ['run', 'no-run', 'skip'];

interface Directive {
  readonly line: number;
  readonly mode: SnippetMode;
  readonly reason: string;
  readonly moduleName: string | undefined;
  readonly prelude: readonly string[];
}

/**
 * Extracts the checked code blocks (TypeScript, JavaScript and shell) of a markdown file with
 * their directives. Blocks in other languages and blocks without a language are left alone.
 *
 * @param file - the file's name, used in snippets and problems
 * @param text - the file's contents
 * @returns the snippets, in file order, and the problems of malformed directives
 * @example
 * ```ts
 * const { snippets, problems } = extractSnippets('docs/retry.md', readFileSync('docs/retry.md', 'utf8'));
 * ```
 */
export function extractSnippets(
  file: string,
  text: string,
): { snippets: Snippet[]; problems: Problem[] } {
  const lines = text.split(/\r?\n/);
  const snippets: Snippet[] = [];
  const problems: Problem[] = [];
  let pending: Directive | undefined;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*<!--\s*snippet:/.test(line)) {
      if (pending !== undefined) {
        problems.push({
          file,
          line: pending.line,
          message: 'snippet directive before no code block',
        });
      }
      const end = findCommentEnd(lines, i);
      if (end === -1) {
        problems.push({ file, line: i + 1, message: 'snippet directive is never closed by -->' });
        break;
      }
      const parsed = parseDirective(lines.slice(i, end + 1), i + 1);
      if ('message' in parsed) problems.push({ file, line: i + 1, message: parsed.message });
      else pending = parsed;
      i = end;
      continue;
    }

    const fence = /^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)(.*)$/.exec(line);
    if (fence === null) {
      if (pending !== undefined && line.trim() !== '') {
        problems.push({
          file,
          line: pending.line,
          message: 'snippet directive must come right before a code block',
        });
        pending = undefined;
      }
      continue;
    }

    const indent = fence[1]?.length ?? 0;
    const marker = fence[2] ?? '```';
    const lang = (fence[3] ?? '').toLowerCase();
    const close = findFenceEnd(lines, i + 1, marker);
    const body = lines
      .slice(i + 1, close)
      .map((codeLine) => codeLine.slice(Math.min(indent, leadingSpaces(codeLine))));
    const kind = LANGS[lang];
    const directive = pending;
    pending = undefined;
    if (kind === undefined) {
      if (directive !== undefined) {
        problems.push({
          file,
          line: directive.line,
          message: `snippet directive before a \`${lang || 'plain'}\` block, which is not checked`,
        });
      }
    } else {
      snippets.push({
        file,
        fenceLine: i + 1,
        line: i + 2,
        lang,
        kind,
        code: body,
        mode: directive?.mode ?? 'run',
        reason: directive?.reason ?? '',
        moduleName: directive?.moduleName,
        prelude: directive?.prelude ?? [],
        preludeLine: (directive?.line ?? i) + 1,
      });
    }
    i = close;
  }
  if (pending !== undefined) {
    problems.push({ file, line: pending.line, message: 'snippet directive before no code block' });
  }
  return { snippets, problems };
}

function leadingSpaces(line: string): number {
  return line.length - line.trimStart().length;
}

function findCommentEnd(lines: readonly string[], from: number): number {
  for (let i = from; i < lines.length; i++) if (lines[i]?.includes('-->')) return i;
  return -1;
}

function findFenceEnd(lines: readonly string[], from: number, marker: string): number {
  const char = marker[0] === '~' ? '~' : '`';
  const closing = new RegExp(`^ {0,3}${char === '`' ? '`' : '~'}{${marker.length},}\\s*$`);
  for (let i = from; i < lines.length; i++) if (closing.test(lines[i] ?? '')) return i;
  return lines.length;
}

function parseDirective(
  comment: readonly string[],
  line: number,
): Directive | { readonly message: string } {
  const text = comment.join('\n');
  const inner = text.slice(text.indexOf('snippet:') + 'snippet:'.length, text.lastIndexOf('-->'));
  const [head = '', ...rest] = inner.split('\n');
  const words = head.trim().split(/\s+/);
  const mode = words.shift() ?? '';
  if (!(MODES as readonly string[]).includes(mode)) {
    return {
      message: `unknown snippet mode ${JSON.stringify(mode)}: use ${MODES.map((m) => `\`${m}\``).join(', ')}`,
    };
  }
  let moduleName: string | undefined;
  while (words[0]?.startsWith('file=')) {
    const name = (words.shift() ?? '').slice('file='.length);
    const match = /^([A-Za-z0-9][\w.-]*?)(\.(?:ts|mts|js|mjs))?$/.exec(name);
    if (match === null) return { message: `bad snippet file name ${JSON.stringify(name)}` };
    moduleName = match[1];
  }
  const reason = words
    .join(' ')
    .replace(/^[-—:]\s*/, '')
    .trim();
  if (mode !== 'run' && reason === '') {
    return { message: `\`${mode}\` needs a reason: <!-- snippet: ${mode} <why> -->` };
  }
  const prelude = rest.filter((_, index) => index < rest.length - 1 || rest[index]?.trim() !== '');
  return { line, mode: mode as SnippetMode, reason, moduleName, prelude };
}
