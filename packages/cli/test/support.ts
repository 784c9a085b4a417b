import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EventCatalog, type WebhookEvent, createReceiver, generateSecret } from '@hooks/core';
import pg from 'pg';

export const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');
export const binary = join(packageDirectory, 'dist', 'bin.js');
export const fixtures = join(packageDirectory, 'test', 'fixtures');

/** The test database: the real PostgreSQL on loopback. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** What a finished CLI run printed, and how it ended. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunOptions {
  /** Written to the child's standard input, which is then closed. */
  input?: string | Buffer;
  /** Extra environment variables (WEBHOOK_SECRET is removed unless given here). */
  env?: Record<string, string | undefined>;
  /** Working directory. @default the package directory */
  cwd?: string;
}

function childEnvironment(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WEBHOOK_SECRET: undefined, HOOKS_DATABASE: undefined, HOOKS_PROGRESS: undefined, NODE_OPTIONS: undefined, ...extra };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env;
}

/** Starts the built `hooks` binary. */
export function startCli(args: string[], options: RunOptions = {}): ChildProcess & { output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [binary, ...args], { cwd: options.cwd ?? packageDirectory, env: childEnvironment(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
  });
  if (options.input !== undefined) child.stdin.end(options.input);
  else child.stdin.end();
  return Object.assign(child, { output });
}

/** Runs the built `hooks` binary to its end. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  const child = startCli(args, options);
  return exited(child);
}

/** Resolves when a started CLI exits. */
export function exited(child: ReturnType<typeof startCli>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: child.output.stdout, stderr: child.output.stderr }));
  });
}

/** Resolves once `predicate` holds for the child's output (checked on every chunk), so tests wait on events, not on time. */
export function waitForOutput(child: ReturnType<typeof startCli>, predicate: (output: { stdout: string; stderr: string }) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate(child.output)) {
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        child.off('close', closed);
        resolve();
      }
    };
    const closed = () => {
      // Output may arrive in the same tick as close.
      if (predicate(child.output)) resolve();
      else reject(new Error(`The CLI exited before the expected output.\nstdout: ${child.output.stdout}\nstderr: ${child.output.stderr}`));
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.on('close', closed);
    check();
  });
}

/** A temporary folder, removed by the returned function. */
export function temporaryDirectory(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'hooks-cli-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A request a receiver got. */
export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A loopback server; `close()` ends it and its connections. */
export interface TestServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<{ url: string; port: number; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A real @hooks/core receiver pipeline on node:http at `/webhooks`, recording the events it handled. */
export async function startReceiver<TCatalog extends EventCatalog>(catalog: TCatalog, secrets: string | string[] | (() => string)): Promise<TestServer & { events: Array<WebhookEvent<TCatalog>>; requests: ReceivedRequest[]; statuses: number[] }> {
  const receiver = createReceiver<TCatalog>({ catalog, secrets: typeof secrets === 'function' ? () => secrets() : secrets });
  const events: Array<WebhookEvent<TCatalog>> = [];
  receiver.onAny((event) => {
    events.push(event);
  });
  const requests: ReceivedRequest[] = [];
  const statuses: number[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    requests.push({ headers: request.headers, body });
    if (request.url !== '/webhooks') {
      response.writeHead(404).end('not found');
      return;
    }
    const result = await receiver.handle({ body, headers: request.headers });
    statuses.push(result.status);
    response.writeHead(result.status, result.headers).end(result.body);
  });
  return { ...(await listen(server)), events, requests, statuses };
}

/** A server whose answers the test controls: each request waits until `release()` is called (or answers at once with `autoRespond`). */
export async function startHeldServer(): Promise<
  TestServer & {
    requests: ReceivedRequest[];
    /** Resolves when the n-th request (1-based) has arrived. */
    nthRequest(n: number): Promise<void>;
    /** Answers every waiting and future request with this status. */
    release(status?: number): void;
  }
> {
  const requests: ReceivedRequest[] = [];
  const waiting: Array<() => void> = [];
  const arrivals: Array<() => void> = [];
  let releasedWith: number | undefined;
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    requests.push({ headers: request.headers, body: Buffer.concat(chunks) });
    for (const arrived of arrivals.splice(0)) arrived();
    const answer = (status: number) => response.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":true}');
    if (releasedWith !== undefined) answer(releasedWith);
    else waiting.push(() => answer(releasedWith ?? 200));
  });
  const base = await listen(server);
  return {
    ...base,
    requests,
    nthRequest(n) {
      return new Promise<void>((resolve) => {
        const check = () => {
          if (requests.length >= n) resolve();
          else arrivals.push(check);
        };
        check();
      });
    },
    release(status = 200) {
      releasedWith = status;
      for (const answer of waiting.splice(0)) answer();
    },
  };
}

/** A TCP server that records the raw bytes of one HTTP request and answers 200: a request capture like `nc -l` makes. */
export async function startCaptureServer(): Promise<TestServer & { captured: Promise<Buffer> }> {
  let resolveCapture: (bytes: Buffer) => void = () => {};
  const captured = new Promise<Buffer>((resolve) => {
    resolveCapture = resolve;
  });
  const server = createTcpServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const bytes = Buffer.concat(chunks);
      const headEnd = bytes.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(bytes.subarray(0, headEnd).toString('latin1'))?.[1] ?? 0);
      if (bytes.length < headEnd + 4 + length) return;
      resolveCapture(bytes);
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, captured, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A fresh secret for a test. */
export function secret(): string {
  return generateSecret();
}

/** A fresh PostgreSQL schema name. */
export function randomSchema(prefix = 'hooks_cli'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A pool on the test database; idle-connection errors are ignored. */
export function createTestPool(max = 3): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max });
  pool.on('error', () => {});
  return pool;
}

/** Parses the `Name: value` lines `hooks sign` prints. */
export function parseHeaderOutput(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.trim().split('\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return headers;
}
