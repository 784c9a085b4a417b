import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '@hooks/core';
import { createAdminHandler, createSender, createSqliteStorage } from '@hooks/sender';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import catalog from './fixtures/events.mjs';
import { runCli, secret, startReceiver, temporaryDirectory } from './support';

const folder = temporaryDirectory();
const key = secret();
let receiver: Awaited<ReturnType<typeof startReceiver<typeof catalog>>>;
let endpointSecret = key;

beforeAll(async () => {
  receiver = await startReceiver(catalog, () => endpointSecret);
});
afterAll(async () => {
  await receiver.close();
  folder.remove();
});

let files = 0;
function file(content: string | Buffer): string {
  const path = join(folder.path, `replay-${++files}`);
  writeFileSync(path, content);
  return path;
}

const ENVELOPE = '{"id":"msg_captured_1","type":"registrant.created","timestamp":"2026-01-01T00:00:00.000Z","data":{"email":"ada@example.com","sessionId":"ses_01"}}';

/** A raw HTTP capture of a request signed an hour ago, with a custom header: what `nc -l` or a request bin keeps. */
async function staleCapture(envelope = ENVELOPE): Promise<string> {
  const signed = await runCli(['sign', '--secret', key, '--timestamp', String(Math.floor(Date.now() / 1000) - 3600), '--attempt', '3'], { input: envelope });
  expect(signed.code).toBe(0);
  const headers = `${signed.stdout.trim().replaceAll('\n', '\r\n')}\r\nx-acme-team: growth\r\nhost: old.example\r\ncontent-length: ${Buffer.byteLength(envelope)}`;
  return file(`POST /webhooks HTTP/1.1\r\n${headers}\r\n\r\n${envelope}\n`);
}

describe('hooks replay', () => {
  test('re-sends a stale capture with a fresh timestamp: same body, id and custom headers; the receiver accepts it', async () => {
    const capture = await staleCapture();
    const stale = await runCli(['verify', capture, '--secret', key, '--json']);
    expect(JSON.parse(stale.stdout)).toMatchObject({ reason: 'stale_timestamp' });
    const before = receiver.requests.length;
    const run = await runCli(['replay', capture, '--url', `${receiver.url}/webhooks`, '--secret', key, '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ ok: true, source: 'http', request: { id: 'msg_captured_1', type: 'registrant.created', profile: 'x-webhook' }, response: { status: 200 } });
    const received = receiver.requests[before]!;
    expect(received.body.toString()).toBe(ENVELOPE);
    expect(received.headers).toMatchObject({ 'x-webhook-id': 'msg_captured_1', 'x-webhook-attempt': '3', 'x-acme-team': 'growth', 'x-webhook-event': 'registrant.created' });
    expect(received.headers.host).not.toBe('old.example');
    expect(Math.abs(Number(received.headers['x-webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(120);
    expect(receiver.events.at(-1)).toMatchObject({ id: 'msg_captured_1', data: { email: 'ada@example.com' } });
  });

  test('the same id again is a duplicate for the receiver; --new-id sends it under a new id, in the header and the envelope', async () => {
    const envelope = ENVELOPE.replace('msg_captured_1', 'msg_captured_2');
    const capture = await staleCapture(envelope);
    expect((await runCli(['replay', capture, '-u', `${receiver.url}/webhooks`, '-s', key])).code).toBe(0);
    const again = await runCli(['replay', capture, '-u', `${receiver.url}/webhooks`, '-s', key, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(JSON.parse(again.stdout).response.body)).toMatchObject({ duplicate: true, id: 'msg_captured_2' });
    const fresh = await runCli(['replay', capture, '-u', `${receiver.url}/webhooks`, '-s', key, '--new-id', '--json']);
    const report = JSON.parse(fresh.stdout);
    expect(report.request.id).toMatch(/^msg_[0-9A-Z]{26}$/);
    expect(JSON.parse(report.request.body).id).toBe(report.request.id);
    expect(JSON.parse(report.response.body)).toEqual({ ok: true, id: report.request.id });
  });

  test("re-sends an attempt exported from the admin API to the endpoint's URL, with the endpoint's headers", async () => {
    const storage = createSqliteStorage({ filename: join(folder.path, 'admin.db') });
    const sender = createSender({ catalog, storage, urlPolicy: { allowHttp: true, allow: ['loopback'] }, logger: silentLogger });
    let senderOpen = true;
    try {
      const created = await sender.endpoints.create({ tenant: 'acme', url: `${receiver.url}/webhooks`, headers: { 'x-acme-team': 'sales' }, profile: 'standard' });
      endpointSecret = created.secret;
      const { messageId } = await sender.send({ tenant: 'acme', type: 'session.ended', data: { sessionId: 'ses_9', attendees: 9 } });
      await sender.drain();
      const [delivery] = (await sender.deliveries.list({ messageId })).items;
      const admin = createAdminHandler(sender, { authorize: () => ({ tenant: 'acme' }) });
      const response = await admin(new Request(`http://admin.test/deliveries/${delivery!.id}/attempts`));
      expect(response.status).toBe(200);
      const exported = file(await response.text());
      const before = receiver.requests.length;
      const run = await runCli(['replay', exported, '--secret', created.secret, '--new-id', '--json']);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ source: 'attempt', request: { url: `${receiver.url}/webhooks`, type: 'session.ended', profile: 'standard' } });
      const received = receiver.requests[before]!;
      expect(received.headers).toMatchObject({ 'x-acme-team': 'sales', 'webhook-id': expect.stringMatching(/^msg_/) });
      expect(received.headers['webhook-signature']).toMatch(/^v1,/);
      expect(receiver.events.at(-1)).toMatchObject({ type: 'session.ended', data: { sessionId: 'ses_9', attendees: 9 } });
      expect(run.stdout).not.toContain(created.secret);

      // The same message straight from the database.
      await sender.close();
      senderOpen = false;
      const fromDatabase = await runCli(['replay', '--database', join(folder.path, 'admin.db'), '--message', messageId, '-u', `${receiver.url}/webhooks`, '-s', created.secret, '--json']);
      expect(fromDatabase.code).toBe(0);
      expect(JSON.parse(fromDatabase.stdout)).toMatchObject({ source: 'message', request: { id: messageId }, response: { status: 200 } });
      const unknown = await runCli(['replay', '--database', join(folder.path, 'admin.db'), '--message', 'msg_nope', '-u', `${receiver.url}/webhooks`, '-s', created.secret]);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toContain('error[message_not_found]');
    } finally {
      endpointSecret = key;
      if (senderOpen) await sender.close();
      await storage.close();
    }
  });

  test('an envelope file is sent as it is', async () => {
    const envelope = ENVELOPE.replace('msg_captured_1', 'msg_envelope_1');
    const run = await runCli(['replay', '-u', `${receiver.url}/webhooks`, '-s', key, '--json'], { input: envelope });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ source: 'envelope', request: { id: 'msg_envelope_1', body: envelope } });
  });

  test('bad input: no URL, a missing file, --message without --database', async () => {
    const noUrl = await runCli(['replay', await staleCapture(), '-s', key]);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('--url');
    const missing = await runCli(['replay', join(folder.path, 'nope.http'), '-u', receiver.url, '-s', key]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('error[file_not_found]');
    const half = await runCli(['replay', '--message', 'msg_1', '-u', receiver.url, '-s', key]);
    expect(half.code).toBe(2);
  });
});
