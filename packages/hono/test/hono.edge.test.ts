import { cryptoBackendName, signHeaders } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { webhooks } from '../src/index';

// Runs under vitest's edge-runtime environment with `edge-light` resolution and no Node built-ins
// (see vitest.config.ts), calling `app.fetch(new Request(…))` as a Web-standard runtime does.
const secret = 'whsec_WDZh34fazC7fllzTKgNryviuOvxriEcIvs69Oof+mDQ=';

async function signedRequest(path: string, id: string, data: unknown = broadcastEvents.definitions['registrant.created'].example): Promise<{ request: Request; body: string }> {
  const body = JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data });
  const headers = await signHeaders({ id, timestamp: new Date(), payload: body, secrets: secret });
  return { request: new Request(`https://example.com${path}`, { method: 'POST', body, headers }), body };
}

describe('@hooks/hono on the edge runtime', () => {
  it('runs in the edge runtime with the Web Crypto backend', () => {
    expect(typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe('string');
    expect(cryptoBackendName).toBe('web');
  });

  it('verifies, dispatches typed events, dedupes and rejects tampering through app.fetch', async () => {
    const seen: string[] = [];
    const app = new Hono().post(
      '/webhooks',
      webhooks({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', (event) => {
        seen.push(event.data.registrant.email);
      }),
    );
    const { request, body } = await signedRequest('/webhooks', 'msg_hono_edge_1');
    const replay = request.clone();
    const forged = new Request(request.url, { method: 'POST', headers: request.headers, body: body.replace('Ada', 'Eve') });
    expect((await app.fetch(request)).status).toBe(200);
    expect(await (await app.fetch(replay)).json()).toEqual({ ok: true, id: 'msg_hono_edge_1', duplicate: true });
    const rejected = await app.fetch(forged);
    expect(rejected.status).toBe(401);
    expect(((await rejected.json()) as { error: { code: string } }).error.code).toBe('invalid_signature');
    expect(seen).toEqual(['ada@example.com']);
  });

  it('hands c.var.webhook to the next handler when forwarding', async () => {
    const app = new Hono().post('/webhooks', webhooks({ catalog: broadcastEvents, secrets: secret, forward: true }), (c) => c.json({ type: c.var.webhook.type, id: c.var.webhook.id }, 202));
    const response = await app.fetch((await signedRequest('/webhooks', 'msg_hono_edge_2')).request);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ type: 'registrant.created', id: 'msg_hono_edge_2' });
  });

  it('answers a schema mismatch with 400 and the path, and an endless body with 413', async () => {
    const app = new Hono().post('/webhooks', webhooks({ catalog: broadcastEvents, secrets: secret, maxBodyBytes: 128 * 1024 }));
    const mismatch = await app.fetch((await signedRequest('/webhooks', 'msg_hono_edge_3', { registrant: {} })).request);
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: { path: string } }).error.path).toMatch(/^data\.registrant/);
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    const headers = await signHeaders({ id: 'msg_hono_edge_4', timestamp: new Date(), payload: '{}', secrets: secret });
    const oversized = await app.fetch(new Request('https://example.com/webhooks', { method: 'POST', body: endless, headers, duplex: 'half' } as RequestInit));
    expect(oversized.status).toBe(413);
    expect(pulled).toBeLessThan(16);
  });
});
