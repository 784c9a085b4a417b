// `pnpm bench:postgres`: deliveries/s with 1, 2 and 4 dispatcher processes sharing one
// PostgreSQL, beside one process on SQLite, in the same run. Each process is the real sender
// (test/cluster-worker.ts); receivers are loopback servers in this process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createSender } from '../src/sender';
import { createPostgresStorage } from '../src/storage/postgres';
import { createSqliteStorage } from '../src/storage/sqlite';
import type { Storage } from '../src/storage/types';
import { DATABASE_URL, createTestPool, dropSchemas, randomSchema, startClusterReceivers, startClusterWorker, waitFor } from '../test/cluster-support';

const MESSAGES = Number(process.env.BENCH_PG_MESSAGES ?? 500);
const ENDPOINTS = Number(process.env.BENCH_PG_ENDPOINTS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_PG_CONCURRENCY ?? 16);
const PROCESSES = (process.env.BENCH_PG_PROCESSES ?? '1,2,4').split(',').map(Number);
const total = MESSAGES * ENDPOINTS;

interface Row {
  storage: string;
  processes: number;
  seconds: number;
  perSecond: number;
}

const pool = createTestPool(10);
const directory = mkdtempSync(join(tmpdir(), 'hooks-bench-pg-'));
const schemas: string[] = [];

async function runOnce(kind: 'postgres' | 'sqlite', processes: number): Promise<Row> {
  const schema = randomSchema('hooks_bench');
  const file = join(directory, `${schema}.db`);
  let storage: Storage;
  if (kind === 'postgres') {
    schemas.push(schema);
    const postgres = createPostgresStorage({ pool, schema });
    await postgres.migrate();
    storage = postgres;
  } else {
    storage = createSqliteStorage({ filename: file });
  }
  const sender = createSender({ catalog: broadcastEvents, storage, urlPolicy: { allowHttp: true, allow: ['loopback'] } });
  const receivers = await startClusterReceivers(ENDPOINTS, 0);
  const workers = [];
  try {
    for (const url of receivers.urls) await sender.endpoints.create({ tenant: 'bench', url });
    const example = broadcastEvents.definitions['registrant.created']?.example;
    for (let start = 0; start < MESSAGES; start += 25) {
      await Promise.all(Array.from({ length: Math.min(25, MESSAGES - start) }, () => sender.send({ tenant: 'bench', type: 'registrant.created', data: example as never })));
    }
    const env = {
      CLUSTER_KIND: kind,
      CLUSTER_FILE: file,
      CLUSTER_DATABASE_URL: DATABASE_URL,
      CLUSTER_SCHEMA: schema,
      CLUSTER_CONCURRENCY: String(CONCURRENCY),
      CLUSTER_BATCH: String(CONCURRENCY),
      CLUSTER_PER_ENDPOINT: String(CONCURRENCY),
      CLUSTER_WAIT: '1',
      CLUSTER_LEASE_MS: '30000',
    };
    for (let index = 0; index < processes; index++) workers.push(startClusterWorker(`${kind}-${index}`, env));
    await Promise.all(workers.map((worker) => worker.ready));
    const started = performance.now();
    for (const worker of workers) worker.go();
    await waitFor(() => receivers.received.size >= total, `${total} deliveries`, 600_000);
    const seconds = (performance.now() - started) / 1000;
    return { storage: kind, processes, seconds, perSecond: total / seconds };
  } finally {
    for (const worker of workers) await worker.stop();
    if (process.env.CLUSTER_TRACE === '1') for (const worker of workers) process.stderr.write(`${worker.name}: ${worker.output.filter((line) => line.startsWith('trace') || line.startsWith('stopped')).join(' | ')}\n`);
    await sender.close();
    await storage.close();
    await receivers.close();
  }
}

const rows: Row[] = [];
try {
  process.stderr.write(`sqlite, 1 process…\n`);
  rows.push(await runOnce('sqlite', 1));
  for (const processes of PROCESSES) {
    process.stderr.write(`postgres, ${processes} process(es)…\n`);
    rows.push(await runOnce('postgres', processes));
  }
} finally {
  await dropSchemas(pool, schemas);
  await pool.end();
  rmSync(directory, { recursive: true, force: true });
}

const single = rows.find((row) => row.storage === 'postgres' && row.processes === 1);
const sqlite = rows.find((row) => row.storage === 'sqlite');
console.log(`\n${MESSAGES} messages × ${ENDPOINTS} endpoints = ${total} deliveries, dispatcher concurrency ${CONCURRENCY} per process, node ${process.version}\n`);
console.log('| storage | processes | seconds | deliveries/s | × 1 process | per added process | × SQLite |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) {
  const scale = single && row.storage === 'postgres' ? row.perSecond / single.perSecond : undefined;
  const perAdded = scale !== undefined && row.processes > 1 ? (scale - 1) / (row.processes - 1) : undefined;
  console.log(
    `| ${row.storage} | ${row.processes} | ${row.seconds.toFixed(2)} | ${Math.round(row.perSecond)} | ${scale?.toFixed(2) ?? '–'} | ${perAdded !== undefined ? `+${perAdded.toFixed(2)}` : '–'} | ${sqlite ? (row.perSecond / sqlite.perSecond).toFixed(2) : '–'} |`,
  );
}
