import { SenderError } from '../../errors';
import { copyEndpoint, copyMessage } from '../common';
import { type SqlRow, toDelivery, toEndpoint, toMessage, toSecrets } from '../sql-rows';
import type { ClaimedDelivery, ClaimInput, StoredDelivery, StoredEndpoint, StoredMessage, StoredSecret } from '../types';
import { type PostgresQueryable, toSenderError } from './client';

/**
 * One claim round in one round trip: a named statement calling the `claim_deliveries_v2`
 * function (migration 6), which locks, leases and returns the deliveries with each of their
 * endpoints (and its signing secrets) and messages once.
 */
export async function claimDeliveries(database: PostgresQueryable, schema: { quoted: string; name: string }, input: ClaimInput): Promise<ClaimedDelivery[]> {
  if (input.limit < 1 || input.perEndpointConcurrency < 1) return [];
  checkClaimInput(input);
  const now = Math.floor(input.now);
  const values = [input.owner, now, now + Math.floor(input.leaseMs), Math.min(10_000, Math.floor(input.limit)), Math.min(1_000_000, Math.floor(input.perEndpointConcurrency))];
  let rows: SqlRow[];
  try {
    rows = (
      await database.query({
        name: `hooks_claim2_${schema.name}`,
        text: `SELECT * FROM ${schema.quoted}.claim_deliveries_v2($1, $2, $3, $4, $5)`,
        values,
      })
    ).rows;
  } catch (error) {
    throw toSenderError(error);
  }
  return toClaimed(rows.map((row) => [row.claimed_kind, row.claimed_part, row.claimed_secrets]));
}

/** A claimed row: an endpoint (with its secrets), a message, or a delivery in claim order. */
export type ClaimedPart = [kind: unknown, part: unknown, secrets: unknown];

/**
 * Claimed rows as [kind, JSON, secrets]: each endpoint (with its signing secrets) and each message
 * once, and the deliveries in claim order. Every delivery gets fresh copies of its endpoint,
 * secrets and message (records returned are never shared).
 */
export function toClaimed(rows: readonly ClaimedPart[]): ClaimedDelivery[] {
  const endpoints = new Map<string, { endpoint: StoredEndpoint; secrets: StoredSecret[]; used: boolean }>();
  const messages = new Map<string, { message: StoredMessage; used: boolean }>();
  const deliveries: StoredDelivery[] = [];
  for (const [kind, part, secrets] of rows) {
    if (kind === 'endpoint') {
      const endpoint = toEndpoint(part as SqlRow);
      endpoints.set(endpoint.id, { endpoint, secrets: toSecrets(secrets), used: false });
    } else if (kind === 'message') {
      const message = toMessage(part as SqlRow);
      messages.set(message.id, { message, used: false });
    } else if (kind === 'delivery') {
      deliveries.push(toDelivery(part as SqlRow));
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
