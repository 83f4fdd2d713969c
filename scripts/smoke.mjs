#!/usr/bin/env node
// Packed-tarball smoke test: what a user gets from npm must import and require cleanly.
//
// For every public package under packages/*: `pnpm pack` it (which rewrites `workspace:^` to real
// versions), install all the tarballs into a fresh consumer project with npm (third-party
// dependencies come from the npm registry), then check each package's entry points through
// `import` (an .mjs file) and `require` (a .js file in a CommonJS package; Node 20.19+ can
// require ESM). Each must expose the same named exports as the workspace build, including the
// names listed in KNOWN_EXPORTS.
//
// Peer dependencies are not installed (`--legacy-peer-deps`): required peers (better-sqlite3,
// a native module) are linked from the workspace's node_modules instead of compiled again.
//
// Then (scripts/smoke-packages.mjs): each tarball holds its LICENSE (the license field's text),
// its CHANGELOG.md when there is one, no test code, source maps that carry their sources, and a
// README without links outside the tarball; @again/retry installed alone with npm pulls in no
// dependency; and the scheduler, storage-sqlite (on the user's own Kysely, at the lowest patch
// its peer range allows) and url-guard, composed from tarballs, type-check and run one job
// against 127.0.0.1.
//
// Packing skips lifecycle scripts: `prepack` rebuilds, and this runs after the build.
//
// Run from the repository root after building every package: `node scripts/smoke.mjs`.
// Prints one line per package; exits 1 if any package fails. Packages whose src/index.ts is still
// `export {}` are skipped with a notice.

import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  checkComposition,
  checkRetryAlone,
  inspectTarball,
  linkDirectory,
} from './smoke-packages.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = join(ROOT, 'packages');

/**
 * Names each package must export from its main entry. A build that exports too little, or an
 * export lost in packing, fails here. Keep in step with each package's src/index.ts.
 */
const KNOWN_EXPORTS = {
  '@again/registry': ['createRegistry', 'matchesAny', 'RegistryError', 'DEFAULT_TEMPORARY_ERRORS'],
  '@again/retry': ['createRetrier'],
  '@again/scheduler': ['createScheduler'],
  '@again/storage': ['StorageError'],
  '@again/storage-conformance': ['runStorageConformance'],
  '@again/storage-memory': ['createMemoryStorage'],
  '@again/storage-sqlite': ['createSqliteStorage'],
  '@again/storage-postgres': ['createPostgresStorage'],
  '@again/url-guard': ['createEgress'],
};

const isWindows = process.platform === 'win32';

function run(command, args, cwd, env = {}) {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: isWindows, // pnpm and npm are .cmd shims on Windows
      env: { ...process.env, npm_config_update_notifier: 'false', ...env },
    });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${output}`);
  }
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** True while src/index.ts is the placeholder `export {}` (the package is not written yet). */
function isPlaceholder(dir) {
  const index = join(dir, 'src', 'index.ts');
  if (!existsSync(index)) return true;
  const code = readFileSync(index, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/\s+/g, '');
  return code === '' || code === 'export{};' || code === 'export{}';
}

/** The `import`able subpaths of a package's exports map ('.', './testing'…), not JSON or globs. */
function entryPoints(manifest) {
  const exports = manifest.exports;
  if (exports === undefined) return ['.'];
  if (typeof exports === 'string' || !Object.keys(exports).some((key) => key.startsWith('.'))) {
    return ['.'];
  }
  return Object.keys(exports).filter((key) => !key.endsWith('.json') && !key.includes('*'));
}

function specifierOf(name, subpath) {
  return subpath === '.' ? name : `${name}${subpath.slice(1)}`;
}

/** Where the workspace has a dependency installed (resolved from the package that declares it). */
function workspaceCopyOf(dependency, fromDir) {
  for (const base of [fromDir, ROOT]) {
    try {
      const require = createRequire(join(base, 'package.json'));
      return realpathSync(dirname(require.resolve(`${dependency}/package.json`)));
    } catch {
      // not resolvable from here; try the next base
    }
  }
  const store = join(ROOT, 'node_modules', '.pnpm');
  const prefix = `${dependency.replace('/', '+')}@`;
  const entry = existsSync(store)
    ? readdirSync(store).find((name) => name.startsWith(prefix))
    : undefined;
  const candidate = entry && join(store, entry, 'node_modules', dependency);
  return candidate && existsSync(candidate) ? realpathSync(candidate) : undefined;
}

/**
 * Source of a function `(module) => void` run on a linked peer after it loads, proving it works
 * and not only resolves (better-sqlite3 loads its native addon on first use).
 */
const PEER_PROBES = {
  'better-sqlite3': `(m) => {
    const Database = m.default ?? m;
    const db = new Database(':memory:');
    if (db.prepare('select 1 + 1 as two').get().two !== 2) throw new Error('select 1 + 1 failed');
    db.close();
  }`,
};

/** Code run in the consumer: loads every entry point and prints its export names as JSON. */
function checkerSource(kind, specifiers) {
  const load = kind === 'esm' ? 'await import(specifier)' : 'require(specifier)';
  const probes = Object.entries(PEER_PROBES)
    .filter(([name]) => specifiers.includes(name))
    .map(([name, probe]) => `${JSON.stringify(name)}: ${probe}`);
  const body = `
