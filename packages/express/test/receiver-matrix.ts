/**
 * The receiver test matrix, written once and run against every adapter (Express, Fastify, Koa,
 * and whoever imports it): a real server on loopback, requests signed by core, sent over HTTP.
 * Each adapter supplies `start`, which mounts the given receiver at `path` and listens.
 */
import { request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { type Receiver, createMessageId, createReceiver, generateSecret, signHeaders } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/** The catalog every matrix receiver uses. */
export type MatrixCatalog = typeof broadcastEvents;

/** A receiver and the path to mount it at. */
export interface MatrixRoute {
  /** A core receiver with the matrix's handlers registered; pass it to the adapter. */
  receiver: Receiver<MatrixCatalog>;
  /** The path to mount it at. */
  path: string;
}

/** What `start` gets: the main receiver and where, and every route to mount (the main one first, then one with `inflate: true`). */
export interface MatrixStartOptions extends MatrixRoute {
  /** Every route to mount, the main one included. */
  routes: ReadonlyArray<MatrixRoute>;
}

/** A running app: its base URL, its Node server (to count bytes read) and how to stop it. */
export interface MatrixTarget {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  /** The underlying Node HTTP server, to count the bytes it read; absent for runtimes without one (the byte checks are then left out). */
  server?: Server;
  /** Stops the app. */
  close(): Promise<void>;
}

/** Matrix settings. */
export interface MatrixOptions {
  /**
   * A body parser installed by `start` (e.g. `express.json({ verify })`) reads JSON bodies before
   * the adapter: that parser then answers non-JSON (400) and oversized (413) bodies itself, in its
   * own format and with its own limit, so only the status is checked for those.
   * @default false
   */
  parserFirst?: boolean;
}

const PATH = '/webhooks';
const INFLATE_PATH = '/webhooks-inflate';
const FIFTY_MB = 50 * 1024 * 1024;

/** A valid `registrant.created` envelope with a fresh id. */
export function registrantCreated(id = createMessageId(), overrides: Record<string, unknown> = {}): { id: string; body: string } {
  const data = { ...broadcastEvents.definitions['registrant.created'].example, ...overrides };
  return { id, body: JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data }) };
}

/** Signs `body` as message `id` with `secret` and returns the request headers. */
export async function signedHeaders(id: string, body: string, secret: string, extra: { timestamp?: Date; attempt?: number; contentType?: string } = {}): Promise<Record<string, string>> {
  const headers = await signHeaders({ id, timestamp: extra.timestamp ?? new Date(), payload: body, secrets: secret, attempt: extra.attempt, eventType: 'registrant.created' });
  if (extra.contentType !== undefined) headers['content-type'] = extra.contentType;
  return headers;
}

/** Signs raw bytes (not a string) as message `id` and returns the request headers. */
export async function signedBytes(id: string, body: Uint8Array, secret: string): Promise<Record<string, string>> {
  return signHeaders({ id, timestamp: new Date(), payload: body, secrets: secret, eventType: 'registrant.created' });
}

/**
 * Sends the headers of a POST declaring `Content-Length: total`, then one byte, and waits for
 * the response without sending the rest: only a server that answers from the declared length
 * (before reading) responds. Fails after 10 s (a server that waits for the body never answers).
 */
export function declareOnly(url: string, headers: Record<string, string>, total: number): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', headers: { ...headers, 'content-length': String(total) } });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error('no response to a declared Content-Length within 10 s: the server waited for the body'));
    }, 10_000);
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        body += text;
      });
      response.on('end', () => {
        clearTimeout(timer);
        request.destroy();
        resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body });
      });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.write('{');
  });
}

