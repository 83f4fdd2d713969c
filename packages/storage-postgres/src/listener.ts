/**
 * Wake-ups across instances: `LISTEN` on a connection of its own, shared by every subscription of
 * a store, that reconnects when it is lost.
 *
 * The connection comes from the store's pool (so it uses the pool's settings: TLS, credentials,
 * a custom client class) and is held while at least one subscription is open. When it fails (the
 * server restarts, `pg_terminate_backend`, a network cut) it is dropped from the pool and a new one
 * is taken after a short delay that doubles on every failed attempt, up to a few seconds.
 * Notifications sent while no connection listens are lost: they are hints, and polling finds the
 * jobs they announced.
 *
 * @module
 */

import type { WakeEvent, WakeSubscription } from '@again/storage';
import type { PostgresPool } from 'kysely';

/** What the listener needs of a node-postgres client (`PoolClient`). */
interface ListenClient {
  query(text: string): Promise<unknown>;
  on(
    event: 'notification',
    listener: (message: { channel: string; payload?: string }) => void,
  ): unknown;
  on(event: 'error' | 'end', listener: (error?: unknown) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  release(destroy?: boolean | Error): void;
}

/** The delays between reconnection attempts: the first, and the longest. */
export const RECONNECT_DELAYS: { readonly first: number; readonly max: number } = Object.freeze({
  first: 50,
  max: 5000,
});

function isListenClient(value: unknown): value is ListenClient {
  const client = value as Partial<Record<keyof ListenClient, unknown>> | null;
  return (
    typeof client?.query === 'function' &&
    typeof client.on === 'function' &&
    typeof client.removeListener === 'function' &&
    typeof client.release === 'function'
  );
}

/** Parses a NOTIFY payload; `undefined` for one this store did not send. */
function parseWake(payload: string | undefined): WakeEvent | undefined {
  if (payload === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const { jobId, at } = (value ?? {}) as { jobId?: unknown; at?: unknown };
  if (typeof jobId !== 'string' || !(at === null || Number.isSafeInteger(at))) return undefined;
  return { jobId, at: at as number | null };
}

/** One store's LISTEN connection and its subscribers. */
export class WakeListener {
  readonly #pool: PostgresPool;
  readonly #channel: string;
  readonly #listen: string;
  readonly #unlisten: string;
  readonly #listeners = new Set<(wake: WakeEvent) => void>();
  /** The listening connection and how to detach our handlers from it, while there is one. */
  #current: { readonly client: ListenClient; readonly detach: () => void } | null = null;
  /** The connection being set up (the first `subscribe` waits for it). */
  #connecting: Promise<void> | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #delay: number = RECONNECT_DELAYS.first;
  #closed = false;

  /**
   * @param pool - the store's pool
   * @param channel - the NOTIFY channel
   * @param statements - the LISTEN and UNLISTEN statements of the channel
   */
  constructor(
    pool: PostgresPool,
    channel: string,
    statements: { readonly listen: string; readonly unlisten: string },
  ) {
    this.#pool = pool;
    this.#channel = channel;
    this.#listen = statements.listen;
    this.#unlisten = statements.unlisten;
  }

  /**
   * Adds a subscriber. The first one opens the connection and resolves once `LISTEN` is active, so
   * every job created after that is heard; it rejects when the connection cannot be made. While a
   * lost connection is being replaced, a new subscriber joins at once.
   */
  async subscribe(listener: (wake: WakeEvent) => void): Promise<WakeSubscription> {
    if (this.#closed) throw new Error('the listener is closed');
    // Each subscription is its own entry, even for the same function.
    const entry = (wake: WakeEvent): void => listener(wake);
    this.#listeners.add(entry);
    try {
      if (this.#current === null && this.#retryTimer === null) {
        this.#connecting ??= this.#connect().finally(() => {
          this.#connecting = null;
        });
        await this.#connecting;
      }
    } catch (error) {
      this.#listeners.delete(entry);
      throw error;
    }
    let open = true;
    return {
      close: async () => {
        if (!open) return;
        open = false;
        this.#listeners.delete(entry);
        if (this.#listeners.size === 0) await this.#stop();
      },
    };
  }

  /** Stops listening and drops every subscriber. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#stop();
  }

  /** Takes a connection and LISTENs on it; on failure, gives the connection back broken. */
  async #connect(): Promise<void> {
    const client: unknown = await this.#pool.connect();
    if (!isListenClient(client)) {
      (client as { release?: (destroy?: boolean) => void } | null)?.release?.(true);
      throw new Error(
        'the pool returned a client without events: LISTEN needs a node-postgres client',
      );
    }
    const onNotification = (message: { channel: string; payload?: string }): void => {
      if (message.channel !== this.#channel) return;
      const wake = parseWake(message.payload);
      if (wake === undefined) return;
      for (const listener of [...this.#listeners]) listener(wake);
    };
    const onLost = (error?: unknown): void => {
      if (this.#current?.client !== client) return;
      this.#current = null;
      detach();
      client.release(error instanceof Error ? error : new Error('the LISTEN connection ended'));
      this.#scheduleReconnect();
    };
    const detach = (): void => {
      client.removeListener('notification', onNotification);
      client.removeListener('error', onLost);
      client.removeListener('end', onLost);
    };
    client.on('notification', onNotification);
    client.on('error', onLost);
    client.on('end', onLost);
    try {
      await client.query(this.#listen);
    } catch (error) {
      detach();
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    if (this.#closed || this.#listeners.size === 0) {
      // Everyone left (or the store closed) while we were connecting.
      detach();
      await this.#release(client);
      return;
    }
    this.#current = { client, detach };
    this.#delay = RECONNECT_DELAYS.first;
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#listeners.size === 0 || this.#retryTimer !== null) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, RECONNECT_DELAYS.max);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#closed || this.#listeners.size === 0 || this.#current !== null) return;
      this.#connecting ??= this.#connect()
        .catch(() => {
          this.#scheduleReconnect();
        })
        .finally(() => {
          this.#connecting = null;
        });
    }, delay);
    // A pending reconnection never keeps the process alive.
    this.#retryTimer.unref?.();
  }

  /** Ends the current connection (UNLISTEN, back to the pool) and any pending reconnection. */
  async #stop(): Promise<void> {
    if (this.#retryTimer !== null) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    // A connection being made sees that nobody listens any more and gives itself back.
    await this.#connecting?.catch(() => {});
    const current = this.#current;
    this.#current = null;
    if (current !== null) {
      current.detach();
      await this.#release(current.client);
    }
  }

  async #release(client: ListenClient): Promise<void> {
    try {
      await client.query(this.#unlisten);
      client.release();
    } catch (error) {
      client.release(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
