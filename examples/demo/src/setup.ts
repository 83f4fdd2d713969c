/**
 * The composition a careful user writes: a scheduler on a SQLite file whose URL policy opens
 * exactly one local target (plain http to 127.0.0.1 on its port) and nothing else. Both demo
 * processes build theirs here, as two deployments of one service would.
 */
import {
  createScheduler,
  SCHEDULER_EVENTS,
  type Scheduler,
  type SchedulerEventName,
  type SchedulerListeners,
} from '@again/scheduler';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createEgress } from '@again/url-guard';
import type { Output } from './output.js';
import type { Progress } from './progress.js';

/** A scheduler and what to close when done. */
export interface Opened {
  readonly scheduler: Scheduler;
  /** Stops the scheduler (letting runs in flight finish), then closes the store and the egress. */
  close(): Promise<void>;
}

/**
 * Opens the SQLite file (created on first use) and starts a scheduler on it.
 *
 * @param file - the SQLite file
 * @param port - the target's port on 127.0.0.1, the only address requests may go to
 * @param on - event listeners, added before the scheduler starts (a restarted one resumes runs
 *   while it starts, before `scheduler.on()` could be called)
 */
export async function openScheduler(
  file: string,
  port: number,
  on: SchedulerListeners,
): Promise<Opened> {
  // The guard refuses plain http, IP literals and loopback by default; open exactly the target.
  const egress = createEgress({
    allowedSchemes: ['http'],
    allowIpLiterals: true,
    allowedAddresses: ['127.0.0.1'],
    allowedPorts: [port],
  });
  const storage = await createSqliteStorage({ database: file });
  try {
    // The demo prints every run from events; the scheduler's own log shows warnings only.
    const scheduler = await createScheduler({ storage, egress, logLevel: 'warn', on });
    return {
      scheduler,
      async close() {
        await scheduler.stop();
        await storage.close();
        await egress.close();
      },
    };
  } catch (error) {
    await storage.close();
    await egress.close();
    throw error;
  }
}

/**
 * The demo's listeners: every event printed, and successful runs counted.
 *
 * @param out - where lines go
 * @param progress - what the demo waits on
 */
export function demoListeners(out: Output, progress: Progress): SchedulerListeners {
  const print = (name: SchedulerEventName) => (event: never) => {
    out.event(name, event);
    if (name === 'run:succeeded') progress.succeeded((event as { jobId: string }).jobId);
  };
  return Object.fromEntries(SCHEDULER_EVENTS.map((name) => [name, print(name)]));
}
