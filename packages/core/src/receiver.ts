import { DEFAULT_MAX_BODY_BYTES, readBody } from './body';
import type { EventCatalog, EventName, WebhookEvent } from './catalog';
import { validateWithSchema } from './catalog';
import { utf8Decode, utf8Encode } from './encoding';
import { ConfigurationError, HooksError, PayloadTooLargeError, WebhookPayloadError } from './errors';
import type { HeadersInput } from './headers';
import { createMemoryIdempotencyStore } from './idempotency/memory';
import type { IdempotencyStore } from './idempotency/types';
import { parseKey } from './secrets';
import { type Secrets, type VerifiedWebhook, verify } from './signature';

/** Options of {@link createReceiver}. */
export interface ReceiverOptions<TCatalog extends EventCatalog> {
  /** The events this receiver understands; payloads are validated against their schemas. */
  catalog: TCatalog;
  /**
   * Every secret currently valid (several during a rotation): `whsec_…`, or `whpk_…` for `v1a`.
   * A function is called per request (e.g. to look secrets up per tenant or reload them after a rotation).
   */
  secrets: Secrets | SecretsResolver;
  /** Accepted clock distance, both directions. @default 300 */
  toleranceSeconds?: number;
  /** Largest body accepted; larger ones get 413 before they are buffered. @default 1 MiB */
  maxBodyBytes?: number;
  /** Where handled ids are recorded, or `false` to run handlers on every delivery. @default an in-memory LRU store */
  store?: IdempotencyStore | false;
  /** How long a handled id is remembered. @default 3 days (the sender's default retry horizon) */
  dedupeTtlMs?: number;
  /** How long a claim lasts while its handler runs; an expired claim may be processed again. @default 60 s */
  leaseMs?: number;
  /** `reject`: an event type missing from the catalog gets 400 `unknown_event`; `accept`: it goes to `onAny` handlers unvalidated. @default 'reject' */
  unknownEvents?: 'reject' | 'accept';
  /** Called when a handler throws (the response is a 500 and the claim is released). Log here. */
  onError?: (error: unknown, event: WebhookEvent<TCatalog>) => void;
  /** Clock in milliseconds, for tests. @default Date.now */
  now?: () => number;
}

/** Looks up the secrets for one request, before it is verified (the headers are not authenticated yet). */
export type SecretsResolver = (request: { headers: HeadersInput }) => Secrets | Promise<Secrets>;

/** What a handler receives beside the event: what verification established, and whatever the adapter passes (`request`, `ctx`…). */
export type HandlerContext<TContext> = TContext & {
  /** Id, timestamp, attempt and header profile of the verified request. */
  webhook: VerifiedWebhook;
};

/** A handler of one event type. */
export type WebhookHandler<TEvent, TContext> = (event: TEvent, context: HandlerContext<TContext>) => unknown;

/** How a request ended. */
export type ReceiverOutcome = 'handled' | 'duplicate' | 'in_flight' | 'rejected' | 'handler_error';

/** Input of {@link Receiver.handle}: the raw request, as bytes and headers. */
export interface ReceiverInput<TContext> {
  /** The raw body bytes exactly as received (a string is taken as its UTF-8 bytes). */
  body: Uint8Array | string;
  /** The request headers. */
  headers: HeadersInput;
  /** Passed to handlers beside `webhook`. */
  context?: TContext;
}

/** The response to send, and what happened. Adapters copy `status`, `headers` and `body` to the framework's response. */
export interface ReceiverResult<TCatalog extends EventCatalog> {
  /** HTTP status per the design table (2xx, 200 duplicate, 409, 401, 400, 413, 500). */
  status: number;
  /** Response headers (always `content-type: application/json`). */
  headers: Record<string, string>;
  /** JSON response body. */
  body: string;
  /** How the request ended. */
  outcome: ReceiverOutcome;
  /** The verified, validated event, when it got that far. */
  event?: WebhookEvent<TCatalog>;
  /** What verification established, when it succeeded. */
  webhook?: VerifiedWebhook;
  /** The typed error for rejections, or what the handler threw. */
  error?: unknown;
}

