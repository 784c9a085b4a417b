import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, signHeaders } from '@hooks/core';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { fixtures, runCli, secret, startCaptureServer, temporaryDirectory } from './support';

const folder = temporaryDirectory();
afterAll(() => folder.remove());

const BODY = '{"id":"msg_01","type":"registrant.created","timestamp":"2026-11-23T10:00:00.000Z","data":{"email":"ada@example.com","name":"Zoë"}}';
let files = 0;

function file(content: string | Buffer | object): string {
  const path = join(folder.path, `capture-${++files}.json`);
  writeFileSync(path, typeof content === 'object' && !Buffer.isBuffer(content) ? JSON.stringify(content) : content);
  return path;
}

async function signed(key: string, options: { body?: string | Buffer; profile?: 'x-webhook' | 'standard'; timestamp?: number; id?: string } = {}) {
  return signHeaders({
    id: options.id ?? 'msg_01',
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    payload: options.body ?? BODY,
    secrets: key,
    profile: options.profile ?? 'x-webhook',
    eventType: 'registrant.created',
  });
}

async function diagnose(capture: object | string | Buffer, key: string, extra: string[] = []) {
  const run = await runCli(['verify', file(capture), '--secret', key, '--json', ...extra]);
  return { run, result: run.stdout ? JSON.parse(run.stdout) : undefined };
}

