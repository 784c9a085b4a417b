import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminHandler } from './handler';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/**
 * Wraps a Fetch-style handler as a `node:http` request listener (plain Node servers, Express,
 * Koa's `app.callback` style). Express users mount it without a body parser in front, since the
 * handler reads the raw body itself.
 *
 * @param handler - The admin handler from {@link createAdminHandler}.
 * @returns A `(request, response)` listener for `http.createServer` or `app.use`.
 *
 * @example
 * <!-- prelude: import type { AdminHandler } from '@hooks/sender'; declare const admin: AdminHandler; -->
 * ```ts
 * import { createServer } from 'node:http';
 * import { toNodeListener } from '@hooks/sender';
 *
 * createServer(toNodeListener(admin)).listen(3000);
 * ```
 *
 * @example
 * <!-- prelude: import { createAdminHandler } from '@hooks/sender'; import { sender } from './sender.js'; declare const authorize: Parameters<typeof createAdminHandler>[1]['authorize']; -->
 * ```ts
 * import express from 'express';
 * import { toNodeListener } from '@hooks/sender';
 *
 * const app = express();
 * // Before express.json(): the admin API reads the body itself. basePath is the full path.
 * app.use('/api/webhooks', toNodeListener(createAdminHandler(sender, { basePath: '/api/webhooks', authorize })));
 * app.use(express.json());
 * ```
 */
export function toNodeListener(handler: AdminHandler): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return async (request, response) => {
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    // A parser in front (express.json(), koa-bodyparser) read the stream for good: say so rather
    // than answer an empty or unreadable body.
    if (hasBody && ((request as IncomingMessage & { _body?: unknown })._body === true || request.readableEnded)) {
      response.writeHead(400, JSON_HEADERS);
      response.end(
        JSON.stringify({
          error: {
            code: 'body_already_parsed',
            message: 'A body parser (express.json()?) read this request before the admin API, which reads the body itself. Mount the admin handler before the parser, or keep the parser off its path.',
          },
        }),
      );
      return;
    }
    let answer: Response;
    try {
      const host = request.headers.host ?? 'localhost';
      // Express strips the mount path from `url`; `originalUrl` keeps it, so basePath still matches.
      const path = (request as IncomingMessage & { originalUrl?: string }).originalUrl ?? request.url ?? '/';
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) {
        if (value === undefined) continue;
        for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
      }
      const fetchRequest = new Request(new URL(path, `http://${host}`), {
        method: request.method ?? 'GET',
        headers,
        body: hasBody ? bodyStream(request) : null,
        duplex: 'half',
      } as RequestInit & { duplex: 'half' });
      answer = await handler(fetchRequest);
    } catch {
      // A malformed Host or URL: nothing the handler could route.
      answer = new Response(JSON.stringify({ error: { code: 'invalid_input', message: 'The request could not be read (malformed Host header or URL).' } }), { status: 400, headers: JSON_HEADERS });
    }
    const outHeaders: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      outHeaders[name] = value;
    });
    // Answered before the whole body arrived (413, or a refusal that never read it): the rest is
    // never read, so the connection cannot carry another request. Say so, and Node closes it
    // after this answer, instead of the client finding a dead keep-alive socket (ECONNRESET).
    if (hasBody && !request.complete) outHeaders.connection = 'close';
    const body = answer.body ? Buffer.from(await answer.arrayBuffer()) : undefined;
    if (response.headersSent) return;
    response.writeHead(answer.status, outHeaders);
    response.end(body);
  };
}

/** The request body as a web stream whose cancel stops reading without destroying the socket (the answer still has to go out). */
function bodyStream(request: IncomingMessage): ReadableStream<Uint8Array> {
  const iterator = request.iterator({ destroyOnReturn: false });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value instanceof Uint8Array ? value : new TextEncoder().encode(String(value)));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}
