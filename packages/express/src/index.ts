import type { IncomingMessage, ServerResponse } from 'node:http';
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
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { bodyConsumed } from './json-parser';

export { jsonParser } from './json-parser';
export type { JsonParserOptions } from './json-parser';

declare global {
  namespace Express {
    interface Request {
      /** The verified, validated webhook event, set by the `webhooks()` middleware. */
      webhook?: WebhookEvent<EventCatalog>;
      /** The exact body bytes, kept by `jsonParser()` or `express.json({ verify: rawBodySaver })`. */
      rawBody?: Buffer;
    }
  }
}

/** What Express handlers receive beside the event. */
export interface ExpressWebhookContext {
  /** The Express request. */
  request: Request;
  /** The Express response (the middleware answers it after the handlers return). */
  response: Response;
}

/** Express settings of {@link webhooks}. */
export interface ExpressSettings {
  /** On a handled delivery, call `next()` instead of answering 200, so a later handler answers (`req.webhook` holds the event). @default false */
  forward?: boolean;
}

/** Options of {@link webhooks}: the receiver options (`catalog`, `secrets`, …) and the Express settings. */
export interface ExpressWebhooksOptions<TCatalog extends EventCatalog> extends ReceiverOptions<TCatalog>, ExpressSettings {}

/** The middleware returned by {@link webhooks}: an Express `RequestHandler` that also registers typed handlers. */
export interface WebhooksMiddleware<TCatalog extends EventCatalog> extends RequestHandler {
  /** Registers a handler of one event type; its payload type is inferred from the catalog. */
  on<TName extends EventName<TCatalog>>(type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, ExpressWebhookContext>): this;
  /** Registers a handler of every event. */
  onAny(handler: WebhookHandler<WebhookEvent<TCatalog>, ExpressWebhookContext>): this;
  /** The core receiver behind this middleware. */
  readonly receiver: Receiver<TCatalog, ExpressWebhookContext>;
}

/**
 * `verify` option of `express.json()` / `express.raw()` that keeps the exact body bytes on
 * `req.rawBody`, so the signature can be checked after a global body parser. That parser reads
 * the whole body before it refuses an oversized one: prefer {@link jsonParser}, or mount
 * `webhooks()` before the parser.
 *
 * @param request - The request being parsed; the bytes go to its `rawBody`.
 * @param _response - The response (unused; part of the `verify` signature).
 * @param buffer - The body bytes the parser read.
 *
 * @example
 * ```ts
 * import { rawBodySaver, webhooks } from '@hooks/express';
 * import express from 'express';
 * import { events } from './events.js';
 *
 * const app = express();
 * // An app-wide parser that keeps the signed bytes on req.rawBody.
 * app.use(express.json({ verify: rawBodySaver }));
 * app.post('/webhooks', webhooks({ catalog: events, secrets: process.env.WEBHOOK_SECRET }));
 * ```
 */
export function rawBodySaver(request: IncomingMessage, _response: ServerResponse, buffer: Buffer): void {
  (request as Request).rawBody = buffer;
}

/**
 * Express middleware that verifies, deduplicates, validates and dispatches signed webhooks:
 * `app.post('/webhooks', webhooks({ catalog, secrets }).on('registrant.created', handler))`.
 * Pass a receiver made with `createReceiver()` instead of options to share one.
 *
 * @typeParam TCatalog - The catalog's type, inferred from `options.catalog`: it types each handler's `event.data`.
 * @param options - The receiver options (`catalog`, `secrets`, `store`, `toleranceSeconds`, …) and `forward`.
 * @returns The middleware; register handlers on it with `on` and `onAny`.
 *
 * @example
 * ```ts
 * import { webhooks } from '@hooks/express';
 * import express from 'express';
 * import { events } from './events.js';
 *
 * const app = express();
 * const hooks = webhooks({ catalog: events, secrets: process.env.WEBHOOK_SECRET });
 * hooks.on('registrant.created', async (event, { request }) => {
 *   console.log(event.data.email, request.ip); // verified, validated, typed, deduplicated
 * });
 * app.post('/webhooks', hooks);
 * app.listen(3000);
 * ```
 */
export function webhooks<TCatalog extends EventCatalog>(options: ExpressWebhooksOptions<TCatalog>): WebhooksMiddleware<TCatalog>;
/**
 * Express middleware over a receiver you made with `createReceiver<Catalog, ExpressWebhookContext>()`,
 * whose handlers get the Express `request` and `response`.
 *
 * @typeParam TCatalog - The receiver's catalog type.
 * @param receiver - The receiver; its handlers and those registered on the middleware run alike.
 * @param settings - `forward`: call `next()` after a handled delivery instead of answering (default: answer 200).
 * @returns The middleware; register more handlers on it with `on` and `onAny`.
 *
 * @example
 * ```ts
 * import { createReceiver } from '@hooks/core';
 * import { type ExpressWebhookContext, webhooks } from '@hooks/express';
 * import express from 'express';
 * import { events } from './events.js';
 *
 * const secrets = process.env.WEBHOOK_SECRET;
 * const receiver = createReceiver<typeof events, ExpressWebhookContext>({ catalog: events, secrets });
 * receiver.on('registrant.created', async (event, { request }) => {
 *   console.log(event.data.email, request.ip);
 * });
 *
 * // With forward, a later handler answers; req.webhook holds the event.
 * const app = express();
 * app.post('/webhooks', webhooks(receiver, { forward: true }), (request, response) => {
 *   response.status(202).json({ received: request.webhook?.id });
 * });
 * ```
 */
