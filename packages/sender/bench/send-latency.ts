import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createSender } from '../src/index';
import { endpointUrl, examplePayload, peakRssMiB, report } from './shared';

// send() latency to a tenant with 100 endpoints on SQLite: validation, one message and 100
// deliveries written in one transaction. The dispatcher is not started, so this is the
// cost the host app's request handler pays.

const endpoints = 100;
const sends = Number(process.env.BENCH_SENDS ?? 1000);
const directory = mkdtempSync(join(tmpdir(), 'hooks-bench-'));
const sender = createSender({ catalog: broadcastEvents, database: join(directory, 'hooks.db'), urlPolicy: { allowHttp: true, allow: ['loopback'] } });
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
rmSync(directory, { recursive: true, force: true });
if (deliveries !== sends * endpoints) throw new Error(`expected ${sends * endpoints} deliveries, got ${deliveries}`);
report({ name: 'send() latency', deliveries: sends, seconds: timings.reduce((a, b) => a + b, 0) / 1000, peakRssMiB: peakRssMiB(), extra: { endpoints, p50: percentile(50), p99: percentile(99), max: timings.at(-1) ?? Number.NaN } });
