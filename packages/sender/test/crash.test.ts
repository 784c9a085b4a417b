import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createSender } from '../src/sender';
import { createSqliteStorage } from '../src/storage/sqlite';
import { broadcastEvents, startReceiver } from './support';

const MESSAGES = 5_000;
const CONCURRENCY = 50;
const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'hooks-crash-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function run(args: string[]): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=dev-source', worker, ...args], {
    cwd: packageDirectory,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CRASH_CONCURRENCY: String(CONCURRENCY) },
  });
  const lines: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => lines.push(`stderr: ${chunk}`));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function until(check: () => boolean, what: string, lines: string[]): Promise<void> {
  // A generous bound so a stuck child fails the test instead of hanging it.
  for (let index = 0; index < 4500; index++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${what}; child said: ${lines.join(' | ').slice(0, 2000)}`);
}

describe('crash safety (SQLite)', () => {
  it('delivers every message after a SIGKILL mid-run, duplicating only attempts in flight', { timeout: 90_000 }, async () => {
    const seen = new Map<string, number>();
    const receiver = await startReceiver((request) => {
      seen.set(request.id, (seen.get(request.id) ?? 0) + 1);
      return { status: 200 };
    });
    const database = join(directory, 'crash.db');
    try {
      // The endpoint is created up front by this process on the same file.
      const setup = createSender({ catalog: broadcastEvents, storage: createSqliteStorage({ filename: database }), urlPolicy: { allowHttp: true, allow: ['loopback'] } });
      await setup.endpoints.create({ tenant: 'crash', url: receiver.url });
      await setup.close();
      await setup.storage.close();

      const startedAt = Date.now();
      const first = run(['send', database, String(MESSAGES)]);
      let sentAt = 0;
      await until(() => first.lines.includes('sent'), 'the first run to send', first.lines);
      sentAt = Date.now() - startedAt;
      await until(() => first.lines.includes('sent') && seen.size >= 1_000, 'the first run to deliver 1,000 messages', first.lines);
      first.child.kill('SIGKILL');
      await first.exited;
      const atKill = seen.size;
      expect(atKill).toBeLessThan(MESSAGES);

      const killedAt = Date.now() - startedAt;
      const second = run(['dispatch', database]);
      await until(() => second.lines.includes('done'), 'the second run to finish', second.lines);
      expect(await second.exited).toBe(0);

      const doneAt = Date.now() - startedAt;
      const missing = [];
      const storage = createSqliteStorage({ filename: database });
      const messages: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await storage.listMessages({ limit: 1000, cursor });
        messages.push(...page.items.map((message) => message.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const failed = await storage.listDeliveries({ limit: 10, status: 'failed' });
      await storage.close();
      for (const id of messages) if (!seen.has(id)) missing.push(id);
      const requests = [...seen.values()].reduce((sum, count) => sum + count, 0);
      const duplicates = requests - seen.size;
      console.log(`crash test: killed after ${atKill} ids, ${requests} requests, ${duplicates} duplicates (bound ${CONCURRENCY}); sent at ${sentAt} ms, killed at ${killedAt} ms, done at ${doneAt} ms`);

      expect(messages).toHaveLength(MESSAGES);
      expect(missing).toEqual([]);
      expect(seen.size).toBe(MESSAGES);
      expect(failed.items).toEqual([]);
      expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
    } finally {
      await receiver.close();
    }
  });
});
