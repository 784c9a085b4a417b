import type { IncomingMessage } from 'node:http';
import { DEFAULT_MAX_BODY_BYTES, HooksError, WebhookPayloadError } from '@hooks/core';
import { contentEncodingOf, readBody } from '@hooks/core/internal';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Options of {@link jsonParser}. */
export interface JsonParserOptions {
  /** Largest body read, in bytes; larger ones get `413 payload_too_large` before the excess is read. @default 1 MiB (the receiver's default) */
  limit?: number;
  /** Which requests are parsed, by `Content-Type`. @default `application/json` and `application/*+json` */
  type?: (contentType: string) => boolean;
}

const decoder = new TextDecoder();

const isJson = (contentType: string): boolean => {
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
};

function answer(response: Response, status: number, error: HooksError, close: boolean): void {
  if (close) response.set('connection', 'close');
  response.status(status).type('application/json; charset=utf-8').send(JSON.stringify({ error: error.toJSON() }));
}

/**
 * A global JSON body parser for apps that receive webhooks behind it: use it instead of
 * `express.json()`. It keeps the exact bytes on `req.rawBody` (so `webhooks()` verifies them),
 * answers a `Content-Length` over `limit` with the receiver's JSON `413` at once, before reading
 * anything, and stops reading a chunked body at the limit (`express.json()` reads the whole body
 * before its 413, and waits forever for a declared length that never arrives).
 *
 * Bodies with a `Content-Encoding` are left unread for `webhooks()` to refuse (415) or inflate,
 * as its `inflate` option says; other content types are left alone too.
 *
 * @param options - The size limit and which content types are parsed.
 * @returns An Express middleware; mount it app-wide, where `express.json()` would be.
 *
 * @example
 * ```ts
 * import { jsonParser, webhooks } from '@hooks/express';
 * import express from 'express';
 * import { events } from './events.js';
 *
 * const app = express();
 * // Instead of express.json(): keeps the signed bytes, refuses oversized bodies early.
 * app.use(jsonParser({ limit: 256 * 1024 }));
 * app.post('/webhooks', webhooks({ catalog: events, secrets: process.env.WEBHOOK_SECRET }));
 * // The rest of the app gets parsed JSON as usual.
 * app.post('/api/orders', (request, response) => {
 *   response.json({ received: request.body });
 * });
 * ```
 */
export function jsonParser(options: JsonParserOptions = {}): RequestHandler {
  const limit = options.limit ?? DEFAULT_MAX_BODY_BYTES;
  const accepts = options.type ?? isJson;
  return async function parseJson(request: Request, response: Response, next: NextFunction): Promise<void> {
    const state = request as Request & { _body?: boolean };
    if (state._body === true || request.readableEnded) return next();
    const contentType = request.headers['content-type'];
    if (contentType === undefined || !accepts(contentType) || contentEncodingOf(request.headers) !== undefined) return next();
    let bytes: Uint8Array;
    try {
      // Stop reading at the limit without destroying the request: the 413 goes out first, then Connection: close ends the socket.
      bytes = await readBody(request.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>, limit, request.headers['content-length']);
    } catch (error) {
      if (HooksError.isInstance(error)) return answer(response, error.status, error, true);
      return next(error);
    }
    const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    request.rawBody = raw;
    state._body = true;
    if (raw.length === 0) {
      request.body = {};
      return next();
    }
    try {
      // TextDecoder drops a leading BOM, as JSON parsers should (RFC 8259 §8.1); the signature still covers it, on rawBody.
      request.body = JSON.parse(decoder.decode(raw));
    } catch {
      return answer(response, 400, new WebhookPayloadError('invalid_json', 'The request body is not valid JSON.'), false);
    }
    next();
  };
}

/** True when `request` is a Node request whose body a parser has consumed. */
export function bodyConsumed(request: IncomingMessage): boolean {
  return request.readableEnded || (request as { _body?: boolean })._body === true;
}
