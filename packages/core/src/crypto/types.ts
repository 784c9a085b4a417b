/** What the signing code needs from a runtime; `node.ts` and `web.ts` implement it identically. */
export interface CryptoBackend {
  /** Which implementation this is. */
  readonly name: 'node' | 'web';
  /** HMAC-SHA256 of `prefix` (UTF-8) followed by `body`. */
  hmacSha256(key: Uint8Array, prefix: string, body: Uint8Array | string): Uint8Array | Promise<Uint8Array>;
  /** The same HMAC, base64-encoded (node:crypto encodes natively, without a byte array in between). */
  hmacSha256Base64(key: Uint8Array, prefix: string, body: Uint8Array | string): string | Promise<string>;
  /** Constant-time equality of two byte arrays of the same length. */
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
  /** Bytes from a CSPRNG. */
  randomBytes(length: number): Uint8Array;
  /** Ed25519 signature with a 64-byte secret key (32-byte seed followed by the public key). */
  ed25519Sign(secretKey: Uint8Array, prefix: string, body: Uint8Array | string): Promise<Uint8Array>;
  /** Ed25519 verification with a 32-byte public key. */
  ed25519Verify(publicKey: Uint8Array, signature: Uint8Array, prefix: string, body: Uint8Array | string): Promise<boolean>;
  /** A new Ed25519 key pair: 64-byte secret key (seed + public key) and 32-byte public key. */
  ed25519Generate(): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }>;
}
