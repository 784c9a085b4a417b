import { SenderError } from '../../errors';

// Structural types, so the published declarations do not need @types/pg; a `pg` Pool,
// PoolClient and Client all fit them.

/** What the adapter reads of a query result. */
export interface PostgresQueryResult {
  /** Result rows, one object per row. */
  rows: Array<Record<string, unknown>>;
  /** Rows affected by an INSERT, UPDATE or DELETE. */
  rowCount: number | null;
}

/** A named (prepared) statement: parsed and planned once per connection, then only executed. */
export interface PostgresNamedQuery {
  /** Statement name, unique per SQL text. */
  name: string;
  /** The SQL. */
  text: string;
  /** `$1…` parameters. */
  values?: unknown[];
}

/** Anything that runs a parameterised query: a `pg` Client, PoolClient or Pool. */
export interface PostgresQueryable {
  /** Runs one statement with `$1…` parameters (or a named statement). */
  query(text: string | PostgresNamedQuery, values?: unknown[]): Promise<PostgresQueryResult>;
}

/** A `pg` PoolClient: a connection borrowed from a pool. */
export interface PostgresPoolClient extends PostgresQueryable {
  /** Gives the connection back (`true` or an error destroys it). */
  release(destroy?: boolean | Error): void;
  /** Subscribes to `notification` (LISTEN) and `error` events. */
  on(event: 'notification', listener: (message: { channel: string; payload?: string | undefined }) => void): unknown;
  /** Subscribes to `notification` (LISTEN) and `error` events. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Removes every listener of an event. */
  removeAllListeners(event?: string): unknown;
}

/** A `pg` Pool. */
export interface PostgresPool extends PostgresQueryable {
  /** Borrows a connection. */
  connect(): Promise<PostgresPoolClient>;
  /** Closes every connection. */
  end(): Promise<void>;
}

/** PostgreSQL error codes worth a retry of the whole transaction. */
export const RETRYABLE = new Set(['40001', '40P01']);

/** Maps a driver error to a typed one (never with a secret in it: statements carry no secret text). */
export function toSenderError(error: unknown): SenderError {
  if (SenderError.isInstance(error)) return error;
  const code = (error as { code?: unknown }).code;
  if (code === '23505') return new SenderError('conflict', 'A record with this id already exists.', { cause: error });
  if (code === '25P01') {
    return new SenderError('invalid_option', 'The transaction client is not inside a transaction: call BEGIN on it first.', { cause: error });
  }
  if (code === '42883') {
    return new SenderError('storage_error', 'The PostgreSQL schema is out of date: run storage.migrate() (or `hooks migrate`).', { cause: error });
  }
  return new SenderError('storage_error', `PostgreSQL failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
