import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  DEFAULT_TOLERANCE_SECONDS,
  HooksError,
  PUBLIC_KEY_PREFIX,
  SECRET_KEY_PREFIX,
  WebhookVerificationError,
  createReceiver,
  generateKeyPair,
  generateSecret,
  maskSecret,
  parseKey,
  publicKeyOf,
  sign,
  signHeaders,
  verify,
} from '../src/index';
import { NOW_SECONDS, broadcastEvents, fixedNow, rejectionOf, signedRequest, thrownBy } from './support';

const secret = generateSecret();

async function signedRaw(options: { payload?: string; id?: string; timestamp?: number; secrets?: string | string[] } = {}) {
  const payload = options.payload ?? '{"type":"a.b","data":{}}';
  const headers = await signHeaders({
    id: options.id ?? 'msg_1',
    timestamp: options.timestamp ?? NOW_SECONDS,
    payload,
    secrets: options.secrets ?? secret,
  });
  return { payload, headers };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await rejectionOf(promise);
  expect(HooksError.isInstance(error)).toBe(true);
  return (error as HooksError).code;
}

describe('verify', () => {
  it('accepts a correctly signed request and reports what it established', async () => {
    const { payload, headers } = await signedRaw();
    const verified = await verify(payload, { ...headers, 'x-webhook-attempt': '3', 'x-webhook-event': 'a.b' }, { secrets: secret, now: fixedNow });
    expect(verified).toEqual({ id: 'msg_1', timestamp: NOW_SECONDS, profile: 'x-webhook', attempt: 3, eventType: 'a.b' });
  });

  it('reads headers from a Fetch Headers object and case-insensitively from records', async () => {
    const { payload, headers } = await signedRaw();
    await expect(verify(payload, new Headers(headers), { secrets: secret, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
    const upper = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
    await expect(verify(payload, upper, { secrets: secret, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
  });

  it('verifies raw bytes the same as the string', async () => {
    const { payload, headers } = await signedRaw({ payload: '{"name":"Zoë ✓"}' });
    await expect(verify(new TextEncoder().encode(payload), headers, { secrets: secret, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
  });

  describe('tampering', () => {
    it('rejects a changed body', async () => {
      const { payload, headers } = await signedRaw();
      expect(await codeOf(verify(payload.replace('a.b', 'a.c'), headers, { secrets: secret, now: fixedNow }))).toBe('invalid_signature');
      expect(await codeOf(verify(`${payload}\n`, headers, { secrets: secret, now: fixedNow }))).toBe('invalid_signature');
    });

    it('rejects a changed id', async () => {
      const { payload, headers } = await signedRaw();
      expect(await codeOf(verify(payload, { ...headers, 'x-webhook-id': 'msg_2' }, { secrets: secret, now: fixedNow }))).toBe('invalid_signature');
    });

    it('rejects a changed timestamp (even inside the tolerance)', async () => {
      const { payload, headers } = await signedRaw();
      const moved = { ...headers, 'x-webhook-timestamp': String(NOW_SECONDS + 1) };
      expect(await codeOf(verify(payload, moved, { secrets: secret, now: fixedNow }))).toBe('invalid_signature');
    });

    it('rejects a wrong secret', async () => {
      const { payload, headers } = await signedRaw();
      expect(await codeOf(verify(payload, headers, { secrets: generateSecret(), now: fixedNow }))).toBe('invalid_signature');
    });

    it('rejects a flipped bit in the signature', async () => {
      const { payload, headers } = await signedRaw();
      const signature = headers['x-webhook-signature']!;
      const flipped = `v1,${signature[3] === 'A' ? 'B' : 'A'}${signature.slice(4)}`;
      expect(await codeOf(verify(payload, { ...headers, 'x-webhook-signature': flipped }, { secrets: secret, now: fixedNow }))).toBe('invalid_signature');
    });
  });

  describe('rotation', () => {
    it('accepts messages signed with the old or the new secret while both are configured', async () => {
      const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
      for (const signingSecret of [oldSecret, newSecret]) {
        const { payload, headers } = await signedRaw({ secrets: signingSecret });
        await expect(verify(payload, headers, { secrets: [oldSecret, newSecret], now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
      }
    });

    it('accepts a message carrying both signatures with only one of the secrets', async () => {
      const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
      const { payload, headers } = await signedRaw({ secrets: [oldSecret, newSecret] });
      expect(headers['x-webhook-signature']!.split(' ')).toHaveLength(2);
      await expect(verify(payload, headers, { secrets: newSecret, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
      await expect(verify(payload, headers, { secrets: oldSecret, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
    });

    it('rejects a message signed only with a secret that was removed', async () => {
      const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
      const { payload, headers } = await signedRaw({ secrets: oldSecret });
      expect(await codeOf(verify(payload, headers, { secrets: [newSecret], now: fixedNow }))).toBe('invalid_signature');
    });

    it('accepts repeated signature headers joined with ", "', async () => {
      const [first, second] = [generateSecret(), generateSecret()];
      const one = await signedRaw({ secrets: first });
      const two = await signedRaw({ secrets: second });
      const joined = { ...one.headers, 'x-webhook-signature': `${one.headers['x-webhook-signature']}, ${two.headers['x-webhook-signature']}` };
      await expect(verify(one.payload, joined, { secrets: second, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
    });
  });

  describe('timestamp tolerance', () => {
    const tolerance = DEFAULT_TOLERANCE_SECONDS;

    it('is 300 seconds by default', () => {
      expect(tolerance).toBe(300);
    });

    it('accepts exactly the tolerance in the past and in the future', async () => {
      for (const offset of [-tolerance, tolerance, 0]) {
        const { payload, headers } = await signedRaw({ timestamp: NOW_SECONDS + offset });
        // The last millisecond of the boundary second still counts as that second.
        for (const extraMs of [0, 999]) {
          await expect(verify(payload, headers, { secrets: secret, now: () => NOW_SECONDS * 1000 + extraMs })).resolves.toMatchObject({ id: 'msg_1' });
        }
      }
    });

    it('rejects one second past the tolerance as too old, and one second beyond it as too new', async () => {
      const stale = await signedRaw({ timestamp: NOW_SECONDS - tolerance - 1 });
      expect(await codeOf(verify(stale.payload, stale.headers, { secrets: secret, now: fixedNow }))).toBe('timestamp_too_old');
      const future = await signedRaw({ timestamp: NOW_SECONDS + tolerance + 1 });
      expect(await codeOf(verify(future.payload, future.headers, { secrets: secret, now: fixedNow }))).toBe('timestamp_too_new');
    });

    it('honours a custom tolerance at its exact boundaries', async () => {
      const edge = await signedRaw({ timestamp: NOW_SECONDS - 10 });
      await expect(verify(edge.payload, edge.headers, { secrets: secret, now: fixedNow, toleranceSeconds: 10 })).resolves.toMatchObject({ id: 'msg_1' });
      expect(await codeOf(verify(edge.payload, edge.headers, { secrets: secret, now: fixedNow, toleranceSeconds: 9 }))).toBe('timestamp_too_old');
      const ahead = await signedRaw({ timestamp: NOW_SECONDS + 10 });
      await expect(verify(ahead.payload, ahead.headers, { secrets: secret, now: fixedNow, toleranceSeconds: 10 })).resolves.toMatchObject({ id: 'msg_1' });
      expect(await codeOf(verify(ahead.payload, ahead.headers, { secrets: secret, now: fixedNow, toleranceSeconds: 9 }))).toBe('timestamp_too_new');
    });

    it('checks the timestamp before the signature, so a replay of an old valid message is stale', async () => {
      const { payload, headers } = await signedRaw({ timestamp: NOW_SECONDS - 3600 });
      expect(await codeOf(verify(payload, headers, { secrets: secret, now: fixedNow }))).toBe('timestamp_too_old');
    });
  });

  describe('malformed headers', () => {
    const names = ['x-webhook-id', 'x-webhook-timestamp', 'x-webhook-signature'] as const;

    it.each(names)('rejects a request without %s as missing_header', async (name) => {
      const { payload, headers } = await signedRaw();
      delete headers[name];
      const error = await rejectionOf(verify(payload, headers, { secrets: secret, now: fixedNow }));
      expect(error).toMatchObject({ code: 'missing_header', status: 401 });
      expect(WebhookVerificationError.isInstance(error)).toBe(true);
    });

    it('rejects a request with no webhook headers at all', async () => {
      expect(await codeOf(verify('{}', {}, { secrets: secret, now: fixedNow }))).toBe('missing_header');
      expect(await codeOf(verify('{}', new Headers(), { secrets: secret, now: fixedNow }))).toBe('missing_header');
    });

    it.each(names)('rejects an empty %s as malformed_header', async (name) => {
      const { payload, headers } = await signedRaw();
      expect(await codeOf(verify(payload, { ...headers, [name]: '' }, { secrets: secret, now: fixedNow }))).toBe('malformed_header');
    });

    it.each([
      ['non-numeric', 'hello'],
      ['negative', '-1700000000'],
      ['fractional', '1700000000.5'],
      ['padded', ' 1700000000'],
      ['hexadecimal', '0x65'],
      ['exponent', '1e9'],
      ['absurdly long', '9'.repeat(40)],
    ])('rejects a %s timestamp as malformed_header', async (_label, timestamp) => {
      const { payload, headers } = await signedRaw();
      expect(await codeOf(verify(payload, { ...headers, 'x-webhook-timestamp': timestamp }, { secrets: secret, now: fixedNow }))).toBe('malformed_header');
    });

    it.each([
      ['an id with a space', 'msg 1'],
      ['an id with a newline', 'msg\n1'],
      ['an id over 256 characters', `msg_${'a'.repeat(300)}`],
    ])('rejects %s as malformed_header', async (_label, id) => {
      const { payload, headers } = await signedRaw();
      expect(await codeOf(verify(payload, { ...headers, 'x-webhook-id': id }, { secrets: secret, now: fixedNow }))).toBe('malformed_header');
    });

    it.each([
      ['garbage without a version', 'garbage'],
      ['a bare comma', ','],
      ['a version without a comma', 'v1'],
      ['a signature that is not base64', 'v1,@@@@not*base64'],
      ['an empty v1 signature', 'v1,'],
      ['only spaces', '   '],
    ])('rejects %s as malformed_header', async (_label, signature) => {
      const { payload, headers } = await signedRaw();
      expect(await codeOf(verify(payload, { ...headers, 'x-webhook-signature': signature }, { secrets: secret, now: fixedNow }))).toBe('malformed_header');
    });

    it('rejects only-unknown versions as invalid_signature (future schemes are skipped, not errors)', async () => {
      const { payload, headers } = await signedRaw();
      const body = headers['x-webhook-signature']!.slice(3);
      for (const signature of [`v2,${body}`, `v9,${body} v3,${body}`]) {
        expect(await codeOf(verify(payload, { ...headers, 'x-webhook-signature': signature }, { secrets: secret, now: fixedNow }))).toBe('invalid_signature');
      }
      // With the valid one beside them it passes.
      await expect(
        verify(payload, { ...headers, 'x-webhook-signature': `v2,${body} ${headers['x-webhook-signature']}` }, { secrets: secret, now: fixedNow }),
      ).resolves.toMatchObject({ id: 'msg_1' });
    });

    it('rejects more than 32 signatures as malformed_header, and accepts 32', async () => {
      const { payload, headers } = await signedRaw();
      const decoy = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
      const thirtyTwo = [...Array.from({ length: 31 }, () => decoy), headers['x-webhook-signature']!].join(' ');
      await expect(verify(payload, { ...headers, 'x-webhook-signature': thirtyTwo }, { secrets: secret, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
      const thirtyThree = [...Array.from({ length: 32 }, () => decoy), headers['x-webhook-signature']!].join(' ');
      expect(await codeOf(verify(payload, { ...headers, 'x-webhook-signature': thirtyThree }, { secrets: secret, now: fixedNow }))).toBe('malformed_header');
    });

    it('rejects a signature header over 8 KiB as malformed_header', async () => {
      const { payload, headers } = await signedRaw();
      const long = `${headers['x-webhook-signature']!} v9,${'A'.repeat(8200)}`;
      const error = await rejectionOf(verify(payload, { ...headers, 'x-webhook-signature': long }, { secrets: secret, now: fixedNow }));
      expect(error).toMatchObject({ code: 'malformed_header' });
      expect((error as Error).message).toMatch(/too long/);
    });

    it('ignores a malformed attempt header instead of failing', async () => {
      const { payload, headers } = await signedRaw();
      const verified = await verify(payload, { ...headers, 'x-webhook-attempt': 'two' }, { secrets: secret, now: fixedNow });
      expect(verified.attempt).toBeUndefined();
    });
  });

  describe('header profiles', () => {
    it('accepts the standard profile and reports it', async () => {
      const { body, headers } = await signedRequest({ secrets: secret, profile: 'standard' });
      expect(headers['webhook-id']).toBeDefined();
      expect(headers['x-webhook-id']).toBeUndefined();
      await expect(verify(body, headers, { secrets: secret, now: fixedNow })).resolves.toMatchObject({ profile: 'standard' });
    });

    it('prefers x-webhook-* when both profiles are present', async () => {
      const { body, headers } = await signedRequest({ secrets: secret, id: 'msg_x' });
      const mixed = { ...headers, 'webhook-id': 'msg_other', 'webhook-timestamp': '1', 'webhook-signature': 'v1,AAAA' };
      await expect(verify(body, mixed, { secrets: secret, now: fixedNow })).resolves.toMatchObject({ id: 'msg_x', profile: 'x-webhook' });
    });
  });
});

describe('ed25519 (v1a)', () => {
  it('signs with whsk_ and verifies with whpk_ from generateKeyPair and publicKeyOf', async () => {
    const pair = await generateKeyPair();
    expect(pair.secretKey.startsWith(SECRET_KEY_PREFIX)).toBe(true);
    expect(pair.publicKey.startsWith(PUBLIC_KEY_PREFIX)).toBe(true);
    expect(publicKeyOf(pair.secretKey)).toBe(pair.publicKey);
    const { payload, headers } = await signedRaw({ secrets: pair.secretKey });
    expect(headers['x-webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    await expect(verify(payload, headers, { secrets: pair.publicKey, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
    // The secret key verifies too (it contains the public key).
    await expect(verify(payload, headers, { secrets: pair.secretKey, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
  });

  it('rejects a v1a signature under another public key, or a tampered body', async () => {
    const [pair, other] = [await generateKeyPair(), await generateKeyPair()];
    const { payload, headers } = await signedRaw({ secrets: pair.secretKey });
    expect(await codeOf(verify(payload, headers, { secrets: other.publicKey, now: fixedNow }))).toBe('invalid_signature');
    expect(await codeOf(verify(`${payload} `, headers, { secrets: pair.publicKey, now: fixedNow }))).toBe('invalid_signature');
  });

  it('does not let a v1a signature pass an HMAC secret or a v1 signature pass a public key', async () => {
    const pair = await generateKeyPair();
    const asymmetric = await signedRaw({ secrets: pair.secretKey });
    expect(await codeOf(verify(asymmetric.payload, asymmetric.headers, { secrets: secret, now: fixedNow }))).toBe('invalid_signature');
    const symmetric = await signedRaw();
    expect(await codeOf(verify(symmetric.payload, symmetric.headers, { secrets: pair.publicKey, now: fixedNow }))).toBe('invalid_signature');
  });

  it('signs with an HMAC secret and a key pair at once, each verifier finding its own', async () => {
    const pair = await generateKeyPair();
    const { payload, headers } = await signedRaw({ secrets: [secret, pair.secretKey] });
    expect(headers['x-webhook-signature']).toMatch(/^v1,\S+ v1a,\S+$/);
    await expect(verify(payload, headers, { secrets: secret, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
    await expect(verify(payload, headers, { secrets: pair.publicKey, now: fixedNow })).resolves.toMatchObject({ id: 'msg_1' });
  });

  it('refuses to sign with a whpk_ public key (ConfigurationError unsupported_key)', async () => {
    const pair = await generateKeyPair();
    const error = await rejectionOf(sign({ id: 'msg_1', timestamp: NOW_SECONDS, payload: '{}', secrets: pair.publicKey }));
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'unsupported_key', status: 500 });
    expect((error as Error).message).not.toContain(pair.publicKey);
  });

  it('refuses publicKeyOf on anything but a whsk_ key', async () => {
    const pair = await generateKeyPair();
    for (const key of [secret, pair.publicKey]) {
      expect(thrownBy(() => publicKeyOf(key))).toMatchObject({ code: 'unsupported_key' });
    }
  });
});

describe('secrets and options', () => {
  it('generates distinct whsec_ secrets of 32 bytes by default, bounded sizes otherwise', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => generateSecret()));
    expect(secrets.size).toBe(50);
    for (const value of secrets) {
      const parsed = parseKey(value);
      expect(parsed.kind === 'hmac' && parsed.bytes.length).toBe(32);
    }
    const big = parseKey(generateSecret(64));
    expect(big.kind === 'hmac' && big.bytes.length).toBe(64);
    for (const size of [0, 8, 23, 65, 1.5, Number.NaN]) expect(thrownBy(() => generateSecret(size))).toMatchObject({ code: 'invalid_option' });
  });

  it.each([
    ['empty', ''],
    ['not base64', 'whsec_!!!!!!!!!!!!!!!!!!!!!!!!'],
    ['too short', 'whsec_AAAAAAAA'],
    ['a whsk_ key of the wrong length', 'whsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a whpk_ key of the wrong length', 'whpk_AAAAAAAAAAAAAAAAAAAA'],
  ])('rejects a secret that is %s with invalid_secret', async (_label, bad) => {
    expect(thrownBy(() => parseKey(bad))).toMatchObject({ code: 'invalid_secret' });
    expect(await codeOf(verify('{}', { 'x-webhook-id': 'm', 'x-webhook-timestamp': '1', 'x-webhook-signature': 'v1,AAAA' }, { secrets: bad }))).toBe('invalid_secret');
    expect(await codeOf(sign({ id: 'msg_1', timestamp: 1, payload: '{}', secrets: bad }))).toBe('invalid_secret');
    // An empty secret is "not configured" for a receiver (answered per request); a malformed one throws at start-up.
    if (bad === '') expect(() => createReceiver({ catalog: broadcastEvents, secrets: bad })).not.toThrow();
    else expect(thrownBy(() => createReceiver({ catalog: broadcastEvents, secrets: bad }))).toMatchObject({ code: 'invalid_secret' });
  });

  it('rejects an empty secret list', async () => {
    expect(await codeOf(verify('{}', {}, { secrets: [] }))).toBe('invalid_secret');
    expect(await codeOf(sign({ id: 'msg_1', timestamp: 1, payload: '{}', secrets: [] }))).toBe('invalid_secret');
  });

  it('rejects bad ids and timestamps when signing with invalid_option', async () => {
    for (const id of ['', 'msg 1', 'a'.repeat(257), 'msg\u0000']) {
      expect(await codeOf(sign({ id, timestamp: 1, payload: '{}', secrets: secret }))).toBe('invalid_option');
    }
    for (const timestamp of [-1, 1.5, Number.NaN, new Date(Number.NaN)]) {
      expect(await codeOf(sign({ id: 'msg_1', timestamp, payload: '{}', secrets: secret }))).toBe('invalid_option');
    }
    expect(await codeOf(signHeaders({ id: 'msg_1', timestamp: 1, payload: '{}', secrets: secret, profile: 'nope' as 'standard' }))).toBe('invalid_option');
  });

  it('masks secrets for logs, keeping only the prefix and four characters', async () => {
    const pair = await generateKeyPair();
    for (const value of [secret, pair.secretKey, pair.publicKey]) {
      const masked = maskSecret(value);
      expect(masked.endsWith(value.slice(-4))).toBe(true);
      expect(masked.length).toBeLessThan(12);
    }
    expect(maskSecret(secret).startsWith('whsec_…')).toBe(true);
  });
});

describe('secrets never appear in error messages', () => {
  const secretBody = fc.base64String({ minLength: 12, maxLength: 120 });
  const anySecret = fc.oneof(
    secretBody.map((body) => `whsec_${body}`),
    secretBody.map((body) => `whsk_${body}`),
    secretBody.map((body) => `whpk_${body}`),
    fc.string({ minLength: 12, maxLength: 80 }),
  );

  function expectNoSecret(error: unknown, value: string): void {
    expect(HooksError.isInstance(error)).toBe(true);
    const { message } = error as Error;
    const texts = [message, JSON.stringify(error), String(error), (error as Error).stack ?? ''];
    const body = value.replace(/^wh(sec|sk|pk)_/, '');
    for (const text of texts) {
      expect(text).not.toContain(value);
      if (body.length >= 12) expect(text).not.toContain(body);
    }
  }

  it('holds for parseKey, sign, verify and createReceiver on arbitrary secrets', async () => {
    await fc.assert(
      fc.asyncProperty(anySecret, fc.string({ maxLength: 100 }), async (value, payload) => {
        const attempts: Array<() => Promise<unknown>> = [
          async () => parseKey(value),
          () => sign({ id: 'msg_1', timestamp: NOW_SECONDS, payload, secrets: value }),
          () => sign({ id: 'msg 1', timestamp: NOW_SECONDS, payload, secrets: value }),
          () => verify(payload, { 'x-webhook-id': 'msg_1', 'x-webhook-timestamp': String(NOW_SECONDS), 'x-webhook-signature': 'v1,AAAA' }, { secrets: value, now: fixedNow }),
          async () => createReceiver({ catalog: broadcastEvents, secrets: [value] }),
        ];
        for (const attempt of attempts) {
          try {
            await attempt();
          } catch (error) {
            expectNoSecret(error, value);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('holds for every verification failure with a valid secret', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('sig', 'id', 'time', 'stale', 'missing'), async (change) => {
        const { payload, headers } = await signedRaw();
        if (change === 'sig') headers['x-webhook-signature'] = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
        if (change === 'id') headers['x-webhook-id'] = 'msg 2';
        if (change === 'time') headers['x-webhook-timestamp'] = 'x';
        if (change === 'stale') headers['x-webhook-timestamp'] = '1';
        if (change === 'missing') delete headers['x-webhook-signature'];
        expectNoSecret(await rejectionOf(verify(payload, headers, { secrets: secret, now: fixedNow })), secret);
      }),
    );
  });
});
