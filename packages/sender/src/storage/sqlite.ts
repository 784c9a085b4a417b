import { createId } from '@hooks/core/internal';
import Database from 'better-sqlite3';
import { SenderError } from '../errors';
import { checkLimit, checkPruneOptions, checkStatsInput, copyEndpoint, type DeliveryKept, decodeCursor, deliveryAfterAttempt, encodeCursor, notificationsFor } from './common';
import { type SqlRow, json, toAttempt, toDelivery, toEndpoint, toMessage, toNotification } from './sql-rows';
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
  StoredDelivery,
  StoredEndpoint,
  StoredMessage,
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

type SqlValue = string | number | null;

function endpointParams(endpoint: StoredEndpoint): Record<string, SqlValue> {
  return {
    id: endpoint.id,
    tenant: endpoint.tenant,
    url: endpoint.url,
    name: endpoint.name,
    description: endpoint.description,
    events: JSON.stringify(endpoint.events),
    headers: JSON.stringify(endpoint.headers),
    profile: endpoint.profile,
    metadata: JSON.stringify(endpoint.metadata),
    enabled: endpoint.enabled ? 1 : 0,
    disabled_reason: endpoint.disabledReason,
    consecutive_failures: endpoint.consecutiveFailures,
    rate_limit: endpoint.rateLimit,
    fifo: endpoint.fifo ? 1 : 0,
    paused_until: endpoint.pausedUntil,
    created_at: endpoint.createdAt,
    updated_at: endpoint.updatedAt,
  };
}

/**
 * `Storage.stats` in SQLite (parameters `@now`, `@limit`). Every count reads at most `@limit`
 * entries of a partial index (never the table), so a scrape costs the same beside a backlog of
 * millions. Leased deliveries (few: the dispatchers' concurrency) sit in the claim index at their
 * lease end (due_at > now): they are counted apart, in full, and taken out of "later".
 */
