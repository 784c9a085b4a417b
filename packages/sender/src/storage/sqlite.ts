import Database from 'better-sqlite3';
import { SenderError } from '../errors';
import { checkPruneOptions, checkStatsInput } from './common';
import { createLister, filters } from './sqlite/listing';
import { createSqliteQueue } from './sqlite/queue';
import { endpointParams, prepareStatements } from './sqlite/statements';
import { type SqlRow, toAttempt, toDelivery, toEndpoint, toMessage, toNotification } from './sql-rows';
import { SQLITE_MIGRATIONS, type SqliteMigration } from './sqlite-migrations';
import { AUTO_CHECKPOINT_PAGES, JOURNAL_SIZE_LIMIT, createSqliteWriter } from './sqlite-writer';
import type {
  AttemptQuery,
  ClaimInput,
  ClaimNotificationsInput,
  ClaimedDelivery,
  DeliveryQuery,
  EndpointPatch,
  EndpointQuery,
  EnqueueInput,
  EnqueueResult,
  FinishAndClaimResult,
  FinishAttemptInput,
  FinishAttemptResult,
  MessageQuery,
  NewEndpoint,
  PruneOptions,
  PruneResult,
  ReplaceSecretInput,
  RotateSecretInput,
  SettleNotificationInput,
  StatsOptions,
  Storage,
  StoragePage,
  StorageStats,
  StoredAttempt,
  StoredEndpoint,
  StoredNotification,
  StoredSecret,
} from './types';

/** Options of {@link createSqliteStorage}. */
export interface SqliteStorageOptions {
  /** Database file; `:memory:` for a private in-memory database. */
  filename: string;
  /** How long a write waits for another process's lock before failing, in milliseconds. @default 5000 */
  busyTimeoutMs?: number;
  /** Extra migrations to run after the built-in ones (versions must be higher). @default [] */
  migrations?: readonly SqliteMigration[];
  /**
   * How large the write-ahead log may grow under a steady stream of writes, in MiB, before writes
   * wait a few milliseconds for it to start over from the beginning (plus the commits under way
   * when it is reached, also while other processes write to the same file: give them the same
   * limit). Budget this much disk beside the database. @default 128
   */
  walLimitMiB?: number;
}

/** Runs every migration newer than the recorded version, each in its own transaction. */
function migrate(db: Database.Database, migrations: readonly SqliteMigration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = db.prepare('SELECT version FROM schema_migrations');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  // IMMEDIATE: two processes opening a fresh file at once must not both run step 1.
  db.transaction(() => {
    const done = new Set((applied.all() as Array<{ version: number }>).map((row) => row.version));
    for (const migration of sorted) {
      if (done.has(migration.version)) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    }
  }).immediate();
}

/** A driver error as a typed one (`conflict` for a duplicate id, else `storage_error`). */
function typed(error: unknown): SenderError {
  if (SenderError.isInstance(error)) return error;
  const code = (error as { code?: string }).code ?? '';
  if (code.startsWith('SQLITE_CONSTRAINT_UNIQUE') || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new SenderError('conflict', 'A record with this id already exists.', { cause: error });
  }
  return new SenderError('storage_error', `SQLite failed: ${(error as Error).message}`, { cause: error });
}

/**
 * Durable storage in one SQLite file (better-sqlite3): WAL mode, a busy timeout, versioned
 * migrations in `schema_migrations`, prepared statements. Several processes may share the file;
 * each write is one `BEGIN IMMEDIATE` transaction. It is the sender's default storage
 * (`./hooks.db`, or the `database` option); create it yourself for its options.
 *
 * @param options - The file name, and optionally the busy timeout and extra migrations.
 * @returns The storage, migrated to the latest schema; the sender closes it only if it made it.
 * @throws {@link SenderError} `invalid_option` without a file name; `storage_error` when the file
 *   cannot be opened or migrated.
 *
 * @example
 * <!-- prelude: import { events } from './events.js'; -->
 * ```ts
 * import { createSender, createSqliteStorage } from '@hooks/sender';
 *
 * const storage = createSqliteStorage({ filename: '/var/lib/app/hooks.db', busyTimeoutMs: 10_000 });
 * const sender = createSender({ catalog: events, storage });
 * // On shutdown: the sender leaves a storage you passed open.
 * await sender.close();
 * await storage.close();
 * ```
 */
