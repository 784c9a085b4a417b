import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createPostgresStorage } from '../src/storage/postgres';
import { createSqliteStorage } from '../src/storage/sqlite';
import type { Storage } from '../src/storage/types';
import { DATABASE_URL, randomSchema } from './cluster-support';
import { storageTestBed } from './storage-test-bed';
import { makeSender, registrantData, startReceiver } from './support';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const workerFile = fileURLToPath(new URL('./fixtures/notify-worker.ts', import.meta.url));
const { directory, pool, schemas } = storageTestBed('hooks-notify');

interface Worker {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

function startWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=dev-source', workerFile], {
    cwd: packageDirectory,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, DATABASE_URL, ...env },
  });
  const lines: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => lines.push(`stderr: ${chunk.trim()}`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    lines,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.write('stop\n');
      await exited;
    },
  };
}

/** Waits for a condition, polling; a bound so a stuck child fails the test instead of hanging it. */
async function until(check: () => boolean | Promise<boolean>, what: string, workers: Worker[]): Promise<void> {
  for (let index = 0; index < 1500; index++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Timed out waiting for ${what}; workers said: ${workers.map((worker) => worker.lines.join(' | ')).join(' ;; ').slice(0, 3000)}`);
}

/** `notice <id> <type> <count> <attempt>` lines of a worker. */
function notices(worker: Worker): Array<{ id: string; type: string; count: number; attempt: number }> {
  return worker.lines
    .filter((line) => line.startsWith('notice '))
    .map((line) => {
      const [, id = '', type = '', count = '0', attempt = '0'] = line.split(' ');
      return { id, type, count: Number(count), attempt: Number(attempt) };
    });
}

/** An endpoint that answers 500, and `messages` messages for it, written by this process. */
async function prepare(storage: Storage, messages: number) {
  const receiver = await startReceiver(() => ({ status: 500 }));
  const sender = makeSender({ storage });
  const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
  for (let index = 0; index < messages; index++) await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index) });
  await sender.close();
  return { receiver, endpoint };
}

describe('owner notifications survive crashes', () => {
  it('SQLite: SIGKILL after the attempt committed, then again while the notification is handed over: the next process hands it over, same id', { timeout: 90_000 }, async () => {
    const file = join(directory, 'notify.db');
    const setup = createSqliteStorage({ filename: file });
    const { receiver } = await prepare(setup, 8);
    await setup.close();
    const env = { NOTIFY_STORAGE: `sqlite:${file}` };
    const workers: Worker[] = [];
    try {
      // 1. Dies right after the 5th failed attempt committed (the one that records endpoint.failing).
      const killed = startWorker({ ...env, NOTIFY_MODE: 'kill-after=5' });
      workers.push(killed);
      expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(receiver.requests).toHaveLength(5);
      expect(notices(killed)).toEqual([]);
      const db = new Database(file, { readonly: true });
      const recorded = db.prepare('SELECT id, type, failures, delivered_at FROM notifications').all() as Array<{ id: string; type: string; failures: number; delivered_at: number | null }>;
      db.close();
      expect(recorded).toMatchObject([{ type: 'endpoint.failing', failures: 5, delivered_at: null }]);
      const id = recorded[0]?.id as string;

      // 2. Takes the notification, and is killed while its listener runs.
      const hanging = startWorker({ ...env, NOTIFY_MODE: 'hang' });
      workers.push(hanging);
      await until(() => hanging.lines.some((line) => line.startsWith('handling ')), 'the hand-over to start', workers);
      expect(hanging.lines.find((line) => line.startsWith('handling '))).toBe(`handling ${id} endpoint.failing 5`);
      hanging.child.kill('SIGKILL');
      await hanging.exited;

      // 3. Once the lease of the killed one ends, the next process gets it: the same id, a second hand-over.
      const listening = startWorker({ ...env, NOTIFY_MODE: 'listen' });
      workers.push(listening);
      await until(() => notices(listening).some((notice) => notice.id === id), 'the notification to be handed over again', workers);
      expect(notices(listening).find((notice) => notice.id === id)).toEqual({ id, type: 'endpoint.failing', count: 5, attempt: 2 });
      await listening.stop();
      const after = new Database(file, { readonly: true });
      const row = after.prepare('SELECT delivered_at, attempts FROM notifications WHERE id = ?').get(id) as { delivered_at: number | null; attempts: number };
      after.close();
      expect(row.delivered_at).not.toBeNull();
      expect(row.attempts).toBe(2);
    } finally {
      for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      await receiver.close();
    }
  });

  it('PostgreSQL: one process killed after the commit, three others hand over every notification once', { timeout: 120_000 }, async () => {
    const schema = randomSchema('hooks_notify');
    schemas.push(schema);
    const setup = createPostgresStorage({ pool, schema });
    await setup.migrate();
    const { receiver } = await prepare(setup, 25);
    await setup.close();
    const env = { NOTIFY_STORAGE: `postgres:${schema}`, NOTIFY_LEASE_MS: '10000' };
    const workers: Worker[] = [];
    try {
      const killed = startWorker({ ...env, NOTIFY_MODE: 'kill-after=5' });
      workers.push(killed);
      expect((await killed.exited).signal).toBe('SIGKILL');
      const listeners = Array.from({ length: 3 }, () => startWorker({ ...env, NOTIFY_MODE: 'listen' }));
      workers.push(...listeners);
      const all = () => listeners.flatMap(notices);
      // 20 failures in all disable the endpoint: notices at 5 (left by the killed process), 10, 15 and the disablement.
      await until(() => all().some((notice) => notice.type === 'endpoint.disabled'), 'the disablement notice', workers);
      await until(() => all().length >= 4, 'four notices', workers);
      await Promise.all(listeners.map((listener) => listener.stop()));
      expect(
        all()
          .map((notice) => `${notice.type} ${notice.count}`)
          .sort(),
      ).toEqual(['endpoint.disabled 20', 'endpoint.failing 10', 'endpoint.failing 15', 'endpoint.failing 5']);
      // Once each, by whichever process claimed it.
      expect(new Set(all().map((notice) => notice.id)).size).toBe(4);
      const { rows } = await pool.query(`SELECT id, delivered_at FROM "${schema}".notifications ORDER BY seq`);
      expect(rows.map((row) => row.id).sort()).toEqual(
        all()
          .map((notice) => notice.id)
          .sort(),
      );
      expect(rows.every((row) => row.delivered_at !== null)).toBe(true);
      expect(receiver.requests).toHaveLength(20);
    } finally {
      for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      await receiver.close();
    }
  });
});
