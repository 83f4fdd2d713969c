// stopOnSignals() in a real process: SIGTERM stops the scheduler within its bound, gives the
// lease of the run in flight back, and ends the process with that signal; the next start on the
// file runs the occurrence again at once (the lease is a minute long), with the same key.
import { createScheduler } from '@again/scheduler';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createTempDir, forkScript, has, type Worker } from '@again/test-utils';
import { createEgress } from '@again/url-guard';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { startTarget, type Target } from '../test-utils/target.js';

const dir = createTempDir();
afterAll(() => dir.remove());

let target: Target;
const workers: Worker[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
  }
  await target.close();
});

describe('stopOnSignals() in a real process', () => {
  it('SIGTERM: stopped within the bound, the lease given back, the run taken over at once', async () => {
    target = await startTarget();
    target.hold(true); // the run stays in flight
    const file = dir.file();
    const worker = forkScript(new URL('./test-utils/signal-worker.mjs', import.meta.url), [
      file,
      `${target.url}/long`,
    ]);
    workers.push(worker);
    await worker.waitFor(has('ready'));
    await vi.waitFor(() => expect(target.keys.size).toBe(1), { timeout: 10_000, interval: 10 });
    const [key] = [...target.keys.keys()];

    const signaled = Date.now();
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: null, signal: 'SIGTERM' });
    // stop({ timeout: 400 }) kept its bound (plus the time a process takes to exit).
    expect(Date.now() - signaled).toBeLessThan(3_000);

    target.hold(false);
    const storage = await createSqliteStorage(file);
    const [running] = await storage.runningRuns('long');
    expect(running).toMatchObject({ occurrenceId: key, owner: 'signaled' });
    expect(running?.leaseUntil).toBeLessThan(Date.now());

    const next = await createScheduler({
      storage,
      egress: createEgress({
        allowedSchemes: ['http'],
        allowIpLiterals: true,
        allowedAddresses: ['127.0.0.1'],
      }),
      logger: false,
    });
    await vi.waitFor(() => expect(target.keys.get(key as string)).toBe(2), {
      timeout: 10_000,
      interval: 10,
    });
    await vi.waitFor(async () =>
      expect((await next.jobHistory('long'))?.map((run) => run.status)).toEqual(['succeeded']),
    );
    await next.stop();
    await storage.close();
  }, 30_000);
});
