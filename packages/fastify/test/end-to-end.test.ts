import Fastify from 'fastify';
import { senderEndToEnd } from '../../express/test/sender-end-to-end';
import { webhooks } from '../src/index';

senderEndToEnd('fastify', async ({ receiver, path }) => {
  const app = Fastify();
  await app.register(webhooks(receiver, { path }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, server: app.server, close: () => app.close() };
});
