import { createMessageId, generateSecret } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawBodySaver, webhooks } from '../src/index';
import { listen } from './listen';
import { type MatrixTarget, receiverMatrix, registrantCreated, signedHeaders } from './receiver-matrix';

receiverMatrix('express, no body parser', async ({ receiver, path }) => {
  const app = express();
  app.post(path, webhooks(receiver));
  return listen(app);
});

// The common setup: a global JSON parser mounted before the webhook route, keeping the raw bytes.
receiverMatrix('express, express.json({ verify: rawBodySaver }) mounted first', async ({ receiver, path }) => {
  const app = express();
  app.use(express.json({ verify: rawBodySaver, limit: '1mb' }));
  app.post(path, webhooks(receiver));
  return listen(app);
}, { parserFirst: true });

receiverMatrix('express, express.raw() on the route', async ({ receiver, path }) => {
  const app = express();
  app.post(path, express.raw({ type: '*/*', limit: '1mb' }), webhooks(receiver));
  return listen(app);
}, { parserFirst: true });

describe('express specifics', () => {
  const secret = generateSecret();
  const seen: Array<{ type: string; email: string; hasRequest: boolean }> = [];
  let target: MatrixTarget;

  beforeAll(async () => {
    const app = express();
    // A global JSON parser that keeps no raw bytes: JSON webhooks cannot be verified behind it.
    const parsing = express.Router();
    parsing.use(express.json());
    parsing.post(
      '/',
      webhooks({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', () => {
        throw new Error('never reached');
      }),
    );
    app.use('/parsed', parsing);
    app.post(
      '/forward',
      webhooks({ catalog: broadcastEvents, secrets: secret, forward: true }).on('registrant.created', (event, { request, response }) => {
        seen.push({ type: event.type, email: event.data.registrant.email, hasRequest: request.path === '/forward' && typeof response.status === 'function' });
      }),
      (request, response) => {
        response.status(202).json({ received: request.webhook?.id, type: request.webhook?.type });
      },
    );
    target = await listen(app);
  });
  afterAll(() => target.close());

  it('answers 500 body_already_parsed behind express.json() without rawBodySaver, and says how to fix it', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/parsed`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(500);
    const json = (await response.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('body_already_parsed');
    expect(json.error.message).toContain('rawBodySaver');
  });

  it('still verifies a body express.json() left alone (text/plain) behind that parser', async () => {
    const { id, body } = registrantCreated();
    const headers = await signedHeaders(id, body, secret, { contentType: 'text/plain' });
    const response = await fetch(`${target.url}/parsed`, { method: 'POST', body, headers });
    // Verified and dispatched: the handler throws on purpose, so the pipeline answers 500 handler_error.
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('handler_error');
  });

  it('with forward: true, runs the typed handler with { request, response } then hands req.webhook to the next handler', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/forward`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ received: id, type: 'registrant.created' });
    expect(seen).toEqual([{ type: 'registrant.created', email: 'ada@example.com', hasRequest: true }]);
  });

  it('with forward: true, still answers duplicates itself', async () => {
    const id = createMessageId();
    const { body } = registrantCreated(id);
    await fetch(`${target.url}/forward`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    const again = await fetch(`${target.url}/forward`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ ok: true, id, duplicate: true });
  });
});
