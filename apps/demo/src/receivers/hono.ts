import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { webhooks } from '@hooks/hono';
import { Hono } from 'hono';
import { close, listen } from './listen';
import { createRecorder } from './recorder';
import type { ReceiverStartOptions, RunningReceiver } from './types';

/** Starts the Hono receiver on `@hono/node-server`: `POST /webhooks` through `@hooks/hono`, `GET /received`. */
export async function startHonoReceiver({ control }: ReceiverStartOptions): Promise<RunningReceiver> {
  const recorder = createRecorder(control);
  const app = new Hono();
  app.post('/webhooks', webhooks({ catalog: broadcastEvents, secrets: recorder.secrets }).onAny(recorder.handle));
  app.get('/received', (c) => c.json(recorder.list()));
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  const base = await listen(server);
  return { name: 'hono', label: 'Hono', webhookUrl: `${base}/webhooks`, receivedUrl: `${base}/received`, stop: () => close(server) };
}
