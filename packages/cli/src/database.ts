import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Storage } from '@hooks/sender';
import { CliError } from './errors';
import { redact } from './io';

/** `--database` and the options that go with it. */
export interface DatabaseOptions {
  /** A SQLite file path, or a `postgres://` / `postgresql://` URL. */
  database: string;
  /** PostgreSQL schema. @default 'hooks' */
  schema?: string;
}

/** An opened storage and how to name it in messages (passwords masked). */
export interface OpenedStorage {
  /** The storage. */
  storage: Storage;
  /** `sqlite` or `postgres`. */
  kind: 'sqlite' | 'postgres';
  /** The database for messages: a path, or a URL without its password. */
  label: string;
}

/** Environment variable holding the `--database` value when the option is absent. */
export const DATABASE_ENV = 'HOOKS_DATABASE';

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

/** A `postgres://` URL with its password replaced; the password is registered for masking. */
function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      redact(decodeURIComponent(parsed.password), '****');
      redact(parsed.password, '****');
      parsed.password = '****';
    }
    return parsed.toString();
  } catch {
    throw new CliError('invalid_option', '--database is not a valid postgres:// URL.');
  }
}

/** Runs a storage call; anything that is not already a CLI error is a storage error (exit code 5). */
export async function storageCall<T>(label: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CliError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new CliError('storage_error', `The database ${label} failed: ${message}`, { cause: error });
  }
}

/**
 * Opens the sender's storage named by `--database`: a SQLite file, or PostgreSQL for a
 * `postgres://` URL. `create: false` refuses a SQLite file that does not exist yet (a typo would
 * otherwise create an empty database); `migrate` says whether opening may migrate the schema.
 */
export async function openStorage(options: DatabaseOptions, mode: { create: boolean; migrate: boolean }): Promise<OpenedStorage> {
  const database = options.database;
  const sender = await import('@hooks/sender');
  if (POSTGRES_URL.test(database)) {
    const label = maskUrl(database);
    const schema = options.schema ?? 'hooks';
    const storage = await storageCall(label, async () => sender.createPostgresStorage({ connectionString: database, schema, migrate: mode.migrate, poolSize: 4 }));
    return { storage, kind: 'postgres', label: `${label} (schema ${schema})` };
  }
  if (options.schema !== undefined) throw new CliError('invalid_option', '--schema applies to PostgreSQL only; SQLite has one schema per file.');
  const file = resolve(process.cwd(), database);
  if (!mode.create && !existsSync(file)) {
    throw new CliError('storage_error', `The SQLite database "${database}" does not exist.`, { hint: 'Check the path, or create it with `hooks migrate --database PATH`.' });
  }
  if (!existsSync(dirname(file))) throw new CliError('storage_error', `The folder of the SQLite database "${database}" does not exist.`);
  const storage = await storageCall(database, async () => sender.createSqliteStorage({ filename: file }));
  return { storage, kind: 'sqlite', label: database };
}
