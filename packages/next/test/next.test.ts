import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { silentLogger } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createSender } from '@hooks/sender';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecorderSnapshot, TEST_SECRETS } from './support/recorder';
import { registrantCreated, remoteReceiverMatrix, signed } from './support/remote-matrix';

// One real Next.js app (test/fixture-app), built once and served by `next start` on loopback;
// workspace packages are compiled from source (see its next.config.mjs).
const dir = fileURLToPath(new URL('./fixture-app', import.meta.url));
const nextBin = fileURLToPath(new URL('../node_modules/next/dist/bin/next', import.meta.url));
// `next build` runs with no webhook secret in its environment, as CI and Docker builds do; `next start` gets them.
const buildEnv: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' };
for (const name of Object.keys(buildEnv)) if (name.startsWith('WEBHOOK_SECRET')) delete buildEnv[name];
const startEnv: NodeJS.ProcessEnv = { ...buildEnv, WEBHOOK_SECRET: TEST_SECRETS[0], WEBHOOK_SECRET_NEXT: TEST_SECRETS[1] };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Waits until `condition` holds (server output arrives asynchronously); fails after 10 s. */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 50) {
    if (waited > 10_000) throw new Error(`condition not met; server output:\n${output.slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let server: ChildProcess | undefined;
let base = '';
let output = '';

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [nextBin, 'build'], { cwd: dir, env: buildEnv, maxBuffer: 16 * 1024 * 1024 });
  const port = await freePort();
  const child = spawn(process.execPath, [nextBin, 'start', '--hostname', '127.0.0.1', '--port', String(port)], { cwd: dir, env: startEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  server = child;
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`${base}/api/webhooks`)).ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 300 || child.exitCode !== null) throw new Error(`next start did not come up:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 180_000);

afterAll(() => {
  server?.kill('SIGTERM');
});

describe('next fixture app', () => {
  it.each([
    ['/api/webhooks', 'nodejs', 'node'],
    ['/api/webhooks-edge', 'edge', 'web'],
  ])('%s runs on the %s runtime with the %s crypto backend', async (path, runtime, crypto) => {
    const snapshot = (await (await fetch(`${base}${path}`)).json()) as RecorderSnapshot & { runtime: string; crypto: string };
    expect(snapshot.runtime).toBe(runtime);
    expect(snapshot.crypto).toBe(crypto);
  });

  remoteReceiverMatrix('App Router, nodejs runtime', () => `${base}/api/webhooks`);
  // Self-hosted Next reads an edge route's whole body (up to 10 MB) before the handler runs.
  remoteReceiverMatrix('App Router, edge runtime', () => `${base}/api/webhooks-edge`, { streamsBody: false });
  // Next's server may reset an oversized Pages upload before our 413 reaches the client.
  remoteReceiverMatrix('Pages Router, bodyParser: false', () => `${base}/api/legacy`, { resetAllowed: true });

  it('answers 500 body_already_parsed when the Pages route left bodyParser on', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${base}/api/parsed`, { method: 'POST', body, headers: await signed(id, body) });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('body_already_parsed');
  });

  it('was built with no secret in the environment; a route whose secret is still unset answers 500 missing_secret and logs why', async () => {
    const { id, body } = registrantCreated();
    const response = await fetch(`${base}/api/unset`, { method: 'POST', body, headers: await signed(id, body) });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('missing_secret');
    await until(() => /\[@hooks\/next\][^\n]*missing_secret/.test(output));
  });

  it('logs a throwing handler to the server log with the webhook id and type, never the body', async () => {
    const { id, body } = registrantCreated({ utmSource: 'fail-once' });
    expect((await fetch(`${base}/api/webhooks`, { method: 'POST', body, headers: await signed(id, body) })).status).toBe(500);
    await until(() => output.includes(id));
    const line = output.slice(output.lastIndexOf('[@hooks/next]', output.indexOf(id)));
    expect(line).toContain('handler failed');
    expect(line).toContain("type: 'registrant.created'");
    expect(output).not.toContain('zoe@example.com');
    expect(output).not.toContain(TEST_SECRETS[0]);
  });

  it('answers GET on a Pages Router webhook route with 405 and Allow: POST', async () => {
    const response = await fetch(`${base}/api/plain`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
  });

  it('serves the Pages Router route as docs/next.md shows it', async () => {
    const { id, body } = registrantCreated();
    expect((await fetch(`${base}/api/plain`, { method: 'POST', body, headers: await signed(id, body) })).status).toBe(200);
  });

  it('keeps one dedupe store per route: the same id is handled once by each', async () => {
    const { id, body } = registrantCreated();
    const headers = await signed(id, body, { secret: TEST_SECRETS[0] });
    for (const path of ['/api/webhooks', '/api/webhooks-edge', '/api/legacy']) {
      expect((await fetch(`${base}${path}`, { method: 'POST', body, headers })).status).toBe(200);
    }
  });
});

// @hooks/sender (memory storage) fanning out to the three routes over loopback HTTP. The app's
// secrets are fixed (TEST_SECRETS), so the endpoints are pointed at them through the storage.
describe('end to end: @hooks/sender → Next.js routes', () => {
  const paths = ['/api/webhooks', '/api/webhooks-edge', '/api/legacy'];

  it('delivers every message once to every route, through a secret rotation', async () => {
    const sender = createSender({ catalog: broadcastEvents, storage: 'memory', urlPolicy: { allowHttp: true, allow: ['loopback'] }, logger: silentLogger, onError: () => undefined });
    try {
      const rotate = async (endpointId: string, secret: string, overlapMs: number) => {
        const now = Date.now();
        expect(await sender.storage.rotateSecret({ endpointId, secret, previousExpiresAt: now + overlapMs, now })).toBeTruthy();
      };
      const endpoints: string[] = [];
      for (const path of paths) {
        const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: `${base}${path}` });
        // The generated secret retires at once: from here the endpoint signs with the app's first secret only.
        await rotate(endpoint.id, TEST_SECRETS[0], 0);
        endpoints.push(endpoint.id);
      }
      const sendSome = async (count: number): Promise<string[]> => {
        const ids: string[] = [];
        for (let index = 0; index < count; index++) {
          const data = { ...broadcastEvents.definitions['registrant.created'].example, sessionId: `ses_${index}` };
          ids.push((await sender.send({ tenant: 'acme', type: 'registrant.created', data })).messageId);
        }
        await sender.drain();
        return ids;
      };
      const before = await sendSome(2);
      // Mid-stream rotation: both secrets sign during the overlap.
      for (const endpointId of endpoints) await rotate(endpointId, TEST_SECRETS[1], 60_000);
      expect((await sender.endpoints.getSecrets(endpoints[0]!)).previous.map((entry) => entry.secret)).toEqual([TEST_SECRETS[0]]);
      const during = await sendSome(2);
      const all = [...before, ...during];
      for (const messageId of all) {
        const deliveries = (await sender.deliveries.list({ messageId })).items;
        expect(deliveries.map((delivery) => [delivery.status, delivery.lastStatus])).toEqual(paths.map(() => ['succeeded', 200]));
      }
      for (const path of paths) {
        const snapshot = (await (await fetch(`${base}${path}`)).json()) as RecorderSnapshot;
        expect(all.map((id) => snapshot.calls[id])).toEqual(all.map(() => 1));
      }
    } finally {
      await sender.close();
    }
  });
});
