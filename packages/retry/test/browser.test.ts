import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortableReport } from './browser-entry.js';
import { PORTABLE_CASES } from './portable-cases.js';

// The portable cases (portable-cases.ts) bundled by esbuild and run in a real headless Chromium:
// on a page served from 127.0.0.1, and in a Web Worker started by that page. Debian's `chromium`
// package, driven by playwright-core. In CI (CI=true) a missing Chromium fails this file; on a
// developer machine without it the file is skipped with a message (see docs/contributing.md).

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
];
const available = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true' || process.env.CI === '1';

if (!available && !inCi) {
  console.warn(
    `[browser.test] skipped: no Chromium at ${CHROMIUM}. Install it (Debian/Ubuntu: ` +
      'apt-get install chromium) to run the portable cases in a browser; CI=true makes this a failure.',
  );
}

describe.runIf(!available && inCi)('Chromium in CI', () => {
  it(`is installed at ${CHROMIUM}`, () => {
    expect.fail(
      `CI=true but Chromium is missing at ${CHROMIUM}: the browser test cannot run. ` +
        '.ci/run installs it with `apt-get install -y chromium`.',
    );
  });
});

/** The entry bundled as one classic script (IIFE), usable by a page and by `new Worker()`. */
async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./browser-entry.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>@again/retry portable cases</title></head>
<body><script src="/portable.js"></script></body></html>`;

/** Serves the page and the bundle on 127.0.0.1 and a free port. */
async function serve(script: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else if (req.url === '/portable.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/` };
}

/** The shape every report must have: each case once, in order, all passing. */
function expectAllPassed(report: PortableReport, context: PortableReport['context']): void {
  expect(report.context).toBe(context);
  expect(report.userAgent).toMatch(/HeadlessChrome\/\d+/);
  expect(report.process).toBe('undefined');
  // A bundle that ran nothing, or skipped cases, fails here.
  expect(report.results.map((r) => r.name)).toEqual(PORTABLE_CASES.map((c) => c.name));
  expect(report.results.filter((r) => !r.ok)).toEqual([]);
}

describe.runIf(available)('portable cases in headless Chromium', () => {
  let browser: Browser | undefined;
  let server: Server | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const script = await bundle();
    const served = await serve(script);
    server = served.server;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(served.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  it('runs every case on the page, and all pass', async () => {
    const report = await page.evaluate(() =>
      (
        globalThis as unknown as { runPortableSuite: () => Promise<PortableReport> }
      ).runPortableSuite(),
    );
    expectAllPassed(report, 'page');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('runs every case in a Web Worker, and all pass', async () => {
    const report = await page.evaluate(
      () =>
        new Promise<PortableReport>((resolve, reject) => {
          const worker = new Worker('/portable.js');
          worker.onmessage = (event: MessageEvent<PortableReport>) => {
            worker.terminate();
            resolve(event.data);
          };
          worker.onerror = (event: ErrorEvent) => reject(new Error(`worker: ${event.message}`));
          worker.postMessage('run');
        }),
    );
    expectAllPassed(report, 'worker');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
