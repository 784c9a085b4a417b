import { createEnvelope, createMessageId, generateSecret, serializeEnvelope, signHeaders } from '@hooks/core';
import type { Job } from 'bullmq';
import { Queue, Worker } from 'bullmq';
import { Agent, request } from 'undici';
import { endpointUrl, examplePayload, peakRssMiB, produce, report, settings } from './shared';

// (d) What a user would write by hand: a BullMQ queue on Redis (one job per message × endpoint),
// a worker at the same concurrency that signs with @hooks/core and POSTs with undici, retrying on failure.

interface DeliveryJob {
  messageId: string;
  url: string;
  body: string;
  secret: string;
}

const connection = { url: settings.redisUrl, maxRetriesPerRequest: null };
const name = `hooks-bench-${process.pid}`;
const queue = new Queue<DeliveryJob>(name, { connection });
const agent = new Agent({ connections: settings.concurrency, keepAliveTimeout: 30_000 });
const endpoints = Array.from({ length: settings.endpoints }, (_, index) => ({ url: endpointUrl(index), secret: generateSecret() }));
const total = settings.messages * settings.endpoints;

let delivered = 0;
let resolveDone: () => void = () => {};
const done = new Promise<void>((resolve) => {
  resolveDone = resolve;
});

const worker = new Worker<DeliveryJob>(
  name,
  async (job: Job<DeliveryJob>) => {
    const headers = await signHeaders({ id: job.data.messageId, timestamp: Math.floor(Date.now() / 1000), payload: job.data.body, secrets: job.data.secret, attempt: job.attemptsMade + 1, profile: 'standard' });
    const response = await request(job.data.url, { dispatcher: agent, method: 'POST', headers, body: job.data.body, headersTimeout: 15_000, bodyTimeout: 15_000 });
    const excerpt = await response.body.text();
    if (response.statusCode < 200 || response.statusCode >= 300) throw new Error(`HTTP ${response.statusCode}`);
    // Keep a small log like the sender does (status and excerpt), stored with the completed job.
    return { status: response.statusCode, excerpt: excerpt.slice(0, 4096) };
  },
  { connection, concurrency: settings.concurrency },
);
worker.on('completed', () => {
  delivered += 1;
  if (delivered === total) resolveDone();
});

await worker.waitUntilReady();
const cpuStarted = process.cpuUsage();
const started = performance.now();
await produce(async (index) => {
  const messageId = createMessageId();
  const body = serializeEnvelope(createEnvelope({ id: messageId, type: 'registrant.created', data: examplePayload(index) }));
  await queue.addBulk(
    endpoints.map((endpoint) => ({ name: 'deliver', data: { messageId, url: endpoint.url, body, secret: endpoint.secret }, opts: { attempts: 8, backoff: { type: 'exponential', delay: 1000 } } })),
  );
});
await done;
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
const processCpuSeconds = (cpu.user + cpu.system) / 1e6;
await worker.close();
await queue.obliterate({ force: true });
await queue.close();
await agent.close();
report({ name: 'BullMQ + undici', deliveries: delivered, seconds, peakRssMiB: peakRssMiB(), extra: { processCpuSeconds } });
