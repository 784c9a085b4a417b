import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import express from 'express';
import { Agent, request as undiciRequest } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdminHandler, toNodeListener } from '../src/admin/index';
import type { AdminHandler, AdminHandlerOptions } from '../src/admin/index';
import { createSender } from '../src/sender';
import { type TestReceiver, startReceiver } from './support';

// Issue 10, "Input and API hardening", for the admin API: JSON-only writes, foreign origins
// refused (same origin needs no setting), `details.path` on invalid payloads, `connection: close`
// after an early 413, and a clear answer behind express.json(). Plus the fields the portal reads.

type Sender = ReturnType<typeof createSender>;
let sender: Sender;
let receiver: TestReceiver;
const servers: Server[] = [];

beforeEach(async () => {
  receiver = await startReceiver();
  sender = createSender({ catalog: broadcastEvents, storage: 'memory', urlPolicy: { allowHttp: true, allow: ['loopback'] }, retry: { maxAttempts: 1 }, onError: () => {}, logger: silentLogger });
});

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await sender.close();
  await receiver.close();
});

function handler(options: Partial<AdminHandlerOptions> = {}): AdminHandler {
  return createAdminHandler(sender, { basePath: '/admin', authorize: () => ({ tenant: 'acme' }), maxBodyBytes: 1024, ...options });
}

