import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckDocsResult, checkDocs } from './check-docs.js';
import { checkCommand, readWorkspace } from './commands.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = join(packageDir, '../..');
// The fixture root is inside this package, so the snippets resolve @again/* like the real ones.
const root = mkdtempSync(join(packageDir, '.snippets-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const readme = [
  '# Fixture', // 1
  '', // 2
  '<!-- snippet: no-run only types', // 3
  "import { createRetrier } from '@again/retry';", // 4
  '-->', // 5
  '```ts', // 6
  'const retrier = createRetrier({ maxRetries: 2 });', // 7
  "retrier.run('not a function');", // 8
  '```', // 9
  '', // 10
  '```ts', // 11
  "import { strictEqual } from 'node:assert';", // 12
  'strictEqual(await Promise.resolve(42), 42);', // 13
  '```', // 14
  '', // 15
  '```ts', // 16
  'const value: number = 1;', // 17
  "if (value === 1) throw new Error('documented promise broken');", // 18
  '```', // 19
  '', // 20
  '```ts', // 21
  'setInterval(() => {}, 1_000);', // 22
  '```', // 23
  '', // 24
  'Run `pnpm nope` or `pnpm demo`.', // 25
].join('\n');

let result: CheckDocsResult;
beforeAll(async () => {
  writeFileSync(
    join(root, 'tsconfig.base.json'),
    JSON.stringify({ extends: join(repoRoot, 'tsconfig.base.json') }),
  );
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'fixture', scripts: { demo: 'x' } }),
  );
  mkdirSync(join(root, 'packages'));
  writeFileSync(join(root, 'README.md'), readme);
  result = await checkDocs({ root, workDir: join(root, 'work'), timeout: 2_000 });
});

describe('checkDocs', () => {
  it('counts what it checked and ran', () => {
    expect(result).toMatchObject({ files: 1, snippets: 4, typechecked: 4, ran: 3, skipped: 0 });
    expect(
      result.problems.map(({ line }) => line),
      JSON.stringify(result.problems),
    ).toEqual([8, 17, 22, 25]);
  });

  it('reports a type error at its markdown line, behind a hidden prelude', () => {
    expect(result.problems[0]).toMatchObject({ file: 'README.md', line: 8 });
    expect(result.problems[0]?.message).toMatch(/^TS2345: Argument of type 'string'/);
  });

  it('reports a failing run with its output and markdown lines in the stack', () => {
    const message = result.problems[1]?.message;
    expect(message).toContain('snippet exited with code 1');
    expect(message).toContain('documented promise broken');
    expect(message).toContain('README.md:18');
  });

  it('reports a snippet that does not exit', () => {
    expect(result.problems[2]?.message).toContain('did not exit within 2000 ms');
  });

  it('reports a command that names no script', () => {
    expect(result.problems[3]?.message).toContain('no script "nope" in the root package.json');
  });
});

describe('checkCommand', () => {
  const workspace = readWorkspace(repoRoot);

  it.each([
    ['pnpm run check', undefined],
    ['pnpm install --frozen-lockfile', undefined],
    ['pnpm --filter @again/example-scheduler start', undefined],
    ['npm install @again/retry @again/registry', undefined],
    ['pnpm nope', 'no script "nope" in the root package.json'],
    ['pnpm --filter @again/example-nope start', 'no package named @again/example-nope'],
    ['pnpm --filter @again/retry start', 'no script "start" in @again/retry\'s package.json'],
    ['npm install @again/test-utils', '@again/test-utils is not a published package'],
  ])('%s', (command, problem) => {
    const found = checkCommand(command, workspace);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});
