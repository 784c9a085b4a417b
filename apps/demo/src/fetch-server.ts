import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { Readable } from 'node:stream';

/** A Fetch-style handler. */
export type FetchHandler = (request: Request) => Promise<Response> | Response;

/** Turns a node:http request into a Fetch `Request` (the body streams, it is not buffered). */
export function toFetchRequest(request: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const method = request.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return new Request(new URL(request.url ?? '/', `http://${request.headers.host ?? '127.0.0.1'}`), {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(request) as ReadableStream<Uint8Array>) : null,
    duplex: 'half',
  } as RequestInit & { duplex: 'half' });
}

/** Writes a Fetch `Response` to a node:http response. */
export async function sendFetchResponse(answer: Response, response: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    headers[name] = value;
  });
  response.writeHead(answer.status, headers);
  response.end(answer.body ? Buffer.from(await answer.arrayBuffer()) : undefined);
}

/** A node:http server around a Fetch handler; an unexpected throw answers 500 without detail. */
export function createFetchServer(handler: FetchHandler): Server {
  return createServer(async (request, response) => {
    try {
      await sendFetchResponse(await handler(toFetchRequest(request)), response);
    } catch {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify({ error: { code: 'internal_error', message: 'The demo server failed.' } }));
    }
  });
}
