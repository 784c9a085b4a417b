import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError, silentLogger } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAdminHandler, toNodeListener } from '../src/admin/index';
import type { AdminHandlerOptions } from '../src/admin/index';
import { SenderError } from '../src/errors';
import { createSender } from '../src/sender';

type Sender = ReturnType<typeof createSender>;

// A real receiver on loopback that the sender delivers to; `status` decides its answer.
let receiver: Server;
let receiverPort = 0;
let receiverStatus = 200;
const received: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString() });
      response.writeHead(receiverStatus, { 'content-type': 'text/plain' }).end(`status ${receiverStatus}`);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverPort = (receiver.address() as AddressInfo).port;
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

// The admin API under test, mounted at /admin on a real HTTP server.
let sender: Sender;
let server: Server;
let base = '';
const errors: unknown[] = [];

const TOKENS: Record<string, string> = { 'token-a': 'tenant_a', 'token-b': 'tenant_b' };

async function startAdmin(options: Partial<AdminHandlerOptions> = {}): Promise<void> {
  const handler = createAdminHandler(sender, {
    basePath: '/admin',
    authorize: (request) => {
      const token = request.headers.get('authorization')?.replace(/^Bearer /, '') ?? '';
      if (token === 'forbidden') throw new SenderError('forbidden', 'This user may not manage webhooks.');
      const tenant = TOKENS[token];
      return tenant ? { tenant } : null;
    },
    maxBodyBytes: 64 * 1024,
    onError: (error) => errors.push(error),
    ...options,
  });
  server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin`;
}

beforeEach(async () => {
  receiverStatus = 200;
  received.length = 0;
  errors.length = 0;
  sender = createSender({
    catalog: broadcastEvents,
    storage: 'memory',
    urlPolicy: { allowHttp: true, allow: ['loopback'] },
    retry: { maxAttempts: 1 },
    dispatcher: { timeoutMs: 5000 },
    logger: silentLogger,
  });
  await startAdmin();
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await sender.close();
});

// Parsed JSON, read by path in assertions (`body.items[0].id`) without a cast at every step: the
// keys these tests read, as plain properties (an index signature would add `| undefined` at each step).
type JsonKey = 0 | 'code' | 'current' | 'deliveryCount' | 'details' | 'endpoint' | 'error' | 'expiresAt' | 'field' | 'id' | 'items' | 'messageId' | 'nextCursor' | 'previous' | 'secret' | 'status';
type JsonBody = { readonly [K in JsonKey]: JsonBody };

/** The `id` of every item of a JSON list. */
function idsOf(items: JsonBody): string[] {
  return (items as unknown as Array<{ id: string }>).map((item) => item.id);
}

interface ApiResult {
  status: number;
  body: JsonBody;
  text: string;
  headers: Headers;
}

async function api(method: string, path: string, options: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<ApiResult> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? 'token-a' : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  // Every write carries the JSON content type, with or without a body, as the API requires.
  if ((body !== undefined || method !== 'GET') && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed as JsonBody, text, headers: response.headers };
}

const hookUrl = (path = '/hook') => `http://127.0.0.1:${receiverPort}${path}`;

async function createEndpoint(token = 'token-a', extra: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const result = await api('POST', '/endpoints', { token, body: { url: hookUrl(), name: 'CRM', ...extra } });
  expect(result.status).toBe(201);
  return { id: String(result.body.endpoint.id), secret: String(result.body.secret) };
}

const example = broadcastEvents.definitions['registrant.created'].example;

describe('createAdminHandler: setup', () => {
  it('requires an authorize hook', () => {
    expect(() => createAdminHandler(sender, {} as AdminHandlerOptions)).toThrow(ConfigurationError);
    try {
      createAdminHandler(sender, {} as AdminHandlerOptions);
    } catch (error) {
      expect(ConfigurationError.isInstance(error) && error.code).toBe('invalid_option');
    }
  });

  it('works as a plain Fetch handler', async () => {
    const handler = createAdminHandler(sender, { authorize: () => ({ tenant: 'tenant_a' }) });
    const response = await handler(new Request('http://local/event-types'));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { items: Array<{ name: string }> };
    expect(body.items.map((item) => item.name)).toEqual([...broadcastEvents.names]);
  });
});

describe('admin API: authentication and routing', () => {
  it('answers 401 without credentials and 403 when authorize forbids', async () => {
    const missing = await api('GET', '/endpoints', { token: null });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect((await api('GET', '/endpoints', { token: 'wrong' })).status).toBe(401);
    const forbidden = await api('GET', '/endpoints', { token: 'forbidden' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');
  });

  it('answers 404 for unknown routes and paths outside basePath', async () => {
    expect((await api('GET', '/nope')).status).toBe(404);
    expect((await api('GET', '/endpoints/ep_1/nope')).status).toBe(404);
    const outside = await fetch(`${base.replace('/admin', '/other')}/endpoints`);
    expect(outside.status).toBe(404);
    expect((await api('GET', '/endpoints/bad%20id!')).status).toBe(404);
  });

  it('answers 405 with Allow for a wrong method', async () => {
    const result = await api('PUT', '/endpoints');
    expect(result.status).toBe(405);
    expect(result.body.error.code).toBe('method_not_allowed');
    expect(result.headers.get('allow')).toBe('GET, POST');
    const single = await api('POST', '/endpoints/ep_123');
    expect(single.headers.get('allow')).toBe('GET, PATCH, DELETE');
  });

  it('marks every answer no-store', async () => {
    const result = await api('GET', '/endpoints');
    expect(result.headers.get('cache-control')).toBe('no-store');
    expect(result.headers.get('content-type')).toContain('application/json');
  });

  it('lists the catalog for the settings page', async () => {
    const result = await api('GET', '/event-types');
    expect(result.status).toBe(200);
    const first = result.body.items[0];
    expect(first).toEqual({ name: 'registrant.created', description: broadcastEvents.definitions['registrant.created'].description, deprecated: false, schema: expect.objectContaining({ type: 'object' }), example });
    expect(result.body.items).toHaveLength(broadcastEvents.names.length);
  });
});

describe('admin API: endpoints', () => {
  it('creates, reads, lists, updates and deletes an endpoint', async () => {
    const created = await api('POST', '/endpoints', { body: { url: hookUrl(), name: 'CRM', events: ['registrant.created'], headers: { 'x-api-key': 'k' }, metadata: { plan: 'pro' } } });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const endpoint = created.body.endpoint;
    expect(endpoint).toMatchObject({ tenant: 'tenant_a', url: hookUrl(), name: 'CRM', events: ['registrant.created'], enabled: true, metadata: { plan: 'pro' } });
    expect(JSON.stringify(endpoint)).not.toContain(created.body.secret);

    const read = await api('GET', `/endpoints/${endpoint.id}`);
    expect(read.status).toBe(200);
    expect(read.body.id).toBe(endpoint.id);
    expect(read.text).not.toContain('whsec_');

    const list = await api('GET', '/endpoints');
    expect(idsOf(list.body.items)).toEqual([endpoint.id]);
    expect(list.body.nextCursor).toBeNull();
    expect(list.text).not.toContain('whsec_');

    const patched = await api('PATCH', `/endpoints/${endpoint.id}`, { body: { name: null, description: 'Sync', events: [], rateLimit: 5, fifo: true } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: null, description: 'Sync', events: [], rateLimit: 5, fifo: true });

    const deleted = await api('DELETE', `/endpoints/${endpoint.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    const gone = await api('GET', `/endpoints/${endpoint.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('endpoint_not_found');
  });

  it('paginates endpoints', async () => {
    for (let index = 0; index < 5; index += 1) await createEndpoint();
    const first = await api('GET', '/endpoints?limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(typeof first.body.nextCursor).toBe('string');
    const second = await api('GET', `/endpoints?limit=2&cursor=${encodeURIComponent(String(first.body.nextCursor))}`);
    expect(second.body.items).toHaveLength(2);
    const third = await api('GET', `/endpoints?limit=2&cursor=${encodeURIComponent(String(second.body.nextCursor))}`);
    expect(third.body.items).toHaveLength(1);
    expect(third.body.nextCursor).toBeNull();
    const ids = [...idsOf(first.body.items), ...idsOf(second.body.items), ...idsOf(third.body.items)];
    expect(new Set(ids).size).toBe(5);
  });

  it('shows secrets only on create, rotate and the explicit secret route', async () => {
    const { id, secret } = await createEndpoint();
    const shown = await api('GET', `/endpoints/${id}/secret`);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({ current: secret, previous: [] });

    const rotated = await api('POST', `/endpoints/${id}/rotate-secret`, { body: { overlapMs: 60_000 } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret);

    const after = await api('GET', `/endpoints/${id}/secret`);
    expect(after.body.current).toBe(rotated.body.secret);
    expect((after.body.previous as unknown as Array<{ secret: string }>).map((entry) => entry.secret)).toEqual([secret]);
    expect(Date.parse(String(after.body.previous[0].expiresAt))).toBeGreaterThan(Date.now());

    // Nothing else carries either secret.
    for (const path of ['/endpoints', `/endpoints/${id}`, '/deliveries', '/messages']) {
      const result = await api('GET', path);
      expect(result.text).not.toContain(secret);
      expect(result.text).not.toContain(rotated.body.secret);
    }
    const disabled = await api('POST', `/endpoints/${id}/disable`);
    expect(disabled.text).not.toContain('whsec_');
  });

  it('disables and enables an endpoint', async () => {
    const { id } = await createEndpoint();
    const disabled = await api('POST', `/endpoints/${id}/disable`, { body: { reason: 'maintenance' } });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ enabled: false, disabledReason: 'maintenance' });
    const sent = await api('POST', '/messages', { body: { type: 'registrant.created', data: example } });
    expect(sent.body.deliveryCount).toBe(0);
    const enabled = await api('POST', `/endpoints/${id}/enable`);
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null });
  });

  it('refuses blocked and insecure URLs with their codes', async () => {
    const strict = createSender({ catalog: broadcastEvents, storage: 'memory', logger: silentLogger });
    const handler = createAdminHandler(strict, { authorize: () => ({ tenant: 't' }) });
    const post = async (url: string) => {
      const response = await handler(new Request('http://local/endpoints', { method: 'POST', body: JSON.stringify({ url }), headers: { 'content-type': 'application/json' } }));
      return { status: response.status, body: (await response.json()) as { error: { code: string } } };
    };
    expect(await post('http://example.com/')).toMatchObject({ status: 400, body: { error: { code: 'insecure_url' } } });
    expect(await post('https://169.254.169.254/')).toMatchObject({ status: 400, body: { error: { code: 'blocked_address' } } });
    expect(await post('https://[::ffff:127.0.0.1]/')).toMatchObject({ status: 400, body: { error: { code: 'blocked_address' } } });
    expect(await post('https://localhost/')).toMatchObject({ status: 400, body: { error: { code: 'blocked_address' } } });
    expect(await post('not a url')).toMatchObject({ status: 400, body: { error: { code: 'invalid_url' } } });
    expect(await post('https://user:pw@example.com/')).toMatchObject({ status: 400, body: { error: { code: 'invalid_url' } } });
    await strict.close();
  });
});

describe('admin API: sending and logs', () => {
  it('sends, delivers and shows the message, delivery and attempts', async () => {
    const { id, secret } = await createEndpoint();
    const sent = await api('POST', '/messages', { body: { type: 'registrant.created', data: example, idempotencyKey: 'order-1' } });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ messageId: expect.stringMatching(/^msg_/), deliveryCount: 1 });
    const again = await api('POST', '/messages', { body: { type: 'registrant.created', data: example, idempotencyKey: 'order-1' } });
    expect(again.body.messageId).toBe(sent.body.messageId);

    await sender.drain();
    expect(received).toHaveLength(1);
    expect(received[0]?.body).toContain(sent.body.messageId);
    expect(JSON.stringify(received[0]?.headers)).not.toContain(secret);

    const message = await api('GET', `/messages/${sent.body.messageId}`);
    expect(message.body).toMatchObject({ id: sent.body.messageId, tenant: 'tenant_a', type: 'registrant.created', data: example });
    const messages = await api('GET', '/messages?type=registrant.created');
    expect(idsOf(messages.body.items)).toEqual([sent.body.messageId]);

    const deliveries = await api('GET', `/deliveries?endpointId=${id}&status=succeeded`);
    expect(deliveries.status).toBe(200);
    expect(deliveries.body.items).toHaveLength(1);
    const delivery = deliveries.body.items[0];
    expect(delivery).toMatchObject({ endpointId: id, messageId: sent.body.messageId, status: 'succeeded', attempts: 1 });
    expect((await api('GET', '/deliveries?status=failed')).body.items).toHaveLength(0);
    expect((await api('GET', `/deliveries?messageId=${sent.body.messageId}`)).body.items).toHaveLength(1);

    const single = await api('GET', `/deliveries/${delivery.id}`);
    expect(single.body.id).toBe(delivery.id);
    const attempts = await api('GET', `/deliveries/${delivery.id}/attempts`);
    expect(attempts.body.items).toHaveLength(1);
    expect(attempts.body.items[0]).toMatchObject({ number: 1, statusCode: 200, success: true, responseBody: 'status 200' });
  });

  it('filters deliveries and messages by time', async () => {
    await createEndpoint();
    const before = new Date(Date.now() - 60_000).toISOString();
    await api('POST', '/messages', { body: { type: 'registrant.created', data: example } });
    expect((await api('GET', `/deliveries?since=${encodeURIComponent(before)}`)).body.items).toHaveLength(1);
    expect((await api('GET', `/deliveries?until=${encodeURIComponent(before)}`)).body.items).toHaveLength(0);
    expect((await api('GET', `/messages?since=${Date.now() + 60_000}`)).body.items).toHaveLength(0);
  });

  it('retries a failed delivery by hand and recovers an endpoint', async () => {
    const { id } = await createEndpoint();
    receiverStatus = 500;
    const sent = await api('POST', '/messages', { body: { type: 'registrant.created', data: example } });
    await sender.drain();
    const failed = await api('GET', `/deliveries?endpointId=${id}&status=failed`);
    expect(failed.body.items).toHaveLength(1);
    const delivery = failed.body.items[0];
    const attempts = await api('GET', `/deliveries/${delivery.id}/attempts`);
    expect(attempts.body.items[0]).toMatchObject({ statusCode: 500, success: false, errorCode: 'http_500' });

    receiverStatus = 200;
    const retried = await api('POST', `/deliveries/${delivery.id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id: delivery.id, status: 'pending' });
    await sender.drain();
    expect((await api('GET', `/deliveries/${delivery.id}`)).body.status).toBe('succeeded');

    receiverStatus = 500;
    await api('POST', '/messages', { body: { type: 'registrant.created', data: example } });
    await sender.drain();
    receiverStatus = 200;
    const recovered = await api('POST', `/endpoints/${id}/recover`, { body: { since: new Date(Date.now() - 60_000).toISOString() } });
    expect(recovered.status).toBe(202);
    expect(recovered.body).toEqual({ count: 1 });
    await sender.drain();
    expect((await api('GET', `/deliveries?endpointId=${id}&status=succeeded`)).body.items).toHaveLength(2);
    expect(sent.body.deliveryCount).toBe(1);
  });

  it('sends a test event to one endpoint', async () => {
    const { id } = await createEndpoint('token-a', { events: ['session.started'] });
    const tested = await api('POST', `/endpoints/${id}/test`, { body: { type: 'registrant.created' } });
    expect(tested.status).toBe(202);
    expect(tested.body).toMatchObject({ messageId: expect.stringMatching(/^msg_/), deliveryId: expect.stringMatching(/^dlv_/) });
    await sender.drain();
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]?.body ?? '{}')).toMatchObject({ type: 'registrant.created', data: example });
  });

  it('answers unknown events and invalid payloads with their codes', async () => {
    await createEndpoint();
    const unknown = await api('POST', '/messages', { body: { type: 'nope.nope', data: {} } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('unknown_event');
    const invalid = await api('POST', '/messages', { body: { type: 'registrant.created', data: { ...example, registrant: { ...example.registrant, email: 'not-an-email' } } } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('invalid_payload');
    expect(JSON.stringify(invalid.body.error.details)).toContain('email');
    const badEvents = await api('POST', '/endpoints', { body: { url: hookUrl(), events: ['nope.nope'] } });
    expect(badEvents.status).toBe(400);
    expect(badEvents.body.error.code).toBe('unknown_event');
  });
});

describe('admin API: tenant isolation', () => {
  it("hides another tenant's endpoints, messages and deliveries", async () => {
    const { id, secret } = await createEndpoint('token-a');
    const sent = await api('POST', '/messages', { token: 'token-a', body: { type: 'registrant.created', data: example } });
    await sender.drain();
    const delivery = (await api('GET', '/deliveries', { token: 'token-a' })).body.items[0];
    expect(delivery).toBeDefined();

    const asB = (method: string, path: string, body?: unknown) => api(method, path, { token: 'token-b', body });
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/endpoints/${id}`],
      ['PATCH', `/endpoints/${id}`, { name: 'stolen' }],
      ['DELETE', `/endpoints/${id}`],
      ['POST', `/endpoints/${id}/enable`],
      ['POST', `/endpoints/${id}/disable`],
      ['POST', `/endpoints/${id}/rotate-secret`],
      ['GET', `/endpoints/${id}/secret`],
      ['POST', `/endpoints/${id}/recover`, { since: 0 }],
      ['POST', `/endpoints/${id}/test`],
      ['GET', `/messages/${sent.body.messageId}`],
      ['GET', `/deliveries/${delivery.id}`],
      ['GET', `/deliveries/${delivery.id}/attempts`],
      ['POST', `/deliveries/${delivery.id}/retry`],
      ['GET', `/deliveries?endpointId=${id}`],
    ];
    for (const [method, path, body] of attempts) {
      const result = await asB(method, path, body);
      expect(result.status, `${method} ${path}`).toBe(404);
      expect(result.text).not.toContain(secret);
    }
    expect((await asB('GET', '/endpoints')).body.items).toEqual([]);
    expect((await asB('GET', '/messages')).body.items).toEqual([]);
    expect((await asB('GET', '/deliveries')).body.items).toEqual([]);

    // B's send reaches none of A's endpoints; A's endpoint is untouched.
    const sentB = await asB('POST', '/messages', { type: 'registrant.created', data: example });
    expect(sentB.body.deliveryCount).toBe(0);
    const still = await api('GET', `/endpoints/${id}`, { token: 'token-a' });
    expect(still.body).toMatchObject({ name: 'CRM', enabled: true });
    expect((await api('GET', `/endpoints/${id}/secret`, { token: 'token-a' })).body.current).toBe(secret);
  });

  it('refuses a tenant field in a body', async () => {
    const result = await api('POST', '/endpoints', { body: { url: hookUrl(), tenant: 'tenant_b' } });
    expect(result.status).toBe(400);
    expect(result.body.error).toMatchObject({ code: 'invalid_input', details: { field: 'tenant' } });
    expect((await api('GET', '/endpoints', { token: 'token-b' })).body.items).toEqual([]);
  });
});

