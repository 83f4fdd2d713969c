// Bundle size of @again/retry next to p-retry 7 and cockatiel 3: what a browser app pays for it.
//
// Each row is one esbuild bundle (bundle, minify, ESM, platform browser, tree-shaken) of a tiny
// entry that re-exports only what it names, so the bundle holds exactly what that import pulls
// in. Printed: the minified bytes and the gzip bytes (zlib, level 9). @again/retry is bundled from
// its built `dist/`, i.e. what npm ships.
//
// Budget (issue 11; 1 KB = 1,000 bytes, as the figures are): at most 3 KB gzip for an
// app that imports only `createRetrier` or only `retry`, at most 5 KB gzip for the whole package.
//
// Run: pnpm bench retry-size          (builds the packages first)
//      node benchmarks/src/retry-size.mjs [--check] [--json]   (after `pnpm run build`)
// --check exits 1 when an @again/retry row is over its budget; --json prints the rows as JSON.

import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, version as esbuildVersion } from 'esbuild';

const KB = 1000;
const ENTRY_BUDGET = 3 * KB;
const WHOLE_BUDGET = 5 * KB;

/** name, entry source, gzip budget in bytes (undefined: a comparison row without a budget). */
const ROWS = [
  ['@again/retry: createRetrier', "export { createRetrier } from '@again/retry';", ENTRY_BUDGET],
  ['@again/retry: retry', "export { retry } from '@again/retry';", ENTRY_BUDGET],
  ['@again/retry: whole package', "export * as again from '@again/retry';", WHOLE_BUDGET],
  ['p-retry 7: pRetry', "export { default } from 'p-retry';", undefined],
  [
    'cockatiel 3: retry, handleAll, ExponentialBackoff',
    "export { retry, handleAll, ExponentialBackoff } from 'cockatiel';",
    undefined,
  ],
];

const here = dirname(fileURLToPath(import.meta.url));

/** Bundles `contents` as esbuild would for a browser app; returns raw and gzip byte counts. */
async function measure(contents) {
  const result = await build({
    stdin: { contents, resolveDir: here, sourcefile: 'entry.mjs' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const bytes = result.outputFiles[0].contents;
  return { min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

async function main() {
  const args = new Set(process.argv.slice(2));
  const unknown = [...args].filter((a) => a !== '--check' && a !== '--json');
  if (unknown.length > 0) {
    console.error(`retry-size: unknown argument ${unknown.join(' ')} (expected --check, --json)`);
    process.exit(2);
  }
  const dist = fileURLToPath(import.meta.resolve('@again/retry'));
  if (!existsSync(dist)) {
    console.error(`retry-size: ${dist} is missing; run \`pnpm run build\` first`);
    process.exit(2);
  }

  const rows = [];
  for (const [name, entry, budget] of ROWS) {
    rows.push({ name, ...(await measure(entry)), budget });
  }
  const over = rows.filter((r) => r.budget !== undefined && r.gzip > r.budget);

  if (args.has('--json')) {
    console.log(JSON.stringify({ esbuild: esbuildVersion, rows }, null, 2));
  } else {
    console.log(`esbuild ${esbuildVersion}, minified ESM for the browser, gzip level 9`);
    const width = Math.max(...rows.map((r) => r.name.length));
    console.log(
      `${'bundle'.padEnd(width)}  ${'min B'.padStart(7)}  ${'gzip B'.padStart(7)}  budget`,
    );
    for (const r of rows) {
      const verdict =
        r.budget === undefined ? '' : `${r.budget} B gz: ${r.gzip <= r.budget ? 'ok' : 'OVER'}`;
      const line = `${r.name.padEnd(width)}  ${String(r.min).padStart(7)}  ${String(r.gzip).padStart(7)}  ${verdict}`;
      console.log(line.trimEnd());
    }
  }

  if (args.has('--check') && over.length > 0) {
    for (const r of over) {
      console.error(`retry-size: ${r.name} is ${r.gzip} B gzip, over its budget of ${r.budget} B`);
    }
    process.exit(1);
  }
}

await main();
