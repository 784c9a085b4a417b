// `pnpm bench:backlog` (also part of `pnpm bench`): a PostgreSQL queue with a large backlog — one
// endpoint down for a day, its deliveries waiting for their next retry, spread over the next 24
// hours — next to endpoints that work. Measures the claim latency (median of many claims of
// fresh work) with 10,000 and with 1,000,000 waiting deliveries (the indexes must keep it flat),
// and the peak RSS of a dispatcher process delivering fresh work beside the big backlog.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createId } from '@hooks/core/internal';
import pg from 'pg';
import type { FinishAttemptInput, PostgresStorage } from '../src/index';
import { createPostgresStorage } from '../src/storage/postgres';
import { benchDatabaseUrl, benchSchema, dropBenchSchema, ensureBenchDatabase } from './postgres';

const SMALL = Number(process.env.BENCH_BACKLOG_SMALL ?? 10_000);
const LARGE = Number(process.env.BENCH_BACKLOG_LARGE ?? 1_000_000);
const CLAIMS = Number(process.env.BENCH_BACKLOG_CLAIMS ?? 40);
const here = dirname(fileURLToPath(import.meta.url));
const PAYLOAD = JSON.stringify({ registrant: { id: 'reg_1', email: 'person1@example.com', firstName: 'Ada', lastName: 'Lovelace' }, eventId: 'evt_01', sessionId: 'ses_01', registeredAt: '2026-11-23T10:00:00.000Z', utmSource: null });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function startReceiver(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-length': '2' }).end('ok'));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, server };
}

/** Adds waiting deliveries of the down endpoint (one message; retries due over the next day), in one statement. */
async function addBacklog(client: pg.Client, schema: string, endpointId: string, from: number, to: number, now: number): Promise<void> {
  const messageId = `msg_backlog_${from}`;
  await client.query(`INSERT INTO "${schema}".messages (id, tenant, type, payload, idempotency_key, created_at) VALUES ($1, 'down', 'registrant.created', $2, NULL, $3)`, [messageId, PAYLOAD, now - 86_400_000]);
  await client.query(
    `INSERT INTO "${schema}".deliveries (id, message_id, endpoint_id, tenant, type, status, attempts, next_attempt_at, retry_base_attempts, retry_base_at, due_at, created_at, updated_at, last_error)
     SELECT 'dlv_backlog_' || i, $1, $2, 'down', 'registrant.created', 'pending', 4, t, 0, $3, t, $3, $3, 'connection_refused'
     FROM generate_series($4::bigint, $5::bigint - 1) AS i, LATERAL (SELECT $3::bigint + 60000 + (i * 86400000 / $5::bigint)) AS due(t)`,
    [messageId, endpointId, now, from, to],
  );
  await client.query(`VACUUM (ANALYZE) "${schema}".deliveries`);
}

/** Median time of `CLAIMS` claims of 20 fresh deliveries each (enqueued, claimed, finished). */
async function claimLatency(storage: PostgresStorage, now: number): Promise<number> {
  const timings: number[] = [];
  for (let round = 0; round < CLAIMS; round++) {
    const at = now + round;
    await storage.enqueueMessages(Array.from({ length: 2 }, () => ({ message: { id: createId('msg', at), tenant: 'live', type: 'registrant.created', payload: PAYLOAD, idempotencyKey: null, createdAt: at }, now: at })));
    const started = performance.now();
    const claimed = await storage.claimDeliveries({ owner: 'bench', now: at, leaseMs: 60_000, limit: 50, perEndpointConcurrency: 50 });
    timings.push(performance.now() - started);
    const inputs: FinishAttemptInput[] = claimed.map(({ delivery }) => ({
      deliveryId: delivery.id,
      owner: 'bench',
      attempt: { id: createId('att', at), deliveryId: delivery.id, messageId: delivery.messageId, endpointId: delivery.endpointId, number: 1, startedAt: at, durationMs: 1, statusCode: 200, responseHeaders: {}, responseBody: 'ok', errorCode: null, success: true },
      next: { status: 'succeeded', nextAttemptAt: null },
      endpoint: { success: true },
      now: at,
    }));
    await storage.finishAttempts(inputs);
  }
  return median(timings);
}

/** Median time of a metrics scrape's storage.stats() next to an exact count(*) of the open deliveries (what a naive depth gauge runs). */
async function statsLatency(storage: PostgresStorage, client: pg.Client, schema: string, now: number): Promise<{ stats: number; exact: number }> {
  const stats: number[] = [];
  const exact: number[] = [];
  for (let round = 0; round < 10; round++) {
    let started = performance.now();
    await storage.stats?.(now);
    stats.push(performance.now() - started);
    started = performance.now();
    await client.query(`SELECT count(*) FROM "${schema}".deliveries WHERE due_at IS NOT NULL`);
    exact.push(performance.now() - started);
  }
  return { stats: median(stats), exact: median(exact) };
}

