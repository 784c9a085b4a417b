import { createMessageId, generateSecret } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jsonParser, rawBodySaver, webhooks } from '../src/index';
import { listen } from './listen';
import { type MatrixTarget, receiverMatrix, registrantCreated, signedHeaders } from './receiver-matrix';

receiverMatrix('express, no body parser', async ({ routes }) => {
  const app = express();
  for (const { receiver, path } of routes) app.post(path, webhooks(receiver));
  return listen(app);
});

// The recommended global parser: jsonParser() from @hooks/express keeps the bytes and answers the receiver's 413 early.
receiverMatrix('express, jsonParser() mounted first', async ({ routes }) => {
  const app = express();
  app.use(jsonParser());
  for (const { receiver, path } of routes) app.post(path, webhooks(receiver));
  return listen(app);
});

// Still supported: express.json() keeping the raw bytes. It reads (and inflates) the whole body itself, so its 413s and 400s are its own.
receiverMatrix('express, express.json({ verify: rawBodySaver }) mounted first', async ({ routes }) => {
  const app = express();
  app.use(express.json({ verify: rawBodySaver, limit: '1mb' }));
  for (const { receiver, path } of routes) app.post(path, webhooks(receiver));
  return listen(app);
}, { parserFirst: true });

receiverMatrix('express, express.raw() on the route', async ({ routes }) => {
  const app = express();
  for (const { receiver, path } of routes) app.post(path, express.raw({ type: '*/*', limit: '1mb' }), webhooks(receiver));
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
    expect(json.error.message).toContain('jsonParser()');
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

describe('express: defaults a new app gets', () => {
  const secret = generateSecret();
  let target: MatrixTarget;
  const errors: unknown[][] = [];
  let spy: ReturnType<typeof vi.spyOn>;

  beforeAll(async () => {
    spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      errors.push(args);
    });
    const app = express();
    app.use(jsonParser());
    app.post(
      '/webhooks',
      webhooks({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', () => {
        throw new Error('handler failed on purpose');
      }),
    );
    // Built when the secret was not set (a build without runtime secrets): it must not throw.
    app.post('/unset', webhooks({ catalog: broadcastEvents, secrets: process.env.HOOKS_TEST_UNSET_SECRET }));
    app.get('/json', (_request, response) => response.json({ ok: true }));
    app.post('/json', (request, response) => response.json({ received: request.body }));
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
    const line = errors.find((args) => String(args[0]).includes('handler failed'));
    expect(line).toBeDefined();
    expect(String(line![0])).toContain('[@hooks/express]');
    expect(line![1]).toMatchObject({ webhookId: id, type: 'registrant.created', attempt: 1 });
    const text = JSON.stringify(line![1]);
    expect(text).not.toContain('ada@example.com');
    expect(text).not.toContain(secret);
  });

  it('answers 500 missing_secret and logs why when the secret was not set', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/unset`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('missing_secret');
    expect(errors.some((args) => String(args[0]).includes('missing_secret'))).toBe(true);
  });

  it('jsonParser() parses JSON for the rest of the app and answers bad JSON with 400 invalid_json', async () => {
    const ok = await fetch(`${target.url}/json`, { method: 'POST', body: '{"a":[1,2]}', headers: { 'content-type': 'application/json' } });
    expect(await ok.json()).toEqual({ received: { a: [1, 2] } });
    const bad = await fetch(`${target.url}/json`, { method: 'POST', body: '{"a":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
  });
});
