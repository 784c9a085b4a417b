import type { ChildProcess } from 'node:child_process';
import { fork, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContenderResult } from './shared';
import { SENDS_IN_FLIGHT, settings } from './shared';

// `pnpm bench` (this file, then the scale-out and backlog runs): every contender in its own
// child process against one loopback receiver in another process, rounds interleaved
// (BENCH_ROUNDS, default 3) so a shared, loaded machine slows every contender alike; the table
// shows each contender's MEDIAN round. Prints deliveries/s, ratios to the transport loop and to
// the PostgreSQL job queues, commits per delivery (PostgreSQL) and peak RSS.

const here = dirname(fileURLToPath(import.meta.url));
const nodeArguments = ['--import', 'tsx', '--conditions=dev-source'];
const only = process.argv.slice(2);

interface Counts {
  requests: number;
  distinct: number;
}

function startReceiver(): Promise<{ child: ChildProcess; port: number; take: () => Promise<Counts> }> {
  const child = fork(join(here, 'receiver.ts'), [], { execArgv: nodeArguments, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (message: { type: string; port: number }) => {
      const take = () =>
        new Promise<Counts>((resolveCounts) => {
          child.once('message', (counts: Counts) => resolveCounts(counts));
          child.send({ type: 'take' });
        });
      resolve({ child, port: message.port, take });
    });
  });
}

function runContender(file: string, port: number, extraEnvironment: Record<string, string> = {}): Promise<ContenderResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArguments, join(here, file)], {
      env: { ...process.env, ...extraEnvironment, BENCH_PORT: String(port), BENCH_MESSAGES: String(settings.messages), BENCH_ENDPOINTS: String(settings.endpoints), BENCH_CONCURRENCY: String(settings.concurrency) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = output.split('\n').find((item) => item.startsWith('RESULT '));
      if (code !== 0 || !line) return reject(new Error(`${file} exited with ${code}:\n${output.slice(-2000)}`));
      resolve(JSON.parse(line.slice(7)) as ContenderResult);
    });
  });
}

const contenders: Array<{ key: string; file: string; environment?: Record<string, string> }> = [
  { key: 'raw', file: 'raw-undici.ts' },
  { key: 'transport', file: 'transport-loop.ts' },
  { key: 'sqlite', file: 'sender.ts', environment: { BENCH_STORAGE: 'sqlite' } },
  { key: 'postgres', file: 'sender.ts', environment: { BENCH_STORAGE: 'postgres' } },
  { key: 'graphile', file: 'graphile-worker.ts' },
  { key: 'pgboss', file: 'pg-boss.ts' },
  { key: 'bullmq', file: 'bullmq.ts' },
  { key: 'memory', file: 'sender.ts', environment: { BENCH_STORAGE: 'memory' } },
  { key: 'latency-sqlite', file: 'send-latency.ts', environment: { BENCH_STORAGE: 'sqlite' } },
  { key: 'latency-postgres', file: 'send-latency.ts', environment: { BENCH_STORAGE: 'postgres' } },
];

const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const receiver = await startReceiver();
const results = new Map<string, Array<ContenderResult & { received: Counts }>>();
const loads: number[] = [];
try {
  for (let round = 1; round <= rounds; round += 1) {
    for (const contender of contenders) {
      if (only.length > 0 && !only.includes(contender.key)) continue;
      await receiver.take();
      loads.push(loadavg()[0] ?? 0);
      process.stderr.write(`round ${round}/${rounds}: ${contender.key} (load ${loadavg()[0]?.toFixed(2)})…\n`);
      const result = await runContender(contender.file, receiver.port, contender.environment);
      const list = results.get(contender.key) ?? [];
      list.push({ ...result, received: await receiver.take() });
      results.set(contender.key, list);
    }
  }
} finally {
  receiver.child.send({ type: 'stop' });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
/** The median round of a contender, by deliveries/s (latency runs: by p99). */
function medianRound(key: string): (ContenderResult & { received: Counts; rate: number }) | undefined {
  const list = results.get(key);
  if (!list || list.length === 0) return undefined;
  const withRate = list.map((entry) => ({ ...entry, rate: entry.deliveries / entry.seconds }));
  const byValue = key.startsWith('latency') ? (entry: (typeof withRate)[number]) => entry.extra?.p99 ?? 0 : (entry: (typeof withRate)[number]) => entry.rate;
  const target = median(withRate.map(byValue));
  return withRate.reduce((best, entry) => (Math.abs(byValue(entry) - target) < Math.abs(byValue(best) - target) ? entry : best));
}
const rate = (key: string) => medianRound(key)?.rate;
/**
 * The median over rounds of `a`'s rate divided by `b`'s rate in the SAME round: contenders of one
 * round ran back to back, so the load of the shared machine cancels out better than in a ratio
 * of medians.
 */
function pairedRatio(a: string, b: string): number | undefined {
  const first = results.get(a);
  const second = results.get(b);
  if (!first || !second) return undefined;
  const ratios: number[] = [];
  for (let index = 0; index < Math.min(first.length, second.length); index++) {
    const x = first[index] as ContenderResult;
    const y = second[index] as ContenderResult;
    ratios.push(x.deliveries / x.seconds / (y.deliveries / y.seconds));
  }
  return ratios.length > 0 ? median(ratios) : undefined;
}
const pairedText = (a: string, b: string) => {
  const value = pairedRatio(a, b);
  return value === undefined ? '–' : value.toFixed(2);
};
const atLeast = (a: string, b: string, factor: number) => {
  const value = pairedRatio(a, b);
  return value === undefined ? undefined : value >= factor;
};
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : '–');
const check = (ok: boolean | undefined) => (ok === undefined ? '–' : ok ? 'met' : 'MISSED');

