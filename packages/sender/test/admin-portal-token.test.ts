import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdminHandler, toNodeListener } from '../src/admin/index';
import { SenderError } from '../src/errors';
import { createSender } from '../src/sender';
import { type TestReceiver, createClock, startReceiver } from './support';

// Portal tokens over the admin API on a real HTTP server: a token is limited to its tenant
// (another tenant's objects are 404), read-only when minted so, refused once expired (on the
// sender's injected clock) or altered in any way, while the host's own authorize() keeps working.

const KEY = 'k'.repeat(32);
let clock: ReturnType<typeof createClock>;
let sender: ReturnType<typeof createSender>;
let receiver: TestReceiver;
let server: Server;
let base = '';

beforeEach(async () => {
  clock = createClock();
  receiver = await startReceiver();
  sender = createSender({ catalog: broadcastEvents, storage: 'memory', urlPolicy: { allowHttp: true, allow: ['loopback'] }, now: clock.now, portalTokenSecret: KEY, onError: () => {}, logger: silentLogger });
  const admin = createAdminHandler(sender, {
    basePath: '/admin',
    // The host's own back office: a session cookie naming the workspace.
    authorize: (request) => {
      const cookie = request.headers.get('cookie') ?? '';
      const tenant = /session=([a-z_]+)/.exec(cookie)?.[1];
      return tenant ? { tenant } : null;
    },
  });
  server = createServer(toNodeListener(admin));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await sender.close();
  await receiver.close();
});

interface Answer {
  status: number;
  body: { error?: { code: string; details?: Record<string, unknown> } } & Record<string, unknown>;
  text: string;
}

async function call(method: string, path: string, credentials: { token?: string; cookie?: string }, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (credentials.token !== undefined) headers.authorization = `Bearer ${credentials.token}`;
  if (credentials.cookie !== undefined) headers.cookie = credentials.cookie;
  if (method !== 'GET') headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Answer['body']), text };
}

async function endpointOf(tenant: string): Promise<{ id: string; secret: string }> {
  const created = await call('POST', '/endpoints', { cookie: `session=${tenant}` }, { url: receiver.url, name: `${tenant} hook` });
  expect(created.status).toBe(201);
  return { id: (created.body.endpoint as { id: string }).id, secret: created.body.secret as string };
}

