import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import type { Storage } from '../src/index';
import { createPostgresStorage, createSender, createTransport, type Transport } from '../src/index';
import { benchDatabaseUrl, benchSchema, committedTransactions, dropBenchSchema, ensureBenchDatabase, postgresCpuSeconds, statisticsSettled } from './postgres';
import { allSucceeded, endpointUrl, examplePayload, peakRssMiB, produce, report, settings } from './shared';

// @hooks/sender on SQLite (a file, WAL), memory, or PostgreSQL (one process, its own pool):
// send() every message while the dispatcher delivers with the same concurrency ("live"), stop
// when every delivery succeeded. Every attempt must be in the log. On PostgreSQL, commits per
// delivery come from pg_stat_database (sends, claims, attempt logs: everything).

const storageKind = process.env.BENCH_STORAGE === 'memory' ? 'memory' : process.env.BENCH_STORAGE === 'postgres' ? 'postgres' : 'sqlite';
const directory = mkdtempSync(join(tmpdir(), 'hooks-bench-'));
const urlPolicy = { allowHttp: true, allow: ['loopback'] } as const;
const schema = benchSchema('hooks_bench_sender');
let storage: Storage | 'memory' | undefined;
if (storageKind === 'postgres') {
  await ensureBenchDatabase();
  const postgres = createPostgresStorage({ connectionString: benchDatabaseUrl(), schema, poolSize: Number(process.env.BENCH_PG_POOL ?? 10) });
  await postgres.migrate();
  // BENCH_PG_DROP_INDEXES=deliveries_tenant,attempts_endpoint (an experiment, not a setting):
  // drops those indexes of the bench schema after migrating, to measure what their upkeep costs
  // per delivery (docs/postgres.md, Sizing). The admin API and logs need them.
  const dropped = (process.env.BENCH_PG_DROP_INDEXES ?? '').split(',').filter(Boolean);
  if (dropped.length > 0) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: benchDatabaseUrl() });
    await client.connect();
    try {
      for (const name of dropped) {
        if (!/^[a-z_]+$/.test(name)) throw new Error(`BENCH_PG_DROP_INDEXES: not an index name: ${name}`);
        await client.query(`DROP INDEX "${schema}".${name}`);
      }
    } finally {
      await client.end();
    }
  }
  storage = postgres;
} else if (storageKind === 'memory') {
  storage = 'memory';
}
// BENCH_TRACE=1: time the storage calls and count batch sizes (printed to stderr at the end).
const timings = new Map<string, { calls: number; ms: number; items: number }>();
if (process.env.BENCH_TRACE === '1' && storage !== undefined && storage !== 'memory') {
  const traced = storage as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const key of ['claimDeliveries', 'finishAttempts', 'finishAttemptsAndClaim', 'enqueueMessage', 'enqueueMessages', 'releaseDeliveries']) {
    const original = (traced[key] as (...args: unknown[]) => Promise<unknown>).bind(storage);
    traced[key] = async (...args: unknown[]) => {
      const started = performance.now();
      const result = await original(...args);
      const entry = timings.get(key) ?? { calls: 0, ms: 0, items: 0 };
      entry.calls++;
      entry.ms += performance.now() - started;
      entry.items += Array.isArray(result) ? result.length : Array.isArray((result as { results?: unknown[] })?.results) ? ((result as { results: unknown[] }).results.length) : 1;
      timings.set(key, entry);
      return result;
    };
  }
}
// BENCH_TRACE=1 also times the HTTP requests: their mean time in flight, beside the concurrency,
// tells how much of a slot's time is the request and how much waits for the result's commit.
const http = { requests: 0, ms: 0 };
function traceTransport(transport: Transport): Transport {
  if (process.env.BENCH_TRACE !== '1') return transport;
  return {
    async send(request) {
      const started = performance.now();
      try {
        return await transport.send(request);
      } finally {
        http.requests += 1;
        http.ms += performance.now() - started;
      }
    },
    close: () => transport.close(),
  };
}
// BENCH_SQL_TRACE=1 (SQLite): time every prepared statement by its SQL (printed to stderr at the end).
const statementTimes = new Map<string, { calls: number; ms: number }>();
if (process.env.BENCH_SQL_TRACE === '1' && storageKind === 'sqlite') {
  const { default: Database } = await import('better-sqlite3');
  const probe = new Database(':memory:');
  const prototype = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...args: unknown[]) => unknown>;
  probe.close();
  for (const method of ['run', 'get', 'all']) {
    const original = prototype[method] as (...args: unknown[]) => unknown;
    prototype[method] = function (this: { source: string }, ...args: unknown[]) {
      const started = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        const key = this.source.replace(/\s+/g, ' ').slice(0, 90);
        const entry = statementTimes.get(key) ?? { calls: 0, ms: 0 };
        entry.calls++;
        entry.ms += performance.now() - started;
        statementTimes.set(key, entry);
      }
    };
  }
}
const sender = createSender({
  catalog: broadcastEvents,
  ...(storage === undefined ? { database: join(directory, 'hooks.db') } : { storage }),
  urlPolicy,
  transport: traceTransport(createTransport({ urlPolicy, connectionsPerOrigin: settings.concurrency })),
  dispatcher: { concurrency: settings.concurrency, perEndpointConcurrency: settings.concurrency },
  logger: { info() {}, warn() {}, error: (message: string) => process.stderr.write(`${message}\n`) },
});

