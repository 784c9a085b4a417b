import { createId } from '@hooks/core/internal';
import { SenderError } from '../errors';
import type { EndpointEffect, FinishAttemptInput, PruneOptions, StatsOptions, StoredDelivery, StoredEndpoint, StoredMessage, StoredNotification } from './types';

/** Largest page an adapter returns. */
export const MAX_PAGE_SIZE = 1000;

/** Checks a page size; adapters share the rule so the conformance suite can test it once. */
export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new SenderError('invalid_input', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}.`, { details: { field: 'limit' } });
  }
  return limit;
}

/** Reads an opaque cursor (the insertion sequence of the last item seen); a forged or broken one is bad input, not a crash. */
export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const match = /^c([0-9a-z]{1,11})$/.exec(cursor);
  const value = match?.[1] === undefined ? Number.NaN : Number.parseInt(match[1], 36);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SenderError('invalid_input', 'The cursor is not one this API returned.', { details: { field: 'cursor' } });
  }
  return value;
}

/** The cursor pointing after the item with this sequence. */
export function encodeCursor(sequence: number): string {
  return `c${sequence.toString(36)}`;
}

/** True when an endpoint subscribed to this event type (an empty list means every type). */
export function subscribes(endpoint: Pick<StoredEndpoint, 'events'>, type: string): boolean {
  return endpoint.events.length === 0 || endpoint.events.includes(type);
}

/** A deep-enough copy of an endpoint, so callers never mutate what is stored. */
export function copyEndpoint(endpoint: StoredEndpoint): StoredEndpoint {
  return { ...endpoint, events: [...endpoint.events], headers: { ...endpoint.headers }, metadata: structuredClone(endpoint.metadata) };
}

/** A copy of a message. */
export function copyMessage(message: StoredMessage): StoredMessage {
  return { ...message };
}

/** A delivery of `message` to `endpointId` as enqueued at `now`: pending, due at once, no attempt yet. */
export function newDelivery(id: string, message: Pick<StoredMessage, 'id' | 'tenant' | 'type' | 'createdAt'>, endpointId: string, now: number): StoredDelivery {
  return {
    id,
    messageId: message.id,
    endpointId,
    tenant: message.tenant,
    type: message.type,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    leaseOwner: null,
    leaseUntil: null,
    lastStatus: null,
    lastError: null,
    retryBaseAttempts: 0,
    retryBaseAt: message.createdAt,
    createdAt: now,
    updatedAt: now,
  };
}

/** A copy of a delivery. */
export function copyDelivery(delivery: StoredDelivery): StoredDelivery {
  return { ...delivery };
}

/** A copy of a notification. */
export function copyNotification(notification: StoredNotification): StoredNotification {
  return { ...notification, endpoint: copyEndpoint(notification.endpoint) };
}

/**
 * An endpoint's health after an applied attempt (`effect`, decided by the dispatcher): a success
 * resets the failure count and any pause; a failure counts, disables the endpoint when its
 * reason or the `disableAfter` count says so (`disabled`: it was enabled until now), and pauses
 * it until `pauseUntil` (never shortening a longer pause). Returns a new object; `updatedAt` is
 * left to the caller.
 */
export function endpointAfterAttempt(before: StoredEndpoint, effect: EndpointEffect): { endpoint: StoredEndpoint; disabled: boolean } {
  const endpoint = { ...before };
  let disabled = false;
  if (effect.success) {
    endpoint.consecutiveFailures = 0;
    endpoint.pausedUntil = null;
  } else {
    endpoint.consecutiveFailures += 1;
    const reason = effect.disableReason ?? (effect.disableAfter !== undefined && endpoint.consecutiveFailures >= effect.disableAfter ? 'consecutive_failures' : undefined);
    if (reason !== undefined && endpoint.enabled) {
      endpoint.enabled = false;
      endpoint.disabledReason = reason;
      disabled = true;
    }
    if (effect.pauseUntil !== undefined && (endpoint.pausedUntil === null || endpoint.pausedUntil < effect.pauseUntil)) endpoint.pausedUntil = effect.pauseUntil;
  }
  return { endpoint, disabled };
}

/**
 * The owner notifications an attempt causes (see `Storage.finishAttempt`), for adapters that
 * decide in code (memory, SQLite); PostgreSQL decides the same in SQL.
 */
export function notificationsFor(input: { before: StoredEndpoint; after: StoredEndpoint; effect: EndpointEffect; disabled: boolean; now: number }): StoredNotification[] {
  const { before, after, effect, disabled, now } = input;
  const make = (type: StoredNotification['type'], failures: number, reason: string | null): StoredNotification => ({
    id: createId('ntf', now),
    type,
    endpointId: after.id,
    tenant: after.tenant,
    endpoint: copyEndpoint(after),
    failures,
    reason,
    createdAt: now,
    attempts: 0,
  });
  if (effect.success) {
    return effect.recoveredAfter !== undefined && before.consecutiveFailures >= effect.recoveredAfter ? [make('endpoint.recovered', before.consecutiveFailures, null)] : [];
  }
  if (disabled) return [make('endpoint.disabled', after.consecutiveFailures, after.disabledReason ?? 'consecutive_failures')];
  if (effect.notifyAfter?.includes(after.consecutiveFailures)) return [make('endpoint.failing', after.consecutiveFailures, null)];
  return [];
}

/** Checks prune options; shared so every adapter answers bad input alike. */
export function checkPruneOptions(options: PruneOptions): Required<PruneOptions> {
  const batchSize = options?.batchSize ?? 500;
  const maxBatches = options?.maxBatches ?? Number.POSITIVE_INFINITY;
  if (typeof options?.olderThan !== 'number' || !Number.isFinite(options.olderThan)) {
    throw new SenderError('invalid_input', 'prune needs olderThan: a time in unix milliseconds.', { details: { field: 'olderThan' } });
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new SenderError('invalid_input', 'prune batchSize must be a whole number from 1 to 10000.', { details: { field: 'batchSize' } });
  }
  if (!(maxBatches === Number.POSITIVE_INFINITY || (Number.isInteger(maxBatches) && maxBatches >= 1))) {
    throw new SenderError('invalid_input', 'prune maxBatches must be a whole number >= 1 or Infinity.', { details: { field: 'maxBatches' } });
  }
  return { olderThan: options.olderThan, batchSize, maxBatches };
}

/** Default cap of each count of `Storage.stats`: reading 100,000 index entries stays in the milliseconds. */
export const DEFAULT_STATS_LIMIT = 100_000;

/** Checks the arguments of `Storage.stats`; shared so every adapter answers bad input alike. Returns the count cap. */
export function checkStatsInput(now: number, options: StatsOptions | undefined): number {
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new SenderError('invalid_input', 'stats needs now: a time in unix milliseconds.', { details: { field: 'now' } });
  }
  const limit = options?.limit ?? DEFAULT_STATS_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000_000) {
    throw new SenderError('invalid_input', 'stats limit must be a whole number from 1 to 1000000000.', { details: { field: 'limit' } });
  }
  return limit;
}

/** The columns of a delivery that an attempt result does not set (`attempts` as counted after it). */
export interface DeliveryKept {
  tenant: string;
  type: string;
  attempts: number;
  retryBaseAttempts: number;
  retryBaseAt: number;
  createdAt: number;
}

/** A delivery after its attempt was applied: what the attempt's input set, and the columns it kept. */
export function deliveryAfterAttempt(input: FinishAttemptInput, kept: DeliveryKept): StoredDelivery {
  return {
    id: input.deliveryId,
    messageId: input.attempt.messageId,
    endpointId: input.attempt.endpointId,
    tenant: kept.tenant,
    type: kept.type,
    status: input.next.status,
    attempts: kept.attempts,
    nextAttemptAt: input.next.status === 'pending' ? input.next.nextAttemptAt : null,
    leaseOwner: null,
    leaseUntil: null,
    lastStatus: input.attempt.statusCode,
    lastError: input.attempt.errorCode,
    retryBaseAttempts: kept.retryBaseAttempts,
    retryBaseAt: kept.retryBaseAt,
    createdAt: kept.createdAt,
    updatedAt: input.now,
  };
}
