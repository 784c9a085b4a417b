/**
 * The storage interface of `@hooks/sender`.
 *
 * Every method is ONE atomic unit of work: an adapter runs it in a single transaction (SQLite
 * `BEGIN IMMEDIATE`, PostgreSQL `BEGIN … COMMIT`) or under one lock (memory), so a crash or a
 * concurrent call never sees half of it. The sender never composes several calls into a
 * transaction of its own; that keeps adapters simple and lets PostgreSQL claim with
 * `SELECT … FOR UPDATE SKIP LOCKED` inside {@link Storage.claimDeliveries}.
 *
 * Rules every adapter follows (the conformance suite in `test/conformance` checks them):
 * - Times are unix milliseconds (`number`). Storage never reads a clock: the sender passes `now`.
 * - Ids are created by the caller (endpoints, messages, and attempts when given), except delivery
 *   ids, which adapters create with `createId('dlv', now)` from `@hooks/core` during fan-out.
 * - Records returned are fresh copies; mutating them changes nothing stored.
 * - "Not found" is `undefined` (or `false`), never an exception. Exceptions are for broken
 *   input (a malformed cursor → `SenderError('invalid_input')`), a duplicate id
 *   (`SenderError('conflict')`) or a broken database (`SenderError('storage_error')`).
 * - Lists are ordered by an insertion sequence and paginated with an opaque `cursor` string;
 *   `nextCursor` is `null` on the last page.
 */

/** Header names used when signing: `x-webhook` (`X-Webhook-*`) or `standard` (`webhook-*`). */
export type StoredHeaderProfile = 'x-webhook' | 'standard';

/** Where a delivery is in its life. */
export type DeliveryStatus = 'pending' | 'in_flight' | 'succeeded' | 'failed';

/** One endpoint of a tenant, as stored. Holds no secret. */
export interface StoredEndpoint {
  /** `ep_…` id. */
  id: string;
  /** The customer workspace the endpoint belongs to. */
  tenant: string;
  /** Where deliveries are POSTed. */
  url: string;
  /** A label shown in the settings page. */
  name: string | null;
  /** A free-form description. */
  description: string | null;
  /** Event types delivered; empty means every present and future event. */
  events: string[];
  /** Extra request headers sent with every delivery. */
  headers: Record<string, string>;
  /** Signature header profile. */
  profile: StoredHeaderProfile;
  /** Host-app data, stored as JSON. */
  metadata: Record<string, unknown>;
  /** Disabled endpoints get no new deliveries and their pending ones wait. */
  enabled: boolean;
  /** Why the endpoint was disabled (`consecutive_failures`, `gone`, or a host-given reason). */
  disabledReason: string | null;
  /** Failed attempts in a row; reset by a success or by enabling. */
  consecutiveFailures: number;
  /** Requests per second allowed to this endpoint; `null` = unlimited. */
  rateLimit: number | null;
  /** When true, a delivery is attempted only after every earlier one succeeded or failed for good. */
  fifo: boolean;
  /** No delivery is claimed for this endpoint before this time (set by `Retry-After`); `null` = not paused. */
  pausedUntil: number | null;
  /** Creation time. */
  createdAt: number;
  /** Last change time. */
  updatedAt: number;
}

/** Fields of a new endpoint. */
export type NewEndpoint = Omit<StoredEndpoint, 'consecutiveFailures' | 'pausedUntil' | 'updatedAt'>;

/** Changes to an endpoint; absent fields are kept. */
export type EndpointPatch = Partial<
  Pick<
    StoredEndpoint,
    'url' | 'name' | 'description' | 'events' | 'headers' | 'profile' | 'metadata' | 'enabled' | 'disabledReason' | 'rateLimit' | 'fifo' | 'pausedUntil' | 'consecutiveFailures'
  >
>;

/** One signing secret of an endpoint. */
export interface StoredSecret {
  /** The `whsec_…` secret (or `whsk_…` key). */
  secret: string;
  /** When it was issued. */
  createdAt: number;
  /** When it stops signing; `null` for the current secret. */
  expiresAt: number | null;
}

