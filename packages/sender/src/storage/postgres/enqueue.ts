import { createId } from '@hooks/core/internal';
import { SenderError } from '../../errors';
import { type SqlRow, toDelivery, toMessage } from '../sql-rows';
import type { EnqueueInput, EnqueueResult } from '../types';
import { type PostgresQueryable, toSenderError } from './client';

/**
 * Stores messages and their deliveries with ONE statement (the `enqueue_messages` function of
 * migration 3): one round trip, one commit when run on its own, or part of the host's
 * transaction (outbox). Results in input order.
 */
export async function enqueueMessages(database: PostgresQueryable, schema: { quoted: string; name: string }, inputs: readonly EnqueueInput[]): Promise<EnqueueResult[]> {
  if (inputs.length === 0) return [];
  const items = inputs.map(({ message, endpointId, now }, index) => ({
    ord: index,
    id: message.id,
    tenant: message.tenant,
    type: message.type,
    payload: message.payload,
    idempotency_key: message.idempotencyKey,
    created_at: message.createdAt,
    trace_context: typeof message.traceContext === 'string' ? message.traceContext : null,
    endpoint_id: endpointId ?? null,
    now,
    // `dlv_` + 10 time + 12 random characters; the statement appends 4 for the target's position,
    // so delivery ids keep the sortable layout of createId.
    delivery_prefix: createId('dlv', now).slice(0, -4),
  }));
  let rows: SqlRow[];
  try {
    rows = (await database.query({ name: `hooks_enqueue_${schema.name}`, text: `SELECT * FROM ${schema.quoted}.enqueue_messages($1::json)`, values: [JSON.stringify(items)] })).rows;
  } catch (error) {
    throw toSenderError(error);
  }
  const results: EnqueueResult[] = new Array(inputs.length);
  for (const row of rows) {
    const index = Number(row.item);
    const input = inputs[index] as EnqueueInput;
    const deliveries = ((row.stored_deliveries as SqlRow[] | null) ?? []).map(toDelivery);
    if (row.created === true) {
      const message = { ...input.message };
      if (typeof message.traceContext !== 'string') delete message.traceContext;
      results[index] = { message, deliveries, created: true };
    } else {
      if (!row.stored_message) throw new SenderError('conflict', 'The idempotency key is being used by a concurrent send.');
      results[index] = { message: toMessage(row.stored_message as SqlRow), deliveries, created: false };
    }
  }
  return results;
}
