import { type EventCatalog, type EventInput, type EventName, type Logger, WebhookPayloadError, createConsoleLogger, createMessageId } from '@hooks/core';
import { loadTracing } from '@hooks/core/internal';
import { Dispatcher, type DispatcherOptions, type DisablementOptions, envelopeBody } from './dispatcher';
import { type EndpointsApi, checkTenant, createEndpointsApi } from './endpoints';
import { type SenderErrorSource, createErrorReporter } from './error-reporter';
import { SenderError } from './errors';
import { type SenderEventListener, type SenderEventName, SenderEventEmitter } from './events';
import { type MetricsOptions, SenderMetrics, type SenderMetricsSnapshot } from './metrics';
import { loadOpenTelemetry } from './open-telemetry';
import { type RetryOptions, resolveRetryOptions } from './retry';
import { type EncryptionOptions, createSecretBox } from './secret-box';
import { SendQueue } from './send-queue';
import { createMemoryStorage } from './storage/memory';
import { createSqliteStorage } from './storage/sqlite';
import type { DeliveryStatus, EnqueueInput, EnqueueResult, Storage, StoredMessage } from './storage/types';
import { type TraceContext, storedTraceContext } from './trace-context';
import { endSendSpan, failSpan, spanTraceContext, startSendSpan, tracing } from './tracing';
import type { TracingSpan } from '@hooks/core/internal';
import { type Transport, createTransport } from './transport';
import { type Attempt, type Delivery, type Message, type Page, toAttempt, toDelivery, toMessage } from './types';
import { type UrlPolicy, compileUrlPolicy } from './url-policy';
import { type PortalToken, type PortalTokenClaims, type PortalTokenInput, createPortalTokens } from './admin/portal-token';

/** Default largest envelope accepted by `send`: 256 KiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;
/** Default overlap during which a rotated-out secret keeps signing: 24 hours. */
export const DEFAULT_SECRET_OVERLAP_MS = 86_400_000;
/** The SQLite file used when neither `storage` nor `database` is given, relative to the working directory. */
export const DEFAULT_DATABASE_FILE = './hooks.db';

/** Options of {@link createSender}. */
export interface SenderOptions<TCatalog extends EventCatalog> {
  /** The events this product sends (from `defineEvents`); `send` validates against it. */
  catalog: TCatalog;
  /**
   * Where endpoints, messages, deliveries and attempts live: a storage (`createSqliteStorage`,
   * `createPostgresStorage`), or `'memory'` for tests and demos (nothing survives a restart; a
   * warning says so once). @default SQLite at `database`, else at `./hooks.db`
   */
  storage?: Storage | 'memory';
  /** SQLite file path, shorthand for `storage: createSqliteStorage({ filename })`. @default './hooks.db' */
  database?: string;
  /**
   * Encrypts endpoint secrets at rest (AES-256-GCM): `{ keys: { k1: '<base64 32 bytes>' }, current: 'k1' }`.
   * Several keys decrypt, `current` encrypts; `sender.reencryptSecrets()` moves stored secrets to
   * the current key. Without it secrets are stored in clear and a warning says so at start-up.
   * @default undefined (no encryption)
   */
  encryption?: EncryptionOptions;
  /** Where start-up warnings, disablements and errors are logged (pino-style `{ info, warn, error }`). @default createConsoleLogger('@hooks/sender') */
  logger?: Logger;
  /** Which endpoint URLs are allowed (checked on save and at connect time). @default {} (https, public addresses) */
  urlPolicy?: UrlPolicy;
  /**
   * Retry schedule, jitter and caps.
   * @default the seed schedule (12 s, 2 min 28 s, 30 min 8 s, 6 h 7 min 6 s, then every 24 h), ±10 % jitter, no attempt or age cap (an endpoint failing 20 times in a row is disabled instead)
   */
  retry?: RetryOptions;
  /** Failure notices and the disabling threshold. @default { notifyAfter: [5, 10, 15], disableAfter: 20 } */
  disablement?: DisablementOptions;
  /** Dispatcher concurrency, timeout, lease and polling. */
  dispatcher?: DispatcherOptions;
  /** How long a rotated-out secret keeps signing. @default 86_400_000 (24 h) */
  secretOverlapMs?: number;
  /** Largest envelope (`{id,type,timestamp,data}` JSON) `send` accepts, in bytes. @default 262_144 */
  maxPayloadBytes?: number;
  /** HTTP transport. @default createTransport({ urlPolicy }) */
  transport?: Transport;
  /** Clock in unix milliseconds, used for every stored time, schedule and signature. @default Date.now */
  now?: () => number;
  /**
   * Receives error objects that have nowhere else to go (a throwing event listener, a storage
   * hiccup in the poll loop), with where they came from. Give it to route them yourself; without
   * it they are logged with `logger.error` (a storage outage once a minute per source, not every
   * poll). Warnings (start-up, disablement) always go to `logger`. @default logs with logger.error
   */
  onError?: (error: unknown, source: SenderErrorSource) => void;
  /** Key (≥ 32 bytes) signing portal tokens; give every process serving the admin API the same one. @default a random key per process (tokens end with it) */
  portalTokenSecret?: string | Uint8Array;
}

/** Input of {@link Sender.send}, typed by the catalog. */
export type SendInput<TCatalog extends EventCatalog, TName extends EventName<TCatalog> = EventName<TCatalog>> = {
  [N in TName]: {
    /** The customer workspace to deliver to. */
    tenant: string;
    /** Event type. */
    type: N;
    /** Payload; validated against the event's schema. */
    data: EventInput<TCatalog, N>;
    /** Repeating a key (per tenant) returns the first message instead of sending again. */
    idempotencyKey?: string;
    /** W3C trace context to carry to the receiver: every attempt sends it as `traceparent` (and `tracestate`) request headers. @default undefined (none) */
    traceContext?: TraceContext;
  };
}[TName];

