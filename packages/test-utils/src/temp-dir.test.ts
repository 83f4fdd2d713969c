import { existsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTempDir } from './temp-dir.js';

describe('createTempDir', () => {
  it('gives fresh file paths inside it, and removes it with its files', () => {
    const dir = createTempDir('again-test-utils-');
    const [a, b] = [dir.file(), dir.file()];
    expect(a).not.toBe(b);
    expect(a).toMatch(/\.db$/);
    expect(dirname(a)).toBe(dir.path);
    expect(dir.file('named.txt')).toBe(`${dir.path}/named.txt`);
    writeFileSync(a, 'x');
    dir.remove();
    expect(existsSync(dir.path)).toBe(false);
    dir.remove(); // gone already: no error
  });
});
