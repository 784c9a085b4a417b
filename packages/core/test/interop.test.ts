import fc from 'fast-check';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { WebhookVerificationError, generateSecret, sign, signHeaders, verify } from '../src/index';
import { rejectionOf } from './support';

// Published vectors of the Standard Webhooks specification's reference JavaScript library
// (standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts), as data.
const reference = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  bareSecret: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const referenceNow = () => reference.timestamp * 1000;
const referenceHeaders = (signature: string, timestamp = String(reference.timestamp)): Record<string, string> => ({
  'webhook-id': reference.id,
  'webhook-timestamp': timestamp,
  'webhook-signature': signature,
});

interface Vector {
  name: string;
  signature: string;
  valid: boolean;
}

const vectors: Vector[] = [
  { name: 'the reference signature', signature: reference.signature, valid: true },
  {
    name: 'several signatures with unknown versions and one valid',
    signature: [
      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
      'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
      reference.signature,
      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
    ].join(' '),
    valid: true,
  },
  { name: 'an invalid signature', signature: 'v1,dawfeoifkpqwoekfpqoekf', valid: false },
  { name: 'a partial signature', signature: reference.signature.slice(0, 8), valid: false },
  { name: 'an empty v1 signature', signature: 'v1,', valid: false },
  { name: 'only unknown versions', signature: 'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=', valid: false },
];

describe('Standard Webhooks specification vectors', () => {
  it('signs the reference vector byte for byte', async () => {
    const signature = await sign({ id: reference.id, timestamp: reference.timestamp, payload: reference.payload, secrets: reference.secret });
    expect(signature).toBe(reference.signature);
    // Secrets without the whsec_ prefix are accepted, as the specification's libraries accept them.
    expect(await sign({ id: reference.id, timestamp: new Date(reference.timestamp * 1000), payload: reference.payload, secrets: reference.bareSecret })).toBe(
      reference.signature,
    );
  });

  it('signs the reference vector the same from bytes', async () => {
    const signature = await sign({ id: reference.id, timestamp: reference.timestamp, payload: new TextEncoder().encode(reference.payload), secrets: reference.secret });
    expect(signature).toBe(reference.signature);
  });

  for (const vector of vectors) {
    it(`${vector.valid ? 'accepts' : 'rejects'} ${vector.name}`, async () => {
      for (const secret of [reference.secret, reference.bareSecret]) {
        const result = verify(reference.payload, referenceHeaders(vector.signature), { secrets: secret, now: referenceNow });
        if (vector.valid) {
          await expect(result).resolves.toMatchObject({ id: reference.id, timestamp: reference.timestamp, profile: 'standard' });
        } else {
          const error = await rejectionOf(result);
          expect(WebhookVerificationError.isInstance(error)).toBe(true);
          expect((error as WebhookVerificationError).status).toBe(401);
        }
      }
    });
  }

  it('rejects the reference vector one second outside the 5 minute tolerance, both ways', async () => {
    const headers = referenceHeaders(reference.signature);
    const late = await rejectionOf(verify(reference.payload, headers, { secrets: reference.secret, now: () => (reference.timestamp + 301) * 1000 }));
    expect(late).toMatchObject({ code: 'timestamp_too_old' });
    const early = await rejectionOf(verify(reference.payload, headers, { secrets: reference.secret, now: () => (reference.timestamp - 301) * 1000 }));
    expect(early).toMatchObject({ code: 'timestamp_too_new' });
  });

  it('rejects a missing id, timestamp or signature and a non-numeric timestamp', async () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers = referenceHeaders(reference.signature);
      delete headers[name];
      expect(await rejectionOf(verify(reference.payload, headers, { secrets: reference.secret, now: referenceNow }))).toMatchObject({ code: 'missing_header' });
    }
    const hello = await rejectionOf(verify(reference.payload, referenceHeaders(reference.signature, 'hello'), { secrets: reference.secret, now: referenceNow }));
    expect(hello).toMatchObject({ code: 'malformed_header' });
  });
});

const payloads = fc.oneof(
  fc.json(),
  fc.string({ unit: 'grapheme', maxLength: 500 }),
  fc.constant('{"type":"registrant.created","data":{"x":"é ✓ 🎉"}}'),
);
const ids = fc.stringMatching(/^msg_[A-Za-z0-9]{1,40}$/);