export function createSqliteStorage(options: SqliteStorageOptions): Storage {
  if (typeof options?.filename !== 'string' || options.filename.length === 0) {
    throw new SenderError('invalid_option', 'createSqliteStorage needs a filename (or ":memory:").');
  }
  const walLimitMiB = options.walLimitMiB ?? 128;
  const busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
  if (typeof walLimitMiB !== 'number' || !Number.isFinite(walLimitMiB) || walLimitMiB < 1) {
    throw new SenderError('invalid_option', 'createSqliteStorage: walLimitMiB must be a number of MiB, at least 1.');
  }
  let db: Database.Database;
  try {
    db = new Database(options.filename);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    // Durability: NORMAL in WAL mode is SQLite's recommended setting for WAL. A commit is appended
    // to the WAL before its promise settles, so it survives a process crash (the crash test
    // SIGKILLs a sender mid-run); only an OS crash or power loss may roll back the commits since
    // the WAL was last synced (at each checkpoint). FULL would fsync on every commit; OFF is
    // never used: the attempt log and every state change must outlive the process.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // 64 MiB page cache (default 2 MiB): the hot index pages of deliveries and attempts stay in
    // memory instead of being re-read through the WAL index on every insert. A ceiling, not an
    // allocation: a small database uses little.
    db.pragma('cache_size = -65536');
    // Checkpoint every 4,000 WAL pages (16 MiB) instead of 1,000: each checkpoint costs two fsyncs
    // and copies every page changed since the last one, and index pages change over and over
    // under load, so fewer checkpoints copy far fewer pages. Under sustained load a worker thread
    // takes checkpoints over (see below). After a checkpoint the WAL file is truncated back to
    // 32 MiB at most.
    db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    // Every write of a group commit runs in its own savepoint, and a savepoint keeps the original
    // of each page it changes in a statement journal: a temporary FILE by default, written and
    // read back on every finish batch (measured: it doubled the cost of finishing attempts). In
    // memory it costs a few pages of RAM per transaction.
    db.pragma('temp_store = MEMORY');
    migrate(db, [...SQLITE_MIGRATIONS, ...(options.migrations ?? [])]);
  } catch (error) {
    throw new SenderError('storage_error', `Could not open the SQLite database: ${(error as Error).message}`, { cause: error });
  }

  const statements = prepareStatements(db);

  const list = createLister(db);

  const writer = createSqliteWriter(db, options.filename, typed, { walLimitPages: walLimitMiB * 256, busyTimeoutMs });
  /** Runs `work` atomically (reads directly, writes in the next group commit) and maps driver errors to typed ones. */
  const guard = <T>(work: () => T, write = true): Promise<T> => writer.run(work, write);

  const { getEndpointRow, enqueueSync, claimSync, finishSync } = createSqliteQueue(statements);

  const storage: Storage = {
    kind: 'sqlite',

    createEndpoint(endpoint: NewEndpoint, secret: StoredSecret) {
      return guard(() => {
        const stored: StoredEndpoint = { ...endpoint, consecutiveFailures: 0, pausedUntil: null, updatedAt: endpoint.createdAt };
        statements.insertEndpoint.run(endpointParams(stored));
        statements.insertSecret.run(stored.id, secret.secret, secret.createdAt, null);
        return getEndpointRow(stored.id) as StoredEndpoint;
      });
    },

    getEndpoint(id) {
      return guard(() => getEndpointRow(id), false);
    },

    updateEndpoint(id: string, patch: EndpointPatch, now: number) {
      return guard(() => {
        const current = getEndpointRow(id);
        if (!current) return undefined;
        const next: StoredEndpoint = { ...current };
        for (const [key, value] of Object.entries(patch)) {
          if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
        }
        next.updatedAt = now;
        statements.updateEndpoint.run(endpointParams(next));
        if (current.fifo !== next.fifo) statements.setOpenFifo.run({ id, fifo: next.fifo ? 1 : 0 });
        if (current.enabled && !next.enabled) statements.parkEndpoint.run(id);
        if (!current.enabled && next.enabled) statements.unparkEndpoint.run({ id, now });
        return getEndpointRow(id);
      });
    },

    deleteEndpoint(id) {
      return guard(() => {
        statements.deleteEndpointAttempts.run(id);
        statements.deleteEndpointDeliveries.run(id);
        return statements.deleteEndpoint.run(id).changes > 0;
      });
    },

    listEndpoints(query: EndpointQuery) {
      return guard(() => {
        const { where, params } = filters(query, { tenant: 'tenant' });
        const { rows, nextCursor } = list('endpoints', where, params, query.limit, query.cursor, false);
        return { items: rows.map(toEndpoint), nextCursor };
      }, false);
    },

    listSecrets(endpointId) {
      return guard(() => {
        // Called before every attempt: an endpoint always has a secret, so the existence check
        // (a second lookup) is only needed when none came back.
        const rows = statements.listSecrets.all(endpointId) as SqlRow[];
        if (rows.length === 0 && !statements.endpointExists.get(endpointId)) return undefined;
        return rows.map((row) => ({
          secret: row.secret as string,
          createdAt: row.created_at as number,
          expiresAt: row.expires_at as number | null,
        }));
      }, false);
    },

    rotateSecret(input: RotateSecretInput) {
      return guard(() => {
        if (!getEndpointRow(input.endpointId)) return false;
        statements.expireCurrentSecret.run(input.previousExpiresAt, input.endpointId);
        statements.pruneSecrets.run(input.endpointId, input.now);
        statements.insertSecret.run(input.endpointId, input.secret, input.now, null);
        return true;
      });
    },

    replaceSecret(input: ReplaceSecretInput) {
      return guard(() => statements.replaceSecret.run(input).changes > 0);
    },

    enqueueMessage(input: EnqueueInput): Promise<EnqueueResult> {
      return guard(() => enqueueSync(input));
    },

    enqueueMessages(inputs: readonly EnqueueInput[]): Promise<EnqueueResult[]> {
      // One transaction (the group commit's savepoint makes it all or nothing).
      return guard(() => inputs.map(enqueueSync));
    },

    getMessage(id) {
      return guard(() => {
        const row = statements.getMessage.get(id) as SqlRow | undefined;
        return row ? toMessage(row) : undefined;
      }, false);
    },

    listMessages(query: MessageQuery) {
      return guard(() => {
        const { where, params } = filters(query, { tenant: 'tenant', type: 'type', since: 'created_at >=', until: 'created_at <' });
        const { rows, nextCursor } = list('messages', where, params, query.limit, query.cursor, true);
        return { items: rows.map(toMessage), nextCursor };
      }, false);
    },

    claimDeliveries(input: ClaimInput): Promise<ClaimedDelivery[]> {
      return guard(() => claimSync(input));
    },

    finishAttemptsAndClaim(inputs: readonly FinishAttemptInput[], claim: ClaimInput): Promise<FinishAndClaimResult> {
      // One transaction: the results, then a claim that sees them.
      return guard(() => {
        const endpoints = new Map<string, StoredEndpoint | undefined>();
        const results = inputs.map((input) => finishSync(input, endpoints));
        return { results, claimed: claimSync(claim, endpoints) };
      });
    },

    finishAttempt(input: FinishAttemptInput): Promise<FinishAttemptResult> {
      return guard(() => finishSync(input));
    },

    finishAttempts(inputs: readonly FinishAttemptInput[]): Promise<FinishAttemptResult[]> {
      // One transaction for the batch, applied in order.
      return guard(() => {
        const endpoints = new Map<string, StoredEndpoint | undefined>();
        return inputs.map((input) => finishSync(input, endpoints));
      });
    },

    releaseDeliveries(owner, options) {
      return guard(() => {
        const next = options.nextAttemptAt ?? null;
        if (!options.ids) return statements.releaseAll.run({ owner, next, now: options.now }).changes;
        let released = 0;
        for (const id of options.ids) released += statements.releaseOne.run({ owner, next, now: options.now, id }).changes;
        return released;
      });
    },

    getDelivery(id) {
      return guard(() => {
        const row = statements.getDelivery.get(id) as SqlRow | undefined;
        return row ? toDelivery(row) : undefined;
      }, false);
    },

    listDeliveries(query: DeliveryQuery) {
      return guard(() => {
        const { where, params } = filters(query, {
          tenant: 'tenant',
          endpointId: 'endpoint_id',
          messageId: 'message_id',
          status: 'status',
          type: 'type',
          since: 'created_at >=',
          until: 'created_at <',
        });
        const { rows, nextCursor } = list('deliveries', where, params, query.limit, query.cursor, true);
        return { items: rows.map(toDelivery), nextCursor };
      }, false);
    },

    retryDelivery(id, now) {
      return guard(() => {
        statements.requeue.run({ id, now });
        const row = statements.getDelivery.get(id) as SqlRow | undefined;
        return row ? toDelivery(row) : undefined;
      });
    },

    recoverDeliveries(endpointId, since, now) {
      return guard(() => statements.recover.run({ endpointId, since, now }).changes);
    },

    listAttempts(query: AttemptQuery): Promise<StoragePage<StoredAttempt>> {
      return guard(() => {
        const { where, params } = filters(query, {
          deliveryId: 'delivery_id',
          endpointId: 'endpoint_id',
          success: 'success',
          since: 'started_at >=',
          until: 'started_at <',
        });
        if (query.messageId !== undefined) {
          // No attempts index on message_id (one less write per attempt): go through the message's deliveries.
          where.push('delivery_id IN (SELECT id FROM deliveries WHERE message_id = @messageId)');
          params.messageId = query.messageId;
        }
        const { rows, nextCursor } = list('attempts', where, params, query.limit, query.cursor, true);
        return { items: rows.map(toAttempt), nextCursor };
      }, false);
    },

    async claimNotifications(input: ClaimNotificationsInput): Promise<StoredNotification[]> {
      if (input.limit < 1 || input.types.length === 0) return [];
      // A read first: a poll that finds nothing due costs no write transaction.
      const due = await guard(() => statements.dueNotifications.all({ now: input.now, types: JSON.stringify(input.types), limit: 1 }).length > 0, false);
      if (!due) return [];
      return guard(() => {
        const ids = (statements.dueNotifications.all({ now: input.now, types: JSON.stringify(input.types), limit: input.limit }) as Array<{ id: string }>).map((row) => row.id);
        if (ids.length === 0) return [];
        const rows = statements.leaseNotifications.all({ until: input.now + input.leaseMs, owner: input.owner, ids: JSON.stringify(ids) }) as SqlRow[];
        return rows.map(toNotification).sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
      });
    },

    settleNotification(input: SettleNotificationInput) {
      return guard(() => {
        if (input.delivered) return statements.deliveredNotification.run({ id: input.id, owner: input.owner, now: input.now }).changes > 0;
        return statements.retryNotification.run({ id: input.id, owner: input.owner, retryAt: input.retryAt ?? input.now, error: input.error?.slice(0, 500) ?? null }).changes > 0;
      });
    },

    stats(now: number, options?: StatsOptions): Promise<StorageStats> {
      return guard(() => {
        const limit = checkStatsInput(now, options);
        const row = statements.stats.get({ now, limit }) as { due: number; in_flight: number; later: number; oldest: number | null };
        return {
          due: row.due,
          scheduled: Math.max(0, row.later - row.in_flight),
          inFlight: Math.min(row.in_flight, limit),
          oldestDueAt: row.oldest !== null && row.oldest <= now ? row.oldest : null,
        };
      }, false);
    },

    async migrate() {
      if (writer.closed) throw new SenderError('storage_error', 'The storage is closed.');
      try {
        migrate(db, [...SQLITE_MIGRATIONS, ...(options.migrations ?? [])]);
      } catch (error) {
        throw typed(error);
      }
    },

    async prune(pruneOptions: PruneOptions): Promise<PruneResult> {
      const { olderThan, batchSize, maxBatches } = checkPruneOptions(pruneOptions);
      const total: PruneResult = { messages: 0, deliveries: 0, attempts: 0, notifications: 0, batches: 0 };
      while (total.batches < maxBatches) {
        // One short write transaction per batch: dispatchers keep committing between batches.
        const batch = await guard(() => {
          const ids = (statements.prunableMessages.all({ olderThan, limit: batchSize }) as Array<{ id: string }>).map((row) => row.id);
          if (ids.length === 0) return { messages: 0, deliveries: 0, attempts: 0, picked: 0 };
          const list = JSON.stringify(ids);
          const attempts = statements.pruneAttempts.run(list).changes;
          const deliveries = statements.pruneDeliveries.run(list).changes;
          const messages = statements.pruneMessages.run(list).changes;
          return { messages, deliveries, attempts, picked: ids.length };
        });
        total.batches++;
        total.messages += batch.messages;
        total.deliveries += batch.deliveries;
        total.attempts += batch.attempts;
        if (batch.picked < batchSize) break;
      }
      total.notifications = await guard(() => statements.pruneNotifications.run(olderThan).changes);
      return total;
    },

    async close() {
      await writer.close();
    },
  };
  return storage;
}
