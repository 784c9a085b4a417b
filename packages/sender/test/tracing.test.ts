// OpenTelemetry across the wire: a sender (memory storage, its real undici transport) posting to a
// real loopback receiver built with core's receiver over node:http, with an SDK registered the
// way an application registers it. One trace runs from `hooks.send` through each `hooks.attempt`
// to the receiver's `hooks.receive`.
import { execFile } from 'node:child_process';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type Receiver, createReceiver, silentLogger } from '@hooks/core';
import { loadTracing } from '@hooks/core/internal';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSender } from '../src/sender';
import { createMemoryStorage } from '../src/storage/memory';
import { exporter, installTracing, spanById, spansNamed } from './otel-support';
import { LOOPBACK_POLICY, broadcastEvents, createClock, registrantData } from './support';

const CLIENT = 2;
const PRODUCER = 3;
const CONSUMER = 4;
const ERROR = 2;

let server: Server;
let url = '';
let receiver: Receiver<typeof broadcastEvents> | undefined;
// The first handler calls to fail (the receiver answers 500, the sender retries).
let failures = 0;
const handled: string[] = [];
let lastHeaders: Record<string, unknown> = {};

beforeAll(async () => {
  installTracing();
  expect(await loadTracing()).toBe(true);
  server = createServer(async (request, response) => {
    lastHeaders = request.headers;
    if (!receiver) return void response.writeHead(503).end();
    const result = await receiver.handleStream({ body: request, headers: request.headers, contentLength: request.headers['content-length'], method: request.method });
    response.writeHead(result.status, result.headers).end(result.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/in?token=s3cr3t`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  exporter.reset();
  failures = 0;
  handled.length = 0;
});

const clock = createClock(Date.now());
const senders: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const sender of senders.splice(0)) await sender.close();
});

/** A sender whose endpoint posts to the loopback receiver; the receiver checks that endpoint's secret. */
async function setup() {
  const sender = createSender({ catalog: broadcastEvents, storage: createMemoryStorage(), urlPolicy: LOOPBACK_POLICY, retry: { jitter: 0 }, now: clock.now, logger: silentLogger });
  senders.push(sender);
  const { endpoint, secret } = await sender.endpoints.create({ tenant: 'acme', url });
  receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, logger: silentLogger, now: clock.now }).on('registrant.created', (event) => {
    if (failures > 0) {
      failures--;
      throw new Error('receiver handler failed on purpose');
    }
    handled.push(event.id);
  });
  return { sender, endpoint };
}

function traceIdOf(span: ReadableSpan | undefined): string | undefined {
  return span?.spanContext().traceId;
}

describe('tracing from send() to the receiver', () => {
  it('puts send, every attempt and every receive in one trace: attempts are children of the send, receives of their attempt', async () => {
    const { sender, endpoint } = await setup();
    failures = 1;
    const { messageId } = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(1) });
    await sender.drain();
    clock.advance(12_000);
    await sender.drain();
    expect(handled).toEqual([messageId]);

    const [send] = spansNamed('hooks.send');
    const attempts = spansNamed('hooks.attempt');
    const receives = spansNamed('hooks.receive');
    expect(send?.kind).toBe(PRODUCER);
    expect(send?.attributes).toMatchObject({ 'webhook.tenant': 'acme', 'webhook.type': 'registrant.created', 'webhook.id': messageId, 'webhook.delivery_count': 1, 'webhook.duplicate': false });
    expect(send?.parentSpanContext).toBeUndefined();
    expect(attempts).toHaveLength(2);
    expect(receives).toHaveLength(2);

    const traceId = traceIdOf(send);
    for (const span of [...attempts, ...receives]) expect(traceIdOf(span)).toBe(traceId);
    for (const attempt of attempts) {
      expect(attempt.kind).toBe(CLIENT);
      expect(attempt.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
    }
    // Each receive continues the traceparent its own attempt sent.
    receives.forEach((receive, index) => {
      expect(receive.kind).toBe(CONSUMER);
      expect(receive.parentSpanContext?.spanId).toBe(attempts[index]?.spanContext().spanId);
      expect(receive.attributes['webhook.attempt']).toBe(index + 1);
    });

    const { port } = server.address() as AddressInfo;
    const delivery = (await sender.deliveries.list({ messageId })).items[0];
    expect(attempts[0]?.attributes).toMatchObject({
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'server.port': port,
      'url.scheme': 'http',
      'webhook.id': messageId,
      'webhook.type': 'registrant.created',
      'webhook.attempt': 1,
      'webhook.outcome': 'failed',
      'webhook.delivery.id': delivery?.id,
      'webhook.endpoint.id': endpoint.id,
      'http.response.status_code': 500,
      'error.type': 'http_500',
    });
    expect(attempts[0]?.status.code).toBe(ERROR);
    expect(attempts[1]?.attributes).toMatchObject({ 'webhook.attempt': 2, 'webhook.outcome': 'succeeded', 'http.response.status_code': 200 });
    expect(attempts[1]?.attributes['error.type']).toBeUndefined();
    expect(attempts[1]?.status.code).not.toBe(ERROR);
    // The endpoint URL's path and query (a token, here) appear in no attribute of any span.
    for (const span of exporter.getFinishedSpans()) {
      expect(JSON.stringify(span.attributes)).not.toMatch(/s3cr3t|\/hooks\/in/);
    }

    // The stored context is the send span's: every later attempt, in any process, continues it.
    const stored = JSON.parse((await sender.storage.getMessage(messageId))?.traceContext ?? 'null');
    expect(stored).toEqual({ traceparent: `00-${traceId}-${send?.spanContext().spanId}-01` });
  });

  it("parents the send under the caller's active span, and never an attempt under whatever span runs the dispatcher", async () => {
    const { sender } = await setup();
    const tracer = trace.getTracer('app');
    const { messageId } = await tracer.startActiveSpan('app.request', async (span) => {
      try {
        return await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(2) });
      } finally {
        span.end();
      }
    });
    // drain() called inside an unrelated span (a cron job, a test): the attempt still belongs to the send.
    await tracer.startActiveSpan('app.cron', async (span) => {
      try {
        await sender.drain();
      } finally {
        span.end();
      }
    });
    expect(handled).toEqual([messageId]);
    const [request] = spansNamed('app.request');
    const [send] = spansNamed('hooks.send');
    const [attempt] = spansNamed('hooks.attempt');
    const [receive] = spansNamed('hooks.receive');
    expect(send?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(attempt?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
    expect(traceIdOf(attempt)).toBe(traceIdOf(request));
    expect(traceIdOf(attempt)).not.toBe(traceIdOf(spansNamed('app.cron')[0]));
    expect(receive?.parentSpanContext?.spanId).toBe(attempt?.spanContext().spanId);
  });

  it('keeps a traceContext given to send() as it is, and parents the attempts under it', async () => {
    const { sender } = await setup();
    const given = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'rojo=00f067aa0ba902b7' };
    const { messageId } = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(3), traceContext: given });
    await sender.drain();
    expect(JSON.parse((await sender.storage.getMessage(messageId))?.traceContext ?? 'null')).toEqual(given);
    const [send] = spansNamed('hooks.send');
    const [attempt] = spansNamed('hooks.attempt');
    const [receive] = spansNamed('hooks.receive');
    expect(send?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(attempt?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(traceIdOf(attempt)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    // The receiver continues the attempt; the caller's tracestate goes along with it.
    expect(receive?.parentSpanContext?.spanId).toBe(attempt?.spanContext().spanId);
    expect(lastHeaders).toMatchObject({ traceparent: `00-4bf92f3577b34da6a3ce929d0e0e4736-${attempt?.spanContext().spanId}-01`, tracestate: 'rojo=00f067aa0ba902b7' });
  });

  it('gives sendMany one hooks.send_many span with a hooks.send per message, each message carrying its own', async () => {
    const { sender } = await setup();
    const results = await sender.sendMany([
      { tenant: 'acme', type: 'registrant.created', data: registrantData(4) },
      { tenant: 'acme', type: 'registrant.created', data: registrantData(5) },
    ]);
    await sender.drain();
    const [batch] = spansNamed('hooks.send_many');
    const sends = spansNamed('hooks.send');
    expect(batch?.attributes).toMatchObject({ 'webhook.message_count': 2 });
    expect(sends.map((span) => span.attributes['webhook.id'])).toEqual(results.map((result) => result.messageId));
    for (const send of sends) expect(send.parentSpanContext?.spanId).toBe(batch?.spanContext().spanId);
    for (const attempt of spansNamed('hooks.attempt')) {
      const parent = spanById(attempt.parentSpanContext?.spanId);
      expect(parent?.name).toBe('hooks.send');
      expect(parent?.attributes['webhook.id']).toBe(attempt.attributes['webhook.id']);
    }
    expect(spansNamed('hooks.receive')).toHaveLength(2);
  });

  it('marks a duplicate send, and a refused one failed with its code and without its payload', async () => {
    const { sender } = await setup();
    const first = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(6), idempotencyKey: 'k-1' });
    const again = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(6), idempotencyKey: 'k-1' });
    expect(again).toMatchObject({ messageId: first.messageId, duplicate: true });
    expect(spansNamed('hooks.send').map((span) => span.attributes['webhook.duplicate'])).toEqual([false, true]);

    exporter.reset();
    const secretish = 'not-an-email-but-private@@';
    await expect(
      sender.send({ tenant: 'acme', type: 'registrant.created', data: { ...registrantData(7), registrant: { ...registrantData(7).registrant, email: secretish } } }),
    ).rejects.toMatchObject({ code: 'invalid_payload' });
    const [refused] = spansNamed('hooks.send');
    expect(refused?.status).toMatchObject({ code: ERROR, message: 'invalid_payload' });
    expect(refused?.attributes['error.type']).toBe('invalid_payload');
    expect(JSON.stringify({ attributes: refused?.attributes, events: refused?.events })).not.toContain(secretish);
  });

  it('traces a test send like a send', async () => {
    const { sender, endpoint } = await setup();
    const { messageId } = await sender.sendTest(endpoint.id, 'registrant.created');
    await sender.drain();
    const [send] = spansNamed('hooks.send');
    const [attempt] = spansNamed('hooks.attempt');
    expect(send?.attributes).toMatchObject({ 'webhook.id': messageId, 'webhook.test': true });
    expect(attempt?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
    expect(spansNamed('hooks.receive')[0]?.parentSpanContext?.spanId).toBe(attempt?.spanContext().spanId);
  });
});

describe('without @opentelemetry/api', () => {
  it('sends, dispatches and counts when the package cannot be resolved, passing a given traceparent through as it is', async () => {
    const script = fileURLToPath(new URL('./fixtures/no-otel-sender.ts', import.meta.url));
    const blocker = new URL('./fixtures/block-otel.mjs', import.meta.url).href;
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=dev-source', '--import', 'tsx', '--import', blocker, script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    const result = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(result).toEqual({ otelResolvable: false, tracing: false, received: expect.any(Array), succeeded: 2, scrape: true });
    expect([...result.received].sort()).toEqual(['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', null].sort());
  });
});
