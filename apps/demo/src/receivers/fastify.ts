import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { webhooks } from '@hooks/fastify';
import Fastify from 'fastify';
import { createRecorder } from './recorder';
import type { ReceiverStartOptions, RunningReceiver } from './types';

/** Starts the Fastify receiver: the `@hooks/fastify` plugin on `POST /webhooks`, `GET /received`. */
export async function startFastifyReceiver({ control }: ReceiverStartOptions): Promise<RunningReceiver> {
  const recorder = createRecorder(control);
  const app = Fastify({ forceCloseConnections: true });
  // The plugin parses its own route's body as raw bytes; the rest of the app keeps Fastify's JSON parser.
  await app.register(webhooks({ catalog: broadcastEvents, secrets: recorder.secrets, path: '/webhooks' }).onAny(recorder.handle));
  app.get('/received', async () => recorder.list());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { name: 'fastify', label: 'Fastify', webhookUrl: `${base}/webhooks`, receivedUrl: `${base}/received`, stop: () => app.close() };
}
