import { createEnvelope, createMessageId, serializeEnvelope } from '@hooks/core';
import { Agent, request } from 'undici';
import { endpointUrl, examplePayload, peakRssMiB, report, settings } from './shared';

// (c) The physical limit: a bare undici POST loop at the same concurrency, no queue, no log, no signature.

const agent = new Agent({ connections: settings.concurrency, keepAliveTimeout: 30_000 });
const total = settings.messages * settings.endpoints;
const bodies = Array.from({ length: settings.messages }, (_, index) => {
  const id = createMessageId();
  return { id, body: serializeEnvelope(createEnvelope({ id, type: 'registrant.created', data: examplePayload(index) })) };
});
const urls = Array.from({ length: settings.endpoints }, (_, index) => new URL(endpointUrl(index)));

let next = 0;
let delivered = 0;
async function worker(): Promise<void> {
  for (;;) {
    const index = next;
    next += 1;
    if (index >= total) return;
    const message = bodies[Math.floor(index / settings.endpoints)];
    const url = urls[index % settings.endpoints];
    if (!message || !url) return;
    const response = await request(url, { dispatcher: agent, method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': message.id }, body: message.body });
    await response.body.dump();
    if (response.statusCode >= 200 && response.statusCode < 300) delivered += 1;
  }
}

const cpuStarted = process.cpuUsage();
const started = performance.now();
await Promise.all(Array.from({ length: settings.concurrency }, worker));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
const processCpuSeconds = (cpu.user + cpu.system) / 1e6;
await agent.close();
report({ name: 'raw undici loop', deliveries: delivered, seconds, peakRssMiB: peakRssMiB(), extra: { processCpuSeconds } });
