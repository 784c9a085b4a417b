import { describe, expect, inject, it } from 'vitest';
import { cryptoBackendName, generateKeyPair, generateSecret, publicKeyOf, sign, verify } from '../src/index';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Which `#crypto` backend the project must resolve: `node` for `core`, `web` for `core-edge`. */
    expectedCryptoBackend: 'node' | 'web';
  }
}

describe('runtime', () => {
  it('resolves #crypto to the backend of this project (node for core, web for core-edge)', () => {
    expect(cryptoBackendName).toBe(inject('expectedCryptoBackend'));
  });

  it('runs under the edge runtime only in core-edge', () => {
    const edge = (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime;
    expect(edge !== undefined).toBe(inject('expectedCryptoBackend') === 'web');
  });

  it('signs and verifies both HMAC and Ed25519 with this backend', async () => {
    const secret = generateSecret();
    const { secretKey } = await generateKeyPair();
    const signature = await sign({ id: 'msg_rt', timestamp: 1_800_000_000, payload: '{"a":1}', secrets: [secret, secretKey] });
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1a,[A-Za-z0-9+/]{86}==$/);
    const headers = { 'webhook-id': 'msg_rt', 'webhook-timestamp': '1800000000', 'webhook-signature': signature };
    const now = () => 1_800_000_000_000;
    await expect(verify('{"a":1}', headers, { secrets: secret, now })).resolves.toMatchObject({ id: 'msg_rt' });
    await expect(verify('{"a":1}', headers, { secrets: publicKeyOf(secretKey), now })).resolves.toMatchObject({ id: 'msg_rt' });
  });
});