/** Options of {@link Sender.send}. */
export interface SendOptions {
  /**
   * A transaction of the host app to write the message in (transactional outbox). PostgreSQL: a
   * `pg` client inside `BEGIN`; the message is stored, and sent, only if that transaction commits.
   * Storage without this ability refuses it with `invalid_option`. @default undefined (own transaction)
   */
  transaction?: unknown;
}

/** Result of {@link Sender.send}. */
export interface SendResult {
  /** The message id (the first one on an idempotent repeat). */
  messageId: string;
  /** Deliveries created (or existing, on a repeat). */
  deliveryCount: number;
  /** True when the idempotency key had been used: nothing new was sent. */
  duplicate: boolean;
}

/** Filters of `sender.messages.list`. */
export interface MessageListQuery {
  /** Only this tenant. */
  tenant?: string;
  /** Only this event type. */
  type?: string;
  /** From this time (inclusive). */
  since?: Date | number;
  /** Before this time (exclusive). */
  until?: Date | number;
  /** Page size, 1 to 1000. @default 50 */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** Filters of `sender.deliveries.list`. */
export interface DeliveryListQuery {
  /** Only this tenant. */
  tenant?: string;
  /** Only this endpoint. */
  endpointId?: string;
  /** Only this message. */
  messageId?: string;
  /** Only this status. */
  status?: DeliveryStatus;
  /** Only this event type. */
  type?: string;
  /** From this time (inclusive). */
  since?: Date | number;
  /** Before this time (exclusive). */
  until?: Date | number;
  /** Page size, 1 to 1000. @default 50 */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** Filters of `sender.attempts.list`. */
export interface AttemptListQuery {
  /** Only this delivery. */
  deliveryId?: string;
  /** Only this endpoint. */
  endpointId?: string;
  /** Only this message. */
  messageId?: string;
  /** Only successful (true) or failed (false) attempts. */
  success?: boolean;
  /** From this time (inclusive). */
  since?: Date | number;
  /** Before this time (exclusive). */
  until?: Date | number;
  /** Page size, 1 to 1000. @default 50 */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** The sending side of hooks: endpoints, `send`, the dispatcher, logs and events. */
export interface Sender<TCatalog extends EventCatalog = EventCatalog> {
  /** The catalog given to `createSender`. */
  readonly catalog: TCatalog;
  /** The storage in use. */
  readonly storage: Storage;
  /** Endpoints of every tenant. */
  readonly endpoints: EndpointsApi;
  /**
   * Validates and stores a message with one delivery per matching enabled endpoint, in one
   * transaction; returns once it is durable. Concurrent calls share one transaction (group commit).
   *
   * @param input - The tenant, event type and payload (typed and validated by the catalog), and
   *   optionally an idempotency key and a W3C trace context.
   * @param options - `transaction`: a `pg` client inside the host app's `BEGIN`, to store the
   *   message with the host's own writes (PostgreSQL storage only).
   * @returns The message id, the deliveries created (one per enabled endpoint of the tenant that
   *   subscribes to the type; 0 when none does) and whether the idempotency key had been used.
   * @throws {@link SenderError} `unknown_event`, `invalid_payload` (`details.issues`),
   *   `payload_too_large`, `invalid_input` (tenant, idempotency key), `invalid_option` (a
   *   `transaction` on a storage other than PostgreSQL) or `storage_error`.
   *
   * @example
   * <!-- prelude: import { sender } from './sender.js'; -->
   * ```ts
   * const { messageId, deliveryCount, duplicate } = await sender.send({
   *   tenant: 'acme',
   *   type: 'registrant.created',
   *   data: { email: 'ada@example.com', sessionId: 'ses_01' },
   *   idempotencyKey: 'registration-reg_01', // sending it again returns the first message
   * });
   * ```
   *
   * @example
   * <!-- prelude: import pg from 'pg'; import { createPostgresStorage, createSender } from '@hooks/sender'; import { events } from './events.js'; declare const pool: pg.Pool; const sender = createSender({ catalog: events, storage: createPostgresStorage({ pool }) }); -->
   * ```ts
   * // Transactional outbox: the webhook is stored, and sent, only if the host's transaction commits.
   * const client = await pool.connect();
   * try {
   *   await client.query('BEGIN');
   *   await client.query('INSERT INTO registrations (email, session_id) VALUES ($1, $2)', ['ada@example.com', 'ses_01']);
   *   await sender.send({ tenant: 'acme', type: 'registrant.created', data: { email: 'ada@example.com', sessionId: 'ses_01' } }, { transaction: client });
   *   await client.query('COMMIT');
   * } catch (error) {
   *   await client.query('ROLLBACK');
   *   throw error;
   * } finally {
   *   client.release();
   * }
   * ```
   */
  send<TName extends EventName<TCatalog>>(input: SendInput<TCatalog, TName>, options?: SendOptions): Promise<SendResult>;
  /**
   * Validates and stores several messages (up to 1,000) in ONE transaction: all or none. Any
   * invalid input rejects the whole call before anything is stored (`details.index` names it).
   * Results in input order. With `{ transaction }` (PostgreSQL) they are written in the host's
   * transaction.
   *
   * @param inputs - Up to 1,000 inputs, each as for `send`.
   * @param options - As for `send`: `transaction` writes them in the host app's transaction (PostgreSQL).
   * @returns One result per input, in input order.
   * @throws {@link SenderError} as `send` for the first invalid input, with `details.index`
   *   (nothing is stored); `invalid_input` for more than 1,000 inputs.
   *
   * @example
   * <!-- prelude: import { sender } from './sender.js'; declare const registrations: Array<{ email: string }>; -->
   * ```ts
   * const results = await sender.sendMany(
   *   registrations.map(({ email }) => ({ tenant: 'acme', type: 'registrant.created' as const, data: { email, sessionId: 'ses_01' } })),
   * );
   * console.log(results.map((result) => result.messageId));
   * ```
   */
  sendMany<TName extends EventName<TCatalog>>(inputs: ReadonlyArray<SendInput<TCatalog, TName>>, options?: SendOptions): Promise<SendResult[]>;
  /**
   * Sends the catalog's example of `type` (default: the first event the endpoint subscribes to
   * that has one) to one endpoint, as a real signed delivery with its own message.
   *
   * @param endpointId - The endpoint to send to.
   * @param type - The event type whose catalog `example` is sent; without it, the first event
   *   the endpoint subscribes to that has an example.
   * @returns The ids of the test message and of its one delivery.
   * @throws {@link SenderError} `endpoint_not_found`, `endpoint_disabled`, `unknown_event`, or
   *   `invalid_input` when the catalog has no example for the type.
   *
   * @example
   * <!-- prelude: import { sender } from './sender.js'; declare const endpointId: string; -->
   * ```ts
   * const { deliveryId } = await sender.sendTest(endpointId, 'registrant.created');
   * const delivery = await sender.deliveries.get(deliveryId);
   * console.log(delivery.status, delivery.lastStatus); // e.g. 'succeeded' 200 once dispatched
   * ```
   */
  sendTest(
    endpointId: string,
    type?: EventName<TCatalog>,
  ): Promise<{
    /** The id of the test message. */
    messageId: string;
    /** The id of its one delivery, to that endpoint. */
    deliveryId: string;
  }>;
  /** Message log. */
  readonly messages: {
    /** Messages newest first, one page. */
    list(query?: MessageListQuery): Promise<Page<Message>>;
    /** One message; `message_not_found` when absent. */
    get(id: string): Promise<Message>;
  };
  /** Delivery log and manual retry. */
  readonly deliveries: {
    /** Deliveries newest first, one page. */
    list(query?: DeliveryListQuery): Promise<Page<Delivery>>;
    /** One delivery; `delivery_not_found` when absent. */
    get(id: string): Promise<Delivery>;
    /** Re-queues a failed delivery now, with a fresh retry cycle. */
    retry(id: string): Promise<Delivery>;
  };
  /** Attempt log. */
  readonly attempts: {
    /** Attempts newest first, one page. */
    list(query?: AttemptListQuery): Promise<Page<Attempt>>;
  };
  /**
   * Mints a short-lived token with which a browser (the `<hooks-portal>` element) calls the admin
   * API for one tenant. Every process serving the admin API must share `portalTokenSecret`.
   *
   * @param input - The tenant, and optionally the lifetime (1 to 86,400 seconds, default 3,600)
   *   and the scopes (default `['read', 'write']`).
   * @returns The bearer token (`hkpt_v1.…`), its tenant, scopes and expiry.
   * @throws {@link SenderError} `invalid_input` for a bad tenant, lifetime or scopes.
   *
   * @example
   * <!-- prelude: import { sender } from './sender.js'; declare const session: { workspaceId: string }; -->
   * ```ts
   * // In the host's own authenticated route, for its settings page:
   * const { token, expiresAt } = sender.createPortalToken({ tenant: session.workspaceId, expiresInSeconds: 900 });
   * const body = JSON.stringify({ token, expiresAt });
   * ```
   */
  createPortalToken(input: PortalTokenInput): PortalToken;
  /**
   * Checks a portal token: its signature and its expiry on the sender's clock. The admin handler
   * does this itself; call it to accept portal tokens on routes of your own.
   *
   * @param token - A token from `createPortalToken` (without `Bearer `).
   * @returns Its tenant, scopes and expiry.
   * @throws {@link SenderError} `unauthorized`, with `details.reason` `expired` or `invalid`.
   *
   * @example
   * <!-- prelude: import { sender } from './sender.js'; declare const request: Request; -->
   * ```ts
   * const token = request.headers.get('authorization')?.replace(/^Bearer /, '') ?? '';
   * const { tenant, scopes } = sender.verifyPortalToken(token);
   * ```
   */
  verifyPortalToken(token: string): PortalTokenClaims;
  /**
   * Counters of this process since the sender was created (messages, deliveries, attempts by
   * outcome, an attempt duration histogram), the storage's queue (due, scheduled and in-flight
   * deliveries, the age of the oldest due one; shared by every process on the storage) and this
   * process's dispatcher. `formatPrometheus(await sender.metrics())` is a Prometheus scrape body.
   *
   * @param options - `countLimit`: where each queue count stops (default 100,000).
   * @returns The snapshot; its `queue` is `null` when the storage could not be read.
   * @throws {@link SenderError} `invalid_input` for a `countLimit` out of range.
   *
   * @example
   * <!-- prelude: import { sender } from './sender.js'; -->
   * ```ts
   * const { queue, attempts } = await sender.metrics();
   * if (queue && (queue.oldestDueAgeSeconds ?? 0) > 300) console.warn('Webhooks are falling behind', queue);
   * console.log(attempts.succeeded, attempts.failed, attempts.givenUp);
   * ```
   */
  metrics(options?: MetricsOptions): Promise<SenderMetricsSnapshot>;
  /** Subscribes to a sender event; returns the unsubscribe function. */
  on<TName extends SenderEventName>(name: TName, listener: SenderEventListener<TName>): () => void;
  /**
   * Starts the dispatcher in this process: it claims due deliveries (polling, or woken at once by
   * `send` and, on PostgreSQL, by any process), sends them and plans retries. Run it in as many
   * processes as you like; claims are leased.
   *
   * @example
   * <!-- prelude: import { sender } from './sender.js'; -->
   * ```ts
   * sender.start();
   * process.once('SIGTERM', () => void sender.close()); // waits (bounded) for attempts in flight
   * ```
   */
  start(): void;
  /**
   * Stops the dispatcher: waits (bounded by `dispatcher.stopTimeoutMs`) for attempts in flight,
   * releases the deliveries claimed ahead. `start()` resumes it.
   *
   * @returns Resolves once the attempts in flight ended or the wait ran out.
   *
   * @example
   * <!-- prelude: import { sender } from './sender.js'; -->
   * ```ts
   * await sender.stop(); // e.g. while the receivers are under maintenance
   * sender.start();
   * ```
   */
  stop(): Promise<void>;
  /**
   * Dispatches (and hands over owner notifications) until nothing is due on the injected clock and
   * nothing is in flight. For tests and scripts; a failed attempt's retry is due later, so move
   * the clock (`now`) forward and drain again to run it.
   *
   * @returns Resolves once nothing is due and nothing is in flight.
   *
   * @example
   * <!-- prelude: import { sender } from './sender.js'; declare const endpointId: string; -->
   * ```ts
   * const { deliveryId } = await sender.sendTest(endpointId);
   * await sender.drain();
   * const delivery = await sender.deliveries.get(deliveryId); // attempted by now
   * ```
   */
  drain(): Promise<void>;
  /**
   * Re-encrypts every stored endpoint secret that is not yet under `encryption.current` (after
   * adding a key, or after turning encryption on for a database with clear-text secrets). Safe
   * while senders run; a rotation meanwhile wins. Returns how many secrets were rewritten.
   *
   * @returns How many endpoints were looked at, how many secrets were rewritten and how many
   *   could not be read (each logged, never with the secret).
   *
   * @example
   * <!-- prelude: import { createSender } from '@hooks/sender'; import { events } from './events.js'; -->
   * ```ts
   * // Key rotation: add k2 as current, keep k1 to read the older secrets, then move them.
   * const sender = createSender({
   *   catalog: events,
   *   encryption: { keys: { k1: process.env.HOOKS_KEY_K1!, k2: process.env.HOOKS_KEY_K2! }, current: 'k2' },
   * });
   * const { secrets, unreadable } = await sender.reencryptSecrets();
   * console.log(`${secrets} secrets now under k2; ${unreadable} unreadable`); // then k1 can go
   * ```
   */
  reencryptSecrets(): Promise<{
    /** Endpoints looked at. */
    endpoints: number;
    /** Secrets rewritten under the current key. */
    secrets: number;
    /** Secrets left as they are because they do not decrypt (a missing key, a damaged value); each is logged. */
    unreadable: number;
  }>;
  /**
   * Stops, then closes the transport and storage the sender created itself (a storage or pool you
   * passed in stays open). Attempts still running after `dispatcher.stopTimeoutMs` are cancelled
   * and retried by any process once their lease expires.
   *
   * @returns Resolves once everything the sender owns is closed.
   *
   * @example
   * <!-- prelude: import { sender } from './sender.js'; -->
   * ```ts
   * process.once('SIGTERM', async () => {
   *   await sender.close();
   *   process.exit(0);
   * });
   * ```
   */
  close(): Promise<void>;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < 1) throw new SenderError('invalid_option', `${name} must be a whole number >= 1.`);
  return resolved;
}

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < 0) throw new SenderError('invalid_option', `${name} must be a whole number >= 0.`);
  return resolved;
}

