import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, verify } from '@hooks/core';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, test } from 'vitest';
import { parseHeaderOutput, runCli, secret, temporaryDirectory } from './support';

const folder = temporaryDirectory();
afterAll(() => folder.remove());

// The Standard Webhooks reference vector (docs/signatures.md).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: '1614265330',
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

function bodyFile(name: string, content: string | Buffer): string {
  const path = join(folder.path, name);
  writeFileSync(path, content);
  return path;
}

describe('hooks sign', () => {
  test('reproduces the Standard Webhooks test vector byte for byte', async () => {
    const run = await runCli(['sign', bodyFile('vector.json', VECTOR.body), '--secret', VECTOR.secret, '--id', VECTOR.id, '--timestamp', VECTOR.timestamp]);
    expect(run.code).toBe(0);
    expect(parseHeaderOutput(run.stdout)).toMatchObject({
      'x-webhook-id': VECTOR.id,
      'x-webhook-timestamp': VECTOR.timestamp,
      'x-webhook-signature': VECTOR.signature,
      'x-webhook-attempt': '1',
      'content-type': 'application/json',
    });
  });

  test('the standard profile prints webhook-* headers that a Standard Webhooks library verifies', async () => {
    const key = secret();
    const body = '{"id":"msg_std","type":"a.b","timestamp":"2026-01-01T00:00:00.000Z","data":{"n":1}}';
    const run = await runCli(['sign', '--profile', 'standard', '--json'], { input: body, env: { WEBHOOK_SECRET: key } });
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout);
    // The id and event type are read from the envelope, so the headers agree with the body.
    expect(printed).toMatchObject({ id: 'msg_std', profile: 'standard', headers: { 'webhook-id': 'msg_std', 'x-webhook-event': 'a.b' } });
    expect(Object.keys(printed.headers)).not.toContain('x-webhook-signature');
    expect(new Webhook(key).verify(body, printed.headers)).toEqual(JSON.parse(body));
  });

  test('signs with an Ed25519 key (v1a) that the public key verifies', async () => {
    const pair = await generateKeyPair();
    const body = '{"hello":"world"}';
    const run = await runCli(['sign', bodyFile('ed.json', body), '--secret', pair.secretKey, '--json']);
    expect(run.code).toBe(0);
    const { headers } = JSON.parse(run.stdout);
    expect(headers['x-webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    await expect(verify(body, headers, { secrets: pair.publicKey })).resolves.toMatchObject({ profile: 'x-webhook' });
    expect(run.stdout).not.toContain(pair.secretKey);
  });

  test('several secrets give one signature each (rotation), and each verifies alone', async () => {
    const [oldSecret, newSecret] = [secret(), secret()];
    const body = Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d, 0x0a]); // BOM, "{}", newline: signed exactly as given
    const run = await runCli(['sign', bodyFile('rotation.json', body), '--secret', newSecret, '--secret', oldSecret]);
    expect(run.code).toBe(0);
    const headers = parseHeaderOutput(run.stdout);
    expect(headers['x-webhook-signature']!.split(' ')).toHaveLength(2);
    await expect(verify(body, headers, { secrets: oldSecret })).resolves.toBeDefined();
    await expect(verify(body, headers, { secrets: newSecret })).resolves.toBeDefined();
  });

  test('reads secrets from a file and picks a new message id for a body that is not an envelope', async () => {
    const key = secret();
    const run = await runCli(['sign', '--secret-file', bodyFile('secret.txt', `${key}\n`), '--json'], { input: 'plain text' });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).id).toMatch(/^msg_[0-9A-Z]{26}$/);
  });

  test('a whpk_ public key cannot sign: exit 3, unsupported_key', async () => {
    const pair = await generateKeyPair();
    const run = await runCli(['sign', '--secret', pair.publicKey], { input: '{}' });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('error[unsupported_key]');
    expect(run.stderr).not.toContain(pair.publicKey);
  });

  test('no secret at all: exit 3 with what to pass', async () => {
    const run = await runCli(['sign', '--json'], { input: '{}' });
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'invalid_secret', message: expect.stringContaining('WEBHOOK_SECRET'), exitCode: 3 });
  });

  test('a missing body file: exit 3, file_not_found', async () => {
    const run = await runCli(['sign', join(folder.path, 'nope.json'), '--secret', secret()]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/error\[file_not_found\]: The body to sign ".*nope.json" does not exist/);
  });

  test('an invalid secret is refused without ever being printed (generated secrets)', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Secret-looking text that is not a valid secret: too short, not base64, or junk after the prefix.
        fc.oneof(
          fc.string({ minLength: 6, maxLength: 40 }).map((text) => `whsec_${text}!`),
          fc.base64String({ minLength: 4, maxLength: 12 }).map((text) => `whsec_${text}`),
          fc.stringMatching(/^[A-Za-z0-9]{30,60}\*$/),
        ),
        fc.boolean(),
        async (bad, json) => {
          const run = await runCli(['sign', '--secret', bad, ...(json ? ['--json'] : [])], { input: '{}' });
          expect(run.code).toBe(3);
          expect(`${run.stdout}${run.stderr}`).toContain('invalid_secret');
          expect(run.stdout).not.toContain(bad);
          expect(run.stderr).not.toContain(bad);
        },
      ),
      { numRuns: 8 },
    );
  });
});
