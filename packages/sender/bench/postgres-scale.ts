// `pnpm bench:postgres` (also part of `pnpm bench`): scale-out on one PostgreSQL. 1, 2 and 4
// dispatcher processes (the real sender, test/cluster-worker.ts) at concurrency 16 each, against
// loopback receivers that answer after 50 ms (real receivers are slow: dispatchers wait, they
// are not CPU-bound) and then at once. Prints deliveries/s, the ratio to one process, the peak
// number of requests one endpoint had in flight (the per-endpoint limit) and the peak rate of a
// rate-limited endpoint (requests started in any one second), checked against their limits.
// Each run first delivers a warm-up workload with the same processes (BENCH_PG_WARMUP) while the
// workload waits behind paused endpoints, then resumes them (and NOTIFYs) and measures from there
// to the workload's last delivery.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import pg from 'pg';
import { createSender } from '../src/sender';
import { createPostgresStorage } from '../src/storage/postgres';
import { startClusterWorker, waitFor } from '../test/cluster-support';
import { benchDatabaseUrl, benchSchema, dropBenchSchema, ensureBenchDatabase, postgresCpuSeconds } from './postgres';

const MESSAGES = Number(process.env.BENCH_PG_MESSAGES ?? 500);
const ENDPOINTS = Number(process.env.BENCH_PG_ENDPOINTS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_PG_CONCURRENCY ?? 16);
const PER_ENDPOINT = Number(process.env.BENCH_PG_PER_ENDPOINT ?? 8);
const RATE_LIMIT = Number(process.env.BENCH_PG_RATE ?? 20);
const RATE_MESSAGES = Number(process.env.BENCH_PG_RATE_MESSAGES ?? 40);
const PROCESSES = (process.env.BENCH_PG_PROCESSES ?? '1,2,4').split(',').map(Number);
// Warm-up messages (× ENDPOINTS, to receivers of their own) delivered by the started processes
// before the measured workload is sent: the table shows steady state, not each process's JIT
// compilation, pool connections and statement preparation (0 measures cold processes).
const WARMUP = Number(process.env.BENCH_PG_WARMUP ?? 100);
const DELAYS = (process.env.BENCH_PG_DELAYS ?? '50,0').split(',').map(Number);
// Rounds, interleaved (every size once per round): the table shows each size's median round and
// the targets the median of the per-round ratios, so one noisy run on a shared machine does not
// decide them (as in run.ts).
const ROUNDS = Math.max(1, Number(process.env.BENCH_PG_ROUNDS ?? 3));
const total = MESSAGES * ENDPOINTS;

interface Receivers {
  urls: string[];
  /** Requests per receiver. */
  counts: number[];
  /** Distinct message ids per receiver. */
  distinct: Array<Set<string>>;
  /** Most requests one receiver had open at once. */
  peakConcurrent: number[];
  /** Arrival times (ms) per receiver. */
  arrivals: number[][];
  close(): Promise<void>;
}

