// Checks of the packed tarballs beside scripts/smoke.mjs's import/require check: what each tarball
// holds, @again/retry installed alone, and the scheduler composed with storage-sqlite and
// url-guard from tarballs, running one job. Each function returns its problems as strings (empty
// when all is well) and throws only when it cannot run at all.

import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';

const isWindows = process.platform === 'win32';

/** The first line of each license text we ship, by the SPDX id in `license`. */
const LICENSE_FIRST_LINES = { 'MPL-2.0': 'Mozilla Public License Version 2.0' };

/** Paths of test code: test files, type tests, test helpers, fixtures. */
const TEST_CODE = [
  /(^|\/)(__tests__|__fixtures__|fixtures?|tests?|test-utils)\//,
  /\.(test|spec)(-d)?\.[cm]?[jt]sx?(\.map)?$/,
  /\.(test|spec)(-d)?\.d\.[cm]?ts(\.map)?$/,
];

function exec(command, args, cwd, env = {}) {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: isWindows && command !== process.execPath,
      env: { ...process.env, npm_config_update_notifier: 'false', ...env },
    });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${output}`);
  }
}

/** Every file under `dir`, as POSIX paths relative to it. */
function listFiles(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path, base);
    return [relative(base, path).split(sep).join('/')];
  });
}

/** The relative link targets of a markdown text (inline links and reference definitions). */
function relativeLinks(markdown) {
  const targets = [
    ...[...markdown.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
    ...[...markdown.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]),
  ];
  return targets.filter(
    (target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'),
  );
}

/**
 * What one tarball holds: its LICENSE (whose text is the `license` field's, the repository's
 * LICENSE), its CHANGELOG.md when the package has one, no test code, source maps whose sources are
 * inside them or in the tarball, and README links that resolve inside the tarball; and its
 * package.json: keywords, homepage, bugs, CHANGELOG.md in `files`, a prepack script, and caret
 * ranges for its dependencies.
 *
 * @param tarball - the .tgz file
 * @param dir - the package's workspace directory
 * @param manifest - its package.json
 * @param into - an empty directory to unpack into
 * @param rootLicense - the text of the repository's LICENSE
 * @returns the problems found
 */
export function inspectTarball(tarball, dir, manifest, into, rootLicense) {
  mkdirSync(into, { recursive: true });
  exec('tar', ['-xzf', tarball, '-C', into], dir);
  const root = join(into, 'package');
  const files = listFiles(root);
  const has = new Set(files);
  const problems = [];

  const license = files.find((file) => /^licen[cs]e(\.md|\.txt)?$/i.test(file));
  const firstLine = LICENSE_FIRST_LINES[manifest.license];
  if (license === undefined) problems.push('no LICENSE');
  else if (firstLine === undefined) problems.push(`no known text for license ${manifest.license}`);
  else {
    const text = readFileSync(join(root, license), 'utf8');
    if (text.trimStart().split('\n')[0]?.trim() !== firstLine) {
      problems.push(`${license} is not the ${manifest.license} text the license field names`);
    } else if (text !== rootLicense) problems.push(`${license} differs from the repository's`);
  }

  const packed = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const field of ['homepage', 'bugs']) {
    if (!packed[field]) problems.push(`package.json has no ${field}`);
  }
  if (!Array.isArray(packed.keywords) || packed.keywords.length === 0) {
    problems.push('package.json has no keywords');
  }
  if (!packed.files?.includes('CHANGELOG.md')) problems.push('"files" lacks CHANGELOG.md');
  if (!manifest.scripts?.prepack) problems.push('no prepack script (a pack must build)');
  // Caret ranges, so users get a dependency's fixes without a release of ours.
  for (const [name, range] of Object.entries(packed.dependencies ?? {})) {
    if (!/^\^\d/.test(range)) problems.push(`dependency ${name} is ${range}, not a caret range`);
  }
  if (existsSync(join(dir, 'CHANGELOG.md')) && !has.has('CHANGELOG.md')) {
    problems.push('CHANGELOG.md is not in the tarball');
  }

  const tests = files.filter((file) => TEST_CODE.some((pattern) => pattern.test(file)));
  if (tests.length > 0) problems.push(`test code: ${tests.slice(0, 5).join(', ')}`);

  for (const file of files.filter((name) => name.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(root, file), 'utf8'));
    const base = posix.join(posix.dirname(file), map.sourceRoot ?? '');
    const missing = (map.sources ?? []).filter(
      (source, index) =>
        typeof map.sourcesContent?.[index] !== 'string' && !has.has(posix.join(base, source)),
    );
    if (missing.length > 0) problems.push(`${file} points at ${missing.join(', ')}: not shipped`);
  }

  for (const readme of files.filter((file) => /^readme(\.md)?$/i.test(file))) {
    for (const link of relativeLinks(readFileSync(join(root, readme), 'utf8'))) {
      const target = posix.normalize(decodeURI(link.split('#')[0] ?? ''));
      if (target === '' || target === '.') continue;
      const inside = !target.startsWith('../') && (has.has(target) || isDirectoryIn(root, target));
      if (!inside) problems.push(`${readme} links to ${link}: not in the tarball`);
    }
  }
  return problems;
}

