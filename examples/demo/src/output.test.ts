import { afterEach, describe, expect, it, vi } from 'vitest';
import { colorsWanted, createOutput } from './output.js';

describe('colorsWanted', () => {
  it.each([
    { isTTY: true, env: {}, wanted: true },
    { isTTY: true, env: { NO_COLOR: '' }, wanted: true },
    { isTTY: true, env: { NO_COLOR: '1' }, wanted: false },
    { isTTY: false, env: {}, wanted: false },
    { isTTY: undefined, env: { FORCE_COLOR: '1' }, wanted: false },
  ])('isTTY $isTTY, env $env: $wanted', ({ isTTY, env, wanted }) => {
    const stream = isTTY === undefined ? {} : { isTTY };
    expect(colorsWanted(stream, env)).toBe(wanted);
  });
});

// Any SGR colour code: ESC [ digits m.
const ESC_CODE = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g');

describe('createOutput', () => {
  afterEach(() => vi.restoreAllMocks());

  function capture(color: boolean): string {
    let written = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written += String(chunk);
      return true;
    });
    const out = createOutput(Date.now() - 1_234, 'proc 1', color);
    out.job('flaky', 'attempt 1: 503', 'warn');
    vi.restoreAllMocks();
    return written;
  }

  it('writes plain text without colours', () => {
    expect(capture(false)).toMatch(/^ +\+1\.2\ds {2}proc 1 {2}flaky {3}attempt 1: 503\n$/);
  });

  it('colours the time, the job and the text with colours on', () => {
    const line = capture(true);
    expect(line).toContain('\u001b[33mattempt 1: 503\u001b[0m');
    expect(line.replaceAll(ESC_CODE, '')).toMatch(/^ +\+1\.2\ds {2}proc 1 {2}flaky {3}attempt/);
  });
});
