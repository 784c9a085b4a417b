// sender.metrics() over each real storage (memory, SQLite file, PostgreSQL) with real HTTP
// attempts, the Prometheus text format scraped over real HTTP, and the OpenTelemetry instruments
// read through the metrics SDK.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '@hooks/core';
import { metrics } from '@opentelemetry/api';
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from '../src/prometheus';
import { createSender } from '../src/sender';
import { createMemoryStorage } from '../src/storage/memory';
import { createPostgresStorage } from '../src/storage/postgres';
import { createSqliteStorage } from '../src/storage/sqlite';
import type { Storage } from '../src/storage/types';
import { randomSchema } from './cluster-support';
import { storageTestBed } from './storage-test-bed';
import { broadcastEvents, createClock, LOOPBACK_POLICY, registrantData, startReceiver } from './support';

const { directory, pool, schemas } = storageTestBed('hooks-metrics');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const storages: Record<string, () => Promise<Storage>> = {
  memory: async () => createMemoryStorage(),
  sqlite: async () => createSqliteStorage({ filename: join(directory, `metrics-${schemas.length}-${Date.now()}.db`) }),
  postgres: async () => {
    const schema = randomSchema('hooks_metrics');
    schemas.push(schema);
    return createPostgresStorage({ pool, schema });
  },
};

/** A sender over `storage` with two endpoints: one answering 200, one answering 500. */
async function setup(storage: Storage, clock = createClock()) {
  const ok = await startReceiver(() => ({ status: 200 }), clock.now);
  const failing = await startReceiver(() => ({ status: 500 }), clock.now);
  const errors: Array<[unknown, string]> = [];
  const sender = createSender({
    catalog: broadcastEvents,
    storage,
    urlPolicy: LOOPBACK_POLICY,
    retry: { jitter: 0, maxAttempts: 2 },
    now: clock.now,
    logger: silentLogger,
    onError: (error, source) => errors.push([error, source]),
  });
  cleanups.push(
    async () => ok.close(),
    async () => failing.close(),
    async () => {
      await sender.close();
      await storage.close();
    },
  );
  await sender.endpoints.create({ tenant: 'acme', url: ok.url });
  await sender.endpoints.create({ tenant: 'acme', url: failing.url });
  return { sender, clock, ok, failing, errors };
}

describe.each(Object.keys(storages))('sender.metrics() over %s', (kind) => {
  it('counts messages, deliveries and attempts by outcome, times the attempts, and reads the queue from the storage', async () => {
    const storage = await (storages[kind] as () => Promise<Storage>)();
    const { sender, clock, ok, failing } = await setup(storage);
    for (let index = 0; index < 3; index++) await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index), idempotencyKey: `k${index}` });
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(0), idempotencyKey: 'k0' });

    clock.advance(2_500);
    const before = await sender.metrics();
    expect(before).toMatchObject({
      timestamp: clock.now(),
      storage: kind,
      messages: { created: 3, duplicates: 1 },
      deliveriesCreated: 6,
      attempts: { succeeded: 0, failed: 0, givenUp: 0 },
      queue: { due: 6, scheduled: 0, inFlight: 0, oldestDueAgeSeconds: 2.5, countLimit: 100_000 },
      dispatcher: { running: false, inFlight: 0, prefetched: 0 },
    });
    expect((await sender.metrics({ countLimit: 4 })).queue).toMatchObject({ due: 4, countLimit: 4 });

    await sender.drain();
    const middle = await sender.metrics();
    expect(middle.attempts).toEqual({ succeeded: 3, failed: 3, givenUp: 0 });
    // The failed ones wait 12 s for their retry.
    expect(middle.queue).toEqual({ due: 0, scheduled: 3, inFlight: 0, oldestDueAgeSeconds: null, countLimit: 100_000 });

    clock.advance(12_000);
    await sender.drain();
    const after = await sender.metrics();
    expect(after.attempts).toEqual({ succeeded: 3, failed: 3, givenUp: 3 });
    expect(after.queue).toMatchObject({ due: 0, scheduled: 0, inFlight: 0, oldestDueAgeSeconds: null });
    expect(ok.requests).toHaveLength(3);
    expect(failing.requests).toHaveLength(6);

    const { attemptDuration } = after;
    expect(attemptDuration.count).toBe(9);
    expect(attemptDuration.sum).toBeGreaterThan(0);
    expect(attemptDuration.buckets.map((bucket) => bucket.le)).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30]);
    const counts = attemptDuration.buckets.map((bucket) => bucket.count);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    // Loopback attempts of a test all finish well within the 15 s timeout.
    expect(attemptDuration.buckets.find((bucket) => bucket.le === 15)?.count).toBe(9);
  });
});