describe('portal tokens: minting', () => {
  it('mints a token for a tenant with its scopes and expiry', () => {
    const minted = sender.createPortalToken({ tenant: 'acme', expiresInSeconds: 600 });
    expect(minted.token).toMatch(/^hkpt_v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(minted).toMatchObject({ tenant: 'acme', scopes: ['read', 'write'], expiresAt: new Date(clock.now() + 600_000) });
    expect(sender.createPortalToken({ tenant: 'acme', scopes: ['read'] }).scopes).toEqual(['read']);
    // Write without read still reads: a settings page that cannot see makes no sense.
    expect(sender.createPortalToken({ tenant: 'acme', scopes: ['write'] }).scopes).toEqual(['read', 'write']);
    expect(sender.verifyPortalToken(minted.token)).toEqual({ tenant: 'acme', scopes: ['read', 'write'], expiresAt: minted.expiresAt });
  });

  it('refuses bad input with typed errors', () => {
    const bad: unknown[] = [
      { tenant: '' },
      { tenant: 'acme', expiresInSeconds: 0 },
      { tenant: 'acme', expiresInSeconds: 86_401 },
      { tenant: 'acme', expiresInSeconds: 1.5 },
      { tenant: 'acme', scopes: [] },
      { tenant: 'acme', scopes: ['admin'] },
      null,
    ];
    for (const input of bad) {
      let caught: unknown;
      try {
        sender.createPortalToken(input as never);
      } catch (error) {
        caught = error;
      }
      expect(SenderError.isInstance(caught) && caught.code, JSON.stringify(input)).toBe('invalid_input');
    }
    expect(() => createSender({ catalog: broadcastEvents, storage: 'memory', portalTokenSecret: 'short', logger: silentLogger })).toThrow(/at least 32 bytes/);
  });

  it('shares tokens between processes with the same key, and only those', async () => {
    const twin = createSender({ catalog: broadcastEvents, storage: 'memory', now: clock.now, portalTokenSecret: KEY, logger: silentLogger });
    const stranger = createSender({ catalog: broadcastEvents, storage: 'memory', now: clock.now, portalTokenSecret: 'z'.repeat(32), logger: silentLogger });
    const keyless = createSender({ catalog: broadcastEvents, storage: 'memory', now: clock.now, logger: silentLogger });
    const { token } = sender.createPortalToken({ tenant: 'acme' });
    expect(twin.verifyPortalToken(token).tenant).toBe('acme');
    expect(() => stranger.verifyPortalToken(token)).toThrow(SenderError);
    expect(() => keyless.verifyPortalToken(token)).toThrow(SenderError);
    await Promise.all([twin.close(), stranger.close(), keyless.close()]);
  });
});

describe('portal tokens over the admin API', () => {
  it("manages its own tenant and sees another tenant's objects as absent", async () => {
    const own = await endpointOf('acme');
    const other = await endpointOf('globex');
    const { token } = sender.createPortalToken({ tenant: 'acme' });

    const list = await call('GET', '/endpoints', { token });
    expect(list.status).toBe(200);
    expect((list.body.items as Array<{ id: string }>).map((item) => item.id)).toEqual([own.id]);
    expect((await call('GET', `/endpoints/${own.id}/secret`, { token })).body.current).toBe(own.secret);
    expect((await call('PATCH', `/endpoints/${own.id}`, { token }, { name: 'renamed' })).status).toBe(200);

    for (const [method, path] of [
      ['GET', `/endpoints/${other.id}`],
      ['GET', `/endpoints/${other.id}/secret`],
      ['PATCH', `/endpoints/${other.id}`],
      ['POST', `/endpoints/${other.id}/disable`],
      ['POST', `/endpoints/${other.id}/rotate-secret`],
      ['DELETE', `/endpoints/${other.id}`],
      ['GET', `/deliveries?endpointId=${other.id}`],
    ] as const) {
      const result = await call(method, path, { token }, method === 'PATCH' ? { name: 'stolen' } : undefined);
      expect(result.status, `${method} ${path}`).toBe(404);
      expect(result.text).not.toContain(other.secret);
    }
    // globex's endpoint is untouched.
    const stillThere = await call('GET', `/endpoints/${other.id}`, { cookie: 'session=globex' });
    expect(stillThere.body).toMatchObject({ name: 'globex hook', enabled: true });
  });

  it('says who the caller is on /session', async () => {
    const { token, expiresAt } = sender.createPortalToken({ tenant: 'acme', scopes: ['read'], expiresInSeconds: 60 });
    expect((await call('GET', '/session', { token })).body).toEqual({ tenant: 'acme', scopes: ['read'], via: 'portal_token', expiresAt: expiresAt.toISOString() });
    expect((await call('GET', '/session', { cookie: 'session=acme' })).body).toEqual({ tenant: 'acme', scopes: ['read', 'write'], via: 'authorize', expiresAt: null });
  });

  it('is read-only when minted with scopes: ["read"]', async () => {
    const own = await endpointOf('acme');
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: broadcastEvents.definitions['registrant.created'].example });
    await sender.drain();
    const { token } = sender.createPortalToken({ tenant: 'acme', scopes: ['read'] });
    for (const path of ['/endpoints', `/endpoints/${own.id}`, '/deliveries', '/messages', '/event-types']) {
      expect((await call('GET', path, { token })).status, path).toBe(200);
    }
    const delivery = ((await call('GET', '/deliveries', { token })).body.items as Array<{ id: string }>)[0];
    expect((await call('GET', `/deliveries/${delivery?.id}/attempts`, { token })).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/endpoints', { url: receiver.url }],
      ['PATCH', `/endpoints/${own.id}`, { name: 'x' }],
      ['POST', `/endpoints/${own.id}/disable`, undefined],
      ['POST', `/endpoints/${own.id}/rotate-secret`, undefined],
      ['POST', `/endpoints/${own.id}/test`, undefined],
      ['POST', `/endpoints/${own.id}/recover`, { since: 0 }],
      ['POST', `/deliveries/${delivery?.id}/retry`, undefined],
      ['DELETE', `/endpoints/${own.id}`, undefined],
      // Secrets are revealed to writers only.
      ['GET', `/endpoints/${own.id}/secret`, undefined],
    ] as const) {
      const result = await call(method, path, { token }, body);
      expect(result.status, `${method} ${path}`).toBe(403);
      expect(result.body.error?.code).toBe('forbidden');
      expect(result.text).not.toContain(own.secret);
    }
    expect((await call('GET', `/endpoints/${own.id}`, { token })).body).toMatchObject({ name: 'acme hook', enabled: true });
  });

  it('cannot send events as the platform: POST /messages stays with the host', async () => {
    await endpointOf('acme');
    const { token } = sender.createPortalToken({ tenant: 'acme' });
    const example = broadcastEvents.definitions['registrant.created'].example;
    const refused = await call('POST', '/messages', { token }, { type: 'registrant.created', data: example });
    expect(refused.status).toBe(403);
    expect((await call('POST', '/messages', { cookie: 'session=acme' }, { type: 'registrant.created', data: example })).status).toBe(202);
  });

  it('answers 401 once the token has expired, on the sender clock', async () => {
    const { token } = sender.createPortalToken({ tenant: 'acme', expiresInSeconds: 60 });
    expect((await call('GET', '/endpoints', { token })).status).toBe(200);
    clock.advance(59_999);
    expect((await call('GET', '/endpoints', { token })).status).toBe(200);
    clock.advance(1);
    const expired = await call('GET', '/endpoints', { token });
    expect(expired.status).toBe(401);
    expect(expired.body.error).toMatchObject({ code: 'unauthorized', details: { reason: 'expired' } });
  });

  it('answers 401 to a tampered token, including one re-signed for another tenant', async () => {
    const { token } = sender.createPortalToken({ tenant: 'acme', scopes: ['read'] });
    const [prefix, claims, signature] = token.split('.') as [string, string, string];
    const decoded = JSON.parse(Buffer.from(claims, 'base64url').toString()) as Record<string, unknown>;
    const forge = (patch: Record<string, unknown>) => `${prefix}.${Buffer.from(JSON.stringify({ ...decoded, ...patch })).toString('base64url')}.${signature}`;
    const tampered = [
      forge({ t: 'globex' }),
      forge({ s: ['read', 'write'] }),
      forge({ exp: Number(decoded.exp) + 86_400_000 }),
      `${prefix}.${claims}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`,
      `${prefix}.${claims}`,
      `${prefix}.${claims}.${signature}.extra`,
      `${prefix}.${claims}.`,
      'hkpt_v1.',
    ];
    for (const forged of tampered) {
      const result = await call('GET', '/endpoints', { token: forged });
      expect(result.status, forged).toBe(401);
      expect(result.body.error).toMatchObject({ code: 'unauthorized', details: { reason: 'invalid' } });
    }
    // The same signature bytes spelled differently: the last character's unused low bits flipped.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = `${signature.slice(0, -1)}${alphabet[alphabet.indexOf(signature.at(-1) as string) ^ 1]}`;
    expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
    expect((await call('GET', '/endpoints', { token: `${prefix}.${claims}.${respelled}` })).status).toBe(401);
    // Random bit flips anywhere in the token never pass.
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 9 }), fc.constantFrom(...'ABCabc012_-'), async (offset, character) => {
        const index = 8 + offset;
        fc.pre(token[index] !== character && token[index] !== '.');
        const flipped = `${token.slice(0, index)}${character}${token.slice(index + 1)}`;
        expect((await call('GET', '/endpoints', { token: flipped })).status).toBe(401);
      }),
      { numRuns: 40 },
    );
  });

  it("keeps the host's authorize() working beside portal tokens", async () => {
    const own = await endpointOf('acme');
    expect((await call('GET', '/endpoints', {})).status).toBe(401);
    expect((await call('GET', '/endpoints', { cookie: 'session=acme' })).status).toBe(200);
    // Any other bearer credential is the host's to judge: here, none is accepted.
    expect((await call('GET', '/endpoints', { token: 'host-api-key' })).status).toBe(401);
    expect((await call('POST', `/endpoints/${own.id}/disable`, { cookie: 'session=acme' })).status).toBe(200);
  });

  it('can be made read-only by the host too, through authorize() scopes', async () => {
    const readOnly = createAdminHandler(sender, { authorize: () => ({ tenant: 'acme', scopes: ['read'] }) });
    const read = await readOnly(new Request('http://local/endpoints'));
    expect(read.status).toBe(200);
    const write = await readOnly(new Request('http://local/endpoints', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url }) }));
    expect(write.status).toBe(403);
  });
});
