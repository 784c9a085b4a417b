import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { Worker } from 'node:worker_threads';

// Runs in the worker (CommonJS, evaluated from this string so the built package needs no extra
// entry file). Its own connection to the same file; PASSIVE never waits for readers or writers,
// so it cannot stall the dispatcher. NORMAL: the checkpoint syncs the WAL and then the database
// (a connection with synchronous=OFF would skip those syncs, so it is set explicitly).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename);
db.pragma('synchronous = NORMAL');
parentPort.on('message', () => {
  let result = null;
  try { result = db.pragma('wal_checkpoint(PASSIVE)')[0] ?? null; } catch {}
  parentPort.postMessage(result);
});
`;

/** Where better-sqlite3 lives, from this module (ESM) or this file (CJS build); undefined when unknown. */
function resolveDriver(): string | undefined {
  try {
    // The CJS build has __filename; the ESM build and the sources have import.meta.url.
    // A storage created in an eval'd worker thread sees a global __filename of '[worker eval]'.
    const base = typeof __filename === 'string' && isAbsolute(__filename) ? __filename : import.meta.url;
    return createRequire(base).resolve('better-sqlite3');
  } catch {
    return undefined;
  }
}

/** What one background checkpoint did (SQLite's `wal_checkpoint` row), or null if it failed. */
export interface CheckpointResult {
  /** 1 if the checkpoint could not run to completion because of a lock. */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames copied back into the database (all of them when equal to `log`). */
  checkpointed: number;
}

/** A background WAL checkpointer: see {@link startCheckpointer}. */
export interface Checkpointer {
  /** Asks for a checkpoint unless one is already running. */
  request(): void;
  /** True while a checkpoint runs. */
  readonly busy: boolean;
  /** Stops the worker. */
  stop(): Promise<void>;
}

/**
 * Starts a worker thread that checkpoints the WAL of `filename` on request. A checkpoint copies
 * pages back into the database and syncs twice; on the main thread that is about half of the
 * commit cost under load. Returns undefined when a worker cannot be started (the caller keeps
 * SQLite's automatic checkpoints); `onExit` is called if the worker dies, `onDone` after each
 * checkpoint with what it did.
 */
export function startCheckpointer(filename: string, onExit: () => void, onDone: (result: CheckpointResult | null) => void = () => {}): Checkpointer | undefined {
  const driver = resolveDriver();
  if (driver === undefined) return undefined;
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, filename } });
  } catch {
    return undefined;
  }
  // Never keeps a process alive on its own.
  worker.unref();
  let busy = false;
  let alive = true;
  worker.on('message', (result: CheckpointResult | null) => {
    busy = false;
    onDone(result);
  });
  const dead = () => {
    if (!alive) return;
    alive = false;
    onExit();
  };
  worker.on('error', dead);
  worker.on('exit', dead);
  return {
    get busy() {
      return busy;
    },
    request() {
      if (!alive || busy) return;
      busy = true;
      worker.postMessage('checkpoint');
    },
    async stop() {
      alive = false;
      await worker.terminate();
    },
  };
}
