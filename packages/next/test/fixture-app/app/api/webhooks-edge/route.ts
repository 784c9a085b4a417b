import { cryptoBackendName } from '@hooks/core';
import { webhookHandler } from '@hooks/next';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createRecorder } from '../../../../support/recorder';

export const runtime = 'edge';

const recorder = createRecorder();

// Written as docs/next.md shows: the secrets come from the environment, which `next build` runs without.
export const POST = webhookHandler({ catalog: broadcastEvents, secrets: [process.env.WEBHOOK_SECRET, process.env.WEBHOOK_SECRET_NEXT] }).onAny(recorder.handle);

// The tests read what reached the handler, and which runtime and crypto backend served it.
export function GET(): Response {
  const edge = typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime === 'string';
  return Response.json({ ...recorder.snapshot(), runtime: edge ? 'edge' : 'nodejs', crypto: cryptoBackendName });
}
