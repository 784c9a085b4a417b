import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crypto } from '../src/crypto/node';

// The Node backend computes HMAC-SHA256 from two one-shot hashes over a reused buffer for
// webhook-sized messages and with createHmac past 16 KB: both must give createHmac's bytes.
function reference(key: Uint8Array, prefix: string, body: Uint8Array | string): Buffer {
  const hmac = createHmac('sha256', key).update(prefix, 'utf8');
  return (typeof body === 'string' ? hmac.update(body, 'utf8') : hmac.update(body)).digest();
}

function check(key: Uint8Array, prefix: string, body: Uint8Array | string): void {
  const expected = reference(key, prefix, body);
  expect(crypto.hmacSha256Base64(key, prefix, body)).toBe(expected.toString('base64'));
  expect(Buffer.from(crypto.hmacSha256(key, prefix, body) as Uint8Array).toString('hex')).toBe(expected.toString('hex'));
}

describe('node backend HMAC-SHA256', () => {
  it('equals createHmac on generated keys (16 to 128 bytes, so longer than a block too), prefixes and bodies', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 128 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.oneof(fc.string({ unit: 'binary', maxLength: 3000 }), fc.string({ unit: 'grapheme', maxLength: 2000 }), fc.uint8Array({ maxLength: 5000 })),
        check,
      ),
      { numRuns: 400 },
    );
  });

  it('equals createHmac around the one-shot size limit, for ASCII, multi-byte and byte bodies', () => {
    const key = Uint8Array.from({ length: 32 }, (_, index) => index * 7);
    const prefix = 'msg_2Z4limit.1700000000.';
    for (const size of [0, 1, 5_000, 5_500, 16_383, 16_384, 16_385, 16_800, 40_000]) {
      check(key, prefix, 'a'.repeat(size));
      check(key, prefix, Uint8Array.from({ length: size }, (_, index) => index & 255));
      check(key, prefix, 'é'.repeat(Math.floor(size / 2)));
      check(key, prefix, '€'.repeat(Math.floor(size / 3)));
    }
  });

  it('equals createHmac at the key lengths where HMAC changes how it pads (64) or hashes (65+) the key', () => {
    for (const length of [16, 63, 64, 65, 100, 128]) {
      check(Uint8Array.from({ length }, (_, index) => 255 - index), 'msg_k.1700000000.', '{"key":"length"}');
    }
  });

  it('encodes lone surrogates, non-ASCII ids and Buffer views with an offset as createHmac does', () => {
    const key = new Uint8Array(48).fill(9);
    check(key, 'msg_\u00e9\u4e2d\ud83d\ude00.1700000000.', '{"a":"\ud800"}');
    check(key, 'msg_1.1700000000.', '\udc00 trailing \ud83d');
    const backing = Buffer.from('xxxx{"id":"msg_1"}yyyy');
    check(key, 'msg_1.1700000000.', backing.subarray(4, backing.length - 4));
  });

  it('keeps keys apart when calls alternate (the buffer and key blocks are reused)', () => {
    const first = new Uint8Array(32).fill(1);
    const second = new Uint8Array(100).fill(2);
    for (let round = 0; round < 3; round++) {
      check(first, 'msg_a.1.', 'x'.repeat(round * 700));
      check(second, 'msg_b.2.', 'y'.repeat(round * 900 + 1));
    }
  });
});
