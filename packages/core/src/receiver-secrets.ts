import { ConfigurationError } from './errors';
import { parseKey } from './secrets';

/**
 * Secrets as a receiver accepts them: one, or several during a rotation. `undefined`, `null` and
 * `''` stand for a secret that is not configured (an environment variable absent at build time):
 * such entries are skipped, and a receiver left with none answers `500 missing_secret`.
 */
export type ReceiverSecrets = string | null | undefined | ReadonlyArray<string | null | undefined>;

/** The secrets that are set, each checked (a malformed one throws `invalid_secret` at once), and how many entries were empty. */
export interface SecretList {
  /** The configured secrets, in order. */
  list: string[];
  /** Entries that were empty (`undefined`, `null`, `''`). */
  empty: number;
}

/** Splits configured secrets from empty entries; throws {@link ConfigurationError} `invalid_secret` for a present but unusable one. */
export function resolveSecretList(secrets: ReceiverSecrets): SecretList {
  const entries: ReadonlyArray<unknown> = Array.isArray(secrets) ? secrets : [secrets];
  const list: string[] = [];
  let empty = 0;
  for (const entry of entries) {
    if (entry === undefined || entry === null || entry === '') {
      empty++;
      continue;
    }
    if (typeof entry !== 'string') throw new ConfigurationError('invalid_secret', 'A webhook secret must be a string (whsec_…).');
    // Decodes and caches the key; a malformed secret fails here, at start-up, not per request.
    parseKey(entry);
    list.push(entry);
  }
  return { list, empty };
}

/** The error a receiver answers with while no secret is configured. */
export function missingSecretError(): ConfigurationError {
  return new ConfigurationError(
    'missing_secret',
    'No webhook secret is configured for this receiver (the secret was empty when it was created); set it where the server runs, then restart or redeploy.',
  );
}
