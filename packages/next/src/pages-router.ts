import type { EventCatalog, EventName, Receiver, ReceiverOptions, ReceiverResult, WebhookEvent, WebhookHandler } from '@hooks/core';
import { ConfigurationError, createConsoleLogger, createReceiver } from '@hooks/core';
import type { NextApiRequest, NextApiResponse } from 'next';

/** What Pages Router handlers receive beside the event. */
export interface PagesRouteContext {
  /** The incoming request (its body stream has been read). */
  request: NextApiRequest;
  /** The response; the route answers it after the handlers return. */
  response: NextApiResponse;
}

/** A Pages Router API route (`export default …`) that is also where handlers are registered. */
export interface PagesWebhookRoute<TCatalog extends EventCatalog> {
  /** Reads the request stream with the size limit, verifies, dedupes, validates, runs the handlers and answers. */
  (request: NextApiRequest, response: NextApiResponse): Promise<void>;
  /** Registers a handler of one event type; its payload type is inferred from the catalog. */
  on<TName extends EventName<TCatalog>>(type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, PagesRouteContext>): this;
  /** Registers a handler of every event. */
  onAny(handler: WebhookHandler<WebhookEvent<TCatalog>, PagesRouteContext>): this;
  /** The core receiver behind this route. */
  readonly receiver: Receiver<TCatalog, PagesRouteContext>;
}

/**
 * A Pages Router API route for signed webhooks. Next's body parser must be off, or the signed
 * bytes are gone before this runs (the route then answers `500 body_already_parsed`).
 *
 * @typeParam TCatalog - The catalog's type, inferred from `options.catalog` (or the receiver): it types each handler's `event.data`.
 * @param options - The receiver options (`catalog`, `secrets`, `store`, `toleranceSeconds`, …), or a receiver made with `createReceiver()`.
 * @returns The API route, to export as the module's default; register handlers on it with `on` and `onAny`.
 *
 * @example
 * ```ts
 * // pages/api/webhooks.ts
 * import { pagesWebhookHandler } from '@hooks/next';
 * import { events } from './events.js';
 *
 * // Required: let the handler read the raw request stream.
 * export const config = { api: { bodyParser: false } };
 *
 * const route = pagesWebhookHandler({ catalog: events, secrets: process.env.WEBHOOK_SECRET });
 * route.on('registrant.created', async (event, { request }) => {
 *   console.log(event.data.email, request.headers['user-agent']);
 * });
 * export default route;
 * ```
 */
export function pagesWebhookHandler<TCatalog extends EventCatalog>(options: ReceiverOptions<TCatalog> | Receiver<TCatalog, PagesRouteContext> | Receiver<TCatalog>): PagesWebhookRoute<TCatalog> {
  // A receiver made without a context type works too: its handlers just ignore the request.
  // Next has no logger of its own: handler errors go to the console (the server log) unless `logger` or `onError` is given.
  const receiver = ('handleStream' in options ? options : createReceiver({ logger: createConsoleLogger('@hooks/next'), ...options })) as Receiver<TCatalog, PagesRouteContext>;
  const route = async (request: NextApiRequest, response: NextApiResponse): Promise<void> => {
    let result: Pick<ReceiverResult<TCatalog>, 'status' | 'headers' | 'body'>;
    if (request.method !== 'POST') {
      // A Pages API route gets every method; answer as the App Router does (405, Allow: POST), before the body.
      result = await receiver.handle({ body: '', headers: request.headers, method: request.method ?? 'GET' });
    } else if (request.body !== undefined) {
      // Next's body parser consumed the stream; re-serialising `request.body` would never match the signature.
      const error = new ConfigurationError('body_already_parsed', 'Next.js parsed this body: add `export const config = { api: { bodyParser: false } }` to the webhook route.');
      result = { status: error.status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ error: error.toJSON() }) };
    } else {
      result = await receiver.handleStream({ body: request, headers: request.headers, contentLength: request.headers['content-length'], context: { request, response } });
    }
    // After an early refusal (413, 415) result.headers carry Connection: close: the rest of the body is never read.
    response.statusCode = result.status;
    for (const [name, value] of Object.entries(result.headers)) response.setHeader(name, value);
    response.end(result.body);
  };
  return Object.assign(route, {
    receiver,
    on<TName extends EventName<TCatalog>>(this: PagesWebhookRoute<TCatalog>, type: TName, handler: WebhookHandler<WebhookEvent<TCatalog, TName>, PagesRouteContext>) {
      receiver.on(type, handler);
      return this;
    },
    onAny(this: PagesWebhookRoute<TCatalog>, handler: WebhookHandler<WebhookEvent<TCatalog>, PagesRouteContext>) {
      receiver.onAny(handler);
      return this;
    },
  }) as PagesWebhookRoute<TCatalog>;
}
