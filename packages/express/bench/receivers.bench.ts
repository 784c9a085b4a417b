/**
 * Requests per second of a webhook route behind our middleware (verify + dedupe in memory +
 * schema) against the same route that only parses JSON, per framework, and Express against
 * @octokit/webhooks' node middleware on the same payload. Every request carries a unique,
 * pre-signed id. Each server runs in its own child process; autocannon runs here, on loopback.
 *
 *   pnpm bench                                   # every contender
 *   pnpm bench -- --only fastify,koa --amount 30000 --connections 10 --rounds 3
 *   pnpm bench -- --only fastify --cpu-prof /tmp/prof   # V8 CPU profiles of the servers, in /tmp/prof/<framework>-<mode>/
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMessageId, generateSecret, signHeaders } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import autocannon from 'autocannon';
import { type BenchMode, type Contender, contenders } from './contenders';

const here = dirname(fileURLToPath(import.meta.url));
const PATH = '/webhooks';
// Issue 11: every adapter at ≥ 0.9× the same route with JSON parsing only.
const TARGET_RATIO = 0.9;

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}
const only = option('only', '').split(',').filter(Boolean);
const amount = Number(option('amount', '20000'));
const connections = Number(option('connections', '10'));
const rounds = Number(option('rounds', '3'));
const cpuProfileDir = option('cpu-prof', '');
const warmup = Math.min(3000, Math.floor(amount / 5));
const secret = generateSecret();

interface BenchRequest {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** One signed request per fresh id: ours for `json`/`hooks`, GitHub's headers for `octokit`. */
async function signedRequests(mode: BenchMode, count: number): Promise<BenchRequest[]> {
  const example = broadcastEvents.definitions['registrant.created'].example;
  const requests: BenchRequest[] = [];
  for (let index = 0; index < count; index += 1) {
    const id = createMessageId();
    const body = JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data: example });
    const headers =
      mode === 'octokit'
        ? {
            'content-type': 'application/json',
            'x-github-event': 'ping',
            'x-github-delivery': id,
            'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
          }
        : await signHeaders({ id, timestamp: new Date(), payload: body, secrets: secret, eventType: 'registrant.created' });
    requests.push({ method: 'POST', path: PATH, headers, body });
  }
  return requests;
}

/** The child's CPU time so far, in microseconds. */
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolveCpu) => {
    const listener = (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'cpu' in message) {
        child.off('message', listener);
        resolveCpu((message as { cpu: number }).cpu);
      }
    };
    child.on('message', listener);
    child.send('cpu');
  });
}

function startServer(contender: Contender, mode: BenchMode): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(resolve(here, 'child.ts'), [resolve(here, contender.module), mode, PATH], {
    execArgv: ['--import', 'tsx', '--conditions=dev-source', ...(cpuProfileDir ? [`--cpu-prof`, `--cpu-prof-interval=100`, `--cpu-prof-dir=${cpuProfileDir}/${contender.framework}-${mode}`] : [])],
    env: { ...process.env, BENCH_SECRET: secret },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolvePort, reject) => {
    child.once('message', (message) => resolvePort({ child, port: (message as { port: number }).port }));
    child.once('exit', (code) => reject(new Error(`${contender.framework} ${mode} server exited with ${code}`)));
  });
}

/** Runs `total` requests over `connections`, each connection with its own slice of unique requests. */
async function load(port: number, mode: BenchMode, total: number): Promise<{ perSecond: number; errors: number; non2xx: number }> {
  const perClient = Math.ceil((total / connections) * 1.5);
  const slices: BenchRequest[][] = [];
  const all = await signedRequests(mode, perClient * connections);
  for (let index = 0; index < connections; index += 1) slices.push(all.slice(index * perClient, (index + 1) * perClient));
  let next = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    amount: total,
    setupClient: (client) => client.setRequests(slices[next++ % slices.length]!),
  });
  // Runs end within seconds: the per-second histogram is too coarse, so divide the total by the run time.
  return { perSecond: result.requests.total / result.duration, errors: result.errors + result.timeouts, non2xx: result.non2xx };
}

interface Measured {
  /** Best requests/s over the rounds. */
  perSecond: number;
  /** Lowest server CPU time per request over the rounds, in microseconds. */
  cpuPerRequest: number;
  /** Every round's requests/s and CPU time per request, in round order (for paired ratios). */
  runs: Array<{ perSecond: number; cpuPerRequest: number }>;
}

/**
 * Starts every mode's server, then alternates runs between them `rounds` times and keeps each
 * mode's best run: on a shared machine, noise only ever slows a run down. Also records the
 * server's CPU time per request, which contention distorts far less than requests/s.
 */
