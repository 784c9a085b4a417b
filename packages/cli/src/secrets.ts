import { ConfigurationError, PUBLIC_KEY_PREFIX, SECRET_KEY_PREFIX, maskSecret, sign } from '@hooks/core';
import { CliError } from './errors';
import { readFileBytes } from './input';
import { redact } from './io';

/** The options every command that signs or verifies accepts. */
export interface SecretOptions {
  /** `--secret`, repeatable (several during a rotation). */
  secret?: string[];
  /** `--secret-file`, repeatable: files holding one or more secrets. */
  secretFile?: string[];
}

/** What a secret is, from its prefix (the format itself is checked by @hooks/core). */
export function keyKind(secret: string): 'hmac' | 'ed25519-secret' | 'ed25519-public' {
  if (secret.startsWith(SECRET_KEY_PREFIX)) return 'ed25519-secret';
  if (secret.startsWith(PUBLIC_KEY_PREFIX)) return 'ed25519-public';
  return 'hmac';
}

/** Environment variable read when neither `--secret` nor `--secret-file` is given (the name the receiver guides use). */
export const SECRET_ENV = 'WEBHOOK_SECRET';

// Secrets are base64 with a prefix: whitespace and commas never occur inside one.
function split(text: string): string[] {
  return text.split(/[\s,]+/).filter((part) => part.length > 0);
}

/**
 * The secrets of a command, from `--secret`, `--secret-file` or `$WEBHOOK_SECRET`, each checked
 * with @hooks/core's parser. Every one is registered for masking before anything can print it.
 */
export async function resolveSecrets(options: SecretOptions, purpose: 'sign' | 'verify'): Promise<string[]> {
  const found: Array<{ secret: string; origin: string }> = [];
  for (const [index, value] of (options.secret ?? []).entries()) {
    for (const secret of split(value)) found.push({ secret, origin: `--secret #${index + 1}` });
  }
  for (const file of options.secretFile ?? []) {
    const text = (await readFileBytes(file, 'secret file')).toString('utf8');
    for (const secret of split(text)) found.push({ secret, origin: `--secret-file ${file}` });
  }
  if (found.length === 0) {
    for (const secret of split(process.env[SECRET_ENV] ?? '')) found.push({ secret, origin: `$${SECRET_ENV}` });
  }
  for (const { secret } of found) redact(secret);
  if (found.length === 0) {
    throw new CliError('invalid_secret', 'No secret: pass --secret whsec_…, --secret-file FILE or set WEBHOOK_SECRET.', {
      hint: 'The endpoint secret is shown once when the endpoint is created; GET /endpoints/:id/secret reads it again.',
    });
  }
  for (const { secret, origin } of found) {
    try {
      // Signing an empty body is the public way to have @hooks/core check a secret's format.
      await sign({ id: 'msg_check', timestamp: 0, payload: '', secrets: secret });
    } catch (error) {
      if (ConfigurationError.isInstance(error) && error.code === 'unsupported_key') {
        // A well-formed whpk_ public key: fine for verifying, useless for signing.
        if (purpose === 'verify') continue;
        throw new CliError('unsupported_key', `The key from ${origin} (${maskSecret(secret)}) is a whpk_ public key: it verifies but cannot sign.`, {
          hint: 'Sign with the whsk_ secret key; give receivers the whpk_ public key.',
        });
      }
      if (ConfigurationError.isInstance(error)) {
        // The library's message never repeats the secret; the mask says which one was meant.
        throw new CliError('invalid_secret', `The secret from ${origin} (${maskSecret(secret)}) is not valid: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
  return found.map(({ secret }) => secret);
}
