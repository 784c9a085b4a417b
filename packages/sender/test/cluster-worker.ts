// One dispatcher process for the PostgreSQL cluster test and benchmark:
// `node --conditions=dev-source --import tsx test/cluster-worker.ts`. Configured by CLUSTER_* env
// variables; prints `ready` once started, dispatches until it reads `stop` on stdin (or is
// killed), then prints `stopped <attempts>` and exits.
import { createInterface } from 'node:readline';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createSender } from '../src/sender';
import { createPostgresStorage } from '../src/storage/postgres';
import { createSqliteStorage } from '../src/storage/sqlite';
import type { Storage } from '../src/storage/types';
import { createTransport } from '../src/transport';

const env = process.env;
const kind = env.CLUSTER_KIND ?? 'postgres';
const name = env.CLUSTER_NAME ?? `worker-${process.pid}`;
const storage: Storage =
  kind === 'sqlite'
    ? createSqliteStorage({ filename: env.CLUSTER_FILE ?? '' })
    : createPostgresStorage({ connectionString: env.CLUSTER_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', schema: env.CLUSTER_SCHEMA ?? 'hooks', poolSize: Number(env.CLUSTER_POOL_SIZE ?? 10), migrate: false });

// CLUSTER_TRACE=1: time every storage call (printed at stop), to see where a run spends its time.
const timings = new Map<string, { calls: number; ms: number; items: number }>();
if (env.CLUSTER_TRACE === '1') {
  for (const key of ['claimDeliveries', 'finishAttempt', 'finishAttempts', 'finishAttemptsAndClaim', 'listSecrets', 'releaseDeliveries'] as const) {
    const original = (storage[key] as (...args: unknown[]) => Promise<unknown>).bind(storage);
    (storage as unknown as Record<string, unknown>)[key] = async (...args: unknown[]) => {
      const started = performance.now();
      let items = 0;
      try {
        const result = await original(...args);
        items = Array.isArray(result) ? result.length : Array.isArray((result as { claimed?: unknown[] })?.claimed) ? (result as { claimed: unknown[] }).claimed.length : 1;
        return result;
      } finally {
        const entry = timings.get(key) ?? { calls: 0, ms: 0, items: 0 };
        entry.calls++;
        entry.items += items;
        entry.ms += performance.now() - started;
        timings.set(key, entry);
      }
    };
  }
}

const inner = createTransport({ urlPolicy: { allowHttp: true, allow: ['loopback'] }, connectionsPerOrigin: Number(env.CLUSTER_CONNECTIONS ?? 16) });
// Tags every request with this process's name, so the receivers know who sent what.
let requestsInFlight = 0;
let started = false;
// CPU used since dispatching began (not the start-up), for the benchmark's per-delivery cost.
let cpuAtStart = process.cpuUsage();
const transport = {
  send: async (request: Parameters<typeof inner.send>[0]) => {
    requestsInFlight++;
    try {
      return await inner.send({ ...request, headers: { ...request.headers, 'x-cluster-worker': name } });
    } finally {
      requestsInFlight--;
    }
  },
  close: () => inner.close(),
};
// CLUSTER_TRACE=1: the average number of requests in flight while dispatching (sampled).
const inFlightSamples: number[] = [];
if (env.CLUSTER_TRACE === '1') {
  setInterval(() => {
    if (started) inFlightSamples.push(requestsInFlight);
  }, 10).unref();
}

const leaseMs = Number(env.CLUSTER_LEASE_MS ?? 4000);
const sender = createSender({
  catalog: broadcastEvents,
  storage,
  transport,
  retry: { jitter: 0, schedule: [200] },
  dispatcher: {
    concurrency: Number(env.CLUSTER_CONCURRENCY ?? 16),
    perEndpointConcurrency: Number(env.CLUSTER_PER_ENDPOINT ?? 8),
    batchSize: Number(env.CLUSTER_BATCH ?? 16),
    leaseMs,
    timeoutMs: Math.max(1, leaseMs - 1000),
    pollIntervalMs: Number(env.CLUSTER_POLL_MS ?? 50),
  },
  onError: (error) => process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`),
});

let attempts = 0;
sender.on('attempt.finished', () => {
  attempts++;
});
// CLUSTER_WAIT=1 (benchmarks): connect and warm up, but dispatch only after `go` on stdin.
if (env.CLUSTER_WAIT !== '1') {
  sender.start();
  started = true;
}
await storage.getEndpoint('ep_warm_up');
process.stdout.write('ready\n');

createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line.trim() === 'go') {
    cpuAtStart = process.cpuUsage();
    sender.start();
    started = true;
  }
  if (line.trim() !== 'stop') return;
  await sender.stop();
  await sender.close();
  await storage.close();
  process.stdout.write(`stopped ${attempts}\n`);
  const cpu = process.cpuUsage(cpuAtStart);
  process.stdout.write(`trace cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s\n`);
  if (inFlightSamples.length > 0) process.stdout.write(`trace requests in flight: average ${(inFlightSamples.reduce((a, b) => a + b, 0) / inFlightSamples.length).toFixed(1)}\n`);
  for (const [key, entry] of timings) process.stdout.write(`trace ${key} calls=${entry.calls} avg=${(entry.ms / entry.calls).toFixed(1)}ms items=${(entry.items / entry.calls).toFixed(1)}\n`);
  process.exit(0);
});
