#!/usr/bin/env node
// Draws docs/images/retry-delays.svg: the waits of the real @again/retry retrier for each backoff
// (exponential, linear, constant) and each jitter strategy, with the retrier's defaults.
//
// For every panel it builds a retrier with `createRetrier` from the built package, runs 200 calls
// that always fail, and records the wait chosen before each retry (the `onRetry` hook's `delay`;
// an injected `sleep` returns at once). Randomness is a seeded generator, so the figure is the
// same on every run and machine: regenerate it after changing delays, and the gate checks it.
//
//   pnpm figures                                  build @again/retry, then write the SVG
//   node scripts/draw-delays.mjs                  write the SVG (needs packages/retry/dist)
//   node scripts/draw-delays.mjs --check          exit 1 if the committed SVG is not what it draws
//   node scripts/draw-delays.mjs --out file.svg   write somewhere else
//
// Plain SVG text, no dependency; a white background so it reads in GitHub's light and dark themes.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'docs/images/retry-delays.svg');
const { createRetrier } = await import(join(root, 'packages/retry/dist/index.js')).catch(
  (error) => {
    throw new Error('packages/retry/dist is missing or broken: build it (pnpm figures does)', {
      cause: error,
    });
  },
);

const CALLS = 200;
const RETRIES = 8;

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The waits before retries 1..RETRIES of CALLS calls (`waits[k]` holds retry k+1's), and the
 * retrier's normalised options (defaults filled in).
 */
async function sample(options, seed) {
  const waits = Array.from({ length: RETRIES }, () => []);
  const retrier = createRetrier({
    ...options,
    maxRetries: RETRIES,
    random: seeded(seed),
    sleep: async () => {},
    hooks: { onRetry: ({ attempt, delay }) => waits[attempt - 1].push(delay) },
  });
  const fail = () => Promise.reject(new Error('down'));
  for (let call = 0; call < CALLS; call += 1) await retrier.run(fail).catch(() => {});
  return { waits, normalized: retrier.options };
}

function quantile(sorted, q) {
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

function summarise(waits) {
  return waits.map((values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return {
      min: sorted[0],
      q1: quantile(sorted, 0.25),
      median: quantile(sorted, 0.5),
      q3: quantile(sorted, 0.75),
      max: sorted[sorted.length - 1],
    };
  });
}

const BACKOFFS = ['exponential', 'linear', 'constant'];
const JITTERS = [
  { strategy: 'none', label: "'none'" },
  { strategy: 'additive', label: "'additive' (default)" },
  { strategy: 'full', label: "'full'" },
  { strategy: 'equal', label: "'equal'" },
  { strategy: 'decorrelated', label: "'decorrelated' (ignores backoff)" },
];

// The options of each panel; `decorrelated` refuses an explicit backoff, so it has one panel.
const panels = [];
for (const [row, { strategy }] of JITTERS.entries()) {
  for (const [column, backoff] of BACKOFFS.entries()) {
    if (strategy === 'decorrelated' && column > 0) continue;
    // Only the backoff and the strategy are set; every other option is the default.
    const options =
      strategy === 'decorrelated'
        ? { jitterStrategy: strategy }
        : { backoff, jitterStrategy: strategy };
    const { waits, normalized } = await sample(options, 1 + row * 3 + column);
    panels.push({ row, column, options, normalized, stats: summarise(waits) });
  }
}

const { interval, maxDelay, backoffFactor } = panels[0].normalized;
const additive = panels.find((panel) => panel.options.jitterStrategy === 'additive');

// Layout (px). Columns share a y scale, so strategies compare down a column.
const PLOT_W = 220;
const PLOT_H = 104;
const AXIS_W = 52;
const COL_W = AXIS_W + PLOT_W + 24;
const ROW_H = PLOT_H + 74;
const LEFT = 16;
const TOP = 92;
const WIDTH = LEFT + COL_W * BACKOFFS.length;
const HEIGHT = TOP + ROW_H * JITTERS.length + 34;
const COLORS = {
  text: '#1f2328',
  muted: '#59636e',
  grid: '#e6e8eb',
  range: '#8fb3e8',
  box: '#2f6fce',
  median: '#0b2a5b',
  cap: '#c2410c',
};

const yMax = BACKOFFS.map((_, column) => {
  const top = Math.max(
    ...panels.filter((p) => p.column === column).flatMap((p) => p.stats.map((s) => s.max)),
  );
  const step = niceStep(top / 3);
  return Math.ceil(top / step) * step;
});

function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 2.5 ? 2.5 : scaled <= 5 ? 5 : 10) * power;
}

const n = (value) => String(Math.round(value * 10) / 10);
const escapeXml = (text) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
const text = (x, y, content, attrs = '') =>
  `<text x="${n(x)}" y="${n(y)}"${attrs}>${escapeXml(content)}</text>`;

