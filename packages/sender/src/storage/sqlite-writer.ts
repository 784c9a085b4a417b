import type Database from 'better-sqlite3';
import { SenderError } from '../errors';
import { type Checkpointer, type CheckpointResult, startCheckpointer } from './sqlite-checkpointer';

/** WAL pages between automatic checkpoints on the main thread (SQLite's default is 1,000). */
export const AUTO_CHECKPOINT_PAGES = 4000;
/** Bytes the WAL is truncated back to after a checkpoint (without the background checkpointer). */
export const JOURNAL_SIZE_LIMIT = 33554432;
/** Frames before the WAL limit from which every commit asks for a checkpoint. */
const RESTART_APPROACH_FRAMES = 1024;
/** Commits before trying again when a restart could not happen. */
const RESTART_RETRY_COMMITS = 256;
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
export function createSqliteWriter(db: Database.Database, filename: string, typed: (error: unknown) => SenderError, options: { walLimitPages: number }): SqliteWriter {
  let closed = false;
  /** WAL frames (pages) at which writes wait for a checkpoint so that the WAL restarts. */
  const restartFrames = options.walLimitPages;
  const approachFrames = Math.min(RESTART_APPROACH_FRAMES, Math.floor(restartFrames / 4));
  const cadence = checkpointCadence(restartFrames);
  // Other connections to the file (another process, a second storage) keep writing while this
  // one waits, so its wait may not restart the WAL: past twice the limit this connection
  // checkpoints right after its own commit, on this thread and with NORMAL's syncs, as SQLite's
  // automatic checkpoint does; nothing else runs on this thread in between, so the next write
  // here (or any write that comes first) starts the WAL over.
  const forceFrames = restartFrames * 2;
  const checkpointHere = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

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
  // The WAL restarts only when a write begins with every frame already copied back. Under steady
  // load that moment does not come by itself, so once the WAL holds the limit, writes wait
  // for one more checkpoint (a few milliseconds, once per limit written, 128 MiB by default; every commit close to
  // that asks for a checkpoint, so the last one has little to copy) and the next
  // commit starts the WAL over. If the worker dies, this connection goes back to NORMAL and to
  // SQLite's automatic checkpoints.
  let commits = 0;
  let rows = 0;
  let rowsAtRequest = 0;
  const totalChanges = db.prepare('SELECT total_changes()').pluck();
  let checkpointer: Checkpointer | undefined;
  /** Writes wait for the checkpoint in progress, then restart the WAL. */
  let holding = false;
  /** Frames in the WAL at the last checkpoint. */
  let walFrames = 0;
  /** The WAL outgrew waiting for a restart: the next commit checkpoints on this thread. */
  let checkpointAfterCommit = false;
  /** Commits when a restart last failed (a reader in another process): no new wait before RESTART_RETRY_COMMITS more. */
  let restartFailedAt = Number.NEGATIVE_INFINITY;
  // A private in-memory database has no WAL to checkpoint.
  let checkpointerFailed = filename === ':memory:' || filename.startsWith('file:');

  function release(): void {
    holding = false;
    if (queue.length > 0 && !flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }

  function onCheckpoint(result: CheckpointResult | null): void {
    if (closed || !checkpointer) return;
    walFrames = result?.log ?? walFrames;
    if (!holding && result && result.log >= forceFrames) {
      checkpointAfterCommit = true;
      return;
    }
    if (holding) {
      // Every frame is back in the database: the next commit restarts the WAL.
      if (result?.busy !== 0 || result.checkpointed < result.log) restartFailedAt = commits;
      release();
      return;
    }
    if (result && result.log >= restartFrames && commits - restartFailedAt >= RESTART_RETRY_COMMITS) {
      holding = true;
      checkpointer.request();
    }
  }

  function onCheckpointerExit(): void {
    checkpointer = undefined;
    checkpointerFailed = true;
    if (!closed) {
      db.pragma('synchronous = NORMAL');
      db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
      db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    }
    if (holding) release();
  }

  function afterCommit(): void {
    commits += 1;
    if (checkpointerFailed || closed) return;
    if (checkpointAfterCommit) {
      db.pragma('synchronous = NORMAL');
      try {
        const result = checkpointHere.get() as CheckpointResult | undefined;
        // Busy (another connection's checkpoint): try again after the next commit.
        if (result && result.busy === 0 && result.checkpointed === result.log) {
          checkpointAfterCommit = false;
          walFrames = 0;
        }
      } catch {
        // Tried again after the next commit.
      } finally {
        db.pragma('synchronous = OFF');
      }
    }
    rows = totalChanges.get() as number;
    // Close to a restart, checkpoint after every commit: the wait for the last one is then short.
    const closeToRestart = walFrames >= restartFrames - approachFrames;
    if (!closeToRestart && commits % cadence.commits !== 0 && rows - rowsAtRequest < cadence.rows) return;
    rowsAtRequest = rows;
    if (!checkpointer) {
      if (commits < CHECKPOINTER_AFTER_COMMITS && rows < CHECKPOINTER_AFTER_ROWS) return;
      checkpointer = startCheckpointer(filename, onCheckpointerExit, onCheckpoint);
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
      // Closing the last connection checkpoints and deletes the WAL: with syncs.
      db.pragma('synchronous = NORMAL');
      db.close();
    },
  };
}
