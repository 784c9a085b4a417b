import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SenderError } from './errors';

/** How endpoint secrets are encrypted at rest. */
export interface EncryptionOptions {
  /**
   * Encryption keys by id: 32 random bytes each, as base64 (or base64url) text or bytes. Keep
   * every key that still encrypts a stored secret; ids (1-32 letters, digits, `_`, `-`) are stored
   * with each ciphertext. Generate one with `generateEncryptionKey()`.
   */
  keys: Readonly<Record<string, string | Uint8Array>>;
  /** Id of the key that encrypts new secrets (and that `reencryptSecrets()` moves every secret to). */
  current: string;
}

/** Seals and opens stored secrets; without keys, values pass through in clear. */
export interface SecretBox {
  /** True when keys are configured. */
  readonly encrypted: boolean;
  /** The value to store for `secret` of `endpointId` (ciphertext under the current key, or the secret itself without keys). */
  seal(endpointId: string, secret: string): string;
  /** The secret from a stored value (ciphertext under any configured key, or clear text written before encryption was enabled). */
  open(endpointId: string, stored: string): string;
  /** True when a stored value is not yet ciphertext under the current key. */
  needsReseal(stored: string): boolean;
}

// `enc1:<key id>:<base64url(iv | tag | ciphertext)>`: a version, the key id, AES-256-GCM output.
const PREFIX = 'enc1:';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
// What generateSecret() writes: HMAC secrets and Ed25519 keys.
const CLEAR_TEXT = /^wh(?:sec|sk)_/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

function invalid(message: string): SenderError {
  // Never echoes a key: only ids and lengths appear in messages.
  return new SenderError('invalid_option', message, { details: { field: 'encryption' } });
}

function decodeKey(id: string, value: unknown): Buffer {
  let bytes: Buffer | undefined;
  if (typeof value === 'string') {
    const text = value.trim();
    if (/^[A-Za-z0-9+/]{43}=?$/.test(text) || /^[A-Za-z0-9_-]{43}$/.test(text)) bytes = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  } else if (value instanceof Uint8Array) {
    bytes = Buffer.from(value);
  }
  if (bytes?.length !== 32) {
    throw invalid(`encryption.keys.${id} must be 32 random bytes, as base64 text (44 characters) or a Uint8Array; generate one with generateEncryptionKey().`);
  }
  return bytes;
}

/**
 * A new random key for {@link EncryptionOptions.keys}: 32 bytes from the system's secure random
 * source, as base64 (44 characters). Generate it once, keep it in your secret store, and give the
 * same keys to every process that creates the sender or dispatches.
 *
 * @returns The key, as base64 text.
 *
 * @example
 * ```ts
 * import { generateEncryptionKey } from '@hooks/sender';
 *
 * // Once, in a setup script: store the result as HOOKS_KEY_K1 in your secret store.
 * console.log(generateEncryptionKey());
 * ```
 *
 * @example
 * <!-- prelude: import { events } from './events.js'; -->
 * ```ts
 * import { createSender } from '@hooks/sender';
 *
 * const sender = createSender({ catalog: events, encryption: { keys: { k1: process.env.HOOKS_KEY_K1! }, current: 'k1' } });
 * ```
 */
export function generateEncryptionKey(): string {
  return randomBytes(32).toString('base64');
}

/** Checks the encryption options (typed `invalid_option` errors that never show a key) and builds the box. */
export function createSecretBox(options: EncryptionOptions | undefined): SecretBox {
  if (options === undefined) {
    return {
      encrypted: false,
      seal: (_endpointId, secret) => secret,
      open(_endpointId, stored) {
        if (stored.startsWith(PREFIX)) {
          throw new SenderError('storage_error', `An endpoint secret is encrypted (key "${keyIdOf(stored)}") but the sender has no encryption keys: pass the encryption option.`);
        }
        return stored;
      },
      needsReseal: () => false,
    };
  }
  if (typeof options !== 'object' || options === null || typeof options.keys !== 'object' || options.keys === null) {
    throw invalid('encryption must be { keys: { <id>: <base64 32-byte key> }, current: <id> }.');
  }
  const keys = new Map<string, Buffer>();
  for (const [id, value] of Object.entries(options.keys)) {
    if (!KEY_ID.test(id)) throw invalid(`encryption key ids must be 1 to 32 letters, digits, "_" or "-" (got ${JSON.stringify(id.slice(0, 40))}).`);
    keys.set(id, decodeKey(id, value));
  }
  if (keys.size === 0) throw invalid('encryption.keys needs at least one key.');
  const current = options.current;
  if (typeof current !== 'string' || !keys.has(current)) {
    throw invalid(`encryption.current must be the id of one of encryption.keys (${[...keys.keys()].join(', ')}).`);
  }
  const currentKey = keys.get(current) as Buffer;
  // Binds a ciphertext to its endpoint: a value copied to another endpoint's row does not open.
  const aad = (endpointId: string) => Buffer.from(`@hooks/sender secret ${endpointId}`, 'utf8');

  return {
    encrypted: true,
    seal(endpointId, secret) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv);
      cipher.setAAD(aad(endpointId));
      const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return `${PREFIX}${current}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url')}`;
    },
    open(endpointId, stored) {
      // Clear text written before encryption was turned on: readable until reencryptSecrets() runs.
      if (CLEAR_TEXT.test(stored)) return stored;
      // Anything else is damaged: signing with it would only produce signatures nobody accepts.
      if (!stored.startsWith(PREFIX)) throw new SenderError('storage_error', 'A stored endpoint secret is neither a secret nor a ciphertext this sender wrote (damaged value).');
      const id = keyIdOf(stored);
      const key = keys.get(id);
      if (!key) throw new SenderError('storage_error', `An endpoint secret is encrypted with key "${id.slice(0, 32)}", which is not in encryption.keys.`);
      const bytes = Buffer.from(stored.slice(PREFIX.length + id.length + 1), 'base64url');
      if (bytes.length <= IV_BYTES + TAG_BYTES) throw new SenderError('storage_error', 'A stored endpoint secret is damaged (too short to be a ciphertext).');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
        decipher.setAAD(aad(endpointId));
        decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new SenderError('storage_error', `A stored endpoint secret does not decrypt with key "${id}" (wrong key or damaged value).`, { cause: { name: (cause as Error)?.name } });
      }
    },
    needsReseal(stored) {
      return !stored.startsWith(`${PREFIX}${current}:`);
    },
  };
}

function keyIdOf(stored: string): string {
  const end = stored.indexOf(':', PREFIX.length);
  return end === -1 ? '' : stored.slice(PREFIX.length, end);
}