describe('admin API: bad input', () => {
  it('answers malformed JSON, non-object bodies and wrong content types with invalid_input', async () => {
    for (const raw of ['{', '{"url":', 'nul', '[1,2]', '"text"', '42', 'null']) {
      const result = await api('POST', '/endpoints', { raw });
      expect(result.status, raw).toBe(400);
      expect(result.body.error.code).toBe('invalid_input');
    }
    const form = await api('POST', '/endpoints', { raw: 'url=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(form.body.error.code).toBe('unsupported_media_type');
  });

  it('answers 413 for a body over the limit', async () => {
    const result = await api('POST', '/messages', { body: { type: 'registrant.created', data: { padding: 'x'.repeat(70 * 1024) } } });
    expect(result.status).toBe(413);
    expect(result.body.error.code).toBe('payload_too_large');
  });

  it.each([
    [{ url: 42 }, 'url'],
    [{}, 'url'],
    [{ url: 'https://example.com', name: 7 }, 'name'],
    [{ url: 'https://example.com', name: 'x'.repeat(300) }, 'name'],
    [{ url: 'https://example.com', events: 'registrant.created' }, 'events'],
    [{ url: 'https://example.com', events: [1] }, 'events[0]'],
    [{ url: 'https://example.com', headers: ['a'] }, 'headers'],
    [{ url: 'https://example.com', headers: { 'x-a': 1 } }, 'headers'],
    [{ url: 'https://example.com', profile: 'svix' }, 'profile'],
    [{ url: 'https://example.com', metadata: 'x' }, 'metadata'],
    [{ url: 'https://example.com', rateLimit: -1 }, 'rateLimit'],
    [{ url: 'https://example.com', rateLimit: '5' }, 'rateLimit'],
    [{ url: 'https://example.com', fifo: 'yes' }, 'fifo'],
    [{ url: 'https://example.com', colour: 'blue' }, 'colour'],
  ])('refuses endpoint body %j naming field %s', async (body, field) => {
    const result = await api('POST', '/endpoints', { body });
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('invalid_input');
    expect(result.body.error.details.field).toBe(field);
  });

  it('refuses reserved custom headers (sender rule)', async () => {
    const result = await api('POST', '/endpoints', { body: { url: hookUrl(), headers: { 'X-Webhook-Signature': 'forged' } } });
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('invalid_input');
  });

  it.each([
    ['/endpoints?limit=0', 'limit'],
    ['/endpoints?limit=1001', 'limit'],
    ['/endpoints?limit=abc', 'limit'],
    ['/endpoints?cursor=forged', 'cursor'],
    ['/endpoints?colour=blue', 'colour'],
    ['/deliveries?status=done', 'status'],
    ['/deliveries?since=yesterday', 'since'],
    ['/deliveries?limit=1&limit=2', 'limit'],
    ['/messages?until=2026-13-45', 'until'],
  ])('refuses query %s', async (path, field) => {
    const result = await api('GET', path);
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('invalid_input');
    expect(result.body.error.details.field).toBe(field);
  });

  it('validates action bodies', async () => {
    const { id } = await createEndpoint();
    expect((await api('POST', `/endpoints/${id}/rotate-secret`, { body: { overlapMs: -5 } })).body.error.details.field).toBe('overlapMs');
    expect((await api('POST', `/endpoints/${id}/rotate-secret`, { body: { overlapMs: 1.5 } })).body.error.details.field).toBe('overlapMs');
    expect((await api('POST', `/endpoints/${id}/recover`, { body: {} })).body.error.details.field).toBe('since');
    expect((await api('POST', `/endpoints/${id}/recover`, { body: { since: 'soon' } })).body.error.details.field).toBe('since');
    expect((await api('POST', `/endpoints/${id}/disable`, { body: { reason: 5 } })).body.error.details.field).toBe('reason');
    expect((await api('POST', `/endpoints/${id}/enable`, { body: { force: true } })).body.error.details.field).toBe('force');
    expect((await api('POST', '/messages', { body: { type: 'registrant.created' } })).body.error.details.field).toBe('data');
    expect((await api('POST', '/messages', { body: { data: {} } })).body.error.details.field).toBe('type');
    expect((await api('POST', '/messages', { body: { type: 'registrant.created', data: example, idempotencyKey: '' } })).body.error.details.field).toBe('idempotencyKey');
  });

  it('never answers 5xx to random JSON bodies on any write route', async () => {
    const { id } = await createEndpoint();
    const routes: Array<[string, string]> = [
      ['POST', '/endpoints'],
      ['PATCH', `/endpoints/${id}`],
      ['POST', `/endpoints/${id}/disable`],
      ['POST', `/endpoints/${id}/rotate-secret`],
      ['POST', `/endpoints/${id}/recover`],
      ['POST', `/endpoints/${id}/test`],
      ['POST', '/messages'],
    ];
    const fieldNames = fc.constantFrom('url', 'name', 'description', 'events', 'headers', 'profile', 'metadata', 'rateLimit', 'fifo', 'type', 'data', 'idempotencyKey', 'since', 'overlapMs', 'reason', 'tenant', '__proto__', 'constructor');
    const body = fc.oneof(fc.jsonValue(), fc.dictionary(fieldNames, fc.jsonValue(), { maxKeys: 5 }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, async ([method, path], value) => {
        const result = await api(method, path, { raw: JSON.stringify(value) });
        expect(result.status, `${method} ${path} ${JSON.stringify(value)} → ${result.text}`).toBeLessThan(500);
        expect(result.body?.error === undefined || typeof result.body.error.code === 'string').toBe(true);
      }),
      { numRuns: 150 },
    );
    expect(errors).toEqual([]);
  });

  it('never answers 5xx to random query strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/endpoints', '/messages', '/deliveries'), fc.dictionary(fc.constantFrom('limit', 'cursor', 'status', 'type', 'since', 'until', 'endpointId', 'messageId'), fc.string({ maxLength: 30 }), { maxKeys: 3 }), async (path, query) => {
        const result = await api('GET', `${path}?${new URLSearchParams(query).toString()}`);
        expect(result.status, `${path} ${JSON.stringify(query)} → ${result.text}`).toBeLessThan(500);
      }),
      { numRuns: 100 },
    );
  });

  it('answers 500 without detail and reports to onError when the sender breaks', async () => {
    const broken = { ...sender, endpoints: { ...sender.endpoints, list: async () => Promise.reject(new Error('disk on fire: /var/db secret=abc')) } } as unknown as Sender;
    const handler = createAdminHandler(broken, { authorize: () => ({ tenant: 't' }), onError: (error) => errors.push(error) });
    const response = await handler(new Request('http://local/endpoints'));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('disk on fire');
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: expect.any(String) } });
    expect(errors).toHaveLength(1);
  });
});
