import { createHmac, timingSafeEqual } from 'node:crypto';
import { generateSecret, parseKey, sign, verify } from '@hooks/core';
function payloadOf(bytes: number): string { const attendees: unknown[] = []; let body = '';
  for (let index = 0; body.length < bytes; index++) { attendees.push({ id: `reg_${index}`, email: `person${index}@example.com`, firstName: 'Ada', lastName: 'Lovelace', watchedMinutes: index % 90 });
    body = JSON.stringify({ id: 'msg_2Z4bench', type: 'broadcast.summary', timestamp: '2026-11-23T10:00:00.000Z', data: { sessionId: 'ses_01', attendees } }); } return body; }
const payload = payloadOf(1024); const secret = generateSecret(); const keyBytes = Buffer.from((parseKey(secret) as any).bytes);
const id = 'msg_2Z4benchmark000000000000'; const seconds = Math.floor(Date.now() / 1000);
const headers = { 'webhook-id': id, 'webhook-timestamp': String(seconds), 'webhook-signature': await sign({ id, timestamp: seconds, payload, secrets: secret }) };
function rawVerify(payload: string, headers: Record<string, string>): boolean {
  const messageId = headers['webhook-id']; const timestamp = headers['webhook-timestamp']; const signatures = headers['webhook-signature'];
  if (!messageId || !timestamp || !signatures) return false; const s = Number(timestamp);
  if (!Number.isInteger(s) || Math.abs(Date.now() / 1000 - s) > 300) return false;
  const expected = createHmac('sha256', keyBytes).update(`${messageId}.${timestamp}.`).update(payload).digest();
  for (const part of signatures.split(' ')) { if (!part.startsWith('v1,')) continue; const given = Buffer.from(part.slice(3), 'base64'); if (given.length === expected.length && timingSafeEqual(given, expected)) return true; }
  return false; }
const N = Number(process.argv[3] ?? 300000);
async function bench(name: string, fn: () => unknown, isAsync: boolean) { for (let i = 0; i < 20000; i++) isAsync ? await fn() : fn(); const t0 = process.cpuUsage(); if (isAsync) for (let i = 0; i < N; i++) await fn(); else for (let i = 0; i < N; i++) fn(); const t = process.cpuUsage(t0); console.log(name.padEnd(20), ((t.user + t.system) / N).toFixed(3), 'µs'); }
const which = process.argv[2] ?? 'all';
if (which === 'all' || which === 'raw') await bench('raw', () => rawVerify(payload, headers), false);
if (which === 'all' || which === 'ours') await bench('ours', () => verify(payload, headers, { secrets: secret }), true);
if (which === 'all' || which === 'raw') await bench('raw', () => rawVerify(payload, headers), false);
if (which === 'all' || which === 'ours') await bench('ours', () => verify(payload, headers, { secrets: secret }), true);
if (which === 'all') await bench('sign', () => sign({ id, timestamp: seconds, payload, secrets: secret }), true);
if (which === 'all') await bench('rawsign', () => `v1,${createHmac('sha256', keyBytes).update(`${id}.${seconds}.`).update(payload).digest('base64')}`, false);
