import { base64Decode, base64Encode, base64UrlEncode, concatBytes, utf8Encode } from '../encoding';
import type { CryptoBackend } from './types';

// Web Crypto only: no Node built-ins, so this runs on edge runtimes, workers and browsers.
const subtle = globalThis.crypto.subtle;

const hmacKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
const signingKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
const verifyingKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function cached(map: WeakMap<Uint8Array, Promise<CryptoKey>>, key: Uint8Array, load: () => Promise<CryptoKey>): Promise<CryptoKey> {
  let promise = map.get(key);
  if (!promise) {
    promise = load();
    map.set(key, promise);
  }
  return promise;
}

function toBytes(prefix: string, body: Uint8Array | string): Uint8Array<ArrayBuffer> {
  return concatBytes([utf8Encode(prefix), typeof body === 'string' ? utf8Encode(body) : body]) as Uint8Array<ArrayBuffer>;
}

function asBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

export const crypto: CryptoBackend = {
  name: 'web',
  async hmacSha256(key, prefix, body) {
    const cryptoKey = await cached(hmacKeys, key, () =>
      subtle.importKey('raw', asBuffer(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
    );
    return new Uint8Array(await subtle.sign('HMAC', cryptoKey, toBytes(prefix, body)));
  },
  async hmacSha256Base64(key, prefix, body) {
    return base64Encode(await this.hmacSha256(key, prefix, body));
  },
  timingSafeEqual(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
    return diff === 0;
  },
  randomBytes(length) {
    const out = new Uint8Array(length);
    // getRandomValues fills at most 65,536 bytes per call.
    for (let offset = 0; offset < length; offset += 65_536) {
      globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65_536)));
    }
    return out;
  },
  async ed25519Sign(secretKey, prefix, body) {
    const key = await cached(signingKeys, secretKey, () =>
      subtle.importKey(
        'jwk',
        { kty: 'OKP', crv: 'Ed25519', d: base64UrlEncode(secretKey.subarray(0, 32)), x: base64UrlEncode(secretKey.subarray(32)) },
        { name: 'Ed25519' },
        false,
        ['sign'],
      ),
    );
    return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, toBytes(prefix, body)));
  },
  async ed25519Verify(publicKey, signature, prefix, body) {
    const key = await cached(verifyingKeys, publicKey, () =>
      subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: base64UrlEncode(publicKey) }, { name: 'Ed25519' }, false, ['verify']),
    );
    return subtle.verify({ name: 'Ed25519' }, key, asBuffer(signature), toBytes(prefix, body));
  },
  async ed25519Generate() {
    const pair = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = await subtle.exportKey('jwk', pair.privateKey);
    const seed = base64Decode(jwk.d ?? '');
    const publicKey = base64Decode(jwk.x ?? '');
    if (!seed || !publicKey) throw new Error('Ed25519 key generation returned an unexpected JWK');
    return { secretKey: concatBytes([seed, publicKey]), publicKey };
  },
};
