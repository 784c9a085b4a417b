import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessageId, generateSecret, signHeaders } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TENANT, type ReceivedEntry, type ReceiverName, type RunningDemo, startDemo } from '../src/index';

// The demo's HTTP surface without a browser: its own routes, receivers wired to the sender's
// secrets, and endpoints that follow the receivers to new ports after a restart.

let dataDir: string;
let demo: RunningDemo;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hooks-demo-server-'));
  demo = await startDemo({ dataDir, next: 'route-only' });
}, 60_000);

afterAll(async () => {
  await demo?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const post = (url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(url, { method: 'POST', body, headers });

/** Calls the admin API as the settings page does: with a portal token from the demo's token route. */
async function admin(running: RunningDemo, method: string, path: string, body?: unknown): Promise<Response> {
  const { token } = (await (await fetch(new URL('/api/demo/portal-token', running.urls.settings))).json()) as { token: string };
  return fetch(`${running.urls.admin}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('Timed out.');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A request with a Host header of our choosing (fetch does not let a caller set it). */
function rawRequest(port: number, options: { method: string; path: string; headers: Record<string, string> }): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method: options.method, path: options.path, headers: options.headers }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0 });
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

async function received(name: ReceiverName, running = demo): Promise<ReceivedEntry[]> {
  return (await (await fetch(running.urls.receivers[name].received)).json()) as ReceivedEntry[];
}

async function signedRegistration(secret: string): Promise<{ body: string; headers: Record<string, string>; id: string }> {
  const id = createMessageId();
  const body = JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data: broadcastEvents.definitions['registrant.created'].example });
  return { id, body, headers: await signHeaders({ id, timestamp: new Date(), payload: body, secrets: secret, eventType: 'registrant.created' }) };
}

describe('demo server', () => {
  it('serves the settings page with a strict content security policy, and lists five receivers on loopback', async () => {
    const page = await fetch(demo.urls.settings);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<h1>Webhooks</h1>');
    expect((await fetch(new URL('/app.js', demo.urls.settings))).headers.get('content-type')).toMatch(/^text\/javascript/);
    const portalScript = await fetch(new URL('/hooks-portal.js', demo.urls.settings));
    expect(portalScript.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await portalScript.text()).toContain('hooks-portal');

    const info = (await (await fetch(new URL('/api/demo', demo.urls.settings))).json()) as { tenant: string; receivers: Array<{ name: string; webhookUrl: string }> };
    expect(info.tenant).toBe(DEMO_TENANT);
    expect(info.receivers.map((receiver) => receiver.name).sort()).toEqual(['express', 'fastify', 'hono', 'koa', 'next']);
    for (const receiver of info.receivers) expect(receiver.webhookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(new Set(info.receivers.map((receiver) => new URL(receiver.webhookUrl).port)).size).toBe(5);
  });

  it('serves the admin API only with a portal token for the demo workspace', async () => {
    expect((await fetch(`${demo.urls.admin}/endpoints`)).status).toBe(401);
    const token = (await (await fetch(new URL('/api/demo/portal-token', demo.urls.settings))).json()) as { token: string; expiresAt: string };
    expect(token.token).toMatch(/^hkpt_v1\./);
    expect(Date.parse(token.expiresAt)).toBeGreaterThan(Date.now());
    const session = (await (await admin(demo, 'GET', '/session')).json()) as { tenant: string; scopes: string[] };
    expect(session).toMatchObject({ tenant: DEMO_TENANT, scopes: ['read', 'write'] });
  });

  it('refuses other host names (DNS rebinding) and cross-site browser requests', async () => {
    const { port } = new URL(demo.urls.settings);
    const rebound = await rawRequest(Number(port), { method: 'GET', path: '/api/admin/endpoints', headers: { host: `attacker.example:${port}` } });
    expect(rebound.status).toBe(403);
    const crossSite = await post(new URL('/simulate', demo.urls.settings).href, JSON.stringify({ type: 'event.created' }), { 'content-type': 'application/json', origin: 'https://attacker.example' });
    expect(crossSite.status).toBe(403);
    expect(((await crossSite.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    const sameSite = await post(new URL('/simulate', demo.urls.settings).href, JSON.stringify({ type: 'event.created' }), { 'content-type': 'application/json', origin: new URL(demo.urls.settings).origin });
    expect(sameSite.status).toBe(202);
  });

  it('answers bad simulator and switch requests with a typed error', async () => {
    const simulate = new URL('/simulate', demo.urls.settings).href;
    const unknown = await post(simulate, JSON.stringify({ type: 'invoice.paid' }));
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown_event');
    const malformed = await post(simulate, '{"type":');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('invalid_input');
    expect((await fetch(simulate)).status).toBe(405);

    const badSwitch = await post(new URL('/api/demo/receivers/koa/failing', demo.urls.settings).href, JSON.stringify({ failing: 'yes' }));
    expect(badSwitch.status).toBe(400);
    expect((await post(new URL('/api/demo/receivers/rails/failing', demo.urls.settings).href, JSON.stringify({ failing: true }))).status).toBe(404);
    expect((await fetch(new URL('/nope', demo.urls.settings))).status).toBe(404);
  });

  it('sends simulated events through the sender: one delivery per subscribed endpoint', async () => {
    const created = (await (await admin(demo, 'POST', '/endpoints', { url: demo.urls.receivers.hono.webhook, name: 'Hono', events: ['registrant.attended'] })).json()) as { endpoint: { id: string }; secret: string };
    const simulate = new URL('/simulate', demo.urls.settings).href;
    const other = (await (await post(simulate, JSON.stringify({ type: 'event.created' }))).json()) as { sent: Array<{ deliveryCount: number }> };
    expect(other.sent).toEqual([expect.objectContaining({ type: 'event.created', deliveryCount: 0 })]);
    const response = await post(simulate, JSON.stringify({ type: 'registrant.attended' }));
    expect(response.status).toBe(202);
    const result = (await response.json()) as { sent: Array<{ messageId: string; deliveryCount: number }> };
    expect(result.sent).toEqual([expect.objectContaining({ type: 'registrant.attended', deliveryCount: 1 })]);
    const entry = await eventually(async () => (await received('hono')).find((item) => item.id === result.sent[0]?.messageId));
    expect(entry).toMatchObject({ type: 'registrant.attended', outcome: 'handled', attempt: 1, signatures: 1 });
    await (await admin(demo, 'DELETE', `/endpoints/${created.endpoint.id}`)).body?.cancel();
  });

  it('receivers verify with the secrets of the endpoints that target them, and reject any other', async () => {
    const created = (await (await admin(demo, 'POST', '/endpoints', { url: demo.urls.receivers.express.webhook })).json()) as { secret: string };
    const forged = await signedRegistration(generateSecret());
    const rejected = await post(demo.urls.receivers.express.webhook, forged.body, forged.headers);
    expect(rejected.status).toBe(401);
    expect(((await rejected.json()) as { error: { code: string } }).error.code).toBe('invalid_signature');
    const genuine = await signedRegistration(created.secret);
    expect((await post(demo.urls.receivers.express.webhook, genuine.body, genuine.headers)).status).toBe(200);
    const ids = (await received('express')).map((entry) => entry.id);
    expect(ids).toContain(genuine.id);
    expect(ids).not.toContain(forged.id);
  });

  it('the failure switch makes a receiver answer 500 after the signature verified', async () => {
    const created = (await (await admin(demo, 'POST', '/endpoints', { url: demo.urls.receivers.koa.webhook })).json()) as { secret: string };
    demo.setFailing('koa', true);
    try {
      const request = await signedRegistration(created.secret);
      const response = await post(demo.urls.receivers.koa.webhook, request.body, request.headers);
      expect(response.status).toBe(500);
      expect((await received('koa')).find((entry) => entry.id === request.id)?.outcome).toBe('failed');
    } finally {
      demo.setFailing('koa', false);
    }
  });
});

describe('demo restart', () => {
  it('keeps endpoints in SQLite, their secrets encrypted, and points them at the receivers’ new ports', async () => {
    const restartDir = mkdtempSync(join(tmpdir(), 'hooks-demo-restart-'));
    try {
      const first = await startDemo({ dataDir: restartDir, next: 'route-only' });
      let endpointId: string;
      let secret: string;
      try {
        // Created as the portal does, without metadata: the demo tags it with its receiver.
        const response = await admin(first, 'POST', '/endpoints', { url: first.urls.receivers.fastify.webhook });
        const created = (await response.json()) as { endpoint: { id: string }; secret: string };
        endpointId = created.endpoint.id;
        secret = created.secret;
      } finally {
        await first.stop();
      }
      expect(secret).toMatch(/^whsec_/);
      // The key lives beside the database, readable by its owner only; the secret is in no database file.
      expect(statSync(join(restartDir, 'encryption.key')).mode & 0o077).toBe(0);
      const key = secret.slice('whsec_'.length);
      for (const file of ['broadcast.db', 'broadcast.db-wal']) {
        if (existsSync(join(restartDir, file))) expect(readFileSync(join(restartDir, file)).includes(key), file).toBe(false);
      }
      const second = await startDemo({ dataDir: restartDir, next: 'route-only' });
      try {
        const endpoint = (await (await admin(second, 'GET', `/endpoints/${endpointId}`)).json()) as { url: string };
        expect(endpoint.url).toBe(second.urls.receivers.fastify.webhook);
        const sent = (await (await post(new URL('/simulate', second.urls.settings).href, JSON.stringify({ type: 'session.created' }))).json()) as { sent: Array<{ messageId: string }> };
        const entry = await eventually(async () => (await received('fastify', second)).find((item) => item.id === sent.sent[0]?.messageId));
        expect(entry.outcome).toBe('handled');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(restartDir, { recursive: true, force: true });
    }
  }, 60_000);
});