function isDirectoryIn(root, path) {
  const full = join(root, path);
  return existsSync(full) && statSync(full).isDirectory();
}

function npmInstall(cwd, specs) {
  exec(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline', // registry metadata from npm's cache when it has it: seconds faster
      '--legacy-peer-deps',
      '--no-package-lock',
      '--loglevel=error',
      ...specs,
    ],
    cwd,
  );
}

/**
 * `@again/retry`'s promise of zero dependencies, from a user's side: npm installs its tarball alone
 * into an empty project, and nothing else arrives in node_modules.
 *
 * @param tarball - the @again/retry .tgz
 * @param into - an empty directory for the project
 * @returns the problems found
 */
export function checkRetryAlone(tarball, into) {
  mkdirSync(into, { recursive: true });
  writeFileSync(join(into, 'package.json'), JSON.stringify({ name: 'alone', private: true }));
  npmInstall(into, [tarball]);
  const problems = [];
  const modules = join(into, 'node_modules');
  const installed = readdirSync(modules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) =>
      name.startsWith('@')
        ? readdirSync(join(modules, name)).map((sub) => `${name}/${sub}`)
        : [name],
    );
  const others = installed.filter((name) => name !== '@again/retry');
  if (others.length > 0) problems.push(`pulled in ${others.join(', ')}`);
  if (!installed.includes('@again/retry')) return [...problems, '@again/retry is not installed'];
  const tree = JSON.parse(exec('npm', ['ls', '--all', '--json'], into));
  const nested = Object.keys(tree.dependencies?.['@again/retry']?.dependencies ?? {});
  if (nested.length > 0) problems.push(`npm ls shows dependencies ${nested.join(', ')}`);
  const manifest = JSON.parse(readFileSync(join(modules, '@again/retry/package.json'), 'utf8'));
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    const names = Object.keys(manifest[field] ?? {});
    if (names.length > 0) problems.push(`${field}: ${names.join(', ')}`);
  }
  return problems;
}

/** The type test: a user's own Kysely (any table shape) is accepted as the SQLite database. */
const KYSELY_TYPE_TEST = `import { createSqliteStorage } from '@again/storage-sqlite';
import { Kysely, type SqliteDatabase, SqliteDialect } from 'kysely';

interface UserTables {
  users: { id: number; name: string };
}
declare const database: SqliteDatabase;
const kysely = new Kysely<UserTables>({ dialect: new SqliteDialect({ database }) });
export const storage: ReturnType<typeof createSqliteStorage> = createSqliteStorage({ database: kysely });
`;

/**
 * One job from a user's project: the scheduler, storage-sqlite on the user's own Kysely instance,
 * url-guard allowing 127.0.0.1, against a node:http server there. Prints the outcome as JSON.
 */
const ONE_JOB = `import http from 'node:http';
import { createScheduler } from '@again/scheduler';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createEgress } from '@again/url-guard';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';

let requests = 0;
const target = http.createServer((req, res) => {
  requests += 1;
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});
await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));
const url = \`http://127.0.0.1:\${target.address().port}/job\`;

const kysely = new Kysely({ dialect: new SqliteDialect({ database: new Database(':memory:') }) });
const storage = await createSqliteStorage({ database: kysely });
const egress = createEgress({
  allowedSchemes: ['http'],
  allowIpLiterals: true,
  allowedAddresses: ['127.0.0.1'],
});
const scheduler = await createScheduler({ storage, egress });
const id = await scheduler.schedule({ id: 'smoke', schedule: { every: 60_000, maxRuns: 1 }, request: { url } });
const deadline = Date.now() + 10_000;
let status = await scheduler.jobStatus(id);
while (status?.state !== 'completed' && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 20));
  status = await scheduler.jobStatus(id);
}
await scheduler.stop();
await storage.close();
await kysely.destroy();
await new Promise((resolve) => target.close(resolve));
const outcome = {
  state: status?.state,
  success: status?.lastRun?.success,
  statusCode: status?.lastRun?.status_code,
  requests,
};
process.stdout.write(\`\\n\${JSON.stringify(outcome)}\\n\`);
`;

