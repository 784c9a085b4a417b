import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import type Database from 'better-sqlite3';
import { SenderError } from '../errors';
import { type Checkpointer, type CheckpointResult, startCheckpointer } from './sqlite-checkpointer';

/** WAL pages between automatic checkpoints on the main thread (SQLite's default is 1,000). */
export const AUTO_CHECKPOINT_PAGES = 4000;
/** Bytes the WAL is truncated back to after a checkpoint (without the background checkpointer). */
export const JOURNAL_SIZE_LIMIT = 33554432;
/** Frames before the WAL limit from which every commit asks for a checkpoint. */
const RESTART_APPROACH_FRAMES = 1024;
/** How long a restart checkpoint waits for another connection's writer, reader or checkpoint. */
const RESTART_BUSY_MS = 1000;
/** Commits of one connection before the background checkpointer starts... */
const CHECKPOINTER_AFTER_COMMITS = 256;
/** ...or rows written, whichever comes first (a fan-out to 100 endpoints writes 100 rows in one commit). */
const CHECKPOINTER_AFTER_ROWS = 4096;
/**
 * Commits between two background checkpoint requests (at most; fewer with a small WAL limit, see
 * checkpointCadence)...
 */
const CHECKPOINT_EVERY_COMMITS = 64;
/**
 * ...or rows written since the last request, whichever comes first. Rows, not commits, are what
 * fill the WAL: a row in a table with per-endpoint indexes dirties a page in each of them, so a
 * commit of 100 deliveries appends hundreds of pages. Counted in commits alone, big commits let
 * the WAL reach the main thread's safety checkpoint (two fsyncs in the middle of a `send()`).
 * Not more often than needed: a checkpoint copies every page changed since the previous one, and
 * under load the same index pages change again and again, so checkpoints every 512 rows and 32
 * commits copied the hot pages over and over and cost a fifth of the storage's CPU (storage loop:
 * 76 → 61 µs per delivery with 1,024 rows and 64 commits). Not less often either: 4,096 rows and
 * 256 commits measured the same in the loop but doubled the p99 of a send() to 100 endpoints (to
 * 10 ms; 3.7 ms with these): a bigger checkpoint syncs more at once, and the commits beside it wait.
 */
const CHECKPOINT_EVERY_ROWS = 1024;
/** The cadence with a small WAL limit: never fewer than these. */
const CHECKPOINT_MIN_COMMITS = 32;
const CHECKPOINT_MIN_ROWS = 512;

/**
 * Checkpoint requests in proportion to the WAL limit: the limit in pages (32,768 at the default
 * 128 MiB) over 8 in rows and over 128 in commits, between the minimums and maximums above. The
 * feedback that bounds the WAL (its size, learnt from each checkpoint) must come several times per
 * limit written: with a 4 MiB limit, requests every 4,096 rows let two writers grow it to 72 MiB.
 */
function checkpointCadence(walLimitPages: number): { commits: number; rows: number } {
  return {
    commits: Math.max(CHECKPOINT_MIN_COMMITS, Math.min(CHECKPOINT_EVERY_COMMITS, Math.floor(walLimitPages / 128))),
    rows: Math.max(CHECKPOINT_MIN_ROWS, Math.min(CHECKPOINT_EVERY_ROWS, Math.floor(walLimitPages / 8))),
  };
}

/** How the SQLite storage runs its statements: see {@link createSqliteWriter}. */
export interface SqliteWriter {
  /** Runs `work` now (a read) or in the next group commit (a write); driver errors come back typed. */
  run<T>(work: () => T, write?: boolean): Promise<T>;
  /** True once {@link SqliteWriter.close} was called. */
  readonly closed: boolean;
  /** Commits what was accepted, stops the checkpointer and closes the connection. */
  close(): Promise<void>;
}

/**
 * The write path of one SQLite connection: group commit, and the background checkpointer with
 * what it takes to keep the WAL bounded (see the comments inside). `typed` maps driver errors to
 * {@link SenderError}s; `walLimitPages` is the WAL size that starts it over.
 */
