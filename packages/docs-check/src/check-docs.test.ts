import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDocs } from './check-docs.js';
import { checkCommand, readWorkspace } from './commands.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = join(packageDir, '../..');
// The fixture root is inside this package, so the snippets resolve @again/* like the real ones.
const fixtures = mkdtempSync(join(packageDir, '.snippets-test-'));
afterAll(() => rmSync(fixtures, { recursive: true, force: true }));

function fixture(name: string, markdown: string): string {
  const root = join(fixtures, name);
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, 'tsconfig.base.json'),
    JSON.stringify({ extends: join(repoRoot, 'tsconfig.base.json') }),
  );
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'fixture', scripts: { demo: 'x' } }),
  );
  mkdirSync(join(root, 'packages'));
  writeFileSync(join(root, 'README.md'), markdown);
  return root;
}

describe('checkDocs', () => {
  it('reports a type error at its markdown line, behind a hidden prelude', async () => {
    const root = fixture(
      'types',
      [
        '# Fixture',
        '',
        '<!-- snippet: no-run only types',
        "import { createRetrier } from '@again/retry';",
        '-->',
        '```ts',
        'const retrier = createRetrier({ maxRetries: 2 });',
        "retrier.run('not a function');",
        '```',
      ].join('\n'),
    );
    const result = await checkDocs({ root, workDir: join(root, 'work') });
    expect(result.problems, JSON.stringify(result.problems)).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ file: 'README.md', line: 8 });
    expect(result.problems[0]?.message).toMatch(/^TS2345: Argument of type 'string'/);
    expect(result).toMatchObject({ snippets: 1, typechecked: 1, ran: 0 });
  });

  it('runs self-contained snippets: a failing one is reported with its markdown line in the stack', async () => {
    const root = fixture(
      'runs',
      [
        '```ts',
        "import { strictEqual } from 'node:assert';",
        'strictEqual(await Promise.resolve(42), 42);',
        '',
        '```',
        '',
        '```ts',
        'const value: number = 1;',
        "if (value === 1) throw new Error('documented promise broken');",
        '```',
        '',
        '```ts',
        'setInterval(() => {}, 1_000);',
        '```',
      ].join('\n'),
    );
    const result = await checkDocs({ root, workDir: join(root, 'work'), timeout: 2_000 });
    expect(result, JSON.stringify(result.problems)).toMatchObject({ snippets: 3, ran: 3 });
    expect(result.problems.map(({ line }) => line)).toEqual([8, 13]);
    expect(result.problems[0]?.message).toContain('snippet exited with code 1');
    expect(result.problems[0]?.message).toContain('documented promise broken');
    expect(result.problems[0]?.message).toContain('README.md:9');
    expect(result.problems[1]?.message).toContain('did not exit within 2000 ms');
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
