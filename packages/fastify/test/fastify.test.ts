import { Writable } from 'node:stream';
import { generateSecret } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MatrixTarget, receiverMatrix, registrantCreated, signedHeaders } from '../../express/test/receiver-matrix';
import { webhooks } from '../src/index';

async function listen(app: FastifyInstance): Promise<MatrixTarget> {
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, server: app.server, close: () => app.close() };
}

receiverMatrix('fastify', async ({ routes }) => {
  const app = Fastify();
  for (const { receiver, path } of routes) await app.register(webhooks(receiver, { path }));
  return listen(app);
});

describe('fastify: handler errors and missing secrets in the app log', () => {
  const secret = generateSecret();
  const lines: Array<Record<string, unknown>> = [];
  let target: MatrixTarget;

  beforeAll(async () => {
    // Fastify's own logger (pino), writing JSON lines where the test reads them.
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const app = Fastify({ logger: { level: 'info', stream } });
    await app.register(
      webhooks({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', () => {
        throw new Error('handler failed on purpose');
      }),
    );
    await app.register(webhooks({ catalog: broadcastEvents, secrets: process.env.HOOKS_TEST_UNSET_SECRET, path: '/unset' }));
    target = await listen(app);
  });
  afterAll(() => target.close());

  it('logs a throwing handler through request.log with the request id, webhook id and type, never the body or the secret', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/webhooks`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(500);
    const line = lines.find((entry) => entry.webhookId === id);
    expect(line).toMatchObject({ level: 50, type: 'registrant.created', attempt: 1, err: { message: 'handler failed on purpose' } });
    expect(line!.reqId).toBeDefined();
    expect(String(line!.msg)).toContain('handler failed');
    const text = JSON.stringify(line);
    expect(text).not.toContain('ada@example.com');
    expect(text).not.toContain(secret);
  });

  it('answers 500 missing_secret when the secret was not set, and logs it', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/unset`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('missing_secret');
    expect(lines.some((entry) => entry.level === 50 && entry.code === 'missing_secret' && entry.reqId !== undefined)).toBe(true);
  });
});

describe('fastify specifics', () => {
  const secret = generateSecret();
  const seen: Array<{ email: string; url: string }> = [];
  const logged: Array<string | undefined> = [];
  let target: MatrixTarget;

  beforeAll(async () => {
    const app = Fastify();
    // The rest of the app keeps Fastify's own JSON parsing.
    app.post('/echo', async (request) => ({ parsed: request.body }));
    await app.register(
      async (scope) => {
        // Hooks of the webhook's scope see the verified event on request.webhook.
        scope.addHook('onResponse', async (request) => {
          logged.push(request.webhook?.id);
        });
        await scope.register(
          webhooks({ catalog: broadcastEvents, secrets: secret, path: '/incoming' }).on('registrant.created', (event, { request }) => {
            seen.push({ email: event.data.registrant.email, url: request.url });
          }),
        );
      },
      { prefix: '/hooks' },
    );
    target = await listen(app);
  });
  afterAll(() => target.close());

  it('registers the route under the register prefix and gives handlers { request, reply }', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/hooks/incoming`, { method: 'POST', body, headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(200);
    expect(seen).toEqual([{ email: 'ada@example.com', url: '/hooks/incoming' }]);
    expect(logged).toEqual([id]);
  });

  it('leaves JSON parsing of the rest of the app alone', async () => {
    const response = await fetch(`${target.url}/echo`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ parsed: { a: 1 } });
  });
});