/**
 * The scheduler, storage-sqlite and url-guard composed from their tarballs in a user's project,
 * with the user's own kysely at the lowest patch the peer range allows (the workspace tests the
 * newest): the project type-checks passing its Kysely instance, and one job runs against
 * 127.0.0.1 and succeeds.
 *
 * @param tarballs - package name to its .tgz, for every public package
 * @param manifests - package name to its package.json, for every public package
 * @param linkPeer - `(name, target)` links a native peer from the workspace into `target`
 * @param typescript - the workspace's TypeScript package directory
 * @param nodeTypes - the workspace's node_modules/@types directory
 * @param into - an empty directory for the project
 * @returns the problems found, and the kysely version used
 */
export function checkComposition(tarballs, manifests, linkPeer, typescript, nodeTypes, into) {
  const wanted = ['@again/scheduler', '@again/storage-sqlite', '@again/url-guard'];
  // Their @again dependencies come from tarballs too (they are not on the registry yet).
  const names = new Set();
  const add = (name) => {
    if (names.has(name)) return;
    names.add(name);
    for (const dependency of Object.keys(manifests[name]?.dependencies ?? {})) {
      if (dependency.startsWith('@again/')) add(dependency);
    }
  };
  for (const name of wanted) add(name);
  const range = manifests['@again/storage-sqlite']?.peerDependencies?.kysely;
  const lowest = /^\^(\d+\.\d+\.\d+)$/.exec(range ?? '')?.[1];
  if (lowest === undefined) {
    return { problems: [`storage-sqlite's kysely peer range is ${range}, not ^x.y.z`] };
  }

  mkdirSync(into, { recursive: true });
  writeFileSync(
    join(into, 'package.json'),
    JSON.stringify({ name: 'compose', private: true, type: 'module' }),
  );
  npmInstall(into, [...[...names].map((name) => tarballs[name]), `kysely@${lowest}`]);
  linkPeer('better-sqlite3', join(into, 'node_modules', 'better-sqlite3'));

  const problems = [];
  const kyselyCopies = listFiles(join(into, 'node_modules')).filter((file) =>
    /(^|\/)node_modules\/kysely\/package\.json$|^kysely\/package\.json$/.test(file),
  );
  if (kyselyCopies.length !== 1) problems.push(`kysely installed ${kyselyCopies.length} times`);

  writeFileSync(
    join(into, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2023',
        noEmit: true,
        skipLibCheck: true,
        typeRoots: [nodeTypes],
        types: ['node'],
      },
      files: ['kysely-instance.ts'],
    }),
  );
  writeFileSync(join(into, 'kysely-instance.ts'), KYSELY_TYPE_TEST);
  try {
    exec(process.execPath, [join(typescript, 'bin', 'tsc'), '-p', 'tsconfig.json'], into);
  } catch (error) {
    problems.push(`a Kysely from kysely@${lowest} does not type-check: ${error.message}`);
  }

  writeFileSync(join(into, 'one-job.mjs'), ONE_JOB);
  try {
    // The outcome is the last line (a library may print warnings before it).
    const output = exec(process.execPath, ['one-job.mjs'], into).trim().split('\n');
    const outcome = JSON.parse(output.at(-1) ?? '');
    if (outcome.state !== 'completed' || outcome.success !== true || outcome.requests !== 1) {
      problems.push(`the job did not run once and succeed: ${JSON.stringify(outcome)}`);
    }
  } catch (error) {
    problems.push(`one job failed: ${error.message}`);
  }
  return { problems, kysely: lowest, packages: [...names] };
}

/** Links `source` (a workspace directory) at `target`, creating the parent directory. */
export function linkDirectory(source, target) {
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(source, target, isWindows ? 'junction' : 'dir');
}
