import type { EventCatalog, EventName, Receiver, ReceiverOptions, WebhookEvent, WebhookHandler } from '@hooks/core';
import { createConsoleLogger, createReceiver } from '@hooks/core';

/** What App Router handlers receive beside the event. */
export interface AppRouteContext {
  /** The incoming request (its body has been read). */
  request: Request;
}

/** An App Router route handler (`export const POST = …`) that is also where handlers are registered. */
export interface WebhookRoute<TCatalog extends EventCatalog> {
  /** Reads the body with the size limit, verifies, dedupes, validates, runs the handlers and answers. */
  (request: Request): Promise<Response>;
  /** Registers a handler of one event type; its payload type is inferred from the catalog. */
  on<TName extends EventName<TCatalog>>(type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, AppRouteContext>): this;
  /** Registers a handler of every event. */
  onAny(handler: WebhookHandler<WebhookEvent<TCatalog>, AppRouteContext>): this;
  /** The core receiver behind this route. */
  readonly receiver: Receiver<TCatalog, AppRouteContext>;
}

/**
 * An App Router route handler for signed webhooks, from receiver options or a receiver made
 * with `createReceiver()`. It imports nothing from Node, so it runs on the `nodejs` and `edge`
 * runtimes.
 *
 * Creating the route never throws for a secret that is not set: `next build` evaluates route
 * modules, usually without runtime secrets. Requests are then answered `500 missing_secret`, with
 * a log line, until the server runs with the secret.
 *
 * @typeParam TCatalog - The catalog's type, inferred from `options.catalog` (or the receiver): it types each handler's `event.data`.
 * @param options - The receiver options (`catalog`, `secrets`, `store`, `toleranceSeconds`, …), or a receiver made with `createReceiver()`.
 * @returns The route handler, to export as `POST`; register handlers on it with `on` and `onAny`.
 *
 * @example
 * ```ts
 * // app/api/webhooks/route.ts
 * import { webhookHandler } from '@hooks/next';
 * import { events } from './events.js';
 *
 * export const runtime = 'nodejs'; // or 'edge'
 *
 * export const POST = webhookHandler({ catalog: events, secrets: process.env.WEBHOOK_SECRET });
 * POST.on('registrant.created', async (event, { request }) => {
 *   console.log(event.data.email, request.headers.get('x-webhook-attempt'));
 * });
 * ```
 */
export function webhookHandler<TCatalog extends EventCatalog>(options: ReceiverOptions<TCatalog> | Receiver<TCatalog, AppRouteContext> | Receiver<TCatalog>): WebhookRoute<TCatalog> {
  // A receiver made without a context type works too: its handlers just ignore the request.
  // Next has no logger of its own: handler errors go to the console (the server log) unless `logger` or `onError` is given.
  const receiver = ('handleStream' in options ? options : createReceiver({ logger: createConsoleLogger('@hooks/next'), ...options })) as Receiver<TCatalog, AppRouteContext>;
  // `receiver.fetch` streams `request.body` and stops at the limit: never `request.json()`, whose bytes are not the signed ones.
  const route = (request: Request): Promise<Response> => receiver.fetch(request, { request });
  return Object.assign(route, {
    receiver,
    on<TName extends EventName<TCatalog>>(this: WebhookRoute<TCatalog>, type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, AppRouteContext>) {
      receiver.on(type, handler);
      return this;
    },
    onAny(this: WebhookRoute<TCatalog>, handler: WebhookHandler<WebhookEvent<TCatalog>, AppRouteContext>) {
      receiver.onAny(handler);
      return this;
    },
  }) as WebhookRoute<TCatalog>;
}
