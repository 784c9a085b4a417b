// Drives profile-server.ts modes with profile-client.ts and prints CPU µs per request per mode
// (paired rounds). With CALLGRIND=1 the servers run under valgrind --tool=callgrind, collecting
// only during the measured requests; instructions per request = Ir / count (callgrind_annotate).
//   node --import tsx bench/profile-driver.ts <count> <rounds> <mode...>
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { generateSecret } from '@hooks/core';

const [count, rounds, ...modes] = [Number(process.argv[2] ?? 20000), Number(process.argv[3] ?? 3), ...process.argv.slice(4)];
const callgrind = process.env.CALLGRIND === '1';
const outDir = process.env.CALLGRIND_DIR ?? '/tmp';
const secret = generateSecret();
const env = { ...process.env, BENCH_SECRET: secret };
const here = new URL('.', import.meta.url).pathname;

interface Server { child: ChildProcess; port: number; lines: AsyncIterator<string> }
async function start(mode: string): Promise<Server> {
  const profile = process.env.CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-interval=50', `--cpu-prof-dir=${process.env.CPU_PROF_DIR}/${mode}`] : [];
  const node = [process.execPath, ...profile, '--import', 'tsx', `${here}profile-server.ts`, mode];
  const command = callgrind ? ['valgrind', '--tool=callgrind', '--collect-atstart=no', `--callgrind-out-file=${outDir}/callgrind.${mode}.%p`, ...node] : node;
  const child = spawn(command[0]!, command.slice(1), { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const port = Number((await lines.next()).value);
  return { child, port, lines };
}
async function cpu(server: Server): Promise<number> {
  server.child.stdin!.write('cpu\n');
  for (;;) {
    const line = String((await server.lines.next()).value);
    if (line.startsWith('cpu ')) return Number(line.slice(4));
  }
}
function client(port: number, n: number): void {
  execFileSync(process.execPath, ['--import', 'tsx', `${here}profile-client.ts`, String(port), String(n)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}
const servers = new Map<string, Server>();
for (const mode of modes) servers.set(mode, await start(mode));
for (const [, server] of servers) client(server.port, callgrind ? 3000 : 10000);
const results = new Map<string, number[]>(modes.map((mode) => [mode, []]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? modes : [...modes].reverse();
  for (const mode of order) {
    const server = servers.get(mode)!;
    if (callgrind) execFileSync('callgrind_control', ['-i', 'on', String(server.child.pid)], { stdio: 'ignore' });
    const before = await cpu(server);
    client(server.port, count);
    const after = await cpu(server);
    if (callgrind) execFileSync('callgrind_control', ['-i', 'off', String(server.child.pid)], { stdio: 'ignore' });
    results.get(mode)!.push((after - before) / count);
  }
}
for (const [mode, runs] of results) console.log(`${mode.padEnd(8)} µs CPU/request: ${runs.map((value) => value.toFixed(1)).join(' ')}  (min ${Math.min(...runs).toFixed(1)})`);
for (const server of servers.values()) {
  server.child.stdin!.end();
  await once(server.child, 'exit');
}
