import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import { senderEndToEnd } from '../../express/test/sender-end-to-end';
import { webhooks } from '../src/index';

senderEndToEnd('koa', async ({ receiver, path }) => {
  const app = new Koa();
  // The documented order: webhooks({ path }) before the app's body parser.
  app.use(webhooks(receiver, { path }));
  app.use(bodyParser());
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
});
