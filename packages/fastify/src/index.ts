import {
  type EventCatalog,
  type EventName,
  type Logger,
  PayloadTooLargeError,
  type Receiver,
  type ReceiverOptions,
  type WebhookEvent,
  type WebhookHandler,
  createReceiver,
} from '@hooks/core';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified, validated webhook event, set on the webhook route (visible to its hooks, e.g. `onResponse`). */
    webhook?: WebhookEvent<EventCatalog>;
  }
}

/** What Fastify handlers receive beside the event. */
export interface FastifyWebhookContext {
  /** The Fastify request. */
  request: FastifyRequest;
  /** The Fastify reply (the plugin sends it after the handlers return). */
  reply: FastifyReply;
}

/** Fastify settings of {@link webhooks}. */
export interface FastifySettings {
  /** The route the plugin registers (POST), under the `prefix` given to `register`. @default '/webhooks' */
  path?: string;
}

/** Options of {@link webhooks}: the receiver options (`catalog`, `secrets`, …) and the Fastify settings. */
export interface FastifyWebhooksOptions<TCatalog extends EventCatalog> extends ReceiverOptions<TCatalog>, FastifySettings {}

/** The plugin returned by {@link webhooks}: pass it to `app.register()`; it also registers typed handlers. */
export interface WebhooksPlugin<TCatalog extends EventCatalog> {
  (instance: FastifyInstance, options: Record<never, never>, done: (error?: Error) => void): void;
  /** Registers a handler of one event type; its payload type is inferred from the catalog. */
  on<TName extends EventName<TCatalog>>(type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, FastifyWebhookContext>): this;
  /** Registers a handler of every event. */
  onAny(handler: WebhookHandler<WebhookEvent<TCatalog>, FastifyWebhookContext>): this;
  /** The core receiver behind this plugin. */
  readonly receiver: Receiver<TCatalog, FastifyWebhookContext>;
}

const EMPTY = new Uint8Array(0);

/**
 * The receiver's {@link Logger} over Fastify's pino logger, whose argument order is
 * `(fields, message)`: handler errors land in the app's log with the request id.
 */
class FastifyLogger implements Logger {
  constructor(private readonly log: FastifyBaseLogger) {}
  info(message: string, fields?: Record<string, unknown>): void {
    this.log.info(fields ?? {}, message);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log.warn(fields ?? {}, message);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    // pino serialises an Error under `err` (message and stack).
    const { error, ...rest } = fields ?? {};
    this.log.error(error === undefined ? rest : { ...rest, err: error }, message);
  }
}

/**
 * Fastify plugin that registers `POST path` and verifies, deduplicates, validates and
 * dispatches signed webhooks there:
 * `app.register(webhooks({ catalog, secrets }).on('registrant.created', handler))`.
 * It stays encapsulated: its raw-body parser applies to its own route only.
 *
 * @typeParam TCatalog - The catalog's type, inferred from `options.catalog`: it types each handler's `event.data`.
 * @param options - The receiver options (`catalog`, `secrets`, `store`, `toleranceSeconds`, …) and the route's `path`.
 * @returns The plugin, for `app.register()`; register handlers on it with `on` and `onAny`.
 *
 * @example
 * ```ts
 * import { webhooks } from '@hooks/fastify';
 * import Fastify from 'fastify';
 * import { events } from './events.js';
 *
 * const app = Fastify({ logger: true });
 * const hooks = webhooks({ catalog: events, secrets: process.env.WEBHOOK_SECRET, path: '/webhooks' });
 * hooks.on('registrant.created', async (event, { request }) => {
 *   request.log.info({ id: event.id, email: event.data.email }, 'registrant created');
 * });
 * await app.register(hooks);
 * await app.listen({ port: 3000 });
 * ```
 */
export function webhooks<TCatalog extends EventCatalog>(options: FastifyWebhooksOptions<TCatalog>): WebhooksPlugin<TCatalog>;
/**
 * Fastify plugin over a receiver you made with `createReceiver<Catalog, FastifyWebhookContext>()`,
 * whose handlers get the Fastify `request` and `reply`.
 *
 * @typeParam TCatalog - The receiver's catalog type.
 * @param receiver - The receiver; its handlers and those registered on the plugin run alike.
 * @param settings - The route's `path` (default: `/webhooks`, under the `prefix` given to `register`).
 * @returns The plugin, for `app.register()`.
 *
 * @example
 * ```ts
 * import { createReceiver } from '@hooks/core';
 * import { type FastifyWebhookContext, webhooks } from '@hooks/fastify';
 * import Fastify from 'fastify';
 * import { events } from './events.js';
 *
 * const secrets = process.env.WEBHOOK_SECRET;
 * const receiver = createReceiver<typeof events, FastifyWebhookContext>({ catalog: events, secrets });
 * receiver.on('registrant.created', async (event, { request }) => {
 *   request.log.info({ email: event.data.email }, 'registrant created');
 * });
 *
 * const app = Fastify({ logger: true });
 * // POST /v1/hooks
 * await app.register(webhooks(receiver, { path: '/hooks' }), { prefix: '/v1' });
 * ```
 */
