import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContenderResult } from './shared';
import { settings } from './shared';

// `pnpm bench`: one run of every contender, each in its own child process, against one loopback
// receiver in another process. Prints deliveries/s, peak RSS and the ratio to the raw undici loop.

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
  { key: 'memory', file: 'sender.ts', environment: { BENCH_STORAGE: 'memory' } },
  { key: 'bullmq', file: 'bullmq.ts' },
  { key: 'latency', file: 'send-latency.ts' },
];

// The machine may be shared: with BENCH_ROUNDS > 1 every contender runs that many times, rounds
// interleaved, and the best round of each is reported.
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const receiver = await startReceiver();
const best = new Map<string, ContenderResult & { key: string; received: Counts }>();
try {
  for (let round = 1; round <= rounds; round += 1) {
    for (const contender of contenders) {
      if (only.length > 0 && !only.includes(contender.key)) continue;
      await receiver.take();
      process.stderr.write(`round ${round}: running ${contender.key}…\n`);
      const result = await runContender(contender.file, receiver.port, contender.environment);
      const entry = { ...result, key: contender.key, received: await receiver.take() };
      const previous = best.get(contender.key);
      const faster = contender.key === 'latency' ? (entry.extra?.p50 ?? Number.POSITIVE_INFINITY) < (previous?.extra?.p50 ?? Number.POSITIVE_INFINITY) : entry.deliveries / entry.seconds > (previous ? previous.deliveries / previous.seconds : 0);
      if (faster) best.set(contender.key, entry);
    }
  }
} finally {
  receiver.child.send({ type: 'stop' });
}
const results = [...best.values()];

const raw = results.find((result) => result.key === 'raw');
const throughput = results.filter((result) => result.key !== 'latency');
console.log(`\n${settings.messages} messages × ${settings.endpoints} endpoints = ${settings.messages * settings.endpoints} deliveries, concurrency ${settings.concurrency}, node ${process.version}, best of ${rounds} round(s)\n`);
console.log('| contender | deliveries | seconds | deliveries/s | × raw undici | peak RSS (MiB) | receiver saw (distinct) | attempts logged |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const result of throughput) {
  const rate = result.deliveries / result.seconds;
  const ratio = raw ? rate / (raw.deliveries / raw.seconds) : Number.NaN;
  console.log(`| ${result.name} | ${result.deliveries} | ${result.seconds.toFixed(2)} | ${Math.round(rate)} | ${ratio.toFixed(2)} | ${result.peakRssMiB} | ${result.received.distinct} | ${result.extra?.attemptsLogged ?? '–'} |`);
}
const latency = results.find((result) => result.key === 'latency');
if (latency?.extra) {
  const extra = latency.extra;
  console.log(`\nsend() to a tenant with ${extra.endpoints} endpoints (SQLite, ${latency.deliveries} sends): p50 ${extra.p50?.toFixed(2)} ms, p99 ${extra.p99?.toFixed(2)} ms, max ${extra.max?.toFixed(2)} ms, peak RSS ${latency.peakRssMiB} MiB`);
}
