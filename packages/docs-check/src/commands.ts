import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Problem } from './markdown.js';

/**
 * The workspace as the docs' commands see it: the root scripts and each package's name, scripts
 * and whether it is published.
 *
 * @example
 * ```ts
 * const workspace = readWorkspace('/work/main');
 * workspace.rootScripts.has('check'); // true
 * ```
 */
export interface Workspace {
  readonly rootScripts: ReadonlySet<string>;
  readonly packages: ReadonlyMap<
    string,
    { readonly scripts: ReadonlySet<string>; readonly private: boolean }
  >;
}

interface Manifest {
  readonly name?: string;
  readonly private?: boolean;
  readonly scripts?: Record<string, string>;
}

/**
 * Reads the root `package.json` and those of `packages/*`, `examples/*` and `benchmarks`.
 *
 * @param root - the repository root
 * @returns the workspace's scripts and packages
 * @example
 * ```ts
 * readWorkspace(process.cwd()).packages.get('@again/retry')?.private; // false
 * ```
 */
export function readWorkspace(root: string): Workspace {
  const read = (file: string): Manifest => JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  const rootManifest = read(join(root, 'package.json'));
  const packages = new Map<string, { scripts: ReadonlySet<string>; private: boolean }>();
  const dirs = ['packages', 'examples'].flatMap((parent) =>
    existsSync(join(root, parent))
      ? readdirSync(join(root, parent)).map((name) => join(root, parent, name))
      : [],
  );
  for (const dir of [...dirs, join(root, 'benchmarks')]) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = read(file);
    if (manifest.name === undefined) continue;
    packages.set(manifest.name, {
      scripts: new Set(Object.keys(manifest.scripts ?? {})),
      private: manifest.private === true,
    });
  }
  return { rootScripts: new Set(Object.keys(rootManifest.scripts ?? {})), packages };
}

// pnpm's own commands: `pnpm <these>` does not run a package.json script.
const PNPM_COMMANDS = new Set([
  'add',
  'audit',
  'dlx',
  'exec',
  'i',
  'install',
  'link',
  'list',
  'ls',
  'outdated',
  'pack',
  'publish',
  'rebuild',
  'remove',
  'rm',
  'store',
  'un',
  'uninstall',
  'unlink',
  'update',
  'up',
  'why',
  '-v',
  '--version',
]);

/**
 * Checks one shell command as written in the docs: `pnpm <script>` and `pnpm run <script>` name
 * a root script, `pnpm --filter <package> <script>` a package and its script, and
 * `npm install` / `pnpm add` of `@again/*` name published packages. Other commands pass.
 *
 * @param command - one command (no `&&`)
 * @param workspace - from {@link readWorkspace}
 * @returns what is wrong, or `undefined`
 * @example
 * ```ts
 * checkCommand('pnpm --filter @again/example-nope start', workspace); // 'no package …'
 * ```
 */
export function checkCommand(command: string, workspace: Workspace): string | undefined {
  const words = command.trim().split(/\s+/);
  const tool = words.shift();
  if (tool === 'npm' || tool === 'yarn' || (tool === 'pnpm' && words[0] === 'add')) {
    if (!['install', 'i', 'add'].includes(words[0] ?? '')) return undefined;
    const missing = words
      .slice(1)
      .filter((word) => word.startsWith('@again/'))
      .map((word) => word.replace(/(.)@.*$/, '$1'))
      .filter((name) => workspace.packages.get(name)?.private !== false);
    return missing.length === 0
      ? undefined
      : `\`${command}\`: ${missing.join(', ')} is not a published package of this workspace`;
  }
  if (tool !== 'pnpm') return undefined;
  let scripts = workspace.rootScripts;
  let where = 'the root package.json';
  while (words[0] === '--filter' || words[0] === '-F') {
    words.shift();
    const name = words.shift() ?? '';
    const found = workspace.packages.get(name);
    if (found === undefined) {
      // A glob or a path filter (`./packages/*`) is pnpm's business.
      if (/^[@\w][\w@/.-]*$/.test(name) && !name.includes('*') && !name.startsWith('.')) {
        return `\`${command}\`: no package named ${name} in the workspace`;
      }
      return undefined;
    }
    scripts = found.scripts;
    where = `${name}'s package.json`;
  }
  if (words[0] === 'run') words.shift();
  const script = words[0];
  if (script === undefined || script.startsWith('-') || PNPM_COMMANDS.has(script)) {
    return undefined;
  }
  return scripts.has(script) ? undefined : `\`${command}\`: no script "${script}" in ${where}`;
}

/**
 * Checks every command of a markdown file: the lines of its shell blocks, and inline code spans
 * that start with `pnpm `.
 *
 * @param file - the markdown file's name
 * @param text - its contents
 * @param workspace - from {@link readWorkspace}
 * @returns the problems, at their lines
 * @example
 * ```ts
 * checkCommands('README.md', readFileSync('README.md', 'utf8'), readWorkspace('.'));
 * ```
 */
export function checkCommands(file: string, text: string, workspace: Workspace): Problem[] {
  const problems: Problem[] = [];
  let fence: string | undefined;
  let shell = false;
  text.split(/\r?\n/).forEach((line, index) => {
    const opening = /^\s{0,3}(`{3,}|~{3,})\s*([^`\s]*)/.exec(line);
    if (fence === undefined && opening !== null) {
      fence = opening[1];
      shell = ['sh', 'bash', 'shell', 'console'].includes((opening[2] ?? '').toLowerCase());
      return;
    }
    if (fence !== undefined) {
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') {
        fence = undefined;
        return;
      }
      if (!shell) return;
      for (const command of line.replace(/^\s*\$\s*/, '').split(/&&|\|\||;|\|/)) {
        const problem = checkCommand(command.replace(/#.*$/, ''), workspace);
        if (problem !== undefined) problems.push({ file, line: index + 1, message: problem });
      }
      return;
    }
    for (const span of line.matchAll(/`(pnpm [^`]+)`/g)) {
      for (const command of (span[1] ?? '').split(/&&|\|\||;/)) {
        const problem = checkCommand(command, workspace);
        if (problem !== undefined) problems.push({ file, line: index + 1, message: problem });
      }
    }
  });
  return problems;
}
