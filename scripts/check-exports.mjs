#!/usr/bin/env node
// `check:exports` of one package, run in its directory: `publint --strict`, then
// `attw --pack . --profile esm-only` (are the types right for ESM consumers).
//
// attw packs with `npm pack`, which runs the package's `prepack` (a rebuild). turbo runs this task
// after the package's build, so the rebuild is redundant, and it would rewrite dist while other
// packages' tests read it: the pack here skips lifecycle scripts (npm_config_ignore_scripts).

import { execFileSync } from 'node:child_process';

const env = {
  ...process.env,
  npm_config_ignore_scripts: 'true',
  npm_config_update_notifier: 'false',
};
const shell = process.platform === 'win32'; // the binaries are .cmd shims on Windows

for (const [command, ...args] of [
  ['publint', '--strict'],
  ['attw', '--pack', '.', '--profile', 'esm-only'],
]) {
  try {
    execFileSync(command, args, { stdio: 'inherit', env, shell });
  } catch {
    console.error(`check:exports: ${command} ${args.join(' ')} failed`);
    process.exit(1);
  }
}
