import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { AdminHandler } from './handler';

/**
 * Wraps a Fetch-style handler as a `node:http` request listener (plain Node servers, Express,
 * Koa's `app.callback` style). Express users mount it without a body parser in front, since the
 * handler reads the raw body itself.
 */
export function toNodeListener(handler: AdminHandler): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return async (request, response) => {
    try {
      const host = request.headers.host ?? 'localhost';
      // Express strips the mount path from `url`; `originalUrl` keeps it, so basePath still matches.
      const path = (request as IncomingMessage & { originalUrl?: string }).originalUrl ?? request.url ?? '/';
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) {
        if (value === undefined) continue;
        for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
      }
      const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
      const fetchRequest = new Request(new URL(path, `http://${host}`), {
        method: request.method ?? 'GET',
        headers,
        body: hasBody ? (Readable.toWeb(request) as ReadableStream<Uint8Array>) : null,
        duplex: 'half',
      } as RequestInit & { duplex: 'half' });
      const answer = await handler(fetchRequest);
      const outHeaders: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        outHeaders[name] = value;
      });
      response.writeHead(answer.status, outHeaders);
      response.end(answer.body ? Buffer.from(await answer.arrayBuffer()) : undefined);
    } catch {
      // A malformed Host or URL: nothing the handler could route.
      if (!response.headersSent) response.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify({ error: { code: 'invalid_input', message: 'The request could not be read.' } }));
    }
  };
}
