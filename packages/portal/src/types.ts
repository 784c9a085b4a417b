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
  lastDelivery?: { id: string; type: string; status: DeliveryStatus; lastStatus: number | null; lastError: string | null; createdAt: string; updatedAt: string } | null;
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
  request: { method: string; url: string; headers: Record<string, string>; body: string; redactedHeaders: string[] } | null;
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
