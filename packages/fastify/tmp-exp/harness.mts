import { fork } from 'node:child_process';
import { createMessageId, signHeaders } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import autocannon from 'autocannon';
const secret = 'whsec_WDZh34fazC7fllzTKgNryviuOvxriEcIvs69Oof+mDQ=';
const variants = process.argv.slice(2);
const example = broadcastEvents.definitions['registrant.created'].example;
async function reqs(n: number) { const out = []; for (let i = 0; i < n; i++) { const id = createMessageId(); const body = JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data: example });
  out.push({ method: 'POST', path: '/webhooks', headers: await signHeaders({ id, timestamp: new Date(), payload: body, secrets: secret, eventType: 'registrant.created' }), body }); } return out; }
const servers = new Map();
for (const v of variants) { const child = fork(new URL('./server.mts', import.meta.url).pathname, [v], { execArgv: ['--import', 'tsx', '--conditions=dev-source'], env: { ...process.env, BENCH_SECRET: secret }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((r) => child.once('message', (m: any) => r(m.port))); servers.set(v, { child, port }); }
const cpu = (child: any) => new Promise<number>((r) => { const l = (m: any) => { if (m?.cpu !== undefined) { child.off('message', l); r(m.cpu); } }; child.on('message', l); child.send('cpu'); });
const best: Record<string, number> = {};
for (let round = 0; round < 4; round++) for (const [v, { child, port }] of servers) {
  const all = await reqs(12000); let k = 0; const slices = Array.from({ length: 10 }, (_, i) => all.slice(i * 1200, (i + 1) * 1200));
  const before = await cpu(child);
  const r = await autocannon({ url: `http://127.0.0.1:${port}`, connections: 10, amount: 10000, setupClient: (c: any) => c.setRequests(slices[k++ % 10]) });
  const per = ((await cpu(child)) - before) / 10000; if (round > 0) best[v] = Math.min(best[v] ?? 1e9, per);
  console.log(v, round, per.toFixed(1), 'µs', r.non2xx);
}
console.log(best); for (const { child } of servers.values()) child.kill(); process.exit(0);
