import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HooksError,
  WebhookVerificationError,
  createReceiver,
  generateKeyPair,
  generateSecret,
  sign,
  signHeaders,
  verify,
} from '../src/index';
import { base64Decode, base64Encode } from '../src/internal';
import { NOW_SECONDS, broadcastEvents, fixedNow, registrantData } from './support';

const secret = generateSecret();
const headerNames = [
  'x-webhook-id',
  'x-webhook-timestamp',
  'x-webhook-signature',
  'x-webhook-attempt',
  'x-webhook-event',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'svix-id',
  'svix-timestamp',
  'svix-signature',
  'X-Webhook-Id',
  'content-type',
];
const headerValue = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('', ' ', 'v1,', 'v1a,', ',', 'v1,AAAA', `v1,${'A'.repeat(44)}`, String(NOW_SECONDS), '0', '-1', '1e3', 'msg_1'),
  fc.array(fc.constantFrom('v1,AAAA', 'v2,x', String(NOW_SECONDS)), { maxLength: 3 }).map((values) => values.join(' ')),
  fc.integer().map(String),
);
const headerRecord = fc.dictionary(fc.constantFrom(...headerNames), fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })), { maxKeys: 8 });
const bodies = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.json().map((json) => json),
  fc.record({ type: fc.constantFrom('registrant.created', 'unknown.type', ''), data: fc.anything() }).map((value) => JSON.stringify(value) ?? '{}'),
);

/** Signs `body` properly, then perhaps breaks one thing: the interesting inputs are the nearly valid ones. */
const nearlyValidRequest = fc
  .record({
    body: fc.oneof(
      bodies,
      fc.constant(JSON.stringify({ type: 'registrant.created', data: registrantData() })),
      fc.record({ email: fc.string(), sessionId: fc.oneof(fc.string(), fc.integer()) }).map((parts) =>
        JSON.stringify({ type: 'registrant.created', data: registrantData({ sessionId: parts.sessionId, registrant: { id: 'r', email: parts.email, firstName: 'A', lastName: 'B' } }) }),
      ),
    ),
    id: fc.oneof(fc.constantFrom('msg_1', 'msg_2'), fc.stringMatching(/^[A-Za-z0-9_]{1,20}$/)),
    offset: fc.integer({ min: -400, max: 400 }),
    profile: fc.constantFrom('x-webhook' as const, 'standard' as const),
    mutation: fc.option(fc.tuple(fc.constantFrom(...headerNames), headerValue), { nil: undefined }),
  })
  .map(async ({ body, id, offset, profile, mutation }) => {
    const headers: Record<string, string | string[]> = await signHeaders({ id, timestamp: NOW_SECONDS + offset, payload: body, secrets: secret, profile });
    if (mutation) headers[mutation[0]] = mutation[1];
    return { body, headers };
  });

