import { createId } from '@hooks/core/internal';
import { SenderError } from '../errors';
import { checkLimit, checkPruneOptions, checkStatsInput, copyDelivery, copyEndpoint, copyMessage, copyNotification, decodeCursor, encodeCursor, endpointAfterAttempt, newDelivery, notificationsFor, subscribes } from './common';
import type {
  AttemptQuery,
  ClaimedDelivery,
  ClaimInput,
  ClaimNotificationsInput,
  DeliveryQuery,
  EndpointPatch,
  EndpointQuery,
  EnqueueInput,
  EnqueueResult,
  FinishAndClaimResult,
  FinishAttemptInput,
  FinishAttemptResult,
  MessageQuery,
  NewEndpoint,
  PruneOptions,
  PruneResult,
  ReplaceSecretInput,
  RotateSecretInput,
  SettleNotificationInput,
  StatsOptions,
  Storage,
  StoragePage,
  StorageStats,
  StoredAttempt,
  StoredDelivery,
  StoredEndpoint,
  StoredMessage,
  StoredNotification,
  StoredSecret,
} from './types';

interface Row<T> {
  sequence: number;
  value: T;
}

interface NotificationRow {
  sequence: number;
  value: StoredNotification;
  /** When it can next be claimed; null once delivered. */
  dueAt: number | null;
  leaseOwner: string | null;
}

/**
 * Storage in process memory: for tests, demos and the quick start. Nothing survives a restart.
 * Every method runs without awaiting in between, so each one is atomic in a single process.
 * `createSender({ storage: 'memory' })` makes one (and closes it with the sender); create it
 * yourself to share it between senders or to look into it from a test. The sender warns once that
 * nothing survives a restart.
 *
 * @returns An empty storage.
 *
 * @example
 * <!-- prelude: import { events } from './events.js'; -->
 * ```ts
 * import { silentLogger } from '@hooks/core';
 * import { createMemoryStorage, createSender } from '@hooks/sender';
 *
 * const storage = createMemoryStorage();
 * const sender = createSender({ catalog: events, storage, logger: silentLogger });
 * const pending = await storage.listDeliveries({ status: 'pending', limit: 10 });
 * ```
 */