describe('standardwebhooks library', () => {
  it('verifies what we sign with the standard profile', async () => {
    await fc.assert(
      fc.asyncProperty(ids, payloads, async (id, payload) => {
        const secret = generateSecret();
        const headers = await signHeaders({ id, timestamp: new Date(), payload, secrets: secret, profile: 'standard' });
        expect(Object.keys(headers)).toEqual(expect.arrayContaining(['webhook-id', 'webhook-timestamp', 'webhook-signature']));
        const theirs = new StandardWebhook(secret);
        expect(() => theirs.verify(payload, headers, { jsonParse: false })).not.toThrow();
        expect(() => theirs.verify(`${payload}x`, headers, { jsonParse: false })).toThrow();
      }),
      { numRuns: 50 },
    );
  });

  it('verifies what we sign during a rotation (several signatures)', async () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const payload = '{"rotation":true}';
    const headers = await signHeaders({ id: 'msg_rot', timestamp: new Date(), payload, secrets: [oldSecret, newSecret], profile: 'standard' });
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new StandardWebhook(oldSecret).verify(payload, headers)).toEqual({ rotation: true });
    expect(new StandardWebhook(newSecret).verify(payload, headers)).toEqual({ rotation: true });
    expect(() => new StandardWebhook(generateSecret()).verify(payload, headers)).toThrow();
  });

  it('produces the same signature as ours, and we verify what it signs', async () => {
    await fc.assert(
      fc.asyncProperty(ids, payloads, async (id, payload) => {
        const secret = generateSecret();
        const date = new Date();
        const theirs = new StandardWebhook(secret).sign(id, date, payload);
        expect(await sign({ id, timestamp: date, payload, secrets: secret })).toBe(theirs);
        const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(date.getTime() / 1000)), 'webhook-signature': theirs };
        await expect(verify(payload, headers, { secrets: secret })).resolves.toMatchObject({ id, profile: 'standard' });
        // A different body must not verify.
        const error = await rejectionOf(verify(`${payload} `, headers, { secrets: secret }));
        expect(error).toMatchObject({ code: 'invalid_signature' });
      }),
      { numRuns: 50 },
    );
  });

  it('rejects what we sign with a different secret', async () => {
    const headers = await signHeaders({ id: 'msg_1', timestamp: new Date(), payload: '{}', secrets: generateSecret(), profile: 'standard' });
    expect(() => new StandardWebhook(generateSecret()).verify('{}', headers)).toThrow();
  });
});

describe('svix library', () => {
  it('verifies what we sign, under webhook-* and under svix-* names', async () => {
    const secret = generateSecret();
    const payload = JSON.stringify({ id: 'msg_svix', type: 'registrant.created', data: { a: 1 } });
    const headers = await signHeaders({ id: 'msg_svix', timestamp: new Date(), payload, secrets: secret, profile: 'standard' });
    expect(new SvixWebhook(secret).verify(payload, headers)).toEqual(JSON.parse(payload));
    const svixHeaders = { 'svix-id': headers['webhook-id']!, 'svix-timestamp': headers['webhook-timestamp']!, 'svix-signature': headers['webhook-signature']! };
    expect(new SvixWebhook(secret).verify(payload, svixHeaders)).toEqual(JSON.parse(payload));
  });

  it('signs what we verify, with svix-* headers', async () => {
    await fc.assert(
      fc.asyncProperty(ids, payloads, async (id, payload) => {
        const secret = generateSecret();
        const date = new Date();
        const signature = new SvixWebhook(secret).sign(id, date, payload);
        const headers = { 'svix-id': id, 'svix-timestamp': String(Math.floor(date.getTime() / 1000)), 'svix-signature': signature };
        const verified = await verify(payload, headers, { secrets: secret });
        // svix-* headers count as the standard profile.
        expect(verified).toMatchObject({ id, profile: 'standard' });
        expect(await rejectionOf(verify(payload, headers, { secrets: generateSecret() }))).toMatchObject({ code: 'invalid_signature' });
      }),
      { numRuns: 30 },
    );
  });

  it('verifies the reference vector with svix too (the vector is shared)', () => {
    const svix = new SvixWebhook(reference.secret);
    expect(svix.sign(reference.id, new Date(reference.timestamp * 1000), reference.payload)).toBe(reference.signature);
  });
});
