import { cryptoBackendName } from '@hooks/core';
import { webhookHandler } from '@hooks/next';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { TEST_SECRETS, createRecorder } from '../../../../support/recorder';

export const runtime = 'edge';

const recorder = createRecorder();

export const POST = webhookHandler({ catalog: broadcastEvents, secrets: [...TEST_SECRETS] }).onAny(recorder.handle);

// The tests read what reached the handler, and which runtime and crypto backend served it.
export function GET(): Response {
  const edge = typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime === 'string';
  return Response.json({ ...recorder.snapshot(), runtime: edge ? 'edge' : 'nodejs', crypto: cryptoBackendName });
}
