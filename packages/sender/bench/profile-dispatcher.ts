import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEnvelope, createMessageId, generateSecret, serializeEnvelope, signHeaders } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createPostgresStorage, createSender, createTransport, type Transport } from '../src/index';
import { benchDatabaseUrl, benchSchema, dropBenchSchema, ensureBenchDatabase } from './postgres';
import { allSucceeded, examplePayload, produce } from './shared';

// CPU profile of the live benchmark's measured window only (no module loading, no set-up, no
// read-back of the log), in process, against the loopback receiver in its own process as in
// run.ts. Prints the top functions by self time and the inclusive time of the sender's and
// core's own functions, in µs per delivery, and the CPU time of the window.
//
//   node --import tsx --conditions=dev-source bench/profile-dispatcher.ts [memory|sqlite|postgres|transport|transport-signed|memory-no-network]
//
// transport: the loop of transport-loop.ts (the sender's transport, no queue), for comparison.
// transport-signed: the same loop, each request signed (signHeaders, one secret per endpoint,
// the standard profile) and sent with the headers the sender sends: what a delivery costs
// without the queue.
// postgres: the sender on PostgreSQL (a fresh schema in the benchmark database, dropped after):
// the process's side of a delivery (driver, protocol, rows) — PostgreSQL's own CPU is not counted.
// memory-no-network: the sender on memory storage with a transport that answers 200 on the next
// turn without a socket: the queue's own CPU (send, claim, sign, finish, events), steadier than
// any run over loopback on a shared machine.
// PROFILE_KEEP=1 writes the .cpuprofile (path printed) for Chrome DevTools or speedscope;
// PROFILE_OFF=1 measures without the profiler (its sampling costs CPU too).

const here = dirname(fileURLToPath(import.meta.url));
const mode = process.argv[2] ?? 'memory';
const messages = Number(process.env.BENCH_MESSAGES ?? 2000);
const endpoints = Number(process.env.BENCH_ENDPOINTS ?? 10);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 50);
const top = Number(process.env.PROFILE_TOP ?? 35);
const total = messages * endpoints;

function startReceiver(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(here, 'receiver.ts'), [], { execArgv: ['--import', 'tsx', '--conditions=dev-source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (message: { port: number }) => resolve({ child, port: message.port }));
  });
}

const receiver = await startReceiver();
const url = (index: number) => `http://127.0.0.1:${receiver.port}/ep/${index}`;
const urlPolicy = { allowHttp: true, allow: ['loopback'] } as const;
const directory = mkdtempSync(join(tmpdir(), 'hooks-profile-'));
// PROFILE_OFF=1: no inspector session at all (a connected one can change how V8 runs).
const session = process.env.PROFILE_OFF === '1' ? undefined : new Session();
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
}

