import { createMessageId, signHeaders } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MatrixTarget } from '../../express/test/receiver-matrix';
import { webhooks } from '../src/index';
import { listen } from './listen';

const secret = 'whsec_WDZh34fazC7fllzTKgNryviuOvxriEcIvs69Oof+mDQ=';

async function delivery(overrides: Record<string, unknown> = {}, profile: 'x-webhook' | 'standard' = 'x-webhook') {
  const id = createMessageId();
  const data = { ...broadcastEvents.definitions['registrant.created'].example, ...overrides };
  const body = JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data });
  return { id, body, headers: await signHeaders({ id, timestamp: new Date(), payload: body, secrets: secret, profile }) };
}

describe('hono middleware idioms, over HTTP on @hono/node-server', () => {
  const typed: string[] = [];
  const downstream: string[] = [];
  const outer: Array<string | undefined> = [];
  let failNext = false;
  let target: MatrixTarget;

  beforeAll(async () => {
    const app = new Hono();
    // An outer middleware sees the verified event after the chain ran.
    app.use('*', async (c, next) => {
      await next();
      outer.push((c.var as { webhook?: { id: string } }).webhook?.id);
    });
    app.post(
      '/forward',
      webhooks({ catalog: broadcastEvents, secrets: secret, forward: true }).on('registrant.created', (event) => {
        typed.push(event.data.registrant.email);
      }),
      (c) => {
        const event = c.var.webhook;
        downstream.push(event.id);
        if (failNext) {
          failNext = false;
          throw new Error('downstream failed on purpose');
        }
        return c.json({ received: event.type }, 202);
      },
    );
    app.post('/read-first', async (c, next) => {
      await c.req.arrayBuffer();
      await next();
    }, webhooks({ catalog: broadcastEvents, secrets: secret }));
    app.post('/parsed-first', async (c, next) => {
      await c.req.json();
      await next();
    }, webhooks({ catalog: broadcastEvents, secrets: secret }));
    app.post('/handler', webhooks({ catalog: broadcastEvents, secrets: secret }));
    target = await listen(app);
  });
  afterAll(async () => {
    await target?.close();
  });

  it('passes the typed event to the next handler on c.var.webhook, which answers', async () => {
    const { id, body, headers } = await delivery();
    const response = await fetch(`${target.url}/forward`, { method: 'POST', body, headers });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ received: 'registrant.created' });
    expect(downstream).toEqual([id]);
    expect(typed).toContain('ada@example.com');
    expect(outer).toContain(id);
  });

  it('does not run the next handler for a duplicate', async () => {
    const { id, body, headers } = await delivery();
    await fetch(`${target.url}/forward`, { method: 'POST', body, headers });
    const again = await fetch(`${target.url}/forward`, { method: 'POST', body, headers });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ ok: true, id, duplicate: true });
    expect(downstream.filter((entry) => entry === id)).toHaveLength(1);
  });

  it('answers 500 when the next handler throws, and processes the retry', async () => {
    const { id, body, headers } = await delivery();
    failNext = true;
    const first = await fetch(`${target.url}/forward`, { method: 'POST', body, headers });
    expect(first.status).toBe(500);
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe('handler_error');
    const retry = await fetch(`${target.url}/forward`, { method: 'POST', body, headers });
    expect(retry.status).toBe(202);
    expect(downstream.filter((entry) => entry === id)).toHaveLength(2);
  });

  it('does not run the next handler for a rejected delivery', async () => {
    const { id, body, headers } = await delivery();
    const response = await fetch(`${target.url}/forward`, { method: 'POST', body: body.replace('Ada', 'Eve'), headers });
    expect(response.status).toBe(401);
    expect(downstream).not.toContain(id);
  });

  it('uses the exact bytes kept by an earlier c.req.arrayBuffer()', async () => {
    const { id, body, headers } = await delivery();
    const response = await fetch(`${target.url}/read-first`, { method: 'POST', body, headers });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, id });
  });

  it('answers 500 body_already_parsed when c.req.json() consumed the body first', async () => {
    const { body, headers } = await delivery();
    const response = await fetch(`${target.url}/parsed-first`, { method: 'POST', body, headers });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text).error.code).toBe('body_already_parsed');
    expect(text).not.toContain(secret);
  });

  it('verifies the Standard Webhooks header profile', async () => {
    const { id, body, headers } = await delivery({}, 'standard');
    expect(headers['webhook-id']).toBe(id);
    const response = await fetch(`${target.url}/handler`, { method: 'POST', body, headers });
    expect(response.status).toBe(200);
  });
});

describe('types', () => {
  it('infers payloads from the catalog and types c.var.webhook', () => {
    const middleware = webhooks({ catalog: broadcastEvents, secrets: secret }).on('session.ended', (event) => {
      const count: number = event.data.attendeesCount;
      // @ts-expect-error registrant.created fields are not on session.ended
      void event.data.registrant;
      return count;
    });
    // @ts-expect-error not an event of the catalog
    middleware.on('registrant.deleted', () => undefined);
    const app = new Hono().post('/', middleware, (c) => c.text(c.var.webhook.type));
    expect(typeof app.fetch).toBe('function');
  });
});
