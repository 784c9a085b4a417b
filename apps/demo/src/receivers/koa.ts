import { createServer } from 'node:http';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { webhooks } from '@hooks/koa';
import Koa from 'koa';
import { close, listen } from './listen';
import { createRecorder } from './recorder';
import type { ReceiverStartOptions, RunningReceiver } from './types';

/** Starts the Koa receiver: `@hooks/koa` on `POST /webhooks`, `GET /received`. */
export async function startKoaReceiver({ control }: ReceiverStartOptions): Promise<RunningReceiver> {
  const recorder = createRecorder(control);
  const app = new Koa();
  app.use(webhooks({ catalog: broadcastEvents, secrets: recorder.secrets, path: '/webhooks' }).onAny(recorder.handle));
  app.use(async (ctx, next) => {
    if (ctx.method !== 'GET' || ctx.path !== '/received') return next();
    ctx.body = recorder.list();
  });
  const server = createServer(app.callback());
  const base = await listen(server);
  return { name: 'koa', label: 'Koa', webhookUrl: `${base}/webhooks`, receivedUrl: `${base}/received`, stop: () => close(server) };
}
