import type { EventCatalog } from '@hooks/core';

// The part of the sender the admin API calls, written structurally so the admin depends on the
// contract rather than on the sender's internals.

/** A page of an admin list. */
export interface AdminPage<T> {
  /** Items of this page. */
  items: T[];
  /** Cursor of the next page; `null` on the last page. */
  nextCursor: string | null;
}

/** What the admin API needs of every record it returns: its id and the tenant that owns it. */
export interface TenantOwned {
  /** Record id. */
  id: string;
  /** Owning tenant; records of other tenants answer 404. */
  tenant: string;
}

/** What {@link createAdminHandler} needs from a sender (a `createSender` result satisfies it). */
export interface AdminSender {
  /** The event catalog, listed by `GET /event-types` unless the handler is given its own. */
  readonly catalog?: EventCatalog | undefined;
  /** Endpoint management, as `sender.endpoints`. */
  endpoints: {
    /** Creates an endpoint and its first secret. */
    create(input: {
      tenant: string;
      url: string;
      name?: string | null;
      description?: string | null;
      events?: string[];
      headers?: Record<string, string>;
      profile?: 'x-webhook' | 'standard';
      metadata?: Record<string, unknown>;
      rateLimit?: number | null;
      fifo?: boolean;
    }): Promise<{
      /** The stored endpoint. */
      endpoint: TenantOwned;
      /** Its first signing secret (`whsec_…`). */
      secret: string;
    }>;
    /** One endpoint; undefined, or a thrown 404 `SenderError`, when absent. */
    get(id: string): Promise<TenantOwned | undefined>;
    /** Updates the given fields. */
    update(id: string, patch: Record<string, unknown>): Promise<unknown>;
    /** Deletes the endpoint, its secrets and its deliveries. */
    delete(id: string): Promise<unknown>;
    /** Endpoints oldest first, one page. */
    list(query: { tenant?: string; limit?: number; cursor?: string | undefined }): Promise<AdminPage<unknown>>;
    /** Enables the endpoint and resumes its waiting deliveries. */
    enable(id: string): Promise<unknown>;
    /** Disables the endpoint; its pending deliveries wait. */
    disable(id: string, reason?: string): Promise<unknown>;
    /** The secrets currently signing deliveries. */
    getSecrets(id: string): Promise<{
      /** The newest secret. */
      current: string;
      /** Older secrets still signing during a rotation overlap. */
      previous: Array<{
        /** A rotated-out secret. */
        secret: string;
        /** When it stops signing (a `Date`, serialised as an ISO string). */
        expiresAt: unknown;
      }>;
    }>;
    /** Issues a new secret; the old one keeps signing for `overlapMs`. */
    rotateSecret(
      id: string,
      options?: { overlapMs?: number },
    ): Promise<{
      /** The new current secret. */
      secret: string;
    }>;
    /** Re-queues the endpoint's failed deliveries created since `since` (unix milliseconds). */
    recover(id: string, options: { since: number }): Promise<unknown>;
  };
  /** Validates and stores a message for the tenant's matching endpoints. */
  send(input: { tenant: string; type: string; data: unknown; idempotencyKey?: string }): Promise<unknown>;
  /** Sends the catalog's example of `type` to one endpoint. */
  sendTest(endpointId: string, type?: string): Promise<unknown>;
  /** Message log. */
  messages: {
    /** Messages of one tenant, one page. */
    list(query: { tenant: string; limit: number; cursor?: string | undefined; type?: string | undefined; since?: number | undefined; until?: number | undefined }): Promise<AdminPage<unknown>>;
    /** One message; undefined, or a thrown 404 `SenderError`, when absent. */
    get(id: string): Promise<TenantOwned | undefined>;
  };
  /** Delivery log and manual retry. */
  deliveries: {
    /** Deliveries matching the filters, one page. */
    list(query: Record<string, unknown>): Promise<AdminPage<unknown>>;
    /** One delivery; undefined, or a thrown 404 `SenderError`, when absent. */
    get(id: string): Promise<TenantOwned | undefined>;
    /** Re-queues a failed delivery now, with a fresh retry cycle. */
    retry(id: string): Promise<unknown>;
  };
  /** Checks a portal token (`sender.verifyPortalToken`); absent = portal tokens are refused. */
  verifyPortalToken?(token: string): {
    /** The tenant it is limited to. */
    tenant: string;
    /** What it allows. */
    scopes: ReadonlyArray<'read' | 'write'>;
    /** When it stops working. */
    expiresAt: Date;
  };
  /** Attempt log. */
  attempts: {
    /** Attempts of one delivery, one page. */
    list(query: { deliveryId: string; limit: number; cursor?: string | undefined }): Promise<AdminPage<unknown>>;
  };
}
