import { crypto } from '#crypto';
import { base64Decode, base64Encode } from './encoding';
import { ConfigurationError } from './errors';

/** Prefix of symmetric HMAC secrets (Standard Webhooks). */
export const SECRET_PREFIX = 'whsec_';
/** Prefix of Ed25519 secret (signing) keys. */
export const SECRET_KEY_PREFIX = 'whsk_';
/** Prefix of Ed25519 public (verifying) keys. */
export const PUBLIC_KEY_PREFIX = 'whpk_';

/** A decoded secret or key, as the signer and verifier use it. */
export type ParsedKey =
  | {
      /** A symmetric HMAC-SHA256 secret (`whsec_…` or bare base64). */
      kind: 'hmac';
      /** The decoded secret, 16 to 128 bytes. */
      bytes: Uint8Array;
    }
  | {
      /** An Ed25519 signing key (`whsk_…`): signs, and verifies with its public half. */
      kind: 'ed25519-secret';
      /** The 64 decoded bytes: the 32-byte seed followed by the 32-byte public key. */
      secretKey: Uint8Array;
      /** The 32-byte public key (the last half of `secretKey`). */
      publicKey: Uint8Array;
    }
  | {
      /** An Ed25519 public key (`whpk_…`): verifies only. */
      kind: 'ed25519-public';
      /** The 32-byte public key. */
      publicKey: Uint8Array;
    };

// Secrets are parsed once; a receiver verifying thousands of requests per second decodes nothing.
const parsed = new Map<string, ParsedKey>();
const MAX_CACHED = 1024;

/**
 * Decodes a `whsec_…` secret (or bare base64, as Standard Webhooks libraries accept), a
 * `whsk_…` Ed25519 secret key or a `whpk_…` public key. Throws {@link ConfigurationError}
 * with code `invalid_secret` whose message never contains the secret.
 *
 * @param secret - The secret or key as configured.
 * @returns Its kind and decoded bytes.
 *
 * @example
 * ```ts
 * import { ConfigurationError, parseKey } from '@hooks/core';
 *
 * // Check the configuration at start-up rather than on the first request.
 * try {
 *   const key = parseKey(process.env.WEBHOOK_SECRET ?? '');
 *   console.log(key.kind); // 'hmac', 'ed25519-secret' or 'ed25519-public'
 * } catch (error) {
 *   // 'invalid_secret', and a message that never contains the secret itself
 *   if (error instanceof ConfigurationError) console.error(error.code, error.message);
 *   process.exit(1);
 * }
 * ```
 */
export function parseKey(secret: string): ParsedKey {
  const hit = parsed.get(secret);
  if (hit) return hit;
  const key = decodeKey(secret);
  if (parsed.size >= MAX_CACHED) parsed.clear();
  parsed.set(secret, key);
  return key;
}

function decodeKey(secret: string): ParsedKey {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new ConfigurationError('invalid_secret', 'A webhook secret must be a non-empty string.');
  }
  if (secret.startsWith(SECRET_KEY_PREFIX)) {
    const bytes = base64Decode(secret.slice(SECRET_KEY_PREFIX.length));
    if (bytes?.length !== 64) {
      throw new ConfigurationError('invalid_secret', 'A whsk_ secret key must be 64 bytes of base64 (Ed25519 seed and public key).');
    }
    return { kind: 'ed25519-secret', secretKey: bytes, publicKey: bytes.slice(32) };
  }
  if (secret.startsWith(PUBLIC_KEY_PREFIX)) {
    const bytes = base64Decode(secret.slice(PUBLIC_KEY_PREFIX.length));
    if (bytes?.length !== 32) {
      throw new ConfigurationError('invalid_secret', 'A whpk_ public key must be 32 bytes of base64 (Ed25519).');
    }
    return { kind: 'ed25519-public', publicKey: bytes };
  }
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const bytes = base64Decode(body);
  if (!bytes || bytes.length < 16 || bytes.length > 128) {
    throw new ConfigurationError(
      'invalid_secret',
      'A webhook secret must be "whsec_" followed by 16 to 128 bytes of base64 (as generateSecret() returns).',
    );
  }
  return { kind: 'hmac', bytes };
}