describe('hooks verify', () => {
  test('verifies a raw HTTP capture of a request sent by send-test (exit 0)', async () => {
    const key = secret();
    const capture = await startCaptureServer();
    try {
      const sent = await runCli(['send-test', '--url', `${capture.url}/hook`, '--secret', key, '--catalog', join(fixtures, 'events.mjs'), '--type', 'registrant.created']);
      expect(sent.code).toBe(0);
      const raw = await capture.captured;
      expect(raw.toString('latin1')).toMatch(/^POST \/hook HTTP\/1\.1\r\n/);
      const run = await runCli(['verify', file(raw), '--secret', key]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^OK The request is authentic/);
      expect(run.stdout).toContain('profile    x-webhook');
      expect(run.stdout).not.toContain(key);
    } finally {
      await capture.close();
    }
  });

  test('reads the capture from standard input', async () => {
    const key = secret();
    const run = await runCli(['verify', '--secret', key, '--json'], { input: JSON.stringify({ headers: await signed(key), body: BODY }) });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, code: 'ok', reason: 'verified', details: { id: 'msg_01', profile: 'x-webhook', signatureValid: true } });
  });

  test('headers and body from separate files, and from -H options', async () => {
    const key = secret();
    const headers = await signed(key, { profile: 'standard' });
    const headersFile = join(folder.path, 'headers.txt');
    writeFileSync(headersFile, `POST /webhooks HTTP/1.1\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('\n')}\n`);
    const bodyFile = file(BODY);
    const fromFiles = await runCli(['verify', '--headers', headersFile, '--body', bodyFile, '--secret', key]);
    expect(fromFiles.code).toBe(0);
    const fromOptions = await runCli(['verify', ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]), '--secret', key], { input: BODY });
    expect(fromOptions.code).toBe(0);
    expect(fromOptions.stdout).toContain('profile    standard');
  });

  test.each([
    ['a trailing newline', `${BODY}\n`, 'a trailing newline was added'],
    ['a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(BODY)]), 'byte order mark (BOM) was added'],
    ['re-serialised JSON', JSON.stringify(JSON.parse(BODY), null, 2), 'parsed and serialised again'],
    ['keys in another order', JSON.stringify({ type: 'registrant.created', id: 'msg_01', timestamp: '2026-11-23T10:00:00.000Z', data: { email: 'ada@example.com', name: 'Zoë' } }), 'keys in another order'],
    ['CRLF line endings', `${JSON.stringify(JSON.parse(BODY), null, 2).replaceAll('\n', '\r\n')}`, 'parsed and serialised again'],
    ['mojibake (UTF-8 read as Latin-1)', Buffer.from(Buffer.from(BODY, 'utf8').toString('latin1'), 'utf8'), 'wrong character set'],
  ])('finds the body changed by %s (exit 1, body_changed)', async (_name, received, change) => {
    const key = secret();
    const headers = await signed(key);
    const { run, result } = await diagnose({ headers, bodyBase64: Buffer.from(received).toString('base64') }, key);
    expect(run.code).toBe(1);
    expect(result).toMatchObject({ ok: false, code: 'invalid_signature', reason: 'body_changed' });
    expect(result.details.bodyChange).toContain(change);
  });

  test('a removed trailing newline is found too', async () => {
    const key = secret();
    const headers = await signed(key, { body: `${BODY}\n` });
    const { result } = await diagnose({ headers, body: BODY }, key);
    expect(result).toMatchObject({ reason: 'body_changed', details: { bodyChange: expect.stringContaining('trailing newline of the signed body was removed') } });
  });

  test('the wrong secret, when no body change explains the mismatch (masked in the output)', async () => {
    const [right, wrong] = [secret(), secret()];
    const headers = await signed(right);
    const run = await runCli(['verify', file({ headers, body: BODY }), '--secret', wrong]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^FAIL invalid_signature \(wrong_secret\): No signature \(1 in the header\) matches/);
    expect(run.stdout).toContain(`whsec_…${wrong.slice(-4)}`);
    expect(run.stdout).not.toContain(wrong);
    expect(run.stdout).not.toContain(right);
  });

  test('a stale timestamp, with the skew, when the signature is otherwise valid; --now checks it as of capture time', async () => {
    const key = secret();
    const timestamp = Math.floor(Date.now() / 1000) - 3 * 3600 - 120;
    const capture = { headers: await signed(key, { timestamp }), body: BODY };
    const { run, result } = await diagnose(capture, key);
    expect(run.code).toBe(1);
    expect(result).toMatchObject({ code: 'timestamp_too_old', reason: 'stale_timestamp', details: { timestamp, signatureValid: true, toleranceSeconds: 300 } });
    expect(result.details.skewSeconds).toBeGreaterThanOrEqual(3 * 3600 + 120);
    expect(result.message).toMatch(/signed 3 h 2 min( \d+ s)? ago and the tolerance is 300 s/);
    expect(result.hints.join(' ')).toContain('hooks replay');
    const asOfCapture = await diagnose(capture, key, ['--now', String(timestamp + 10)]);
    expect(asOfCapture.run.code).toBe(0);
    const wider = await diagnose(capture, key, ['--tolerance', String(5 * 3600)]);
    expect(wider.run.code).toBe(0);
  });

  test('a timestamp in the future: the sender clock is ahead', async () => {
    const key = secret();
    const { result } = await diagnose({ headers: await signed(key, { timestamp: Math.floor(Date.now() / 1000) + 900 }), body: BODY }, key);
    expect(result).toMatchObject({ code: 'timestamp_too_new', reason: 'future_timestamp', details: { signatureValid: true } });
    expect(result.details.skewSeconds).toBeLessThan(-800);
  });

  test('stale AND signed with another secret: the signature is reported, the staleness too', async () => {
    const key = secret();
    const { result } = await diagnose({ headers: await signed(secret(), { timestamp: 1_700_000_000 }), body: BODY }, key);
    expect(result).toMatchObject({ code: 'timestamp_too_old', reason: 'wrong_secret', details: { signatureValid: false } });
    expect(result.message).toContain('It is also stale');
  });

  test('no webhook headers at all', async () => {
    const { run, result } = await diagnose({ headers: { 'content-type': 'application/json' }, body: BODY }, secret());
    expect(run.code).toBe(1);
    expect(result).toMatchObject({ code: 'missing_header', reason: 'no_webhook_headers' });
  });

  test('a missing signature header names it', async () => {
    const key = secret();
    const { 'x-webhook-signature': _dropped, ...headers } = await signed(key);
    const { result } = await diagnose({ headers, body: BODY }, key);
    expect(result).toMatchObject({ code: 'missing_header', reason: 'missing_header', message: 'The x-webhook-signature header is missing.' });
  });

  test('headers mixing the two profiles', async () => {
    const key = secret();
    const headers = await signed(key);
    const mixed = { 'x-webhook-id': headers['x-webhook-id'], 'webhook-timestamp': headers['x-webhook-timestamp'], 'webhook-signature': headers['x-webhook-signature'] };
    const { result } = await diagnose({ headers: mixed, body: BODY }, key);
    expect(result).toMatchObject({ code: 'missing_header', reason: 'mixed_profiles' });
    expect(result.message).toContain('id: x-webhook-id; timestamp: webhook-timestamp; signature: webhook-signature');
  });

  test('a valid request in the profile the receiver does not read (--profile)', async () => {
    const key = secret();
    const { run, result } = await diagnose({ headers: await signed(key), body: BODY }, key, ['--profile', 'standard']);
    expect(run.code).toBe(1);
    expect(result).toMatchObject({ ok: false, code: 'profile_mismatch', reason: 'profile_mismatch', details: { signatureValid: true } });
    expect(result.hints[0]).toContain("profile to 'standard'");
  });

  test('a malformed signature header', async () => {
    const key = secret();
    const headers = { ...(await signed(key)), 'x-webhook-signature': 'sha256=abcdef' };
    const { result } = await diagnose({ headers, body: BODY }, key);
    expect(result).toMatchObject({ code: 'malformed_header', reason: 'malformed_header' });
  });

  test('an Ed25519 (v1a) request checked with an HMAC secret, then with the public key', async () => {
    const pair = await generateKeyPair();
    const capture = { headers: await signed(pair.secretKey), body: BODY };
    const { result } = await diagnose(capture, secret());
    expect(result).toMatchObject({ code: 'invalid_signature', reason: 'key_type_mismatch', message: expect.stringContaining('Ed25519 key (v1a)') });
    const withPublicKey = await diagnose(capture, pair.publicKey);
    expect(withPublicKey.run.code).toBe(0);
  });

  test('a signer that used the text of the secret as the HMAC key', async () => {
    const key = secret();
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = createHmac('sha256', Buffer.from(key)).update(`msg_01.${timestamp}.${BODY}`).digest('base64');
    const headers = { 'webhook-id': 'msg_01', 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
    const { result } = await diagnose({ headers, body: BODY }, key);
    expect(result).toMatchObject({ reason: 'secret_text_as_key' });
    expect(JSON.stringify(result)).not.toContain(key);
  });

  test('an id header rewritten after signing', async () => {
    const key = secret();
    const headers = { ...(await signed(key)), 'x-webhook-id': 'msg_rewritten' };
    const { result } = await diagnose({ headers, body: BODY }, key);
    expect(result).toMatchObject({ reason: 'id_changed' });
  });

  test('a capture that kept the parsed body says its bytes are lost', async () => {
    const key = secret();
    const pretty = JSON.stringify(JSON.parse(BODY), null, 2);
    const headers = await signed(key, { body: pretty });
    const { result } = await diagnose({ headers, body: JSON.parse(BODY) }, key);
    // Compact JSON.stringify is tried first; pretty variants of it are among the candidates.
    expect(result).toMatchObject({ reason: 'body_changed', details: { bodyWasParsed: true } });
    expect(result.hints.join(' ')).toContain('exact bytes are lost');
  });

  test('HAR entries and [name, value] header lists are read', async () => {
    const key = secret();
    const headers = await signed(key);
    const har = { request: { method: 'POST', url: 'http://x/', headers: Object.entries(headers).map(([name, value]) => ({ name, value })), postData: { mimeType: 'application/json', text: BODY } } };
    expect((await diagnose(har, key)).run.code).toBe(0);
    expect((await diagnose({ headers: Object.entries(headers), body: BODY }, key)).run.code).toBe(0);
  });

  test('input that is no capture: exit 3, malformed_capture', async () => {
    const run = await runCli(['verify', file('hello world'), '--secret', secret()]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('error[malformed_capture]');
    const envelopeOnly = await runCli(['verify', file(BODY), '--secret', secret(), '--json']);
    expect(envelopeOnly.code).toBe(3);
    expect(JSON.parse(envelopeOnly.stdout).error.code).toBe('malformed_capture');
  });
});

describe('hooks verify on generated input', () => {
  test('any bytes, any JSON: a verdict (exit 1) or a typed input error (exit 3), never a crash, never the secret', async () => {
    const key = secret();
    const headerValue = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('v1,', 'v1,AAAA', 'v1a,==', ' ', '[redacted]', '99999999999999999999'));
    const capture = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
      fc
        .record({
          headers: fc.dictionary(fc.constantFrom('x-webhook-id', 'x-webhook-timestamp', 'x-webhook-signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'svix-id', 'content-type'), headerValue),
          body: fc.oneof(fc.string({ maxLength: 100 }), fc.jsonValue()),
        })
        .map((value) => Buffer.from(JSON.stringify(value))),
      fc.tuple(fc.constantFrom('POST / HTTP/1.1\r\n', 'POST /x HTTP/1.1\n'), fc.string({ maxLength: 200 })).map(([line, rest]) => Buffer.from(`${line}${rest}`)),
    );
    await fc.assert(
      fc.asyncProperty(capture, async (bytes) => {
        const run = await runCli(['verify', '--secret', key, '--json'], { input: bytes });
        expect([1, 3]).toContain(run.code);
        const result = JSON.parse(run.stdout);
        if (run.code === 3) expect(result.error.code).toMatch(/^(malformed_capture|unreadable_input)$/);
        else expect(result).toMatchObject({ ok: false, code: expect.any(String), reason: expect.any(String) });
        expect(run.stdout + run.stderr).not.toContain(key);
      }),
      { numRuns: Number(process.env.CLI_FUZZ_RUNS ?? 15) },
    );
  }, 120_000);

  test('an attempt exported from the admin API: the signature is redacted, replay it instead', async () => {
    const attempt = { id: 'att_1', request: { method: 'POST', url: 'http://x/', headers: { 'x-webhook-id': 'msg_1', 'x-webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'x-webhook-signature': '[redacted]' }, body: BODY } };
    const { run, result } = await diagnose(attempt, secret());
    expect(run.code).toBe(1);
    expect(result).toMatchObject({ code: 'malformed_header', message: expect.stringContaining('redacted') });
    expect(result.hints[0]).toContain('hooks replay');
  });
});
