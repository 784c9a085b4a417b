import Fastify from 'fastify';
import { createReceiver } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { webhooks } from '../src/index.ts';
const secret = process.env.BENCH_SECRET!;
const variant = process.argv[2];
const app = Fastify();
const path = '/webhooks';
if (variant === 'json') app.post(path, async (request) => ({ ok: true, id: (request.body as { id?: string }).id }));
else if (variant === 'hooks') await app.register(webhooks({ catalog: broadcastEvents, secrets: secret, path }).on('registrant.created', () => undefined));
else if (variant === 'stream') {
  await app.register(async (instance) => {
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', (_r, payload, done) => done(null, payload));
    instance.post(path, async (request, reply) => {
      const s = request.body as NodeJS.ReadableStream; const chunks: Buffer[] = [];
      await new Promise((res) => { s.on('data', (c: Buffer) => chunks.push(c)); s.on('end', res); });
      const body = JSON.parse(Buffer.concat(chunks).toString());
      return reply.code(200).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ ok: true, id: body.id }));
    });
  });
} else if (variant === 'buffer') {
  const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', () => undefined);
  await app.register(async (instance) => {
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer' }, (_r, body, done) => done(null, body));
    instance.post(path, async (request, reply) => {
      const result = await receiver.handle({ body: request.body as Buffer, headers: request.headers });
      return reply.code(result.status).headers(result.headers).send(result.body);
    });
  });
} else if (variant === 'jsonhooks') {
  const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', () => undefined);
  app.post(path, async (request, reply) => {
    const result = await receiver.handle({ body: JSON.stringify(request.body), headers: request.headers });
    return reply.code(result.status).headers(result.headers).send(result.body);
  });
}
await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ port: (app.server.address() as { port: number }).port });
process.on('message', (m) => { if (m === 'cpu') { const { user, system } = process.cpuUsage(); process.send?.({ cpu: user + system }); } });
process.on('disconnect', () => process.exit(0));