/** The framework-agnostic receiver pipeline. Create it with {@link createReceiver}. */
export interface Receiver<TCatalog extends EventCatalog, TContext = {}> {
  /** Registers a handler of one event type; its payload type is inferred from the catalog. */
  on<TName extends EventName<TCatalog>>(type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, TContext>): this;
  /** Registers a handler of every event (after the type's own handlers). */
  onAny(handler: WebhookHandler<WebhookEvent<TCatalog>, TContext>): this;
  /** Runs the whole pipeline on raw bytes and headers. Never throws for bad input: the result carries the status. */
  handle(input: ReceiverInput<TContext>): Promise<ReceiverResult<TCatalog>>;
  /** The same as a Fetch handler `(Request) => Promise<Response>`, for Hono, Next.js, Bun, Deno, workers. */
  fetch(request: Request, context?: TContext): Promise<Response>;
  /** Reads a body with this receiver's size limit, then runs the pipeline. Adapters use it for Node request streams. */
  handleStream(input: { body: Parameters<typeof readBody>[0]; headers: HeadersInput; contentLength?: string | number | null; context?: TContext }): Promise<ReceiverResult<TCatalog>>;
  /** The configured body limit in bytes. */
  readonly maxBodyBytes: number;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;

function respond<TCatalog extends EventCatalog>(status: number, payload: unknown, rest: Omit<ReceiverResult<TCatalog>, 'status' | 'headers' | 'body'>, extraHeaders?: Record<string, string>): ReceiverResult<TCatalog> {
  return { status, headers: { ...JSON_HEADERS, ...extraHeaders }, body: JSON.stringify(payload), ...rest };
}

function reject<TCatalog extends EventCatalog>(error: HooksError, webhook?: VerifiedWebhook): ReceiverResult<TCatalog> {
  return respond<TCatalog>(error.status, { error: error.toJSON() }, { outcome: 'rejected', error, webhook });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Creates the receiver pipeline every adapter calls:
 * size limit → verify signature → parse JSON → validate `data` against the event's schema →
 * claim the id in the dedupe store → run the typed handlers → respond.
 */
export function createReceiver<TCatalog extends EventCatalog, TContext = {}>(options: ReceiverOptions<TCatalog>): Receiver<TCatalog, TContext> {
  if (!options || typeof options.catalog?.validate !== 'function') {
    throw new ConfigurationError('invalid_option', 'createReceiver needs a catalog made with defineEvents().');
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new ConfigurationError('invalid_option', 'maxBodyBytes must be a positive integer.');
  const { catalog } = options;
  const store = options.store === false ? undefined : (options.store ?? createMemoryIdempotencyStore());
  const dedupeTtlMs = options.dedupeTtlMs ?? 3 * 24 * 60 * 60 * 1000;
  const leaseMs = options.leaseMs ?? 60_000;
  const unknownEvents = options.unknownEvents ?? 'reject';
  const handlers = new Map<string, Array<WebhookHandler<never, TContext>>>();
  const anyHandlers: Array<WebhookHandler<never, TContext>> = [];
  // Fail at start-up on a bad secret, not on the first request.
  if (typeof options.secrets !== 'function') verifySecretsShape(options.secrets);
  const resolveSecrets = options.secrets;

  async function parseEvent(body: Uint8Array | string, webhook: VerifiedWebhook): Promise<WebhookEvent<TCatalog>> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof body === 'string' ? body : utf8Decode(body));
    } catch {
      throw new WebhookPayloadError('invalid_json', 'The request body is not valid UTF-8 JSON.');
    }
    if (!isPlainObject(parsed)) throw new WebhookPayloadError('invalid_payload', 'The body must be a JSON object with "type" and "data".', [{ path: [], message: 'expected an object' }]);
    const { type, timestamp } = parsed;
    if (typeof type !== 'string' || type === '') throw new WebhookPayloadError('invalid_payload', 'The body has no "type" string.', [{ path: ['type'], message: 'expected a string' }]);
    if (!('data' in parsed)) throw new WebhookPayloadError('invalid_payload', 'The body has no "data".', [{ path: ['data'], message: 'required' }]);
    if (parsed.id !== undefined && parsed.id !== webhook.id) {
      throw new WebhookPayloadError('invalid_payload', 'The body "id" differs from the webhook id header.', [{ path: ['id'], message: 'does not match the header' }]);
    }
    let data: unknown = parsed.data;
    if (catalog.has(type as string)) data = await validateWithSchema(catalog.definitions[type as string]!.schema, parsed.data);
    else if (unknownEvents === 'reject') throw new WebhookPayloadError('unknown_event', `Unknown event type "${String(type).slice(0, 128)}".`, [{ path: ['type'], message: 'unknown event type' }]);
    return {
      id: webhook.id,
      type,
      timestamp: typeof timestamp === 'string' ? timestamp : new Date(webhook.timestamp * 1000).toISOString(),
      data,
    } as WebhookEvent<TCatalog>;
  }

  async function runHandlers(event: WebhookEvent<TCatalog>, context: HandlerContext<TContext>): Promise<void> {
    for (const handler of handlers.get(event.type) ?? []) await handler(event as never, context);
    for (const handler of anyHandlers) await handler(event as never, context);
  }