/** Runs `work` with the profiler on (unless PROFILE_OFF=1); returns the profile and the window's CPU and wall time. */
async function measure(work: () => Promise<void>) {
  if (session) await session.post('Profiler.start');
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const profile = session ? ((await session.post('Profiler.stop')).profile as unknown as Profile) : undefined;
  return { profile, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

let result: Awaited<ReturnType<typeof measure>>;
try {
  if (mode === 'transport' || mode === 'transport-signed') {
    const signed = mode === 'transport-signed';
    const secrets = Array.from({ length: endpoints }, () => generateSecret());
    const transport = createTransport({ urlPolicy, connectionsPerOrigin: concurrency });
    const bodies = Array.from({ length: messages }, (_, index) => {
      const id = createMessageId();
      return { id, body: serializeEnvelope(createEnvelope({ id, type: 'registrant.created', data: examplePayload(index) })) };
    });
    let next = 0;
    result = await measure(async () => {
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let index = next++; index < total; index = next++) {
            const message = bodies[Math.floor(index / endpoints)] as { id: string; body: string };
            const headers = signed
              ? await signHeaders({ id: message.id, timestamp: Math.floor(Date.now() / 1000), payload: message.body, secrets: [secrets[index % endpoints] as string], profile: 'standard', attempt: 1, eventType: 'registrant.created' })
              : { 'content-type': 'application/json', 'webhook-id': message.id };
            await transport.send({ url: url(index % endpoints), headers, body: message.body, timeoutMs: 15_000 });
          }
        }),
      );
    });
    await transport.close();
  } else {
    const noNetwork: Transport = {
      send: () => new Promise((resolve) => setImmediate(resolve, { status: 200, headers: { 'content-type': 'text/plain', 'content-length': '2' }, body: 'ok', durationMs: 0.1 })),
      close: async () => {},
    };
    let schema: string | undefined;
    let storage: ReturnType<typeof createPostgresStorage> | undefined;
    if (mode === 'postgres') {
      await ensureBenchDatabase();
      schema = benchSchema('hooks_bench_profile');
      storage = createPostgresStorage({ connectionString: benchDatabaseUrl(), schema, poolSize: 10 });
      await storage.migrate();
    }
    const sender = createSender({
      catalog: broadcastEvents,
      ...(storage ? { storage } : mode.startsWith('memory') ? { storage: 'memory' as const } : { database: join(directory, 'hooks.db') }),
      urlPolicy,
      transport: mode === 'memory-no-network' ? noNetwork : createTransport({ urlPolicy, connectionsPerOrigin: concurrency }),
      dispatcher: { concurrency, perEndpointConcurrency: concurrency },
      logger: { info() {}, warn() {}, error: (message: string) => process.stderr.write(`${message}\n`) },
    });
    const tenant = 'tenant_bench';
    for (let index = 0; index < endpoints; index += 1) await sender.endpoints.create({ tenant, url: url(index), profile: 'standard' });
    const done = allSucceeded(sender, total);
    const keepAlive = setInterval(() => {}, 1000);
    result = await measure(async () => {
      sender.start();
      await produce((index) => sender.send({ tenant, type: 'registrant.created', data: examplePayload(index) }));
      await done;
    });
    clearInterval(keepAlive);
    await sender.close();
    if (schema) await dropBenchSchema(schema);
  }
} finally {
  receiver.child.send({ type: 'stop' });
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const perDelivery = (micros: number) => (micros / total).toFixed(2).padStart(7);
process.stdout.write(
  `${mode}: ${total} deliveries in ${result.seconds.toFixed(2)} s = ${Math.round(total / result.seconds)}/s, CPU ${result.cpuSeconds.toFixed(2)} s = ${perDelivery(result.cpuSeconds * 1e6)} µs per delivery (profiler ${process.env.PROFILE_OFF === '1' ? 'off' : 'on'})\n`,
);
const profile = result.profile;
if (profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const label = (node: ProfileNode) => {
    const file = node.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '~');
    const short = file.includes('/packages/') ? file.slice(file.indexOf('/packages/') + 10) : file;
    return `${node.callFrame.functionName || '(anonymous)'} ${short ? `${short}:${node.callFrame.lineNumber + 1}` : ''}`.trim();
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, index) => {
    const micros = profile.timeDeltas[index] ?? 0;
    const node = byId.get(id) as ProfileNode;
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + micros);
    if (key === '(idle)') return;
    busy += micros;
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const frame = label(byId.get(current) as ProfileNode);
      if (seen.has(frame)) continue;
      seen.add(frame);
      inclusive.set(frame, (inclusive.get(frame) ?? 0) + micros);
    }
  });
  process.stdout.write(`sampled busy: ${perDelivery(busy)} µs per delivery\n\ntop ${top} by self time (µs per delivery):\n`);
  for (const [key, micros] of [...self].filter(([key]) => key !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${perDelivery(micros)}  ${key}\n`);
  // Self time by where the code lives: a file of sender or core, a package, node's own, or native.
  const byPlace = new Map<string, number>();
  for (const [key, micros] of self) {
    const place = key.includes('sender/src/') || key.includes('core/src/') ? (key.split(' ')[1]?.replace(/:\d+$/, '') ?? key) : key.includes('~') ? `~${key.split('~')[1]?.split('/')[0]}` : key.includes('node:') ? 'node internals' : key.startsWith('(') ? key : 'native / other';
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
  }
  process.stdout.write('\nself time by place (µs per delivery):\n');
  for (const [place, micros] of [...byPlace].filter(([place]) => place !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 20)) process.stdout.write(`${perDelivery(micros)}  ${place}\n`);
  process.stdout.write('\nsender and core source, inclusive (µs per delivery):\n');
  for (const [key, micros] of [...inclusive].filter(([key]) => key.includes('sender/src/') || key.includes('core/src/')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${perDelivery(micros)}  ${key}\n`);
  }
  if (process.env.PROFILE_KEEP === '1') {
    const file = join(tmpdir(), `dispatcher-${mode}-${Date.now()}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    process.stdout.write(`\nprofile written: ${file}\n`);
  }
}
session?.disconnect();
rmSync(directory, { recursive: true, force: true });
