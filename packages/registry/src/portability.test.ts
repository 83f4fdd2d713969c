import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';

const SRC = new URL('./', import.meta.url);
const BUILTINS = new Set(builtinModules);

/** Library files: what `tsconfig.build.json` compiles (no tests, no test utilities). */
function librarySources(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .map((path) => path.replaceAll('\\', '/'))
    .filter((path) => path.endsWith('.ts') && !/\.test(-d)?\.ts$/.test(path))
    .filter((path) => !path.split('/').includes('test-utils'));
}

/** Import specifiers in code; comments are dropped first (TSDoc examples import the package). */
function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;
  for (const match of code.matchAll(pattern)) found.push(match[1] ?? '');
  return found;
}

describe('portability of the library code', () => {
  it('finds the library sources', () => {
    expect(librarySources()).toEqual(expect.arrayContaining(['index.ts', 'registry.ts']));
  });

  it('the specifier scan sees every import form', () => {
    const sample = [
      `import a from 'node:fs'; import 'net'; export { b } from "./b.js";`,
      `/** import { x } from 'in-a-comment'; */`,
      `// import 'also-a-comment';`,
      `await import('os'); require('http');`,
    ].join('\n');
    expect(specifiers(sample)).toEqual(['node:fs', 'net', './b.js', 'os', 'http']);
  });

  it.each(librarySources())('%s imports only relative modules (no node: or other deps)', (path) => {
    const source = readFileSync(new URL(path, SRC), 'utf8');
    for (const specifier of specifiers(source)) {
      expect(specifier.startsWith('node:') || BUILTINS.has(specifier)).toBe(false);
      expect(specifier).toMatch(/^\.\.?\//);
    }
  });
});