  async function handle(input: ReceiverInput<TContext>): Promise<ReceiverResult<TCatalog>> {
    if (byteLength(input.body, maxBodyBytes) > maxBodyBytes) return reject(new PayloadTooLargeError(maxBodyBytes));
    let webhook: VerifiedWebhook;
    let event: WebhookEvent<TCatalog>;
    let secrets: Secrets;
    try {
      secrets = typeof resolveSecrets === 'function' ? await resolveSecrets({ headers: input.headers }) : resolveSecrets;
    } catch (error) {
      // A failing secret lookup (database down) is temporary: the sender retries on 503.
      if (HooksError.isInstance(error)) return reject(error);
      return respond(503, { error: { code: 'secrets_unavailable', message: 'The webhook secrets could not be loaded; retry later.' } }, { outcome: 'rejected', error }, { 'retry-after': '5' });
    }
    try {
      webhook = await verify(input.body, input.headers, { secrets, toleranceSeconds: options.toleranceSeconds, now: options.now });
    } catch (error) {
      if (HooksError.isInstance(error)) return reject(error);
      throw error;
    }
    try {
      event = await parseEvent(input.body, webhook);
    } catch (error) {
      if (HooksError.isInstance(error)) return reject(error, webhook);
      throw error;
    }

    if (store) {
      let claim: Awaited<ReturnType<IdempotencyStore['claim']>>;
      try {
        claim = await store.claim(webhook.id, leaseMs);
      } catch (error) {
        return respond(503, { error: { code: 'store_unavailable', message: 'The idempotency store is unavailable; retry later.' } }, { outcome: 'rejected', error, event, webhook }, { 'retry-after': '5' });
      }
      if (claim === 'completed') {
        return respond(200, { ok: true, id: webhook.id, duplicate: true }, { outcome: 'duplicate', event, webhook }, { 'webhook-duplicate': 'true' });
      }
      if (claim === 'in_flight') {
        return respond(409, { error: { code: 'in_flight', message: 'This webhook id is being processed; retry later.' } }, { outcome: 'in_flight', event, webhook }, { 'retry-after': '5' });
      }
    }

    try {
      await runHandlers(event, { ...(input.context as TContext), webhook });
    } catch (error) {
      if (store) await store.release(webhook.id).catch(() => undefined);
      try {
        options.onError?.(error, event);
      } catch {
        // A failing logger must not turn a 500 into a crash.
      }
      // The handler's message is not echoed: it may contain anything.
      return respond(500, { error: { code: 'handler_error', message: 'The webhook handler failed; the sender will retry.' } }, { outcome: 'handler_error', error, event, webhook });
    }
    if (store) await store.complete(webhook.id, dedupeTtlMs).catch(() => undefined);
    return respond(200, { ok: true, id: webhook.id }, { outcome: 'handled', event, webhook });
  }

  async function handleStream(input: { body: Parameters<typeof readBody>[0]; headers: HeadersInput; contentLength?: string | number | null; context?: TContext }): Promise<ReceiverResult<TCatalog>> {
    let body: Uint8Array;
    try {
      body = await readBody(input.body, maxBodyBytes, input.contentLength);
    } catch (error) {
      if (HooksError.isInstance(error)) return reject(error);
      throw error;
    }
    return handle({ body, headers: input.headers, context: input.context });
  }

  const receiver: Receiver<TCatalog, TContext> = {
    maxBodyBytes,
    on(type, handler) {
      const list = handlers.get(type) ?? [];
      list.push(handler as WebhookHandler<never, TContext>);
      handlers.set(type, list);
      return this;
    },
    onAny(handler) {
      anyHandlers.push(handler as WebhookHandler<never, TContext>);
      return this;
    },
    handle,
    handleStream,
    async fetch(request, context) {
      const result = await handleStream({ body: request.body, headers: request.headers, contentLength: request.headers.get('content-length'), context });
      return new Response(result.body, { status: result.status, headers: result.headers });
    },
  };
  return receiver;
}

/** UTF-8 size of a body; a string is only encoded when its length alone cannot settle the limit. */
function byteLength(body: Uint8Array | string, limit: number): number {
  if (typeof body !== 'string') return body.byteLength;
  // A UTF-16 code unit is at most 3 UTF-8 bytes, and at least 1.
  if (body.length > limit || body.length * 3 <= limit) return body.length;
  return utf8Encode(body).byteLength;
}

function verifySecretsShape(secrets: Secrets): void {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  if (!Array.isArray(list) || list.length === 0 || list.some((secret) => typeof secret !== 'string' || secret === '')) {
    throw new ConfigurationError('invalid_secret', 'createReceiver needs at least one webhook secret (whsec_…).');
  }
  for (const secret of list) parseKey(secret);
}
