import type { HeaderProfile } from '@hooks/core';
import type { DeliveryStatus, StoredAttempt, StoredDelivery, StoredEndpoint, StoredMessage } from './storage/types';

/** An endpoint as the public API shows it. Never carries a secret. */
export interface Endpoint {
  /** `ep_…` id. */
  id: string;
  /** The customer workspace it belongs to. */
  tenant: string;
  /** Where deliveries are POSTed. */
  url: string;
  /** A label for the settings page. */
  name: string | null;
  /** A free-form description. */
  description: string | null;
  /** Event types delivered; empty = every present and future event. */
  events: string[];
  /** Extra request headers sent with every delivery. */
  headers: Record<string, string>;
  /** Signature header profile. */
  profile: HeaderProfile;
  /** Host-app data. */
  metadata: Record<string, unknown>;
  /** Disabled endpoints receive nothing new; their pending deliveries wait. */
  enabled: boolean;
  /** Why it was disabled: `consecutive_failures`, `gone` (HTTP 410) or the reason given to `disable`. */
  disabledReason: string | null;
  /** Failed attempts in a row. */
  consecutiveFailures: number;
  /** Requests per second allowed, or null for no limit. */
  rateLimit: number | null;
  /** Deliver in order, one at a time. */
  fifo: boolean;
  /** Paused by a `Retry-After` until this time, or null. */
  pausedUntil: Date | null;
  /** Creation time. */
  createdAt: Date;
  /** Last change. */
  updatedAt: Date;
}

/** A sent event. */
export interface Message {
  /** `msg_…` id, the `X-Webhook-Id` of every delivery. */
  id: string;
  /** Tenant it was sent to. */
  tenant: string;
  /** Event type. */
  type: string;
  /** The payload as sent. */
  data: unknown;
  /** The idempotency key given to `send`, if any. */
  idempotencyKey: string | null;
  /** When it was sent; also the envelope timestamp. */
  createdAt: Date;
}

/** One message to one endpoint. */
export interface Delivery {
  /** `dlv_…` id. */
  id: string;
  /** The message. */
  messageId: string;
  /** The endpoint. */
  endpointId: string;
  /** Tenant of the message. */
  tenant: string;
  /** Event type. */
  type: string;
  /** `pending`, `in_flight`, `succeeded` or `failed` (given up; retry by hand). */
  status: DeliveryStatus;
  /** Attempts made. */
  attempts: number;
  /** When the next attempt is due, if pending. */
  nextAttemptAt: Date | null;
  /** HTTP status of the last attempt. */
  lastStatus: number | null;
  /** Error code of the last failed attempt (`http_500`, `timeout`, …). */
  lastError: string | null;
  /** Creation time. */
  createdAt: Date;
  /** Last change. */
  updatedAt: Date;
}

/** One logged HTTP attempt. */
export interface Attempt {
  /** `att_…` id. */
  id: string;
  /** The delivery. */
  deliveryId: string;
  /** The message. */
  messageId: string;
  /** The endpoint. */
  endpointId: string;
  /** 1 for the first attempt. */
  number: number;
  /** When the request started. */
  startedAt: Date;
  /** Milliseconds until the response or the error. */
  durationMs: number;
  /** HTTP status, or null after a network error. */
  statusCode: number | null;
  /** Response headers, lower-case names. */
  responseHeaders: Record<string, string>;
  /** Capped excerpt of the response body. */
  responseBody: string | null;
  /** Null on success; `http_<status>` or a network code (`timeout`, `connection_refused`, `connection_reset`, `dns`, `tls`, `blocked_address`, `network`). */
  errorCode: string | null;
  /** True for a 2xx answer. */
  success: boolean;
}

/** A page of a list. */
export interface Page<T> {
  /** Items of this page. */
  items: T[];
  /** Pass as `cursor` to get the next page; null on the last one. */
  nextCursor: string | null;
}

const date = (value: number): Date => new Date(value);
const maybeDate = (value: number | null): Date | null => (value === null ? null : new Date(value));

/** Public view of a stored endpoint. */
export function toEndpoint(stored: StoredEndpoint): Endpoint {
  return { ...stored, events: [...stored.events], headers: { ...stored.headers }, pausedUntil: maybeDate(stored.pausedUntil), createdAt: date(stored.createdAt), updatedAt: date(stored.updatedAt) };
}

/** Public view of a stored message. */
export function toMessage(stored: StoredMessage): Message {
  let data: unknown;
  try {
    data = JSON.parse(stored.payload);
  } catch {
    data = null;
  }
  return { id: stored.id, tenant: stored.tenant, type: stored.type, data, idempotencyKey: stored.idempotencyKey, createdAt: date(stored.createdAt) };
}

/** Public view of a stored delivery (lease details stay internal). */
export function toDelivery(stored: StoredDelivery): Delivery {
  return {
    id: stored.id,
    messageId: stored.messageId,
    endpointId: stored.endpointId,
    tenant: stored.tenant,
    type: stored.type,
    status: stored.status,
    attempts: stored.attempts,
    nextAttemptAt: stored.status === 'pending' ? maybeDate(stored.nextAttemptAt) : null,
    lastStatus: stored.lastStatus,
    lastError: stored.lastError,
    createdAt: date(stored.createdAt),
    updatedAt: date(stored.updatedAt),
  };
}

/** Public view of a stored attempt. */
export function toAttempt(stored: StoredAttempt): Attempt {
  return { ...stored, responseHeaders: { ...stored.responseHeaders }, startedAt: date(stored.startedAt) };
}
