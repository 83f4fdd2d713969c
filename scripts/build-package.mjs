#!/usr/bin/env node
// Builds the package in the current directory (`tsc -p tsconfig.build.json`), then deletes every
// file in dist that this build did not write: tsc never deletes, so a module, a test or a map whose
// source is gone would stay in dist and be packed. Deleting after the build, not before, keeps dist
// whole while it runs (other packages' tests may be reading it).

import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const tsc = createRequire(join(process.cwd(), 'package.json')).resolve('typescript/bin/tsc');
const result = spawnSync(
  process.execPath,
  [tsc, '-p', 'tsconfig.build.json', '--listEmittedFiles'],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
);
const emitted = new Set();
for (const line of result.stdout.split('\n')) {
  if (line.startsWith('TSFILE: ')) emitted.add(resolve(line.slice('TSFILE: '.length).trim()));
  else if (line.trim() !== '') console.log(line);
}
if (result.status !== 0) process.exit(result.status ?? 1);

/** Deletes the files under `dir` that tsc did not emit, and the directories left empty. */
function prune(dir) {
  let kept = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inside = prune(path);
      if (inside === 0) rmSync(path, { recursive: true, force: true });
      kept += inside;
    } else if (emitted.has(resolve(path))) kept += 1;
    else rmSync(path, { force: true });
  }
  return kept;
}
prune(resolve('dist'));
