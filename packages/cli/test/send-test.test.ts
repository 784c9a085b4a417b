import { join } from 'node:path';
import { webhooks } from '@hooks/express';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import catalog from './fixtures/events.mjs';
import { closedPort, fixtures, runCli, secret, startHeldServer, startReceiver } from './support';

const key = secret();
let receiver: Awaited<ReturnType<typeof startReceiver<typeof catalog>>>;

beforeAll(async () => {
  receiver = await startReceiver(catalog, key);
});
afterAll(() => receiver.close());

const events = join(fixtures, 'events.mjs');

describe('hooks send-test', () => {
  test("sends the catalog's example, signed, to a real receiver and prints status, response and timing", async () => {
    const before = receiver.events.length;
    const run = await runCli(['send-test', '--url', `${receiver.url}/webhooks`, '--secret', key, '--catalog', events, '--type', 'registrant.created']);
    expect(run.code).toBe(0);
    expect(receiver.events.slice(before)).toEqual([
      expect.objectContaining({ type: 'registrant.created', data: { email: 'ada@example.com', sessionId: 'ses_01', tags: ['vip'] } }),
    ]);
    expect(run.stdout).toContain(`POST ${receiver.url}/webhooks`);
    expect(run.stdout).toMatch(/OK HTTP 200 OK in \d+(\.\d)? ms/);
    expect(run.stdout).toContain('content-type: application/json');
    expect(run.stdout).toContain(`signed with whsec_…${key.slice(-4)}`);
    expect(run.stdout).not.toContain(key);
  });

  test('sends the same bytes and headers as the dispatcher: envelope, event and attempt headers (--json)', async () => {
    const before = receiver.requests.length;
    const run = await runCli(['send-test', '-u', `${receiver.url}/webhooks`, '-c', events, '-t', 'session.ended', '--json'], { env: { WEBHOOK_SECRET: key } });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    const received = receiver.requests[before]!;
    expect(received.body.toString()).toBe(report.request.body);
    const envelope = JSON.parse(report.request.body);
    expect(Object.keys(envelope)).toEqual(['id', 'type', 'timestamp', 'data']);
    expect(envelope).toMatchObject({ id: report.request.id, type: 'session.ended', data: { sessionId: 'ses_01', attendees: 42 } });
    expect(received.headers).toMatchObject({ 'x-webhook-id': envelope.id, 'x-webhook-event': 'session.ended', 'x-webhook-attempt': '1', 'content-type': 'application/json' });
    expect(report).toMatchObject({ ok: true, response: { status: 200, body: JSON.stringify({ ok: true, id: envelope.id }) }, timing: { totalMs: expect.any(Number), headersMs: expect.any(Number) } });
  });

  test('the standard profile, extra headers, a payload from --data and a chosen id', async () => {
    const before = receiver.requests.length;
    const run = await runCli([
      'send-test', '-u', `${receiver.url}/webhooks`, '-s', key, '-c', events, '-t', 'registrant.created',
      '--profile', 'standard', '-H', 'x-tenant: acme', '--id', 'msg_chosen', '--data', '{"email":"grace@example.com","sessionId":"ses_02"}',
    ]);
    expect(run.code).toBe(0);
    const received = receiver.requests[before]!;
    expect(received.headers).toMatchObject({ 'webhook-id': 'msg_chosen', 'x-tenant': 'acme' });
    expect(received.headers['x-webhook-signature']).toBeUndefined();
    expect(receiver.events.at(-1)).toMatchObject({ id: 'msg_chosen', data: { email: 'grace@example.com' } });
  });

  test('the wrong secret: the receiver answers 401, exit 1, and the hint says why', async () => {
    const wrong = secret();
    const run = await runCli(['send-test', '-u', `${receiver.url}/webhooks`, '-s', wrong, '-c', events, '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ ok: false, response: { status: 401 } });
    expect(JSON.parse(report.response.body)).toMatchObject({ error: { code: 'invalid_signature' } });
    expect(report.hint).toContain('another secret');
    expect(run.stdout).not.toContain(wrong);
  });

  test('a payload that fails the schema is refused before sending (exit 3) unless --no-validate', async () => {
    const before = receiver.requests.length;
    const refused = await runCli(['send-test', '-u', `${receiver.url}/webhooks`, '-s', key, '-c', events, '-t', 'registrant.created', '--data', '{"email":"not-an-email","sessionId":"s"}']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/error\[invalid_payload\]: The payload of "registrant.created" does not match its schema at data.email/);
    expect(receiver.requests.length).toBe(before);
    const sent = await runCli(['send-test', '-u', `${receiver.url}/webhooks`, '-s', key, '-c', events, '-t', 'registrant.created', '--data', '{"email":"not-an-email","sessionId":"s"}', '--no-validate']);
    expect(sent.code).toBe(1);
    expect(sent.stdout).toContain('FAIL HTTP 400');
    expect(sent.stdout).toContain('"path":"data.email"');
  });

  test('an unknown type, an event without example, and no catalog nor data: exit 3 or 2 with the reason', async () => {
    const unknown = await runCli(['send-test', '-u', `${receiver.url}/webhooks`, '-s', key, '-c', events, '-t', 'nope.nope']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('error[unknown_event]');
    expect(unknown.stderr).toContain('Declared: registrant.created, session.ended, note:added.');
    const noExample = await runCli(['send-test', '-u', `${receiver.url}/webhooks`, '-s', key, '-c', events, '-t', 'note:added']);
    expect(noExample.code).toBe(3);
    expect(noExample.stderr).toContain('error[no_example]');
    const nothing = await runCli(['send-test', '-u', `${receiver.url}/webhooks`, '-s', key]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('error[invalid_option]');
    const noUrl = await runCli(['send-test', '-s', key, '-c', events]);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain("required option '-u, --url <url>' not specified");
    const badUrl = await runCli(['send-test', '-u', 'localhost:3000', '-s', key, '-c', events]);
    expect(badUrl.code).toBe(2);
  });

  test('loads a TypeScript catalog (through tsx) and a CommonJS one', async () => {
    const other = await startHeldServer();
    other.release(204);
    try {
      const fromTs = await runCli(['send-test', '-u', other.url, '-s', key, '-c', join(fixtures, 'events.ts'), '--json']);
      expect(fromTs.code).toBe(0);
      expect(JSON.parse(fromTs.stdout).request).toMatchObject({ type: 'invoice.paid' });
      const fromCjs = await runCli(['send-test', '-u', other.url, '-s', key, '-c', join(fixtures, 'events.cjs'), '--json']);
      expect(fromCjs.code).toBe(0);
      expect(JSON.parse(fromCjs.stdout).request).toMatchObject({ type: 'order.shipped' });
      expect(other.requests).toHaveLength(2);
    } finally {
      await other.close();
    }
  });

  test.each([
    ['a missing module', 'missing.mjs', [], 'catalog_not_found'],
    ['a module that throws', 'broken.mjs', [], 'catalog_load_failed'],
    ['a module without catalog', 'no-catalog.mjs', [], 'no_catalog_export'],
    ['a module with two catalogs', 'two-catalogs.mjs', [], 'ambiguous_catalog'],
    ['an export that is not a catalog', 'events.cjs', ['--export', 'nothing'], 'no_catalog_export'],
  ])('%s: exit 3 with a stable code', async (_name, module, extra, code) => {
    const run = await runCli(['send-test', '-u', `${receiver.url}/webhooks`, '-s', key, '-c', join(fixtures, module), ...extra, '--json']);
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stdout).error.code).toBe(code);
  });

  test('picks one of several catalogs with --export', async () => {
    const other = await startHeldServer();
    other.release(200);
    try {
      const run = await runCli(['send-test', '-u', other.url, '-s', key, '-c', join(fixtures, 'two-catalogs.mjs'), '--export', 'crm', '--json']);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).request.type).toBe('contact.created');
    } finally {
      await other.close();
    }
  });

  test('nothing listening: exit 4, connection_refused', async () => {
    const port = await closedPort();
    const run = await runCli(['send-test', '-u', `http://127.0.0.1:${port}/webhooks`, '-s', key, '-c', events]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('error[connection_refused]');
  });

  test('a receiver that never answers: exit 4, timeout', async () => {
    const stuck = await startHeldServer();
    try {
      const run = await runCli(['send-test', '-u', stuck.url, '-s', key, '-c', events, '--timeout', '300ms', '--json']);
      expect(run.code).toBe(4);
      expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'timeout', exitCode: 4 });
      expect(stuck.requests).toHaveLength(1);
    } finally {
      await stuck.close();
    }
  });

  test('the README flow: one command against an Express app using @hooks/express and WEBHOOK_SECRET', async () => {
    const handled: unknown[] = [];
    const app = express();
    app.post('/webhooks', webhooks({ catalog, secrets: key }).on('registrant.created', async (event) => {
      handled.push(event.data);
    }));
    const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    try {
      const { port } = server.address() as { port: number };
      const run = await runCli(['send-test', '--url', `http://127.0.0.1:${port}/webhooks`, '--catalog', events, '--type', 'registrant.created'], { env: { WEBHOOK_SECRET: key } });
      expect(run.code).toBe(0);
      expect(handled).toEqual([{ email: 'ada@example.com', sessionId: 'ses_01', tags: ['vip'] }]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