/** Streams `total` bytes in 64 KiB chunks with node:http (chunked, no Content-Length unless `declare`), and resolves with the first response. */
function streamHuge(url: string, headers: Record<string, string>, total: number, declare: boolean): Promise<{ status: number; connection: string | undefined; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    let done = false;
    const request = httpRequest(url, { method: 'POST', headers: declare ? { ...headers, 'content-length': String(total) } : headers });
    request.on('response', (response) => {
      done = true;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        body += text;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body, sent }));
      response.on('error', reject);
    });
    // Writes fail with EPIPE/ECONNRESET once the server closes the connection after its 413; the response is what matters.
    request.on('error', (error) => {
      if (!done) reject(error);
    });
    const write = (): void => {
      while (!done && sent < total) {
        sent += chunk.length;
        if (!request.write(chunk)) {
          request.once('drain', write);
          return;
        }
      }
      if (!done) request.end();
    };
    write();
  });
}

/**
 * Registers the whole matrix under `describe(name)`. `start` must mount `options.receiver` at
 * `options.path` with the adapter under test and listen on 127.0.0.1:0.
 */
export function receiverMatrix(name: string, start: (options: MatrixStartOptions) => Promise<MatrixTarget>, options: MatrixOptions = {}): void {
  const ours = options.parserFirst !== true;
  describe(`${name}: receiver matrix`, () => {
    const secret = generateSecret();
    const calls: string[] = [];
    const failOnce = new Set<string>();
    const gates = new Map<string, Promise<void>>();
    const entered = new Map<string, () => void>();
    const sockets = new Set<Socket>();
    let target: MatrixTarget;
    let url: string;

    const quiet = { info() {}, warn() {}, error() {} };
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, logger: quiet });
    const inflating = createReceiver({ catalog: broadcastEvents, secrets: secret, logger: quiet, inflate: true });
    for (const each of [receiver, inflating]) {
      each.on('registrant.created', async (event) => {
        calls.push(event.id);
        entered.get(event.id)?.();
        await gates.get(event.id);
        if (failOnce.delete(event.id)) throw new Error('handler failed on purpose');
      });
    }

    const post = async (body: string | Uint8Array, headers: Record<string, string>, at = url) => {
      const response = await fetch(at, { method: 'POST', body: body as BodyInit, headers });
      const text = await response.text();
      // A parser that runs first may answer in its own format (HTML); keep that as `{ text }`.
      const json = (response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : { text }) as Record<string, unknown> & { error?: { code: string; path?: string } };
      return { status: response.status, headers: response.headers, json };
    };
    const countOf = (id: string) => calls.filter((call) => call === id).length;

    beforeAll(async () => {
      target = await start({ receiver, path: PATH, routes: [{ receiver, path: PATH }, { receiver: inflating, path: INFLATE_PATH }] });
      target.server?.on('connection', (socket: Socket) => sockets.add(socket));
      url = `${target.url}${PATH}`;
    });
    afterAll(async () => {
      await target?.close();
    });
    beforeEach(() => {
      sockets.clear();
    });

    it('handles a valid delivery once and answers 200', async () => {
      const { id, body } = registrantCreated();
      const response = await post(body, await signedHeaders(id, body, secret));
      expect(response.status).toBe(200);
      expect(response.json).toEqual({ ok: true, id });
      expect(countOf(id)).toBe(1);
    });

    it('rejects a tampered body with 401 invalid_signature', async () => {
      const { id, body } = registrantCreated();
      const headers = await signedHeaders(id, body, secret);
      const response = await post(body.replace('Ada', 'Eve'), headers);
      expect(response.status).toBe(401);
      expect(response.json.error?.code).toBe('invalid_signature');
      expect(countOf(id)).toBe(0);
    });

    it('rejects a stale timestamp with 401 timestamp_too_old', async () => {
      const { id, body } = registrantCreated();
      const response = await post(body, await signedHeaders(id, body, secret, { timestamp: new Date(Date.now() - 10 * 60 * 1000) }));
      expect(response.status).toBe(401);
      expect(response.json.error?.code).toBe('timestamp_too_old');
      expect(countOf(id)).toBe(0);
    });

    it('rejects a request without webhook headers with 401 missing_header', async () => {
      const { id, body } = registrantCreated();
      const response = await post(body, { 'content-type': 'application/json' });
      expect(response.status).toBe(401);
      expect(response.json.error?.code).toBe('missing_header');
      expect(countOf(id)).toBe(0);
    });

    it('answers a replayed id with 200 duplicate and runs the handler once', async () => {
      const { id, body } = registrantCreated();
      const first = await post(body, await signedHeaders(id, body, secret));
      const second = await post(body, await signedHeaders(id, body, secret, { attempt: 2 }));
      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(second.json).toEqual({ ok: true, id, duplicate: true });
      expect(second.headers.get('webhook-duplicate')).toBe('true');
      expect(countOf(id)).toBe(1);
    });

    it('answers a duplicate that arrives while the first is in flight with 409, and runs the handler once', async () => {
      const { id, body } = registrantCreated();
      let release!: () => void;
      gates.set(id, new Promise<void>((resolve) => (release = resolve)));
      const inHandler = new Promise<void>((resolve) => entered.set(id, resolve));
      const headers = await signedHeaders(id, body, secret);
      const first = post(body, headers);
      await inHandler;
      const concurrent = await Promise.all([post(body, headers), post(body, headers), post(body, headers)]);
      release();
      expect((await first).status).toBe(200);
      for (const response of concurrent) {
        expect(response.status).toBe(409);
        expect(response.json.error?.code).toBe('in_flight');
        expect(response.headers.get('retry-after')).toBe('5');
      }
      expect(countOf(id)).toBe(1);
    });

    it('runs the handler once when identical deliveries race', async () => {
      const { id, body } = registrantCreated();
      const headers = await signedHeaders(id, body, secret);
      const responses = await Promise.all(Array.from({ length: 6 }, () => post(body, headers)));
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 200 || status === 409)).toHaveLength(6);
      expect(responses.filter((response) => response.status === 200 && response.json.duplicate !== true)).toHaveLength(1);
      expect(countOf(id)).toBe(1);
    });

    // Core decides by signature and JSON, not by Content-Type: the raw bytes stay intact whatever the header says.
    it.each(['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8'])(
      'verifies a signed body sent as %s',
      async (contentType) => {
        const { id, body } = registrantCreated();
        const response = await post(body, await signedHeaders(id, body, secret, { contentType }));
        expect(response.status).toBe(200);
        expect(countOf(id)).toBe(1);
      },
    );

    it('verifies a signed body sent without a Content-Type', async () => {
      const { id, body } = registrantCreated();
      const headers = await signedHeaders(id, body, secret);
      delete headers['content-type'];
      // A Uint8Array body makes fetch send no Content-Type of its own.
      const response = await fetch(url, { method: 'POST', body: new TextEncoder().encode(body), headers });
      expect(response.status).toBe(200);
      expect(countOf(id)).toBe(1);
    });

    it('answers a signed body that is not JSON with 400 invalid_json', async () => {
      const id = createMessageId();
      const body = '{"id": "not json';
      const response = await post(body, await signedHeaders(id, body, secret));
      expect(response.status).toBe(400);
      if (ours) expect(response.json.error?.code).toBe('invalid_json');
      expect(countOf(id)).toBe(0);
    });

    it('answers a schema mismatch with 400 and the failing path', async () => {
      const { id, body } = registrantCreated(undefined, { registrant: { id: 'reg_1', email: 'not-an-email', firstName: 'A', lastName: 'B' } });
      const response = await post(body, await signedHeaders(id, body, secret));
      expect(response.status).toBe(400);
      expect(response.json.error?.code).toBe('invalid_payload');
      expect(response.json.error?.path).toBe('data.registrant.email');
      expect(countOf(id)).toBe(0);
    });

    it('answers 500 when the handler throws, then processes the retry', async () => {
      const { id, body } = registrantCreated();
      failOnce.add(id);
      const first = await post(body, await signedHeaders(id, body, secret));
      expect(first.status).toBe(500);
      expect(first.json.error?.code).toBe('handler_error');
      expect(JSON.stringify(first.json)).not.toContain('on purpose');
      const retry = await post(body, await signedHeaders(id, body, secret, { attempt: 2 }));
      expect(retry.status).toBe(200);
      expect(retry.json).toEqual({ ok: true, id });
      expect(countOf(id)).toBe(2);
    });

    it('verifies the exact bytes of a signed body that starts with a UTF-8 BOM', async () => {
      const { id, body } = registrantCreated();
      const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]);
      const response = await post(bytes, await signedBytes(id, bytes, secret));
      if (!ours) return;
      expect(response.status).toBe(200);
      expect(countOf(id)).toBe(1);
    });

    it('answers a signed body that is not UTF-8 with 400 invalid_json, not 401', async () => {
      const id = createMessageId();
      const bytes = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
      const response = await post(bytes, await signedBytes(id, bytes, secret));
      if (!ours) return;
      expect(response.status).toBe(400);
      expect(response.json.error?.code).toBe('invalid_json');
    });

    it('refuses a gzip body with 415 unsupported_encoding: the signature covers the bytes on the wire', async () => {
      const { id, body } = registrantCreated();
      const response = await post(gzipSync(body), { ...(await signedHeaders(id, body, secret)), 'content-encoding': 'gzip' });
      expect(response.status).toBe(415);
      expect(response.json.error?.code).toBe('unsupported_encoding');
      expect(countOf(id)).toBe(0);
    });

    it('with inflate: true, verifies a gzip body signed over the JSON it inflates to', async () => {
      const { id, body } = registrantCreated();
      const response = await post(gzipSync(body), { ...(await signedHeaders(id, body, secret)), 'content-encoding': 'gzip' }, `${target.url}${INFLATE_PATH}`);
      expect(response.status).toBe(200);
      expect(countOf(id)).toBe(1);
    });

    it('with inflate: true, answers a gzip body that inflates past the limit with 413', async () => {
      const id = createMessageId();
      const body = `{"pad":"${' '.repeat(3 * 1024 * 1024)}"}`;
      const compressed = gzipSync(body);
      expect(compressed.length).toBeLessThan(64 * 1024);
      const response = await post(compressed, { ...(await signedHeaders(id, body, secret)), 'content-encoding': 'gzip' }, `${target.url}${INFLATE_PATH}`);
      expect(response.status).toBe(413);
      if (ours) expect(response.json.error?.code).toBe('payload_too_large');
      expect(countOf(id)).toBe(0);
    });

    it('answers a declared Content-Length over the limit with 413 at once, before the body is sent', async () => {
      if (!ours) return;
      const { id } = registrantCreated();
      const response = await declareOnly(url, await signedHeaders(id, '{}', secret), FIFTY_MB);
      expect(response.status).toBe(413);
      expect(response.connection).toBe('close');
      expect(JSON.parse(response.body).error.code).toBe('payload_too_large');
      expect(countOf(id)).toBe(0);
    });

    it('answers a streamed 50 MB body with 413 and Connection: close, having read only a little of it', async () => {
      const { id } = registrantCreated();
      const headers = await signedHeaders(id, '{}', secret);
      const response = await streamHuge(url, headers, FIFTY_MB, false);
      expect(response.status).toBe(413);
      expect(countOf(id)).toBe(0);
      if (!ours) return;
      expect(response.connection).toBe('close');
      expect(JSON.parse(response.body).error.code).toBe('payload_too_large');
      if (!target.server) return;
      const bytesRead = [...sockets].reduce((sum, socket) => sum + socket.bytesRead, 0);
      expect(bytesRead).toBeGreaterThan(receiver.maxBodyBytes);
      // The limit (1 MiB) plus socket and stream buffers; nowhere near 50 MB.
      expect(bytesRead).toBeLessThan(8 * 1024 * 1024);
    });

    it('answers a declared 50 MB Content-Length with 413 before reading the body', async () => {
      const { id } = registrantCreated();
      const headers = await signedHeaders(id, '{}', secret);
      const response = await streamHuge(url, headers, FIFTY_MB, true);
      expect(response.status).toBe(413);
      expect(countOf(id)).toBe(0);
      if (!ours) return;
      expect(response.connection).toBe('close');
      expect(JSON.parse(response.body).error.code).toBe('payload_too_large');
      if (!target.server) return;
      const bytesRead = [...sockets].reduce((sum, socket) => sum + socket.bytesRead, 0);
      expect(bytesRead).toBeLessThan(8 * 1024 * 1024);
    });
  });
}
