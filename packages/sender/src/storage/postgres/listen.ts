import { SenderError } from '../../errors';
import type { PostgresPool, PostgresPoolClient } from './client';

/** What {@link createListener} needs. */
export interface ListenerOptions {
  /** Gives the pool (created lazily by the storage). */
  pool: () => Promise<PostgresPool>;
  /** The NOTIFY channel. */
  channel: string;
  /** True once the storage is closed. */
  isClosed: () => boolean;
}

/** One held connection in LISTEN, shared by every subscriber of a storage; reconnects after errors. */
export interface Listener {
  /** Adds a subscriber (and what to tell when the connection fails); returns the function that removes it. */
  subscribe(listener: () => void, onError?: (error: unknown) => void): () => void;
  /** Lets go of the connection and every subscriber. */
  close(): Promise<void>;
}

/** Wake-ups for dispatchers: LISTEN on one pooled connection while anyone subscribes. */
export function createListener(options: ListenerOptions): Listener {
  const { pool, channel } = options;
  const listeners = new Set<() => void>();
  const errorHandlers = new Map<() => void, (error: unknown) => void>();
  let listenClient: PostgresPoolClient | undefined;
  let listenStarting = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  function wake(): void {
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch {
        // A throwing listener must not stop the others or the connection.
      }
    }
  }

  /** Tells the subscribers that want to know: they fall back to polling until the connection is back. */
  function failed(error: unknown): void {
    if (options.isClosed()) return;
    const reason = error instanceof Error ? error.message : String(error);
    const report = new SenderError('storage_error', `The PostgreSQL wake-up connection (LISTEN ${channel}) failed: ${reason}. Polling until it is back.`, { cause: error });
    for (const handler of [...errorHandlers.values()]) {
      try {
        handler(report);
      } catch {
        // A throwing handler must not stop the others or the reconnection.
      }
    }
  }

  async function startListening(): Promise<void> {
    if (listenClient || listenStarting || options.isClosed() || listeners.size === 0) return;
    listenStarting = true;
    let client: PostgresPoolClient | undefined;
    try {
      client = await (await pool()).connect();
      client.on('notification', (notification) => {
        if (notification.channel === channel) wake();
      });
      client.on('error', (error: unknown) => {
        failed(error);
        void dropListener(true);
      });
      await client.query(`LISTEN "${channel}"`);
      listenClient = client;
      // Work may have arrived while we were not listening.
      wake();
      if (options.isClosed() || listeners.size === 0) await dropListener(false);
    } catch (error) {
      if (client) {
        client.removeAllListeners('notification');
        client.release(true);
      }
      failed(error);
      scheduleReconnect();
    } finally {
      listenStarting = false;
    }
  }

  function scheduleReconnect(): void {
    if (options.isClosed() || listeners.size === 0 || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void startListening();
    }, 1000);
    reconnectTimer.unref?.();
  }

  /** Lets go of the LISTEN connection; a broken one is destroyed, a healthy one is returned clean to the pool. */
  function dropListener(reconnect: boolean): Promise<void> {
    const client = listenClient;
    listenClient = undefined;
    let done: Promise<void> = Promise.resolve();
    if (client) {
      client.removeAllListeners('notification');
      client.removeAllListeners('error');
      // Swallow late errors of the dying connection.
      client.on('error', () => {});
      if (reconnect) client.release(true);
      else
        done = client.query(`UNLISTEN "${channel}"`).then(
          () => client.release(),
          () => client.release(true),
        );
    }
    if (reconnect) scheduleReconnect();
    return done;
  }

  return {
    subscribe(listener: () => void, onError?: (error: unknown) => void) {
      listeners.add(listener);
      if (onError) errorHandlers.set(listener, onError);
      void startListening();
      return () => {
        listeners.delete(listener);
        errorHandlers.delete(listener);
        if (listeners.size === 0) void dropListener(false);
      };
    },
    async close() {
      listeners.clear();
      errorHandlers.clear();
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await dropListener(false);
    },
  };
}