function duration(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isFinite(resolved) || resolved < 0) throw new SenderError('invalid_option', `${name} must be a duration in milliseconds (>= 0).`);
  return resolved;
}

function toTime(value: Date | number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const time = value instanceof Date ? value.getTime() : value;
  if (typeof time !== 'number' || !Number.isFinite(time)) throw new SenderError('invalid_input', `${field} must be a Date or unix milliseconds.`, { details: { field } });
  return time;
}

function checkText(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) throw new SenderError('invalid_input', `${field} must be 1 to 256 characters.`, { details: { field } });
  return value;
}

const STATUSES = new Set<string>(['pending', 'in_flight', 'succeeded', 'failed']);

/**
 * Creates a sender: endpoints per tenant, `send` into a durable queue, and a dispatcher that
 * delivers signed webhooks with retries, disablement, attempt logs and events. Without `storage`
 * everything lives in the SQLite file `./hooks.db` (or `database`); give `createPostgresStorage`
 * for several processes, `storage: 'memory'` for tests. Nothing is delivered until `start()` (or
 * `drain()`) runs in some process.
 *
 * @param options - The catalog, and optionally the storage, secret encryption, URL policy,
 *   retry, disablement and dispatcher settings, logger and clock.
 * @returns The sender: `endpoints`, `send`, `sendMany`, `sendTest`, the message, delivery and
 *   attempt logs, portal tokens, `metrics`, `on`, and `start`/`stop`/`drain`/`close`.
 * @throws {@link SenderError} `invalid_option` when an option is malformed: a catalog not made
 *   with `defineEvents`, a logger without `info`/`warn`/`error`, a bad URL policy entry or
 *   encryption key, a retry or dispatcher setting out of range (`leaseMs` not above `timeoutMs`).
 *
 * @example
 * ```ts
 * import { createSender } from '@hooks/sender';
 * import { events } from './events.js';
 *
 * const sender = createSender({
 *   catalog: events,
 *   database: './hooks.db', // the default; or storage: createPostgresStorage({ pool })
 *   encryption: { keys: { k1: process.env.HOOKS_KEY_K1! }, current: 'k1' },
 * });
 *
 * const { endpoint, secret } = await sender.endpoints.create({ tenant: 'acme', url: 'https://acme.example/hooks' });
 * console.log(endpoint.id, secret); // give the whsec_… secret to the receiver
 *
 * await sender.send({ tenant: 'acme', type: 'registrant.created', data: { email: 'ada@example.com', sessionId: 'ses_01' } });
 * sender.start(); // delivers, retries, disables failing endpoints
 * ```
 *
 * @example
 * <!-- prelude: declare const receiverUrl: string; -->
 * ```ts
 * // In tests: memory storage, a local receiver over http, no console output.
 * import { silentLogger } from '@hooks/core';
 * import { createSender } from '@hooks/sender';
 * import { events } from './events.js';
 *
 * const sender = createSender({ catalog: events, storage: 'memory', urlPolicy: { allowHttp: true, allow: ['loopback'] }, logger: silentLogger });
 * await sender.endpoints.create({ tenant: 'acme', url: receiverUrl }); // e.g. http://127.0.0.1:4000/hooks
 * await sender.send({ tenant: 'acme', type: 'session.ended', data: { sessionId: 'ses_01', attendees: 42 } });
 * await sender.drain(); // resolves once nothing is due or in flight (a failed attempt waits for its retry time)
 * await sender.close();
 * ```
 */