function drawPanel({ row, column, options, stats }) {
  const x0 = LEFT + column * COL_W + AXIS_W;
  const y0 = TOP + row * ROW_H + 42;
  const top = yMax[column];
  const y = (ms) => y0 + PLOT_H - (ms / top) * PLOT_H;
  const slot = PLOT_W / RETRIES;
  const out = [];
  const step = niceStep(top / 3);
  for (let tick = 0; tick <= top + 1e-9; tick += step) {
    out.push(
      `<line x1="${n(x0)}" x2="${n(x0 + PLOT_W)}" y1="${n(y(tick))}" y2="${n(y(tick))}" stroke="${COLORS.grid}"/>`,
      text(x0 - 6, y(tick) + 4, String(tick), ` text-anchor="end" fill="${COLORS.muted}"`),
    );
  }
  if (maxDelay <= top) {
    out.push(
      `<line x1="${n(x0)}" x2="${n(x0 + PLOT_W)}" y1="${n(y(maxDelay))}" y2="${n(y(maxDelay))}" stroke="${COLORS.cap}" stroke-dasharray="4 3"/>`,
    );
  }
  for (const [k, s] of stats.entries()) {
    const cx = x0 + slot * (k + 0.5);
    const lineTop = Math.min(y(s.max), y(s.min) - 1.5);
    const boxTop = Math.min(y(s.q3), y(s.q1) - 2);
    out.push(
      `<rect x="${n(cx - 1.5)}" y="${n(lineTop)}" width="3" height="${n(y(s.min) - lineTop)}" fill="${COLORS.range}"/>`,
      `<rect x="${n(cx - 6)}" y="${n(boxTop)}" width="12" height="${n(y(s.q1) - boxTop)}" fill="${COLORS.box}"/>`,
      `<circle cx="${n(cx)}" cy="${n(y(s.median))}" r="3.2" fill="${COLORS.median}" stroke="#ffffff" stroke-width="1"/>`,
      text(cx, y0 + PLOT_H + 14, String(k + 1), ` text-anchor="middle" fill="${COLORS.muted}"`),
    );
  }
  out.push(
    `<line x1="${n(x0)}" x2="${n(x0 + PLOT_W)}" y1="${n(y0 + PLOT_H)}" y2="${n(y0 + PLOT_H)}" stroke="${COLORS.muted}"/>`,
  );
  const panelTitle =
    options.jitterStrategy === 'decorrelated'
      ? `interval ${interval}, no backoff option`
      : options.backoff;
  out.push(text(x0, y0 - 8, panelTitle, ` fill="${COLORS.text}" font-weight="600"`));
  out.push(
    text(x0 + PLOT_W, y0 + PLOT_H + 28, 'retry', ` text-anchor="end" fill="${COLORS.muted}"`),
  );
  out.push(text(x0 - 6, y0 - 8, 'ms', ` text-anchor="end" fill="${COLORS.muted}"`));
  return out.join('\n');
}

const body = [];
body.push(
  text(
    LEFT,
    28,
    'Waits before each retry of @again/retry',
    ` font-size="17" font-weight="600" fill="${COLORS.text}"`,
  ),
  text(
    LEFT,
    48,
    `Defaults: interval ${interval} ms, backoffFactor ${backoffFactor}, maxDelay ${maxDelay} ms (dashed). ${CALLS} calls per panel, seeded random.`,
    ` fill="${COLORS.muted}"`,
  ),
);
// Legend.
const lx = LEFT;
const ly = 66;
body.push(
  `<rect x="${lx}" y="${ly - 9}" width="3" height="12" fill="${COLORS.range}"/>`,
  text(lx + 8, ly + 1, 'min to max', ` fill="${COLORS.muted}"`),
  `<rect x="${lx + 86}" y="${ly - 9}" width="12" height="12" fill="${COLORS.box}"/>`,
  text(lx + 104, ly + 1, 'middle half (25th to 75th percentile)', ` fill="${COLORS.muted}"`),
  `<circle cx="${lx + 345}" cy="${ly - 3}" r="3.2" fill="${COLORS.median}"/>`,
  text(lx + 353, ly + 1, 'median', ` fill="${COLORS.muted}"`),
  `<line x1="${lx + 410}" x2="${lx + 432}" y1="${ly - 3}" y2="${ly - 3}" stroke="${COLORS.cap}" stroke-dasharray="4 3"/>`,
  text(lx + 438, ly + 1, 'maxDelay', ` fill="${COLORS.muted}"`),
);
for (const [row, { label }] of JITTERS.entries()) {
  const y = TOP + row * ROW_H;
  body.push(
    `<line x1="${LEFT}" x2="${WIDTH - LEFT}" y1="${y - 2}" y2="${y - 2}" stroke="${COLORS.grid}"/>`,
    text(
      LEFT,
      y + 10,
      `jitterStrategy ${label}${label.startsWith("'additive'") ? `, jitter ${additive.normalized.jitter} ms` : ''}`,
      ` fill="${COLORS.text}" font-weight="600"`,
    ),
  );
}
for (const panel of panels) body.push(drawPanel(panel));
// The decorrelated row has one panel; its formula goes where the others would be.
const noteX = LEFT + COL_W + AXIS_W;
const noteY = TOP + (JITTERS.length - 1) * ROW_H + 62;
for (const [i, line] of [
  "'decorrelated' draws each wait between interval and 3 × the previous wait,",
  'capped at maxDelay, so it grows on its own: an explicit backoff or',
  'backoffFactor is refused with it. Every other strategy starts from the backoff',
  'min(maxDelay, base) of its column; see the formulas above the figure.',
].entries()) {
  body.push(text(noteX, noteY + i * 18, line, ` fill="${COLORS.muted}"`));
}

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">
<title>Waits before each retry of @again/retry, by backoff and jitter strategy</title>
<rect width="100%" height="100%" fill="#ffffff"/>
${body.join('\n')}
</svg>
`;

const args = process.argv.slice(2);
if (args[0] === '--check') {
  const committed = readFileSync(target, 'utf8');
  if (committed !== svg) {
    console.error(
      `${relative(root, target)} is not what scripts/draw-delays.mjs draws from the current @again/retry: run pnpm figures and commit it`,
    );
    process.exit(1);
  }
  console.log(`${relative(root, target)} is up to date`);
} else {
  const out = args[0] === '--out' && args[1] ? args[1] : target;
  writeFileSync(out, svg);
  console.log(
    `wrote ${relative(process.cwd(), out)} (${svg.length} bytes, ${panels.length} panels)`,
  );
}
