import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createSender, createTransport } from '../src/index';
import { endpointUrl, examplePayload, peakRssMiB, report, settings } from './shared';

// (a) / (b) @hooks/sender on SQLite (a file, WAL) or memory: send() every message, let the
// dispatcher deliver with the same concurrency, stop when every delivery succeeded.

const storageKind = process.env.BENCH_STORAGE === 'memory' ? 'memory' : 'sqlite';
const directory = mkdtempSync(join(tmpdir(), 'hooks-bench-'));
const urlPolicy = { allowHttp: true, allow: ['loopback'] } as const;
const sender = createSender({
  catalog: broadcastEvents,
  ...(storageKind === 'sqlite' ? { database: join(directory, 'hooks.db') } : { storage: 'memory' as const }),
  urlPolicy,
  transport: createTransport({ urlPolicy, connectionsPerOrigin: settings.concurrency }),
  dispatcher: { concurrency: settings.concurrency, perEndpointConcurrency: settings.concurrency },
});

const tenant = 'tenant_bench';
for (let index = 0; index < settings.endpoints; index += 1) {
  await sender.endpoints.create({ tenant, url: endpointUrl(index), profile: 'standard' });
}

const total = settings.messages * settings.endpoints;
let succeeded = 0;
let resolveDone: () => void = () => {};
const done = new Promise<void>((resolve) => {
  resolveDone = resolve;
});
sender.on('delivery.succeeded', () => {
  succeeded += 1;
  if (succeeded === total) resolveDone();
});

// The dispatcher's timers are unref'd (a host app's server keeps the process alive); here nothing else would.
const keepAlive = setInterval(() => {}, 1000);
const started = performance.now();
sender.start();
for (let index = 0; index < settings.messages; index += 1) {
  await sender.send({ tenant, type: 'registrant.created', data: examplePayload(index) });
}
await done;
const seconds = (performance.now() - started) / 1000;
const peak = peakRssMiB(); // before reading the log back below
clearInterval(keepAlive);
await sender.stop();
// Every attempt must be in the log (the target says "with every attempt durably logged").
let logged = 0;
let cursor: string | undefined;
do {
  const page = await sender.attempts.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
  logged += page.items.length;
  cursor = page.nextCursor ?? undefined;
} while (cursor !== undefined);
if (logged < total) throw new Error(`only ${logged} of ${total} attempts are logged`);
await sender.close();
rmSync(directory, { recursive: true, force: true });
report({ name: `@hooks/sender (${storageKind})`, deliveries: succeeded, seconds, peakRssMiB: peak, extra: { attemptsLogged: logged } });
