import { createId } from '@hooks/core/internal';
import { copyEndpoint, type DeliveryKept, deliveryAfterAttempt, endpointAfterAttempt, newDelivery, notificationsFor } from '../common';
import { type SqlRow, json, toDelivery, toDeliveryKept, toEndpoint, toMessage } from '../sql-rows';
import type {
  ClaimInput,
  ClaimedDelivery,
  EnqueueInput,
  EnqueueResult,
  FinishAttemptInput,
  FinishAttemptResult,
  StoredDelivery,
  StoredEndpoint,
  StoredMessage,
  StoredNotification,
  StoredSecret,
} from '../types';
import { type SqliteStatements, endpointParams } from './statements';

/**
 * The queue's write path on SQLite, synchronous (the storage runs each call inside a group commit
 * of `../sqlite-writer.ts`): enqueue a message with its deliveries, claim due deliveries with
 * their messages, endpoints and signing secrets, finish attempts (lease check, attempt log,
 * endpoint health, owner notifications). Claims and finishes share the rowids of the deliveries
 * this connection leased, and the endpoint reads share a cache of parsed columns.
 */
export function createSqliteQueue(statements: SqliteStatements) {
  /**
   * Rowids of the deliveries this storage leased and has not finished yet, by delivery id: a
   * lease and a finish address the row by rowid instead of through the id index. Only a hint
   * (the finish still compares the id, owner and status); bounded, and missing entries fall back
   * to the id.
   */
  const claimedSeqs = new Map<string, { seq: number; delivery: StoredDelivery }>();
  const CLAIMED_SEQS_MAX = 100_000;

  /**
   * Parsed `events` and `headers` texts (flat: an array of strings, an object of strings), so
   * that the endpoint reads of every claim and batch of results parse each text once; every
   * endpoint returned still gets its own copies.
   */
  const parsedColumns = new Map<string, unknown>();
  function parsedCopy(text: unknown): unknown {
    if (typeof text !== 'string') return text;
    let parsed = parsedColumns.get(text);
    if (parsed === undefined) {
      parsed = json<unknown>(text, undefined);
      if (parsed === undefined || parsed === null || typeof parsed !== 'object') return text;
      if (parsedColumns.size >= 1000) parsedColumns.clear();
      parsedColumns.set(text, parsed);
    }
    return Array.isArray(parsed) ? [...parsed] : { ...(parsed as object) };
  }

  function getEndpointRow(id: string): StoredEndpoint | undefined {
    const row = statements.getEndpoint.get(id) as SqlRow | undefined;
    if (!row) return undefined;
    row.events = parsedCopy(row.events);
    row.headers = parsedCopy(row.headers);
    if (row.metadata === '{}') row.metadata = {};
    return toEndpoint(row);
  }

  /** copyEndpoint, without a structuredClone for the usual empty metadata (a new `{}` all the same). */
  function copyStoredEndpoint(endpoint: StoredEndpoint): StoredEndpoint {
    const { metadata } = endpoint;
    if (Object.getPrototypeOf(metadata) !== Object.prototype) return copyEndpoint(endpoint);
    for (const _ in metadata) return copyEndpoint(endpoint);
    return { ...endpoint, events: [...endpoint.events], headers: { ...endpoint.headers }, metadata: {} };
  }

  function enqueueSync(input: EnqueueInput): EnqueueResult {
    const { message, now } = input;
    if (message.idempotencyKey !== null) {
      const existing = statements.messageByKey.get(message.tenant, message.idempotencyKey) as SqlRow | undefined;
      if (existing) {
        const deliveries = (statements.deliveriesOfMessage.all(existing.id) as SqlRow[]).map(toDelivery);
        return { message: toMessage(existing), deliveries, created: false };
      }
    }
    let targets: string[];
    const fifo: number[] = [];
    if (input.endpointId !== undefined) {
      const endpoint = getEndpointRow(input.endpointId);
      targets = endpoint ? [input.endpointId] : [];
      if (endpoint) fifo.push(endpoint.fifo ? 1 : 0);
    } else {
      targets = [];
      for (const row of statements.fanOutTargets.all(message.tenant) as Array<{ id: string; events: string; fifo: number }>) {
        const events = json<string[]>(row.events, []);
        if (events.length === 0 || events.includes(message.type)) {
          targets.push(row.id);
          fifo.push(row.fifo);
        }
      }
    }
    const traceContext = typeof message.traceContext === 'string' ? message.traceContext : null;
    statements.insertMessage.run({ id: message.id, tenant: message.tenant, type: message.type, payload: message.payload, idempotencyKey: message.idempotencyKey, createdAt: message.createdAt, traceContext });
    const stored: StoredMessage = { id: message.id, tenant: message.tenant, type: message.type, payload: message.payload, idempotencyKey: message.idempotencyKey, createdAt: message.createdAt };
    if (traceContext !== null) stored.traceContext = traceContext;
    if (targets.length === 0) return { message: stored, deliveries: [], created: true };
    const ids = targets.map(() => createId('dlv', now));
    statements.insertDeliveries.run({ messageId: message.id, tenant: message.tenant, type: message.type, now, createdAt: message.createdAt, pairs: JSON.stringify(targets.map((endpointId, index) => [ids[index], endpointId, fifo[index]])) });
    const deliveries = targets.map((endpointId, index) => newDelivery(ids[index] as string, message, endpointId, now));
    return { message: stored, deliveries, created: true };
  }

  /**
   * One claim. `known` holds endpoints already read (and maybe changed) earlier in the same
   * transaction, by the attempt results of finishAttemptsAndClaim: not read again.
   */
  function claimSync(input: ClaimInput, known?: Map<string, StoredEndpoint | undefined>): ClaimedDelivery[] {
    const claimed: ClaimedDelivery[] = [];
    const { now } = input;
    const until = now + input.leaseMs;
    const counts = new Map<string, number>();
    for (const row of statements.inFlightCounts.all(now) as Array<{ endpoint_id: string; n: number }>) counts.set(row.endpoint_id, row.n);
    const endpoints = new Map<string, { endpoint: StoredEndpoint; secrets: StoredSecret[] }>();
    // A rate-limited endpoint gets one delivery per claim: it joins the excluded ones.
    const rateTaken: string[] = [];
    // Claimed rows leave the scan (their due_at moves to the lease end) and full endpoints are
    // excluded, so each round makes progress; a few rounds fill the batch.
    if (claimedSeqs.size > CLAIMED_SEQS_MAX) claimedSeqs.clear();
    for (let round = 0; round < 8 && claimed.length < input.limit; round++) {
      const full = [...counts].filter(([, n]) => n >= input.perEndpointConcurrency).map(([id]) => id).concat(rateTaken);
      // Rows of endpoints that fill up during the round are skipped: read a few more than needed
      // (twice as many when one endpoint may fill up before the batch does).
      const wanted = input.limit - claimed.length;
      const rows = statements.claimScan.all({ now, full: JSON.stringify(full), scan: wanted + (input.perEndpointConcurrency >= wanted ? Math.min(wanted, 8) : wanted) }) as SqlRow[];
      if (rows.length === 0) break;
      const leased: number[] = [];
      const excluded = rateTaken.length;
      for (const row of rows) {
        if (claimed.length >= input.limit) break;
        const delivery = toDelivery(row);
        const count = counts.get(delivery.endpointId) ?? 0;
        if (count >= input.perEndpointConcurrency || rateTaken.includes(delivery.endpointId)) continue;
        let found = endpoints.get(delivery.endpointId);
        if (!found) {
          const endpoint = (known?.get(delivery.endpointId) ?? getEndpointRow(delivery.endpointId)) as StoredEndpoint;
          // Read once per endpoint and claim: the attempt needs no read of its own.
          const secrets = (statements.signingSecrets.all(endpoint.id, now) as SqlRow[]).map((secret) => ({
            secret: secret.secret as string,
            createdAt: secret.created_at as number,
            expiresAt: secret.expires_at as number | null,
          }));
          found = { endpoint, secrets };
          endpoints.set(endpoint.id, found);
        }
        const { endpoint } = found;
        // Rate-limited: one at a time (the next waits for this one's start + 1000 / rate).
        if (endpoint.rateLimit !== null && count > 0) {
          rateTaken.push(endpoint.id);
          continue;
        }
        if (endpoint.rateLimit !== null) {
          rateTaken.push(endpoint.id);
          statements.takeRate.run({ id: endpoint.id, next: now + 1000 / endpoint.rateLimit });
        }
        const message: StoredMessage = {
          id: delivery.messageId,
          tenant: delivery.tenant,
          type: delivery.type,
          payload: row.m_payload as string,
          idempotencyKey: row.m_idempotency_key as string | null,
          createdAt: row.m_created_at as number,
        };
        if (typeof row.m_trace_context === 'string') message.traceContext = row.m_trace_context;
        leased.push(row.seq as number);
        claimedSeqs.set(delivery.id, { seq: row.seq as number, delivery });
        counts.set(delivery.endpointId, count + 1);
        claimed.push({
          delivery: { ...delivery, status: 'in_flight', leaseOwner: input.owner, leaseUntil: until, updatedAt: now },
          message,
          endpoint: { ...endpoint, events: [...endpoint.events], headers: { ...endpoint.headers } },
          secrets: found.secrets.map((secret) => ({ ...secret })),
        });
      }
      // Nothing leased and no endpoint newly excluded: another round would read the same rows.
      if (leased.length === 0 && rateTaken.length === excluded) break;
      if (leased.length === 0) continue;
      statements.lease.run({ owner: input.owner, until, now, seqs: JSON.stringify(leased) });
    }
    return claimed;
  }

  /**
   * One attempt result. `endpoints` caches the endpoints read or written earlier in the same
   * transaction (a batch reads each endpoint once; later results of it see the earlier effects).
   */
  function finishSync(input: FinishAttemptInput, endpoints: Map<string, StoredEndpoint | undefined> = new Map()): FinishAttemptResult {
    const { now } = input;
    const endpointId = input.attempt.endpointId;
    const before = endpoints.has(endpointId) ? endpoints.get(endpointId) : getEndpointRow(endpointId);
    endpoints.set(endpointId, before);
    const previousFailures = before?.consecutiveFailures ?? 0;
    const next = input.next.status === 'pending' ? input.next.nextAttemptAt : null;
    // One statement checks the lease (status and owner) and moves the delivery on; it returns
    // nothing when the lease was lost or the delivery is gone. Same transaction as the log.
    const known = claimedSeqs.get(input.deliveryId);
    if (known !== undefined) claimedSeqs.delete(input.deliveryId);
    // For a delivery this storage claimed, the columns the input does not hold are the claim's
    // (they cannot change while the lease is held); otherwise RETURNING reads them: a row of every
    // column costs about as much as the update itself.
    let kept: DeliveryKept | undefined;
    if (known !== undefined) {
      if (statements.finishDeliveryBySeq.run(input.next.status, next, next, input.attempt.statusCode, input.attempt.errorCode, now, known.seq, input.deliveryId, input.owner).changes > 0) {
        const { tenant, type, attempts, retryBaseAttempts, retryBaseAt, createdAt } = known.delivery;
        kept = { tenant, type, attempts: attempts + 1, retryBaseAttempts, retryBaseAt, createdAt };
      }
    } else {
      const finished = statements.finishDelivery.get({
        status: input.next.status,
        next,
        lastStatus: input.attempt.statusCode,
        lastError: input.attempt.errorCode,
        now,
        id: input.deliveryId,
        owner: input.owner,
      }) as SqlRow | undefined;
      if (finished) kept = toDeliveryKept(finished);
    }
    const delivery = kept && deliveryAfterAttempt(input, kept);
    // Not applied: the delivery as it is now (if it still exists).
    const current = delivery ? undefined : (statements.getDelivery.get(input.deliveryId) as SqlRow | undefined);
    // Every attempt is logged, applied or not, as long as its delivery still exists.
    if (delivery || current) {
      const attempt = input.attempt;
      statements.insertAttempt.run(
        attempt.id ?? createId('att', now),
        attempt.deliveryId,
        attempt.messageId,
        attempt.endpointId,
        attempt.number,
        attempt.startedAt,
        attempt.durationMs,
        attempt.statusCode,
        JSON.stringify(attempt.responseHeaders),
        attempt.responseBody,
        attempt.errorCode,
        attempt.success ? 1 : 0,
      );
    }
    if (!delivery) {
      return { applied: false, delivery: current ? toDelivery(current) : undefined, endpoint: before && copyStoredEndpoint(before), previousFailures, disabled: false, notifications: [] };
    }
    const effect = input.endpoint;
    const health = before && endpointAfterAttempt(before, effect);
    const disabled = health?.disabled ?? false;
    let after = before;
    let notifications: StoredNotification[] = [];
    if (before?.rateLimit !== null && before?.rateLimit !== undefined) statements.rateAfterStart.run({ id: endpointId, started: input.attempt.startedAt });
    if (before && health) {
      const { endpoint } = health;
      // The common case (a success on a healthy endpoint) changes nothing: skip the write.
      if (endpoint.consecutiveFailures !== before.consecutiveFailures || endpoint.enabled !== before.enabled || endpoint.pausedUntil !== before.pausedUntil) {
        endpoint.updatedAt = now;
        statements.updateEndpoint.run(endpointParams(endpoint));
        if (disabled) statements.parkEndpoint.run(endpoint.id);
      }
      after = endpoint;
      endpoints.set(endpointId, endpoint);
      // Same transaction as the attempt: a crash keeps both or neither.
      notifications = notificationsFor({ before, after: endpoint, effect, disabled, now });
      for (const notification of notifications) {
        statements.insertNotification.run({ ...notification, endpoint: JSON.stringify(endpointParams(notification.endpoint)) });
      }
    }
    return { applied: true, delivery, endpoint: after && copyStoredEndpoint(after), previousFailures, disabled, notifications };
  }

  return { getEndpointRow, enqueueSync, claimSync, finishSync };
}
