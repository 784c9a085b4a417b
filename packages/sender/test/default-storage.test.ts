import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { generateEncryptionKey } from '../src/secret-box';
import { createSender } from '../src/sender';
import { createMemoryStorage } from '../src/storage/memory';
import { createSqliteStorage } from '../src/storage/sqlite';
import { broadcastEvents, LOOPBACK_POLICY, makeSender, recordingLogger, registrantData, startReceiver } from './support';

// tsx by absolute URL: the child runs in a fresh directory where `--import tsx` would not resolve.
const tsxLoader = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/loader.mjs')).href;
const worker = fileURLToPath(new URL('./fixtures/default-storage-worker.ts', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'hooks-default-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function runWorker(cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // The test's own working directory must not get a hooks.db: the child runs in `cwd`.
    const child = spawn(process.execPath, ['--import', tsxLoader, '--conditions=dev-source', worker], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('default storage', () => {
  it('is a durable SQLite file at ./hooks.db: a message sent survives the process', { timeout: 60_000 }, async () => {
    const cwd = mkdtempSync(join(directory, 'app-'));
    const { code, output } = await runWorker(cwd);
    expect(code, output).toBe(0);
    const { messageId, kind } = JSON.parse(output.trim().split('\n').pop() ?? '{}') as { messageId: string; kind: string };
    expect(kind).toBe('sqlite');
    expect(existsSync(join(cwd, 'hooks.db'))).toBe(true);
    // "After the restart": another process (this one) opens the same file and finds the message and its delivery.
    const storage = createSqliteStorage({ filename: join(cwd, 'hooks.db') });
    try {
      expect(await storage.getMessage(messageId)).toMatchObject({ id: messageId, tenant: 'acme' });
      expect((await storage.listDeliveries({ limit: 10, messageId })).items).toMatchObject([{ status: 'pending' }]);
    } finally {
      await storage.close();
    }
  });

  it("keeps memory as an explicit opt-in (storage: 'memory') that warns once that nothing survives a restart", async () => {
    const logger = recordingLogger();
    const sender = createSender({ catalog: broadcastEvents, storage: 'memory', logger });
    try {
      expect(sender.storage.kind).toBe('memory');
      await sender.endpoints.create({ tenant: 'acme', url: 'https://hooks.acme.example/' });
      await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
      await sender.drain().catch(() => {});
      const warnings = logger.lines.filter((line) => line.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.message).toMatch(/nothing survives a restart/);
      // Memory has nothing at rest: no encryption warning.
      expect(logger.text()).not.toMatch(/unencrypted/);
    } finally {
      await sender.close();
    }
  });

  it("refuses a storage that is neither a storage nor 'memory' with invalid_option", () => {
    expect(() => createSender({ catalog: broadcastEvents, storage: 'sqlite' as never, logger: recordingLogger() })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => createSender({ catalog: broadcastEvents, storage: {} as never, logger: recordingLogger() })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
  });
});

describe('logger', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('warns once at start-up when secrets would be stored unencrypted, and not with a key', async () => {
    const plain = recordingLogger();
    const storage = createSqliteStorage({ filename: ':memory:' });
    cleanups.push(() => storage.close());
    const first = createSender({ catalog: broadcastEvents, storage, logger: plain });
    cleanups.push(() => first.close());
    expect(plain.lines.map((line) => [line.level, line.message])).toEqual([['warn', expect.stringMatching(/^Endpoint secrets are stored unencrypted in sqlite/)]]);
    expect(plain.lines[0]?.message.split('\n')).toHaveLength(1);

    const encrypted = recordingLogger();
    const second = createSender({ catalog: broadcastEvents, storage, logger: encrypted, encryption: { keys: { k1: generateEncryptionKey() }, current: 'k1' } });
    cleanups.push(() => second.close());
    expect(encrypted.lines).toEqual([]);
  });

  it('warns that allowPrivateNetworks is deprecated, and it still works (loopback and private allowed, metadata not)', async () => {
    const logger = recordingLogger();
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const sender = createSender({ catalog: broadcastEvents, storage: createMemoryStorage(), logger, urlPolicy: { allowHttp: true, allowPrivateNetworks: true } });
    cleanups.push(() => sender.close());
    expect(logger.lines.some((line) => line.level === 'warn' && /allowPrivateNetworks is deprecated/.test(line.message))).toBe(true);
    // The other tests use urlPolicy.allow; this one keeps the old switch covered end to end.
    await sender.endpoints.create({ tenant: 't', url: receiver.url });
    await expect(sender.endpoints.create({ tenant: 'other', url: 'https://10.1.2.3/hooks' })).resolves.toBeDefined();
    await expect(sender.endpoints.create({ tenant: 'other', url: 'http://169.254.169.254/latest' })).rejects.toMatchObject({ code: 'blocked_address' });
    await sender.send({ tenant: 't', type: 'registrant.created', data: registrantData() });
    await sender.drain();
    expect(receiver.requests).toHaveLength(1);
  });

  it('refuses a logger without info, warn and error', () => {
    expect(() => makeSender({ logger: { info() {} } as never })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
  });

  it('logs the disablement of an endpoint', async () => {
    const receiver = await startReceiver(() => ({ status: 410 }));
    cleanups.push(() => receiver.close());
    const logger = recordingLogger();
    const sender = makeSender({ logger });
    cleanups.push(() => sender.close());
    const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await sender.drain();
    expect(logger.lines.filter((line) => line.level === 'warn' && /Endpoint disabled/.test(line.message)).map((line) => line.fields)).toEqual([
      { endpointId: endpoint.id, tenant: 'acme', reason: 'gone', consecutiveFailures: 1 },
    ]);
  });

  it('logs errors with nowhere else to go (a throwing listener, a storage error in the poll loop) unless onError takes them', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const logger = recordingLogger();
    const storage = createSqliteStorage({ filename: ':memory:' });
    const sender = createSender({ catalog: broadcastEvents, storage, logger, urlPolicy: LOOPBACK_POLICY, dispatcher: { pollIntervalMs: 20 } });
    cleanups.push(() => sender.close());
    sender.on('attempt.finished', () => {
      throw new Error('listener bug');
    });
    await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await sender.drain();
    expect(logger.lines.filter((line) => line.level === 'error').map((line) => line.message)).toEqual(['Error: listener bug']);

    // The storage breaks under a running dispatcher: the poll loop logs it and keeps going.
    await storage.close();
    sender.start();
    for (let index = 0; index < 500 && !logger.lines.some((line) => line.fields?.code === 'storage_error'); index++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(logger.lines.find((line) => line.fields?.code === 'storage_error')).toMatchObject({ level: 'error', message: expect.stringContaining('closed') });
    await sender.stop();

    const routed: unknown[] = [];
    const quiet = recordingLogger();
    const other = createSender({ catalog: broadcastEvents, storage: createMemoryStorage(), logger: quiet, urlPolicy: LOOPBACK_POLICY, onError: (error) => routed.push(error) });
    cleanups.push(() => other.close());
    other.on('attempt.finished', () => {
      throw new Error('listener bug');
    });
    await other.endpoints.create({ tenant: 'acme', url: receiver.url });
    await other.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await other.drain();
    expect(routed.map((error) => (error as Error).message)).toEqual(['listener bug']);
    expect(quiet.lines.filter((line) => line.level === 'error')).toEqual([]);
  });
});