const specifiers = ${JSON.stringify(specifiers)};
const probes = { ${probes.join(',\n')} };
const results = {};
for (const specifier of specifiers) {
  try {
    const namespace = ${load};
    probes[specifier]?.(namespace);
    results[specifier] = { exports: Object.keys(namespace).filter((key) => key !== '__esModule').sort() };
  } catch (error) {
    results[specifier] = { error: String(error && error.code ? error.code + ': ' + error.message : error) };
  }
}
process.stdout.write(JSON.stringify(results));
`;
  return kind === 'esm' ? body : `'use strict';\n(async () => {${body}})();\n`;
}

const temp = mkdtempSync(join(tmpdir(), 'again-smoke-'));
const cleanup = () => rmSync(temp, { recursive: true, force: true });
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

let failed = false;
const report = (status, name, detail) => {
  if (status === 'FAIL') failed = true;
  console.log(`${status.padEnd(4)} ${name.padEnd(24)} ${detail}`);
};

try {
  const started = Date.now();
  const packages = readdirSync(PACKAGES, { withFileTypes: true })
    .filter(
      (entry) => entry.isDirectory() && existsSync(join(PACKAGES, entry.name, 'package.json')),
    )
    .map((entry) => {
      const dir = join(PACKAGES, entry.name);
      return { dir, manifest: readJson(join(dir, 'package.json')) };
    })
    .filter(({ manifest }) => manifest.private !== true)
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));

  // Every public package is packed and installed, also the placeholders: a written package may
  // depend on one, and the tarball's dependency must resolve.
  const tarballs = join(temp, 'tarballs');
  mkdirSync(tarballs);
  const peers = new Map();
  const linked = new Set();
  const tarballOf = {};
  for (const { dir, manifest } of packages) {
    const optional = manifest.peerDependenciesMeta ?? {};
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      if (optional[peer]?.optional !== true && !peers.has(peer)) peers.set(peer, dir);
    }
    const output = run('pnpm', ['pack', '--pack-destination', tarballs], dir, {
      npm_config_ignore_scripts: 'true',
    });
    tarballOf[manifest.name] = output.trim().split('\n').at(-1).trim();
  }
  const files = readdirSync(tarballs)
    .filter((name) => name.endsWith('.tgz'))
    .map((name) => join(tarballs, name));
  if (files.length !== packages.length) {
    throw new Error(`expected ${packages.length} tarballs, found ${files.length}`);
  }

  // The consumer: an ESM project, with a CommonJS project nested in it that shares node_modules.
  const consumer = join(temp, 'consumer');
  const cjs = join(consumer, 'cjs');
  mkdirSync(cjs, { recursive: true });
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'smoke-consumer', private: true, type: 'module' }),
  );
  writeFileSync(join(cjs, 'package.json'), JSON.stringify({ type: 'commonjs' }));
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--offline=false',
      '--legacy-peer-deps',
      '--no-package-lock',
      '--loglevel=error',
      ...files,
    ],
    consumer,
  );
  for (const [peer, declaredBy] of peers) {
    const source = workspaceCopyOf(peer, declaredBy);
    if (source === undefined) {
      throw new Error(`peer dependency ${peer} is not installed in the workspace`);
    }
    const target = join(consumer, 'node_modules', peer);
    if (!existsSync(target)) {
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(source, target, isWindows ? 'junction' : 'dir');
      linked.add(peer);
    }
  }

  // What to check: every entry point of every written and built package.
  const isBuilt = ({ dir, manifest }) => existsSync(resolveWorkspaceEntry(dir, manifest, '.'));
  const checked = packages.filter((pkg) => !isPlaceholder(pkg.dir) && isBuilt(pkg));
  // The linked peers are loaded too, to prove the link works (a native addon must find its binary).
  const specifiers = [
    ...checked.flatMap(({ manifest }) =>
      entryPoints(manifest).map((subpath) => specifierOf(manifest.name, subpath)),
    ),
    ...peers.keys(),
  ];
  writeFileSync(join(consumer, 'check.mjs'), checkerSource('esm', specifiers));
  writeFileSync(join(cjs, 'check.js'), checkerSource('cjs', specifiers));
  const viaImport = JSON.parse(run(process.execPath, ['check.mjs'], consumer));
  const viaRequire = JSON.parse(
    run(process.execPath, ['--disable-warning=ExperimentalWarning', 'check.js'], cjs),
  );

  for (const { dir, manifest } of packages) {
    const { name } = manifest;
    if (isPlaceholder(dir)) {
      report('SKIP', name, 'src/index.ts is still `export {}`: not written yet');
      continue;
    }
    if (!isBuilt({ dir, manifest })) {
      report('FAIL', name, 'not built (no dist): run pnpm build in it first');
      continue;
    }
    const installed = readJson(join(consumer, 'node_modules', name, 'package.json'));
    const problems = [];
    const ranges = { ...installed.dependencies, ...installed.peerDependencies };
    for (const [dependency, range] of Object.entries(ranges)) {
      if (String(range).startsWith('workspace:')) problems.push(`${dependency} is still ${range}`);
    }
    const optional = Object.keys(manifest.peerDependenciesMeta ?? {}).filter(
      (peer) => manifest.peerDependenciesMeta[peer]?.optional === true,
    );
    const notes = [];
    for (const subpath of entryPoints(manifest)) {
      const specifier = specifierOf(name, subpath);
      const results = [
        ['import', viaImport[specifier]],
        ['require', viaRequire[specifier]],
      ];
      // An extra entry point may need an optional peer (vitest for a test kit), which a consumer
      // installs only if they use it; we do not install it.
      const needs = optional.find((peer) =>
        results.some(([, result]) => result?.error?.includes(`'${peer}'`)),
      );
      if (subpath !== '.' && needs !== undefined) {
        notes.push(`${specifier} needs optional peer ${needs}: not loaded`);
        continue;
      }
      let expected;
      try {
        const built = await import(
          pathToFileURL(resolveWorkspaceEntry(dir, manifest, subpath)).href
        );
        expected = Object.keys(built).filter((key) => key !== '__esModule');
      } catch (error) {
        problems.push(`the workspace build of ${specifier} does not load: ${error}`);
        continue;
      }
      const known = subpath === '.' ? (KNOWN_EXPORTS[name] ?? []) : [];
      for (const [how, result] of results) {
        if (result?.error !== undefined) {
          problems.push(`${how}('${specifier}') threw ${result.error}`);
          continue;
        }
        const actual = result?.exports ?? [];
        if (actual.length === 0) problems.push(`${how}('${specifier}') has no exports`);
        const missing = [...new Set([...expected, ...known])].filter(
          (key) => !actual.includes(key),
        );
        if (missing.length > 0) problems.push(`${how}('${specifier}') lacks ${missing.join(', ')}`);
      }
      if (problems.length === 0) {
        notes.push(`${specifier}: ${expected.length} exports via import and require`);
      }
    }
    const summary = notes.join('; ');
    if (problems.length > 0) report('FAIL', name, problems.join('; '));
    else report('OK', name, `${installed.version}, ${summary}`);
  }
  for (const peer of peers.keys()) {
    const failures = [
      ['import', viaImport[peer]],
      ['require', viaRequire[peer]],
    ].filter(([, result]) => result?.exports === undefined);
    const works = PEER_PROBES[peer] === undefined ? 'loads' : 'loads and works';
    const how = linked.has(peer)
      ? 'linked from the workspace'
      : "installed as another package's dependency";
    if (failures.length === 0) report('OK', peer, `peer, ${how}: ${works}`);
    else report('FAIL', peer, failures.map(([how, r]) => `${how} threw ${r?.error}`).join('; '));
  }

  // What each tarball holds.
  const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
  let since = Date.now();
  const rootLicense = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
  for (const { dir, manifest } of packages) {
    const into = join(temp, 'unpacked', manifest.name.replace('/', '+'));
    const problems = inspectTarball(tarballOf[manifest.name], dir, manifest, into, rootLicense);
    if (problems.length > 0) report('FAIL', manifest.name, `tarball: ${problems.join('; ')}`);
    else
      report('OK', manifest.name, 'tarball: LICENSE, fields, no test code, maps and links resolve');
  }
  console.log(`     tarball contents: ${seconds(since)}`);
  // @again/retry alone.
  since = Date.now();
  const alone = checkRetryAlone(tarballOf['@again/retry'], join(temp, 'alone'));
  if (alone.length > 0) report('FAIL', '@again/retry', `installed alone: ${alone.join('; ')}`);
  else
    report(
      'OK',
      '@again/retry',
      `installed alone with npm: no dependency pulled in (${seconds(since)})`,
    );
  since = Date.now();
  // The scheduler composed with storage-sqlite and url-guard, running one job.
  const manifests = Object.fromEntries(packages.map(({ manifest }) => [manifest.name, manifest]));
  const linkPeer = (name, target) => {
    const source = workspaceCopyOf(name, peers.get(name) ?? ROOT);
    if (source === undefined) throw new Error(`${name} is not installed in the workspace`);
    linkDirectory(source, target);
  };
  const typescript = workspaceCopyOf('typescript', ROOT);
  const composed = checkComposition(
    tarballOf,
    manifests,
    linkPeer,
    typescript,
    join(ROOT, 'node_modules', '@types'),
    join(temp, 'compose'),
  );
  const what = `scheduler + storage-sqlite (kysely ${composed.kysely}) + url-guard`;
  if (composed.problems.length > 0)
    report('FAIL', 'composed', `${what}: ${composed.problems.join('; ')}`);
  else
    report(
      'OK',
      'composed',
      `${what} from tarballs: type-checks, one job ran on 127.0.0.1 (${seconds(since)})`,
    );
  console.log(`smoke: ${((Date.now() - started) / 1000).toFixed(1)} s, Node ${process.version}`);
} catch (error) {
  failed = true;
  console.error(`smoke: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  cleanup();
}
process.exitCode = failed ? 1 : 0;

/** The built file of a workspace package's entry point (the `import`/`default` condition). */
function resolveWorkspaceEntry(dir, manifest, subpath) {
  let target = manifest.exports === undefined ? manifest.main : manifest.exports;
  if (typeof target === 'object' && target !== null && subpath in target) target = target[subpath];
  while (typeof target === 'object' && target !== null) {
    target = target.import ?? target.node ?? target.default;
  }
  if (typeof target !== 'string')
    throw new Error(`${manifest.name}: cannot find the ${subpath} entry file`);
  return join(dir, target);
}
