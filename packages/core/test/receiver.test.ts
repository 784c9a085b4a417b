import { describe, expect, it } from 'vitest';
import {
  type IdempotencyStore,
  type WebhookEvent,
  createMemoryIdempotencyStore,
  createReceiver,
  generateSecret,
  signHeaders,
} from '../src/index';
import { NOW_SECONDS, broadcastEvents, fixedNow, registrantData, signedRequest, thrownBy } from './support';

const secret = generateSecret();
type Catalog = typeof broadcastEvents;

function receiverWith(options: Partial<Parameters<typeof createReceiver<Catalog>>[0]> = {}) {
  const calls: Array<WebhookEvent<Catalog>> = [];
  const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow, ...options });
  receiver.on('registrant.created', (event) => {
    calls.push(event);
  });
  return { receiver, calls };
}

function bodyOf(result: { body: string }): { error?: { code: string; path?: string }; ok?: boolean; id?: string; duplicate?: boolean } {
  return JSON.parse(result.body);
}

describe('receiver pipeline (handle)', () => {
  it('handles a valid delivery: 200, the typed handler runs once with the verified context', async () => {
    const contexts: unknown[] = [];
    const { receiver, calls } = receiverWith();
    receiver.on('registrant.created', (_event, context) => {
      contexts.push(context);
    });
    const request = await signedRequest({ secrets: secret, id: 'msg_handled' });
    const result = await receiver.handle({ ...request, context: { requestId: 'r1' } });
    expect(result).toMatchObject({ status: 200, outcome: 'handled' });
    expect(result.headers['content-type']).toMatch(/^application\/json/);
    expect(bodyOf(result)).toEqual({ ok: true, id: 'msg_handled' });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ id: 'msg_handled', type: 'registrant.created', data: registrantData() });
    expect(contexts[0]).toMatchObject({ requestId: 'r1', webhook: { id: 'msg_handled', timestamp: NOW_SECONDS, profile: 'x-webhook', attempt: 1 } });
  });

  it('accepts both header profiles and raw bytes', async () => {
    const { receiver, calls } = receiverWith();
    const standard = await signedRequest({ secrets: secret, profile: 'standard' });
    expect((await receiver.handle(standard)).status).toBe(200);
    const bytes = await signedRequest({ secrets: secret });
    expect((await receiver.handle({ ...bytes, body: new TextEncoder().encode(bytes.body as string) })).status).toBe(200);
    expect(calls).toHaveLength(2);
  });

  it('answers a duplicate of a handled id with 200 marked duplicate, without running the handler', async () => {
    const { receiver, calls } = receiverWith();
    const request = await signedRequest({ secrets: secret });
    await receiver.handle(request);
    // A retry is signed again with a new timestamp but the same id.
    const retry = await signedRequest({ secrets: secret, id: request.id, timestamp: NOW_SECONDS + 30 });
    const result = await receiver.handle(retry);
    expect(result).toMatchObject({ status: 200, outcome: 'duplicate' });
    expect(result.headers['webhook-duplicate']).toBe('true');
    expect(bodyOf(result)).toEqual({ ok: true, id: request.id, duplicate: true });
    expect(calls).toHaveLength(1);
  });

  it('answers 409 for the same id while it is in flight, then processes nothing twice', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow }).on('registrant.created', async () => {
      started++;
      await gate;
    });
    const request = await signedRequest({ secrets: secret });
    const first = receiver.handle(request);
    // Let the first request reach its handler.
    while (started === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const concurrent = await receiver.handle(request);
    expect(concurrent).toMatchObject({ status: 409, outcome: 'in_flight' });
    expect(concurrent.headers['retry-after']).toBe('5');
    expect(bodyOf(concurrent).error?.code).toBe('in_flight');
    release();
    expect((await first).status).toBe(200);
    expect((await receiver.handle(request)).outcome).toBe('duplicate');
    expect(started).toBe(1);
  });

  describe('401 with a machine-readable code', () => {
    it.each([
      ['missing_header', (headers: Record<string, string>) => delete headers['x-webhook-signature']],
      ['malformed_header', (headers: Record<string, string>) => (headers['x-webhook-timestamp'] = 'yesterday')],
      ['invalid_signature', (headers: Record<string, string>) => (headers['x-webhook-signature'] = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=')],
      ['timestamp_too_old', (headers: Record<string, string>) => (headers['x-webhook-timestamp'] = String(NOW_SECONDS - 301))],
      ['timestamp_too_new', (headers: Record<string, string>) => (headers['x-webhook-timestamp'] = String(NOW_SECONDS + 301))],
    ])('%s', async (code, change) => {
      const { receiver, calls } = receiverWith();
      const request = await signedRequest({ secrets: secret });
      change(request.headers);
      const result = await receiver.handle(request);
      expect(result).toMatchObject({ status: 401, outcome: 'rejected' });
      expect(bodyOf(result).error?.code).toBe(code);
      expect(calls).toHaveLength(0);
    });

    it('a request signed with a secret the receiver does not have', async () => {
      const { receiver } = receiverWith();
      const result = await receiver.handle(await signedRequest({ secrets: generateSecret() }));
      expect(result.status).toBe(401);
      expect(bodyOf(result).error?.code).toBe('invalid_signature');
    });
  });

  describe('400 with the failing path', () => {
    it('a schema mismatch reports data.<path>', async () => {
      const { receiver, calls } = receiverWith();
      const data = registrantData({ registrant: { id: 'r', email: 'not-an-email', firstName: 'A', lastName: 'B' } });
      const result = await receiver.handle(await signedRequest({ secrets: secret, data }));
      expect(result).toMatchObject({ status: 400, outcome: 'rejected' });
      expect(bodyOf(result).error).toMatchObject({ code: 'invalid_payload', path: 'data.registrant.email' });
      expect(result.webhook?.id).toBeDefined();
      expect(calls).toHaveLength(0);
    });

    it.each([
      ['not JSON', 'this is not json', 'invalid_json', undefined],
      ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'invalid_json', undefined],
      ['a JSON array', '[1,2]', 'invalid_payload', ''],
      ['JSON null', 'null', 'invalid_payload', ''],
      ['no type', '{"data":{}}', 'invalid_payload', 'type'],
      ['an empty type', '{"type":"","data":{}}', 'invalid_payload', 'type'],
      ['no data', '{"type":"registrant.created"}', 'invalid_payload', 'data'],
      ['an unknown type', '{"type":"registrant.renamed","data":{}}', 'unknown_event', 'type'],
    ])('%s', async (_label, body, code, path) => {
      const { receiver, calls } = receiverWith();
      const result = await receiver.handle(await signedRequest({ secrets: secret, body }));
      expect(result.status).toBe(400);
      expect(bodyOf(result).error?.code).toBe(code);
      if (path) expect(bodyOf(result).error?.path).toBe(path);
      expect(calls).toHaveLength(0);
    });

    it('a body id that differs from the header id', async () => {
      const { receiver } = receiverWith();
      const body = JSON.stringify({ id: 'msg_other', type: 'registrant.created', timestamp: '2026-11-23T10:00:00.000Z', data: registrantData() });
      const result = await receiver.handle(await signedRequest({ secrets: secret, id: 'msg_header', body }));
      expect(result.status).toBe(400);
      expect(bodyOf(result).error).toMatchObject({ code: 'invalid_payload', path: 'id' });
    });
  });

  describe('413', () => {
    it('rejects a body over maxBodyBytes before verifying it', async () => {
      const { receiver, calls } = receiverWith({ maxBodyBytes: 1000 });
      const result = await receiver.handle({ body: new Uint8Array(1001), headers: {} });
      expect(result).toMatchObject({ status: 413, outcome: 'rejected' });
      expect(bodyOf(result).error?.code).toBe('payload_too_large');
      expect(calls).toHaveLength(0);
      expect(receiver.maxBodyBytes).toBe(1000);
    });

    it('counts a string body in UTF-8 bytes, not characters', async () => {
      const { receiver } = receiverWith({ maxBodyBytes: 1000 });
      // 400 characters, 1200 bytes.
      expect((await receiver.handle({ body: '€'.repeat(400), headers: {} })).status).toBe(413);
      // 1000 bytes exactly is allowed (then fails later, on the missing headers).
      expect((await receiver.handle({ body: 'a'.repeat(1000), headers: {} })).status).toBe(401);
      expect((await receiver.handle({ body: '€'.repeat(333), headers: {} })).status).toBe(401);
    });

    it('rejects a declared Content-Length over the limit without reading the stream', async () => {
      const { receiver } = receiverWith({ maxBodyBytes: 1000 });
      let pulled = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          controller.enqueue(new Uint8Array(100));
        },
      });
      const result = await receiver.handleStream({ body, headers: {}, contentLength: '5000' });
      expect(result.status).toBe(413);
      // A stream starts one pull on its own; nothing beyond that was read.
      expect(pulled).toBeLessThanOrEqual(1);
    });

    it('stops reading an endless stream just past the limit', async () => {
      const { receiver } = receiverWith({ maxBodyBytes: 64 * 1024 });
      let produced = 0;
      async function* endless() {
        for (;;) {
          produced += 16 * 1024;
          yield new Uint8Array(16 * 1024);
        }
      }
      const result = await receiver.handleStream({ body: endless(), headers: {} });
      expect(result.status).toBe(413);
      expect(produced).toBeLessThanOrEqual(64 * 1024 + 16 * 1024);
    });
  });

  describe('handler failures', () => {
    it('answers 500 when the handler throws, releases the claim, and processes the retry', async () => {
      const errors: unknown[] = [];
      let attempts = 0;
      const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow, onError: (error) => errors.push(error) }).on(
        'registrant.created',
        () => {
          attempts++;
          if (attempts === 1) throw new Error('database down: password=hunter2');
        },
      );
      const request = await signedRequest({ secrets: secret });
      const failed = await receiver.handle(request);
      expect(failed).toMatchObject({ status: 500, outcome: 'handler_error' });
      expect(bodyOf(failed).error?.code).toBe('handler_error');
      // The handler's message is not echoed to the sender.
      expect(failed.body).not.toContain('hunter2');
      expect(errors).toHaveLength(1);
      const retried = await receiver.handle(await signedRequest({ secrets: secret, id: request.id, timestamp: NOW_SECONDS + 12 }));
      expect(retried).toMatchObject({ status: 200, outcome: 'handled' });
      expect(attempts).toBe(2);
    });

    it('answers 500 when a handler rejects asynchronously, and survives a throwing onError', async () => {
      const receiver = createReceiver({
        catalog: broadcastEvents,
        secrets: secret,
        now: fixedNow,
        onError: () => {
          throw new Error('logger broke');
        },
      }).on('registrant.created', async () => {
        await Promise.resolve();
        throw new Error('async failure');
      });
      const result = await receiver.handle(await signedRequest({ secrets: secret }));
      expect(result.status).toBe(500);
    });

    it('answers 503 with retry-after when the dedupe store is down, without running the handler', async () => {
      const broken: IdempotencyStore = {
        claim: () => Promise.reject(new Error('ECONNREFUSED')),
        complete: () => Promise.resolve(),
        release: () => Promise.resolve(),
      };
      const { receiver, calls } = receiverWith({ store: broken });
      const result = await receiver.handle(await signedRequest({ secrets: secret }));
      expect(result.status).toBe(503);
      expect(result.headers['retry-after']).toBe('5');
      expect(calls).toHaveLength(0);
    });
  });

  describe('routing', () => {
    it('runs the type handlers in order, then onAny handlers', async () => {
      const order: string[] = [];
      const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow })
        .onAny(() => {
          order.push('any');
        })
        .on('registrant.created', () => {
          order.push('first');
        })
        .on('registrant.created', () => {
          order.push('second');
        })
        .on('session.started', () => {
          order.push('other');
        });
      await receiver.handle(await signedRequest({ secrets: secret }));
      expect(order).toEqual(['first', 'second', 'any']);
    });

    it('answers 200 for a known event without handlers', async () => {
      const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow });
      expect((await receiver.handle(await signedRequest({ secrets: secret }))).status).toBe(200);
    });

    it("unknownEvents: 'accept' sends unknown types to onAny unvalidated", async () => {
      const seen: unknown[] = [];
      const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow, unknownEvents: 'accept' }).onAny((event) => {
        seen.push(event);
      });
      const body = JSON.stringify({ id: 'msg_new', type: 'registrant.renamed', timestamp: '2026-11-23T10:00:00.000Z', data: { anything: [1, 2] } });
      const result = await receiver.handle(await signedRequest({ secrets: secret, id: 'msg_new', body }));
      expect(result).toMatchObject({ status: 200, outcome: 'handled' });
      expect(seen).toEqual([{ id: 'msg_new', type: 'registrant.renamed', timestamp: '2026-11-23T10:00:00.000Z', data: { anything: [1, 2] } }]);
    });

    it("unknownEvents: 'accept' still validates known types", async () => {
      const { receiver } = receiverWith({ unknownEvents: 'accept' });
      const result = await receiver.handle(await signedRequest({ secrets: secret, data: { wrong: true } }));
      expect(result.status).toBe(400);
    });

    it('fills the event timestamp from the signature when the body has none', async () => {
      const { receiver, calls } = receiverWith();
      const request = await signedRequest({ secrets: secret, body: JSON.stringify({ type: 'registrant.created', data: registrantData() }) });
      expect((await receiver.handle(request)).status).toBe(200);
      expect(calls[0]?.timestamp).toBe(new Date(NOW_SECONDS * 1000).toISOString());
    });
  });

  describe('options', () => {
    it('store: false runs the handler on every delivery', async () => {
      const { receiver, calls } = receiverWith({ store: false });
      const request = await signedRequest({ secrets: secret });
      await receiver.handle(request);
      await receiver.handle(request);
      expect(calls).toHaveLength(2);
    });

    it('uses a given store and its TTL', async () => {
      let time = 0;
      const store = createMemoryIdempotencyStore({ now: () => time });
      const { receiver, calls } = receiverWith({ store, dedupeTtlMs: 1000 });
      const request = await signedRequest({ secrets: secret });
      await receiver.handle(request);
      expect((await receiver.handle(request)).outcome).toBe('duplicate');
      time += 1000;
      expect((await receiver.handle(request)).outcome).toBe('handled');
      expect(calls).toHaveLength(2);
    });

    it('accepts secret rotation lists', async () => {
      const next = generateSecret();
      const { receiver } = receiverWith({ secrets: [secret, next] });
      expect((await receiver.handle(await signedRequest({ secrets: next }))).status).toBe(200);
      expect((await receiver.handle(await signedRequest({ secrets: secret }))).status).toBe(200);
    });

    it('resolves secrets per request with a function (e.g. per tenant), before verifying', async () => {
      const tenants: Record<string, string> = { acme: generateSecret(), globex: generateSecret() };
      const asked: string[] = [];
      const { receiver, calls } = receiverWith({
        secrets: async ({ headers }) => {
          const tenant = new Headers(headers as Record<string, string>).get('x-tenant') ?? '';
          asked.push(tenant);
          return tenants[tenant] ?? [generateSecret()];
        },
      });
      const acme = await signedRequest({ secrets: tenants.acme! });
      expect((await receiver.handle({ ...acme, headers: { ...acme.headers, 'x-tenant': 'acme' } })).status).toBe(200);
      // Signed for acme but presented as globex: rejected.
      const forged = await signedRequest({ secrets: tenants.acme! });
      const result = await receiver.handle({ ...forged, headers: { ...forged.headers, 'x-tenant': 'globex' } });
      expect(result.status).toBe(401);
      expect(bodyOf(result).error?.code).toBe('invalid_signature');
      expect(asked).toEqual(['acme', 'globex']);
      expect(calls).toHaveLength(1);
    });

    it('answers a resolver that returns an unusable secret with a 500 invalid_secret, not a crash', async () => {
      const { receiver } = receiverWith({ secrets: () => 'whsec_short' });
      const result = await receiver.handle(await signedRequest({ secrets: secret }));
      expect(result.status).toBe(500);
      expect(bodyOf(result).error?.code).toBe('invalid_secret');
      expect(result.body).not.toContain('whsec_short');
    });

    it.each([
      ['no catalog', { secrets: secret }],
      ['a catalog that is not one', { catalog: {}, secrets: secret }],
      ['a bad maxBodyBytes', { catalog: broadcastEvents, secrets: secret, maxBodyBytes: 0 }],
      ['a fractional maxBodyBytes', { catalog: broadcastEvents, secrets: secret, maxBodyBytes: 1.5 }],
    ])('rejects %s at creation with a ConfigurationError', (_label, options) => {
      const error = thrownBy(() => createReceiver(options as never));
      expect(error).toMatchObject({ status: 500 });
      expect(['invalid_option', 'invalid_secret']).toContain((error as { code: string }).code);
    });
  });

  describe('fetch', () => {
    it('takes a Request and returns a Response with the same outcome', async () => {
      const { receiver, calls } = receiverWith();
      const request = await signedRequest({ secrets: secret });
      const response = await receiver.fetch(new Request('http://localhost/hooks', { method: 'POST', body: request.body as BodyInit, headers: request.headers }));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ ok: true, id: request.id });
      expect(calls).toHaveLength(1);
      const duplicate = await receiver.fetch(new Request('http://localhost/hooks', { method: 'POST', body: request.body as BodyInit, headers: request.headers }));
      expect(duplicate.headers.get('webhook-duplicate')).toBe('true');
    });

    it('answers 413 for a streamed body over the limit', async () => {
      const { receiver } = receiverWith({ maxBodyBytes: 1024 });
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(512));
          controller.close();
        },
      });
      const response = await receiver.fetch(new Request('http://localhost/hooks', { method: 'POST', body: stream, duplex: 'half' } as RequestInit));
      expect(response.status).toBe(413);
    });

    it('signs headers the receiver accepts through Fetch Headers', async () => {
      const { receiver } = receiverWith();
      const payload = JSON.stringify({ type: 'registrant.created', data: registrantData() });
      const headers = await signHeaders({ id: 'msg_fetch', timestamp: NOW_SECONDS, payload, secrets: secret, eventType: 'registrant.created', attempt: 4 });
      const response = await receiver.fetch(new Request('http://localhost/', { method: 'POST', body: payload, headers }));
      expect(response.status).toBe(200);
    });
  });
});

describe('secrets resolver failures', () => {
  it('answers 503 secrets_unavailable when the secrets function throws, and never calls the handler', async () => {
    const { createReceiver, defineEvents } = await import('../src/index');
    const { z } = await import('zod');
    const catalog = defineEvents({ 'ping.sent': { schema: z.object({ n: z.number() }) } });
    let calls = 0;
    const receiver = createReceiver({
      catalog,
      secrets: () => {
        throw new Error('database is down: password=hunter2');
      },
    }).on('ping.sent', () => {
      calls++;
    });
    const result = await receiver.handle({ body: '{"type":"ping.sent","data":{"n":1}}', headers: { 'x-webhook-id': 'msg_1', 'x-webhook-timestamp': '1', 'x-webhook-signature': 'v1,AAAA' } });
    expect(result.status).toBe(503);
    expect(JSON.parse(result.body).error.code).toBe('secrets_unavailable');
    expect(result.body).not.toContain('hunter2');
    expect(calls).toBe(0);
  });
});
