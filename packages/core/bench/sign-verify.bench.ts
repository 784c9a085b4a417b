/**
 * Sign and verify throughput of @hooks/core against the libraries a receiver could use instead,
 * on the same machine, in one run, on the same 1 KB and 64 KB JSON payloads, with a raw
 * node:crypto baseline (HMAC-SHA256 + timingSafeEqual over the same signed content, minimal
 * header parsing). Every round is cut into short slices that visit each contender in turn, so
 * machine noise hits all alike, and each slice starts at a different contender, so no library
 * always runs right after the same neighbour (whose garbage it would collect). The table shows
 * the median round; the ratios are
 * paired: each round's ops/s divided by the baseline's in that same round, median over rounds,
 * with the lowest and highest round in brackets. Throughput is per second of this process's CPU
 * time, so a busy machine (other processes) skews the numbers less than wall time would.
 *
 *   pnpm bench                       # in packages/core
 *   pnpm bench -- --rounds 9 --round-ms 400
 *
 * Notes on fairness: svix's `verify` and stripe's `constructEvent` always JSON.parse the body
 * (their API has no way around it); standardwebhooks is called with `jsonParse: false`, like
 * ours, which does not parse. @octokit/webhooks-methods signs the body alone (its own format).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { cryptoBackendName, generateSecret, parseKey, sign, verify } from '../src/index';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
const rounds = option('rounds', 7);
const roundMs = option('round-ms', 250);
// Issue 11: verify ≥ 0.9× the raw baseline and at least @octokit/webhooks-methods' ratio; sign ≥ 0.85×.
const TARGETS = { sign: 0.85, verify: 0.9 } as const;
const RATIO_PEER = '@octokit/webhooks-methods';

/** A realistic envelope of at least `bytes` bytes. */
function payloadOf(bytes: number): string {
  const attendees: unknown[] = [];
  let body = '';
  for (let index = 0; body.length < bytes; index++) {
    attendees.push({ id: `reg_${index}`, email: `person${index}@example.com`, firstName: 'Ada', lastName: 'Lovelace', watchedMinutes: index % 90 });
    body = JSON.stringify({ id: 'msg_2Z4bench', type: 'broadcast.summary', timestamp: '2026-11-23T10:00:00.000Z', data: { sessionId: 'ses_01', attendees } });
  }
  return body;
}

const secret = generateSecret();
const keyBytes = Buffer.from((parseKey(secret) as { bytes: Uint8Array }).bytes);
const stripeSecret = 'whsec_bench_stripe_secret';
const octokitSecret = 'octokit-bench-secret';
const stripe = new Stripe('sk_test_bench_never_used_for_requests');
const standard = new StandardWebhook(secret);
const svix = new SvixWebhook(secret);
const id = 'msg_2Z4benchmark000000000000';

/** The raw baseline: what a careful hand-written verifier does with node:crypto. */
function rawSign(payload: string, seconds: number): string {
  return `v1,${createHmac('sha256', keyBytes).update(`${id}.${seconds}.`).update(payload).digest('base64')}`;
}
function rawVerify(payload: string, headers: Record<string, string>): boolean {
  const messageId = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!messageId || !timestamp || !signatures) return false;
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds) || Math.abs(Date.now() / 1000 - seconds) > 300) return false;
  const expected = createHmac('sha256', keyBytes).update(`${messageId}.${timestamp}.`).update(payload).digest();
  for (const part of signatures.split(' ')) {
    if (!part.startsWith('v1,')) continue;
    const given = Buffer.from(part.slice(3), 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  }
  return false;
}

interface Task {
  library: string;
  operation: 'sign' | 'verify';
  size: string;
  run: () => unknown;
  /** Operations per clock reading, set from the warm-up. */
  batch: number;
  ops: number[];
}

