import { SenderError } from '../../errors';
import { copyEndpoint, copyMessage } from '../common';
import { num, numOrNull, type SqlRow, textOrNull, toEndpoint, toMessage, toSecrets } from '../sql-rows';
import type { ClaimedDelivery, ClaimInput, StoredDelivery, StoredEndpoint, StoredMessage, StoredSecret } from '../types';
import { type PostgresQueryable, toSenderError } from './client';

/**
 * One claim round in one round trip: a named statement calling the `claim_deliveries_v3`
 * function (migration 8), which locks, leases and returns the deliveries (as columns) with each of
 * their endpoints (and its signing secrets) and messages once.
 */
export async function claimDeliveries(database: PostgresQueryable, schema: { quoted: string; name: string }, input: ClaimInput): Promise<ClaimedDelivery[]> {
  if (input.limit < 1 || input.perEndpointConcurrency < 1) return [];
  checkClaimInput(input);
  const values = claimValues(input);
  let rows: SqlRow[];
  try {
    rows = (
      await database.query({
        name: `hooks_claim3_${schema.name}`,
        text: `SELECT * FROM ${schema.quoted}.claim_deliveries_v3($1, $2, $3, $4, $5)`,
        values,
      })
    ).rows;
  } catch (error) {
    throw toSenderError(error);
  }
  return toClaimed(rows, values);
}

/** A claim's statement parameters: owner, now, lease end, limit, per-endpoint concurrency (whole numbers). */
export function claimValues(input: ClaimInput): [string, number, number, number, number] {
  const now = Math.floor(input.now);
  return [input.owner, now, now + Math.floor(input.leaseMs), Math.max(0, Math.min(10_000, Math.floor(input.limit))), Math.max(1, Math.min(1_000_000, Math.floor(input.perEndpointConcurrency)))];
}

/**
 * Claimed rows: each endpoint (`part` the endpoint, `secrets` its signing secrets) and each
 * message (`part`) once, and the deliveries in claim order as columns (the lease columns are the
 * claim's own: owner, lease end, time). Every delivery gets fresh copies of its endpoint,
 * secrets and message (records returned are never shared). `finish_and_claim_v4` names the
 * parts `part1` and `part2`.
 */
export function toClaimed(rows: readonly SqlRow[], values: readonly [string, number, number, number, number], partKey = 'part', secretsKey = 'secrets'): ClaimedDelivery[] {
  const [owner, now, until] = values;
  const endpoints = new Map<string, { endpoint: StoredEndpoint; secrets: StoredSecret[]; used: boolean }>();
  const messages = new Map<string, { message: StoredMessage; used: boolean }>();
  const deliveries: StoredDelivery[] = [];
  for (const row of rows) {
    const kind = row.kind;
    if (kind === 'delivery') {
      deliveries.push({
        id: row.id as string,
        messageId: row.message_id as string,
        endpointId: row.endpoint_id as string,
        tenant: row.tenant as string,
        type: row.type as string,
        status: 'in_flight',
        attempts: num(row.attempts),
        nextAttemptAt: numOrNull(row.next_attempt_at),
        leaseOwner: owner,
        leaseUntil: until,
        lastStatus: numOrNull(row.last_status),
        lastError: textOrNull(row.last_error),
        retryBaseAttempts: num(row.retry_base_attempts),
        retryBaseAt: num(row.retry_base_at),
        createdAt: num(row.created_at),
        updatedAt: now,
      });
    } else if (kind === 'endpoint') {
      const endpoint = toEndpoint(row[partKey] as SqlRow);
      endpoints.set(endpoint.id, { endpoint, secrets: toSecrets(row[secretsKey]), used: false });
    } else if (kind === 'message') {
      const message = toMessage(row[partKey] as SqlRow);
      messages.set(message.id, { message, used: false });
    }
  }
  const claimed: ClaimedDelivery[] = [];
  for (const delivery of deliveries) {
    const endpoint = endpoints.get(delivery.endpointId);
    const message = messages.get(delivery.messageId);
    // Both are returned with every delivery; a row without them cannot be attempted.
    if (!endpoint || !message) continue;
    claimed.push({
      delivery,
      message: message.used ? copyMessage(message.message) : message.message,
      endpoint: endpoint.used ? copyEndpoint(endpoint.endpoint) : endpoint.endpoint,
      secrets: endpoint.used ? endpoint.secrets.map((secret) => ({ ...secret })) : endpoint.secrets,
    });
    endpoint.used = true;
    message.used = true;
  }
  return claimed;
}

/** Refuses claim numbers that are not finite (they become statement parameters). */
export function checkClaimInput(input: ClaimInput): void {
  for (const [field, value] of Object.entries({ now: input.now, limit: input.limit, leaseMs: input.leaseMs, perEndpointConcurrency: input.perEndpointConcurrency })) {
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) {
      throw new SenderError('invalid_input', `claimDeliveries ${field} must be a finite number.`, { details: { field } });
    }
  }
}
