import { createServer } from 'node:http';
import { webhooks } from '@hooks/express';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import express from 'express';
import { close, listen } from './listen';
import { createRecorder } from './recorder';
import type { ReceiverStartOptions, RunningReceiver } from './types';

/** Starts the Express receiver: `POST /webhooks` through `@hooks/express`, `GET /received`. */
export async function startExpressReceiver({ control }: ReceiverStartOptions): Promise<RunningReceiver> {
  const recorder = createRecorder(control);
  const app = express();
  // The middleware reads the raw body itself: no express.json() in front of it.
  app.post('/webhooks', webhooks({ catalog: broadcastEvents, secrets: recorder.secrets }).onAny(recorder.handle));
  app.get('/received', (_request, response) => {
    response.json(recorder.list());
  });
  // Errors the adapter passes on (it answers every verification outcome itself) end here.
  app.use((error: unknown, _request: express.Request, response: express.Response, _next: express.NextFunction) => {
    console.error('[demo express receiver]', error);
    response.status(500).json({ error: { code: 'internal_error', message: 'The receiver failed.' } });
  });
  const server = createServer(app);
  const base = await listen(server);
  return { name: 'express', label: 'Express', webhookUrl: `${base}/webhooks`, receivedUrl: `${base}/received`, stop: () => close(server) };
}