async function serve(listener: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function createEndpoint(base: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${base}/admin/endpoints`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ url: receiver.url }) });
  expect(response.status).toBe(201);
  return ((await response.json()) as { endpoint: { id: string } }).endpoint.id;
}

describe('admin API: writes must be JSON', () => {
  it('refuses a body-less or non-JSON write with 415 and acts on nothing', async () => {
    const base = await serve(toNodeListener(handler()));
    const id = await createEndpoint(base);
    const writes: Array<[string, string, Record<string, string>, string | undefined]> = [
      ['POST', `/admin/endpoints/${id}/disable`, {}, undefined],
      ['POST', `/admin/endpoints/${id}/disable`, { 'content-type': 'text/plain' }, '{"reason":"csrf"}'],
      ['POST', `/admin/endpoints/${id}/rotate-secret`, { 'content-type': 'application/x-www-form-urlencoded' }, 'overlapMs=0'],
      ['POST', `/admin/endpoints/${id}/rotate-secret`, { 'content-type': 'multipart/form-data; boundary=x' }, '--x--'],
      ['PATCH', `/admin/endpoints/${id}`, { 'content-type': 'text/json-ish' }, '{"name":"x"}'],
      ['DELETE', `/admin/endpoints/${id}`, {}, undefined],
    ];
    for (const [method, path, headers, body] of writes) {
      const response = await fetch(`${base}${path}`, { method, headers, body });
      expect(response.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(415);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
    }
    const endpoint = (await (await fetch(`${base}/admin/endpoints/${id}`)).json()) as { enabled: boolean; name: string | null };
    expect(endpoint).toMatchObject({ enabled: true, name: null });

    // The same body-less write with the JSON type goes through, as do +json types and charsets.
    expect((await fetch(`${base}/admin/endpoints/${id}/disable`, { method: 'POST', headers: { 'content-type': 'application/json' } })).status).toBe(200);
    expect((await fetch(`${base}/admin/endpoints/${id}/enable`, { method: 'POST', headers: { 'content-type': 'application/merge-patch+json; charset=utf-8' } })).status).toBe(200);
    expect((await fetch(`${base}/admin/endpoints/${id}`, { method: 'DELETE', headers: { 'content-type': 'application/json' } })).status).toBe(204);
  });
});

describe('admin API: origins', () => {
  it('refuses a foreign Origin on reads and writes, and a null one', async () => {
    const base = await serve(toNodeListener(handler()));
    const id = await createEndpoint(base);
    for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:1`, 'http://localhost:1']) {
      const write = await fetch(`${base}/admin/endpoints/${id}/disable`, { method: 'POST', headers: { 'content-type': 'application/json', origin } });
      expect(write.status, origin).toBe(403);
      expect(((await write.json()) as { error: { code: string } }).error.code).toBe('forbidden_origin');
      expect(write.headers.get('access-control-allow-origin')).toBeNull();
      const read = await fetch(`${base}/admin/endpoints`, { headers: { origin } });
      expect(read.status).toBe(403);
    }
    // A preflight from a foreign origin gets no CORS grant either.
    const preflight = await fetch(`${base}/admin/endpoints`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const endpoint = (await (await fetch(`${base}/admin/endpoints/${id}`)).json()) as { enabled: boolean };
    expect(endpoint.enabled).toBe(true);
  });

  it('accepts its own origin without configuration, also behind a TLS-terminating proxy', async () => {
    const base = await serve(toNodeListener(handler()));
    const host = new URL(base).host;
    const id = await createEndpoint(base, { origin: base });
    // The page is https, the proxy talks http to the app: the host decides.
    const proxied = await fetch(`${base}/admin/endpoints/${id}/disable`, { method: 'POST', headers: { 'content-type': 'application/json', origin: `https://${host}` } });
    expect(proxied.status).toBe(200);
    // A proxy that rewrites Host says the public one in X-Forwarded-Host.
    const forwarded = await fetch(`${base}/admin/endpoints/${id}/enable`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://hooks.saas.example', 'x-forwarded-host': 'hooks.saas.example' } });
    expect(forwarded.status).toBe(200);
  });

  it('lets a listed origin call cross-origin, with CORS headers and a preflight answer', async () => {
    const base = await serve(toNodeListener(handler({ allowedOrigins: ['https://app.saas.example'] })));
    const preflight = await fetch(`${base}/admin/endpoints`, { method: 'OPTIONS', headers: { origin: 'https://app.saas.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.saas.example');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const created = await fetch(`${base}/admin/endpoints`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://app.saas.example' }, body: JSON.stringify({ url: receiver.url }) });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe('https://app.saas.example');
    expect(created.headers.get('vary')).toContain('Origin');
    // Still only that one.
    expect((await fetch(`${base}/admin/endpoints`, { headers: { origin: 'https://other.saas.example' } })).status).toBe(403);
  });

  it('refuses allowedOrigins that are not origins', () => {
    for (const bad of ['*', 'app.saas.example', 'https://app.saas.example/path', 'null']) {
      expect(() => handler({ allowedOrigins: [bad] }), bad).toThrow(/not an origin/);
    }
  });
});

describe('admin API: invalid_payload details', () => {
  it('names the first failing place in details.path, as the docs say', async () => {
    const base = await serve(toNodeListener(handler()));
    const example = broadcastEvents.definitions['registrant.created'].example;
    const response = await fetch(`${base}/admin/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'registrant.created', data: { ...example, registrant: { ...example.registrant, email: 'not-an-email' } } }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; details: { path: string; issues: Array<{ path: string; message: string }> } } };
    expect(body.error.code).toBe('invalid_payload');
    expect(body.error.details.path).toBe('data.registrant.email');
    expect(body.error.details.issues[0]).toEqual({ path: 'data.registrant.email', message: expect.any(String) });
  });

  it('says which field a URL policy error is about', async () => {
    const strict = createSender({ catalog: broadcastEvents, storage: 'memory', onError: () => {}, logger: silentLogger });
    const admin = createAdminHandler(strict, { authorize: () => ({ tenant: 'acme' }) });
    const response = await admin(new Request('http://local/endpoints', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'http://example.com/' }) }));
    const body = (await response.json()) as { error: { code: string; details: { field: string } } };
    expect(response.status).toBe(400);
    expect(body.error.details.field).toBe('url');
    await strict.close();
  });
});

describe('toNodeListener', () => {
  it('closes the connection after an early 413, so the next request works on a fresh one', async () => {
    const base = await serve(toNodeListener(handler()));
    const agent = new Agent({ connections: 1, pipelining: 1 });
    try {
      for (let round = 0; round < 3; round += 1) {
        // 64 KiB against a 1 KiB limit: the answer goes out before the body is read.
        const big = await undiciRequest(`${base}/admin/messages`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'registrant.created', data: { padding: 'x'.repeat(64 * 1024) } }) });
        expect(big.statusCode).toBe(413);
        expect(big.headers.connection).toBe('close');
        expect(((await big.body.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
        // Same agent, one connection allowed: it must open a new one, not reuse the closed socket.
        const next = await undiciRequest(`${base}/admin/endpoints`, { dispatcher: agent });
        expect(next.statusCode).toBe(200);
        await next.body.text();
      }
    } finally {
      await agent.close();
    }
  });

  it('keeps the connection open after a normal answer', async () => {
    const base = await serve(toNodeListener(handler()));
    const response = await undiciRequest(`${base}/admin/endpoints`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url }) });
    expect(response.statusCode).toBe(201);
    expect(response.headers.connection).not.toBe('close');
    await response.body.text();
  });

  it('explains a global express.json() in front of the admin API', async () => {
    const app = express();
    app.use(express.json());
    app.use('/admin', toNodeListener(handler()));
    const base = await serve(app);
    const response = await fetch(`${base}/admin/endpoints`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url }) });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('body_already_parsed');
    expect(body.error.message).toMatch(/express\.json\(\)/);
    // Reads still work behind the parser, and mounting the admin API first fixes writes.
    expect((await fetch(`${base}/admin/endpoints`)).status).toBe(200);
    const fixed = express();
    fixed.use('/admin', toNodeListener(handler()));
    fixed.use(express.json());
    const fixedBase = await serve(fixed);
    expect((await fetch(`${fixedBase}/admin/endpoints`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url }) })).status).toBe(201);
  });
});

describe('admin API: what the portal shows', () => {
  it('lists endpoints with their last delivery', async () => {
    const base = await serve(toNodeListener(handler()));
    const id = await createEndpoint(base);
    const before = (await (await fetch(`${base}/admin/endpoints`)).json()) as { items: Array<{ id: string; lastDelivery: unknown }> };
    expect(before.items[0]).toMatchObject({ id, lastDelivery: null });
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: broadcastEvents.definitions['registrant.created'].example });
    await sender.drain();
    const after = (await (await fetch(`${base}/admin/endpoints`)).json()) as { items: Array<{ lastDelivery: Record<string, unknown> }> };
    expect(after.items[0]?.lastDelivery).toMatchObject({ type: 'registrant.created', status: 'succeeded', attempts: 1, lastStatus: 200, lastError: null, createdAt: expect.any(String) });
    const single = (await (await fetch(`${base}/admin/endpoints/${id}`)).json()) as { lastDelivery: { status: string } };
    expect(single.lastDelivery.status).toBe('succeeded');
  });

  it('shows each attempt with the request as sent: exact body, headers, redacted signature', async () => {
    const base = await serve(toNodeListener(handler()));
    const id = await createEndpoint(base);
    const patched = await fetch(`${base}/admin/endpoints/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ headers: { 'X-Api-Key': 'customer-key' } }) });
    expect(patched.status).toBe(200);
    await sender.send({ tenant: 'acme', type: 'session.started', data: broadcastEvents.definitions['session.started'].example });
    await sender.drain();
    const deliveries = (await (await fetch(`${base}/admin/deliveries?endpointId=${id}`)).json()) as { items: Array<{ id: string }> };
    const attempts = (await (await fetch(`${base}/admin/deliveries/${deliveries.items[0]?.id}/attempts`)).json()) as {
      items: Array<{ number: number; startedAt: string; request: { method: string; url: string; headers: Record<string, string>; body: string; redactedHeaders: string[] } }>;
    };
    const [attempt] = attempts.items;
    const sent = receiver.requests[0];
    expect(attempt && sent).toBeTruthy();
    if (!attempt || !sent) return;
    // The body is byte for byte what the receiver got.
    expect(attempt.request.body).toBe(sent.body);
    expect(attempt.request).toMatchObject({ method: 'POST', url: receiver.url, redactedHeaders: ['x-webhook-signature'] });
    for (const name of ['x-webhook-id', 'x-webhook-attempt', 'x-webhook-event', 'content-type', 'user-agent', 'x-api-key']) {
      expect(attempt.request.headers[name], name).toBe(sent.headers[name]);
    }
    expect(Math.abs(Number(attempt.request.headers['x-webhook-timestamp']) - Number(sent.headers['x-webhook-timestamp']))).toBeLessThanOrEqual(1);
    expect(attempt.request.headers['x-webhook-signature']).toBe('[redacted]');
    expect(JSON.stringify(attempts)).not.toContain(String(sent.headers['x-webhook-signature']).slice(3));
  });

  it('publishes the catalog with JSON Schema and examples', async () => {
    const base = await serve(toNodeListener(handler()));
    const body = (await (await fetch(`${base}/admin/event-types`)).json()) as { items: Array<{ name: string; schema: { properties: Record<string, unknown> }; example: unknown }> };
    expect(body.items.map((item) => item.name)).toEqual([...broadcastEvents.names]);
    for (const item of body.items) {
      expect(item.schema.properties, item.name).toBeTypeOf('object');
      expect(item.example).toEqual(broadcastEvents.definitions[item.name as keyof typeof broadcastEvents.definitions].example);
    }
  });

  it('tells when a rotated-out secret stops signing, never its value', async () => {
    const base = await serve(toNodeListener(handler()));
    const created = (await (await fetch(`${base}/admin/endpoints`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url }) })).json()) as { endpoint: { id: string }; secret: string };
    const before = Date.now();
    const rotated = await fetch(`${base}/admin/endpoints/${created.endpoint.id}/rotate-secret`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ overlapMs: 3_600_000 }) });
    const text = await rotated.text();
    expect(text).not.toContain(created.secret);
    const body = JSON.parse(text) as { secret: string; previousExpiresAt: string };
    expect(Date.parse(body.previousExpiresAt) - before).toBeGreaterThanOrEqual(3_600_000 - 1000);
    expect(Date.parse(body.previousExpiresAt) - before).toBeLessThanOrEqual(3_600_000 + 5000);
  });
});