export const SQLITE_STATS_QUERY = `SELECT
  (SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE due_at IS NOT NULL AND due_at <= @now LIMIT @limit)) AS due,
  (SELECT count(*) FROM deliveries WHERE status = 'in_flight' AND lease_until > @now) AS in_flight,
  (SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE due_at IS NOT NULL AND due_at > @now
    LIMIT @limit + (SELECT count(*) FROM deliveries WHERE status = 'in_flight' AND lease_until > @now))) AS later,
  (SELECT min(due_at) FROM deliveries WHERE due_at IS NOT NULL) AS oldest`;

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

  const statements = {
    insertEndpoint: db.prepare(`INSERT INTO endpoints (id, tenant, url, name, description, events, headers, profile, metadata, enabled, disabled_reason,
      consecutive_failures, rate_limit, fifo, paused_until, created_at, updated_at) VALUES (@id, @tenant, @url, @name, @description, @events, @headers,
      @profile, @metadata, @enabled, @disabled_reason, @consecutive_failures, @rate_limit, @fifo, @paused_until, @created_at, @updated_at)`),
    updateEndpoint: db.prepare(`UPDATE endpoints SET url = @url, name = @name, description = @description, events = @events, headers = @headers,
      profile = @profile, metadata = @metadata, enabled = @enabled, disabled_reason = @disabled_reason, consecutive_failures = @consecutive_failures,
      rate_limit = @rate_limit, fifo = @fifo, paused_until = @paused_until, updated_at = @updated_at WHERE id = @id`),
    getEndpoint: db.prepare('SELECT * FROM endpoints WHERE id = ?'),
    endpointExists: db.prepare('SELECT 1 FROM endpoints WHERE id = ?'),
    // A disabled endpoint's waiting deliveries leave the claim index (due_at NULL) so they cost
    // nothing per claim however many there are; enabling puts them back.
    parkEndpoint: db.prepare(`UPDATE deliveries SET due_at = NULL WHERE endpoint_id = ? AND status = 'pending'`),
    // Enabling resumes waiting deliveries at once (a retry planned 24 h away is due now).
    unparkEndpoint: db.prepare(
      `UPDATE deliveries SET next_attempt_at = min(next_attempt_at, @now), due_at = min(next_attempt_at, @now) WHERE endpoint_id = @id AND status = 'pending'`,
    ),
    deleteEndpoint: db.prepare('DELETE FROM endpoints WHERE id = ?'),
    deleteEndpointAttempts: db.prepare('DELETE FROM attempts WHERE endpoint_id = ?'),
    deleteEndpointDeliveries: db.prepare('DELETE FROM deliveries WHERE endpoint_id = ?'),
    insertSecret: db.prepare('INSERT INTO endpoint_secrets (endpoint_id, secret, created_at, expires_at) VALUES (?, ?, ?, ?)'),
    listSecrets: db.prepare('SELECT secret, created_at, expires_at FROM endpoint_secrets WHERE endpoint_id = ? ORDER BY (expires_at IS NOT NULL), created_at DESC, seq DESC'),
    expireCurrentSecret: db.prepare('UPDATE endpoint_secrets SET expires_at = ? WHERE endpoint_id = ? AND expires_at IS NULL'),
    pruneSecrets: db.prepare('DELETE FROM endpoint_secrets WHERE endpoint_id = ? AND expires_at IS NOT NULL AND expires_at <= ?'),
    replaceSecret: db.prepare('UPDATE endpoint_secrets SET secret = @to WHERE endpoint_id = @endpointId AND secret = @from'),
    insertNotification: db.prepare(`INSERT INTO notifications (id, type, endpoint_id, tenant, endpoint, failures, reason, created_at, due_at, attempts)
      VALUES (@id, @type, @endpointId, @tenant, @endpoint, @failures, @reason, @createdAt, @createdAt, 0)`),
    dueNotifications: db.prepare(`SELECT id FROM notifications WHERE due_at IS NOT NULL AND due_at <= @now AND type IN (SELECT value FROM json_each(@types))
      ORDER BY due_at, seq LIMIT @limit`),
    leaseNotifications: db.prepare(`UPDATE notifications SET due_at = @until, lease_owner = @owner, attempts = attempts + 1
      WHERE id IN (SELECT value FROM json_each(@ids)) RETURNING *`),
    deliveredNotification: db.prepare(`UPDATE notifications SET due_at = NULL, lease_owner = NULL, delivered_at = @now, last_error = NULL
      WHERE id = @id AND lease_owner = @owner AND due_at IS NOT NULL`),
    retryNotification: db.prepare(`UPDATE notifications SET due_at = @retryAt, lease_owner = NULL, last_error = @error
      WHERE id = @id AND lease_owner = @owner AND due_at IS NOT NULL`),
    prunableMessages: db.prepare(`SELECT m.id FROM messages m WHERE m.created_at < @olderThan
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status IN ('pending', 'in_flight')) ORDER BY m.created_at LIMIT @limit`),
    pruneAttempts: db.prepare('DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_id IN (SELECT value FROM json_each(?)))'),
    pruneDeliveries: db.prepare('DELETE FROM deliveries WHERE message_id IN (SELECT value FROM json_each(?))'),
    pruneMessages: db.prepare('DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))'),
    pruneNotifications: db.prepare('DELETE FROM notifications WHERE due_at IS NULL AND created_at < ?'),
    messageByKey: db.prepare('SELECT * FROM messages WHERE tenant = ? AND idempotency_key = ?'),
    getMessage: db.prepare('SELECT * FROM messages WHERE id = ?'),
    insertMessage: db.prepare(
      'INSERT INTO messages (id, tenant, type, payload, idempotency_key, created_at, trace_context) VALUES (@id, @tenant, @type, @payload, @idempotencyKey, @createdAt, @traceContext)',
    ),
    fanOutTargets: db.prepare('SELECT id, events, fifo FROM endpoints WHERE tenant = ? AND enabled = 1 ORDER BY seq'),
    // Every delivery of a message in one statement: one JSON array of [id, endpoint, fifo]
    // triples, read in one pass (two arrays joined on their keys re-read one array per row: O(n²)).
    insertDeliveries: db.prepare(`INSERT INTO deliveries (id, message_id, endpoint_id, tenant, type, status, attempts, next_attempt_at, retry_base_attempts,
      retry_base_at, due_at, created_at, updated_at, fifo)
      SELECT p.value ->> 0, @messageId, p.value ->> 1, @tenant, @type, 'pending', 0, @now, 0, @createdAt, @now, @now, @now, p.value ->> 2
      FROM json_each(@pairs) p ORDER BY p.key`),
    // An endpoint's FIFO setting changed: its open deliveries follow (deliveries_fifo_open).
    setOpenFifo: db.prepare('UPDATE deliveries SET fifo = @fifo WHERE endpoint_id = @id AND next_attempt_at IS NOT NULL AND fifo <> @fifo'),
    deliveriesOfMessage: db.prepare('SELECT * FROM deliveries WHERE message_id = ? ORDER BY seq'),
    getDelivery: db.prepare('SELECT * FROM deliveries WHERE id = ?'),
    fullEndpoints: db.prepare(`SELECT endpoint_id FROM deliveries WHERE status = 'in_flight' AND lease_until > ? GROUP BY endpoint_id HAVING count(*) >= ?`),
    inFlightCounts: db.prepare(`SELECT endpoint_id, count(*) AS n FROM deliveries WHERE status = 'in_flight' AND lease_until > ? GROUP BY endpoint_id`),
    claimScan: db.prepare(`SELECT d.*, m.payload AS m_payload, m.idempotency_key AS m_idempotency_key, m.created_at AS m_created_at, m.trace_context AS m_trace_context
      FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id JOIN messages m ON m.id = d.message_id
      WHERE d.due_at IS NOT NULL AND d.due_at <= @now
        AND e.enabled = 1 AND (e.paused_until IS NULL OR e.paused_until <= @now)
        AND (e.rate_limit IS NULL OR e.rate_next_at IS NULL OR e.rate_next_at <= @now)
        AND d.endpoint_id NOT IN (SELECT value FROM json_each(@full))
        AND (e.fifo = 0 OR d.seq = (SELECT min(x.seq) FROM deliveries x INDEXED BY deliveries_fifo_open WHERE x.endpoint_id = d.endpoint_id AND x.fifo = 1 AND x.next_attempt_at IS NOT NULL))
      ORDER BY d.due_at, d.seq LIMIT @scan`),
    signingSecrets: db.prepare(
      'SELECT secret, created_at, expires_at FROM endpoint_secrets WHERE endpoint_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY (expires_at IS NOT NULL), created_at DESC, seq DESC',
    ),
    takeRate: db.prepare('UPDATE endpoints SET rate_next_at = @next WHERE id = @id'),
    // After an attempt of a rate-limited endpoint: the next one not before its start + 1000 / rate.
    rateAfterStart: db.prepare('UPDATE endpoints SET rate_next_at = max(coalesce(rate_next_at, 0), @started + 1000.0 / rate_limit) WHERE id = @id AND rate_limit IS NOT NULL'),
    // One statement leases a whole claim round (the ids as a JSON array).
    // By rowid (the claim scan read each delivery's seq): no lookup in the id index per row.
    lease: db.prepare(`UPDATE deliveries SET status = 'in_flight', lease_owner = @owner, lease_until = @until, due_at = @until, updated_at = @now
      WHERE seq IN (SELECT value FROM json_each(@seqs))`),
    insertAttempt: db.prepare(`INSERT INTO attempts (id, delivery_id, message_id, endpoint_id, number, started_at, duration_ms, status_code, response_headers,
      response_body, error_code, success) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    finishDelivery: db.prepare(`UPDATE deliveries SET status = @status, next_attempt_at = @next, due_at = @next, attempts = attempts + 1, lease_owner = NULL,
      lease_until = NULL, last_status = @lastStatus, last_error = @lastError, updated_at = @now
      WHERE id = @id AND status = 'in_flight' AND lease_owner = @owner
      RETURNING tenant, type, attempts, retry_base_attempts, retry_base_at, created_at`),
    // The same by rowid and without RETURNING (a third of the statement's cost), for deliveries
    // this storage claimed: it kept their seq and the columns RETURNING would read, which cannot
    // change while the lease is held. The id is still compared, so a stale seq finishes nothing.
    finishDeliveryBySeq: db.prepare(`UPDATE deliveries SET status = ?, next_attempt_at = ?, due_at = ?, attempts = attempts + 1, lease_owner = NULL,
      lease_until = NULL, last_status = ?, last_error = ?, updated_at = ?
      WHERE seq = ? AND id = ? AND status = 'in_flight' AND lease_owner = ?`),
    releaseAll: db.prepare(`UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL,
      next_attempt_at = coalesce(@next, next_attempt_at), due_at = coalesce(@next, next_attempt_at), updated_at = @now
      WHERE status = 'in_flight' AND lease_owner = @owner`),
    releaseOne: db.prepare(`UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL,
      next_attempt_at = coalesce(@next, next_attempt_at), due_at = coalesce(@next, next_attempt_at), updated_at = @now
      WHERE status = 'in_flight' AND lease_owner = @owner AND id = @id`),
    // Reopening a finished delivery takes the endpoint's FIFO setting of now (deliveries_fifo_open).
    requeue: db.prepare(`UPDATE deliveries SET status = 'pending', next_attempt_at = @now, due_at = @now, lease_owner = NULL, lease_until = NULL,
      fifo = (SELECT e.fifo FROM endpoints e WHERE e.id = deliveries.endpoint_id), retry_base_attempts = attempts, retry_base_at = @now, updated_at = @now WHERE id = @id AND status IN ('failed', 'pending')`),
    stats: db.prepare(SQLITE_STATS_QUERY),
    recover: db.prepare(`UPDATE deliveries SET status = 'pending', next_attempt_at = @now, due_at = @now, lease_owner = NULL, lease_until = NULL,
      fifo = (SELECT e.fifo FROM endpoints e WHERE e.id = deliveries.endpoint_id), retry_base_attempts = attempts, retry_base_at = @now, updated_at = @now WHERE endpoint_id = @endpointId AND status = 'failed' AND created_at >= @since`),
  };

  const listStatements = new Map<string, Database.Statement>();
  function list(table: string, where: string[], params: Record<string, SqlValue>, limit: number, cursor: string | undefined, descending: boolean): { rows: SqlRow[]; nextCursor: string | null } {
    checkLimit(limit);
    const after = decodeCursor(cursor);
    const clauses = [...where];
    if (after !== undefined) clauses.push(descending ? 'seq < @after' : 'seq > @after');
    const sql = `SELECT * FROM ${table}${clauses.length ? ` WHERE ${clauses.join(' AND ')}` : ''} ORDER BY seq ${descending ? 'DESC' : 'ASC'} LIMIT @limit`;
    let statement = listStatements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      listStatements.set(sql, statement);
    }
    const rows = statement.all({ ...params, ...(after !== undefined ? { after } : {}), limit: limit + 1 }) as SqlRow[];
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const last = rows[rows.length - 1];
    return { rows, nextCursor: more && last ? encodeCursor(last.seq as number) : null };
  }

  function filters(query: object, columns: Record<string, string>): { where: string[]; params: Record<string, SqlValue> } {
    const where: string[] = [];
    const params: Record<string, SqlValue> = {};
    for (const [key, column] of Object.entries(columns)) {
      const value = (query as Record<string, unknown>)[key];
      if (value === undefined) continue;
      const [name, operator] = column.split(' ');
      where.push(`${name} ${operator ?? '='} @${key}`);
      params[key] = typeof value === 'boolean' ? (value ? 1 : 0) : (value as SqlValue);
    }
    return { where, params };
  }

  function typed(error: unknown): SenderError {
    if (SenderError.isInstance(error)) return error;
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_CONSTRAINT_UNIQUE') || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      return new SenderError('conflict', 'A record with this id already exists.', { cause: error });
    }
    return new SenderError('storage_error', `SQLite failed: ${(error as Error).message}`, { cause: error });
  }

  const writer = createSqliteWriter(db, options.filename, typed, { walLimitPages: walLimitMiB * 256, busyTimeoutMs });
  /** Runs `work` atomically (reads directly, writes in the next group commit) and maps driver errors to typed ones. */
  const guard = <T>(work: () => T, write = true): Promise<T> => writer.run(work, write);

  /**
   * Rowids of the deliveries this storage leased and has not finished yet, by delivery id: a
   * lease and a finish address the row by rowid instead of through the id index. Only a hint
   * (the finish still compares the id, owner and status); bounded, and missing entries fall back
   * to the id.
   */
  const claimedSeqs = new Map<string, { seq: number; delivery: StoredDelivery }>();
  const CLAIMED_SEQS_MAX = 100_000;

  /**
   * Parsed `events` and `headers` texts (flat: an array of strings, an object of strings), so
   * that the endpoint reads of every claim and batch of results parse each text once; every
   * endpoint returned still gets its own copies.
   */
  const parsedColumns = new Map<string, unknown>();
  function parsedCopy(text: unknown): unknown {
    if (typeof text !== 'string') return text;
    let parsed = parsedColumns.get(text);
    if (parsed === undefined) {
      parsed = json<unknown>(text, undefined);
      if (parsed === undefined || parsed === null || typeof parsed !== 'object') return text;
      if (parsedColumns.size >= 1000) parsedColumns.clear();
      parsedColumns.set(text, parsed);
    }
    return Array.isArray(parsed) ? [...parsed] : { ...(parsed as object) };
  }

  function getEndpointRow(id: string): StoredEndpoint | undefined {
    const row = statements.getEndpoint.get(id) as SqlRow | undefined;
    if (!row) return undefined;
    row.events = parsedCopy(row.events);
    row.headers = parsedCopy(row.headers);
    if (row.metadata === '{}') row.metadata = {};
    return toEndpoint(row);
  }

  /** copyEndpoint, without a structuredClone for the usual empty metadata (a new `{}` all the same). */
  function copyStoredEndpoint(endpoint: StoredEndpoint): StoredEndpoint {
    const { metadata } = endpoint;
    if (Object.getPrototypeOf(metadata) !== Object.prototype) return copyEndpoint(endpoint);
    for (const _ in metadata) return copyEndpoint(endpoint);
    return { ...endpoint, events: [...endpoint.events], headers: { ...endpoint.headers }, metadata: {} };
  }

  function enqueueSync(input: EnqueueInput): EnqueueResult {
    const { message, now } = input;
    if (message.idempotencyKey !== null) {
      const existing = statements.messageByKey.get(message.tenant, message.idempotencyKey) as SqlRow | undefined;
      if (existing) {
        const deliveries = (statements.deliveriesOfMessage.all(existing.id) as SqlRow[]).map(toDelivery);
        return { message: toMessage(existing), deliveries, created: false };
      }
    }
    let targets: string[];
    const fifo: number[] = [];
    if (input.endpointId !== undefined) {
      const endpoint = getEndpointRow(input.endpointId);
      targets = endpoint ? [input.endpointId] : [];
      if (endpoint) fifo.push(endpoint.fifo ? 1 : 0);
    } else {
      targets = [];
      for (const row of statements.fanOutTargets.all(message.tenant) as Array<{ id: string; events: string; fifo: number }>) {
        const events = json<string[]>(row.events, []);
        if (events.length === 0 || events.includes(message.type)) {
          targets.push(row.id);
          fifo.push(row.fifo);
        }
      }
    }
    const traceContext = typeof message.traceContext === 'string' ? message.traceContext : null;
    statements.insertMessage.run({ id: message.id, tenant: message.tenant, type: message.type, payload: message.payload, idempotencyKey: message.idempotencyKey, createdAt: message.createdAt, traceContext });
    const stored: StoredMessage = { id: message.id, tenant: message.tenant, type: message.type, payload: message.payload, idempotencyKey: message.idempotencyKey, createdAt: message.createdAt };
    if (traceContext !== null) stored.traceContext = traceContext;
    if (targets.length === 0) return { message: stored, deliveries: [], created: true };
    const ids = targets.map(() => createId('dlv', now));
    statements.insertDeliveries.run({ messageId: message.id, tenant: message.tenant, type: message.type, now, createdAt: message.createdAt, pairs: JSON.stringify(targets.map((endpointId, index) => [ids[index], endpointId, fifo[index]])) });
    const deliveries: StoredDelivery[] = targets.map((endpointId, index) => ({
      id: ids[index] as string,
      messageId: message.id,
      endpointId,
      tenant: message.tenant,
      type: message.type,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      leaseOwner: null,
      leaseUntil: null,
      lastStatus: null,
      lastError: null,
      retryBaseAttempts: 0,
      retryBaseAt: message.createdAt,
      createdAt: now,
      updatedAt: now,
    }));
    return { message: stored, deliveries, created: true };
  }

  /**
   * One claim. `known` holds endpoints already read (and maybe changed) earlier in the same
   * transaction, by the attempt results of finishAttemptsAndClaim: not read again.
   */
  function claimSync(input: ClaimInput, known?: Map<string, StoredEndpoint | undefined>): ClaimedDelivery[] {
    const claimed: ClaimedDelivery[] = [];
    const { now } = input;
    const until = now + input.leaseMs;
    const counts = new Map<string, number>();
    for (const row of statements.inFlightCounts.all(now) as Array<{ endpoint_id: string; n: number }>) counts.set(row.endpoint_id, row.n);
    const endpoints = new Map<string, { endpoint: StoredEndpoint; secrets: StoredSecret[] }>();
    // A rate-limited endpoint gets one delivery per claim: it joins the excluded ones.
    const rateTaken: string[] = [];
    // Claimed rows leave the scan (their due_at moves to the lease end) and full endpoints are
    // excluded, so each round makes progress; a few rounds fill the batch.
    if (claimedSeqs.size > CLAIMED_SEQS_MAX) claimedSeqs.clear();
    for (let round = 0; round < 8 && claimed.length < input.limit; round++) {
      const full = [...counts].filter(([, n]) => n >= input.perEndpointConcurrency).map(([id]) => id).concat(rateTaken);
      // Rows of endpoints that fill up during the round are skipped: read a few more than needed
      // (twice as many when one endpoint may fill up before the batch does).
      const wanted = input.limit - claimed.length;
      const rows = statements.claimScan.all({ now, full: JSON.stringify(full), scan: wanted + (input.perEndpointConcurrency >= wanted ? Math.min(wanted, 8) : wanted) }) as SqlRow[];
      if (rows.length === 0) break;
      const leased: number[] = [];
      const excluded = rateTaken.length;
      for (const row of rows) {
        if (claimed.length >= input.limit) break;
        const delivery = toDelivery(row);
        const count = counts.get(delivery.endpointId) ?? 0;
        if (count >= input.perEndpointConcurrency || rateTaken.includes(delivery.endpointId)) continue;
        let found = endpoints.get(delivery.endpointId);
        if (!found) {
          const endpoint = (known?.get(delivery.endpointId) ?? getEndpointRow(delivery.endpointId)) as StoredEndpoint;
          // Read once per endpoint and claim: the attempt needs no read of its own.
          const secrets = (statements.signingSecrets.all(endpoint.id, now) as SqlRow[]).map((secret) => ({
            secret: secret.secret as string,
            createdAt: secret.created_at as number,
            expiresAt: secret.expires_at as number | null,
          }));
          found = { endpoint, secrets };
          endpoints.set(endpoint.id, found);
        }
        const { endpoint } = found;
        // Rate-limited: one at a time (the next waits for this one's start + 1000 / rate).
        if (endpoint.rateLimit !== null && count > 0) {
          rateTaken.push(endpoint.id);
          continue;
        }
        if (endpoint.rateLimit !== null) {
          rateTaken.push(endpoint.id);
          statements.takeRate.run({ id: endpoint.id, next: now + 1000 / endpoint.rateLimit });
        }
        const message: StoredMessage = {
          id: delivery.messageId,
          tenant: delivery.tenant,
          type: delivery.type,
          payload: row.m_payload as string,
          idempotencyKey: row.m_idempotency_key as string | null,
          createdAt: row.m_created_at as number,
        };
        if (typeof row.m_trace_context === 'string') message.traceContext = row.m_trace_context;
        leased.push(row.seq as number);
        claimedSeqs.set(delivery.id, { seq: row.seq as number, delivery });
        counts.set(delivery.endpointId, count + 1);
        claimed.push({
          delivery: { ...delivery, status: 'in_flight', leaseOwner: input.owner, leaseUntil: until, updatedAt: now },
          message,
          endpoint: { ...endpoint, events: [...endpoint.events], headers: { ...endpoint.headers } },
          secrets: found.secrets.map((secret) => ({ ...secret })),
        });
      }
      // Nothing leased and no endpoint newly excluded: another round would read the same rows.
      if (leased.length === 0 && rateTaken.length === excluded) break;
      if (leased.length === 0) continue;
      statements.lease.run({ owner: input.owner, until, now, seqs: JSON.stringify(leased) });
    }
    return claimed;
  }

  /**
   * One attempt result. `endpoints` caches the endpoints read or written earlier in the same
   * transaction (a batch reads each endpoint once; later results of it see the earlier effects).
   */
  function finishSync(input: FinishAttemptInput, endpoints: Map<string, StoredEndpoint | undefined> = new Map()): FinishAttemptResult {
    const { now } = input;
    const endpointId = input.attempt.endpointId;
    const before = endpoints.has(endpointId) ? endpoints.get(endpointId) : getEndpointRow(endpointId);
    endpoints.set(endpointId, before);
    const previousFailures = before?.consecutiveFailures ?? 0;
    const next = input.next.status === 'pending' ? input.next.nextAttemptAt : null;
    // One statement checks the lease (status and owner) and moves the delivery on; it returns
    // nothing when the lease was lost or the delivery is gone. Same transaction as the log.
    const known = claimedSeqs.get(input.deliveryId);
    if (known !== undefined) claimedSeqs.delete(input.deliveryId);
    // For a delivery this storage claimed, the columns the input does not hold are the claim's
    // (they cannot change while the lease is held); otherwise RETURNING reads them: a row of every
    // column costs about as much as the update itself.
    let kept: DeliveryKept | undefined;
    if (known !== undefined) {
      if (statements.finishDeliveryBySeq.run(input.next.status, next, next, input.attempt.statusCode, input.attempt.errorCode, now, known.seq, input.deliveryId, input.owner).changes > 0) {
        const { tenant, type, attempts, retryBaseAttempts, retryBaseAt, createdAt } = known.delivery;
        kept = { tenant, type, attempts: attempts + 1, retryBaseAttempts, retryBaseAt, createdAt };
      }
    } else {
      const finished = statements.finishDelivery.get({
        status: input.next.status,
        next,
        lastStatus: input.attempt.statusCode,
        lastError: input.attempt.errorCode,
        now,
        id: input.deliveryId,
        owner: input.owner,
      }) as SqlRow | undefined;
      if (finished) {
        kept = {
          tenant: finished.tenant as string,
          type: finished.type as string,
          attempts: Number(finished.attempts),
          retryBaseAttempts: Number(finished.retry_base_attempts),
          retryBaseAt: Number(finished.retry_base_at),
          createdAt: Number(finished.created_at),
        };
      }
    }
    const delivery = kept && deliveryAfterAttempt(input, kept);
    // Not applied: the delivery as it is now (if it still exists).
    const current = delivery ? undefined : (statements.getDelivery.get(input.deliveryId) as SqlRow | undefined);
    // Every attempt is logged, applied or not, as long as its delivery still exists.
    if (delivery || current) {
      const attempt = input.attempt;
      statements.insertAttempt.run(
        attempt.id ?? createId('att', now),
        attempt.deliveryId,
        attempt.messageId,
        attempt.endpointId,
        attempt.number,
        attempt.startedAt,
        attempt.durationMs,
        attempt.statusCode,
        JSON.stringify(attempt.responseHeaders),
        attempt.responseBody,
        attempt.errorCode,
        attempt.success ? 1 : 0,
      );
    }
    if (!delivery) {
      return { applied: false, delivery: current ? toDelivery(current) : undefined, endpoint: before && copyStoredEndpoint(before), previousFailures, disabled: false, notifications: [] };
    }
    let disabled = false;
    let after = before;
    let notifications: StoredNotification[] = [];
    if (before?.rateLimit !== null && before?.rateLimit !== undefined) statements.rateAfterStart.run({ id: endpointId, started: input.attempt.startedAt });
    if (before) {
      const endpoint = { ...before };
      const effect = input.endpoint;
      if (effect.success) {
        endpoint.consecutiveFailures = 0;
        endpoint.pausedUntil = null;
      } else {
        endpoint.consecutiveFailures += 1;
        const reason = effect.disableReason ?? (effect.disableAfter !== undefined && endpoint.consecutiveFailures >= effect.disableAfter ? 'consecutive_failures' : undefined);
        if (reason !== undefined && endpoint.enabled) {
          endpoint.enabled = false;
          endpoint.disabledReason = reason;
          disabled = true;
        }
        if (effect.pauseUntil !== undefined && (endpoint.pausedUntil === null || endpoint.pausedUntil < effect.pauseUntil)) endpoint.pausedUntil = effect.pauseUntil;
      }
      // The common case (a success on a healthy endpoint) changes nothing: skip the write.
      if (endpoint.consecutiveFailures !== before.consecutiveFailures || endpoint.enabled !== before.enabled || endpoint.pausedUntil !== before.pausedUntil) {
        endpoint.updatedAt = now;
        statements.updateEndpoint.run(endpointParams(endpoint));
        if (disabled) statements.parkEndpoint.run(endpoint.id);
      }
      after = endpoint;
      endpoints.set(endpointId, endpoint);
      // Same transaction as the attempt: a crash keeps both or neither.
      notifications = notificationsFor({ before, after: endpoint, effect, disabled, now });
      for (const notification of notifications) {
        statements.insertNotification.run({ ...notification, endpoint: JSON.stringify(endpointParams(notification.endpoint)) });
      }
    }
    return { applied: true, delivery, endpoint: after && copyStoredEndpoint(after), previousFailures, disabled, notifications };
  }

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
