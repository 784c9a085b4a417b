import { type BodySource, DEFAULT_MAX_BODY_BYTES, readBody } from './body';
import type { EventCatalog, EventName, WebhookEvent } from './catalog';
import { validateWithSchemaNow } from './catalog';
import { checkEncoding, contentEncodingOf, inflate } from './content-encoding';
import { utf8Decode, utf8Encode } from './encoding';
import { ConfigurationError, HooksError, MethodNotAllowedError, PayloadTooLargeError, type UnsupportedEncodingError, WebhookPayloadError } from './errors';
import { getHeader, type HeadersInput } from './headers';
import { createMemoryIdempotencyStore, SYNC_STORE, type SyncIdempotencyStore } from './idempotency/memory';
import type { IdempotencyStore } from './idempotency/types';
import { createConsoleLogger, type Logger } from './logger';
import { missingSecretError, type ReceiverSecrets, resolveSecretList } from './receiver-secrets';
import { type Secrets, type VerifiedWebhook, verifyNow } from './signature';
import { loadTracing, startSpan, tracingAvailable, tracingSettled } from './tracing';

/** Options of {@link createReceiver}. */
export interface ReceiverOptions<TCatalog extends EventCatalog> {
  /** The events this receiver understands; payloads are validated against their schemas. */
  catalog: TCatalog;
  /**
   * Every secret currently valid (several during a rotation): `whsec_…`, or `whpk_…` for `v1a`.
   * A function is called per request (e.g. to look secrets up per tenant or reload them after a rotation).
   * An empty value (an environment variable not set at build time) does not throw: each request
   * is answered `500 missing_secret` and the logger says why. Entries left empty in a list are skipped.
   */
  secrets: ReceiverSecrets | SecretsResolver;
  /** Accepted clock distance, both directions. @default 300 */
  toleranceSeconds?: number;
  /** Largest body accepted; larger ones get 413 before they are buffered. @default 1 MiB */
  maxBodyBytes?: number;
  /** Where handled ids are recorded, or `false` to run handlers on every delivery. @default an in-memory LRU store */
  store?: IdempotencyStore | false;
  /** How long a handled id is remembered: longer than the sender's longest wait between two attempts (24 h), so a retry of a delivery whose answer was lost is still recognised. @default 3 days */
  dedupeTtlMs?: number;
  /** How long a claim lasts while its handler runs; an expired claim may be processed again. @default 60 s */
  leaseMs?: number;
  /** `reject`: an event type missing from the catalog gets 400 `unknown_event`; `accept`: it goes to `onAny` handlers unvalidated. @default 'reject' */
  unknownEvents?: 'reject' | 'accept';
  /**
   * Called when a handler throws (the response is a 500 and the claim is released), instead of
   * the default: `logger.error` with the webhook id, type and attempt and the handler's error
   * (never the body or a secret).
   * @default logs through `logger`
   */
  onError?: (error: unknown, event: WebhookEvent<TCatalog>, webhook: VerifiedWebhook) => void;
  /**
   * Where the receiver reports handler failures, missing secrets and unavailable stores.
   * @default the framework's logger where the adapter has one (Fastify's `request.log`), else a console logger that prints warnings and errors
   */
  logger?: Logger;
  /**
   * Inflate `Content-Encoding: gzip` and `deflate` bodies (the signature then covers the inflated
   * bytes, and `maxBodyBytes` applies to them). Off: any encoded body gets `415 unsupported_encoding`.
   * @default false
   */
  inflate?: boolean;
  /** Clock in milliseconds, for tests. @default Date.now */
  now?: () => number;
}

/** Looks up the secrets for one request, before it is verified (the headers are not authenticated yet). */
export type SecretsResolver = (request: { headers: HeadersInput }) => ReceiverSecrets | Promise<ReceiverSecrets>;

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
  /** The request method, when the adapter does not route by method itself: anything but POST gets `405` with `Allow: POST`. */
  method?: string;
  /** True when a body parser already undid the `Content-Encoding` (Express's and Koa's parsers inflate): the bytes are not inflated again. @default false */
  decoded?: boolean;
  /** The framework's logger for this request (Fastify's `request.log`), used when the receiver has no `logger` option. */
  logger?: Logger;
}

