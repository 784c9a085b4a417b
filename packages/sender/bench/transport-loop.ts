import { createEnvelope, createMessageId, serializeEnvelope } from '@hooks/core';
import { createTransport } from '../src/index';
import { endpointUrl, examplePayload, peakRssMiB, report, settings } from './shared';

// (c′) The raw loop of raw-undici.ts, but through @hooks/sender's transport (URL policy, connect-time
// address check, timeout, capped excerpt): separates the transport's cost from the queue's.

const urlPolicy = { allowHttp: true, allow: ['loopback'] } as const;
const transport = createTransport({ urlPolicy, connectionsPerOrigin: settings.concurrency });
const total = settings.messages * settings.endpoints;
const bodies = Array.from({ length: settings.messages }, (_, index) => {
  const id = createMessageId();
  return { id, body: serializeEnvelope(createEnvelope({ id, type: 'registrant.created', data: examplePayload(index) })) };
});
const urls = Array.from({ length: settings.endpoints }, (_, index) => endpointUrl(index));

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
    const response = await transport.send({ url, headers: { 'content-type': 'application/json', 'webhook-id': message.id }, body: message.body, timeoutMs: 15_000 });
    if (response.status >= 200 && response.status < 300) delivered += 1;
  }
}

const cpuStarted = process.cpuUsage();
const started = performance.now();
await Promise.all(Array.from({ length: settings.concurrency }, worker));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
const processCpuSeconds = (cpu.user + cpu.system) / 1e6;
await transport.close();
report({ name: 'transport loop (c′)', deliveries: delivered, seconds, peakRssMiB: peakRssMiB(), extra: { processCpuSeconds } });
