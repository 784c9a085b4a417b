import { createEnvelope, createMessageId, generateSecret, serializeEnvelope, signHeaders } from '@hooks/core';
import { makeWorkerUtils, type Runner, run, type Task } from 'graphile-worker';
import { Agent, request } from 'undici';
import { benchDatabaseUrl, benchSchema, committedTransactions, dropBenchSchema, ensureBenchDatabase, postgresCpuSeconds, statisticsSettled } from './postgres';
import { endpointUrl, examplePayload, peakRssMiB, produce, report, settings } from './shared';

// What a user would write with graphile-worker: one job per message × endpoint (addJobs per
// message), a task that signs with @hooks/core and POSTs with undici, at the same concurrency,
// with graphile-worker's batching on (localQueue, completeJobBatchDelay). The job table is the
// attempt log it keeps (errors and attempts on the job row).

interface DeliveryJob {
  messageId: string;
  url: string;
  body: string;
  secret: string;
}

await ensureBenchDatabase();
const connectionString = benchDatabaseUrl();
const schema = benchSchema('graphile_bench');
const agent = new Agent({ connections: settings.concurrency, keepAliveTimeout: 30_000 });
const endpoints = Array.from({ length: settings.endpoints }, (_, index) => ({ url: endpointUrl(index), secret: generateSecret() }));
const total = settings.messages * settings.endpoints;

let delivered = 0;
let resolveDone: () => void = () => {};
const done = new Promise<void>((resolve) => {
  resolveDone = resolve;
});

const deliver: Task = async (payload, helpers) => {
  const job = payload as DeliveryJob;
  const headers = await signHeaders({ id: job.messageId, timestamp: Math.floor(Date.now() / 1000), payload: job.body, secrets: job.secret, attempt: helpers.job.attempts, profile: 'standard' });
  const response = await request(job.url, { dispatcher: agent, method: 'POST', headers, body: job.body, headersTimeout: 15_000, bodyTimeout: 15_000 });
  await response.body.text();
  if (response.statusCode < 200 || response.statusCode >= 300) throw new Error(`HTTP ${response.statusCode}`);
  delivered += 1;
  if (delivered === total) resolveDone();
};

const preset = {
  worker: {
    connectionString,
    schema,
    concurrentJobs: settings.concurrency,
    // graphile-worker's advice: 10 or concurrentJobs + 2, whichever is larger.
    maxPoolSize: Math.max(10, settings.concurrency + 2),
    pollInterval: 1000,
    // Batching, as graphile-worker's performance guide recommends for high throughput.
    localQueue: { size: settings.concurrency + 1 },
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
  },
};
const utils = await makeWorkerUtils({ connectionString, schema });
await utils.migrate();
const runner: Runner = await run({ connectionString, schema, concurrency: settings.concurrency, noHandleSignals: true, taskList: { deliver }, preset, logger: undefined });

const commitsBefore = await committedTransactions();
const cpuBefore = postgresCpuSeconds();
const cpuStarted = process.cpuUsage();
const started = performance.now();
await produce(async (index) => {
  const messageId = createMessageId();
  const body = serializeEnvelope(createEnvelope({ id: messageId, type: 'registrant.created', data: examplePayload(index) }));
  await utils.addJobs(endpoints.map((endpoint) => ({ identifier: 'deliver', payload: { messageId, url: endpoint.url, body, secret: endpoint.secret } satisfies DeliveryJob, maxAttempts: 8 })));
});
await done;
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
const processCpuSeconds = (cpu.user + cpu.system) / 1e6;
const cpuAfter = postgresCpuSeconds();
const peak = peakRssMiB();
await runner.stop();
await utils.release();
await agent.close();
await statisticsSettled();
const commitsPerDelivery = ((await committedTransactions()) - commitsBefore) / total;
await dropBenchSchema(schema);
report({ name: 'graphile-worker + undici (localQueue, completeJobBatchDelay 0)', deliveries: delivered, seconds, peakRssMiB: peak, extra: { processCpuSeconds, commitsPerDelivery, ...(cpuBefore !== undefined && cpuAfter !== undefined ? { postgresCpuSeconds: cpuAfter - cpuBefore } : {}) } });