/** One event sent by the host app. */
export interface StoredMessage {
  /** `msg_…` id: the `X-Webhook-Id` of every delivery of it. */
  id: string;
  /** Tenant it was sent to. */
  tenant: string;
  /** Event type. */
  type: string;
  /** `JSON.stringify(data)`: the exact bytes placed in the envelope's `data`. */
  payload: string;
  /** Host-given key; unique per tenant when not null. */
  idempotencyKey: string | null;
  /** When it was sent (also the envelope `timestamp`). */
  createdAt: number;
  /**
   * W3C trace context of the send, as JSON text `{"traceparent":"00-…","tracestate":"…"}`; each
   * attempt sends it as `traceparent` (and `tracestate`) request headers. `null` or absent: none.
   */
  traceContext?: string | null;
}

/** One message to one endpoint. */
export interface StoredDelivery {
  /** `dlv_…` id. */
  id: string;
  /** The message delivered. */
  messageId: string;
  /** The target endpoint. */
  endpointId: string;
  /** Copied from the message, for filtering. */
  tenant: string;
  /** Copied from the message, for filtering. */
  type: string;
  /** Current status. */
  status: DeliveryStatus;
  /** Attempts finished so far (the next one sends `X-Webhook-Attempt: attempts + 1`). */
  attempts: number;
  /** When the next attempt is due while `pending`; `null` once finished. */
  nextAttemptAt: number | null;
  /** Dispatcher that holds the lease while `in_flight`. */
  leaseOwner: string | null;
  /** Lease expiry; after it the delivery may be claimed again. */
  leaseUntil: number | null;
  /** HTTP status of the last attempt, if it got one. */
  lastStatus: number | null;
  /** Error code of the last failed attempt (`http_500`, `timeout`, …). */
  lastError: string | null;
  /** Attempt count when the current retry cycle began (0, or the count at a manual retry). */
  retryBaseAttempts: number;
  /** When the current retry cycle began (message time, or the time of a manual retry); the age cap counts from here. */
  retryBaseAt: number;
  /** Creation time. */
  createdAt: number;
  /** Last change time. */
  updatedAt: number;
}

/** One HTTP attempt of a delivery, as logged. */
export interface StoredAttempt {
  /** `att_…` id. */
  id: string;
  /** The delivery attempted. */
  deliveryId: string;
  /** Its message. */
  messageId: string;
  /** Its endpoint. */
  endpointId: string;
  /** 1 for the first attempt. */
  number: number;
  /** When the request started. */
  startedAt: number;
  /** How long until the response (or the error). */
  durationMs: number;
  /** HTTP status, or `null` on a network error. */
  statusCode: number | null;
  /** Response headers (lower-case names). */
  responseHeaders: Record<string, string>;
  /** Capped excerpt of the response body. */
  responseBody: string | null;
  /** `null` on success; `http_<status>` or a network code (`timeout`, `connection_refused`, …) otherwise. */
  errorCode: string | null;
  /** True for a 2xx answer. */
  success: boolean;
}

