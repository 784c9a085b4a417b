import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createAdminHandler, createMemoryStorage, createSender, toNodeListener } from '@hooks/sender';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PortalApi, PortalApiError, englishMessages, tokenFromUrl } from '../src/index';
import { HooksPortal } from '../src/react';

// The portal's client against the real admin API: a token minted by the host's route, renewed
// once when the sender's clock says it expired, and the API's errors kept with their code.

let now = Date.parse('2026-11-23T10:00:00.000Z');
let sender: ReturnType<typeof createSender<typeof broadcastEvents>>;
let server: Server;
let origin = '';
let minted = 0;

beforeEach(async () => {
  now = Date.parse('2026-11-23T10:00:00.000Z');
  minted = 0;
  sender = createSender({ catalog: broadcastEvents, storage: createMemoryStorage(), now: () => now, urlPolicy: { allowHttp: true, allow: ['loopback'] }, onError: () => {} });
  const admin = toNodeListener(createAdminHandler(sender, { basePath: '/api/webhooks', authorize: () => null }));
  server = createServer((request, response) => {
    if (request.url === '/token') {
      minted += 1;
      const token = sender.createPortalToken({ tenant: 'acme', expiresInSeconds: 60 });
      // expiresAt far ahead on the wall clock: only the sender's clock makes it expire, so the renewal is driven by the 401.
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: token.token, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }));
      return;
    }
    void admin(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await sender.close();
});

describe('PortalApi', () => {
  it('reuses a token, renews it once after an expiry 401, and retries the call', async () => {
    const api = new PortalApi({ apiBase: `${origin}/api/webhooks`, token: tokenFromUrl(`${origin}/token`) });
    await sender.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hook' });
    expect((await api.request<{ items: unknown[] }>('GET', '/endpoints')).items).toHaveLength(1);
    expect((await api.request<{ tenant: string }>('GET', '/session')).tenant).toBe('acme');
    expect(minted).toBe(1);
    now += 61_000;
    expect((await api.request<{ items: unknown[] }>('GET', '/endpoints')).items).toHaveLength(1);
    expect(minted).toBe(2);
  });

  it('keeps the API error code, message and details', async () => {
    const api = new PortalApi({ apiBase: `${origin}/api/webhooks`, token: tokenFromUrl(`${origin}/token`) });
    const error = await api.request('POST', '/endpoints', { url: 'ftp://nope' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PortalApiError);
    expect(error).toMatchObject({ status: 400, details: { field: 'url' } });
    expect((error as PortalApiError).code).toMatch(/url/);
    const missing = await api.request('GET', '/endpoints/ep_nope').catch((caught: unknown) => caught);
    expect(missing).toMatchObject({ status: 404, code: 'endpoint_not_found' });
  });

  it('fails with token_unavailable when the host route refuses', async () => {
    const api = new PortalApi({ apiBase: `${origin}/api/webhooks`, token: tokenFromUrl(`${origin}/api/webhooks/nope`) });
    await expect(api.request('GET', '/endpoints')).rejects.toMatchObject({ code: 'token_unavailable' });
  });

  it('answers 401 unauthorized without a token (the host authorize returns null)', async () => {
    const api = new PortalApi({ apiBase: `${origin}/api/webhooks`, token: async () => null });
    await expect(api.request('GET', '/endpoints')).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });
});

describe('React wrapper', () => {
  it('renders <hooks-portal> with its attributes on the server', () => {
    const markup = renderToString(createElement(HooksPortal, { apiBase: '/api/webhooks', tokenUrl: '/api/webhooks-token', locale: 'fr-FR', secretOverlapHours: 48, className: 'settings' }));
    expect(markup).toMatch(/^<hooks-portal /);
    for (const attribute of ['api-base="/api/webhooks"', 'token-url="/api/webhooks-token"', 'locale="fr-FR"', 'secret-overlap-hours="48"', 'class="settings"']) expect(markup).toContain(attribute);
  });

  it('has an English default for every message', () => {
    for (const [key, value] of Object.entries(englishMessages)) {
      expect(typeof value === 'string' ? value.length : typeof value, key).not.toBe(0);
    }
  });
});
