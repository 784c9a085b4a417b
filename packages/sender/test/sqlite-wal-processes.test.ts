import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/storage/sqlite';

// Several PROCESSES writing steadily to one SQLite file (a web process beside `hooks dispatch`):
// the WAL must still start over near walLimitMiB. One connection holding its own writes for a
// checkpoint cannot restart it while another process keeps appending (before the fix, this run
// peaked at 22-52 MiB for a 4 MiB limit); every process must hold for one restart checkpoint.
// No timing: this process samples the -wal file's size every millisecond and each writer after
// each of its commits (with the checkpointer running the file keeps its largest size anyway).
const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/sqlite-wal-writer.ts', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'hooks-sqlite-wal-'));
// Children still running when the test ends (a failure, a timeout) are killed, never left writing.
const alive = new Set<ChildProcess>();
afterAll(() => {
  for (const child of alive) child.kill('SIGKILL');
  rmSync(directory, { recursive: true, force: true });
});
const MiB = 1024 * 1024;

function start(args: string[]): { child: ChildProcess; output: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=dev-source', worker, ...args], { cwd: packageDirectory, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => output.push(`stderr: ${chunk}`));
  alive.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      alive.delete(child);
      // One process failed: the others would wait for its work forever.
      if (code !== 0) for (const other of alive) other.kill('SIGKILL');
      resolve(code);
    }),
  );
  return { child, output, exited };
}

async function writeFromProcesses(name: string, walLimitMiB: number, senders: number, messagesEach: number, endpoints: number): Promise<{ largest: number; finished: number }> {
  const filename = join(directory, `${name}.db`);
  const setup = createSqliteStorage({ filename, walLimitMiB });
  for (let index = 0; index < endpoints; index++) {
    await setup.createEndpoint(
      { id: `ep_${index}`, tenant: 't', url: 'https://example.com', name: null, description: null, events: [], headers: {}, profile: 'x-webhook', metadata: {}, enabled: true, disabledReason: null, rateLimit: null, fifo: false, createdAt: 1 },
      { secret: 'whsec_x', createdAt: 1, expiresAt: null },
    );
  }
  await setup.close();
  const total = senders * messagesEach * endpoints;
  const children = [
    ...Array.from({ length: senders }, (_, index) => start(['send', filename, String(walLimitMiB), String(messagesEach), `p${index}`])),
    start(['dispatch', filename, String(walLimitMiB), String(total)]),
  ];
  let largest = 0;
  let running = true;
  const exits = Promise.all(children.map((child) => child.exited)).finally(() => {
    running = false;
  });
  while (running) {
    try {
      largest = Math.max(largest, statSync(`${filename}-wal`).size);
    } catch {
      // Not there at this instant (before the first write, after the last close).
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const codes = await exits;
  const said = children.map((child) => child.output.join('')).join(' | ');
  expect(codes, said).toEqual(children.map(() => 0));
  for (const child of children) {
    const done = /done (\d+)/.exec(child.output.join(''));
    expect(done, said).not.toBeNull();
    largest = Math.max(largest, Number(done?.[1]));
  }
  const check = new Database(filename, { readonly: true });
  try {
    const finished = check.prepare("SELECT count(*) FROM deliveries WHERE status = 'succeeded'").pluck().get() as number;
    return { largest, finished };
  } finally {
    check.close();
  }
}

describe('SQLite WAL with several processes on one file', () => {
  it('starts the WAL over near walLimitMiB while two senders and a dispatcher write at once', { timeout: 180_000 }, async () => {
    // Each fan-out to 100 endpoints appends ~170 WAL pages (0.7 MiB), its dispatch about as much
    // again: ~300 MiB of WAL frames in all, 75 times the 4 MiB limit. Past the limit: at most the
    // commit each process has under way when the WAL reaches it (a sender's 4 fan-outs, 2.8 MiB).
    // Measured 5-6 MiB; 12 MiB leaves room for a slow machine, not for a WAL that does not restart.
    const { largest, finished } = await writeFromProcesses('three', 4, 2, 120, 100);
    console.log(`sqlite WAL, 3 processes, walLimitMiB 4: largest WAL ${(largest / MiB).toFixed(1)} MiB`);
    expect(finished).toBe(24_000);
    expect(largest).toBeLessThan(12 * MiB);
  });
});