/**
 * A new `whsec_` secret of 32 random bytes from the platform CSPRNG.
 *
 * @param byteLength - How many random bytes, 24 to 64 (default: 32).
 * @returns `whsec_` followed by the bytes in base64: give it to the endpoint's owner once.
 *
 * @example
 * ```ts
 * import { generateSecret } from '@hooks/core';
 *
 * const secret = generateSecret(); // 'whsec_…', 32 random bytes
 * ```
 */
export function generateSecret(byteLength = 32): string {
  if (!Number.isInteger(byteLength) || byteLength < 24 || byteLength > 64) {
    throw new ConfigurationError('invalid_option', 'generateSecret: byteLength must be an integer from 24 to 64.');
  }
  return SECRET_PREFIX + base64Encode(crypto.randomBytes(byteLength));
}

/** An Ed25519 key pair for asymmetric `v1a` signatures: sign with `secretKey`, publish `publicKey`. */
export interface WebhookKeyPair {
  /** `whsk_…`: keep it on the sender. */
  secretKey: string;
  /** `whpk_…`: give it to receivers. */
  publicKey: string;
}

/**
 * Generates an Ed25519 key pair (`whsk_` / `whpk_`).
 *
 * @returns The `whsk_` secret key, which signs (`v1a,` signatures), and the `whpk_` public key, which verifies.
 *
 * @example
 * ```ts
 * import { createMessageId, generateKeyPair, sign, verify } from '@hooks/core';
 *
 * // Keep secretKey on the sender; publish publicKey.
 * const { secretKey, publicKey } = await generateKeyPair();
 *
 * const id = createMessageId();
 * const timestamp = Math.floor(Date.now() / 1000);
 * const payload = '{"hello":"world"}';
 * const signature = await sign({ id, timestamp, payload, secrets: secretKey }); // 'v1a,…'
 *
 * // Receivers need only the public key.
 * const headers = {
 *   'webhook-id': id,
 *   'webhook-timestamp': String(timestamp),
 *   'webhook-signature': signature,
 * };
 * await verify(payload, headers, { secrets: publicKey });
 * ```
 */
export async function generateKeyPair(): Promise<WebhookKeyPair> {
  const { secretKey, publicKey } = await crypto.ed25519Generate();
  return { secretKey: SECRET_KEY_PREFIX + base64Encode(secretKey), publicKey: PUBLIC_KEY_PREFIX + base64Encode(publicKey) };
}

/**
 * The `whpk_` public key that verifies what a `whsk_` secret key signs.
 *
 * @param secretKey - A `whsk_…` Ed25519 secret key.
 * @returns Its `whpk_…` public key. Throws {@link ConfigurationError} (`unsupported_key`) for any other kind of secret.
 *
 * @example
 * <!-- prelude: declare const signingKey: string; -->
 * ```ts
 * import { publicKeyOf } from '@hooks/core';
 *
 * // signingKey: the sender's whsk_… key, from your secret store.
 * const publicKey = publicKeyOf(signingKey); // 'whpk_…': publish it for receivers
 * ```
 */
export function publicKeyOf(secretKey: string): string {
  const key = parseKey(secretKey);
  if (key.kind !== 'ed25519-secret') {
    throw new ConfigurationError('unsupported_key', 'publicKeyOf expects a whsk_ Ed25519 secret key.');
  }
  return PUBLIC_KEY_PREFIX + base64Encode(key.publicKey);
}

/**
 * Shows which secret is meant without revealing it: `whsec_…Ab3x` style, safe for logs and UIs.
 *
 * @param secret - Any secret or key.
 * @returns Its prefix (`whsec_`, `whsk_`, `whpk_`, or none), an ellipsis and its last 4 characters.
 *
 * @example
 * ```ts
 * import { generateSecret, maskSecret } from '@hooks/core';
 *
 * const secret = generateSecret();
 * console.log(`Verifying with ${maskSecret(secret)}`); // 'Verifying with whsec_…Ab3x'
 * ```
 */
export function maskSecret(secret: string): string {
  const prefix = [SECRET_PREFIX, SECRET_KEY_PREFIX, PUBLIC_KEY_PREFIX].find((p) => secret.startsWith(p)) ?? '';
  return `${prefix}…${secret.slice(-4)}`;
}
