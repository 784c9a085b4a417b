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

receiverMatrix('fastify', async ({ receiver, path }) => {
  const app = Fastify();
  await app.register(webhooks(receiver, { path }));
  return listen(app);
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
