// Runs one benchmarked server in its own process: `child.ts <module> <mode> <path>`, the secret in
// BENCH_SECRET (not argv, which every process listing shows).
// Reports the port to the parent over IPC and runs until killed.
import { pathToFileURL } from 'node:url';
import type { BenchMode, StartServer } from './contenders';

const [modulePath, mode, path] = process.argv.slice(2) as [string, BenchMode, string];
const secret = process.env.BENCH_SECRET ?? '';
const { start } = (await import(pathToFileURL(modulePath).href)) as { start: StartServer };
const port = await start(mode, { secret, path });
process.send?.({ port });
// The benchmark asks for this process's CPU time around each run: a cost per request that,
// unlike requests/s, holds up on a machine shared with other work.
process.on('message', (message) => {
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send?.({ cpu: user + system });
  }
});
// If the benchmark process goes away, so does this server.
process.on('disconnect', () => process.exit(0));
