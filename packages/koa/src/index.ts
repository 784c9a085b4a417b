import {
  ConfigurationError,
  type EventCatalog,
  type EventName,
  type Receiver,
  type ReceiverOptions,
  type WebhookEvent,
  type WebhookHandler,
  createConsoleLogger,
  createReceiver,
} from '@hooks/core';
import type { Context, Middleware, Next } from 'koa';

declare module 'koa' {
  interface DefaultState {
    /** The verified, validated webhook event, set by the `webhooks()` middleware. */
    webhook?: WebhookEvent<EventCatalog>;
  }
}

/** What Koa handlers receive beside the event. */
export interface KoaWebhookContext {
  /** The Koa context (the middleware sets its status and body after the handlers return). */
  ctx: Context;
}

/** Koa settings of {@link webhooks}. */
export interface KoaSettings {
  /** Only POST requests to this path are handled; others go to `next()`. Leave unset when a router mounts the middleware. @default every request */
  path?: string;
  /** On a handled delivery, also call `next()` after setting the 200, so later middleware sees `ctx.state.webhook`. @default false */
  forward?: boolean;
}

/** Options of {@link webhooks}: the receiver options (`catalog`, `secrets`, …) and the Koa settings. */
export interface KoaWebhooksOptions<TCatalog extends EventCatalog> extends ReceiverOptions<TCatalog>, KoaSettings {}

/** The middleware returned by {@link webhooks}: a Koa middleware that also registers typed handlers. */
export interface WebhooksMiddleware<TCatalog extends EventCatalog> extends Middleware {
  /** Registers a handler of one event type; its payload type is inferred from the catalog. */
  on<TName extends EventName<TCatalog>>(type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, KoaWebhookContext>): this;
  /** Registers a handler of every event. */
  onAny(handler: WebhookHandler<WebhookEvent<TCatalog>, KoaWebhookContext>): this;
  /** The core receiver behind this middleware. */
  readonly receiver: Receiver<TCatalog, KoaWebhookContext>;
}

/**
 * Koa middleware that verifies, deduplicates, validates and dispatches signed webhooks:
 * `app.use(webhooks({ catalog, secrets, path: '/webhooks' }).on('registrant.created', handler))`.
 * Mount it before any body parser: `@koa/bodyparser` and `koa-bodyparser` keep only decoded
 * text (a BOM stripped, invalid bytes replaced), which is not what was signed, so a request they
 * read is refused with `500 body_already_parsed` and advice. A parser that keeps the bytes as a
 * `Buffer` on `ctx.request.rawBody` is fine.
 *
 * @typeParam TCatalog - The catalog's type, inferred from `options.catalog`: it types each handler's `event.data`.
 * @param options - The receiver options (`catalog`, `secrets`, `store`, `toleranceSeconds`, …), `path` and `forward`.
 * @returns The middleware, for `app.use()` or a router; register handlers on it with `on` and `onAny`.
 *
 * @example
 * ```ts
 * import { webhooks } from '@hooks/koa';
 * import Koa from 'koa';
 * import { events } from './events.js';
 *
 * const app = new Koa();
 * const hooks = webhooks({ catalog: events, secrets: process.env.WEBHOOK_SECRET, path: '/webhooks' });
 * hooks.on('registrant.created', async (event, { ctx }) => {
 *   console.log(event.data.email, ctx.get('x-webhook-id'));
 * });
 * // Before any body parser: the parser must never read a webhook request.
 * app.use(hooks);
 * app.listen(3000);
 * ```
 */
export function webhooks<TCatalog extends EventCatalog>(options: KoaWebhooksOptions<TCatalog>): WebhooksMiddleware<TCatalog>;
/**
 * Koa middleware over a receiver you made with `createReceiver<Catalog, KoaWebhookContext>()`,
 * whose handlers get the Koa `ctx`.
 *
 * @typeParam TCatalog - The receiver's catalog type.
 * @param receiver - The receiver; its handlers and those registered on the middleware run alike.
 * @param settings - `path` (default: every request that reaches it) and `forward` (default: answer and stop).
 * @returns The middleware, for `app.use()` or a router.
 *
 * @example
 * ```ts
 * import { createReceiver } from '@hooks/core';
 * import { type KoaWebhookContext, webhooks } from '@hooks/koa';
 * import Koa from 'koa';
 * import { events } from './events.js';
 *
 * const secrets = process.env.WEBHOOK_SECRET;
 * const receiver = createReceiver<typeof events, KoaWebhookContext>({ catalog: events, secrets });
 * receiver.on('registrant.created', async (event, { ctx }) => {
 *   console.log(event.data.email, ctx.ip);
 * });
 *
 * const app = new Koa();
 * app.use(webhooks(receiver, { path: '/webhooks', forward: true }));
 * // With forward, later middleware runs after the 200 is set, with ctx.state.webhook.
 * app.use(async (ctx) => {
 *   if (ctx.state.webhook) console.log('handled', ctx.state.webhook.id);
 * });
 * ```
 */