export function createSender<TCatalog extends EventCatalog>(options: SenderOptions<TCatalog>): Sender<TCatalog> {
  if (typeof options !== 'object' || options === null) throw new SenderError('invalid_option', 'createSender needs an options object.');
  const { catalog } = options;
  if (!catalog || typeof catalog.has !== 'function' || typeof catalog.validate !== 'function') {
    throw new SenderError('invalid_option', 'createSender needs a catalog created with defineEvents.');
  }
  const now = options.now ?? Date.now;
  const logger = options.logger ?? createConsoleLogger('@hooks/sender');
  if (typeof logger?.warn !== 'function' || typeof logger.error !== 'function' || typeof logger.info !== 'function') {
    throw new SenderError('invalid_option', 'logger must have info, warn and error methods (pino, console and most loggers fit).');
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') throw new SenderError('invalid_option', 'onError must be a function (error, source) => void.');
  // Only the name, code and message are logged: errors here never carry secrets, but payloads are not ours to log.
  const onError = createErrorReporter(logger, options.onError);
  const secretBox = createSecretBox(options.encryption);
  const retry = resolveRetryOptions(options.retry);
  const notifyAfter = [...(options.disablement?.notifyAfter ?? [5, 10, 15])];
  if (!notifyAfter.every((count) => Number.isInteger(count) && count >= 1)) throw new SenderError('invalid_option', 'disablement.notifyAfter must be whole numbers >= 1.');
  const disableAfter = positiveInteger(options.disablement?.disableAfter, 20, 'disablement.disableAfter');
  const dispatcherOptions = options.dispatcher ?? {};
  const timeoutMs = positiveInteger(dispatcherOptions.timeoutMs, 15_000, 'dispatcher.timeoutMs');
  const leaseMs = positiveInteger(dispatcherOptions.leaseMs, Math.max(60_000, timeoutMs * 2), 'dispatcher.leaseMs');
  if (leaseMs <= timeoutMs) throw new SenderError('invalid_option', 'dispatcher.leaseMs must be longer than dispatcher.timeoutMs, or a slow attempt would be sent twice.');
  const secretOverlapMs = duration(options.secretOverlapMs, DEFAULT_SECRET_OVERLAP_MS, 'secretOverlapMs');
  const maxPayloadBytes = positiveInteger(options.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES, 'maxPayloadBytes');
  const urlPolicy = options.urlPolicy ?? {};
  if (compileUrlPolicy(urlPolicy).usesDeprecatedSwitch) {
    logger.warn("urlPolicy.allowPrivateNetworks is deprecated: use urlPolicy.allow (e.g. ['loopback']); link-local and cloud metadata addresses stay blocked.");
  }

  const ownsStorage = options.storage === undefined || options.storage === 'memory';
  if (options.storage !== undefined && options.storage !== 'memory' && (typeof options.storage !== 'object' || options.storage === null || typeof options.storage.claimDeliveries !== 'function')) {
    throw new SenderError('invalid_option', "storage must be a storage (createSqliteStorage, createPostgresStorage, createMemoryStorage) or 'memory'.");
  }
  const storage: Storage =
    options.storage === 'memory' ? createMemoryStorage() : (options.storage ?? createSqliteStorage({ filename: options.database ?? DEFAULT_DATABASE_FILE }));
  if (storage.kind === 'memory') {
    logger.warn('Memory storage: endpoints, messages and queued deliveries live in this process only and nothing survives a restart. Use SQLite or PostgreSQL outside tests.');
  } else if (!secretBox.encrypted) {
    logger.warn(`Endpoint secrets are stored unencrypted in ${storage.kind}: set the encryption option (see docs/security.md).`);
  }
  const ownsTransport = options.transport === undefined;
  const transport = options.transport ?? createTransport({ urlPolicy });
  const emitter = new SenderEventEmitter((error) => onError(error, 'listener'));
  const metrics: SenderMetrics = new SenderMetrics({
    storage: storage.kind,
    queue: (at, limit) => (typeof storage.stats === 'function' ? storage.stats(at, { limit }) : Promise.resolve(null)),
    dispatcher: () => ({ running: dispatcher.isRunning, inFlight: dispatcher.inFlight, prefetched: dispatcher.prefetched }),
    now,
    onError: (error) => onError(error, 'metrics'),
  });
  // OpenTelemetry is an optional peer: loaded in the background, used once (and if) it is there.
  let telemetrySettled = false;
  const telemetryReady = Promise.all([loadTracing(), loadOpenTelemetry()]).then(() => {
    telemetrySettled = true;
    try {
      metrics.bindOpenTelemetry();
    } catch (error) {
      onError(error, 'metrics');
    }
  });
  const dispatcher: Dispatcher = new Dispatcher({
    storage,
    transport,
    now,
    retry,
    notifyAfter,
    disableAfter,
    emitter,
    onError,
    logger,
    metrics,
    secrets: secretBox,
    concurrency: positiveInteger(dispatcherOptions.concurrency, 50, 'dispatcher.concurrency'),
    perEndpointConcurrency: positiveInteger(dispatcherOptions.perEndpointConcurrency, 10, 'dispatcher.perEndpointConcurrency'),
    timeoutMs,
    leaseMs,
    pollIntervalMs: positiveInteger(dispatcherOptions.pollIntervalMs, 1_000, 'dispatcher.pollIntervalMs'),
    batchSize: positiveInteger(dispatcherOptions.batchSize, 50, 'dispatcher.batchSize'),
    prefetch: nonNegativeInteger(
      dispatcherOptions.prefetch,
      Math.min(dispatcherOptions.batchSize ?? 50, dispatcherOptions.concurrency ?? 50),
      'dispatcher.prefetch',
    ),
    stopTimeoutMs: duration(dispatcherOptions.stopTimeoutMs, timeoutMs + 1_000, 'dispatcher.stopTimeoutMs'),
  });
  const wake = () => dispatcher.wake();
  const portalTokens = createPortalTokens({ secret: options.portalTokenSecret, now });
  const endpoints = createEndpointsApi({ storage, catalog, urlPolicy, now, secretOverlapMs, wake, secrets: secretBox });

  /** Validates `data` and serialises what the schema RETURNS (defaults filled, unknown keys stripped, transforms applied), then checks the envelope size. */
  async function preparePayload(type: unknown, data: unknown): Promise<string> {
    if (typeof type !== 'string' || !catalog.has(type)) {
      throw new SenderError('unknown_event', `Unknown event type "${String(type).slice(0, 128)}".`, { details: { field: 'type' } });
    }
    let value: unknown;
    try {
      value = await catalog.validate(type, data);
    } catch (error) {
      if (WebhookPayloadError.isInstance(error)) {
        throw new SenderError('invalid_payload', error.message, { cause: error, details: { issues: error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })) } });
      }
      throw error;
    }
    let payload: string | undefined;
    try {
      payload = JSON.stringify(value);
    } catch (error) {
      throw new SenderError('invalid_payload', 'The payload cannot be serialised as JSON.', { cause: error });
    }
    if (payload === undefined) throw new SenderError('invalid_payload', 'The payload cannot be serialised as JSON.');
    return payload;
  }

  /** Checks the size of the message's envelope, built only when a bound says it might be too large. */
  function checkSize(message: StoredMessage): void {
    // Cheap bounds first, in UTF-16 units: the envelope is the payload, the id and the type
    // JSON-escaped (at most 6 units per unit, plus quotes), a timestamp (at most 29 with its
    // quotes) and 35 units of punctuation and key names; a unit is at most three UTF-8 bytes.
    if ((message.payload.length + 6 * (message.id.length + message.type.length) + 80) * 3 <= maxPayloadBytes) return;
    const body = envelopeBody(message);
    if (body.length * 3 <= maxPayloadBytes) return;
    const bytes = Buffer.byteLength(body);
    if (bytes > maxPayloadBytes) {
      throw new SenderError('payload_too_large', `The webhook body is ${bytes} bytes; the limit is ${maxPayloadBytes}.`, { details: { bytes, limit: maxPayloadBytes } });
    }
  }

  function pageQuery(query: { limit?: number; cursor?: string }): { limit: number; cursor: string | undefined } {
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new SenderError('invalid_input', 'limit must be a whole number from 1 to 1000.', { details: { field: 'limit' } });
    if (query.cursor !== undefined && typeof query.cursor !== 'string') throw new SenderError('invalid_input', 'cursor must be a string.', { details: { field: 'cursor' } });
    return { limit, cursor: query.cursor };
  }

  const sendQueue = new SendQueue(storage);

  /** Stores a message: in the host's transaction when one is given and the storage can (PostgreSQL), else in the next group commit. */
  function enqueue(input: EnqueueInput, transaction: unknown): Promise<EnqueueResult> {
    if (transaction === undefined) return sendQueue.enqueue(input);
    const transactional = storage as Storage & { enqueueMessage(input: EnqueueInput, options?: { transaction?: unknown }): Promise<EnqueueResult> };
    if (storage.kind !== 'postgres') {
      return Promise.reject(new SenderError('invalid_option', `send({ transaction }) needs a storage that writes inside the host's transaction (PostgreSQL); this one is ${storage.kind}.`));
    }
    return transactional.enqueueMessage(input, { transaction });
  }

  /** Stores several messages in one transaction (the host's one when given, on PostgreSQL). */
  function enqueueMany(inputs: EnqueueInput[], transaction: unknown): Promise<EnqueueResult[]> {
    if (transaction === undefined) return storage.enqueueMessages(inputs);
    const transactional = storage as Storage & { enqueueMessages(inputs: EnqueueInput[], options?: { transaction?: unknown }): Promise<EnqueueResult[]> };
    if (storage.kind !== 'postgres') {
      return Promise.reject(new SenderError('invalid_option', `sendMany({ transaction }) needs a storage that writes inside the host's transaction (PostgreSQL); this one is ${storage.kind}.`));
    }
    return transactional.enqueueMessages(inputs, { transaction });
  }

  /** Validates one send input and builds the message to store. */
  async function prepareMessage(input: unknown, span?: TracingSpan): Promise<StoredMessage> {
    if (typeof input !== 'object' || input === null) throw new SenderError('invalid_input', 'send needs { tenant, type, data }.');
    const fields = input as { tenant?: unknown; type?: unknown; data?: unknown; idempotencyKey?: unknown; traceContext?: unknown };
    const tenant = checkTenant(fields.tenant);
    span?.setAttributes({ 'webhook.tenant': tenant, 'webhook.type': typeof fields.type === 'string' ? fields.type.slice(0, 128) : undefined });
    const idempotencyKey = checkText(fields.idempotencyKey, 'idempotencyKey') ?? null;
    // The caller's trace context as given; else, when traced, the send span's own.
    const traceContext = storedTraceContext(fields.traceContext) ?? (span ? spanTraceContext(span) : null);
    const payload = await preparePayload(fields.type, fields.data);
    const createdAt = now();
    const message: StoredMessage = { id: createMessageId(createdAt), tenant, type: fields.type as string, payload, idempotencyKey, createdAt };
    if (traceContext !== null) message.traceContext = traceContext;
    checkSize(message);
    return message;
  }

  // Storage that can tell when any process stored work (PostgreSQL LISTEN/NOTIFY) wakes the
  // dispatcher at once; the poll timer stays as the safety net.
  const subscribe = (storage as Storage & { subscribe?: (listener: () => void, options?: { onError?: (error: unknown) => void }) => () => void }).subscribe;
  let unsubscribe: (() => void) | undefined;

  /** Stores one message (in the span's context when traced) and counts it. */
  async function sendOne(input: unknown, sendOptions: SendOptions | undefined, span?: TracingSpan): Promise<SendResult> {
    const message = await prepareMessage(input, span);
    const result = await enqueue({ message, now: message.createdAt }, sendOptions?.transaction);
    if (result.created && result.deliveries.length > 0) wake();
    metrics.recordSend(result.created, result.deliveries.length);
    return { messageId: result.message.id, deliveryCount: result.deliveries.length, duplicate: !result.created };
  }

  /** Stores several messages in one transaction and counts them; with `spans`, starts a `hooks.send` span per message into it. */
  async function sendBatch(inputs: readonly unknown[], sendOptions: SendOptions | undefined, spans?: TracingSpan[]): Promise<SendResult[]> {
    const messages: StoredMessage[] = [];
    for (const [index, input] of inputs.entries()) {
      const span = spans ? startSendSpan('hooks.send', (input as { traceContext?: unknown } | null)?.traceContext) : undefined;
      if (span) spans?.push(span);
      try {
        messages.push(await prepareMessage(input, span));
      } catch (error) {
        // Name the failing input; nothing was stored.
        if (SenderError.isInstance(error)) throw new SenderError(error.code, `sendMany input ${index}: ${error.message}`, { cause: error, details: { ...error.details, index } });
        throw error;
      }
    }
    const results = await enqueueMany(
      messages.map((message) => ({ message, now: message.createdAt })),
      sendOptions?.transaction,
    );
    if (results.some((result) => result.created && result.deliveries.length > 0)) wake();
    for (const result of results) metrics.recordSend(result.created, result.deliveries.length);
    return results.map((result) => ({ messageId: result.message.id, deliveryCount: result.deliveries.length, duplicate: !result.created }));
  }

  const sender: Sender<TCatalog> = {
    catalog,
    storage,
    endpoints,

    async send(input, sendOptions) {
      if (!telemetrySettled) await telemetryReady;
      // Without a registered OpenTelemetry SDK (the usual case), no span work at all.
      if (!tracing()) return sendOne(input, sendOptions);
      const span = startSendSpan('hooks.send', (input as { traceContext?: unknown } | null)?.traceContext);
      if (!span) return sendOne(input, sendOptions);
      try {
        const result = await span.run(() => sendOne(input, sendOptions, span));
        endSendSpan(span, result);
        return result;
      } catch (error) {
        failSpan(span, error);
        throw error;
      }
    },

    async sendMany(inputs, sendOptions) {
      if (!Array.isArray(inputs)) throw new SenderError('invalid_input', 'sendMany needs an array of { tenant, type, data }.');
      if (inputs.length > 1000) throw new SenderError('invalid_input', 'sendMany takes at most 1,000 messages per call.', { details: { count: inputs.length, limit: 1000 } });
      if (inputs.length === 0) return [];
      if (!telemetrySettled) await telemetryReady;
      if (!tracing()) return sendBatch(inputs, sendOptions);
      const span = startSendSpan('hooks.send_many', undefined, { 'webhook.message_count': inputs.length });
      if (!span) return sendBatch(inputs, sendOptions);
      // A `hooks.send` span per message inside it: each message carries its own span's context.
      const spans: TracingSpan[] = [];
      try {
        const results = await span.run(() => sendBatch(inputs, sendOptions, spans));
        results.forEach((result, index) => {
          const messageSpan = spans[index];
          if (messageSpan) endSendSpan(messageSpan, result);
        });
        span.end();
        return results;
      } catch (error) {
        for (const messageSpan of spans) failSpan(messageSpan, error);
        failSpan(span, error);
        throw error;
      }
    },

    async sendTest(endpointId, type) {
      const endpoint = await endpoints.get(endpointId);
      if (!endpoint.enabled) {
        throw new SenderError('endpoint_disabled', `The endpoint is disabled (${endpoint.disabledReason ?? 'manual'}); enable it before sending a test event.`, {
          details: { reason: endpoint.disabledReason },
        });
      }
      const candidates = type !== undefined ? [type as string] : [...endpoint.events, ...catalog.names];
      const chosen = candidates.find((name) => catalog.has(name) && catalog.definitions[name]?.example !== undefined);
      if (type !== undefined && !catalog.has(type)) throw new SenderError('unknown_event', `Unknown event type "${String(type).slice(0, 128)}".`, { details: { field: 'type' } });
      if (chosen === undefined) throw new SenderError('invalid_input', 'The catalog has no example payload for this event type; add `example` to its definition.', { details: { field: 'type' } });
      const payload = await preparePayload(chosen, catalog.definitions[chosen]?.example);
      if (!telemetrySettled) await telemetryReady;
      const span = tracing() ? startSendSpan('hooks.send', undefined, { 'webhook.tenant': endpoint.tenant, 'webhook.type': chosen, 'webhook.test': true }) : undefined;
      try {
        const createdAt = now();
        const message: StoredMessage = { id: createMessageId(createdAt), tenant: endpoint.tenant, type: chosen, payload, idempotencyKey: null, createdAt };
        if (span) message.traceContext = spanTraceContext(span);
        checkSize(message);
        const result = await storage.enqueueMessage({ message, endpointId: endpoint.id, now: createdAt });
        const delivery = result.deliveries[0];
        if (!delivery) throw new SenderError('endpoint_not_found', 'No endpoint has this id.');
        metrics.recordSend(true, 1);
        wake();
        if (span) endSendSpan(span, { messageId: result.message.id, deliveryCount: 1, duplicate: false });
        return { messageId: result.message.id, deliveryId: delivery.id };
      } catch (error) {
        if (span) failSpan(span, error);
        throw error;
      }
    },

    messages: {
      async list(query = {}) {
        const page = await storage.listMessages({
          ...pageQuery(query),
          tenant: checkText(query.tenant, 'tenant'),
          type: checkText(query.type, 'type'),
          since: toTime(query.since, 'since'),
          until: toTime(query.until, 'until'),
        });
        return { items: page.items.map(toMessage), nextCursor: page.nextCursor };
      },
      async get(id) {
        const message = typeof id === 'string' ? await storage.getMessage(id) : undefined;
        if (!message) throw new SenderError('message_not_found', 'No message has this id.');
        return toMessage(message);
      },
    },

    deliveries: {
      async list(query = {}) {
        if (query.status !== undefined && !STATUSES.has(query.status)) {
          throw new SenderError('invalid_input', 'status must be pending, in_flight, succeeded or failed.', { details: { field: 'status' } });
        }
        const page = await storage.listDeliveries({
          ...pageQuery(query),
          tenant: checkText(query.tenant, 'tenant'),
          endpointId: checkText(query.endpointId, 'endpointId'),
          messageId: checkText(query.messageId, 'messageId'),
          status: query.status,
          type: checkText(query.type, 'type'),
          since: toTime(query.since, 'since'),
          until: toTime(query.until, 'until'),
        });
        return { items: page.items.map(toDelivery), nextCursor: page.nextCursor };
      },
      async get(id) {
        const delivery = typeof id === 'string' ? await storage.getDelivery(id) : undefined;
        if (!delivery) throw new SenderError('delivery_not_found', 'No delivery has this id.');
        return toDelivery(delivery);
      },
      async retry(id) {
        const delivery = typeof id === 'string' ? await storage.retryDelivery(id, now()) : undefined;
        if (!delivery) throw new SenderError('delivery_not_found', 'No delivery has this id.');
        if (delivery.status === 'succeeded' || delivery.status === 'in_flight') {
          throw new SenderError('conflict', `The delivery is ${delivery.status}; only failed or pending deliveries can be retried.`);
        }
        wake();
        return toDelivery(delivery);
      },
    },

    attempts: {
      async list(query = {}) {
        if (query.success !== undefined && typeof query.success !== 'boolean') throw new SenderError('invalid_input', 'success must be true or false.', { details: { field: 'success' } });
        const page = await storage.listAttempts({
          ...pageQuery(query),
          deliveryId: checkText(query.deliveryId, 'deliveryId'),
          endpointId: checkText(query.endpointId, 'endpointId'),
          messageId: checkText(query.messageId, 'messageId'),
          success: query.success,
          since: toTime(query.since, 'since'),
          until: toTime(query.until, 'until'),
        });
        return { items: page.items.map(toAttempt), nextCursor: page.nextCursor };
      },
    },

    createPortalToken(input) {
      return portalTokens.create(input);
    },
    verifyPortalToken(token) {
      return portalTokens.verify(token);
    },
    metrics(metricsOptions) {
      const countLimit = metricsOptions?.countLimit;
      if (countLimit !== undefined && (!Number.isInteger(countLimit) || countLimit < 1 || countLimit > 1_000_000_000)) {
        return Promise.reject(new SenderError('invalid_input', 'countLimit must be a whole number from 1 to 1000000000.', { details: { field: 'countLimit' } }));
      }
      return metrics.snapshot(metricsOptions);
    },
    on(name, listener) {
      return emitter.on(name, listener);
    },
    start() {
      if (telemetrySettled) metrics.bindOpenTelemetry();
      dispatcher.start();
      if (subscribe && !unsubscribe) unsubscribe = subscribe.call(storage, wake, { onError: (error: unknown) => onError(error, 'wake-up') });
    },
    stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      return dispatcher.stop();
    },
    drain() {
      return dispatcher.drain();
    },
    async reencryptSecrets() {
      let endpointCount = 0;
      let rewritten = 0;
      let unreadable = 0;
      let cursor: string | undefined;
      do {
        const page = await storage.listEndpoints({ limit: 100, cursor });
        for (const endpoint of page.items) {
          endpointCount++;
          for (const stored of (await storage.listSecrets(endpoint.id)) ?? []) {
            if (!secretBox.needsReseal(stored.secret)) continue;
            let secret: string;
            try {
              secret = secretBox.open(endpoint.id, stored.secret);
            } catch (error) {
              // One unreadable value must not stop the others from moving to the current key.
              unreadable++;
              logger.error('An endpoint secret could not be re-encrypted.', { endpointId: endpoint.id, reason: error instanceof Error ? error.message : String(error) });
              continue;
            }
            if (await storage.replaceSecret({ endpointId: endpoint.id, from: stored.secret, to: secretBox.seal(endpoint.id, secret) })) rewritten++;
          }
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return { endpoints: endpointCount, secrets: rewritten, unreadable };
    },
    close() {
      // Idempotent: a second call (a shutdown hook and a test's cleanup) waits for the first.
      closing ??= closeOnce();
      return closing;
    },
  };
  let closing: Promise<void> | undefined;
  /** Stops the dispatcher, then closes what the sender owns; runs once (see close()). */
  async function closeOnce(): Promise<void> {
    unsubscribe?.();
    unsubscribe = undefined;
    // Bounded by stopTimeoutMs. Attempts still running are abandoned: their requests are
    // cancelled, nothing is written for them, and their deliveries keep the lease, so any
    // process retries them once it expires (at-least-once; receivers dedupe on the id).
    await dispatcher.stop();
    const abandoned = dispatcher.abandon();
    if (abandoned > 0) logger.warn('Closing with attempts still in flight after stopTimeoutMs: they are retried once their lease expires.', { attempts: abandoned });
    metrics.close();
    if (ownsTransport) await (abandoned > 0 && transport.destroy ? transport.destroy() : transport.close());
    if (ownsStorage) await storage.close();
  }
  return sender;
}