async function measure(contender: Contender): Promise<Partial<Record<BenchMode, Measured>>> {
  const servers = new Map<BenchMode, { child: ChildProcess; port: number }>();
  const best: Partial<Record<BenchMode, Measured>> = {};
  try {
    for (const mode of contender.modes) servers.set(mode, await startServer(contender, mode));
    for (const [mode, { port }] of servers) await load(port, mode, warmup);
    for (let round = 0; round < rounds; round += 1) {
      // Every other round runs the modes in reverse order, so neither always goes first.
      const order = round % 2 === 0 ? [...servers] : [...servers].reverse();
      for (const [mode, { child, port }] of order) {
        const cpuBefore = await cpuOf(child);
        const run = await load(port, mode, amount);
        const cpuPerRequest = ((await cpuOf(child)) - cpuBefore) / amount;
        if (run.errors > 0 || run.non2xx > 0) throw new Error(`${contender.framework} ${mode}: ${run.errors} errors, ${run.non2xx} non-2xx responses`);
        const previous = best[mode];
        best[mode] = {
          perSecond: Math.max(previous?.perSecond ?? 0, run.perSecond),
          cpuPerRequest: Math.min(previous?.cpuPerRequest ?? Number.POSITIVE_INFINITY, cpuPerRequest),
          runs: [...(previous?.runs ?? []), { perSecond: run.perSecond, cpuPerRequest }],
        };
        process.stderr.write(`${contender.framework} ${mode} round ${round + 1}: ${Math.round(run.perSecond)} req/s, ${Math.round(cpuPerRequest)} µs CPU/request\n`);
      }
    }
  } finally {
    for (const { child } of servers.values()) {
      child.removeAllListeners('exit');
      // Disconnecting lets the server exit by itself (child.ts), which writes its CPU profile.
      if (cpuProfileDir) {
        const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
        child.disconnect();
        await exited;
      } else child.kill();
    }
  }
  return best;
}

const rows: string[] = [];
const verdicts: string[] = [];
const paired: string[] = [];
/** Median and range of per-round ratios: each round's two runs ran back to back, so they saw the same machine. */
function pairedRatios(hooks: Measured, json: Measured, of: (hooksRun: Measured['runs'][number], jsonRun: Measured['runs'][number]) => number): string {
  const ratios = hooks.runs.map((run, round) => of(run, json.runs[round]!)).sort((a, b) => a - b);
  const middle = ratios.length % 2 === 1 ? ratios[(ratios.length - 1) / 2]! : (ratios[ratios.length / 2 - 1]! + ratios[ratios.length / 2]!) / 2;
  return `${middle.toFixed(2)}× (${ratios[0]!.toFixed(2)}–${ratios[ratios.length - 1]!.toFixed(2)})`;
}
let belowTarget = false;
const format = (value: number | undefined) => (value === undefined ? '–' : String(Math.round(value)));
for (const contender of contenders) {
  if (only.length > 0 && !only.includes(contender.framework)) continue;
  const results = await measure(contender);
  const { json, hooks, octokit } = results;
  const ratio = hooks && json ? hooks.perSecond / json.perSecond : Number.NaN;
  // Throughput a saturated server would reach is inversely proportional to its CPU per request.
  const cpuRatio = hooks && json ? json.cpuPerRequest / hooks.cpuPerRequest : Number.NaN;
  if (ratio < TARGET_RATIO && cpuRatio < TARGET_RATIO) belowTarget = true;
  verdicts.push(`${contender.framework}: ${ratio.toFixed(2)}× req/s, ${cpuRatio.toFixed(2)}× CPU per request of the JSON-only route (target ${TARGET_RATIO}×: ${ratio >= TARGET_RATIO || cpuRatio >= TARGET_RATIO ? 'met' : 'MISSED'})`);
  if (hooks && json) {
    paired.push(
      `${contender.framework}, paired rounds (median, min–max over ${hooks.runs.length}): req/s ${pairedRatios(hooks, json, (h, j) => h.perSecond / j.perSecond)}, CPU per request ${pairedRatios(hooks, json, (h, j) => j.cpuPerRequest / h.cpuPerRequest)}`,
    );
  }
  const versusOctokit = hooks && octokit ? ` (÷ ${(hooks.perSecond / octokit.perSecond).toFixed(2)}×; CPU ${(octokit.cpuPerRequest / hooks.cpuPerRequest).toFixed(2)}×)` : '';
  rows.push(
    `| ${contender.framework} | ${format(json?.perSecond)} | ${format(hooks?.perSecond)} | ${ratio.toFixed(2)}× | ${format(json?.cpuPerRequest)} | ${format(hooks?.cpuPerRequest)} | ${cpuRatio.toFixed(2)}× | ${format(octokit?.perSecond)}${versusOctokit} |`,
  );
}

console.log(`\nreceivers: best of ${rounds} alternating runs of ${amount} unique signed requests, ${connections} connections, payload registrant.created (~330 B), target ≥ ${TARGET_RATIO}×\n`);
console.log('| framework | JSON only req/s | @hooks req/s | ratio | JSON only µs CPU/req | @hooks µs CPU/req | CPU ratio (JSON ÷ hooks) | @octokit/webhooks req/s |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
console.log('');
for (const verdict of verdicts) console.log(verdict);
for (const line of paired) console.log(line);
if (belowTarget) console.log(`\nbelow the ${TARGET_RATIO}× target on this run (the machine is shared: rerun before concluding)`);
