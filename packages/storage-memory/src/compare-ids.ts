/**
 * Byte-wise id order.
 *
 * @module
 */

/**
 * Compares two strings in code point order, which is the order of their UTF-8 bytes (Go's string
 * order and SQLite's BINARY collation). JavaScript's `<` compares UTF-16 code units instead, which
 * puts characters above U+FFFF (surrogate pairs) before U+E000..U+FFFF.
 *
 * @param a - a string
 * @param b - another string
 * @returns negative when `a` sorts first, positive when `b` does, 0 when equal
 */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates (U+D800..U+DFFF) above U+E000..U+FFFF, restoring code point order. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