async function tasksFor(size: string, payload: string): Promise<Task[]> {
  const seconds = Math.floor(Date.now() / 1000);
  const date = new Date(seconds * 1000);
  const ourSignature = await sign({ id, timestamp: seconds, payload, secrets: secret });
  const headers = { 'webhook-id': id, 'webhook-timestamp': String(seconds), 'webhook-signature': ourSignature };
  const octokitSignature = await octokitSign(octokitSecret, payload);
  const stripeHeader = stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret, timestamp: seconds });

  // Every verifier must accept its input before it is timed.
  const checks: Array<[string, () => unknown]> = [
    ['raw', () => rawVerify(payload, headers) || Promise.reject(new Error('raw baseline rejected'))],
    ['@hooks/core', () => verify(payload, headers, { secrets: secret })],
    ['standardwebhooks', () => standard.verify(payload, headers, { jsonParse: false })],
    ['svix', () => svix.verify(payload, headers)],
    ['@octokit/webhooks-methods', async () => (await octokitVerify(octokitSecret, payload, octokitSignature)) || Promise.reject(new Error('octokit rejected'))],
    ['stripe', () => stripe.webhooks.constructEvent(payload, stripeHeader, stripeSecret)],
  ];
  for (const [name, check] of checks) {
    try {
      await check();
    } catch (error) {
      throw new Error(`${name} did not verify its own signature: ${String(error)}`);
    }
  }
  if (rawSign(payload, seconds) !== ourSignature || standard.sign(id, date, payload) !== ourSignature) {
    throw new Error('signatures differ between contenders that share the format');
  }

  const task = (library: string, operation: Task['operation'], run: () => unknown): Task => ({ library, operation, size, run, batch: 8, ops: [] });
  return [
    task('raw node:crypto (baseline)', 'sign', () => rawSign(payload, seconds)),
    task('@hooks/core', 'sign', () => sign({ id, timestamp: seconds, payload, secrets: secret })),
    task('standardwebhooks', 'sign', () => standard.sign(id, date, payload)),
    task('svix', 'sign', () => svix.sign(id, date, payload)),
    task('@octokit/webhooks-methods', 'sign', () => octokitSign(octokitSecret, payload)),
    task('stripe', 'sign', () => stripe.webhooks.generateTestHeaderString({ payload, secret: stripeSecret, timestamp: seconds })),
    task('raw node:crypto (baseline)', 'verify', () => rawVerify(payload, headers)),
    task('@hooks/core', 'verify', () => verify(payload, headers, { secrets: secret })),
    task('standardwebhooks', 'verify', () => standard.verify(payload, headers, { jsonParse: false })),
    task('svix', 'verify', () => svix.verify(payload, headers)),
    task('@octokit/webhooks-methods', 'verify', () => octokitVerify(octokitSecret, payload, octokitSignature)),
    task('stripe', 'verify', () => stripe.webhooks.constructEvent(payload, stripeHeader, stripeSecret)),
  ];
}

