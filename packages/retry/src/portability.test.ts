import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The library runs outside Node (test/browser.test.ts runs it in Chromium, on a page and in a Web
// Worker; Bun and Deno are untested): no Node-only imports or globals in non-test sources.
// (Tests and test utilities may use Node freely.)
const SRC = import.meta.dirname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'test-utils' ? [] : sources(path);
    return /\.ts$/.test(entry.name) && !/\.test(-d)?\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** Source without comments and string contents, so prose and messages do not count. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/`(?:[^`\\]|\\.)*`/g, '``');
}

const NODE_GLOBALS =
  /(?<![.\w$])(process|Buffer|require|module|exports|__dirname|__filename|global|setImmediate|clearImmediate)\b(?!\??\s*:)/;

describe('portability', () => {
  const files = sources(SRC);

  it('finds the sources', () => {
    expect(files.map((f) => f.slice(SRC.length + 1)).sort()).toContain('retrier.ts');
    expect(files.length).toBeGreaterThan(8);
  });

  it.each(files.map((f) => [f.slice(SRC.length + 1), f]))(
    '%s has no Node-only imports',
    (_n, file) => {
      const text = readFileSync(file, 'utf8');
      expect(text).not.toMatch(/from\s+['"]node:/);
      expect(text).not.toMatch(/import\(\s*['"]node:/);
      expect(text).not.toMatch(/from\s+['"](fs|path|events|timers|util|os|crypto)(\/[\w/]*)?['"]/);
    },
  );

  it.each(files.map((f) => [f.slice(SRC.length + 1), f]))('%s uses no Node globals', (_n, file) => {
    const match = NODE_GLOBALS.exec(code(readFileSync(file, 'utf8')));
    expect(match?.[0]).toBeUndefined();
  });

  it('catches a Node global when there is one', () => {
    expect(NODE_GLOBALS.test(code('const t = process.hrtime();'))).toBe(true);
    expect(NODE_GLOBALS.test(code('setImmediate(() => {});'))).toBe(true);
    expect(NODE_GLOBALS.test(code('// process the queue\nconst x = host.setImmediate;'))).toBe(
      false,
    );
  });
});