/** A page of a list. */
export interface StoragePage<T> {
  /** Items of this page. */
  items: T[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

/** Common pagination input. */
export interface PageQuery {
  /** Page size (adapters accept 1..1000). */
  limit: number;
  /** A `nextCursor` from a previous page. */
  cursor?: string | undefined;
}

/** Filters of {@link Storage.listEndpoints}; ordered oldest first. */
export interface EndpointQuery extends PageQuery {
  /** Only this tenant's endpoints. */
  tenant?: string | undefined;
}

/** Filters of {@link Storage.listMessages}; ordered newest first. */
export interface MessageQuery extends PageQuery {
  /** Only this tenant. */
  tenant?: string | undefined;
  /** Only this event type. */
  type?: string | undefined;
  /** `createdAt >= since`. */
  since?: number | undefined;
  /** `createdAt < until`. */
  until?: number | undefined;
}

/** Filters of {@link Storage.listDeliveries}; ordered newest first. */
export interface DeliveryQuery extends PageQuery {
  /** Only this tenant. */
  tenant?: string | undefined;
  /** Only this endpoint. */
  endpointId?: string | undefined;
  /** Only this message. */
  messageId?: string | undefined;
  /** Only this status. */
  status?: DeliveryStatus | undefined;
  /** Only this event type. */
  type?: string | undefined;
  /** `createdAt >= since`. */
  since?: number | undefined;
  /** `createdAt < until`. */
  until?: number | undefined;
}

/** Filters of {@link Storage.listAttempts}; ordered newest first. */
export interface AttemptQuery extends PageQuery {
  /** Only this delivery. */
  deliveryId?: string | undefined;
  /** Only this endpoint. */
  endpointId?: string | undefined;
  /** Only this message. */
  messageId?: string | undefined;
  /** Only successful (true) or failed (false) attempts. */
  success?: boolean | undefined;
  /** `startedAt >= since`. */
  since?: number | undefined;
  /** `startedAt < until`. */
  until?: number | undefined;
}

/** Input of {@link Storage.enqueueMessage}. */
export interface EnqueueInput {
  /** The message to store (its id is new). */
  message: StoredMessage;
  /**
   * Deliver only to this endpoint, whatever its event filter or enabled flag (test sends).
   * When absent: one delivery per ENABLED endpoint of `message.tenant` whose `events` is
   * empty or contains `message.type`.
   */
  /** Only this endpoint. */
  endpointId?: string | undefined;
  /** Creation time of the deliveries; they are due at once (`nextAttemptAt = now`). */
  now: number;
}

/** Result of {@link Storage.enqueueMessage}. */
export interface EnqueueResult {
  /** The stored message: the new one, or the earlier one with the same idempotency key. */
  message: StoredMessage;
  /** Deliveries of that message (created now, or the existing ones on an idempotent repeat). */
  deliveries: StoredDelivery[];
  /** False when the idempotency key was already used (nothing was written). */
  created: boolean;
}

/** Input of {@link Storage.claimDeliveries}. */
export interface ClaimInput {
  /** Unique id of the claiming dispatcher; written to `leaseOwner`. */
  owner: string;
  /** Current time. */
  now: number;
  /** Lease length: the claim is taken back by anyone after `now + leaseMs`. */
  leaseMs: number;
  /** At most this many deliveries. */
  limit: number;
  /** At most this many deliveries of one endpoint in flight (unexpired leases, any owner, including this claim). */
  perEndpointConcurrency: number;
}

/** A claimed delivery with what is needed to send it. */
export interface ClaimedDelivery {
  /** The delivery, now `in_flight` with this claim's lease. */
  delivery: StoredDelivery;
  /** Its message. */
  message: StoredMessage;
  /** Its endpoint at claim time. */
  endpoint: StoredEndpoint;
  /**
   * The endpoint's signing secrets valid at the claim's `now` (not expired), as stored (maybe
   * `enc1:` ciphertexts): current first, then previous ones newest first. Read in the claim itself
   * so an attempt needs no other read.
   */
  secrets: StoredSecret[];
}

/** What happened to the endpoint in {@link Storage.finishAttempt}. */
export interface EndpointEffect {
  /** True when the attempt succeeded: the failure count resets to 0 and any pause is lifted. */
  success: boolean;
  /** On failure, disable the endpoint when the new failure count reaches this number. */
  disableAfter?: number | undefined;
  /** Disable the endpoint now with this reason (e.g. `gone` on HTTP 410). */
  disableReason?: string | undefined;
  /** Pause the endpoint until this time (Retry-After); kept if a later pause is already set. */
  pauseUntil?: number | undefined;
  /** On failure, record an `endpoint.failing` notification when the new failure count is one of these. @default [] */
  notifyAfter?: readonly number[] | undefined;
  /** On success, record an `endpoint.recovered` notification when the failure count before it was at least this. @default undefined (never) */
  recoveredAfter?: number | undefined;
}

/** Owner notifications recorded by {@link Storage.finishAttempt}. */
export type NotificationType = 'endpoint.failing' | 'endpoint.disabled' | 'endpoint.recovered';

/**
 * A durable owner notification (transactional outbox): written in the same transaction as the
 * attempt that caused it, handed to the host at least once, from any process, until settled.
 */
export interface StoredNotification {
  /** `ntf_…` id, stable across redeliveries: hosts dedupe on it. */
  id: string;
  /** What happened. */
  type: NotificationType;
  /** The endpoint concerned. */
  endpointId: string;
  /** Its tenant. */
  tenant: string;
  /** The endpoint as it was when the notification was recorded. */
  endpoint: StoredEndpoint;
  /** `endpoint.failing` / `endpoint.disabled`: failures in a row; `endpoint.recovered`: failures in a row before the success. */
  failures: number;
  /** `endpoint.disabled`: why (`consecutive_failures`, `gone`); otherwise null. */
  reason: string | null;
  /** When it was recorded. */
  createdAt: number;
  /** Times it was handed to a host (claimed) so far, this claim included. */
  attempts: number;
}

/** Input of {@link Storage.claimNotifications}. */
export interface ClaimNotificationsInput {
  /** Unique id of the claiming dispatcher. */
  owner: string;
  /** Current time. */
  now: number;
  /** Lease length: an unsettled notification is claimable again after `now + leaseMs`. */
  leaseMs: number;
  /** At most this many. */
  limit: number;
  /** Only these types (the ones this process has listeners for). */
  types: readonly NotificationType[];
}

/** Input of {@link Storage.settleNotification}. */
export interface SettleNotificationInput {
  /** The notification. */
  id: string;
  /** The claimer; nothing changes unless it still holds the lease. */
  owner: string;
  /** Current time. */
  now: number;
  /** True: handed over (never claimed again). False: claimable again at `retryAt`. */
  delivered: boolean;
  /** When to hand it over again (with `delivered: false`). */
  retryAt?: number | undefined;
  /** Why the hand-over failed (a short error message, never a secret). */
  error?: string | undefined;
}

/** Input of {@link Storage.prune}. */
export interface PruneOptions {
  /** Delete messages created before this time (unix ms), with their deliveries and attempts, once every delivery of the message has finished; and delivered notifications recorded before it. */
  olderThan: number;
  /** Messages deleted per transaction; smaller batches hold locks for less time. @default 500 */
  batchSize?: number;
  /** Stop after this many batches (the next call continues). @default Infinity */
  maxBatches?: number;
}

/** Result of {@link Storage.prune}. */
export interface PruneResult {
  /** Messages deleted. */
  messages: number;
  /** Deliveries deleted. */
  deliveries: number;
  /** Attempts deleted. */
  attempts: number;
  /** Delivered notifications deleted. */
  notifications: number;
  /** Transactions used. */
  batches: number;
}

/** Options of {@link Storage.stats}. */
export interface StatsOptions {
  /**
   * Each count stops at this number (a count equal to it means "at least this many"), so a
   * scrape reads a bounded number of index entries however large the backlog. @default 100_000
   */
  limit?: number | undefined;
}

/** The queue of a storage at one time, for metrics (see {@link Storage.stats}). Deliveries waiting on a disabled endpoint are in none of the counts. */
export interface StorageStats {
  /** Deliveries waiting for a dispatcher: `pending` ones due at or before `now`, and `in_flight` ones whose lease expired (their dispatcher died). At most `limit`. */
  due: number;
  /** `pending` deliveries due after `now` (retries waiting for their time). At most `limit`. */
  scheduled: number;
  /** Deliveries leased by a dispatcher of any process (lease not expired). At most `limit`. */
  inFlight: number;
  /** When the longest-waiting due delivery became due (unix milliseconds); `null` when none is due. */
  oldestDueAt: number | null;
}

/** Input of {@link Storage.replaceSecret}. */
export interface ReplaceSecretInput {
  /** The endpoint. */
  endpointId: string;
  /** The stored value to replace, exactly as {@link Storage.listSecrets} returned it. */
  from: string;
  /** The new stored value (the same secret, encrypted under another key). */
  to: string;
}

/** Input of {@link Storage.finishAttempt}. */
export interface FinishAttemptInput {
  /** The delivery attempted. */
  deliveryId: string;
  /** The claimer; the delivery is updated only if it still holds the lease. */
  owner: string;
  /** The attempt to log. Adapters store the caller's `att_…` id when given (the dispatcher always gives one, so host events carry the logged id), else create one with `createId('att', now)`. */
  attempt: Omit<StoredAttempt, 'id'> & {
    /** The attempt id (`att_…`) to store; created by the adapter when absent. */
    id?: string | undefined;
  };
  /** The delivery's next state: `succeeded`, `failed` (given up) or `pending` again at `nextAttemptAt`. */
  next: {
    /** The delivery's new status. */
    status: 'succeeded' | 'failed' | 'pending';
    /** When to try again, in unix milliseconds, for `pending`; `null` otherwise. */
    nextAttemptAt: number | null;
  };
  /** Effect on the endpoint's failure count, enabled flag and pause. */
  endpoint: EndpointEffect;
  /** Current time. */
  now: number;
}

/** Result of {@link Storage.finishAttempt}. */
export interface FinishAttemptResult {
  /** False when the lease was lost (expired and reclaimed): the attempt is logged but the delivery and endpoint are unchanged. */
  applied: boolean;
  /** The delivery after the update (undefined if it was deleted meanwhile). */
  delivery: StoredDelivery | undefined;
  /** The endpoint after the update (undefined if it was deleted meanwhile). */
  endpoint: StoredEndpoint | undefined;
  /** Failure count before this attempt. */
  previousFailures: number;
  /** True when this call disabled the endpoint. */
  disabled: boolean;
  /** Notifications recorded in the same transaction (none when not applied). */
  notifications: StoredNotification[];
}

/** Result of {@link Storage.finishAttemptsAndClaim}. */
export interface FinishAndClaimResult {
  /** One result per attempt, in input order. */
  results: FinishAttemptResult[];
  /** The deliveries claimed after them. */
  claimed: ClaimedDelivery[];
}

/** Input of {@link Storage.rotateSecret}. */
export interface RotateSecretInput {
  /** The endpoint whose secret is rotated. */
  endpointId: string;
  /** The new current secret. */
  secret: string;
  /** Until when the old current secret keeps signing. */
  previousExpiresAt: number;
  /** Current time; secrets expired at `now` are deleted. */
  now: number;
}

/**
 * Where `@hooks/sender` keeps endpoints, secrets, messages, deliveries and attempts.
 * Implementations: memory, SQLite, PostgreSQL. Run `describeStorageConformance` on a new one.
 */
export interface Storage {
  /** Adapter name for logs and benchmarks (`memory`, `sqlite`, `postgres`). */
  readonly kind: string;
  /**
   * True when writes on separate connections run side by side (a database server with a pool, as
   * PostgreSQL). While its claims come back full, the dispatcher then claims on its own, beside
   * its attempt-result writes, instead of sending its next claim with them
   * ({@link finishAttemptsAndClaim}): the slots a result write frees wait only for that write, not
   * for a claim too. After a claim came back short (other processes share the work, limits bind)
   * the claim rides with the results again, which costs less CPU. False or absent (one connection in the
   * process, as SQLite): the claim rides with the results, one transaction and one commit.
   * @default false
   */
  readonly parallelWrites?: boolean;

  // ---- endpoints -------------------------------------------------------------------------

  /** Stores a new endpoint with its first (current) secret. Duplicate id → `SenderError('conflict')`. */
  createEndpoint(endpoint: NewEndpoint, secret: StoredSecret): Promise<StoredEndpoint>;
  /** One endpoint, or undefined. */
  getEndpoint(id: string): Promise<StoredEndpoint | undefined>;
  /**
   * Applies `patch` and sets `updatedAt = now`; undefined when the endpoint does not exist.
   * Enabling a disabled endpoint also makes its waiting (`pending`) deliveries due at `now`, so
   * they resume at once instead of at a retry time planned before the endpoint was disabled.
   */
  updateEndpoint(id: string, patch: EndpointPatch, now: number): Promise<StoredEndpoint | undefined>;
  /** Deletes the endpoint, its secrets, its deliveries and their attempts (messages stay). False when absent. */
  deleteEndpoint(id: string): Promise<boolean>;
  /** Endpoints oldest first. */
  listEndpoints(query: EndpointQuery): Promise<StoragePage<StoredEndpoint>>;

  // ---- secrets ---------------------------------------------------------------------------

  /** Secrets of an endpoint, current first then previous ones newest first, including expired ones not yet pruned; undefined when the endpoint does not exist. */
  listSecrets(endpointId: string): Promise<StoredSecret[] | undefined>;
  /**
   * Makes `secret` current; the old current secret gets `expiresAt = previousExpiresAt`;
   * previous secrets expired at `now` are deleted. False when the endpoint does not exist.
   */
  rotateSecret(input: RotateSecretInput): Promise<boolean>;
  /**
   * Replaces one stored secret value by another (re-encryption under a new key), only if it is
   * still stored as `from` (a rotation meanwhile wins). True when replaced.
   */
  replaceSecret(input: ReplaceSecretInput): Promise<boolean>;

  // ---- messages and fan-out ---------------------------------------------------------------

  /**
   * Stores a message and its deliveries in one transaction. When `message.idempotencyKey` is
   * already used in that tenant, writes nothing and returns the first message (`created: false`).
   */
  enqueueMessage(input: EnqueueInput): Promise<EnqueueResult>;
  /**
   * Stores several messages with their deliveries in ONE transaction (one commit), in order;
   * results in the same order, each as {@link enqueueMessage} would return it (an idempotency key
   * already used, also earlier in the same batch, returns the first message). All or nothing: an
   * error (e.g. a duplicate message id) rejects the whole batch and writes nothing.
   */
  enqueueMessages(inputs: readonly EnqueueInput[]): Promise<EnqueueResult[]>;
  /** One message, or undefined. */
  getMessage(id: string): Promise<StoredMessage | undefined>;
  /** Messages newest first. */
  listMessages(query: MessageQuery): Promise<StoragePage<StoredMessage>>;

  // ---- deliveries ------------------------------------------------------------------------

  /**
   * Atomically leases up to `limit` deliveries that are due, oldest due first:
   * `pending` with `nextAttemptAt <= now`, or `in_flight` with `leaseUntil <= now` (an expired
   * lease: its claimer died). The endpoint must be enabled and not paused (`pausedUntil` null
   * or `<= now`). Per endpoint, the unexpired `in_flight` count plus this claim stays within
   * `perEndpointConcurrency`. For a `fifo` endpoint only its oldest delivery that is `pending`
   * or `in_flight` may be claimed, and only when it is itself due (so at most one in flight, in
   * order). An endpoint with a `rateLimit` (requests per second) has at most one delivery in
   * flight, and its next one is claimed, by any owner, no sooner than `1000 / rateLimit` ms after
   * the previous claim AND after the previous attempt's `startedAt` (recorded by
   * {@link finishAttempt}), so two requests to it never start closer than that, across processes. Claimed deliveries become `in_flight` with `leaseOwner = owner`,
   * `leaseUntil = now + leaseMs`, and come with their message, endpoint and signing secrets. Two
   * concurrent claims never return the same delivery.
   */
  claimDeliveries(input: ClaimInput): Promise<ClaimedDelivery[]>;
  /**
   * Logs an attempt and, if `owner` still holds the lease, moves the delivery to `next`,
   * increments its `attempts`, clears the lease, records `lastStatus`/`lastError`, applies
   * `endpoint` (failure count, disable, pause) and records the owner notifications this causes
   * (`endpoint.disabled` when this call disabled the endpoint, else `endpoint.failing` when the
   * new count is in `notifyAfter`; `endpoint.recovered` on a success after `recoveredAfter` or
   * more failures). One transaction: a crash never keeps the attempt and loses the notification.
   */
  finishAttempt(input: FinishAttemptInput): Promise<FinishAttemptResult>;
  /**
   * {@link finishAttempt} for several attempts in ONE transaction (one commit), applied in order
   * (two attempts of one endpoint count its failures in that order); results in the same order.
   * The dispatcher acknowledges an attempt (events, done) only after this resolved. All or
   * nothing: an error rejects the whole batch and writes nothing.
   */
  finishAttempts(inputs: readonly FinishAttemptInput[]): Promise<FinishAttemptResult[]>;
  /**
   * {@link finishAttempts}, then {@link claimDeliveries} with `claim`, in ONE transaction: the
   * commit that frees a busy dispatcher's slots brings its next deliveries (no claim round trip
   * or commit of its own). The claim sees the finished attempts. It never waits for a lock
   * another claimer holds (it may return fewer deliveries than a claim on its own would).
   */
  finishAttemptsAndClaim(inputs: readonly FinishAttemptInput[], claim: ClaimInput): Promise<FinishAndClaimResult>;
  /**
   * Gives leased deliveries back without an attempt: `in_flight` deliveries of `owner` (all, or
   * only `ids`) become `pending` at `nextAttemptAt` (default: unchanged, i.e. due now).
   * Returns how many were released.
   */
  releaseDeliveries(owner: string, options: { ids?: string[] | undefined; nextAttemptAt?: number | undefined; now: number }): Promise<number>;
  /** One delivery, or undefined. */
  getDelivery(id: string): Promise<StoredDelivery | undefined>;
  /** Deliveries newest first. */
  listDeliveries(query: DeliveryQuery): Promise<StoragePage<StoredDelivery>>;
  /**
   * Re-queues one `failed` (or `pending`) delivery: `pending`, due at `now`, new retry cycle
   * (`retryBaseAttempts = attempts`, `retryBaseAt = now`). Undefined when absent; a delivery
   * that is `succeeded` or `in_flight` is returned unchanged.
   */
  retryDelivery(id: string, now: number): Promise<StoredDelivery | undefined>;
  /** Re-queues, like {@link retryDelivery}, every `failed` delivery of an endpoint created at or after `since`. Returns the count. */
  recoverDeliveries(endpointId: string, since: number, now: number): Promise<number>;

  // ---- attempts ----------------------------------------------------------------------------

  /** Attempts newest first. */
  listAttempts(query: AttemptQuery): Promise<StoragePage<StoredAttempt>>;

  // ---- owner notifications (outbox) ---------------------------------------------------------

  /**
   * Leases up to `limit` notifications of `types` that are due (new, retried, or with an expired
   * lease), oldest first, and counts the hand-over in `attempts`. Two concurrent claims never
   * return the same notification.
   */
  claimNotifications(input: ClaimNotificationsInput): Promise<StoredNotification[]>;
  /** Marks a claimed notification delivered, or due again at `retryAt`; false when `owner` lost the lease. */
  settleNotification(input: SettleNotificationInput): Promise<boolean>;

  // ---- maintenance -------------------------------------------------------------------------

  /** Applies pending schema migrations; idempotent and safe when several processes call it at once. */
  migrate(): Promise<void>;
  /** Retention: deletes old finished messages with their deliveries and attempts, and old delivered notifications, in short batches. */
  prune(options: PruneOptions): Promise<PruneResult>;

  // ---- metrics -------------------------------------------------------------------------------

  /**
   * The queue at `now`, for metrics: due, scheduled and in-flight deliveries (each count capped
   * at `limit`) and when the oldest due one became due. Cheap beside any backlog: served by the
   * claim indexes, reading at most about `limit` index entries per count and never a table.
   * Optional so that storages written before it still type-check; every built-in one has it.
   */
  stats?(now: number, options?: StatsOptions): Promise<StorageStats>;

  /** Releases the database; other calls fail afterwards. */
  close(): Promise<void>;
}
