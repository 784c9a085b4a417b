import { createId } from '@hooks/core/internal';
import { copyEndpoint } from '../common';
import { num, type SqlRow, toDelivery, toEndpoint, toNotification } from '../sql-rows';
import type { ClaimedDelivery, ClaimInput, FinishAttemptInput, FinishAttemptResult, StoredEndpoint } from '../types';
import { checkClaimInput, toClaimed } from './claim';
import { type PostgresQueryable, toSenderError } from './client';

/**
 * Several attempt results in one round trip and one commit: a named statement calling the
 * `finish_attempts_v2` function (migration 4), one array parameter per field.
 */
export async function finishAttempts(database: PostgresQueryable, schema: { quoted: string; name: string }, inputs: readonly FinishAttemptInput[]): Promise<FinishAttemptResult[]> {
  if (inputs.length === 0) return [];
  let rows: SqlRow[];
  try {
    rows = (
      await database.query({
        name: `hooks_finish2_${schema.name}`,
        text: `SELECT * FROM ${schema.quoted}.finish_attempts_v2(${placeholders(1, 21)})`,
        values: finishValues(inputs),
      })
    ).rows;
  } catch (error) {
    throw toSenderError(error);
  }
  return toResults(
    inputs,
    rows.map((row) => ({ item: row.item, applied: row.applied, current: row.current_row, endpoint: row.endpoint_after, repeat: row.endpoint_repeat, notice: row.notice, previous: row.previous, disabled: row.disabled })),
  );
}

/**
 * {@link finishAttempts} and then a claim, in ONE statement and transaction (the
 * `finish_and_claim_v3` function of migration 6): the commit that frees the slots brings the next
 * work. Fully durable.
 */
export async function finishAttemptsAndClaim(
  database: PostgresQueryable,
  schema: { quoted: string; name: string },
  inputs: readonly FinishAttemptInput[],
  claim: ClaimInput,
): Promise<{ results: FinishAttemptResult[]; claimed: ClaimedDelivery[] }> {
  checkClaimInput(claim);
  const now = Math.floor(claim.now);
  const claimValues = [claim.owner, now, now + Math.floor(claim.leaseMs), Math.max(0, Math.min(10_000, Math.floor(claim.limit))), Math.max(1, Math.min(1_000_000, Math.floor(claim.perEndpointConcurrency)))];
  let rows: SqlRow[];
  try {
    rows = (
      await database.query({
        name: `hooks_finish_claim3_${schema.name}`,
        text: `SELECT * FROM ${schema.quoted}.finish_and_claim_v3(${placeholders(1, 26)})`,
        values: [...finishValues(inputs), ...claimValues],
      })
    ).rows;
  } catch (error) {
    throw toSenderError(error);
  }
  const finished = rows.filter((row) => row.kind === 'finished');
  // The claim's rows: each endpoint and message once ('claimed_endpoint', 'claimed_message'), then
  // the deliveries ('claimed').
  const claimedRows = rows.filter((row) => row.kind !== 'finished');
  return {
    results: toResults(
      inputs,
      finished.map((row) => ({ item: row.item, applied: row.part1, current: row.part2, endpoint: row.part3, repeat: row.repeat, notice: row.part4, previous: row.previous, disabled: row.disabled })),
    ),
    claimed: toClaimed(claimedRows.map((row) => [row.kind === 'claimed' ? 'delivery' : String(row.kind).slice('claimed_'.length), row.part1, row.part2])),
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

interface ResultRow {
  item: unknown;
  applied: unknown;
  current: unknown;
  endpoint: unknown;
  /** True: the same endpoint as an earlier row of this result (its row is sent once per call). */
  repeat: unknown;
  notice: unknown;
  previous: unknown;
  disabled: unknown;
}

function toResults(inputs: readonly FinishAttemptInput[], rows: ResultRow[]): FinishAttemptResult[] {
  const results: FinishAttemptResult[] = new Array(inputs.length);
  // Endpoints as returned so far, by id: rows in input order, a repeated one names no row.
  const seen = new Map<string, StoredEndpoint>();
  for (const row of rows) {
    const endpointId = inputs[num(row.item)]?.attempt.endpointId ?? '';
    const endpointRow = row.endpoint as SqlRow | null;
    const known = row.repeat === true ? seen.get(endpointId) : undefined;
    const endpoint = known ? copyEndpoint(known) : endpointRow ? toEndpoint(endpointRow) : undefined;
    if (endpoint && !known) seen.set(endpointId, endpoint);
    const previousFailures = row.previous === null || row.previous === undefined ? (endpoint?.consecutiveFailures ?? 0) : num(row.previous);
    if (!row.applied) {
      results[num(row.item)] = { applied: false, delivery: row.current ? toDelivery(row.current as SqlRow) : undefined, endpoint, previousFailures, disabled: false, notifications: [] };
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
