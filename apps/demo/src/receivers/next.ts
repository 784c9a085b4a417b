import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createFetchServer } from '../fetch-server';
import { close, listen } from './listen';
import { createNextReceiverRoutes } from './next-routes';
import type { ReceiverStartOptions, RunningReceiver } from './types';

/** The Next.js app of the demo (App Router): `app/api/webhooks/route.ts`. */
export const NEXT_APP_DIR = fileURLToPath(new URL('../../next-app', import.meta.url));

/** Options of {@link startNextReceiver}. */
export interface NextReceiverOptions extends ReceiverStartOptions {
  /** URL the real Next.js app reads its secrets and failure switch from (it runs in its own process). */
  controlUrl: string;
  /** `auto`: run the real app when it was built (`pnpm --filter @hooks/demo build:next`), else serve the same route handlers from Node; `route-only`: never start Next. @default 'auto' */
  mode?: 'auto' | 'route-only';
}

/** True when `next build` has been run for the demo's Next.js app. */
export function nextAppBuilt(): boolean {
  return existsSync(`${NEXT_APP_DIR}/.next/BUILD_ID`);
}

/**
 * Starts the Next.js receiver. With a built app it runs `next start` on a free loopback port;
 * otherwise it serves the same App Router route handlers (`@hooks/next`'s `webhookHandler`) from
 * a plain Node server, because building a Next app takes minutes and the demo must start at once.
 */
export async function startNextReceiver(options: NextReceiverOptions): Promise<RunningReceiver> {
  if ((options.mode ?? 'auto') === 'auto' && nextAppBuilt()) return startRealNext(options.controlUrl);
  const routes = createNextReceiverRoutes(options.control);
  const server = createFetchServer((request) => {
    const { pathname } = new URL(request.url);
    if (pathname === '/api/webhooks' && request.method === 'POST') return routes.post(request);
    if ((pathname === '/received' || pathname === '/api/webhooks') && request.method === 'GET') return routes.get();
    return Response.json({ error: { code: 'not_found', message: 'No such route.' } }, { status: 404 });
  });
  const base = await listen(server);
  return {
    name: 'next',
    label: 'Next.js (route handler)',
    webhookUrl: `${base}/api/webhooks`,
    receivedUrl: `${base}/received`,
    note: 'The App Router route handler served from Node; run `pnpm --filter @hooks/demo build:next` once to run the real Next.js app.',
    stop: () => close(server),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('No free port.'))));
    });
  });
}

async function startRealNext(controlUrl: string): Promise<RunningReceiver> {
  const nextBin = createRequire(import.meta.url).resolve('next/dist/bin/next');
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [nextBin, 'start', NEXT_APP_DIR, '--hostname', '127.0.0.1', '--port', String(port)], {
    env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', HOOKS_DEMO_CONTROL_URL: controlUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // If the demo exits without stop() (an uncaught error), the Next.js server must not outlive it.
  const killChild = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', killChild);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      process.off('exit', killChild);
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`${base}/received`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (attempt > 300 || child.exitCode !== null) {
      await stop();
      throw new Error(`next start did not come up:\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { name: 'next', label: 'Next.js (App Router)', webhookUrl: `${base}/api/webhooks`, receivedUrl: `${base}/received`, stop };
}