export function createMemoryStorage(): Storage {
  let sequence = 0;
  let closed = false;
  const endpoints = new Map<string, Row<StoredEndpoint>>();
  const secrets = new Map<string, StoredSecret[]>();
  const messages = new Map<string, Row<StoredMessage>>();
  const messageOrder: Row<StoredMessage>[] = [];
  const idempotency = new Map<string, string>();
  const deliveries = new Map<string, Row<StoredDelivery>>();
  const deliveryOrder: Row<StoredDelivery>[] = [];
  const deliveriesByMessage = new Map<string, Row<StoredDelivery>[]>();
  // Pending and in-flight deliveries in creation order: what a claim scans.
  const active = new Map<string, Row<StoredDelivery>>();
  // In-flight deliveries only (few): live leases are counted from here, not from the whole queue.
  const inFlightRows = new Map<string, Row<StoredDelivery>>();
  const attemptOrder: Row<StoredAttempt>[] = [];
  const attemptIds = new Set<string>();
  const notifications: NotificationRow[] = [];
  // Rate-limited endpoints: the earliest time the next claim of each may happen.
  const rateNextAt = new Map<string, number>();

  function open(): void {
    if (closed) throw new SenderError('storage_error', 'The storage is closed.');
  }

  function page<T>(rows: Row<T>[], limit: number, cursor: string | undefined, descending: boolean, keep: (value: T) => boolean, copy: (value: T) => T): StoragePage<T> {
    checkLimit(limit);
    const after = decodeCursor(cursor);
    const items: T[] = [];
    let last = -1;
    let more = false;
    const count = rows.length;
    for (let index = 0; index < count; index++) {
      const row = rows[descending ? count - 1 - index : index] as Row<T>;
      if (after !== undefined && (descending ? row.sequence >= after : row.sequence <= after)) continue;
      if (!keep(row.value)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(copy(row.value));
      last = row.sequence;
    }
    return { items, nextCursor: more ? encodeCursor(last) : null };
  }

  function endActive(row: Row<StoredDelivery>): void {
    if (row.value.status === 'pending' || row.value.status === 'in_flight') active.set(row.value.id, row);
    else active.delete(row.value.id);
    if (row.value.status === 'in_flight') inFlightRows.set(row.value.id, row);
    else inFlightRows.delete(row.value.id);
  }

  /** Puts re-queued deliveries back in creation order, so FIFO endpoints keep their order. */
  function reorderActive(): void {
    const rows = [...active.values()].sort((a, b) => a.sequence - b.sequence);
    active.clear();
    for (const row of rows) active.set(row.value.id, row);
  }

  function requeue(row: Row<StoredDelivery>, now: number): void {
    const delivery = row.value;
    delivery.status = 'pending';
    delivery.nextAttemptAt = now;
    delivery.leaseOwner = null;
    delivery.leaseUntil = null;
    delivery.retryBaseAttempts = delivery.attempts;
    delivery.retryBaseAt = now;
    delivery.updatedAt = now;
    endActive(row);
  }


  function enqueueOne(input: EnqueueInput): EnqueueResult {
    const { message, now } = input;
    if (message.idempotencyKey !== null) {
      const existingId = idempotency.get(`${message.tenant}\u0000${message.idempotencyKey}`);
      const existing = existingId === undefined ? undefined : messages.get(existingId);
      if (existing) {
        const list = deliveriesByMessage.get(existing.value.id) ?? [];
        return { message: copyMessage(existing.value), deliveries: list.map((row) => copyDelivery(row.value)), created: false };
      }
    }
    if (messages.has(message.id)) throw new SenderError('conflict', `A message with id ${message.id} already exists.`);
    const targets: StoredEndpoint[] = [];
    if (input.endpointId !== undefined) {
      const endpoint = endpoints.get(input.endpointId);
      if (endpoint) targets.push(endpoint.value);
    } else {
      for (const row of endpoints.values()) {
        if (row.value.tenant === message.tenant && row.value.enabled && subscribes(row.value, message.type)) targets.push(row.value);
      }
    }
    const stored: StoredMessage = { id: message.id, tenant: message.tenant, type: message.type, payload: message.payload, idempotencyKey: message.idempotencyKey, createdAt: message.createdAt };
    // Absent rather than null, like the SQL adapters' rows.
    if (typeof message.traceContext === 'string') stored.traceContext = message.traceContext;
    const messageRow = { sequence: ++sequence, value: stored };
    messages.set(message.id, messageRow);
    messageOrder.push(messageRow);
    if (message.idempotencyKey !== null) idempotency.set(`${message.tenant}\u0000${message.idempotencyKey}`, message.id);
    const created: Row<StoredDelivery>[] = [];
    for (const endpoint of targets) {
      const delivery = newDelivery(createId('dlv', now), message, endpoint.id, now);
      const row = { sequence: ++sequence, value: delivery };
      deliveries.set(delivery.id, row);
      deliveryOrder.push(row);
      active.set(delivery.id, row);
      created.push(row);
    }
    deliveriesByMessage.set(message.id, created);
    return { message: copyMessage(messageRow.value), deliveries: created.map((row) => copyDelivery(row.value)), created: true };
  }

  function claimOne(input: ClaimInput): ClaimedDelivery[] {
    const { now } = input;
    const claimed: ClaimedDelivery[] = [];
    if (input.limit < 1) return claimed;
    const inFlight = new Map<string, number>();
    for (const row of inFlightRows.values()) {
      if ((row.value.leaseUntil ?? 0) > now) inFlight.set(row.value.endpointId, (inFlight.get(row.value.endpointId) ?? 0) + 1);
    }
    const fifoHeadSeen = new Set<string>();
    // Creation order; stops as soon as the batch is full, so a long queue costs little per claim.
    for (const row of active.values()) {
      if (claimed.length >= input.limit) break;
      const delivery = row.value;
      const endpoint = endpoints.get(delivery.endpointId)?.value;
      if (!endpoint) continue;
      const isFifoHead = endpoint.fifo && !fifoHeadSeen.has(endpoint.id);
      if (endpoint.fifo) fifoHeadSeen.add(endpoint.id);
      if (delivery.status === 'in_flight' && (delivery.leaseUntil ?? 0) > now) continue;
      const due = delivery.status === 'pending' ? (delivery.nextAttemptAt ?? Number.POSITIVE_INFINITY) <= now : true;
      if (!due || !endpoint.enabled) continue;
      if (endpoint.pausedUntil !== null && endpoint.pausedUntil > now) continue;
      if (endpoint.fifo && !isFifoHead) continue;
      const count = inFlight.get(endpoint.id) ?? 0;
      if (count >= input.perEndpointConcurrency) continue;
      // Rate-limited: one at a time, and not before 1000 / rate ms after the previous claim and start.
      if (endpoint.rateLimit !== null && ((rateNextAt.get(endpoint.id) ?? Number.NEGATIVE_INFINITY) > now || count > 0)) continue;
      const message = messages.get(delivery.messageId)?.value;
      if (!message) continue;
      if (endpoint.rateLimit !== null) rateNextAt.set(endpoint.id, now + 1000 / endpoint.rateLimit);
      inFlight.set(endpoint.id, count + 1);
      delivery.status = 'in_flight';
      delivery.leaseOwner = input.owner;
      delivery.leaseUntil = now + input.leaseMs;
      delivery.updatedAt = now;
      inFlightRows.set(delivery.id, row);
      const signing = (secrets.get(endpoint.id) ?? []).filter((secret) => secret.expiresAt === null || secret.expiresAt > now).map((secret) => ({ ...secret }));
      claimed.push({ delivery: copyDelivery(delivery), message: copyMessage(message), endpoint: copyEndpoint(endpoint), secrets: signing });
    }
    return claimed;
    }

  function checkAttemptIds(inputs: readonly FinishAttemptInput[]): void {
    const seen = new Set<string>();
    for (const { attempt } of inputs) {
      if (attempt.id === undefined) continue;
      if (attemptIds.has(attempt.id) || seen.has(attempt.id)) throw new SenderError('conflict', `An attempt with id ${attempt.id} already exists.`);
      seen.add(attempt.id);
    }
  }

  function finishOne(input: FinishAttemptInput): FinishAttemptResult {
    const { now } = input;
    const row = deliveries.get(input.deliveryId);
    const endpointRow = endpoints.get(input.attempt.endpointId);
    if (row) {
      const id = input.attempt.id ?? createId('att', now);
      attemptIds.add(id);
      attemptOrder.push({ sequence: ++sequence, value: { ...input.attempt, id, responseHeaders: { ...input.attempt.responseHeaders } } });
    }
    const previousFailures = endpointRow?.value.consecutiveFailures ?? 0;
    if (row?.value.status !== 'in_flight' || row.value.leaseOwner !== input.owner) {
      return {
        applied: false,
        delivery: row ? copyDelivery(row.value) : undefined,
        endpoint: endpointRow ? copyEndpoint(endpointRow.value) : undefined,
        previousFailures,
        disabled: false,
        notifications: [],
      };
    }
    const rated = endpointRow?.value.rateLimit;
    if (rated !== null && rated !== undefined) {
      rateNextAt.set(input.attempt.endpointId, Math.max(rateNextAt.get(input.attempt.endpointId) ?? Number.NEGATIVE_INFINITY, input.attempt.startedAt + 1000 / rated));
    }
    const delivery = row.value;
    delivery.status = input.next.status;
    delivery.nextAttemptAt = input.next.status === 'pending' ? input.next.nextAttemptAt : null;
    delivery.attempts += 1;
    delivery.leaseOwner = null;
    delivery.leaseUntil = null;
    delivery.lastStatus = input.attempt.statusCode;
    delivery.lastError = input.attempt.errorCode;
    delivery.updatedAt = now;
    endActive(row);
    const health = endpointRow && endpointAfterAttempt(endpointRow.value, input.endpoint);
    const disabled = health?.disabled ?? false;
    const recorded: StoredNotification[] = [];
    if (endpointRow && health) {
      const before = endpointRow.value;
      const { endpoint } = health;
      endpoint.updatedAt = now;
      endpointRow.value = endpoint;
      for (const notification of notificationsFor({ before, after: endpoint, effect: input.endpoint, disabled, now })) {
        notifications.push({ sequence: ++sequence, value: notification, dueAt: now, leaseOwner: null });
        recorded.push(copyNotification(notification));
      }
    }
    return { applied: true, delivery: copyDelivery(delivery), endpoint: endpointRow ? copyEndpoint(endpointRow.value) : undefined, previousFailures, disabled, notifications: recorded };
    }

  const storage: Storage = {
    kind: 'memory',

    async createEndpoint(endpoint: NewEndpoint, secret: StoredSecret) {
      open();
      if (endpoints.has(endpoint.id)) throw new SenderError('conflict', `An endpoint with id ${endpoint.id} already exists.`);
      const stored: StoredEndpoint = copyEndpoint({ ...endpoint, consecutiveFailures: 0, pausedUntil: null, updatedAt: endpoint.createdAt });
      endpoints.set(stored.id, { sequence: ++sequence, value: stored });
      secrets.set(stored.id, [{ ...secret, expiresAt: null }]);
      return copyEndpoint(stored);
    },

    async getEndpoint(id) {
      open();
      const row = endpoints.get(id);
      return row ? copyEndpoint(row.value) : undefined;
    },

    async updateEndpoint(id: string, patch: EndpointPatch, now: number) {
      open();
      const row = endpoints.get(id);
      if (!row) return undefined;
      const next: StoredEndpoint = { ...row.value };
      for (const [key, value] of Object.entries(patch)) {
        if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
      }
      next.updatedAt = now;
      const resumed = !row.value.enabled && next.enabled;
      row.value = copyEndpoint(next);
      if (resumed) {
        // Waiting deliveries resume at once, not at a retry time planned before the disablement.
        for (const delivery of active.values()) {
          if (delivery.value.endpointId === id && delivery.value.status === 'pending' && (delivery.value.nextAttemptAt ?? now) > now) {
            delivery.value.nextAttemptAt = now;
            delivery.value.updatedAt = now;
          }
        }
      }
      return copyEndpoint(row.value);
    },

    async deleteEndpoint(id) {
      open();
      if (!endpoints.delete(id)) return false;
      secrets.delete(id);
      for (let index = deliveryOrder.length - 1; index >= 0; index--) {
        const row = deliveryOrder[index] as Row<StoredDelivery>;
        if (row.value.endpointId !== id) continue;
        deliveryOrder.splice(index, 1);
        deliveries.delete(row.value.id);
        active.delete(row.value.id);
        inFlightRows.delete(row.value.id);
        const siblings = deliveriesByMessage.get(row.value.messageId);
        if (siblings) siblings.splice(siblings.indexOf(row), 1);
      }
      for (let index = attemptOrder.length - 1; index >= 0; index--) {
        const attempt = (attemptOrder[index] as Row<StoredAttempt>).value;
        if (attempt.endpointId === id) {
          attemptOrder.splice(index, 1);
          attemptIds.delete(attempt.id);
        }
      }
      return true;
    },

    async listEndpoints(query: EndpointQuery) {
      open();
      const rows = [...endpoints.values()];
      return page(rows, query.limit, query.cursor, false, (endpoint) => query.tenant === undefined || endpoint.tenant === query.tenant, copyEndpoint);
    },

    async listSecrets(endpointId) {
      open();
      const list = secrets.get(endpointId);
      return list ? list.map((secret) => ({ ...secret })) : undefined;
    },

    async rotateSecret(input: RotateSecretInput) {
      open();
      const list = secrets.get(input.endpointId);
      if (!list) return false;
      const kept = list
        .map((secret) => (secret.expiresAt === null ? { ...secret, expiresAt: input.previousExpiresAt } : secret))
        .filter((secret) => secret.expiresAt !== null && secret.expiresAt > input.now)
        .sort((a, b) => b.createdAt - a.createdAt);
      secrets.set(input.endpointId, [{ secret: input.secret, createdAt: input.now, expiresAt: null }, ...kept]);
      return true;
    },

    async replaceSecret(input: ReplaceSecretInput) {
      open();
      const list = secrets.get(input.endpointId);
      const found = list?.find((secret) => secret.secret === input.from);
      if (!found) return false;
      found.secret = input.to;
      return true;
    },

    async enqueueMessage(input: EnqueueInput): Promise<EnqueueResult> {
      open();
      return enqueueOne(input);
    },

    async enqueueMessages(inputs: readonly EnqueueInput[]): Promise<EnqueueResult[]> {
      open();
      // All or nothing: refuse a duplicate id before writing anything.
      const ids = new Set<string>();
      for (const input of inputs) {
        const { message } = input;
        const keyed = message.idempotencyKey !== null && idempotency.has(`${message.tenant}\u0000${message.idempotencyKey}`);
        if (!keyed && (messages.has(message.id) || ids.has(message.id))) throw new SenderError('conflict', `A message with id ${message.id} already exists.`);
        ids.add(message.id);
      }
      return inputs.map(enqueueOne);
    },

    async getMessage(id) {
      open();
      const row = messages.get(id);
      return row ? copyMessage(row.value) : undefined;
    },

    async listMessages(query: MessageQuery) {
      open();
      return page(
        messageOrder,
        query.limit,
        query.cursor,
        true,
        (message) =>
          (query.tenant === undefined || message.tenant === query.tenant) &&
          (query.type === undefined || message.type === query.type) &&
          (query.since === undefined || message.createdAt >= query.since) &&
          (query.until === undefined || message.createdAt < query.until),
        copyMessage,
      );
    },

    async finishAttemptsAndClaim(inputs: readonly FinishAttemptInput[], claim: ClaimInput): Promise<FinishAndClaimResult> {
      open();
      checkAttemptIds(inputs);
      const results = inputs.map(finishOne);
      return { results, claimed: claimOne(claim) };
    },

    async claimDeliveries(input: ClaimInput): Promise<ClaimedDelivery[]> {
      open();
      return claimOne(input);
    },

    async finishAttempt(input: FinishAttemptInput): Promise<FinishAttemptResult> {
      open();
      checkAttemptIds([input]);
      return finishOne(input);
    },

    async finishAttempts(inputs: readonly FinishAttemptInput[]): Promise<FinishAttemptResult[]> {
      open();
      // All or nothing: refuse a duplicate attempt id before applying anything.
      checkAttemptIds(inputs);
      return inputs.map(finishOne);
    },

    async releaseDeliveries(owner, options) {
      open();
      const ids = options.ids ? new Set(options.ids) : undefined;
      let released = 0;
      for (const row of [...inFlightRows.values()]) {
        const delivery = row.value;
        if (delivery.status !== 'in_flight' || delivery.leaseOwner !== owner) continue;
        if (ids && !ids.has(delivery.id)) continue;
        delivery.status = 'pending';
        delivery.leaseOwner = null;
        delivery.leaseUntil = null;
        inFlightRows.delete(delivery.id);
        if (options.nextAttemptAt !== undefined) delivery.nextAttemptAt = options.nextAttemptAt;
        delivery.updatedAt = options.now;
        released++;
      }
      return released;
    },

    async getDelivery(id) {
      open();
      const row = deliveries.get(id);
      return row ? copyDelivery(row.value) : undefined;
    },

    async listDeliveries(query: DeliveryQuery) {
      open();
      const rows = query.messageId !== undefined ? (deliveriesByMessage.get(query.messageId) ?? []) : deliveryOrder;
      return page(
        rows,
        query.limit,
        query.cursor,
        true,
        (delivery) =>
          (query.tenant === undefined || delivery.tenant === query.tenant) &&
          (query.endpointId === undefined || delivery.endpointId === query.endpointId) &&
          (query.messageId === undefined || delivery.messageId === query.messageId) &&
          (query.status === undefined || delivery.status === query.status) &&
          (query.type === undefined || delivery.type === query.type) &&
          (query.since === undefined || delivery.createdAt >= query.since) &&
          (query.until === undefined || delivery.createdAt < query.until),
        copyDelivery,
      );
    },

    async retryDelivery(id, now) {
      open();
      const row = deliveries.get(id);
      if (!row) return undefined;
      if (row.value.status === 'failed' || row.value.status === 'pending') {
        requeue(row, now);
        reorderActive();
      }
      return copyDelivery(row.value);
    },

    async recoverDeliveries(endpointId, since, now) {
      open();
      let count = 0;
      for (const row of deliveryOrder) {
        if (row.value.endpointId === endpointId && row.value.status === 'failed' && row.value.createdAt >= since) {
          requeue(row, now);
          count++;
        }
      }
      if (count > 0) reorderActive();
      return count;
    },

    async listAttempts(query: AttemptQuery) {
      open();
      return page(
        attemptOrder,
        query.limit,
        query.cursor,
        true,
        (attempt) =>
          (query.deliveryId === undefined || attempt.deliveryId === query.deliveryId) &&
          (query.endpointId === undefined || attempt.endpointId === query.endpointId) &&
          (query.messageId === undefined || attempt.messageId === query.messageId) &&
          (query.success === undefined || attempt.success === query.success) &&
          (query.since === undefined || attempt.startedAt >= query.since) &&
          (query.until === undefined || attempt.startedAt < query.until),
        (attempt) => ({ ...attempt, responseHeaders: { ...attempt.responseHeaders } }),
      );
    },

    async claimNotifications(input: ClaimNotificationsInput) {
      open();
      const claimed: StoredNotification[] = [];
      const types = new Set<string>(input.types);
      for (const row of notifications) {
        if (claimed.length >= input.limit) break;
        if (row.dueAt === null || row.dueAt > input.now || !types.has(row.value.type)) continue;
        row.dueAt = input.now + input.leaseMs;
        row.leaseOwner = input.owner;
        row.value.attempts += 1;
        claimed.push(copyNotification(row.value));
      }
      return claimed;
    },

    async settleNotification(input: SettleNotificationInput) {
      open();
      const row = notifications.find((candidate) => candidate.value.id === input.id);
      if (!row || row.leaseOwner !== input.owner || row.dueAt === null) return false;
      row.leaseOwner = null;
      row.dueAt = input.delivered ? null : (input.retryAt ?? input.now);
      return true;
    },

    async stats(now: number, options?: StatsOptions): Promise<StorageStats> {
      open();
      const limit = checkStatsInput(now, options);
      let due = 0;
      let scheduled = 0;
      let inFlight = 0;
      let oldestDueAt: number | null = null;
      // Pending and in-flight deliveries only; a test-sized queue, so a scan is fine here.
      for (const row of active.values()) {
        const delivery = row.value;
        let dueAt: number;
        if (delivery.status === 'in_flight') {
          dueAt = delivery.leaseUntil ?? 0;
          if (dueAt > now) {
            inFlight++;
            continue;
          }
        } else {
          // Waiting on a disabled endpoint (parked, as the SQL adapters call it): not queued.
          if (!endpoints.get(delivery.endpointId)?.value.enabled) continue;
          dueAt = delivery.nextAttemptAt ?? Number.POSITIVE_INFINITY;
          if (dueAt > now) {
            scheduled++;
            continue;
          }
        }
        due++;
        if (oldestDueAt === null || dueAt < oldestDueAt) oldestDueAt = dueAt;
      }
      return { due: Math.min(due, limit), scheduled: Math.min(scheduled, limit), inFlight: Math.min(inFlight, limit), oldestDueAt };
    },

    async migrate() {
      open();
    },

    async prune(options: PruneOptions): Promise<PruneResult> {
      open();
      const { olderThan, batchSize, maxBatches } = checkPruneOptions(options);
      const total: PruneResult = { messages: 0, deliveries: 0, attempts: 0, notifications: 0, batches: 0 };
      const finished = (id: string) => (deliveriesByMessage.get(id) ?? []).every((row) => row.value.status === 'succeeded' || row.value.status === 'failed');
      while (total.batches < maxBatches) {
        const picked = messageOrder.filter((row) => row.value.createdAt < olderThan && finished(row.value.id)).slice(0, batchSize);
        total.batches++;
        const gone = new Set(picked.map((row) => row.value.id));
        const goneDeliveries = new Set<string>();
        for (const row of picked) {
          messages.delete(row.value.id);
          if (row.value.idempotencyKey !== null) idempotency.delete(`${row.value.tenant}\u0000${row.value.idempotencyKey}`);
          for (const delivery of deliveriesByMessage.get(row.value.id) ?? []) {
            goneDeliveries.add(delivery.value.id);
            deliveries.delete(delivery.value.id);
          }
          deliveriesByMessage.delete(row.value.id);
        }
        if (gone.size > 0) {
          for (let index = messageOrder.length - 1; index >= 0; index--) if (gone.has((messageOrder[index] as Row<StoredMessage>).value.id)) messageOrder.splice(index, 1);
          for (let index = deliveryOrder.length - 1; index >= 0; index--) if (goneDeliveries.has((deliveryOrder[index] as Row<StoredDelivery>).value.id)) deliveryOrder.splice(index, 1);
          const before = attemptOrder.length;
          for (let index = attemptOrder.length - 1; index >= 0; index--) {
            const attempt = (attemptOrder[index] as Row<StoredAttempt>).value;
            if (goneDeliveries.has(attempt.deliveryId)) {
              attemptOrder.splice(index, 1);
              attemptIds.delete(attempt.id);
            }
          }
          total.attempts += before - attemptOrder.length;
        }
        total.messages += gone.size;
        total.deliveries += goneDeliveries.size;
        if (picked.length < batchSize) break;
      }
      for (let index = notifications.length - 1; index >= 0; index--) {
        const row = notifications[index] as NotificationRow;
        if (row.dueAt === null && row.value.createdAt < olderThan) {
          notifications.splice(index, 1);
          total.notifications++;
        }
      }
      return total;
    },

    async close() {
      closed = true;
    },
  };
  return storage;
}
