import { createId } from '@hooks/core/internal';
import { copyEndpoint, deliveryAfterAttempt } from '../common';
import { num, type SqlRow, toDelivery, toDeliveryKept, toEndpoint, toNotification } from '../sql-rows';
import type { ClaimedDelivery, ClaimInput, FinishAttemptInput, FinishAttemptResult, StoredEndpoint } from '../types';
import { checkClaimInput, claimValues, toClaimed } from './claim';
import { type PostgresQueryable, toSenderError } from './client';

/**
 * Several attempt results in one round trip and one commit: a named statement calling the
 * `finish_attempts_v3` function (migration 8), one array parameter per field.
 */
export async function finishAttempts(database: PostgresQueryable, schema: { quoted: string; name: string }, inputs: readonly FinishAttemptInput[]): Promise<FinishAttemptResult[]> {
  if (inputs.length === 0) return [];
  let rows: SqlRow[];
  try {
    rows = (
      await database.query({
        name: `hooks_finish3_${schema.name}`,
        text: `SELECT * FROM ${schema.quoted}.finish_attempts_v3(${placeholders(1, 22)})`,
        values: finishValues(inputs),
      })
    ).rows;
  } catch (error) {
    throw toSenderError(error);
  }
  return toResults(inputs, rows, 'current_row', 'endpoint_after', 'notice', 'endpoint_repeat');
}

/**
 * {@link finishAttempts} and then a claim, in ONE statement and transaction (the
 * `finish_and_claim_v4` function of migration 8): the commit that frees the slots brings the next
 * work. Fully durable.
 */
export async function finishAttemptsAndClaim(
  database: PostgresQueryable,
  schema: { quoted: string; name: string },
  inputs: readonly FinishAttemptInput[],
  claim: ClaimInput,
): Promise<{ results: FinishAttemptResult[]; claimed: ClaimedDelivery[] }> {
  checkClaimInput(claim);
  const values = claimValues(claim);
  let rows: SqlRow[];
  try {
    rows = (
      await database.query({
        name: `hooks_finish_claim4_${schema.name}`,
        text: `SELECT * FROM ${schema.quoted}.finish_and_claim_v4(${placeholders(1, 27)})`,
        values: [...finishValues(inputs), ...values],
      })
    ).rows;
  } catch (error) {
    throw toSenderError(error);
  }
  // The finished rows come first, one per input; then the claim's rows (deliveries, their
  // endpoints and messages).
  let claimedFrom = 0;
  while (claimedFrom < rows.length && (rows[claimedFrom] as SqlRow).kind === 'finished') claimedFrom++;
  return {
    results: toResults(inputs, claimedFrom === rows.length ? rows : rows.slice(0, claimedFrom), 'part1', 'part2', 'part3', 'repeat'),
    claimed: toClaimed(claimedFrom === 0 ? rows : rows.slice(claimedFrom), values, 'part1', 'part2'),
  };
}

function placeholders(from: number, to: number): string {
  return Array.from({ length: to - from + 1 }, (_, index) => `$${from + index}`).join(', ');
}

/** One array per field, in the order of the SQL function's parameters. */
function finishValues(inputs: readonly FinishAttemptInput[]): unknown[] {
  const now = inputs[0]?.now ?? 0;
  return [
    inputs.map((input) => input.owner),
    inputs.map((input) => input.deliveryId),
    inputs.map((input) => input.attempt.messageId),
    inputs.map((input) => input.attempt.endpointId),
    inputs.map((input) => input.attempt.id ?? createId('att', input.now)),
    inputs.map((input) => input.attempt.number),
    inputs.map((input) => input.attempt.startedAt),
    inputs.map((input) => input.attempt.durationMs),
    inputs.map((input) => input.attempt.statusCode),
    inputs.map((input) => JSON.stringify(input.attempt.responseHeaders)),
    inputs.map((input) => input.attempt.responseBody),
    inputs.map((input) => input.attempt.errorCode),
    inputs.map((input) => input.attempt.success),
    inputs.map((input) => input.next.status),
    inputs.map((input) => (input.next.status === 'pending' ? input.next.nextAttemptAt : null)),
    inputs.map((input) => input.now),
    inputs.map((input) => input.endpoint.disableAfter ?? null),
    inputs.map((input) => input.endpoint.disableReason ?? null),
    inputs.map((input) => input.endpoint.pauseUntil ?? null),
    inputs.map((input) => (input.endpoint.notifyAfter ?? []).join(',')),
    inputs.map((input) => (input.endpoint.success ? (input.endpoint.recoveredAfter ?? null) : null)),
    // Notification ids: `ntf_` + time + 12 random characters; the statement appends 4 for the position.
    createId('ntf', now).slice(0, -4),
  ];
}

/**
 * Results from the finished rows (one per input, in input order). An applied attempt's delivery is
 * its input plus the columns returned (attempts, tenant, type, retry base, creation time); the
 * current row of one not applied, the endpoint (on its first row of the result: a repeated one
 * names no row) and a notification come as JSON.
 */
function toResults(inputs: readonly FinishAttemptInput[], rows: readonly SqlRow[], currentKey: string, endpointKey: string, noticeKey: string, repeatKey: string): FinishAttemptResult[] {
  const results: FinishAttemptResult[] = new Array(inputs.length);
  // Endpoints as returned so far, by id.
  const seen = new Map<string, StoredEndpoint>();
  for (const row of rows) {
    const index = num(row.item);
    const input = inputs[index] as FinishAttemptInput;
    const endpointId = input.attempt.endpointId;
    const endpointRow = row[endpointKey] as SqlRow | null;
    const known = row[repeatKey] === true ? seen.get(endpointId) : undefined;
    const endpoint = known ? copyEndpoint(known) : endpointRow ? toEndpoint(endpointRow) : undefined;
    if (endpoint && !known) seen.set(endpointId, endpoint);
    const previousFailures = row.previous === null || row.previous === undefined ? (endpoint?.consecutiveFailures ?? 0) : num(row.previous);
    if (row.applied !== true) {
      const current = row[currentKey] as SqlRow | null;
      results[index] = { applied: false, delivery: current ? toDelivery(current) : undefined, endpoint, previousFailures, disabled: false, notifications: [] };
      continue;
    }
    const notice = row[noticeKey] as SqlRow | null;
    results[index] = { applied: true, delivery: deliveryAfterAttempt(input, toDeliveryKept(row)), endpoint, previousFailures, disabled: row.disabled === true, notifications: notice ? [toNotification(notice)] : [] };
  }
  return results;
}
