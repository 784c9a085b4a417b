import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createPostgresStorage, createSender, createTransport } from '../src/index';
import { peakRssMiB } from './shared';

// The dispatcher process of backlog.ts: sends BACKLOG_COUNT messages to the live tenant of an
// existing schema (with a big backlog of waiting deliveries) and delivers them, then prints its
// peak RSS.

const count = Number(process.env.BACKLOG_COUNT ?? 2000);
const storage = createPostgresStorage({ connectionString: process.env.BACKLOG_DATABASE ?? '', schema: process.env.BACKLOG_SCHEMA ?? 'hooks', migrate: false });
const urlPolicy = { allowHttp: true, allow: ['loopback'] } as const;
const sender = createSender({ catalog: broadcastEvents, storage, urlPolicy, transport: createTransport({ urlPolicy, connectionsPerOrigin: 50 }), logger: { info() {}, warn() {}, error() {} } });
let succeeded = 0;
const total = count;
let resolveDone: () => void = () => {};
const done = new Promise<void>((resolve) => {
  resolveDone = resolve;
});
sender.on('delivery.succeeded', () => {
  succeeded++;
  if (succeeded === total) resolveDone();
});
const keepAlive = setInterval(() => {}, 1000);
const started = performance.now();
sender.start();
const example = broadcastEvents.definitions['registrant.created']?.example as never;
// Two live endpoints: count / 2 messages.
for (let start = 0; start < count / 2; start += 100) {
  await sender.sendMany(Array.from({ length: Math.min(100, count / 2 - start) }, () => ({ tenant: 'live', type: 'registrant.created' as const, data: example })));
}
await done;
const seconds = (performance.now() - started) / 1000;
clearInterval(keepAlive);
await sender.close();
await storage.close();
process.stdout.write(`RESULT ${JSON.stringify({ rssMiB: peakRssMiB(), seconds })}\n`);
