import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crypto as nodeCrypto } from '../src/crypto/node';
import { crypto as webCrypto } from '../src/crypto/web';

// Both backends are imported directly, so this runs the Node and the Web Crypto code side by side.
const key = fc.uint8Array({ minLength: 16, maxLength: 128 });
const prefix = fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), fc.nat()).map(([id, seconds]) => `${id}.${seconds}.`);
const body = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 2000 }), fc.uint8Array({ maxLength: 4000 }));

describe('crypto backends', () => {
  it('are named node and web', () => {
    expect(nodeCrypto.name).toBe('node');
    expect(webCrypto.name).toBe('web');
  });

  it('give byte-identical HMAC-SHA256 on generated keys, prefixes and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(key, prefix, body, async (secret, signedPrefix, payload) => {
        const fromNode = await nodeCrypto.hmacSha256(secret, signedPrefix, payload);
        const fromWeb = await webCrypto.hmacSha256(secret, signedPrefix, payload);
        expect(fromNode.length).toBe(32);
        expect(Array.from(fromWeb)).toEqual(Array.from(fromNode));
      }),
      { numRuns: 300 },
    );
  });

  it('give byte-identical Ed25519 signatures, each verifying the other', async () => {
    const nodeKeys = await nodeCrypto.ed25519Generate();
    const webKeys = await webCrypto.ed25519Generate();
    await fc.assert(
      fc.asyncProperty(fc.boolean(), prefix, body, async (useNodeKey, signedPrefix, payload) => {
        const { secretKey, publicKey } = useNodeKey ? nodeKeys : webKeys;
        const fromNode = await nodeCrypto.ed25519Sign(secretKey, signedPrefix, payload);
        const fromWeb = await webCrypto.ed25519Sign(secretKey, signedPrefix, payload);
        expect(fromNode.length).toBe(64);
        expect(Array.from(fromWeb)).toEqual(Array.from(fromNode));
        expect(await nodeCrypto.ed25519Verify(publicKey, fromWeb, signedPrefix, payload)).toBe(true);
        expect(await webCrypto.ed25519Verify(publicKey, fromNode, signedPrefix, payload)).toBe(true);
        const tampered = Uint8Array.from(fromNode);
        tampered[0]! ^= 1;
        expect(await nodeCrypto.ed25519Verify(publicKey, tampered, signedPrefix, payload)).toBe(false);
        expect(await webCrypto.ed25519Verify(publicKey, tampered, signedPrefix, payload)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('agree on timingSafeEqual, including different lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.boolean(), (a, b, same) => {
        const right = same ? Uint8Array.from(a) : b;
        const expected = a.length === right.length && a.every((byte, index) => byte === right[index]);
        expect(nodeCrypto.timingSafeEqual(a, right)).toBe(expected);
        expect(webCrypto.timingSafeEqual(a, right)).toBe(expected);
      }),
    );
  });

  it('fill random buffers of any length, including past the 64 KiB getRandomValues limit', () => {
    for (const backend of [nodeCrypto, webCrypto]) {
      const bytes = backend.randomBytes(70_000);
      expect(bytes.length).toBe(70_000);
      // Both halves beyond the first getRandomValues call are filled (all-zero 1 KiB is ~impossible).
      expect(bytes.subarray(69_000).some((byte) => byte !== 0)).toBe(true);
      expect(backend.randomBytes(0).length).toBe(0);
    }
  });
});
