import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createPostgresStorage, createSender } from '../src/index';
import { benchDatabaseUrl, benchSchema, dropBenchSchema, ensureBenchDatabase } from './postgres';
import { endpointUrl, examplePayload, peakRssMiB, report } from './shared';

// send() latency to a tenant with 100 endpoints (SQLite, or PostgreSQL with BENCH_STORAGE=postgres):
// validation, one message and 100 deliveries written in one transaction (one multi-row insert).
// The dispatcher is not started, so this is the cost the host app's request handler pays.
// Sends are awaited one at a time: no group commit helps here.

const endpoints = 100;
const sends = Number(process.env.BENCH_SENDS ?? 1000);
const kind = process.env.BENCH_STORAGE === 'postgres' ? 'postgres' : 'sqlite';
const directory = mkdtempSync(join(tmpdir(), 'hooks-bench-'));
const schema = benchSchema('hooks_bench_latency');
if (kind === 'postgres') await ensureBenchDatabase();
const storage = kind === 'postgres' ? createPostgresStorage({ connectionString: benchDatabaseUrl(), schema }) : undefined;
const sender = createSender({
  catalog: broadcastEvents,
  ...(storage ? { storage } : { database: join(directory, 'hooks.db') }),
  urlPolicy: { allowHttp: true, allow: ['loopback'] },
  logger: { info() {}, warn() {}, error() {} },
});
const tenant = 'tenant_latency';
for (let index = 0; index < endpoints; index += 1) await sender.endpoints.create({ tenant, url: endpointUrl(index % 10) });

// Warm up the statement cache and the JIT.
for (let index = 0; index < 50; index += 1) await sender.send({ tenant, type: 'registrant.created', data: examplePayload(index) });

const timings: number[] = [];
let deliveries = 0;
for (let index = 0; index < sends; index += 1) {
  const started = performance.now();
  const result = await sender.send({ tenant, type: 'registrant.created', data: examplePayload(index) });
  timings.push(performance.now() - started);
  deliveries += result.deliveryCount;
}
timings.sort((a, b) => a - b);
const percentile = (p: number) => timings[Math.min(timings.length - 1, Math.floor((p / 100) * timings.length))] ?? Number.NaN;
await sender.close();
if (storage) {
  await storage.close();
  await dropBenchSchema(schema);
}
rmSync(directory, { recursive: true, force: true });
if (deliveries !== sends * endpoints) throw new Error(`expected ${sends * endpoints} deliveries, got ${deliveries}`);
report({
  name: `send() latency (${kind})`,
  deliveries: sends,
  seconds: timings.reduce((a, b) => a + b, 0) / 1000,
  peakRssMiB: peakRssMiB(),
  extra: { endpoints, p50: percentile(50), p99: percentile(99), max: timings.at(-1) ?? Number.NaN },
});
