import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, type ReceiverResult, createReceiver, generateSecret } from '../src/index';
import { NOW_SECONDS, broadcastEvents, registrantData, signedRequest } from './support';

// Real HTTP on loopback: one server feeds Node request streams to `handleStream` (as the
// Express/Fastify/Koa adapters do), the other turns them into Fetch Requests for `fetch`
// (as Next.js/Hono on Node do).

type Catalog = typeof broadcastEvents;
const secret = generateSecret();
const MAX_BODY = 1024 * 1024;

// Status the server decided per request id, seen from the server side (the client may not get
// to read a 413 when the server closes the connection in the middle of an upload).
const decided = new Map<string, number>();

function send(response: ServerResponse, result: Pick<ReceiverResult<Catalog>, 'status' | 'headers' | 'body'>, testId: string | string[] | undefined): void {
  if (typeof testId === 'string') decided.set(testId, result.status);
  // After a 413 the rest of the body is unread: close the connection rather than drain it.
  if (result.status === 413) response.setHeader('connection', 'close');
  response.writeHead(result.status, result.headers).end(result.body);
}

function streamAdapter(receiver: Receiver<Catalog>) {
  return async (request: IncomingMessage, response: ServerResponse) => {
    const result = await receiver.handleStream({ body: request, headers: request.headers, contentLength: request.headers['content-length'] });
    send(response, result, request.headers['x-test-id']);
  };
}

function fetchAdapter(receiver: Receiver<Catalog>) {
  return async (request: IncomingMessage, response: ServerResponse) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const webRequest = new Request(`http://127.0.0.1${request.url}`, {
      method: request.method,
      headers,
      body: Readable.toWeb(request) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit);
    const result = await receiver.fetch(webRequest);
    send(response, { status: result.status, headers: Object.fromEntries(result.headers), body: await result.text() }, request.headers['x-test-id']);
  };
}