/** Peak RSS of a dispatcher process delivering `count` fresh deliveries beside the backlog. */
function dispatcherRss(schema: string, url: string, count: number): Promise<{ rssMiB: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=dev-source', join(here, 'backlog-dispatcher.ts')], {
      env: { ...process.env, BACKLOG_SCHEMA: schema, BACKLOG_URL: url, BACKLOG_COUNT: String(count), BACKLOG_DATABASE: benchDatabaseUrl() },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => {
      const line = output.split('\n').find((item) => item.startsWith('RESULT '));
      if (code !== 0 || !line) return reject(new Error(`backlog-dispatcher exited with ${code}: ${output.slice(-1000)}`));
      resolve(JSON.parse(line.slice(7)) as { rssMiB: number; seconds: number });
    });
  });
}

await ensureBenchDatabase();
const schema = benchSchema('hooks_bench_backlog');
const storage = createPostgresStorage({ connectionString: benchDatabaseUrl(), schema, poolSize: 4 });
await storage.migrate();
const client = new pg.Client({ connectionString: benchDatabaseUrl() });
await client.connect();
const receiver = await startReceiver();
const now = Date.now();
try {
  const secret = { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: now, expiresAt: null };
  const base = { name: null, description: null, events: [], headers: {}, profile: 'standard' as const, metadata: {}, enabled: true, disabledReason: null, rateLimit: null, fifo: false, createdAt: now };
  const down = await storage.createEndpoint({ ...base, id: createId('ep', now), tenant: 'down', url: 'http://127.0.0.1:9/down' }, secret);
  await storage.updateEndpoint(down.id, { consecutiveFailures: 4 }, now);
  await storage.createEndpoint({ ...base, id: createId('ep', now), tenant: 'live', url: receiver.url }, secret);
  await storage.createEndpoint({ ...base, id: createId('ep', now), tenant: 'live', url: `${receiver.url}/2` }, secret);

  process.stderr.write(`backlog: ${SMALL} waiting deliveries…\n`);
  await addBacklog(client, schema, down.id, 0, SMALL, now);
  const small = await claimLatency(storage, now);
  const statsSmall = await statsLatency(storage, client, schema, now);
  process.stderr.write(`backlog: ${LARGE} waiting deliveries (inserting)…\n`);
  await addBacklog(client, schema, down.id, SMALL, LARGE, now);
  const large = await claimLatency(storage, now + 10_000);
  const statsLarge = await statsLatency(storage, client, schema, now + 10_000);
  process.stderr.write('backlog: dispatcher beside it…\n');
  const dispatcher = await dispatcherRss(schema, receiver.url, 2_000);

  console.log(`\nBacklog: one endpoint down for a day (its deliveries wait for retries spread over the next 24 h), two live endpoints; PostgreSQL, node ${process.version}\n`);
  console.log('| waiting deliveries | claim of fresh work, median ms |');
  console.log('|---:|---:|');
  console.log(`| ${SMALL.toLocaleString('en')} | ${small.toFixed(2)} |`);
  console.log(`| ${LARGE.toLocaleString('en')} | ${large.toFixed(2)} |`);
  console.log('\n| waiting deliveries | metrics: storage.stats(), median ms | exact count(*) of the queue, median ms | stats / exact |');
  console.log('|---:|---:|---:|---:|');
  for (const [count, figures] of [[SMALL, statsSmall], [LARGE, statsLarge]] as const) {
    console.log(`| ${count.toLocaleString('en')} | ${figures.stats.toFixed(2)} | ${figures.exact.toFixed(2)} | ${(figures.stats / figures.exact).toFixed(2)}× |`);
  }
  console.log(`\nDispatcher (concurrency 50) delivering 2,000 fresh deliveries beside ${LARGE.toLocaleString('en')} waiting ones: peak RSS ${dispatcher.rssMiB} MiB, ${dispatcher.seconds.toFixed(2)} s`);
  console.log('\n| target | measured | |');
  console.log('|---|---:|---|');
  console.log(`| claim latency with ${LARGE.toLocaleString('en')} waiting within 2× of with ${SMALL.toLocaleString('en')} | ${(large / small).toFixed(2)}× | ${large <= 2 * small ? 'met' : 'MISSED'} |`);
  console.log(`| storage.stats() beside ${LARGE.toLocaleString('en')} waiting under 50 ms (counts capped at 100,000) | ${statsLarge.stats.toFixed(2)} ms | ${statsLarge.stats < 50 ? 'met' : 'MISSED'} |`);
  console.log(`| dispatcher peak RSS < 200 MB | ${dispatcher.rssMiB} MiB | ${dispatcher.rssMiB * 1.048576 < 200 ? 'met' : 'MISSED'} |`);
} finally {
  receiver.server.closeAllConnections();
  receiver.server.close();
  await client.end();
  await storage.close();
  // BENCH_BACKLOG_KEEP=1 leaves the schema for a closer look (EXPLAIN).
  if (process.env.BENCH_BACKLOG_KEEP === '1') process.stderr.write(`kept schema ${schema}\n`);
  else await dropBenchSchema(schema);
}