console.log(
  `\nLive: ${settings.messages} messages × ${settings.endpoints} endpoints = ${settings.messages * settings.endpoints} signed POSTs to one loopback receiver, dispatcher concurrency ${settings.concurrency}, ${SENDS_IN_FLIGHT} enqueues in flight, node ${process.version}, median of ${rounds} interleaved round(s), load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (1 min) on ${(await import('node:os')).cpus().length} cores\n`,
);
console.log('| contender | deliveries/s (median) | × transport loop | × raw undici | commits/delivery | CPU s: process / PostgreSQL | peak RSS (MiB) | receiver saw (distinct) | attempts logged | rounds (deliveries/s) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const contender of contenders) {
  if (contender.key.startsWith('latency')) continue;
  const entry = medianRound(contender.key);
  if (!entry) continue;
  const all = (results.get(contender.key) ?? []).map((item) => Math.round(item.deliveries / item.seconds)).join(', ');
  const commits = entry.extra?.commitsPerDelivery;
  console.log(
    `| ${entry.name} | ${Math.round(entry.rate)} | ${ratio(entry.rate, rate('transport'))} | ${ratio(entry.rate, rate('raw'))} | ${commits === undefined ? '–' : commits.toFixed(3)} | ${entry.extra?.processCpuSeconds?.toFixed(1) ?? '–'} / ${entry.extra?.postgresCpuSeconds?.toFixed(1) ?? '–'} | ${entry.peakRssMiB} | ${entry.received.distinct} | ${entry.extra?.attemptsLogged ?? '–'} | ${all} |`,
  );
}

const postgres = medianRound('postgres');
const latencySqlite = medianRound('latency-sqlite');
const latencyPostgres = medianRound('latency-postgres');
console.log('\n| target | measured | |');
console.log('|---|---:|---|');
console.log(`| PostgreSQL, 1 process ≥ 1.5× graphile-worker batched (median of per-round ratios) | ${pairedText('postgres', 'graphile')}× | ${check(atLeast('postgres', 'graphile', 1.5))} |`);
console.log(`| PostgreSQL, 1 process ≥ 1.5× pg-boss batched | ${pairedText('postgres', 'pgboss')}× | ${check(atLeast('postgres', 'pgboss', 1.5))} |`);
console.log(`| PostgreSQL ≤ 0.1 commits per delivery (attempt log included) | ${postgres?.extra?.commitsPerDelivery?.toFixed(3) ?? '–'} | ${check(postgres?.extra?.commitsPerDelivery !== undefined ? postgres.extra.commitsPerDelivery <= 0.1 : undefined)} |`);
console.log(`| SQLite ≥ 0.5× the transport loop | ${pairedText('sqlite', 'transport')}× | ${check(atLeast('sqlite', 'transport', 0.5))} |`);
console.log(`| SQLite ≥ 2× BullMQ | ${pairedText('sqlite', 'bullmq')}× | ${check(atLeast('sqlite', 'bullmq', 2))} |`);
for (const [entry, label, limit] of [
  [latencySqlite, 'SQLite', 5],
  [latencyPostgres, 'PostgreSQL', 10],
] as const) {
  if (!entry?.extra) continue;
  const { p50, p99, max, endpoints } = entry.extra;
  const key = label === 'SQLite' ? 'latency-sqlite' : 'latency-postgres';
  const everyRound = (results.get(key) ?? []).map((item) => item.extra?.p99?.toFixed(1)).join(', ');
  console.log(
    `| send() to a tenant with ${endpoints} endpoints, ${label}: p99 < ${limit} ms | p50 ${p50?.toFixed(2)} ms, p99 ${p99?.toFixed(2)} ms (max ${max?.toFixed(2)}; p99 of each round: ${everyRound}) | ${check(p99 !== undefined ? p99 < limit : undefined)} |`,
  );
}
