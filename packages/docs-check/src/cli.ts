/**
 * `node dist/cli.js [--no-run] [--keep] [file.md …]`: checks the snippets of the repository's docs
 * (all of them without file arguments), prints each problem as `file:line: message` and exits 1 if
 * there is any. `--no-run` only type-checks; `--keep` keeps the generated modules.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDocs } from './check-docs.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));
const args = process.argv.slice(2);
const files = args.filter((arg) => !arg.startsWith('--'));
const started = performance.now();

// A directory of its own per run (two runs at once must not delete each other's modules), inside
// this package so that the snippets resolve @again/* through its node_modules. --keep keeps it.
mkdirSync(join(packageDir, '.snippets'), { recursive: true });
const workDir = mkdtempSync(join(packageDir, '.snippets', 'run-'));
const result = await checkDocs({
  root,
  workDir,
  run: !args.includes('--no-run'),
  ...(files.length > 0 ? { files } : {}),
}).finally(() => {
  if (!args.includes('--keep')) rmSync(workDir, { recursive: true, force: true });
});

for (const problem of result.problems) {
  console.error(`${problem.file}:${problem.line}: ${problem.message}`);
}
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const slowest = result.runTimes
  .slice(0, 3)
  .map(({ file, line, ms }) => `${file}:${line} ${seconds(ms)}`)
  .join(', ');
console.log(
  `docs-check: ${result.snippets} snippets in ${result.files} files: ${result.typechecked} type-checked ` +
    `(${seconds(result.typecheckMs)}), ${result.ran} run${slowest === '' ? '' : ` (slowest: ${slowest})`}, ` +
    `${result.skipped} skipped; ${result.problems.length} problems (${seconds(performance.now() - started)})`,
);
if (result.problems.length > 0) process.exitCode = 1;