/** This process's CPU time in milliseconds: unlike wall time, it does not count the time other processes on a busy machine took. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Runs `task` for about `ms` milliseconds of CPU time; returns the iterations and the CPU milliseconds they took. */
async function measure(task: Task, ms: number): Promise<{ iterations: number; ms: number }> {
  const first = task.run();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  let iterations = 0;
  const start = cpuMs();
  let elapsed = 0;
  // Batches (about half a millisecond each) keep the clock out of the loop.
  const batch = task.batch;
  while (elapsed < ms) {
    if (isAsync) for (let i = 0; i < batch; i++) await task.run();
    else for (let i = 0; i < batch; i++) task.run();
    iterations += batch;
    elapsed = cpuMs() - start;
  }
  return { iterations, ms: elapsed };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const payloads: Array<[string, string]> = [
  ['1 KB', payloadOf(1024)],
  ['64 KB', payloadOf(64 * 1024)],
];
// `--only raw,@hooks/core` keeps those libraries (the baseline always stays).
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex >= 0 ? (process.argv[onlyIndex + 1] ?? '').split(',') : [];
const tasks = (await Promise.all(payloads.map(([size, payload]) => tasksFor(size, payload))))
  .flat()
  .filter((task) => only.length === 0 || task.library.startsWith('raw') || only.includes(task.library));

console.log(`node ${process.version}, @hooks/core crypto backend: ${cryptoBackendName}`);
console.log(`payloads: ${payloads.map(([size, payload]) => `${size} = ${Buffer.byteLength(payload)} bytes`).join(', ')}`);
console.log(`${rounds} interleaved rounds of ${roundMs} ms CPU time per contender; ops/s = per CPU second, median round; × baseline = median of per-round ratios\n`);
// Warm-up (the JIT settles), which also sizes each contender's batch to about half a millisecond.
for (const task of tasks) {
  const warm = await measure(task, 100);
  task.batch = Math.max(1, Math.round((warm.iterations / warm.ms) * 0.5));
}
// Each round is cut into short slices that visit every contender in turn, so whatever else the
// machine does during a round lands on all of them alike; a round's figure per contender is its
// operations over its CPU time summed across the slices.
const SLICES = 10;
for (let round = 0; round < rounds; round++) {
  const totals = tasks.map(() => ({ iterations: 0, ms: 0 }));
  for (let slice = 0; slice < SLICES; slice++) {
    // Rotate the starting contender (and so each one's neighbours) from slice to slice.
    const start = (round * SLICES + slice) % tasks.length;
    for (let offset = 0; offset < tasks.length; offset++) {
      const index = (start + offset) % tasks.length;
      const { iterations, ms } = await measure(tasks[index]!, roundMs / SLICES);
      totals[index]!.iterations += iterations;
      totals[index]!.ms += ms;
    }
  }
  for (const [index, task] of tasks.entries()) task.ops[round] = (totals[index]!.iterations / totals[index]!.ms) * 1000;
}

/** Per-round ratios of `task` to `baseline` (same round), sorted. */
const ratios = (task: Task, baseline: Task): number[] => task.ops.map((ops, round) => ops / baseline.ops[round]!).sort((a, b) => a - b);

const rows: string[][] = [['size', 'operation', 'library', 'ops/s', '× baseline', 'rounds (min–max)']];
const verdicts: string[] = [];
for (const [size] of payloads) {
  for (const operation of ['sign', 'verify'] as const) {
    const group = tasks.filter((task) => task.size === size && task.operation === operation);
    const baseline = group[0]!;
    const ratioOf = (task: Task): number => median(ratios(task, baseline));
    for (const task of group) {
      const spread = ratios(task, baseline);
      rows.push([size, operation, task.library, Math.round(median(task.ops)).toLocaleString('en-US'), ratioOf(task).toFixed(2), `${spread[0]!.toFixed(2)}–${spread[spread.length - 1]!.toFixed(2)}`]);
    }
    const oursTask = group.find((task) => task.library === '@hooks/core')!;
    const ours = ratioOf(oursTask);
    const peers = group.filter((task) => task !== oursTask && task !== baseline);
    const best = Math.max(0, ...peers.map(ratioOf));
    const target = TARGETS[operation];
    const peer = group.find((task) => task.library === RATIO_PEER);
    const peerRatio = peer ? ratioOf(peer) : Number.NaN;
    const versusPeer = operation === 'verify' && peer ? `; ${RATIO_PEER} ${peerRatio.toFixed(2)}× (${ours >= peerRatio ? 'at or above' : 'BELOW'})` : '';
    verdicts.push(
      `${size} ${operation}: ${ours.toFixed(2)}× baseline (target ${target}×: ${ours >= target ? 'met' : 'MISSED'}${versusPeer}), ${(ours / best).toFixed(2)}× the fastest peer (${ours >= best ? 'ahead' : 'BEHIND'})`,
    );
  }
}
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
for (const [index, row] of rows.entries()) {
  console.log(`| ${row.map((cell, column) => (column >= 3 && column <= 4 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(' | ')} |`);
  if (index === 0) console.log(`| ${widths.map((width, column) => (column >= 3 && column <= 4 ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`);
}
console.log('');
for (const verdict of verdicts) console.log(verdict);
