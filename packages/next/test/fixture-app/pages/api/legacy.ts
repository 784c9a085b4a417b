import { pagesWebhookHandler } from '@hooks/next';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import type { NextApiRequest, NextApiResponse } from 'next';
import { createRecorder } from '../../../support/recorder';

// Without this, Next parses the body and the signed bytes are gone.
export const config = { api: { bodyParser: false } };

const recorder = createRecorder();
const route = pagesWebhookHandler({ catalog: broadcastEvents, secrets: [process.env.WEBHOOK_SECRET, process.env.WEBHOOK_SECRET_NEXT] }).onAny(recorder.handle);

export default async function legacy(request: NextApiRequest, response: NextApiResponse): Promise<void> {
  if (request.method === 'GET') return response.json({ ...recorder.snapshot(), runtime: 'nodejs' });
  return route(request, response);
}
