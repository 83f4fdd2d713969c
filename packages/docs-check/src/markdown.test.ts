import { describe, expect, it } from 'vitest';
import { extractSnippets } from './markdown.js';
import { markdownLine, toModule } from './modules.js';

const page = [
  '# Title', // 1
  '', // 2
  '```ts', // 3
  "const a: number = 'x';", // 4
  '```', // 5
  '', // 6
  '<!-- snippet: no-run file=my-store.ts needs the network', // 7
  "import type { Retrier } from '@again/retry';", // 8
  'declare const retrier: Retrier;', // 9
  '-->', // 10
  '', // 11
  '```typescript', // 12
  'await retrier.run(() => 1);', // 13
  '```', // 14
  '', // 15
  '<!-- snippet: skip API summary -->', // 16
  '```ts', // 17
  'function f(): void;', // 18
  '```', // 19
  '', // 20
  '```json', // 21
  '{}', // 22
  '```', // 23
  '', // 24
  '- a list item:', // 25
  '', // 26
  '  ```sh', // 27
  '  pnpm demo', // 28
  '  ```', // 29
].join('\n');

describe('extractSnippets', () => {
  it('reads ts, typescript and sh blocks with their lines, modes and preludes', () => {
    const { snippets, problems } = extractSnippets('docs/page.md', page);
    expect(problems).toEqual([]);
    expect(snippets.map((s) => [s.line, s.kind, s.mode])).toEqual([
      [4, 'ts', 'run'],
      [13, 'ts', 'no-run'],
      [18, 'ts', 'skip'],
      [28, 'sh', 'run'],
    ]);
    const fragment = snippets[1];
    expect(fragment?.reason).toBe('needs the network');
    expect(fragment?.moduleName).toBe('my-store');
    expect(fragment?.prelude).toEqual([
      "import type { Retrier } from '@again/retry';",
      'declare const retrier: Retrier;',
    ]);
    expect(snippets[3]?.code).toEqual(['pnpm demo']);
  });

  it('maps every module line, prelude included, back to its markdown line', () => {
    const { snippets } = extractSnippets('docs/page.md', page);
    const module = toModule(snippets[1]!);
    expect(module.path).toBe('docs/page/my-store.ts');
    expect(module.text.split('\n').slice(0, 3)).toEqual([
      "import type { Retrier } from '@again/retry';",
      'declare const retrier: Retrier;',
      'await retrier.run(() => 1);',
    ]);
    expect([1, 2, 3].map((line) => markdownLine(module, line))).toEqual([8, 9, 13]);
    expect(toModule(snippets[0]!).path).toBe('docs/page/line-4.ts');
  });

  it.each([
    ['<!-- snippet: later -->\n```ts\n1;\n```', 1, 'unknown snippet mode "later"'],
    ['<!-- snippet: no-run -->\n```ts\n1;\n```', 1, '`no-run` needs a reason'],
    ['<!-- snippet: skip why -->\nprose\n```ts\n1;\n```', 1, 'must come right before a code block'],
    ['<!-- snippet: skip why -->\n```json\n{}\n```', 1, 'which is not checked'],
    ['text\n<!-- snippet: run\nconst a = 1;\n', 2, 'never closed'],
  ])('reports a malformed directive: %j', (text, line, message) => {
    const { problems } = extractSnippets('x.md', text);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.line).toBe(line);
    expect(problems[0]?.message).toContain(message);
  });
});