export function createSqliteWriter(db: Database.Database, filename: string, typed: (error: unknown) => SenderError, options: { walLimitPages: number; busyTimeoutMs: number }): SqliteWriter {
  const { busyTimeoutMs } = options;
  let closed = false;
  /** WAL frames (pages) at which writes wait for a checkpoint so that the WAL restarts. */
  const restartFrames = options.walLimitPages;
  const approachFrames = Math.min(RESTART_APPROACH_FRAMES, Math.floor(restartFrames / 4));
  const cadence = checkpointCadence(restartFrames);
  // Before the checkpointer runs (and if it dies), SQLite's automatic checkpoints keep the WAL
  // near the limit when the limit is smaller than their usual cadence, and the checkpointer
  // starts sooner: with a 4 MiB limit, three processes grew the WAL to 21 MiB before theirs.
  const autoCheckpointPages = Math.min(AUTO_CHECKPOINT_PAGES, restartFrames);
  const journalSizeLimit = Math.min(JOURNAL_SIZE_LIMIT, restartFrames * 4096);
  const checkpointerAfterRows = Math.min(CHECKPOINTER_AFTER_ROWS, Math.floor(restartFrames / 4));
  const checkpointerAfterCommits = Math.min(CHECKPOINTER_AFTER_COMMITS, Math.max(CHECKPOINT_MIN_COMMITS, Math.floor(restartFrames / 16)));
  if (autoCheckpointPages < AUTO_CHECKPOINT_PAGES) {
    db.pragma(`wal_autocheckpoint = ${autoCheckpointPages}`);
    db.pragma(`journal_size_limit = ${journalSizeLimit}`);
  }
  /** After a restart that could not happen (a reader held the WAL), the next try is this much later. */
  const retryFrames = Math.max(approachFrames, Math.floor(restartFrames / 4));

  // Group commit: writes issued in the same turn of the event loop share one BEGIN IMMEDIATE …
  // COMMIT, each inside its own savepoint, so one failing write rolls back only itself. A commit
  // (the WAL append) is the dominant cost, and under load dozens of sends, claims and attempt
  // results arrive per turn. Every promise settles only after the shared COMMIT.
  interface QueuedWrite {
    work: () => unknown;
    resolve: (value: unknown) => void;
    reject: (error: unknown) => void;
    ok: boolean;
    result: unknown;
    error: unknown;
  }
  let queue: QueuedWrite[] = [];
  let flushScheduled = false;
  const inSavepoint = db.transaction((work: () => unknown) => work());
  const inBatch = db.transaction((items: QueuedWrite[]) => {
    for (const item of items) {
      try {
        item.result = inSavepoint(item.work);
        item.ok = true;
      } catch (error) {
        item.error = error;
      }
    }
  });

  // Background checkpoints: once this connection has committed a few hundred times or written a
  // few thousand rows (a busy sender, not a test or a CLI), a worker thread with its own
  // connection takes every checkpoint over, requested every few dozen commits or few hundred rows.
  //
  // While the worker runs, this connection never syncs: synchronous=OFF and no automatic
  // checkpoint here. Durability stays NORMAL's, because in WAL mode NORMAL syncs only in
  // checkpoints, and every checkpoint now runs on the worker's NORMAL connection (it syncs the WAL
  // before copying pages back and the database after). A commit is still written to the WAL
  // before its promise settles, so it outlives the process; after an OS crash or power loss the
  // database is the last checkpoint plus whatever WAL frames reached the disk, as with NORMAL.
  // What OFF skips here is the sync of the WAL header when the WAL restarts from its beginning:
  // until the next checkpoint syncs it, a lost header only invalidates the frames written since,
  // which NORMAL does not promise to keep either.
  //
  // The WAL restarts only when a write begins with every frame already copied back and no reader
  // still on the WAL. Under steady load that moment does not come by itself, so once the WAL
  // holds the limit, this connection's writes wait for one more checkpoint (a few milliseconds,
  // once per limit written, 128 MiB by default; every commit close to that asks for a
  // checkpoint, so the last one has little to copy) and the next commit starts the WAL over.
  // That checkpoint is a RESTART (see sqlite-checkpointer.ts): with only this connection's
  // writes held, other connections (another process such as `hooks dispatch`, a second storage)
  // would keep appending while a PASSIVE checkpoint ran, so no write would ever begin with
  // everything copied back (two processes grew a 4 MiB limit to 25-72 MiB that way). RESTART
  // holds the write lock of the file for the checkpoint and waits for the readers, so every
  // process's next write starts the WAL over; their writes wait for it in their busy handler.
  // If it cannot (a reader of another process holds an old snapshot past RESTART_BUSY_MS), the
  // writes go on and the next try comes after another quarter of the limit. If the worker dies,
  // this connection goes back to NORMAL and to SQLite's automatic checkpoints.
  let commits = 0;
  let rows = 0;
  let rowsAtRequest = 0;
  const totalChanges = db.prepare('SELECT total_changes()').pluck();
  let checkpointer: Checkpointer | undefined;
  /** Writes wait for the checkpoint in progress, then restart the WAL. */
  let holding = false;
  /** Frames in the WAL at the last checkpoint. */
  let walFrames = 0;
  /** WAL frames from which the next restart is tried (more than the limit after a failed one). */
  let restartAt = restartFrames;
  /** A restart was asked for while the worker ran a PASSIVE checkpoint: requested when it is done. */
  let restartPending = false;
  /**
   * The restart checkpoint is done: the next commit goes through (it is the one that starts the
   * WAL over) although the shared frame count still says the WAL is past the limit.
   */
  let restarted = false;
  // A private in-memory database has no WAL to checkpoint.
  let checkpointerFailed = filename === ':memory:' || filename.startsWith('file:');

  // How long the WAL is NOW, whichever connection wrote it: the frame count (mxFrame) of the
  // wal-index header that every connection to the file shares, at byte 16 of the -shm file in
  // the host's byte order (https://www.sqlite.org/walformat.html). Read before each commit (one
  // 4-byte pread), so that every process writing to the file sees the WAL reach the limit within
  // a commit and holds its writes for the restart checkpoint: with only one process holding, the
  // others' writers kept the write lock busy and a RESTART waited 480 ms for it while the WAL
  // grew to 52 MiB past a 4 MiB limit. An unlocked read may be torn or stale by a commit; it only
  // decides when to try. Without the file (another VFS), the checkpoints' reports decide alone.
  let shm: number | undefined;
  if (!checkpointerFailed) {
    try {
      shm = openSync(`${filename}-shm`, 'r');
    } catch {
      shm = undefined;
    }
  }
  const shmFrame = Buffer.alloc(4);
  /** The shared frame count read before the last commit. */
  let lastShared = 0;
  const littleEndian = endianness() === 'LE';
  function sharedFrames(): number {
    if (shm === undefined) return walFrames;
    try {
      if (readSync(shm, shmFrame, 0, 4, 16) !== 4) return walFrames;
    } catch {
      return walFrames;
    }
    return littleEndian ? shmFrame.readUInt32LE(0) : shmFrame.readUInt32BE(0);
  }

  /** Where the next restart is tried after a restart checkpoint: at the limit when it did its work, else another quarter of the limit on. */
  function nextRestartAt(result: CheckpointResult | null): number {
    return result?.busy === 0 ? restartFrames : Math.max(restartFrames, walFrames + retryFrames);
  }

  /** Holds this connection's writes and has the worker take a restart checkpoint. */
  function holdForRestart(active: Checkpointer): void {
    holding = true;
    if (active.busy) restartPending = true;
    else active.request('restart');
  }

  /**
   * Without a worker ready (before it starts, while it starts, after it died): the same restart
   * checkpoint on this thread before a commit, as SQLite's automatic checkpoint would run here,
   * with NORMAL's syncs and a short busy timeout. False when another connection's checkpoint is
   * in progress (then the caller lets it have the write lock for a moment).
   */
  function restartHere(): boolean {
    db.pragma('synchronous = NORMAL');
    db.pragma(`busy_timeout = ${RESTART_BUSY_MS}`);
    try {
      const done = (db.pragma('wal_checkpoint(RESTART)') as CheckpointResult[])[0];
      if (!done || done.log < 0) return false;
      walFrames = done.log;
      restartAt = nextRestartAt(done);
      return true;
    } catch {
      return false;
    } finally {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      if (checkpointer) db.pragma('synchronous = OFF');
    }
  }
  /** Milliseconds this connection's writes have waited for another connection's checkpoint. */
  let waitedHere = 0;

  function release(): void {
    holding = false;
    if (queue.length > 0 && !flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }

  function onCheckpoint(result: CheckpointResult | null): void {
    if (closed || !checkpointer) return;
    if (result && result.log >= 0) walFrames = result.log;
    if (holding && restartPending) {
      restartPending = false;
      checkpointer.request('restart');
      return;
    }
    if (holding) {
      // Done: every frame is back in the database and no reader is on the WAL, so the next
      // commit (here or in another process) restarts it. Or not: try again a bit later.
      restartAt = nextRestartAt(result);
      restarted = true;
      release();
      return;
    }
    if (walFrames < restartFrames) restartAt = restartFrames;
    if (result && result.log >= restartAt) holdForRestart(checkpointer);
  }

  function onCheckpointerExit(): void {
    checkpointer = undefined;
    checkpointerFailed = true;
    if (!closed) {
      db.pragma('synchronous = NORMAL');
      db.pragma(`wal_autocheckpoint = ${autoCheckpointPages}`);
      db.pragma(`journal_size_limit = ${journalSizeLimit}`);
    }
    restartPending = false;
    if (holding) release();
  }

  function afterCommit(): void {
    commits += 1;
    if (checkpointerFailed || closed) return;
    rows = totalChanges.get() as number;
    // Close to a restart, checkpoint after every commit: the wait for the last one is then short.
    const closeToRestart = Math.max(lastShared, walFrames) >= restartFrames - approachFrames;
    if (!closeToRestart && commits % cadence.commits !== 0 && rows - rowsAtRequest < cadence.rows) return;
    rowsAtRequest = rows;
    if (!checkpointer) {
      if (commits < checkpointerAfterCommits && rows < checkpointerAfterRows) return;
      checkpointer = startCheckpointer(filename, onCheckpointerExit, onCheckpoint, RESTART_BUSY_MS);
      if (!checkpointer) {
        checkpointerFailed = true;
        return;
      }
      db.pragma('wal_autocheckpoint = 0');
      db.pragma('synchronous = OFF');
      // Truncating a WAL of tens of megabytes takes 10-20 ms; it keeps its size instead (about
      // the limit, reused from the start at each restart; deleted on close).
      db.pragma('journal_size_limit = -1');
    }
    checkpointer.request();
  }

  function flush(): void {
    flushScheduled = false;
    // Waiting for the checkpoint that lets the WAL restart: release() flushes.
    if (holding && !closed) return;
    if (restarted) restarted = false;
    else if (!closed && queue.length > 0 && shm !== undefined) {
      const frames = sharedFrames();
      lastShared = frames;
      if (frames < restartFrames) restartAt = restartFrames;
      else if (frames >= restartAt) {
        if (checkpointer?.ready) {
          holdForRestart(checkpointer);
          return;
        }
        if (restartHere()) waitedHere = 0;
        else if (waitedHere < RESTART_BUSY_MS) {
          // Most likely another process's restart checkpoint, waiting for the write lock.
          const wait = Math.min(16, 1 + Math.floor(waitedHere / 4));
          waitedHere += wait;
          holding = true;
          setTimeout(release, wait);
          return;
        } else {
          waitedHere = 0;
          restartAt = Math.max(restartFrames, frames + retryFrames);
        }
      }
    }
    const items = queue;
    queue = [];
    if (items.length === 0) return;
    try {
      inBatch.immediate(items);
    } catch (error) {
      // The shared commit failed: nothing of this batch was written.
      for (const item of items) item.reject(typed(error));
      return;
    }
    afterCommit();
    for (const item of items) {
      if (item.ok) item.resolve(item.result);
      else item.reject(typed(item.error));
    }
  }

  /** Runs `work` atomically (reads directly, writes in the next group commit) and maps driver errors to typed ones. */
  function run<T>(work: () => T, write = true): Promise<T> {
    if (closed) return Promise.reject(new SenderError('storage_error', 'The storage is closed.'));
    if (!write) {
      try {
        return Promise.resolve(work());
      } catch (error) {
        return Promise.reject(typed(error));
      }
    }
    return new Promise<T>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject, ok: false, result: undefined, error: undefined });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  }

  return {
    run,
    get closed() {
      return closed;
    },
    async close() {
      if (closed) return;
      // Writes already accepted are committed before the file is closed.
      holding = false;
      flush();
      closed = true;
      await checkpointer?.stop();
      if (shm !== undefined) closeSync(shm);
      // Closing the last connection checkpoints and deletes the WAL: with syncs.
      db.pragma('synchronous = NORMAL');
      db.close();
    },
  };
}
