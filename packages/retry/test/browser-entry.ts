/**
 * The entry esbuild bundles for the browser test: one classic script that serves as the page's
 * `<script>` and as a Web Worker. On the page it exposes `runPortableSuite()`; in a worker it
 * answers any message with the suite's report.
 *
 * @module
 */
import { type CaseResult, runPortableCases } from './portable-cases.js';

/** Where the cases ran, and with what outcome. */
export interface PortableReport {
  readonly context: 'page' | 'worker';
  readonly userAgent: string;
  /** `typeof process`: a bundle that needs Node's `process` would not get one here. */
  readonly process: string;
  readonly results: readonly CaseResult[];
}

interface Scope {
  readonly document?: unknown;
  readonly navigator: { readonly userAgent: string };
  postMessage?: (message: unknown) => void;
  addEventListener: (type: 'message', listener: () => void) => void;
  runPortableSuite?: () => Promise<PortableReport>;
}

const scope = globalThis as unknown as Scope;
const context = scope.document === undefined ? 'worker' : 'page';

async function report(): Promise<PortableReport> {
  return {
    context,
    userAgent: scope.navigator.userAgent,
    process: typeof (globalThis as { process?: unknown }).process,
    results: await runPortableCases(),
  };
}

if (context === 'worker') {
  scope.addEventListener('message', () => {
    void report().then((r) => scope.postMessage?.(r));
  });
} else {
  scope.runPortableSuite = report;
}
