import { createId } from '@hooks/core/internal';
import { type SqlRow, num, toDelivery, toEndpoint, toNotification } from '../sql-rows';
import type { FinishAttemptInput, FinishAttemptResult } from '../types';
import { type PostgresQueryable, toSenderError } from './client';

/**
 * Several attempt results in one round trip and one commit: a named statement calling the
 * `finish_attempts` function (migration 3) with the batch as one JSON parameter.
 */
export async function finishAttempts(database: PostgresQueryable, schema: { quoted: string; name: string }, inputs: readonly FinishAttemptInput[]): Promise<FinishAttemptResult[]> {
  if (inputs.length === 0) return [];
  const items = inputs.map((input, index) => {
    const { attempt, endpoint: effect, now } = input;
    return {
      ord: index,
      delivery_id: input.deliveryId,
      owner: input.owner,
      attempt_id: attempt.id ?? createId('att', now),
      message_id: attempt.messageId,
      endpoint_id: attempt.endpointId,
      number: attempt.number,
      started_at: attempt.startedAt,
      duration_ms: attempt.durationMs,
      status_code: attempt.statusCode,
      response_headers: attempt.responseHeaders,
      response_body: attempt.responseBody,
      error_code: attempt.errorCode,
      success: attempt.success,
      next_status: input.next.status,
      next_at: input.next.status === 'pending' ? input.next.nextAttemptAt : null,
      now,
      disable_after: effect.disableAfter ?? null,
      disable_reason: effect.disableReason ?? null,
      pause_until: effect.pauseUntil ?? null,
      notify_after: [...(effect.notifyAfter ?? [])],
      recovered_after: effect.success ? (effect.recoveredAfter ?? null) : null,
      notice_id: createId('ntf', now),
    };
  });
  let rows: SqlRow[];
  try {
    rows = (await database.query({ name: `hooks_finish_${schema.name}`, text: `SELECT * FROM ${schema.quoted}.finish_attempts($1::json)`, values: [JSON.stringify(items)] })).rows;
  } catch (error) {
    throw toSenderError(error);
  }
  const results: FinishAttemptResult[] = new Array(inputs.length);
  for (const row of rows) {
    const endpointRow = row.endpoint_after as SqlRow | null;
    const endpoint = endpointRow ? toEndpoint(endpointRow) : undefined;
    const previousFailures = row.previous === null || row.previous === undefined ? (endpoint?.consecutiveFailures ?? 0) : num(row.previous);
    if (!row.applied) {
      results[num(row.item)] = {
        applied: false,
        delivery: row.current_row ? toDelivery(row.current_row as SqlRow) : undefined,
        endpoint,
        previousFailures,
        disabled: false,
        notifications: [],
      };
      continue;
    }
    results[num(row.item)] = {
      applied: true,
      delivery: toDelivery(row.applied as SqlRow),
      endpoint,
      previousFailures,
      disabled: row.disabled === true,
      notifications: row.notice ? [toNotification(row.notice as SqlRow)] : [],
    };
  }
  return results;
}
