import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import { generateSecret } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import Koa from 'koa';
import legacyBodyParser from 'koa-bodyparser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type MatrixTarget, receiverMatrix, registrantCreated, signedBytes, signedHeaders } from '../../express/test/receiver-matrix';
import { webhooks } from '../src/index';

async function listen(app: Koa): Promise<MatrixTarget> {
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

receiverMatrix('koa, no body parser', async ({ routes }) => {
  const app = new Koa();
  for (const { receiver, path } of routes) app.use(webhooks(receiver, { path }));
  return listen(app);
});

// The documented setup for apps with a global body parser: webhooks({ path }) first, so the parser never sees webhook requests.
receiverMatrix('koa, webhooks({ path }) mounted before @koa/bodyparser', async ({ routes }) => {
  const app = new Koa();
  for (const { receiver, path } of routes) app.use(webhooks(receiver, { path }));
  app.use(bodyParser({ enableTypes: ['json', 'form', 'text'] }));
  return listen(app);
});

describe('koa behind a body parser that keeps decoded text', () => {
  const secret = generateSecret();
  const handled: string[] = [];
  let target: MatrixTarget;

  beforeAll(async () => {
    const app = new Koa();
    app.silent = true;
    const scoped = (path: string, parser: Koa.Middleware): Koa.Middleware => (ctx, next) => (ctx.path === path ? parser(ctx, next) : next());
    app.use(scoped('/koa-bodyparser-scoped', bodyParser({ enableTypes: ['json', 'text'] })));
    app.use(scoped('/legacy-bodyparser', legacyBodyParser({ enableTypes: ['json', 'text'] })));
    for (const path of ['/koa-bodyparser-scoped', '/legacy-bodyparser']) {
      app.use(
        webhooks({ catalog: broadcastEvents, secrets: secret, path }).on('registrant.created', (event) => {
          handled.push(event.id);
        }),
      );
    }
    target = await listen(app);
  });
  afterAll(() => target.close());

  // The parsers strip a UTF-8 BOM and replace invalid bytes: what they keep is not what was signed.
  it.each(['/koa-bodyparser-scoped', '/legacy-bodyparser'])('refuses %s with 500 body_already_parsed and says to mount webhooks() first', async (path) => {
    const { id, body } = registrantCreated();
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]);
    const response = await fetch(`${target.url}${path}`, { method: 'POST', body: bytes, headers: await signedBytes(id, bytes, secret) });
    expect(response.status).toBe(500);
    const json = (await response.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('body_already_parsed');
    expect(json.error.message).toContain('before the body parser');
    expect(handled).not.toContain(id);
  });
});

describe('koa: defaults a new app gets', () => {
  const secret = generateSecret();
  const errors: unknown[][] = [];
  let spy: ReturnType<typeof vi.spyOn>;
  let target: MatrixTarget;

  beforeAll(async () => {
    spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      errors.push(args);
    });
    const app = new Koa();
    app.use(
      webhooks({ catalog: broadcastEvents, secrets: secret, path: '/webhooks' }).on('registrant.created', () => {
        throw new Error('handler failed on purpose');
      }),
    );
    app.use(webhooks({ catalog: broadcastEvents, secrets: process.env.HOOKS_TEST_UNSET_SECRET, path: '/unset' }));
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
    const line = errors.find((args) => String(args[0]).includes('[@hooks/koa]') && String(args[0]).includes('handler failed'));
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
});

describe('koa specifics', () => {
  const secret = generateSecret();
  const seen: string[] = [];
  let target: MatrixTarget;

  beforeAll(async () => {
    const app = new Koa();
    // A parser that keeps no raw body, standing in for any such middleware.
    app.use(async (ctx, next) => {
      if (ctx.path === '/parsed') {
        let text = '';
        for await (const chunk of ctx.req) text += String(chunk);
        (ctx.request as { body?: unknown }).body = JSON.parse(text);
      }
      await next();
    });
    app.use(webhooks({ catalog: broadcastEvents, secrets: secret, path: '/parsed' }));
    app.use(
      webhooks({ catalog: broadcastEvents, secrets: secret, path: '/forward', forward: true }).on('registrant.created', (event, { ctx }) => {
        seen.push(`${event.data.registrant.email} ${ctx.path}`);
      }),
    );
    app.use(async (ctx) => {
      if (ctx.state.webhook) ctx.set('x-downstream-saw', ctx.state.webhook.id);
    });
    target = await listen(app);
  });
  afterAll(() => target.close());

  it('answers 500 body_already_parsed when a parser kept no raw body', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/parsed`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('body_already_parsed');
  });

  it('with forward: true, sets ctx.state.webhook for later middleware and keeps the 200', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/forward`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-downstream-saw')).toBe(id);
    expect(seen).toEqual(['ada@example.com /forward']);
  });

  it('passes other paths and methods to next()', async () => {
    const response = await fetch(`${target.url}/forward`, { method: 'GET' });
    expect(response.status).toBe(404);
    expect(seen).toHaveLength(1);
  });
});
