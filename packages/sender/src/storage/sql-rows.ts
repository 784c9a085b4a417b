import type { DeliveryKept } from './common';
import type { DeliveryStatus, NotificationType, StoredAttempt, StoredDelivery, StoredEndpoint, StoredMessage, StoredNotification, StoredSecret } from './types';

// Rows of the SQL adapters (SQLite and PostgreSQL share column names) turned into stored records.
// The decoders accept both databases' representations: numbers or bigint strings, 1 or true,
// JSON text or parsed json columns.

/** A row as a driver returns it. */
export type SqlRow = Record<string, unknown>;

/** A number column (PostgreSQL returns bigint as a string). */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** A nullable number column. */
export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

/** A nullable text column. */
export function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A boolean column (SQLite stores 0/1). */
export function bool(value: unknown): boolean {
  return value === true || value === 1;
}

/** A JSON column, as text (SQLite) or parsed (PostgreSQL); a hand-edited or corrupted row must not crash the dispatcher. */
export function json<T>(value: unknown, fallback: T): T {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as T;
    } catch {
      return fallback;
    }
  }
  return value !== null && typeof value === 'object' ? (value as T) : fallback;
}

/** An endpoints row. */
export function toEndpoint(row: SqlRow): StoredEndpoint {
  const events = json<unknown>(row.events, []);
  return {
    id: row.id as string,
    tenant: row.tenant as string,
    url: row.url as string,
    name: textOrNull(row.name),
    description: textOrNull(row.description),
    events: Array.isArray(events) ? events.filter((event): event is string => typeof event === 'string') : [],
    headers: json<Record<string, string>>(row.headers, {}),
    profile: row.profile === 'standard' ? 'standard' : 'x-webhook',
    metadata: json<Record<string, unknown>>(row.metadata, {}),
    enabled: bool(row.enabled),
    disabledReason: textOrNull(row.disabled_reason),
    consecutiveFailures: num(row.consecutive_failures),
    rateLimit: numOrNull(row.rate_limit),
    fifo: bool(row.fifo),
    pausedUntil: numOrNull(row.paused_until),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

/** A messages row. */
export function toMessage(row: SqlRow): StoredMessage {
  return {
    id: row.id as string,
    tenant: row.tenant as string,
    type: row.type as string,
    payload: row.payload as string,
    idempotencyKey: textOrNull(row.idempotency_key),
    createdAt: num(row.created_at),
    // Absent rather than null when there is none, so records compare equal across adapters.
    ...(typeof row.trace_context === 'string' ? { traceContext: row.trace_context } : {}),
  };
}

/** Signing secrets as a claim returns them (`[{ secret, created_at, expires_at }]`, JSON text or parsed). */
export function toSecrets(value: unknown): StoredSecret[] {
  const rows = json<unknown>(value, []);
  if (!Array.isArray(rows)) return [];
  return rows
    .filter((row): row is SqlRow => row !== null && typeof row === 'object' && typeof (row as SqlRow).secret === 'string')
    .map((row) => ({ secret: row.secret as string, createdAt: num(row.created_at), expiresAt: numOrNull(row.expires_at) }));
}

/** The delivery columns an attempt result keeps, from a row that has them (`attempts` as stored after the attempt). */
export function toDeliveryKept(row: SqlRow): DeliveryKept {
  return {
    tenant: row.tenant as string,
    type: row.type as string,
    attempts: num(row.attempts),
    retryBaseAttempts: num(row.retry_base_attempts),
    retryBaseAt: num(row.retry_base_at),
    createdAt: num(row.created_at),
  };
}

/** A deliveries row. */
export function toDelivery(row: SqlRow): StoredDelivery {
  return {
    id: row.id as string,
    messageId: row.message_id as string,
    endpointId: row.endpoint_id as string,
    tenant: row.tenant as string,
    type: row.type as string,
    status: row.status as DeliveryStatus,
    attempts: num(row.attempts),
    nextAttemptAt: numOrNull(row.next_attempt_at),
    leaseOwner: textOrNull(row.lease_owner),
    leaseUntil: numOrNull(row.lease_until),
    lastStatus: numOrNull(row.last_status),
    lastError: textOrNull(row.last_error),
    retryBaseAttempts: num(row.retry_base_attempts),
    retryBaseAt: num(row.retry_base_at),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

/** An attempts row. */
export function toAttempt(row: SqlRow): StoredAttempt {
  return {
    id: row.id as string,
    deliveryId: row.delivery_id as string,
    messageId: row.message_id as string,
    endpointId: row.endpoint_id as string,
    number: num(row.number),
    startedAt: num(row.started_at),
    durationMs: num(row.duration_ms),
    statusCode: numOrNull(row.status_code),
    responseHeaders: json<Record<string, string>>(row.response_headers, {}),
    responseBody: textOrNull(row.response_body),
    errorCode: textOrNull(row.error_code),
    success: bool(row.success),
  };
}

/** A notifications row (the endpoint snapshot is a JSON column holding an endpoints row). */
export function toNotification(row: SqlRow): StoredNotification {
  return {
    id: row.id as string,
    type: row.type as NotificationType,
    endpointId: row.endpoint_id as string,
    tenant: row.tenant as string,
    endpoint: toEndpoint(json<SqlRow>(row.endpoint, {})),
    failures: num(row.failures),
    reason: textOrNull(row.reason),
    createdAt: num(row.created_at),
    attempts: num(row.attempts),
  };
}
