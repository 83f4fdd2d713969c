// Runs every benchmark file in src/ (`*.bench.mjs`, and the bundle-size script `*-size.mjs`), or
// the ones named on the command line, each in its own Node process with --expose-gc, one after
// the other, so they do not disturb each other.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(join(here, 'src'))
  .filter((f) => f.endsWith('.bench.mjs') || f.endsWith('-size.mjs'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();

console.log(`node ${process.version} on ${process.platform}/${process.arch}`);
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, 'src', file)], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
