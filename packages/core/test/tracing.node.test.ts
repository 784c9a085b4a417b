import { execFile } from 'node:child_process';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReceiver, generateSecret, signHeaders } from '../src/index';
import { activeTraceparent, formatTraceparent, loadTracing, parseTraceparent, startSpan } from '../src/internal';
import { exporter, installTracing, spansNamed } from './otel-support';
import { broadcastEvents, registrantData } from './support';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

beforeAll(async () => {
  installTracing();
  expect(await loadTracing()).toBe(true);
});
beforeEach(() => exporter.reset());

describe('traceparent helpers', () => {
  it('parses a valid traceparent and formats it back', () => {
    expect(parseTraceparent(TRACEPARENT)).toEqual({ traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 1 });
    expect(formatTraceparent(parseTraceparent(TRACEPARENT)!)).toBe(TRACEPARENT);
    // A future version may append fields; they are ignored.
    expect(parseTraceparent(`01-${TRACE_ID}-${PARENT_ID}-00-extra`)).toMatchObject({ traceId: TRACE_ID, traceFlags: 0 });
  });

  it.each([
    ['empty', ''],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`],
    ['all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`],
    ['upper case', TRACEPARENT.toUpperCase()],
    ['version 00 with extra fields', `${TRACEPARENT}-x`],
    ['short trace id', `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`],
    ['garbage', 'not a traceparent'],
  ])('ignores a traceparent that is %s', (_label, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('starts a span as child of a given traceparent, and exposes its own for outgoing requests', () => {
    const span = startSpan('hooks.test', { kind: 'producer', traceparent: TRACEPARENT, attributes: { 'webhook.id': 'msg_1', skipped: undefined } })!;
    const inside = span.run(() => activeTraceparent());
    expect(inside).toBe(span.traceparent());
    span.end();
    span.end();
    const [finished] = spansNamed('hooks.test');
    expect(finished!.spanContext().traceId).toBe(TRACE_ID);
    expect(finished!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(finished!.attributes).toEqual({ 'webhook.id': 'msg_1' });
    expect(inside).toBe(`00-${TRACE_ID}-${finished!.spanContext().spanId}-01`);
    expect(activeTraceparent()).toBeUndefined();
  });

  it('prefers the active span over a traceparent (an HTTP instrumentation already continued it)', () => {
    const outer = startSpan('hooks.outer')!;
    outer.run(() => startSpan('hooks.inner', { traceparent: TRACEPARENT })!.end());
    outer.end();
    const [inner] = spansNamed('hooks.inner');
    const [parent] = spansNamed('hooks.outer');
    expect(inner!.parentSpanContext?.spanId).toBe(parent!.spanContext().spanId);
    expect(inner!.spanContext().traceId).not.toBe(TRACE_ID);
  });
});

describe('a span per receive, over real HTTP', () => {
  const secret = generateSecret();
  const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, logger: { info() {}, warn() {}, error() {} } });
  let handlerTraceparent: string | undefined;
  receiver.on('registrant.created', (event) => {
    handlerTraceparent = activeTraceparent();
    // A handler's own spans are children of the receive span.
    trace.getTracer('app').startSpan('app.work').end();
    if (event.data.utmSource === 'fail') throw new Error('handler failed on purpose');
  });
  let server: Server;
  let url = '';

  beforeAll(async () => {
    server = createServer(async (request, response) => {
      const result = await receiver.handleStream({ body: request, headers: request.headers, contentLength: request.headers['content-length'], method: request.method });
      response.writeHead(result.status, result.headers).end(result.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function post(utmSource: string | null, extra: Record<string, string> = {}, tamper = false) {
    const id = `msg_${Math.random().toString(36).slice(2)}`;
    const body = JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data: registrantData({ utmSource }) });
    const headers = { ...(await signHeaders({ id, timestamp: new Date(), payload: body, secrets: secret, eventType: 'registrant.created', attempt: 2 })), ...extra };
    const response = await fetch(url, { method: 'POST', body: tamper ? body.replace('Ada', 'Eve') : body, headers });
    return { id, status: response.status };
  }

  it('continues the sender trace from traceparent, with id, type, attempt, outcome and status', async () => {
    const { id, status } = await post(null, { traceparent: TRACEPARENT });
    expect(status).toBe(200);
    const [span] = spansNamed('hooks.receive');
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(span!.attributes).toMatchObject({ 'webhook.id': id, 'webhook.type': 'registrant.created', 'webhook.attempt': 2, 'webhook.outcome': 'handled', 'http.response.status_code': 200 });
    expect(span!.status.code).toBe(0);
    const [work] = spansNamed('app.work');
    expect(work!.parentSpanContext?.spanId).toBe(span!.spanContext().spanId);
    expect(handlerTraceparent).toBe(`00-${TRACE_ID}-${span!.spanContext().spanId}-01`);
  });

  it('starts a new trace without traceparent', async () => {
    await post(null);
    const [span] = spansNamed('hooks.receive');
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.spanContext().traceId).not.toBe(TRACE_ID);
  });

  it('records a rejection with its code and status, without failing the span', async () => {
    const { status } = await post(null, { traceparent: TRACEPARENT }, true);
    expect(status).toBe(401);
    const [span] = spansNamed('hooks.receive');
    expect(span!.attributes).toMatchObject({ 'webhook.outcome': 'rejected', 'webhook.error.code': 'invalid_signature', 'http.response.status_code': 401 });
    expect(span!.attributes['webhook.id']).toBeUndefined();
  });

  it('marks the span failed when the handler throws, with the exception recorded', async () => {
    const { id, status } = await post('fail');
    expect(status).toBe(500);
    const [span] = spansNamed('hooks.receive');
    expect(span!.attributes).toMatchObject({ 'webhook.id': id, 'webhook.outcome': 'handler_error', 'http.response.status_code': 500 });
    expect(span!.status.code).toBe(2);
    expect(span!.events.map((event) => event.name)).toContain('exception');
  });
});

describe('without @opentelemetry/api', () => {
  it('core loads and receives when the package cannot be resolved (as on a runtime without it)', async () => {
    const script = fileURLToPath(new URL('./fixtures/no-otel-receiver.ts', import.meta.url));
    const blocker = new URL('./fixtures/block-otel.mjs', import.meta.url).href;
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=dev-source', '--import', 'tsx', '--import', blocker, script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ otelResolvable: false, tracing: false, status: 200, handled: 1 });
  });
});
