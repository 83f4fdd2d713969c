/** The four jobs of the demo, each showing one thing. */
import type { JobInput } from '@again/scheduler';
import { PATHS } from './target.js';

/** A job and what it shows. */
export interface DemoJob {
  readonly job: JobInput & { readonly id: string };
  readonly about: string;
}

/**
 * The demo's jobs against the target at `base`.
 *
 * @param base - the target, `http://127.0.0.1:<port>`
 * @param now - the demo's time now (epoch ms)
 */
export function demoJobs(base: string, now: number): readonly DemoJob[] {
  return [
    {
      about: `one-off GET ${PATHS.hello}, answered 200`,
      job: { id: 'hello', schedule: { at: now }, request: { url: `${base}${PATHS.hello}` } },
    },
    {
      about: `one-off POST ${PATHS.flaky}, answered 503 with Retry-After: 1 twice, then 200`,
      job: {
        id: 'flaky',
        schedule: { at: now },
        request: { method: 'POST', url: `${base}${PATHS.flaky}`, body: { order: 42 } },
        // Backoff of 250 ms, 500 ms: the server's Retry-After (1 s) is longer, so it decides.
        retryPolicy: { maxRetries: 3, interval: 250, jitterStrategy: 'none' },
      },
    },
    {
      about: `cron "* * * * * *" (every second) GET ${PATHS.tick}`,
      job: {
        id: 'tick',
        schedule: { cron: '* * * * * *' },
        request: { url: `${base}${PATHS.tick}` },
      },
    },
    {
      about: `one-off POST ${PATHS.report} in 0.5 s, its outcome sent to ${PATHS.callback}`,
      job: {
        id: 'report',
        schedule: { at: now + 500 },
        request: { method: 'POST', url: `${base}${PATHS.report}`, body: { day: '2026-01-01' } },
        callback: { url: `${base}${PATHS.callback}` },
      },
    },
  ];
}