describe('properties', () => {
  it('verify only ever rejects with a typed WebhookVerificationError on arbitrary headers and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(bodies, headerRecord, async (body, headers) => {
        try {
          await verify(body, headers, { secrets: secret, now: fixedNow });
        } catch (error) {
          expect(WebhookVerificationError.isInstance(error)).toBe(true);
          expect((error as HooksError).status).toBe(401);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('verify only ever rejects with a typed HooksError on arbitrary secrets', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })), headerRecord, async (secrets, headers) => {
        try {
          await verify('{}', headers, { secrets, now: fixedNow });
        } catch (error) {
          expect(HooksError.isInstance(error)).toBe(true);
          expect(['invalid_secret', 'missing_header', 'malformed_header', 'invalid_signature', 'timestamp_too_old', 'timestamp_too_new']).toContain(
            (error as HooksError).code,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the receiver never throws and never answers 5xx to bad input', async () => {
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow, maxBodyBytes: 4096 })
      .on('registrant.created', (event) => {
        expect(event.data.registrant.email).toContain('@');
      })
      .onAny(() => undefined);
    const allowed = new Set([200, 400, 401, 409, 413]);
    await fc.assert(
      fc.asyncProperty(fc.oneof(nearlyValidRequest, fc.record({ body: bodies, headers: headerRecord }).map(async (value) => value)), async (pending) => {
        const request = await pending;
        const result = await receiver.handle(request);
        expect(allowed.has(result.status), `status ${result.status}: ${result.body}`).toBe(true);
        const parsed = JSON.parse(result.body) as { error?: { code?: unknown } };
        if (result.status >= 400) expect(typeof parsed.error?.code).toBe('string');
        expect(result.body).not.toContain(secret);
      }),
      { numRuns: 500 },
    );
  });

  it('handleStream never throws and never answers 5xx for arbitrary chunked bodies', async () => {
    const receiver = createReceiver({ catalog: broadcastEvents, secrets: secret, now: fixedNow, maxBodyBytes: 256 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.string({ maxLength: 100 })), { maxLength: 6 }), headerRecord, async (chunks, headers) => {
        async function* source() {
          yield* chunks;
        }
        const result = await receiver.handleStream({ body: source(), headers });
        expect([400, 401, 413]).toContain(result.status);
      }),
      { numRuns: 200 },
    );
  });

  it('sign then verify always succeeds for arbitrary payload bytes, ids, secrets and times', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.string({ unit: 'grapheme', maxLength: 500 })),
        fc.stringMatching(/^[\x21-\x7e]{1,64}$/),
        fc.uint8Array({ minLength: 16, maxLength: 128 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.constantFrom('x-webhook' as const, 'standard' as const),
        async (payload, id, keyBytes, seconds, profile) => {
          const key = `whsec_${base64Encode(keyBytes)}`;
          const headers = await signHeaders({ id, timestamp: seconds, payload, secrets: key, profile });
          const verified = await verify(payload, headers, { secrets: key, now: () => seconds * 1000 });
          expect(verified).toMatchObject({ id, timestamp: seconds, profile });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sign then verify always succeeds with Ed25519 keys too', async () => {
    const pair = await generateKeyPair();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.stringMatching(/^[A-Za-z0-9_]{1,40}$/), async (payload, id) => {
        const signature = await sign({ id, timestamp: NOW_SECONDS, payload, secrets: pair.secretKey });
        const headers = { 'webhook-id': id, 'webhook-timestamp': String(NOW_SECONDS), 'webhook-signature': signature };
        await expect(verify(payload, headers, { secrets: pair.publicKey, now: fixedNow })).resolves.toMatchObject({ id });
      }),
      { numRuns: 100 },
    );
  });

  it('any single-byte change to a signed body is rejected', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 500 }), fc.nat(), fc.integer({ min: 1, max: 255 }), async (payload, where, delta) => {
        const headers = await signHeaders({ id: 'msg_1', timestamp: NOW_SECONDS, payload, secrets: secret });
        const changed = Uint8Array.from(payload);
        const index = where % changed.length;
        changed[index] = (changed[index]! + delta) % 256;
        await expect(verify(changed, headers, { secrets: secret, now: fixedNow })).rejects.toMatchObject({ code: 'invalid_signature' });
      }),
      { numRuns: 200 },
    );
  });

  it('parses signature headers exactly like the reference split(/\\s+|,\\s+/) reading', async () => {
    const payload = '{"a":1}';
    const headers = await signHeaders({ id: 'msg_1', timestamp: NOW_SECONDS, payload, secrets: secret });
    const valid = headers['x-webhook-signature']!;
    const validBytes = base64Decode(valid.slice(3))!;
    // The reading the hand-written parser replaced, kept here as the oracle.
    function reference(header: string): string {
      if (header.length > 8192) return 'malformed_header';
      let sawVersioned = false;
      let count = 0;
      let matched = false;
      for (const part of header.split(/[\s]+|,\s+/)) {
        if (part === '') continue;
        const comma = part.indexOf(',');
        if (comma <= 0) return 'malformed_header';
        sawVersioned = true;
        const version = part.slice(0, comma);
        if (version !== 'v1' && version !== 'v1a') continue;
        const bytes = base64Decode(part.slice(comma + 1));
        if (!bytes || bytes.length === 0) return 'malformed_header';
        if (++count > 32) return 'malformed_header';
        if (version === 'v1' && bytes.length === validBytes.length && bytes.every((byte, index) => byte === validBytes[index])) matched = true;
      }
      if (!sawVersioned) return 'malformed_header';
      return matched ? 'ok' : 'invalid_signature';
    }
    const token = fc.constantFrom(valid, 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=', 'v2,abc', 'v1a,AAAA', 'v1,', 'v1', ',', 'x', 'v1,!!', '');
    const separator = fc.constantFrom(' ', '  ', ', ', ',', '\t', '\u00a0', ' , ', '');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(token, separator), { maxLength: 6 }), async (parts) => {
        const header = parts.map(([part, sep]) => part + sep).join('');
        let outcome = 'ok';
        try {
          await verify(payload, { ...headers, 'x-webhook-signature': header }, { secrets: secret, now: fixedNow });
        } catch (error) {
          outcome = (error as HooksError).code;
        }
        expect(outcome, JSON.stringify(header)).toBe(reference(header));
      }),
      { numRuns: 1000 },
    );
  });

  it('base64Encode matches btoa, and base64Decode inverts it (padded, unpadded, URL-safe)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const encoded = base64Encode(bytes);
        expect(encoded).toBe(btoa(String.fromCharCode(...bytes)));
        expect(Array.from(base64Decode(encoded)!)).toEqual(Array.from(bytes));
        expect(Array.from(base64Decode(encoded.replace(/=+$/, ''))!)).toEqual(Array.from(bytes));
        expect(Array.from(base64Decode(encoded.replace(/\+/g, '-').replace(/\//g, '_'))!)).toEqual(Array.from(bytes));
      }),
      { numRuns: 500 },
    );
    for (const bad of ['a', 'ab=c', 'abc===', 'ab cd', 'é', 'abcde']) expect(base64Decode(bad), bad).toBeUndefined();
  });

  it('generated secrets always parse and sign', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 24, max: 64 }), async (size) => {
        const value = generateSecret(size);
        await expect(sign({ id: 'msg_1', timestamp: 1, payload: '', secrets: value })).resolves.toMatch(/^v1,/);
      }),
      { numRuns: 50 },
    );
  });
});
