/**
 * The composition a careful user writes: a scheduler on a SQLite file whose URL policy opens
 * exactly one local target (plain http to 127.0.0.1 on its port) and nothing else. Both demo
 * processes build theirs here, as two deployments of one service would.
 */
import { createScheduler, type Scheduler } from '@again/scheduler';
import { createSqliteStorage } from '@again/storage-sqlite';
import { createEgress } from '@again/url-guard';

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
 */
export async function openScheduler(file: string, port: number): Promise<Opened> {
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
    const scheduler = await createScheduler({ storage, egress, logLevel: 'warn' });
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
