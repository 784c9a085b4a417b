import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
const key = Buffer.alloc(32, 7); const ko = createSecretKey(key);
const body = Buffer.alloc(330, 97); const prefix = 'msg_01M8EWTHEAP5DFQZZEFAN6B801.1764260321.';
const sig = 'v1,' + createHmac('sha256', key).update(prefix).update(body).digest('base64');
const N = 200000;
function bench(name: string, fn: () => unknown) { for (let i = 0; i < 5000; i++) fn(); const t0 = process.cpuUsage(); for (let i = 0; i < N; i++) fn(); const t = process.cpuUsage(t0); console.log(name.padEnd(30), ((t.user + t.system) / N).toFixed(3)); }
bench('hmac buffer key', () => createHmac('sha256', key).update(prefix).update(body).digest());
bench('hmac keyobject', () => createHmac('sha256', ko).update(prefix).update(body).digest());
bench('hmac keyobject utf8', () => createHmac('sha256', ko).update(prefix, 'utf8').update(body).digest());
bench('hmac buffer + b64', () => createHmac('sha256', key).update(prefix).update(body).digest('base64'));
bench('Buffer.from b64', () => Buffer.from(sig.slice(3), 'base64'));
bench('tse', () => timingSafeEqual(key, key));
bench('raw verify', () => { const e = createHmac('sha256', key).update(prefix).update(body).digest(); const g = Buffer.from(sig.slice(3), 'base64'); return g.length === e.length && timingSafeEqual(g, e); });
bench('Promise.resolve', () => Promise.resolve(1));
