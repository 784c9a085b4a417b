import { serializeEnvelope, signHeaders } from '@hooks/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { SenderEvents } from '../src/events';
import type { DeliveryRequest, DeliveryResponse, Transport } from '../src/transport';
import { createClock, makeSender, registrantData } from './support';

// The dispatcher builds each attempt's request cheaply (signHeaders merged over custom and trace
// headers in one object, envelope bodies reused across the deliveries of a message, event payloads only for
// listeners): these tests pin that it sends and emits exactly what the plain way would.

/** A transport that records every request and answers `status`. */
function recordingTransport(status = 200): Transport & { requests: DeliveryRequest[] } {
  const requests: DeliveryRequest[] = [];
  return {
    requests,
    async send(request): Promise<DeliveryResponse> {
      requests.push(request);
      return { status, headers: { 'x-answer': 'yes' }, body: 'ok', durationMs: 1 };
    },
    async close() {},
  };
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('dispatcher hot path', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function sender(options: Parameters<typeof makeSender>[0] = {}) {
    const created = makeSender(options);
    cleanups.push(() => created.close());
    return created;
  }

  for (const profile of ['x-webhook', 'standard'] as const) {
    it(`sends the headers of core's signHeaders, in the same order, after custom and trace headers (${profile})`, async () => {
      const clock = createClock();
      const transport = recordingTransport();
      const hooks = sender({ now: clock.now, transport });
      const customHeaders = { 'x-team': 'growth', 'x-region': 'eu' };
      const endpoint = await hooks.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hooks', headers: customHeaders, profile });
      const traced = await hooks.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(1), traceContext: { traceparent: TRACEPARENT, tracestate: 'vendor=1' } });
      const plain = await hooks.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(2) });
      await hooks.drain();

      expect(transport.requests).toHaveLength(2);
      for (const [request, messageId, trace] of [
        [transport.requests[0], traced.messageId, { traceparent: TRACEPARENT, tracestate: 'vendor=1' }],
        [transport.requests[1], plain.messageId, {}],
      ] as const) {
        const message = await hooks.messages.get(messageId);
        const body = serializeEnvelope({ id: messageId, type: 'registrant.created', timestamp: message?.createdAt.toISOString() ?? '', data: registrantData(messageId === traced.messageId ? 1 : 2) });
        expect(request?.body).toBe(body);
        const signed = await signHeaders({ id: messageId, timestamp: Math.floor(clock.now() / 1000), payload: body, secrets: [endpoint.secret], profile, attempt: 1, eventType: 'registrant.created' });
        const expected = { ...customHeaders, ...trace, ...signed };
        expect(request?.headers).toEqual(expected);
        expect(Object.keys(request?.headers ?? {})).toEqual(Object.keys(expected));
      }
    });
  }

  it('signs with every secret during a rotation, as signHeaders does with the list', async () => {
    const clock = createClock();
    const transport = recordingTransport();
    const hooks = sender({ now: clock.now, transport });
    const created = await hooks.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hooks' });
    const rotated = await hooks.endpoints.rotateSecret(created.endpoint.id);
    const { messageId } = await hooks.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(3) });
    await hooks.drain();
    const [request] = transport.requests;
    const signed = await signHeaders({ id: messageId, timestamp: Math.floor(clock.now() / 1000), payload: request?.body ?? '', secrets: [rotated.secret, created.secret], attempt: 1, eventType: 'registrant.created' });
    expect(request?.headers['x-webhook-signature']).toBe(signed['x-webhook-signature']);
    expect(String(request?.headers['x-webhook-signature']).split(' ')).toHaveLength(2);
  });

  it('sends each message its own envelope, also when more messages fan out than the body cache holds', async () => {
    const transport = recordingTransport();
    const hooks = sender({ transport });
    for (const index of [0, 1, 2]) await hooks.endpoints.create({ tenant: 'acme', url: `http://127.0.0.1:9/hooks/${index}` });
    const sent = new Map<string, number>();
    for (let index = 0; index < 300; index++) {
      const { messageId } = await hooks.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index) });
      sent.set(messageId, index);
    }
    await hooks.drain();
    expect(transport.requests).toHaveLength(900);
    const seen = new Map<string, number>();
    for (const request of transport.requests) {
      const envelope = JSON.parse(request.body) as { id: string; data: unknown };
      expect(request.headers['x-webhook-id']).toBe(envelope.id);
      expect(envelope.data).toEqual(registrantData(sent.get(envelope.id)));
      seen.set(envelope.id, (seen.get(envelope.id) ?? 0) + 1);
    }
    expect(seen.size).toBe(300);
    expect([...seen.values()].every((count) => count === 3)).toBe(true);
  });

  for (const [label, unit] of [
    ['ASCII', 'e'],
    ['two-byte', 'é'],
    ['three-byte', '€'],
  ] as const) {
    it(`accepts an envelope of exactly maxPayloadBytes and refuses one byte more (${label} payload)`, async () => {
      // The envelope of a payload whose eventId is empty, measured on a stored message.
      const probe = sender({ transport: recordingTransport() });
      await probe.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hooks' });
      const { messageId } = await probe.send({ tenant: 'acme', type: 'registrant.created', data: { ...registrantData(), eventId: '' } });
      const stored = await probe.messages.get(messageId);
      const base = Buffer.byteLength(serializeEnvelope({ id: messageId, type: 'registrant.created', timestamp: stored.createdAt.toISOString(), data: stored.data }));
      const units = 300;
      const limit = base + units * Buffer.byteLength(unit);
      const hooks = sender({ transport: recordingTransport(), maxPayloadBytes: limit });
      const fits = await hooks.send({ tenant: 'acme', type: 'registrant.created', data: { ...registrantData(), eventId: unit.repeat(units) } });
      expect(fits.deliveryCount).toBe(0);
      const error = await hooks.send({ tenant: 'acme', type: 'registrant.created', data: { ...registrantData(), eventId: `${unit.repeat(units - 1)}${unit}e` } }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'payload_too_large', details: { bytes: limit + 1, limit } });
    });
  }

  it('hands the same attempt and delivery views to attempt.finished and delivery.succeeded', async () => {
    const transport = recordingTransport();
    const hooks = sender({ transport });
    await hooks.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hooks' });
    const finished: Array<SenderEvents['attempt.finished']> = [];
    const succeeded: Array<SenderEvents['delivery.succeeded']> = [];
    hooks.on('attempt.finished', (event) => {
      finished.push(event);
    });
    hooks.on('delivery.succeeded', (event) => {
      succeeded.push(event);
    });
    await hooks.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(4) });
    await hooks.drain();
    expect(finished).toHaveLength(1);
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]?.attempt).toBe(finished[0]?.attempt);
    expect(succeeded[0]?.delivery).toBe(finished[0]?.delivery);
    expect(succeeded[0]?.attempt).toMatchObject({ success: true, statusCode: 200, responseBody: 'ok', responseHeaders: { 'x-answer': 'yes' }, errorCode: null, number: 1 });
    expect(succeeded[0]?.delivery).toMatchObject({ status: 'succeeded', attempts: 1, lastStatus: 200 });
  });

  it('gives delivery.failed listeners full views without an attempt.finished listener, and a listener added by another one gets the event', async () => {
    const transport = recordingTransport(500);
    const hooks = sender({ transport, retry: { jitter: 0, maxAttempts: 1 } });
    await hooks.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hooks' });
    const failed: Array<SenderEvents['delivery.failed']> = [];
    hooks.on('delivery.failed', (event) => {
      failed.push(event);
    });
    await hooks.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(5) });
    await hooks.drain();
    expect(failed).toHaveLength(1);
    expect(failed[0]?.attempt).toMatchObject({ success: false, statusCode: 500, errorCode: 'http_500' });
    expect(failed[0]?.delivery).toMatchObject({ status: 'failed', attempts: 1, lastError: 'http_500' });

    const late: Array<SenderEvents['delivery.failed']> = [];
    const stop = hooks.on('attempt.finished', () => {
      stop();
      hooks.on('delivery.failed', (event) => {
        late.push(event);
      });
    });
    await hooks.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(6) });
    await hooks.drain();
    expect(late).toHaveLength(1);
    expect(failed).toHaveLength(2);
  });
});
