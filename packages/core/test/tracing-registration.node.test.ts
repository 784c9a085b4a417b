// The API package alone (often installed by another dependency) records nothing: the receiver
// skips span work until an SDK registers a tracer provider, and picks it up once one does.
import { describe, expect, it } from 'vitest';
import { createReceiver, generateSecret } from '../src/index';
import { loadTracing, tracingAvailable } from '../src/internal';
import { exporter, installTracing, spansNamed } from './otel-support';
import { broadcastEvents, fixedNow, signedRequest } from './support';

describe('tracing without, then with, a registered SDK', () => {
  it('creates no span before an SDK is registered, and one per receive after', async () => {
    expect(await loadTracing()).toBe(true);
    expect(tracingAvailable()).toBe(false);
    const secret = generateSecret();
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow }).on('registrant.created', () => undefined);
    expect((await receiver.handle(await signedRequest({ secrets: secret }))).status).toBe(200);

    installTracing();
    expect(tracingAvailable()).toBe(true);
    exporter.reset();
    const request = await signedRequest({ secrets: secret });
    expect((await receiver.handle(request)).status).toBe(200);
    expect(spansNamed('hooks.receive').map((span) => span.attributes['webhook.id'])).toEqual([request.id]);
  });
});