export function webhooks<TCatalog extends EventCatalog>(receiver: Receiver<TCatalog, FastifyWebhookContext>, settings?: FastifySettings): WebhooksPlugin<TCatalog>;
/**
 * Fastify plugin over a framework-neutral receiver (made with `createReceiver()` without a
 * context type), e.g. one shared with another route or framework of the same app.
 *
 * @typeParam TCatalog - The receiver's catalog type.
 * @param receiver - The receiver; its handlers get the event and `{ webhook }`.
 * @param settings - The route's `path` (default: `/webhooks`, under the `prefix` given to `register`).
 * @returns The plugin, for `app.register()`; handlers registered on it get `request` and `reply` too.
 *
 * @example
 * ```ts
 * import { createReceiver } from '@hooks/core';
 * import { webhooks } from '@hooks/fastify';
 * import Fastify from 'fastify';
 * import { events } from './events.js';
 *
 * // One receiver (one dedupe store), shared by every way in.
 * export const receiver = createReceiver({ catalog: events, secrets: process.env.WEBHOOK_SECRET });
 * receiver.on('session.ended', async (event) => console.log(event.data.attendees));
 *
 * const app = Fastify();
 * await app.register(webhooks(receiver));
 * ```
 */
export function webhooks<TCatalog extends EventCatalog>(receiver: Receiver<TCatalog>, settings?: FastifySettings): WebhooksPlugin<TCatalog>;
export function webhooks<TCatalog extends EventCatalog>(
  options: FastifyWebhooksOptions<TCatalog> | Receiver<TCatalog, FastifyWebhookContext> | Receiver<TCatalog>,
  settings: FastifySettings = {},
): WebhooksPlugin<TCatalog> {
  // A receiver made without a context type ignores the { request, reply } it is given.
  const receiver = ('handleStream' in options ? options : createReceiver<TCatalog, FastifyWebhookContext>(options)) as Receiver<TCatalog, FastifyWebhookContext>;
  const path = ('handleStream' in options ? settings.path : options.path) ?? '/webhooks';

  function plugin(instance: FastifyInstance, _options: Record<never, never>, done: (error?: Error) => void): void {
    // In this plugin's context only: every body is read as raw bytes by Fastify's own reader, with
    // the receiver's limit (a declared Content-Length over it is refused before reading; a chunked
    // body stops at it). The rest of the app keeps its JSON parser.
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: receiver.maxBodyBytes }, (_request, body, parsed) => parsed(null, body));
    instance.setErrorHandler((error: Error & { code?: string }, _request, reply) => {
      // Fastify's reader refused the body: answer the receiver's 413, and close rather than drain the rest.
      if (error.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw error;
      const tooLarge = new PayloadTooLargeError(receiver.maxBodyBytes);
      return reply.code(413).header('connection', 'close').type('application/json; charset=utf-8').send(JSON.stringify({ error: tooLarge.toJSON() }));
    });
    instance.decorateRequest('webhook', undefined);
    instance.post(path, async (request, reply) => {
      const result = await receiver.handle({
        body: (request.body as Buffer | undefined) ?? EMPTY,
        headers: request.headers,
        context: { request, reply },
        // Used when the receiver has no `logger` option: Fastify's own, with the request id.
        logger: new FastifyLogger(request.log),
      });
      if (result.event) request.webhook = result.event;
      return reply.code(result.status).headers(result.headers).send(result.body);
    });
    done();
  }

  return Object.assign(plugin, {
    receiver,
    on<TName extends EventName<TCatalog>>(this: WebhooksPlugin<TCatalog>, type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, FastifyWebhookContext>) {
      receiver.on(type, handler);
      return this;
    },
    onAny(this: WebhooksPlugin<TCatalog>, handler: WebhookHandler<WebhookEvent<TCatalog>, FastifyWebhookContext>) {
      receiver.onAny(handler);
      return this;
    },
  }) as WebhooksPlugin<TCatalog>;
}
