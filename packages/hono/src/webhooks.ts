import {
  ConfigurationError,
  type EventCatalog,
  type EventName,
  type Receiver,
  type ReceiverOptions,
  type ReceiverResult,
  type WebhookEvent,
  type WebhookHandler,
  createConsoleLogger,
  createReceiver,
} from '@hooks/core';
import type { Context, MiddlewareHandler, Next } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** What handlers receive beside the event. */
export interface HonoWebhookContext {
  /** The Hono context of the request. */
  c: Context;
}

/** The Hono environment the middleware adds: the verified event on `c.var.webhook`. */
export interface WebhooksEnv<TCatalog extends EventCatalog> {
  /** Typed `c.var` / `c.get()` entries. */
  Variables: {
    /** The verified, validated event (set once the delivery is handled). */
    webhook: WebhookEvent<TCatalog>;
  };
}

/** Options of {@link webhooks}: a receiver, or the options to create one, plus Hono settings. */
export type HonoWebhooksOptions<TCatalog extends EventCatalog> = (
  | ReceiverOptions<TCatalog>
  | {
      /** A receiver made with `createReceiver()`, when you build it yourself. */
      receiver: Receiver<TCatalog, HonoWebhookContext> | Receiver<TCatalog>;
    }
) & {
  /** Run the rest of the chain (with `c.var.webhook` set) as the last handler, and answer with its response; its failure is a 500 and the retry is processed. @default false */
  forward?: boolean;
};

/** The middleware returned by {@link webhooks}: a Hono handler that also registers typed handlers. */
export interface WebhooksMiddleware<TCatalog extends EventCatalog> extends MiddlewareHandler<WebhooksEnv<TCatalog>> {
  /** Registers a handler of one event type; its payload type is inferred from the catalog. */
  on<TName extends EventName<TCatalog>>(type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, HonoWebhookContext>): this;
  /** Registers a handler of every event. */
  onAny(handler: WebhookHandler<WebhookEvent<TCatalog>, HonoWebhookContext>): this;
  /** The core receiver behind this middleware. */
  readonly receiver: Receiver<TCatalog, HonoWebhookContext>;
}

/**
 * Hono handler that verifies, deduplicates, validates and dispatches signed webhooks, on
 * `@hono/node-server` and every Web-standard runtime:
 * `app.post('/webhooks', webhooks({ catalog, secrets }).on('registrant.created', handler))`.
 *
 * @typeParam TCatalog - The catalog's type, inferred from `options.catalog` (or the receiver): it types each handler's `event.data`.
 * @param options - The receiver options (`catalog`, `secrets`, `store`, `toleranceSeconds`, …) or `{ receiver }`, and `forward`; or a receiver made with `createReceiver()`.
 * @returns The Hono handler; register handlers on it with `on` and `onAny`.
 *
 * @example
 * ```ts
 * import { serve } from '@hono/node-server';
 * import { webhooks } from '@hooks/hono';
 * import { Hono } from 'hono';
 * import { events } from './events.js';
 *
 * const hooks = webhooks({ catalog: events, secrets: process.env.WEBHOOK_SECRET });
 * hooks.on('registrant.created', async (event, { c }) => {
 *   console.log(event.data.email, c.req.header('x-webhook-attempt'));
 * });
 *
 * const app = new Hono();
 * app.post('/webhooks', hooks);
 * serve({ fetch: app.fetch, port: 3000 });
 * ```
 *
 * @example
 * <!-- prelude: import { webhooks } from '@hooks/hono'; import { Hono } from 'hono'; import { events } from './events.js'; -->
 * ```ts
 * // With forward, the next handler answers; c.var.webhook holds the verified event.
 * const hooks = webhooks({ catalog: events, secrets: process.env.WEBHOOK_SECRET, forward: true });
 * const app = new Hono();
 * app.post('/webhooks', hooks, (c) => c.json({ received: c.var.webhook.id }, 202));
 * ```
 */
export function webhooks<TCatalog extends EventCatalog>(
  options: HonoWebhooksOptions<TCatalog> | Receiver<TCatalog, HonoWebhookContext> | Receiver<TCatalog>,
): WebhooksMiddleware<TCatalog> {
  // A receiver made without a context type works too: its handlers just ignore `c`.
  // Hono has no logger of its own: handler errors go to the console unless `logger` or `onError` is given.
  const receiver = ('handleStream' in options ? options : 'receiver' in options ? options.receiver : createReceiver({ logger: createConsoleLogger('@hooks/hono'), ...options })) as Receiver<
    TCatalog,
    HonoWebhookContext
  >;
  const forward = 'forward' in options && options.forward === true;
  const nexts = new WeakMap<Context, Next>();

  if (forward) {
    // The chain runs inside the pipeline, so a failure downstream releases the dedupe claim like a handler's.
    receiver.onAny(async (event, { c }) => {
      (c as Context<WebhooksEnv<TCatalog>>).set('webhook', event);
      await nexts.get(c)?.();
      // Hono turns a downstream throw into `c.error` plus an error response; rethrow so core answers 500.
      if (c.error) throw c.error;
      if (c.res.status >= 500) throw new Error(`The next handler answered ${c.res.status}.`);
    });
  }

  const middleware: MiddlewareHandler<WebhooksEnv<TCatalog>> = async (c, next) => {
    nexts.set(c, next);
    const cached = c.req.bodyCache.arrayBuffer;
    let result: ReceiverResult<TCatalog>;
    if (cached) {
      // An earlier `c.req.arrayBuffer()` kept the exact bytes.
      result = await receiver.handle({ body: new Uint8Array(await cached), headers: c.req.raw.headers, method: c.req.method, context: { c } });
    } else if (c.req.raw.bodyUsed) {
      const error = new ConfigurationError('body_already_parsed', 'The request body was read (c.req.json()?) before the webhooks middleware, so its signature cannot be checked. Mount webhooks() first.');
      c.res = c.json({ error: error.toJSON() }, 500);
      return c.res;
    } else if (Number(c.req.header('content-length')) <= receiver.maxBodyBytes) {
      // The server delivers no more than a declared Content-Length, so within the limit the native read (several times faster than a stream reader) is safe.
      result = await receiver.handle({ body: new Uint8Array(await c.req.raw.arrayBuffer()), headers: c.req.raw.headers, method: c.req.method, context: { c } });
    } else {
      // Chunked or over the limit: stream `c.req.raw.body` and stop at the limit. Never `c.req.json()`, whose bytes differ from the signed ones.
      result = await receiver.handleStream({ body: c.req.raw.body, headers: c.req.raw.headers, contentLength: c.req.header('content-length'), method: c.req.method, context: { c } });
    }
    if (result.outcome === 'handled') {
      c.set('webhook', result.event as WebhookEvent<TCatalog>);
      if (forward) return;
    }
    // After an early refusal (413, 415) result.headers carry Connection: close: the rest of the body is never read.
    c.res = c.body(result.body, result.status as ContentfulStatusCode, result.headers);
    return c.res;
  };

  return Object.assign(middleware, {
    receiver,
    on<TName extends EventName<TCatalog>>(this: WebhooksMiddleware<TCatalog>, type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, HonoWebhookContext>) {
      receiver.on(type, handler);
      return this;
    },
    onAny(this: WebhooksMiddleware<TCatalog>, handler: WebhookHandler<WebhookEvent<TCatalog>, HonoWebhookContext>) {
      receiver.onAny(handler);
      return this;
    },
  }) as WebhooksMiddleware<TCatalog>;
}
