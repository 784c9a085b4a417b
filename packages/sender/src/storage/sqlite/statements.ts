import type Database from 'better-sqlite3';
import type { StoredEndpoint } from '../types';

/** A value bound to a statement parameter. */
export type SqlValue = string | number | null;

/** An endpoint as the named parameters of `insertEndpoint` and `updateEndpoint`. */
export function endpointParams(endpoint: StoredEndpoint): Record<string, SqlValue> {
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

/**
 * Every statement the SQLite storage runs more than once, prepared once per connection. The
 * queue's write path (`queue.ts`) and the admin methods (`../sqlite.ts`) share them.
 */
export function prepareStatements(db: Database.Database) {
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
  return statements as { [Name in keyof typeof statements]: Database.Statement };
}

/** The prepared statements of one connection. */
export type SqliteStatements = ReturnType<typeof prepareStatements>;