/** Input of {@link Receiver.handleStream}: the request body as a stream, read with the receiver's size limit. */
export interface ReceiverStreamInput<TContext> extends Omit<ReceiverInput<TContext>, 'body' | 'decoded'> {
  /** The request body stream (a Node `IncomingMessage`, a Web `ReadableStream`…). */
  body: BodySource | null | undefined;
  /** The declared `Content-Length`: over the limit, the answer is 413 before anything is read. */
  contentLength?: string | number | null;
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
  handleStream(input: ReceiverStreamInput<TContext>): Promise<ReceiverResult<TCatalog>>;
  /** The configured body limit in bytes. */
  readonly maxBodyBytes: number;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;
// Sent when the rest of the body was left unread (413, 415…): the connection cannot be reused.
const CLOSE_HEADERS = { connection: 'close' } as const;

function respond<TCatalog extends EventCatalog>(status: number, payload: unknown, rest: Omit<ReceiverResult<TCatalog>, 'status' | 'headers' | 'body'>, extraHeaders?: Record<string, string>): ReceiverResult<TCatalog> {
  const headers: Record<string, string> = extraHeaders ? { ...JSON_HEADERS, ...extraHeaders } : { 'content-type': JSON_HEADERS['content-type'] };
  return { status, headers, body: JSON.stringify(payload), outcome: rest.outcome, event: rest.event, webhook: rest.webhook, error: rest.error };
}

function reject<TCatalog extends EventCatalog>(error: HooksError, webhook?: VerifiedWebhook, extraHeaders?: Record<string, string>): ReceiverResult<TCatalog> {
  return respond<TCatalog>(error.status, { error: error.toJSON() }, { outcome: 'rejected', error, webhook }, extraHeaders);
}

function ignore(): void {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const defaultLogger = createConsoleLogger('@hooks/core');

/**
 * Creates the receiver pipeline every adapter calls:
 * size limit → verify signature → parse JSON → validate `data` against the event's schema →
 * claim the id in the dedupe store → run the typed handlers → respond.
 *
 * It never throws for a secret that is not set (a build without runtime secrets): requests are
 * answered `500 missing_secret` and the logger says so. A malformed secret still throws
 * `invalid_secret` here, at start-up.
 *
 * @typeParam TCatalog - The catalog's type, inferred from `options.catalog`: it types each handler's `event.data`.
 * @typeParam TContext - What the caller passes to handlers beside the event (an adapter's `{ request }`, say).
 * @param options - The catalog, the secrets (or a function that looks them up per request) and the pipeline's settings.
 * @returns The receiver: register handlers with `on`/`onAny`, then call `handle` (bytes and headers) or `fetch` (a Fetch `Request`).
 *
 * @example
 * ```ts
 * import { createReceiver } from '@hooks/core';
 * import { events } from './events.js';
 *
 * const receiver = createReceiver({ catalog: events, secrets: process.env.WEBHOOK_SECRET });
 * receiver.on('registrant.created', async (event) => {
 *   console.log(event.data.email); // verified, validated, typed, deduplicated
 * });
 *
 * // Any Fetch runtime (Bun, Deno, Cloudflare Workers):
 * export default { fetch: (request: Request) => receiver.fetch(request) };
 * ```
 *
 * @example
 * <!-- prelude: import { createReceiver } from '@hooks/core'; import { events } from './events.js'; const receiver = createReceiver({ catalog: events, secrets: process.env.WEBHOOK_SECRET }); declare const rawBody: Uint8Array; declare const headers: Headers; declare function reply(status: number, headers: Record<string, string>, body: string): void; -->
 * ```ts
 * // Any server: the raw body bytes and the headers in; status, headers and body out.
 * const result = await receiver.handle({ body: rawBody, headers, method: 'POST' });
 * reply(result.status, result.headers, result.body);
 * console.log(result.outcome); // 'handled', 'duplicate', 'in_flight', 'rejected' or 'handler_error'
 * ```
 */
export function createReceiver<TCatalog extends EventCatalog, TContext = {}>(options: ReceiverOptions<TCatalog>): Receiver<TCatalog, TContext> {
  if (!options || typeof options.catalog?.validate !== 'function') {
    throw new ConfigurationError('invalid_option', 'createReceiver needs a catalog made with defineEvents().');
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new ConfigurationError('invalid_option', 'maxBodyBytes must be a positive integer.');
  const { catalog } = options;
  const store = options.store === false ? undefined : (options.store ?? createMemoryIdempotencyStore());
  // The in-memory store answers synchronously: no promise round-trip per claim and completion.
  const syncStore = store ? (store as { [SYNC_STORE]?: SyncIdempotencyStore })[SYNC_STORE] : undefined;
  const dedupeTtlMs = options.dedupeTtlMs ?? 3 * 24 * 60 * 60 * 1000;
  const leaseMs = options.leaseMs ?? 60_000;
  const unknownEvents = options.unknownEvents ?? 'reject';
  const inflating = options.inflate === true;
  const handlers = new Map<string, Array<WebhookHandler<never, TContext>>>();
  const anyHandlers: Array<WebhookHandler<never, TContext>> = [];
  const resolver = typeof options.secrets === 'function' ? options.secrets : undefined;
  // Checked once, at start-up: a malformed secret throws here; an empty one is answered per request.
  const fixed = resolver ? undefined : resolveSecretList(options.secrets as ReceiverSecrets);
  const fixedSecrets: Secrets | undefined = fixed && fixed.list.length > 0 ? (fixed.list.length === 1 ? fixed.list[0]! : fixed.list) : undefined;
  let warnedMissing = false;
  let warnedEmpty = false;
  void loadTracing();

  const loggerFor = (input: { logger?: Logger }): Logger => options.logger ?? input.logger ?? defaultLogger;

  /** A safe log call: a failing logger must never turn an answer into a crash. */
  function log(logger: Logger, level: 'warn' | 'error', message: string, fields: Record<string, unknown>): void {
    try {
      logger[level](message, fields);
    } catch {
      // ignored on purpose
    }
  }

  async function secretsFor(input: ReceiverInput<TContext>, logger: Logger): Promise<Secrets | HooksError | ReceiverResult<TCatalog>> {
    let list: { list: string[]; empty: number } | undefined = fixed;
    if (resolver) {
      try {
        list = resolveSecretList(await resolver({ headers: input.headers }));
      } catch (error) {
        if (HooksError.isInstance(error)) return error;
        // A failing secret lookup (database down) is temporary: the sender retries on 503.
        log(logger, 'error', 'The webhook secrets could not be loaded; answering 503.', { code: 'secrets_unavailable', error: describeFailure(error) });
        return respond(503, { error: { code: 'secrets_unavailable', message: 'The webhook secrets could not be loaded; retry later.' } }, { outcome: 'rejected', error }, { 'retry-after': '5' });
      }
    } else if (fixedSecrets !== undefined) {
      if (fixed!.empty > 0 && !warnedEmpty) {
        warnedEmpty = true;
        log(logger, 'warn', `${fixed!.empty} of the configured webhook secrets are empty and were skipped.`, { code: 'missing_secret' });
      }
      return fixedSecrets;
    }
    if (!list || list.list.length === 0) {
      if (!warnedMissing || resolver) {
        warnedMissing = true;
        log(logger, 'error', 'No webhook secret is configured: deliveries are answered 500 missing_secret until one is set (was the secret missing from the environment at start-up?).', { code: 'missing_secret' });
      }
      return missingSecretError();
    }
    return list.list.length === 1 ? list.list[0]! : list.list;
  }

  /** The event, synchronously unless the schema validates asynchronously; throws a {@link WebhookPayloadError}. */
  function parseEvent(body: Uint8Array | string, webhook: VerifiedWebhook): WebhookEvent<TCatalog> | Promise<WebhookEvent<TCatalog>> {
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
    // The id header is what dedupe trusts; a body naming another message is a forged or mixed-up envelope.
    if (parsed.id !== undefined && parsed.id !== webhook.id) {
      throw new WebhookPayloadError('invalid_payload', 'The body "id" differs from the webhook id header.', [{ path: ['id'], message: 'does not match the header' }]);
    }
    let data: unknown = parsed.data;
    if (catalog.has(type as string)) data = validateWithSchemaNow(catalog.definitions[type as string]!.schema, parsed.data);
    else if (unknownEvents === 'reject') throw new WebhookPayloadError('unknown_event', `Unknown event type "${String(type).slice(0, 128)}".`, [{ path: ['type'], message: 'unknown event type' }]);
    const eventTimestamp = typeof timestamp === 'string' ? timestamp : new Date(webhook.timestamp * 1000).toISOString();
    const eventOf = (value: unknown) => ({ id: webhook.id, type, timestamp: eventTimestamp, data: value }) as WebhookEvent<TCatalog>;
    return data instanceof Promise ? data.then(eventOf) : eventOf(data);
  }

  /** Runs the handlers in order; awaits only those that return a promise (a synchronous handler costs no turn of the event loop). */
  function runHandlers(event: WebhookEvent<TCatalog>, context: HandlerContext<TContext>): void | Promise<void> {
    const typed = handlers.get(event.type);
    const all = typed === undefined ? anyHandlers : anyHandlers.length === 0 ? typed : [...typed, ...anyHandlers];
    for (let index = 0; index < all.length; index++) {
      const result = all[index]!(event as never, context) as unknown;
      if (isThenable(result)) return finishHandlers(all, index, result, event, context);
    }
  }

  async function finishHandlers(all: ReadonlyArray<WebhookHandler<never, TContext>>, from: number, pending: PromiseLike<unknown>, event: WebhookEvent<TCatalog>, context: HandlerContext<TContext>): Promise<void> {
    await pending;
    for (let index = from + 1; index < all.length; index++) await all[index]!(event as never, context);
  }

  /** The request checks that come before reading any body: method and encoding. */
  function precheck(input: { method?: string; headers: HeadersInput }): { result?: ReceiverResult<TCatalog>; encoding?: string } {
    if (input.method !== undefined && input.method !== 'POST') {
      return { result: reject(new MethodNotAllowedError(input.method), undefined, { allow: 'POST' }) };
    }
    const encoding = contentEncodingOf(input.headers);
    try {
      checkEncoding(encoding, inflating);
    } catch (error) {
      return { result: reject(error as UnsupportedEncodingError) };
    }
    return { encoding };
  }

  async function pipeline(input: ReceiverInput<TContext>, logger: Logger, checked: { encoding?: string }): Promise<ReceiverResult<TCatalog>> {
    let body = input.body;
    if (byteLength(body, maxBodyBytes) > maxBodyBytes) return reject(new PayloadTooLargeError(maxBodyBytes));
    if (checked.encoding !== undefined && input.decoded !== true) {
      try {
        body = await inflate(typeof body === 'string' ? utf8Encode(body) : body, checked.encoding, maxBodyBytes);
      } catch (error) {
        if (HooksError.isInstance(error)) return reject(error);
        throw error;
      }
    }
    // Fixed secrets (the usual case) need no await.
    const secrets = resolver === undefined && fixedSecrets !== undefined && (fixed!.empty === 0 || warnedEmpty) ? fixedSecrets : await secretsFor(input, logger);
    if (HooksError.isInstance(secrets)) return reject(secrets);
    if (typeof secrets === 'object' && !Array.isArray(secrets)) return secrets as ReceiverResult<TCatalog>;
    let webhook: VerifiedWebhook;
    let event: WebhookEvent<TCatalog>;
    try {
      const verified = verifyNow(body, input.headers, { secrets: secrets as Secrets, toleranceSeconds: options.toleranceSeconds, now: options.now });
      webhook = verified instanceof Promise ? await verified : verified;
    } catch (error) {
      if (HooksError.isInstance(error)) return reject(error);
      throw error;
    }
    try {
      const parsed = parseEvent(body, webhook);
      event = parsed instanceof Promise ? await parsed : parsed;
    } catch (error) {
      if (HooksError.isInstance(error)) return reject(error, webhook);
      throw error;
    }

    if (store) {
      let claim: Awaited<ReturnType<IdempotencyStore['claim']>>;
      try {
        claim = syncStore ? syncStore.claim(webhook.id, leaseMs) : await store.claim(webhook.id, leaseMs);
      } catch (error) {
        log(logger, 'error', 'The idempotency store is unavailable; answering 503.', { code: 'store_unavailable', webhookId: webhook.id, type: event.type, error: describeFailure(error) });
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
      const ran = runHandlers(event, { ...(input.context as TContext), webhook });
      if (ran !== undefined) await ran;
    } catch (error) {
      if (store) await store.release(webhook.id).catch(ignore);
      try {
        if (options.onError) options.onError(error, event, webhook);
        // Id, type and attempt identify the delivery; the body and the secrets are never logged.
        else logger.error('Webhook handler failed; answered 500 so the sender retries.', { webhookId: webhook.id, type: event.type, attempt: webhook.attempt, error });
      } catch {
        // A failing logger must not turn a 500 into a crash.
      }
      // The handler's message is not echoed: it may contain anything.
      return respond(500, { error: { code: 'handler_error', message: 'The webhook handler failed; the sender will retry.' } }, { outcome: 'handler_error', error, event, webhook });
    }
    if (syncStore) syncStore.complete(webhook.id, dedupeTtlMs);
    else if (store) await store.complete(webhook.id, dedupeTtlMs).catch(ignore);
    return { status: 200, headers: { 'content-type': JSON_HEADERS['content-type'] }, body: `{"ok":true,"id":${JSON.stringify(webhook.id)}}`, outcome: 'handled', event, webhook, error: undefined };
  }

  /** Runs `work` inside a `hooks.receive` span when OpenTelemetry is there; the span ends with the outcome and status. */
  async function traced(headers: HeadersInput, work: () => Promise<ReceiverResult<TCatalog>>): Promise<ReceiverResult<TCatalog>> {
    if (!tracingSettled()) await loadTracing();
    if (!tracingAvailable()) return work();
    const span = startSpan('hooks.receive', { kind: 'consumer', traceparent: getHeader(headers, 'traceparent'), tracestate: getHeader(headers, 'tracestate') });
    if (!span) return work();
    try {
      const result = await span.run(work);
      const code = HooksError.isInstance(result.error) ? result.error.code : undefined;
      span.setAttributes({
        'webhook.id': result.webhook?.id,
        'webhook.type': result.event?.type ?? result.webhook?.eventType,
        'webhook.attempt': result.webhook?.attempt,
        'webhook.outcome': result.outcome,
        'webhook.error.code': code,
        'http.response.status_code': result.status,
      });
      if (result.outcome === 'handler_error') span.fail('The webhook handler failed.', result.error);
      else if (result.status >= 500) span.fail(code ?? `status ${result.status}`);
      return result;
    } catch (error) {
      span.fail('The receiver failed.', error);
      throw error;
    } finally {
      span.end();
    }
  }

  function handle(input: ReceiverInput<TContext>): Promise<ReceiverResult<TCatalog>> {
    // Without a registered OpenTelemetry SDK (the usual case), no span wrapper and no closure.
    if (tracingSettled() && !tracingAvailable()) return handleNow(input);
    return traced(input.headers, () => handleNow(input));
  }

  function handleNow(input: ReceiverInput<TContext>): Promise<ReceiverResult<TCatalog>> {
    const checked = precheck(input);
    return checked.result ? Promise.resolve(checked.result) : pipeline(input, loggerFor(input), checked);
  }

  function handleStream(input: ReceiverStreamInput<TContext>): Promise<ReceiverResult<TCatalog>> {
    return traced(input.headers, async () => {
      const checked = precheck(input);
      // Refused before reading: the rest of the body stays unread, so the connection is closed after the answer.
      if (checked.result) return input.body && declaresBody(input) ? withClose(checked.result) : checked.result;
      let body: Uint8Array;
      try {
        body = await readBody(input.body, maxBodyBytes, input.contentLength);
      } catch (error) {
        if (HooksError.isInstance(error)) return withClose(reject(error));
        throw error;
      }
      return pipeline({ body, headers: input.headers, context: input.context, logger: input.logger }, loggerFor(input), checked);
    });
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
      const result = await handleStream({ body: request.body, headers: request.headers, contentLength: request.headers.get('content-length'), method: request.method, context });
      const { connection: _connection, ...headers } = result.headers;
      return new Response(result.body, { status: result.status, headers });
    },
  };
  return receiver;
}

/**
 * What is logged of an infrastructure failure (a secrets lookup, a dedupe store): its class and
 * code only. Their messages can carry connection strings with passwords.
 */
function describeFailure(error: unknown): { name: string; code?: string } {
  if (typeof error !== 'object' || error === null) return { name: typeof error };
  const { name, code } = error as { name?: unknown; code?: unknown };
  return { name: typeof name === 'string' ? name : 'Error', ...(typeof code === 'string' ? { code } : {}) };
}

/** True when the request announces a body (a non-zero Content-Length, or chunked). */
function declaresBody(input: { headers: HeadersInput; contentLength?: string | number | null }): boolean {
  const length = input.contentLength ?? getHeader(input.headers, 'content-length');
  if (length !== undefined && length !== null && length !== '') return Number(length) !== 0;
  return getHeader(input.headers, 'transfer-encoding') !== undefined;
}

function withClose<TCatalog extends EventCatalog>(result: ReceiverResult<TCatalog>): ReceiverResult<TCatalog> {
  return { ...result, headers: { ...result.headers, ...CLOSE_HEADERS } };
}

/** UTF-8 size of a body; a string is only encoded when its length alone cannot settle the limit. */
function byteLength(body: Uint8Array | string, limit: number): number {
  if (typeof body !== 'string') return body.byteLength;
  // A UTF-16 code unit is at most 3 UTF-8 bytes, and at least 1.
  if (body.length > limit || body.length * 3 <= limit) return body.length;
  return utf8Encode(body).byteLength;
}
