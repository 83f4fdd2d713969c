/**
 * `node dist/cli.js [--no-run] [file.md …]`: checks the snippets of the repository's docs (all of
 * them without file arguments), prints each problem as `file:line: message` and exits 1 if there
 * is any.
 */
import { fileURLToPath } from 'node:url';
import { checkDocs } from './check-docs.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));
const args = process.argv.slice(2);
const files = args.filter((arg) => !arg.startsWith('--'));
const started = performance.now();

const result = await checkDocs({
  root,
  workDir: `${packageDir}.snippets`,
  run: !args.includes('--no-run'),
  ...(files.length > 0 ? { files } : {}),
});

for (const problem of result.problems) {
  console.error(`${problem.file}:${problem.line}: ${problem.message}`);
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `docs-check: ${result.snippets} snippets in ${result.files} files: ${result.typechecked} type-checked, ` +
    `${result.ran} run, ${result.skipped} skipped; ${result.problems.length} problems (${seconds} s)`,
);
if (result.problems.length > 0) process.exitCode = 1;