async function listen(handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    handler(request, response).catch((error: unknown) => {
      // A crash here is a bug in the pipeline; make the test see it.
      response.writeHead(599).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks` };
}

let now = NOW_SECONDS * 1000;
const calls: string[] = [];
let failNext = false;
let gate: Promise<void> | undefined;
const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: () => now, maxBodyBytes: MAX_BODY })
  .on('registrant.created', async (event) => {
    calls.push(event.id);
    if (gate) await gate;
    if (failNext) {
      failNext = false;
      throw new Error('handler failed');
    }
  })
  .onAny(() => undefined);

const servers: Server[] = [];
const urls: Record<'handleStream' | 'fetch', string> = { handleStream: '', fetch: '' };

beforeAll(async () => {
  for (const [name, adapter] of [
    ['handleStream', streamAdapter],
    ['fetch', fetchAdapter],
  ] as const) {
    const { server, url } = await listen(adapter(receiver));
    servers.push(server);
    urls[name] = url;
  }
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

async function post(url: string, request: { body: string | Uint8Array; headers: Record<string, string> }) {
  const response = await fetch(url, { method: 'POST', body: request.body as BodyInit, headers: request.headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as { error?: { code: string; path?: string }; duplicate?: boolean } };
}

describe.each(['handleStream', 'fetch'] as const)('receiver over real HTTP (%s)', (mode) => {
  const url = () => urls[mode];

  it('handles a delivery (200), then answers its retry as a duplicate (200, marked)', async () => {
    const request = await signedRequest({ secrets: secret });
    const first = await post(url(), request);
    expect(first.status).toBe(200);
    expect(calls.filter((id) => id === request.id)).toHaveLength(1);
    const retry = await post(url(), await signedRequest({ secrets: secret, id: request.id, timestamp: NOW_SECONDS + 12 }));
    expect(retry.status).toBe(200);
    expect(retry.body.duplicate).toBe(true);
    expect(retry.headers.get('webhook-duplicate')).toBe('true');
    expect(calls.filter((id) => id === request.id)).toHaveLength(1);
  });

  it('answers 409 to the same id while the first delivery is still in its handler', async () => {
    let open!: () => void;
    gate = new Promise((resolve) => {
      open = resolve;
    });
    try {
      const request = await signedRequest({ secrets: secret });
      const first = post(url(), request);
      while (!calls.includes(request.id)) await new Promise((resolve) => setTimeout(resolve, 2));
      const concurrent = await post(url(), request);
      expect(concurrent.status).toBe(409);
      expect(concurrent.headers.get('retry-after')).toBe('5');
      open();
      expect((await first).status).toBe(200);
    } finally {
      gate = undefined;
    }
  });

  it.each([
    ['missing_header', (headers: Record<string, string>) => delete headers['x-webhook-id']],
    ['malformed_header', (headers: Record<string, string>) => (headers['x-webhook-signature'] = 'garbage')],
    ['invalid_signature', (headers: Record<string, string>) => (headers['x-webhook-signature'] = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=')],
    ['timestamp_too_old', (headers: Record<string, string>) => (headers['x-webhook-timestamp'] = String(NOW_SECONDS - 3600))],
  ])('answers 401 %s', async (code, change) => {
    const request = await signedRequest({ secrets: secret });
    change(request.headers);
    const result = await post(url(), request);
    expect(result.status).toBe(401);
    expect(result.body.error?.code).toBe(code);
  });

  it('answers 400 with the failing path', async () => {
    const result = await post(url(), await signedRequest({ secrets: secret, data: registrantData({ sessionId: 42 }) }));
    expect(result.status).toBe(400);
    expect(result.body.error).toMatchObject({ code: 'invalid_payload', path: 'data.sessionId' });
  });

  it('answers 500 when the handler throws, and processes the retry', async () => {
    failNext = true;
    const request = await signedRequest({ secrets: secret });
    expect((await post(url(), request)).status).toBe(500);
    const retry = await post(url(), await signedRequest({ secrets: secret, id: request.id, timestamp: NOW_SECONDS + 12 }));
    expect(retry.status).toBe(200);
    expect(retry.body.duplicate).toBeUndefined();
    expect(calls.filter((id) => id === request.id)).toHaveLength(2);
  });

  it('answers 413 to a declared Content-Length over the limit', async () => {
    const request = await signedRequest({ secrets: secret, body: `{"type":"registrant.created","data":"${'x'.repeat(MAX_BODY)}"}` });
    const result = await post(url(), request);
    expect(result.status).toBe(413);
    expect(result.body.error?.code).toBe('payload_too_large');
  });

  it('cuts off a streamed 50 MB body early instead of buffering it', async () => {
    const total = 50 * 1024 * 1024;
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    let produced = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (produced >= total) return controller.close();
        produced += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const request = await signedRequest({ secrets: secret });
    const testId = `stream-${mode}`;
    try {
      const response = await fetch(url(), { method: 'POST', body, headers: { ...request.headers, 'x-test-id': testId }, duplex: 'half' } as RequestInit);
      expect(response.status).toBe(413);
      expect(response.headers.get('connection')).toBe('close');
      await response.body?.cancel();
    } catch (error) {
      // Closing the connection mid-upload may reach the client as EPIPE/ECONNRESET before it reads the 413.
      expect(String((error as Error).cause)).toMatch(/EPIPE|ECONNRESET|other side closed|socket/i);
    }
    expect(decided.get(testId)).toBe(413);
    // Far less than the 50 MB was produced: the server stopped reading just past 1 MiB.
    expect(produced).toBeLessThan(total / 4);
  });
});

it('keeps handling after all of the above (no crashed server)', async () => {
  now += 1000;
  const result = await post(urls.handleStream, await signedRequest({ secrets: secret, timestamp: NOW_SECONDS + 1 }));
  expect(result.status).toBe(200);
});