async function startReceivers(count: number, delayMs: number): Promise<Receivers> {
  const servers: Server[] = [];
  const receivers: Receivers = {
    urls: [],
    counts: Array.from({ length: count }, () => 0),
    distinct: Array.from({ length: count }, () => new Set<string>()),
    peakConcurrent: Array.from({ length: count }, () => 0),
    arrivals: Array.from({ length: count }, () => []),
    async close() {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
  for (let index = 0; index < count; index++) {
    let open = 0;
    const server = createServer((request, response) => {
      open++;
      receivers.peakConcurrent[index] = Math.max(receivers.peakConcurrent[index] as number, open);
      (receivers.arrivals[index] as number[]).push(performance.now());
      request.resume();
      request.on('end', () => {
        const answer = () => {
          open--;
          (receivers.counts[index] as number)++;
          receivers.distinct[index]?.add(String(request.headers['x-webhook-id'] ?? ''));
          response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
        };
        if (delayMs > 0) setTimeout(answer, delayMs);
        else answer();
      });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    receivers.urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/${index}`);
  }
  return receivers;
}

/** Most arrivals in any window of `windowMs` (half-open). */
function peakInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

interface Row {
  delayMs: number;
  processes: number;
  seconds: number;
  perSecond: number;
  peakPerEndpoint: number;
  peakRate: number;
  duplicates: number;
  load: number;
  /** PostgreSQL CPU seconds during the run (the whole server). */
  postgresCpu: number | undefined;
  /** CPU seconds of the dispatcher processes while dispatching (from `go` to `stop`: the warm-up too, so per delivery it is divided by all they delivered). */
  workersCpu: number;
}

let workersCpu = 0;

async function runOnce(delayMs: number, processes: number): Promise<Row> {
  const schema = benchSchema('hooks_bench_scale');
  const storage = createPostgresStorage({ connectionString: benchDatabaseUrl(), schema, poolSize: 4 });
  await storage.migrate();
  const sender = createSender({ catalog: broadcastEvents, storage, urlPolicy: { allowHttp: true, allow: ['loopback'] }, logger: { info() {}, warn() {}, error() {} } });
  // ENDPOINTS receivers for the main workload, one more for the rate-limited endpoint.
  const receivers = await startReceivers(ENDPOINTS + 1, delayMs);
  const warmReceivers = await startReceivers(ENDPOINTS, delayMs);
  const workers = [];
  const load = loadavg()[0] ?? 0;
  try {
    const measured: string[] = [];
    for (const url of receivers.urls.slice(0, ENDPOINTS)) measured.push((await sender.endpoints.create({ tenant: 'bench', url })).endpoint.id);
    measured.push((await sender.endpoints.create({ tenant: 'limited', url: receivers.urls[ENDPOINTS] as string, rateLimit: RATE_LIMIT })).endpoint.id);
    for (const url of warmReceivers.urls) await sender.endpoints.create({ tenant: 'warm', url });
    // With a warm-up, the workload waits behind paused endpoints until the processes are warm.
    if (WARMUP > 0) for (const id of measured) await storage.updateEndpoint(id, { pausedUntil: Date.now() + 3_600_000 }, Date.now());
    const example = broadcastEvents.definitions['registrant.created']?.example as never;
    const sendAll = async (tenant: string, count: number) => {
      for (let start = 0; start < count; start += 100) {
        await sender.sendMany(Array.from({ length: Math.min(100, count - start) }, () => ({ tenant, type: 'registrant.created' as const, data: example })));
      }
    };
    await sendAll('warm', WARMUP);
    await sendAll('bench', MESSAGES);
    await sendAll('limited', RATE_MESSAGES);
    const env = {
      CLUSTER_KIND: 'postgres',
      CLUSTER_DATABASE_URL: benchDatabaseUrl(),
      CLUSTER_SCHEMA: schema,
      CLUSTER_CONCURRENCY: String(CONCURRENCY),
      CLUSTER_BATCH: String(CONCURRENCY),
      CLUSTER_PER_ENDPOINT: String(PER_ENDPOINT),
      CLUSTER_CONNECTIONS: String(CONCURRENCY),
      CLUSTER_POOL_SIZE: '4',
      CLUSTER_WAIT: '1',
      CLUSTER_LEASE_MS: '30000',
      // The default poll interval: wake-ups come from LISTEN/NOTIFY and finished attempts.
      CLUSTER_POLL_MS: '1000',
    };
    for (let index = 0; index < processes; index++) workers.push(startClusterWorker(`worker-${index}`, env));
    await Promise.all(workers.map((worker) => worker.ready));
    let cpuBefore = postgresCpuSeconds();
    let started = performance.now();
    for (const worker of workers) worker.go();
    if (WARMUP > 0) {
      await waitFor(() => warmReceivers.distinct.reduce((sum, set) => sum + set.size, 0) >= WARMUP * ENDPOINTS, 'the warm-up deliveries', 600_000);
      // Measured from the resume: the processes are idle, listening.
      cpuBefore = postgresCpuSeconds();
      started = performance.now();
      for (const id of measured) await storage.updateEndpoint(id, { pausedUntil: null }, Date.now());
      // Wake every process at once (as a send would), not at its next poll.
      const client = new pg.Client({ connectionString: benchDatabaseUrl() });
      await client.connect();
      await client.query('SELECT pg_notify($1, $2)', [`hooks_sender_${schema}`, '']);
      await client.end();
    }
    const mainDone = () => receivers.distinct.slice(0, ENDPOINTS).reduce((sum, set) => sum + set.size, 0) >= total;
    await waitFor(mainDone, `${total} deliveries`, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = postgresCpuSeconds();
    await waitFor(() => (receivers.distinct[ENDPOINTS]?.size ?? 0) >= RATE_MESSAGES, 'the rate-limited deliveries', 600_000);
    const requests = receivers.counts.slice(0, ENDPOINTS).reduce((sum, count) => sum + count, 0);
    if (process.env.CLUSTER_TRACE === '1') {
      // Arrivals per 500 ms from `go`: ramp-up, steady state and tail.
      const buckets: number[] = [];
      for (const list of receivers.arrivals.slice(0, ENDPOINTS)) for (const time of list) buckets[Math.floor((time - started) / 500)] = (buckets[Math.floor((time - started) / 500)] ?? 0) + 1;
      process.stderr.write(`arrivals per 500 ms: ${Array.from(buckets, (count) => count ?? 0).join(' ')}\n`);
    }
    return {
      delayMs,
      processes,
      seconds,
      perSecond: total / seconds,
      peakPerEndpoint: Math.max(...receivers.peakConcurrent.slice(0, ENDPOINTS)),
      peakRate: peakInWindow(receivers.arrivals[ENDPOINTS] as number[], 1000),
      duplicates: requests - total,
      load,
      postgresCpu: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
      workersCpu: 0,
    };
  } finally {
    for (const worker of workers) await worker.stop();
    workersCpu = workers.reduce((sum, worker) => sum + Number(worker.output.find((line) => line.startsWith('trace cpu '))?.split(' ')[2] ?? 0), 0);
    if (process.env.CLUSTER_TRACE === '1') for (const worker of workers) process.stderr.write(`${worker.name}: ${worker.output.filter((line) => line.startsWith('trace') || line.startsWith('stopped')).join(' | ')}\n`);
    await sender.close();
    await storage.close();
    await receivers.close();
    await warmReceivers.close();
    await dropBenchSchema(schema);
  }
}

await ensureBenchDatabase();
const runs: Array<Row & { round: number }> = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const delayMs of DELAYS) {
    for (const processes of PROCESSES) {
      process.stderr.write(`scale-out round ${round}/${ROUNDS}: receiver delay ${delayMs} ms, ${processes} process(es) (load ${loadavg()[0]?.toFixed(2)})…\n`);
      const row = await runOnce(delayMs, processes);
      row.workersCpu = workersCpu;
      runs.push({ ...row, round });
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
const of = (delayMs: number, processes: number) => runs.filter((run) => run.delayMs === delayMs && run.processes === processes);
/** Per round: deliveries/s of `processes` over one process, same receiver delay. */
function ratios(delayMs: number, processes: number): number[] {
  return of(delayMs, processes).flatMap((run) => {
    const single = runs.find((item) => item.round === run.round && item.delayMs === delayMs && item.processes === 1);
    return single ? [run.perSecond / single.perSecond] : [];
  });
}
// One row per size: medians of its rounds; limits and duplicates the worst round.
const rows: Row[] = DELAYS.flatMap((delayMs) =>
  PROCESSES.map((processes) => {
    const list = of(delayMs, processes);
    const cpu = list.map((run) => run.postgresCpu).filter((value): value is number => value !== undefined);
    return {
      delayMs,
      processes,
      seconds: median(list.map((run) => run.seconds)),
      perSecond: median(list.map((run) => run.perSecond)),
      peakPerEndpoint: Math.max(...list.map((run) => run.peakPerEndpoint)),
      peakRate: Math.max(...list.map((run) => run.peakRate)),
      duplicates: Math.max(...list.map((run) => run.duplicates)),
      load: median(list.map((run) => run.load)),
      postgresCpu: cpu.length > 0 ? median(cpu) : undefined,
      workersCpu: median(list.map((run) => run.workersCpu)),
    };
  }),
);

console.log(
  `\nScale-out on one PostgreSQL: ${MESSAGES} messages × ${ENDPOINTS} endpoints = ${total} deliveries per run, concurrency ${CONCURRENCY} per process, per-endpoint limit ${PER_ENDPOINT}, plus ${RATE_MESSAGES} deliveries to one endpoint limited to ${RATE_LIMIT}/s; ${WARMUP > 0 ? `measured after ${WARMUP * ENDPOINTS} warm-up deliveries (steady state)` : 'cold processes (no warm-up)'}; median of ${ROUNDS} interleaved round(s); node ${process.version}\n`,
);
console.log('| receiver | processes | seconds | deliveries/s | × 1 process (median of rounds) | peak in flight per endpoint (limit) | peak rate of the limited endpoint, per s (limit) | duplicates | CPU ms per delivery: dispatchers / PostgreSQL | load (1 min) | rounds (deliveries/s) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const row of rows) {
  const ratio = ratios(row.delayMs, row.processes);
  console.log(
    `| ${row.delayMs === 0 ? 'instant' : `${row.delayMs} ms`} | ${row.processes} | ${row.seconds.toFixed(2)} | ${Math.round(row.perSecond)} | ${ratio.length > 0 ? median(ratio).toFixed(2) : '–'} | ${row.peakPerEndpoint} (${PER_ENDPOINT}) | ${row.peakRate} (${RATE_LIMIT}) | ${row.duplicates} | ${((1000 * row.workersCpu) / (total + RATE_MESSAGES + WARMUP * ENDPOINTS)).toFixed(2)} / ${row.postgresCpu === undefined ? '–' : ((1000 * row.postgresCpu) / total).toFixed(2)} | ${row.load.toFixed(2)} | ${of(row.delayMs, row.processes)
      .map((run) => Math.round(run.perSecond))
      .join(', ')} |`,
  );
}
const slowDelay = DELAYS.find((delay) => delay !== 0);
const target = (delayMs: number | undefined, processes: number) => (delayMs === undefined ? [] : ratios(delayMs, processes));
const slowRatios = target(slowDelay, 4);
const fastRatios = target(DELAYS.includes(0) ? 0 : undefined, 4);
const each = (values: number[]) => values.map((value) => value.toFixed(2)).join(', ');
console.log('\n| target | measured (median of per-round ratios) | |');
console.log('|---|---:|---|');
if (slowRatios.length > 0) console.log(`| slow receiver: 4 processes ≥ 3.5× one | ${median(slowRatios).toFixed(2)}× (rounds: ${each(slowRatios)}) | ${median(slowRatios) >= 3.5 ? 'met' : 'MISSED'} |`);
if (fastRatios.length > 0) console.log(`| instant receiver: 4 processes not slower than one | ${median(fastRatios).toFixed(2)}× (rounds: ${each(fastRatios)}) | ${median(fastRatios) >= 1 ? 'met' : 'MISSED'} |`);
const worstConcurrency = Math.max(...runs.map((row) => row.peakPerEndpoint));
const worstRate = Math.max(...runs.map((row) => row.peakRate));
console.log(`| per-endpoint limits never exceeded | in flight ≤ ${worstConcurrency} (limit ${PER_ENDPOINT}), ≤ ${worstRate} requests in any second (limit ${RATE_LIMIT}) | ${worstConcurrency <= PER_ENDPOINT && worstRate <= RATE_LIMIT ? 'met' : 'MISSED'} |`);
