import { CliError } from './errors';
import { readFileBytes } from './input';
import { redact } from './io';

/** Environment variable holding the keys that encrypt endpoint secrets at rest. */
export const ENCRYPTION_ENV = 'HOOKS_ENCRYPTION_KEY';

/** The sender's `encryption` option. */
export interface EncryptionKeys {
  /** Keys by id, base64. */
  keys: Record<string, string>;
  /** The id of the key that encrypts. */
  current: string;
}

/**
 * Reads `id:base64key[,id:base64key…]` (the first is the current key) from `--encryption-key-file`
 * or `$HOOKS_ENCRYPTION_KEY`: the same ids and keys as the application's `encryption` option,
 * since each stored secret names the key that sealed it. Undefined when neither is set.
 */
export async function resolveEncryption(file: string | undefined): Promise<EncryptionKeys | undefined> {
  const origin = file === undefined ? `$${ENCRYPTION_ENV}` : `--encryption-key-file ${file}`;
  const text = file === undefined ? process.env[ENCRYPTION_ENV] : (await readFileBytes(file, 'encryption key file')).toString('utf8');
  if (text === undefined || text.trim() === '') return undefined;
  const keys: Record<string, string> = {};
  let current: string | undefined;
  for (const entry of text.split(/[\s,]+/).filter((part) => part.length > 0)) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    const key = entry.slice(colon + 1);
    redact(key, '****');
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length === 0) {
      throw new CliError('invalid_option', `${origin} must be "id:base64key", several separated by commas (the first encrypts), with the ids of your sender's encryption option.`);
    }
    keys[id] = key;
    current ??= id;
  }
  return { keys, current: current! };
}
