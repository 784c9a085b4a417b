import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import { generateSecret } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MatrixTarget, receiverMatrix, registrantCreated, signedHeaders } from '../../express/test/receiver-matrix';
import { webhooks } from '../src/index';

async function listen(app: Koa): Promise<MatrixTarget> {
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

receiverMatrix('koa, no body parser', async ({ receiver, path }) => {
  const app = new Koa();
  app.use(webhooks(receiver, { path }));
  return listen(app);
});

receiverMatrix(
  'koa, @koa/bodyparser mounted first',
  async ({ receiver, path }) => {
    const app = new Koa();
    // bodyparser's own 400 for the non-JSON case is expected; keep Koa from logging it.
    app.silent = true;
    app.use(bodyParser({ enableTypes: ['json', 'form', 'text'], jsonLimit: '1mb', formLimit: '1mb', textLimit: '1mb' }));
    app.use(webhooks(receiver, { path }));
    return listen(app);
  },
  { parserFirst: true },
);

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
