import { SenderError } from '../../errors';
import { copyEndpoint } from '../common';
import { type SqlRow, toDelivery, toEndpoint, toMessage, toSecrets } from '../sql-rows';
import type { ClaimedDelivery, ClaimInput, StoredEndpoint, StoredSecret } from '../types';
import { type PostgresQueryable, toSenderError } from './client';

/**
 * One claim round in one round trip: a named statement calling the `claim_deliveries` function
 * (migration 3), which locks, leases and returns each delivery with its message, endpoint and
 * signing secrets.
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
        name: `hooks_claim_${schema.name}`,
        text: `SELECT * FROM ${schema.quoted}.claim_deliveries($1, $2, $3, $4, $5)`,
        values,
      })
    ).rows;
  } catch (error) {
    throw toSenderError(error);
  }
  return toClaimed(rows.map((row) => [row.claimed_delivery, row.claimed_message, row.claimed_endpoint, row.claimed_secrets]));
}

/**
 * Claimed rows as [delivery, message, endpoint, secrets] JSON; the endpoint and its secrets come
 * with the first row of each endpoint only (the statement sends them once).
 */
export function toClaimed(rows: Array<[unknown, unknown, unknown, unknown]>): ClaimedDelivery[] {
  const endpoints = new Map<string, { endpoint: StoredEndpoint; secrets: StoredSecret[] }>();
  const claimed: ClaimedDelivery[] = [];
  for (const [deliveryRow, messageRow, endpointRow, secretsRow] of rows) {
    const delivery = toDelivery(deliveryRow as SqlRow);
    const message = toMessage(messageRow as SqlRow);
    const found = endpoints.get(delivery.endpointId);
    if (!found) {
      const fresh = { endpoint: toEndpoint(endpointRow as SqlRow), secrets: toSecrets(secretsRow) };
      endpoints.set(delivery.endpointId, fresh);
      claimed.push({ delivery, message, endpoint: fresh.endpoint, secrets: fresh.secrets });
    } else {
      // Fresh copies per delivery: records returned are never shared.
      claimed.push({ delivery, message, endpoint: copyEndpoint(found.endpoint), secrets: found.secrets.map((secret) => ({ ...secret })) });
    }
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