export function webhooks<TCatalog extends EventCatalog>(receiver: Receiver<TCatalog, ExpressWebhookContext>, settings?: ExpressSettings): WebhooksMiddleware<TCatalog>;
/**
 * Express middleware over a framework-neutral receiver (made with `createReceiver()` without a
 * context type), e.g. one shared with a Fetch route or a queue consumer of the same app.
 *
 * @typeParam TCatalog - The receiver's catalog type.
 * @param receiver - The receiver; its handlers get the event and `{ webhook }`.
 * @param settings - `forward`: call `next()` after a handled delivery instead of answering (default: answer 200).
 * @returns The middleware; handlers registered on it get the Express `request` and `response` too.
 *
 * @example
 * ```ts
 * import { createReceiver } from '@hooks/core';
 * import { webhooks } from '@hooks/express';
 * import express from 'express';
 * import { events } from './events.js';
 *
 * // One receiver (one dedupe store), shared by every way in.
 * export const receiver = createReceiver({ catalog: events, secrets: process.env.WEBHOOK_SECRET });
 * receiver.on('session.ended', async (event) => console.log(event.data.attendees));
 *
 * const app = express();
 * app.post('/webhooks', webhooks(receiver));
 * ```
 */
export function webhooks<TCatalog extends EventCatalog>(receiver: Receiver<TCatalog>, settings?: ExpressSettings): WebhooksMiddleware<TCatalog>;
export function webhooks<TCatalog extends EventCatalog>(
  options: ExpressWebhooksOptions<TCatalog> | Receiver<TCatalog, ExpressWebhookContext> | Receiver<TCatalog>,
  settings: ExpressSettings = {},
): WebhooksMiddleware<TCatalog> {
  // A receiver made without a context type ignores the { request, response } it is given.
  // Express has no logger of its own: handler errors go to the console unless `logger` or `onError` is given.
  const receiver = ('handleStream' in options ? options : createReceiver<TCatalog, ExpressWebhookContext>({ logger: createConsoleLogger('@hooks/express'), ...options })) as Receiver<TCatalog, ExpressWebhookContext>;
  const forward = ('handleStream' in options ? settings.forward : options.forward) === true;

  async function middleware(request: Request, response: Response, next: NextFunction): Promise<void> {
    try {
      const context: ExpressWebhookContext = { request, response };
      // A parser that ran first either kept the bytes (rawBodySaver, express.raw) or consumed them for good.
      const raw = request.rawBody ?? (Buffer.isBuffer(request.body) ? request.body : undefined);
      let result: Awaited<ReturnType<typeof receiver.handle>>;
      if (raw !== undefined) {
        // Express's parsers (and jsonParser) have undone any Content-Encoding already.
        result = await receiver.handle({ body: raw, headers: request.headers, method: request.method, decoded: true, context });
      } else if (bodyConsumed(request)) {
        const error = new ConfigurationError(
          'body_already_parsed',
          'A body parser (express.json()?) read this request before the webhooks middleware and kept no raw bytes, so its signature cannot be checked. Mount webhooks() before the parser, or use jsonParser() from @hooks/express instead of express.json().',
        );
        response.status(error.status).json({ error: error.toJSON() });
        return;
      } else {
        // Stop reading at the limit without destroying the request: the 413 goes out first, then Connection: close (in result.headers) ends the socket.
        const body = request.iterator({ destroyOnReturn: false });
        result = await receiver.handleStream({ body, headers: request.headers, contentLength: request.headers['content-length'], method: request.method, context });
      }
      if (result.event) request.webhook = result.event;
      if (forward && result.outcome === 'handled') return next();
      response.status(result.status).set(result.headers).send(result.body);
    } catch (error) {
      next(error);
    }
  }

  return Object.assign(middleware, {
    receiver,
    on<TName extends EventName<TCatalog>>(this: WebhooksMiddleware<TCatalog>, type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, ExpressWebhookContext>) {
      receiver.on(type, handler);
      return this;
    },
    onAny(this: WebhooksMiddleware<TCatalog>, handler: WebhookHandler<WebhookEvent<TCatalog>, ExpressWebhookContext>) {
      receiver.onAny(handler);
      return this;
    },
  }) as WebhooksMiddleware<TCatalog>;
}
