// The SQLite storage alone, no HTTP and no dispatcher: CPU µs per delivery (the process's, so the
// checkpointer thread counts) to enqueue fan-outs to 10 endpoints, claim 50 at a time and finish
// them as one batch, 3 rounds of N messages (default 4,000). For comparing storage changes:
//   node --import tsx --conditions=dev-source bench/sqlite-storage-loop.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStorage } from '../src/storage/sqlite';
const dir = mkdtempSync(join(tmpdir(), 'sl-'));
const storage = createSqliteStorage({ filename: join(dir, 'x.db') });
for (let i = 0; i < 10; i++) await storage.createEndpoint({ id: `ep_${i}`, tenant: 't', url: 'https://example.com/' + i, name: null, description: null, events: [], headers: {}, profile: 'standard', metadata: {}, enabled: true, disabledReason: null, rateLimit: null, fifo: false, createdAt: 1 }, { secret: 'whsec_' + 'a'.repeat(32), createdAt: 1, expiresAt: null });
const payload = JSON.stringify({ id: 'reg_1', email: 'someone@example.com', name: 'Some One', webinar: 'web_1', at: '2026-01-01T00:00:00Z', extra: 'x'.repeat(60) });
const messages = Number(process.env.N ?? 4000);
const t = { enqueue: 0, claim: 0, finish: 0 };
let now = 1000;
let id = 0;
for (let round = 0; round < 3; round++) {
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: messages }, (_, i) => storage.enqueueMessage({ message: { id: `msg_${round}_${i}`, tenant: 't', type: 'registrant.created', payload, idempotencyKey: null, createdAt: now }, now })));
  const c1 = process.cpuUsage(c0); t.enqueue += c1.user + c1.system;
  let left = messages * 10;
  while (left > 0) {
    now += 1;
    const a = process.cpuUsage();
    const claimed = await storage.claimDeliveries({ owner: 'w', now, leaseMs: 30000, limit: 50, perEndpointConcurrency: 50 });
    const b = process.cpuUsage(a); t.claim += b.user + b.system;
    const inputs = claimed.map((item) => ({ deliveryId: item.delivery.id, owner: 'w', attempt: { id: `att_${id++}`, deliveryId: item.delivery.id, messageId: item.delivery.messageId, endpointId: item.delivery.endpointId, number: 1, startedAt: now, durationMs: 1.5, statusCode: 200, responseHeaders: { 'content-type': 'text/plain' }, responseBody: 'ok', errorCode: null, success: true }, next: { status: 'succeeded' as const, nextAttemptAt: null }, endpoint: { success: true }, now }));
    const c = process.cpuUsage();
    await storage.finishAttempts(inputs);
    const d = process.cpuUsage(c); t.finish += d.user + d.system;
    left -= claimed.length;
    if (claimed.length === 0) throw new Error('stuck');
  }
}
const n = messages * 10 * 3;
console.log(`µs per delivery: enqueue ${(t.enqueue / n).toFixed(1)} claim ${(t.claim / n).toFixed(1)} finish ${(t.finish / n).toFixed(1)} total ${((t.enqueue + t.claim + t.finish) / n).toFixed(1)}`);
await storage.close();
rmSync(dir, { recursive: true, force: true });