export function webhooks<TCatalog extends EventCatalog>(receiver: Receiver<TCatalog, KoaWebhookContext>, settings?: KoaSettings): WebhooksMiddleware<TCatalog>;
/**
 * Koa middleware over a framework-neutral receiver (made with `createReceiver()` without a
 * context type), e.g. one shared with another route or framework of the same app.
 *
 * @typeParam TCatalog - The receiver's catalog type.
 * @param receiver - The receiver; its handlers get the event and `{ webhook }`.
 * @param settings - `path` (default: every request that reaches it) and `forward` (default: answer and stop).
 * @returns The middleware; handlers registered on it get `ctx` too.
 *
 * @example
 * ```ts
 * import { createReceiver } from '@hooks/core';
 * import { webhooks } from '@hooks/koa';
 * import Koa from 'koa';
 * import { events } from './events.js';
 *
 * // One receiver (one dedupe store), shared by every way in.
 * export const receiver = createReceiver({ catalog: events, secrets: process.env.WEBHOOK_SECRET });
 * receiver.on('session.ended', async (event) => console.log(event.data.attendees));
 *
 * const app = new Koa();
 * app.use(webhooks(receiver, { path: '/webhooks' }));
 * ```
 */
export function webhooks<TCatalog extends EventCatalog>(receiver: Receiver<TCatalog>, settings?: KoaSettings): WebhooksMiddleware<TCatalog>;
export function webhooks<TCatalog extends EventCatalog>(
  options: KoaWebhooksOptions<TCatalog> | Receiver<TCatalog, KoaWebhookContext> | Receiver<TCatalog>,
  settings: KoaSettings = {},
): WebhooksMiddleware<TCatalog> {
  // A receiver made without a context type ignores the { ctx } it is given.
  // Koa has no logger of its own: handler errors go to the console unless `logger` or `onError` is given.
  const receiver = ('handleStream' in options ? options : createReceiver<TCatalog, KoaWebhookContext>({ logger: createConsoleLogger('@hooks/koa'), ...options })) as Receiver<TCatalog, KoaWebhookContext>;
  const { path, forward } = 'handleStream' in options ? settings : options;

  async function middleware(ctx: Context, next: Next): Promise<void> {
    if (path !== undefined && (ctx.path !== path || ctx.method !== 'POST')) return next();
    const { rawBody } = ctx.request as { rawBody?: unknown };
    let result: Awaited<ReturnType<typeof receiver.handle>>;
    if (rawBody instanceof Uint8Array) {
      // A parser that kept the exact bytes (and undid any Content-Encoding, as parsers do).
      result = await receiver.handle({ body: rawBody, headers: ctx.headers, method: ctx.method, decoded: true, context: { ctx } });
    } else if (typeof rawBody === 'string' || ctx.req.readableEnded) {
      // @koa/bodyparser and koa-bodyparser keep decoded text: a BOM stripped and invalid UTF-8 replaced, so not the signed bytes.
      const error = new ConfigurationError(
        'body_already_parsed',
        'A body parser read this request before the webhooks middleware and kept only decoded text, not the signed bytes. Mount webhooks({ path }) before the body parser (app.use order).',
      );
      ctx.status = error.status;
      ctx.body = { error: error.toJSON() };
      return;
    } else {
      // Stop reading at the limit without destroying the request: the 413 goes out first, then Connection: close (in result.headers) ends the socket.
      const stream = ctx.req.iterator({ destroyOnReturn: false });
      result = await receiver.handleStream({ body: stream, headers: ctx.headers, contentLength: ctx.get('content-length'), method: ctx.method, context: { ctx } });
    }
    if (result.event) ctx.state.webhook = result.event;
    ctx.status = result.status;
    ctx.set(result.headers);
    ctx.body = result.body;
    if (forward === true && result.outcome === 'handled') await next();
  }

  return Object.assign(middleware, {
    receiver,
    on<TName extends EventName<TCatalog>>(this: WebhooksMiddleware<TCatalog>, type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, KoaWebhookContext>) {
      receiver.on(type, handler);
      return this;
    },
    onAny(this: WebhooksMiddleware<TCatalog>, handler: WebhookHandler<WebhookEvent<TCatalog>, KoaWebhookContext>) {
      receiver.onAny(handler);
      return this;
    },
  }) as WebhooksMiddleware<TCatalog>;
}
