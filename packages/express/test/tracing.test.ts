// OpenTelemetry through the Express adapter, over real HTTP: an SDK wired as an application wires
// it (global provider with an in-memory exporter, AsyncLocalStorage context manager), a sender's
// traceparent on the request, and the handler's own span.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { generateSecret } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jsonParser, webhooks } from '../src/index';
import { listen } from './listen';
import { type MatrixTarget, registrantCreated, signedHeaders } from './receiver-matrix';

const exporter = new InMemorySpanExporter();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SENDER_SPAN = '00f067aa0ba902b7';

describe('express: a hooks.receive span per delivery', () => {
  const secret = generateSecret();
  let target: MatrixTarget;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const app = express();
    app.use(jsonParser());
    app.post(
      '/webhooks',
      webhooks({ catalog: broadcastEvents, secrets: secret, logger: { info() {}, warn() {}, error() {} } }).on('registrant.created', async (event) => {
        await trace.getTracer('app').startActiveSpan('crm.upsert', async (span) => {
          span.end();
        });
        if (event.data.utmSource === 'fail') throw new Error('handler failed on purpose');
      }),
    );
    target = await listen(app);
  });
  afterAll(async () => {
    await target.close();
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  const spans = (name: string) => exporter.getFinishedSpans().filter((span) => span.name === name);

  it('continues the sender trace from traceparent and parents the handler spans', async () => {
    const { id, body } = registrantCreated();
    const headers = { ...(await signedHeaders(id, body, secret, { attempt: 3 })), traceparent: `00-${TRACE_ID}-${SENDER_SPAN}-01` };
    const response = await fetch(`${target.url}/webhooks`, { method: 'POST', body, headers });
    expect(response.status).toBe(200);
    const [receive] = spans('hooks.receive');
    expect(receive!.spanContext().traceId).toBe(TRACE_ID);
    expect(receive!.parentSpanContext?.spanId).toBe(SENDER_SPAN);
    expect(receive!.kind).toBe(4);
    expect(receive!.attributes).toMatchObject({
      'webhook.id': id,
      'webhook.type': 'registrant.created',
      'webhook.attempt': 3,
      'webhook.outcome': 'handled',
      'http.response.status_code': 200,
    });
    const [upsert] = spans('crm.upsert');
    expect(upsert!.spanContext().traceId).toBe(TRACE_ID);
    expect(upsert!.parentSpanContext?.spanId).toBe(receive!.spanContext().spanId);
  });

  it('records duplicates and handler failures with their outcome and status', async () => {
    const { id, body } = registrantCreated();
    for (let attempt = 1; attempt <= 2; attempt++) {
      await fetch(`${target.url}/webhooks`, { method: 'POST', body, headers: await signedHeaders(id, body, secret, { attempt }) });
    }
    expect(spans('hooks.receive').map((span) => span.attributes['webhook.outcome'])).toEqual(['handled', 'duplicate']);

    exporter.reset();
    const failing = registrantCreated(undefined, { utmSource: 'fail' });
    const response = await fetch(`${target.url}/webhooks`, { method: 'POST', body: failing.body, headers: await signedHeaders(failing.id, failing.body, secret) });
    expect(response.status).toBe(500);
    const [receive] = spans('hooks.receive');
    expect(receive!.attributes).toMatchObject({ 'webhook.outcome': 'handler_error', 'http.response.status_code': 500 });
    expect(receive!.status.code).toBe(2);
  });

  it('records a bad signature as rejected, with its code', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${target.url}/webhooks`, { method: 'POST', body: body.replace('Ada', 'Eve'), headers: await signedHeaders(id, body, secret) });
    expect(response.status).toBe(401);
    const [receive] = spans('hooks.receive');
    expect(receive!.attributes).toMatchObject({ 'webhook.outcome': 'rejected', 'webhook.error.code': 'invalid_signature', 'http.response.status_code': 401 });
  });
});
