import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { Worker } from 'node:worker_threads';

// Runs in the worker (CommonJS, evaluated from this string so the built package needs no extra
// entry file). Its own connection to the same file; PASSIVE never waits for readers or writers,
// so it cannot stall the dispatcher. NORMAL: the checkpoint syncs the WAL and then the database
// (a connection with synchronous=OFF would skip those syncs, so it is set explicitly).
//
// 'restart' is what bounds the WAL when other connections (other processes) write to the file:
// see createSqliteWriter. A PASSIVE pass first copies the bulk without blocking anyone; then
// RESTART takes the write lock (waiting for a writer in progress, up to the busy timeout), copies
// the rest, and waits for every reader still on the WAL to finish, so the next write of ANY
// connection starts the WAL over from its beginning. Writers of other processes wait for that
// lock meanwhile (their busy handler), a few milliseconds once per limit written. SQLite answers
// busy at once, without the busy handler, when another connection's checkpoint is running (the
// other process's checkpointer): that one is retried for a while, with short sleeps.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename);
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
const pause = new Int32Array(new SharedArrayBuffer(4));
parentPort.postMessage('ready');
const checkpoint = (mode) => {
  try { return db.pragma('wal_checkpoint(' + mode + ')')[0] ?? null; } catch { return null; }
};
parentPort.on('message', (mode) => {
  if (mode !== 'restart') {
    parentPort.postMessage(checkpoint('PASSIVE'));
    return;
  }
  checkpoint('PASSIVE');
  let result = null;
  for (let waited = 0, wait = 1; ; waited += wait, wait = Math.min(wait * 2, 16)) {
    result = checkpoint('RESTART');
    // busy with log -1: another connection's checkpoint holds the checkpoint lock.
    if (!result || result.busy === 0 || result.log >= 0 || waited >= workerData.busyTimeoutMs) break;
    Atomics.wait(pause, 0, 0, wait);
  }
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
  /** 1 if the checkpoint could not run to completion because of a lock (with `log` -1: not at all). */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames copied back into the database (all of them when equal to `log`). */
  checkpointed: number;
}

/** A background WAL checkpointer: see {@link startCheckpointer}. */
export interface Checkpointer {
  /**
   * Asks for a checkpoint unless one is already running: PASSIVE, or with 'restart' one that
   * leaves the WAL to start over at the next write of any connection (see WORKER_SOURCE).
   */
  request(mode?: 'passive' | 'restart'): void;
  /** True while a checkpoint runs. */
  readonly busy: boolean;
  /** True once the worker has opened its connection (a request before that waits for it). */
  readonly ready: boolean;
  /** Stops the worker. */
  stop(): Promise<void>;
}

/**
 * Starts a worker thread that checkpoints the WAL of `filename` on request. A checkpoint copies
 * pages back into the database and syncs twice; on the main thread that is about half of the
 * commit cost under load. Returns undefined when a worker cannot be started (the caller keeps
 * SQLite's automatic checkpoints); `onExit` is called if the worker dies, `onDone` after each
 * checkpoint with what it did. `busyTimeoutMs` bounds each wait of a 'restart' checkpoint.
 */
export function startCheckpointer(filename: string, onExit: () => void, onDone: (result: CheckpointResult | null) => void = () => {}, busyTimeoutMs = 1000): Checkpointer | undefined {
  const driver = resolveDriver();
  if (driver === undefined) return undefined;
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, filename, busyTimeoutMs } });
  } catch {
    return undefined;
  }
  // Never keeps a process alive on its own.
  worker.unref();
  let busy = false;
  let ready = false;
  let alive = true;
  worker.on('message', (result: CheckpointResult | null | 'ready') => {
    if (result === 'ready') {
      ready = true;
      return;
    }
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
    get ready() {
      return ready;
    },
    request(mode = 'passive') {
      if (!alive || busy) return;
      busy = true;
      worker.postMessage(mode);
    },
    async stop() {
      alive = false;
      await worker.terminate();
    },
  };
}
