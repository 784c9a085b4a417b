import { createMessageId, createReceiver, signHeaders, verify } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
const secret = 'whsec_WDZh34fazC7fllzTKgNryviuOvxriEcIvs69Oof+mDQ=';
const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret }).on('registrant.created', () => undefined);
const example = broadcastEvents.definitions['registrant.created'].example;
const N = 60000; const items = [];
for (let i = 0; i < N; i++) { const id = createMessageId(); const body = Buffer.from(JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data: example }));
  const h = await signHeaders({ id, timestamp: new Date(), payload: body, secrets: secret, eventType: 'registrant.created' });
  items.push({ body, headers: { host: 'x', 'content-length': String(body.length), connection: 'keep-alive', ...h } }); }
const mode = process.argv[2];
const t0 = process.cpuUsage();
for (const item of items) {
  if (mode === 'verify') await verify(item.body, item.headers, { secrets: secret });
  else if (mode === 'parse') JSON.parse(item.body.toString());
  else if (mode === 'zod') broadcastEvents.definitions['registrant.created'].schema['~standard'].validate(example);
  else await receiver.handle(item);
}
const t = process.cpuUsage(t0); console.log(mode, ((t.user + t.system) / N).toFixed(2), 'µs/op');
