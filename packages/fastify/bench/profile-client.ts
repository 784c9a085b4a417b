// Sends `count` unique signed requests (10 keep-alive connections) to 127.0.0.1:<port>/webhooks.
//   node --import tsx bench/profile-client.ts <port> <count> [connections]   (BENCH_SECRET as the server's)
import { Agent, request as httpRequest } from 'node:http';
import { createMessageId, signHeaders } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';

const [port, count, connections] = [Number(process.argv[2]), Number(process.argv[3] ?? 20000), Number(process.argv[4] ?? 10)];
const secret = process.env.BENCH_SECRET ?? '';
const example = broadcastEvents.definitions['registrant.created'].example;
const requests: Array<{ headers: Record<string, string>; body: string }> = [];
for (let index = 0; index < count; index++) {
  const id = createMessageId();
  const body = JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data: example });
  const headers = await signHeaders({ id, timestamp: new Date(), payload: body, secrets: secret, eventType: 'registrant.created' });
  requests.push({ headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body });
}
const agent = new Agent({ keepAlive: true, maxSockets: connections });
let next = 0;
let failed = 0;
function one(): Promise<void> {
  const item = requests[next++];
  if (!item) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/webhooks', method: 'POST', headers: item.headers, agent }, (res) => {
      if (res.statusCode !== 200) failed++;
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(item.body);
  }).then(one);
}
const started = performance.now();
await Promise.all(Array.from({ length: connections }, one));
agent.destroy();
process.stdout.write(`${count} requests in ${Math.round(performance.now() - started)} ms, ${failed} not 200\n`);
if (failed > 0) process.exitCode = 1;
