import { Hono } from 'hono';
import { generateSecret } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type MatrixStartOptions, type MatrixTarget, receiverMatrix, registrantCreated, signedHeaders } from '../../express/test/receiver-matrix';
import { webhooks } from '../src/index';
import { listen } from './listen';

// The shared receiver matrix (written with the Express adapter) against Hono on @hono/node-server.
describe('hono', () => {
  receiverMatrix('hono as the route handler', async ({ routes }: MatrixStartOptions) => {
    const app = new Hono();
    for (const { receiver, path } of routes) app.post(path, webhooks(receiver));
    return listen(app);
  });

  receiverMatrix('hono as middleware before a handler that answers', async ({ routes }: MatrixStartOptions) => {
    const app = new Hono();
    for (const { receiver, path } of routes) app.post(path, webhooks({ receiver, forward: true }), (c) => c.json({ ok: true, id: c.var.webhook.id }));
    return listen(app);
  });
});

describe('hono: defaults a new app gets', () => {
  const secret = generateSecret();
  const errors: unknown[][] = [];
  let spy: ReturnType<typeof vi.spyOn>;
  let target: MatrixTarget;

  beforeAll(async () => {
    spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      errors.push(args);
    });
    const app = new Hono();
    app.post(
      '/webhooks',
      webhooks({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', () => {
        throw new Error('handler failed on purpose');
      }),
    );
    app.post('/unset', webhooks({ catalog: broadcastEvents, secrets: process.env.HOOKS_TEST_UNSET_SECRET }));
    // Mounted for every method: anything but POST gets 405 with Allow: POST.
    app.all('/any', webhooks({ catalog: broadcastEvents, secrets: secret }));
    target = await listen(app);
  });
  afterAll(async () => {
    spy.mockRestore();
    await target.close();
  });

  it('logs a throwing handler to the console with the webhook id and type, never the body or the secret', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/webhooks`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(500);
    const line = errors.find((args) => String(args[0]).includes('[@hooks/hono]') && String(args[0]).includes('handler failed'));
    expect(line?.[1]).toMatchObject({ webhookId: id, type: 'registrant.created' });
    expect(JSON.stringify(line?.[1])).not.toContain('ada@example.com');
    expect(JSON.stringify(line?.[1])).not.toContain(secret);
  });

  it('answers 500 missing_secret when the secret was not set', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/unset`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('missing_secret');
  });

  it('answers GET with 405 and Allow: POST when mounted for every method', async () => {
    const response = await fetch(`${target.url}/any`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});
