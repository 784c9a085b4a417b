import { createEnvelope, createMessageId, generateSecret, serializeEnvelope, signHeaders } from '@hooks/core';
import PgBoss from 'pg-boss';
import { Agent, request } from 'undici';
import { benchDatabaseUrl, benchSchema, committedTransactions, dropBenchSchema, ensureBenchDatabase, postgresCpuSeconds, statisticsSettled } from './postgres';
import { endpointUrl, examplePayload, peakRssMiB, produce, report, settings } from './shared';

// What a user would write with pg-boss for throughput: one job per message × endpoint (insert
// per message), jobs fetched in batches, each signed with @hooks/core and POSTed with undici,
// and the batch completed with one call.

interface DeliveryJob {
  messageId: string;
  url: string;
  body: string;
  secret: string;
}

await ensureBenchDatabase();
const schema = benchSchema('pgboss_bench');
const boss = new PgBoss({ connectionString: benchDatabaseUrl(), schema, max: 10, supervise: false, schedule: false });
boss.on('error', (error) => process.stderr.write(`pg-boss: ${error.message}\n`));
await boss.start();
const queue = 'deliver';
await boss.createQueue(queue);
const agent = new Agent({ connections: settings.concurrency, keepAliveTimeout: 30_000 });
const endpoints = Array.from({ length: settings.endpoints }, (_, index) => ({ url: endpointUrl(index), secret: generateSecret() }));
const total = settings.messages * settings.endpoints;

let delivered = 0;
let resolveDone: () => void = () => {};
const done = new Promise<void>((resolve) => {
  resolveDone = resolve;
});

async function deliver(job: DeliveryJob, attempt: number): Promise<void> {
  const headers = await signHeaders({ id: job.messageId, timestamp: Math.floor(Date.now() / 1000), payload: job.body, secrets: job.secret, attempt, profile: 'standard' });
  const response = await request(job.url, { dispatcher: agent, method: 'POST', headers, body: job.body, headersTimeout: 15_000, bodyTimeout: 15_000 });
  await response.body.text();
  if (response.statusCode < 200 || response.statusCode >= 300) throw new Error(`HTTP ${response.statusCode}`);
  delivered += 1;
  if (delivered === total) resolveDone();
}

// Batch fetch: two loops, each fetching up to half the concurrency per round trip, running the
// batch at once and completing it with one call (failures: one fail call). pg-boss's own
// work() loop sleeps up to its polling interval (0.5 s at least) between batches, which would
// measure that sleep, not the queue.
let stopping = false;
async function workLoop(batchSize: number): Promise<void> {
  while (!stopping) {
    const jobs = await boss.fetch<DeliveryJob>(queue, { batchSize, includeMetadata: true });
    if (!jobs || jobs.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      continue;
    }
    const outcomes = await Promise.allSettled(jobs.map((job) => deliver(job.data, job.retryCount + 1)));
    const completed = jobs.filter((_, index) => outcomes[index]?.status === 'fulfilled').map((job) => job.id);
    const failed = jobs.filter((_, index) => outcomes[index]?.status === 'rejected').map((job) => job.id);
    if (completed.length > 0) await boss.complete(queue, completed);
    if (failed.length > 0) await boss.fail(queue, failed);
  }
}
const loops = [workLoop(Math.ceil(settings.concurrency / 2)), workLoop(Math.floor(settings.concurrency / 2))];

const commitsBefore = await committedTransactions();
const cpuBefore = postgresCpuSeconds();
const cpuStarted = process.cpuUsage();
const started = performance.now();
await produce(async (index) => {
  const messageId = createMessageId();
  const body = serializeEnvelope(createEnvelope({ id: messageId, type: 'registrant.created', data: examplePayload(index) }));
  await boss.insert(endpoints.map((endpoint) => ({ name: queue, data: { messageId, url: endpoint.url, body, secret: endpoint.secret } satisfies DeliveryJob, retryLimit: 8 })));
});
await done;
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
const processCpuSeconds = (cpu.user + cpu.system) / 1e6;
const cpuAfter = postgresCpuSeconds();
const peak = peakRssMiB();
stopping = true;
await Promise.all(loops);
await boss.stop({ graceful: true, wait: true, timeout: 5_000 });
await agent.close();
await statisticsSettled();
const commitsPerDelivery = ((await committedTransactions()) - commitsBefore) / total;
await dropBenchSchema(schema);
report({ name: 'pg-boss + undici (batch fetch)', deliveries: delivered, seconds, peakRssMiB: peak, extra: { processCpuSeconds, commitsPerDelivery, ...(cpuBefore !== undefined && cpuAfter !== undefined ? { postgresCpuSeconds: cpuAfter - cpuBefore } : {}) } });
