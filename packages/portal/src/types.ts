// The admin API's JSON, as the portal reads it (dates arrive as ISO strings).

/** An endpoint as `GET /endpoints` lists it. */
export interface PortalEndpoint {
  /** `ep_…` id. */
  id: string;
  /** Where deliveries go. */
  url: string;
  /** Label. */
  name: string | null;
  /** Free text. */
  description: string | null;
  /** Subscribed event types; empty = all. */
  events: string[];
  /** Custom request headers. */
  headers: Record<string, string>;
  /** Signature header profile. */
  profile: 'x-webhook' | 'standard';
  /** False when disabled. */
  enabled: boolean;
  /** Why it was disabled. */
  disabledReason: string | null;
  /** Failed attempts in a row. */
  consecutiveFailures: number;
  /** Requests per second, or null. */
  rateLimit: number | null;
  /** In-order delivery. */
  fifo: boolean;
  /** Newest delivery, or null. */
  lastDelivery?: PortalLastDelivery | null;
}

/** The newest delivery of an endpoint, as the endpoint list shows it. */
export interface PortalLastDelivery {
  /** `dlv_…` id. */
  id: string;
  /** Event type. */
  type: string;
  /** State. */
  status: DeliveryStatus;
  /** HTTP status of its last attempt. */
  lastStatus: number | null;
  /** Error code of its last failed attempt. */
  lastError: string | null;
  /** Created. */
  createdAt: string;
  /** Last change. */
  updatedAt: string;
}

/** Delivery states. */
export type DeliveryStatus = 'pending' | 'in_flight' | 'succeeded' | 'failed';

/** A delivery of the log. */
export interface PortalDelivery {
  /** `dlv_…` id. */
  id: string;
  /** The message. */
  messageId: string;
  /** Event type. */
  type: string;
  /** State. */
  status: DeliveryStatus;
  /** Attempts made. */
  attempts: number;
  /** Next attempt, when pending. */
  nextAttemptAt: string | null;
  /** Last HTTP status. */
  lastStatus: number | null;
  /** Last error code. */
  lastError: string | null;
  /** Created. */
  createdAt: string;
}

/** One attempt with the request as sent. */
export interface PortalAttempt {
  /** `att_…` id. */
  id: string;
  /** 1, 2, … */
  number: number;
  /** Start time. */
  startedAt: string;
  /** Milliseconds. */
  durationMs: number;
  /** HTTP status, or null after a network error. */
  statusCode: number | null;
  /** Response headers. */
  responseHeaders: Record<string, string>;
  /** Response body excerpt. */
  responseBody: string | null;
  /** Error code. */
  errorCode: string | null;
  /** 2xx. */
  success: boolean;
  /** The request, rebuilt by the admin API. */
  request: PortalAttemptRequest | null;
}

/** The request of an attempt as sent (rebuilt by the admin API; the signature redacted). */
export interface PortalAttemptRequest {
  /** `POST`. */
  method: string;
  /** The endpoint URL. */
  url: string;
  /** Header names to values, in sending order. */
  headers: Record<string, string>;
  /** The exact body that was signed. */
  body: string;
  /** Headers shown as `[redacted]`. */
  redactedHeaders: string[];
}

/** A catalog entry. */
export interface PortalEventType {
  /** Event type. */
  name: string;
  /** One sentence. */
  description: string | null;
  /** Marked deprecated. */
  deprecated?: boolean;
  /** JSON Schema of `data`. */
  schema?: Record<string, unknown> | null;
  /** Example `data`. */
  example: unknown;
}

/** `GET /session`. */
export interface PortalSession {
  /** Tenant. */
  tenant: string;
  /** Allowed scopes. */
  scopes: Array<'read' | 'write'>;
}

/** A list page. */
export interface PortalPage<T> {
  /** Items. */
  items: T[];
  /** Next page cursor. */
  nextCursor: string | null;
}
