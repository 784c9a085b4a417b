import { SenderError } from '../../errors';
import { type SqlRow, toDelivery, toEndpoint, toMessage, toSecrets } from '../sql-rows';
import type { ClaimInput, ClaimedDelivery } from '../types';
import { type PostgresQueryable, toSenderError } from './client';

/**
 * One claim round in one round trip: a named statement calling the `claim_deliveries` function
 * (migration 3), which locks, leases and returns each delivery with its message, endpoint and
 * signing secrets.
 */
export async function claimDeliveries(database: PostgresQueryable, schema: { quoted: string; name: string }, input: ClaimInput): Promise<ClaimedDelivery[]> {
  if (input.limit < 1 || input.perEndpointConcurrency < 1) return [];
  for (const [field, value] of Object.entries({ now: input.now, limit: input.limit, leaseMs: input.leaseMs, perEndpointConcurrency: input.perEndpointConcurrency })) {
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) {
      throw new SenderError('invalid_input', `claimDeliveries ${field} must be a finite number.`, { details: { field } });
    }
  }
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
  return rows.map((row) => ({
    delivery: toDelivery(row.claimed_delivery as SqlRow),
    message: toMessage(row.claimed_message as SqlRow),
    endpoint: toEndpoint(row.claimed_endpoint as SqlRow),
    secrets: toSecrets(row.claimed_secrets),
  }));
}
