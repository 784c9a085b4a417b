import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The test database: a real PostgreSQL on loopback. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh schema name per test file (or test), so parallel files and engineers never collide. */
export function randomSchema(prefix = 'hooks_test'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A pool for tests; errors of idle connections are ignored (the server may drop them at the end). */
export function createTestPool(max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max });
  pool.on('error', () => {});
  return pool;
}

/** Drops schemas created by a test file. */
export async function dropSchemas(pool: pg.Pool, schemas: Iterable<string>): Promise<void> {
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** What the cluster receivers saw. */
export interface ClusterReceivers {
  /** Endpoint URLs, one per receiver. */
  urls: string[];
  /** Requests per `<receiver index>/<message id>`, with the sending worker of each. */
  received: Map<string, string[]>;
  /** Total requests. */
  total(): number;
  /** Highest number of requests one receiver was handling at once. */
  maxConcurrent: number[];
  close(): Promise<void>;
}

/** Starts `count` loopback receivers that answer 200 after `delayMs`, recording every request and the concurrency per receiver. */
export async function startClusterReceivers(count: number, delayMs = 1): Promise<ClusterReceivers> {
  const received = new Map<string, string[]>();
  const maxConcurrent = Array.from({ length: count }, () => 0);
  const servers: Server[] = [];
  const urls: string[] = [];
  let total = 0;
  for (let index = 0; index < count; index++) {
    let current = 0;
    const server = createServer((request, response) => {
      current++;
      if (current > (maxConcurrent[index] ?? 0)) maxConcurrent[index] = current;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        current--;
      };
      response.on('finish', finish);
      response.on('close', finish);
      request.resume();
      request.on('end', () => {
        const key = `${index}/${String(request.headers['x-webhook-id'] ?? '')}`;
        const list = received.get(key) ?? [];
        list.push(String(request.headers['x-cluster-worker'] ?? ''));
        received.set(key, list);
        total++;
        setTimeout(() => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), delayMs);
      });
    });
    server.keepAliveTimeout = 10_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/${index}`);
  }
  return {
    urls,
    received,
    total: () => total,
    maxConcurrent,
    async close() {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

/** A running worker process. */
export interface ClusterWorker {
  name: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
  /** Resolves once the worker printed `ready`. */
  ready: Promise<void>;
  /** Tells a worker started with CLUSTER_WAIT=1 to start dispatching. */
  go(): void;
  /** Asks the worker to stop and waits for it to exit. */
  stop(): Promise<void>;
}

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const workerFile = fileURLToPath(new URL('./cluster-worker.ts', import.meta.url));

/** Starts one dispatcher process (`test/cluster-worker.ts`). */
export function startClusterWorker(name: string, env: Record<string, string>): ClusterWorker {
  // CLUSTER_NODE_ARGS: extra node flags for the workers (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const extra = (process.env.CLUSTER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...extra, '--conditions=dev-source', '--import', 'tsx', workerFile], {
    cwd: packageDirectory,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env, CLUSTER_NAME: name },
  });
  const output: string[] = [];
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      output.push(line);
      if (line === 'ready') markReady();
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => output.push(`stderr: ${chunk.trim()}`));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    name,
    child,
    output,
    exited,
    ready: Promise.race([ready, exited.then(() => Promise.reject(new Error(`${name} exited early: ${output.join(' | ').slice(0, 2000)}`)))]),
    go() {
      child.stdin?.write('go\n');
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.write('stop\n');
      await exited;
    },
  };
}

/** Polls `check` every 100 ms until it is true; throws after `limitMs` so a stuck run fails instead of hanging. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, limitMs = 60_000, detail: () => string | Promise<string> = () => ''): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}. ${await detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