const tenant = 'tenant_bench';
for (let index = 0; index < settings.endpoints; index += 1) {
  await sender.endpoints.create({ tenant, url: endpointUrl(index), profile: 'standard' });
}

const total = settings.messages * settings.endpoints;
const done = allSucceeded(sender, total);

// The dispatcher's timers are unref'd (a host app's server keeps the process alive); here nothing else would.
const keepAlive = setInterval(() => {}, 1000);
const commitsBefore = storageKind === 'postgres' ? await committedTransactions() : 0;
const cpuBefore = postgresCpuSeconds();
const cpuStarted = process.cpuUsage();
const started = performance.now();
sender.start();
await produce((index) => sender.send({ tenant, type: 'registrant.created', data: examplePayload(index) }));
await done;
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
const processCpuSeconds = (cpu.user + cpu.system) / 1e6;
const cpuAfter = postgresCpuSeconds();
const peak = peakRssMiB(); // before reading the log back below
clearInterval(keepAlive);
await sender.stop();
// Every attempt must be in the log (the target says "with every attempt durably logged").
let logged = 0;
let cursor: string | undefined;
do {
  const page = await sender.attempts.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
  logged += page.items.length;
  cursor = page.nextCursor ?? undefined;
} while (cursor !== undefined);
if (logged < total) throw new Error(`only ${logged} of ${total} attempts are logged`);
await sender.close();
const extra: Record<string, number> = { attemptsLogged: logged, processCpuSeconds };
if (storageKind === 'postgres') {
  await (storage as Storage).close();
  await statisticsSettled();
  // The log read-back above is a handful of read transactions; the setup (endpoints) is excluded.
  extra.commitsPerDelivery = ((await committedTransactions()) - commitsBefore) / total;
  if (cpuBefore !== undefined && cpuAfter !== undefined) extra.postgresCpuSeconds = cpuAfter - cpuBefore;
  await dropBenchSchema(schema);
}
for (const [key, entry] of [...statementTimes].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) process.stderr.write(`sql ${entry.ms.toFixed(0)} ms, ${entry.calls} calls: ${key}\n`);
if (http.requests > 0) process.stderr.write(`trace HTTP: ${http.requests} requests, ${(http.ms / http.requests).toFixed(2)} ms each; mean requests in flight ${(http.ms / 1000 / seconds).toFixed(1)} of concurrency ${settings.concurrency}\n`);
for (const [key, entry] of timings) process.stderr.write(`trace ${key}: ${entry.calls} calls, ${(entry.ms / entry.calls).toFixed(1)} ms each, ${(entry.items / entry.calls).toFixed(1)} items each\n`);
rmSync(directory, { recursive: true, force: true });
report({ name: `@hooks/sender (${storageKind === 'postgres' ? 'PostgreSQL, 1 process' : storageKind === 'sqlite' ? 'SQLite' : 'memory'})`, deliveries: total, seconds, peakRssMiB: peak, extra });