/** Parses a Prometheus text body into `name{labels}` → value, checking every family has HELP and TYPE first. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.trimEnd().split('\n')) {
    const type = /^# TYPE (\w+) (counter|gauge|histogram)$/.exec(line);
    if (type) {
      typed.add(type[1] as string);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const sample = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const family = (sample[1] as string).replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(sample[1] as string) && !typed.has(family)) throw new Error(`sample before its TYPE: ${line}`);
    samples.set(`${sample[1]}${sample[2] ?? ''}`, sample[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(sample[3]));
  }
  return samples;
}

describe('a Prometheus scrape over real HTTP', () => {
  it('serves the snapshot in the text format, with extra labels escaped', async () => {
    const { sender, clock } = await setup(createSqliteStorage({ filename: join(directory, 'scrape.db') }));
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await sender.drain();
    clock.advance(1_000);
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(1) });
    clock.advance(3_000);
    const server: Server = createServer(async (request, response) => {
      if (request.url !== '/metrics') return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(formatPrometheus(await sender.metrics(), { labels: { service: 'billing "eu"\\1' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const samples = parsePrometheus(await response.text());
    const labels = 'storage="sqlite",service="billing \\"eu\\"\\\\1"';
    expect(samples.get(`hooks_sender_messages_total{${labels},result="created"}`)).toBe(2);
    expect(samples.get(`hooks_sender_deliveries_created_total{${labels}}`)).toBe(4);
    expect(samples.get(`hooks_sender_attempts_total{${labels},outcome="succeeded"}`)).toBe(1);
    expect(samples.get(`hooks_sender_attempts_total{${labels},outcome="failed"}`)).toBe(1);
    expect(samples.get(`hooks_sender_attempts_total{${labels},outcome="given_up"}`)).toBe(0);
    expect(samples.get(`hooks_sender_attempt_duration_seconds_bucket{${labels},le="+Inf"}`)).toBe(2);
    expect(samples.get(`hooks_sender_attempt_duration_seconds_count{${labels}}`)).toBe(2);
    expect(samples.get(`hooks_sender_attempt_duration_seconds_bucket{${labels},le="0.005"}`)).toBeLessThanOrEqual(2);
    expect(samples.get(`hooks_sender_queue_up{${labels}}`)).toBe(1);
    expect(samples.get(`hooks_sender_queue_deliveries{${labels},state="due"}`)).toBe(2);
    expect(samples.get(`hooks_sender_queue_deliveries{${labels},state="scheduled"}`)).toBe(1);
    expect(samples.get(`hooks_sender_queue_deliveries{${labels},state="in_flight"}`)).toBe(0);
    expect(samples.get(`hooks_sender_queue_oldest_due_age_seconds{${labels}}`)).toBe(3);
    expect(samples.get(`hooks_sender_dispatcher_in_flight{${labels}}`)).toBe(0);
  });

  it('refuses unusable label names with invalid_option', async () => {
    const { sender } = await setup(createMemoryStorage());
    const snapshot = await sender.metrics();
    for (const name of ['9x', 'a-b', '__reserved', 'le', '']) {
      expect(() => formatPrometheus(snapshot, { labels: { [name]: 'x' } })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    }
    expect(() => formatPrometheus(snapshot, { labels: { service: 1 as never } })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    await expect(sender.metrics({ countLimit: 0 })).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'countLimit' } });
  });

  it('still answers when the storage fails: counters as they are, the queue null (queue_up 0), the error to onError', async () => {
    const storage = createSqliteStorage({ filename: join(directory, 'broken.db') });
    const { sender, errors } = await setup(storage);
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await storage.close();
    const snapshot = await sender.metrics();
    expect(snapshot).toMatchObject({ messages: { created: 1 }, queue: null });
    expect(errors.map(([error, source]) => [(error as { code?: string }).code, source])).toEqual([['storage_error', 'metrics']]);
    const samples = parsePrometheus(formatPrometheus(snapshot));
    expect(samples.get('hooks_sender_queue_up{storage="sqlite"}')).toBe(0);
    expect([...samples.keys()].some((key) => key.startsWith('hooks_sender_queue_deliveries'))).toBe(false);
  });
});

/** A reader the test collects from on demand. */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

describe('OpenTelemetry metrics', () => {
  it('reports counters, the attempt histogram and the queue gauges through a MeterProvider registered after the sender was created', async () => {
    const { sender, clock } = await setup(createMemoryStorage());
    // send() waits for the optional API to load: the sender has looked for a MeterProvider and found none.
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    cleanups.push(async () => {
      metrics.disable();
      await provider.shutdown();
    });
    // Picked up at the next snapshot (or start(), or an attempt a while later).
    await sender.metrics();
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(1) });
    await sender.drain();
    clock.advance(20_000);
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(2) });
    clock.advance(1_500);

    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const all = resourceMetrics.scopeMetrics.filter((scope) => scope.scope.name === '@hooks/sender').flatMap((scope) => scope.metrics);
    const points = (name: string) => (all.find((metric) => metric.descriptor.name === name)?.dataPoints ?? []) as Array<DataPoint<unknown>>;
    const value = (name: string, attributes: Record<string, string>) => points(name).find((point) => Object.entries(attributes).every(([key, expected]) => point.attributes[key] === expected))?.value;

    expect(value('hooks.sender.messages', { storage: 'memory', result: 'created' })).toBe(3);
    expect(value('hooks.sender.deliveries.created', { storage: 'memory' })).toBe(6);
    expect(value('hooks.sender.attempts', { outcome: 'succeeded' })).toBe(2);
    expect(value('hooks.sender.attempts', { outcome: 'failed' })).toBe(2);
    expect(value('hooks.sender.attempts', { outcome: 'given_up' })).toBe(0);
    const histogram = value('hooks.sender.attempt.duration', { storage: 'memory' }) as Histogram;
    expect(histogram.count).toBe(4);
    expect(histogram.buckets.boundaries).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30]);
    // The two failed ones are due again (12 s later), the new message's two are due too.
    expect(value('hooks.sender.queue.deliveries', { state: 'due' })).toBe(4);
    expect(value('hooks.sender.queue.deliveries', { state: 'scheduled' })).toBe(0);
    expect(value('hooks.sender.queue.oldest_due_age', { storage: 'memory' })).toBeCloseTo(21.5 - 12, 1);
    expect(value('hooks.sender.queue.up', { storage: 'memory' })).toBe(1);
    expect(value('hooks.sender.dispatcher.in_flight', { storage: 'memory' })).toBe(0);
  });
});
