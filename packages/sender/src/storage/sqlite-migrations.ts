/** One schema change; applied once, in order, and recorded in `schema_migrations`. */
export interface SqliteMigration {
  /** Increasing whole number. */
  version: number;
  /** Short name for the record. */
  name: string;
  /** SQL run inside the migration's transaction. */
  sql: string;
}

/**
 * The SQLite schema, as versioned steps. Never edit a released step: add a new one.
 *
 * `due_at` (deliveries) is the time a delivery can next be claimed: `next_attempt_at` while
 * pending, `lease_until` while in flight, NULL once finished and NULL while pending on a disabled
 * endpoint (parked). One partial index over it serves both "due now" and "lease expired", and
 * keeps finished and parked deliveries out of the claim scan.
 *
 * Every index is paid for on each write of the hot path (insert, lease, finish, attempt log), so
 * there are only the ones a query needs:
 * - `deliveries_fifo_open` (step 4; `deliveries_endpoint_open` before) finds the oldest unfinished
 *   delivery of a FIFO endpoint, and holds FIFO endpoints' deliveries only. It is partial on
 *   `next_attempt_at` (non-NULL exactly while pending or in flight), not on `due_at`, because a
 *   lease changes `due_at` and SQLite rewrites a partial index whenever a column of its WHERE
 *   changes: this way a lease leaves it alone.
 * - attempts have no `message_id` index: listing a message's attempts goes through its deliveries
 *   (`deliveries_message`, then `attempts_delivery`); a message has few deliveries.
 *
 * Unreleased: these choices were folded into step 1 before the first release.
 */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE endpoints (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        tenant TEXT NOT NULL,
        url TEXT NOT NULL,
        name TEXT,
        description TEXT,
        events TEXT NOT NULL,
        headers TEXT NOT NULL,
        profile TEXT NOT NULL,
        metadata TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        disabled_reason TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        rate_limit REAL,
        fifo INTEGER NOT NULL DEFAULT 0,
        paused_until INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX endpoints_tenant ON endpoints (tenant, seq);

      CREATE TABLE endpoint_secrets (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        endpoint_id TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
        secret TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER
      );
      CREATE INDEX endpoint_secrets_endpoint ON endpoint_secrets (endpoint_id);

      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        tenant TEXT NOT NULL,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        idempotency_key TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX messages_idempotency ON messages (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX messages_tenant ON messages (tenant, seq);

      CREATE TABLE deliveries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL REFERENCES messages (id),
        endpoint_id TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
        tenant TEXT NOT NULL,
        type TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'in_flight', 'succeeded', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        lease_owner TEXT,
        lease_until INTEGER,
        last_status INTEGER,
        last_error TEXT,
        retry_base_attempts INTEGER NOT NULL DEFAULT 0,
        retry_base_at INTEGER NOT NULL,
        due_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX deliveries_due ON deliveries (due_at, seq) WHERE due_at IS NOT NULL;
      CREATE INDEX deliveries_endpoint_open ON deliveries (endpoint_id, seq) WHERE next_attempt_at IS NOT NULL;
      CREATE INDEX deliveries_in_flight ON deliveries (endpoint_id, lease_until) WHERE status = 'in_flight';
      CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, seq);
      CREATE INDEX deliveries_message ON deliveries (message_id);

      CREATE TABLE attempts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        message_id TEXT NOT NULL,
        endpoint_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        status_code INTEGER,
        response_headers TEXT NOT NULL,
        response_body TEXT,
        error_code TEXT,
        success INTEGER NOT NULL
      );
      CREATE INDEX attempts_delivery ON attempts (delivery_id, seq);
      CREATE INDEX attempts_endpoint ON attempts (endpoint_id, seq);
    `,
  },
  {
    version: 2,
    name: 'notifications and retention',
    sql: `
      -- Owner notifications (endpoint.failing / disabled / recovered), written in the transaction of
      -- the attempt that caused them and handed to the host at least once (an outbox). due_at is
      -- when one can next be claimed (lease end while claimed) and NULL once delivered.
      CREATE TABLE notifications (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        endpoint_id TEXT NOT NULL,
        tenant TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        failures INTEGER NOT NULL,
        reason TEXT,
        created_at INTEGER NOT NULL,
        due_at INTEGER,
        lease_owner TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        delivered_at INTEGER
      );
      CREATE INDEX notifications_due ON notifications (due_at, seq) WHERE due_at IS NOT NULL;
      -- Retention (prune) walks messages by age.
      CREATE INDEX messages_created ON messages (created_at);
    `,
  },
  {
    version: 3,
    name: 'trace context and shared rate limits',
    sql: `
      -- W3C trace context of the send (JSON text), sent as traceparent/tracestate on each attempt.
      ALTER TABLE messages ADD COLUMN trace_context TEXT;
      -- Rate-limited endpoints: the earliest time any process may claim the next delivery.
      ALTER TABLE endpoints ADD COLUMN rate_next_at INTEGER;
    `,
  },
  {
    version: 4,
    name: 'fifo index for fifo endpoints only',
    sql: `
      -- deliveries_endpoint_open held every open delivery of every endpoint, for the FIFO rule
      -- only: a fan-out to 100 endpoints dirtied 100 of its pages (and finishing each delivery one
      -- more). It now holds the open deliveries of FIFO endpoints alone: fifo is copied from the
      -- endpoint when a delivery is written, and onto its open deliveries when an endpoint's FIFO
      -- setting changes.
      ALTER TABLE deliveries ADD COLUMN fifo INTEGER NOT NULL DEFAULT 0;
      UPDATE deliveries SET fifo = 1
        WHERE next_attempt_at IS NOT NULL AND endpoint_id IN (SELECT id FROM endpoints WHERE fifo = 1);
      DROP INDEX deliveries_endpoint_open;
      CREATE INDEX deliveries_fifo_open ON deliveries (endpoint_id, seq) WHERE fifo = 1 AND next_attempt_at IS NOT NULL;
    `,
  },
];
