import { createId } from '@hooks/core/internal';
import { SenderError } from '../errors';
import { checkLimit, checkPruneOptions, decodeCursor, encodeCursor } from './common';
import { type SqlRow as Row, num, numOrNull, toAttempt, toDelivery, toEndpoint, toMessage, toNotification } from './sql-rows';
import { POSTGRES_MIGRATIONS, type PostgresMigration } from './postgres-migrations';
import type {
  AttemptQuery,
  ClaimInput,
  ClaimNotificationsInput,
  ClaimedDelivery,
  DeliveryQuery,
  EndpointPatch,
  EndpointQuery,
  EnqueueInput,
  EnqueueResult,
  FinishAttemptInput,
  FinishAttemptResult,
  MessageQuery,
  NewEndpoint,
  PruneOptions,
  PruneResult,
  ReplaceSecretInput,
  RotateSecretInput,
  SettleNotificationInput,
  Storage,
  StoragePage,
  StoredAttempt,
  StoredEndpoint,
  StoredNotification,
  StoredSecret,
} from './types';

export type { PruneOptions, PruneResult } from './types';

// Structural types, so the published declarations do not need @types/pg; a `pg` Pool,
// PoolClient and Client all fit them.

/** What the adapter reads of a query result. */
export interface PostgresQueryResult {
  /** Result rows, one object per row. */
  rows: Array<Record<string, unknown>>;
  /** Rows affected by an INSERT, UPDATE or DELETE. */
  rowCount: number | null;
}

/** Anything that runs a parameterised query: a `pg` Client, PoolClient or Pool. */
export interface PostgresQueryable {
  /** Runs one statement with `$1…` parameters. */
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
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

/** Options of {@link createPostgresStorage}. Give `pool` or `connectionString`. */
export interface PostgresStorageOptions {
  /** A `pg` Pool owned by the host app; `close()` leaves it open. */
  pool?: PostgresPool;
  /** A connection string; the adapter creates (and on `close()` ends) its own `pg` Pool. */
  connectionString?: string;
  /** Connections in the adapter's own pool (only with `connectionString`); one more is held for LISTEN while someone subscribes. @default 10 */
  poolSize?: number;
  /** Schema holding the tables, created if missing (letters, digits and `_`). @default 'hooks' */
  schema?: string;
  /** Run pending migrations before the first call. Set false when a deploy step runs `migrate()`. @default true */
  migrate?: boolean;
  /** Extra migrations to run after the built-in ones (versions must be higher). @default [] */
  migrations?: readonly PostgresMigration[];
}

/** Options of {@link PostgresStorage.enqueueMessage}. */
export interface PostgresEnqueueOptions {
  /**
   * A `pg` client inside the host app's open transaction (after `BEGIN`). The message and its
   * deliveries are written with it, so they commit or roll back with the host's own writes
   * (transactional outbox). The adapter never commits it.
   */
  transaction?: PostgresQueryable | undefined;
}

/** The PostgreSQL storage: a {@link Storage} plus migrations, the transactional outbox, wake-ups and retention. */
export interface PostgresStorage extends Storage {
  /** Always `postgres`. */
  readonly kind: 'postgres';
  /** The schema holding the tables. */
  readonly schema: string;
  /** Applies pending migrations; idempotent and safe when several processes call it at once. */
  migrate(): Promise<void>;
  /** Like {@link Storage.enqueueMessage}; with `transaction`, writes inside the host app's open transaction. */
  enqueueMessage(input: EnqueueInput, options?: PostgresEnqueueOptions): Promise<EnqueueResult>;
  /**
   * Calls `listener` soon after any process (this one included) stores due work: a new message,
   * a retried or recovered delivery. Backed by LISTEN/NOTIFY on one held connection. Returns
   * the function that unsubscribes.
   */
  subscribe(listener: () => void): () => void;
  /** Retention: deletes old finished messages with their deliveries and attempts, in short batches. */
  prune(options: PruneOptions): Promise<PruneResult>;
}


const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,47}$/;

function endpointValues(endpoint: StoredEndpoint): unknown[] {
  return [
    endpoint.id,
    endpoint.tenant,
    endpoint.url,
    endpoint.name,
    endpoint.description,
    JSON.stringify(endpoint.events),
    JSON.stringify(endpoint.headers),
    endpoint.profile,
    JSON.stringify(endpoint.metadata),
    endpoint.enabled,
    endpoint.disabledReason,
    endpoint.consecutiveFailures,
    endpoint.rateLimit,
    endpoint.fifo,
    endpoint.pausedUntil,
    endpoint.createdAt,
    endpoint.updatedAt,
  ];
}

/** PostgreSQL error codes worth a retry of the whole transaction. */
const RETRYABLE = new Set(['40001', '40P01']);

function toSenderError(error: unknown): SenderError {
  if (SenderError.isInstance(error)) return error;
  const code = (error as { code?: unknown }).code;
  if (code === '23505') return new SenderError('conflict', 'A record with this id already exists.', { cause: error });
  if (code === '25P01') {
    return new SenderError('invalid_option', 'The transaction client is not inside a transaction: call BEGIN on it first.', { cause: error });
  }
  return new SenderError('storage_error', `PostgreSQL failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/** Fetches the page after `cursor`, one row more than asked to know whether another page exists. */
function pageOf(rows: Row[], limit: number): { rows: Row[]; nextCursor: string | null } {
  const more = rows.length > limit;
  if (more) rows.length = limit;
  const last = rows[rows.length - 1];
  return { rows, nextCursor: more && last ? encodeCursor(num(last.seq)) : null };
}

/**
 * Durable storage in PostgreSQL for several sender processes on several machines. Claims use
 * `FOR UPDATE SKIP LOCKED` with leases; the per-endpoint concurrency limit holds across
 * processes (claims of one endpoint are serialised by a transaction-scoped advisory lock);
 * `enqueueMessage` NOTIFYs so dispatchers wake at once; `enqueueMessage(input, { transaction })`
 * writes inside the host app's own transaction; `prune` removes old finished messages.
 *
 * ```ts
 * const storage = createPostgresStorage({ pool, schema: 'hooks' });
 * ```
 */
export function createPostgresStorage(options: PostgresStorageOptions): PostgresStorage {
  if (typeof options !== 'object' || options === null) throw new SenderError('invalid_option', 'createPostgresStorage needs an options object with a pg `pool` or a `connectionString`.');
  const schemaName = options.schema ?? 'hooks';
  if (!SCHEMA_PATTERN.test(schemaName)) {
    throw new SenderError('invalid_option', 'createPostgresStorage schema must be 1 to 48 lower-case letters, digits or "_", starting with a letter or "_".');
  }
  if (!options.pool && typeof options.connectionString !== 'string') {
    throw new SenderError('invalid_option', 'createPostgresStorage needs a pg `pool` or a `connectionString`.');
  }
  const poolSize = options.poolSize ?? 10;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new SenderError('invalid_option', 'createPostgresStorage poolSize must be a positive integer.');
  const migrations = [...POSTGRES_MIGRATIONS, ...(options.migrations ?? [])].sort((a, b) => a.version - b.version);

  const S = `"${schemaName}"`;
  const channel = `hooks_sender_${schemaName}`;
  const ownsPool = !options.pool;
  let poolPromise: Promise<PostgresPool> | undefined = options.pool ? Promise.resolve(options.pool) : undefined;
  let migrated: Promise<void> | undefined;
  let closed = false;

  function pool(): Promise<PostgresPool> {
    poolPromise ??= (async () => {
      // Loaded only here: `pg` is an optional peer, and a host passing its own pool never needs it.
      const loaded = (await import('pg')) as unknown as { default?: { Pool: new (config: object) => PostgresPool }; Pool?: new (config: object) => PostgresPool };
      const Pool = loaded.Pool ?? loaded.default?.Pool;
      if (!Pool) throw new SenderError('invalid_option', 'The pg package did not load: install pg (npm install pg).');
      const created = new Pool({ connectionString: options.connectionString, max: poolSize });
      // An idle connection dropped by the server must not crash the process; the pool replaces it.
      (created as unknown as { on(event: 'error', listener: () => void): void }).on('error', () => {});
      return created;
    })();
    return poolPromise;
  }

  async function ready(): Promise<PostgresPool> {
    if (closed) throw new SenderError('storage_error', 'The storage is closed.');
    const current = await pool();
    if (options.migrate !== false) {
      migrated ??= runMigrations().catch((error) => {
        migrated = undefined;
        throw error;
      });
      await migrated;
    }
    return current;
  }

  async function runMigrations(): Promise<void> {
    const client = await (await pool()).connect();
    try {
      await client.query('BEGIN');
      // Two processes starting at once: the second waits here, then finds everything applied.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`@hooks/sender migrate ${schemaName}`]);
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schemaName]);
      if (exists.rows.length === 0) await client.query(`CREATE SCHEMA ${S}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${S}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const applied = new Set((await client.query(`SELECT version FROM ${S}.schema_migrations`)).rows.map((row) => num(row.version)));
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue;
        await client.query(migration.sql.replaceAll('{{schema}}', S));
        await client.query(`INSERT INTO ${S}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw toSenderError(error);
    } finally {
      client.release();
    }
  }

  /** Runs `work` in one transaction on a pooled connection; retries deadlocks and serialization failures. */
  async function transaction<T>(work: (client: PostgresQueryable) => Promise<T>, mode: { durable?: boolean; begin?: boolean } = {}): Promise<T> {
    const current = await ready();
    for (let attempt = 1; ; attempt++) {
      const client = await current.connect().catch((error: unknown) => {
        throw toSenderError(error);
      });
      let broken = false;
      try {
        // `begin: false`: the work sends BEGIN itself, together with its first statement.
        if (mode.begin !== false) await client.query(mode.durable === false ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = (error as { code?: unknown }).code;
        if (attempt < 3 && typeof code === 'string' && RETRYABLE.has(code)) continue;
        throw toSenderError(error);
      } finally {
        client.release(broken);
      }
    }
  }

  /** One read statement (autocommit). */
  async function read(text: string, values: unknown[] = []): Promise<Row[]> {
    const current = await ready();
    try {
      return (await current.query(text, values)).rows;
    } catch (error) {
      throw toSenderError(error);
    }
  }

  async function getEndpointRow(client: PostgresQueryable, id: string, lock = false): Promise<StoredEndpoint | undefined> {
    const { rows } = await client.query(`SELECT * FROM ${S}.endpoints WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return rows[0] ? toEndpoint(rows[0]) : undefined;
  }

  const UPDATE_ENDPOINT = `UPDATE ${S}.endpoints SET tenant = $2, url = $3, name = $4, description = $5, events = $6, headers = $7, profile = $8, metadata = $9,
    enabled = $10, disabled_reason = $11, consecutive_failures = $12, rate_limit = $13, fifo = $14, paused_until = $15, created_at = $16, updated_at = $17
    WHERE id = $1 RETURNING *`;

  /** A list query: filters as `column operator value`, keyset pagination on `seq`. */
  async function list(table: string, filters: Array<[string, unknown]>, limit: number, cursor: string | undefined, descending: boolean): Promise<{ rows: Row[]; nextCursor: string | null }> {
    checkLimit(limit);
    const after = decodeCursor(cursor);
    const where: string[] = [];
    const values: unknown[] = [];
    for (const [clause, value] of filters) {
      if (value === undefined) continue;
      values.push(value);
      where.push(`${clause} $${values.length}`);
    }
    if (after !== undefined) {
      values.push(after);
      where.push(`seq ${descending ? '<' : '>'} $${values.length}`);
    }
    values.push(limit + 1);
    const sql = `SELECT * FROM ${S}.${table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${descending ? 'DESC' : 'ASC'} LIMIT $${values.length}`;
    return pageOf(await read(sql, values), limit);
  }

  async function notify(client: PostgresQueryable): Promise<void> {
    // Transactional: listeners hear it only when (and if) the writing transaction commits.
    await client.query('SELECT pg_notify($1, $2)', [channel, '']);
  }

  async function enqueueWith(client: PostgresQueryable, input: EnqueueInput): Promise<EnqueueResult> {
    const { message, now } = input;
    // One statement stores the message and finds the targets. ON CONFLICT names the key only: a
    // concurrent send with the same key waits for the other transaction and then writes nothing;
    // a duplicate message id still raises (conflict).
    const first = await client.query(
      `WITH inserted AS (
         INSERT INTO ${S}.messages (id, tenant, type, payload, idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id
       )
       SELECT (SELECT count(*) FROM inserted)::int AS inserted, ARRAY(
         SELECT e.id FROM ${S}.endpoints e
         WHERE CASE WHEN $7::text IS NOT NULL THEN e.id = $7 ELSE e.tenant = $2 AND e.enabled AND (e.events = '[]'::jsonb OR e.events ? $3) END
         ORDER BY e.seq
       ) AS targets`,
      [message.id, message.tenant, message.type, message.payload, message.idempotencyKey, message.createdAt, input.endpointId ?? null],
    );
    const head = first.rows[0] as Row;
    if (num(head.inserted) === 0) {
      const found = await client.query(`SELECT * FROM ${S}.messages WHERE tenant = $1 AND idempotency_key = $2`, [message.tenant, message.idempotencyKey]);
      const row = found.rows[0];
      if (!row) throw new SenderError('conflict', 'The idempotency key is being used by a concurrent send.');
      const deliveries = await client.query(`SELECT * FROM ${S}.deliveries WHERE message_id = $1 ORDER BY seq`, [row.id]);
      return { message: toMessage(row), deliveries: deliveries.rows.map(toDelivery), created: false };
    }
    const endpointIds = (head.targets as string[] | null) ?? [];
    if (endpointIds.length === 0) return { message: { ...message }, deliveries: [], created: true };
    const ids = endpointIds.map(() => createId('dlv', now));
    // The NOTIFY (payload: the message id) is transactional: listeners hear it only when (and if)
    // this transaction commits.
    const created = await client.query(
      `WITH created AS (
         INSERT INTO ${S}.deliveries (id, message_id, endpoint_id, tenant, type, status, attempts, next_attempt_at, retry_base_attempts, retry_base_at, due_at, created_at, updated_at)
         SELECT t.id, $3, t.endpoint_id, $4, $5, 'pending', 0, $6, 0, $7, $6, $6, $6 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(id, endpoint_id, position)
         ORDER BY t.position RETURNING *
       ), notified AS (SELECT pg_notify($8, $3) AS done)
       SELECT created.* FROM created, notified`,
      [ids, endpointIds, message.id, message.tenant, message.type, now, message.createdAt, channel],
    );
    const deliveries = created.rows.map(toDelivery).sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
    return { message: { ...message }, deliveries, created: true };
  }

  /**
   * The claim scan: endpoints with due work, skipping blocked ones (disabled, paused, at their
   * concurrency limit, or FIFO with a head that is not due) so their backlog never hides the work
   * of others, each with the result of a try-lock. `excluding`: leave out the endpoints in `$1`.
   */
  function scanSql(now: number, perEndpointConcurrency: number, rows: number, excluding: boolean): string {
    return `WITH live AS (
        SELECT endpoint_id, count(*) AS n FROM ${S}.deliveries WHERE status = 'in_flight' AND lease_until > ${now} GROUP BY endpoint_id
      ), blocked AS (
        SELECT id FROM ${S}.endpoints WHERE NOT enabled OR paused_until > ${now}
        UNION ALL SELECT endpoint_id FROM live WHERE n >= ${perEndpointConcurrency}
        UNION ALL SELECT e.id FROM ${S}.endpoints e
          CROSS JOIN LATERAL (SELECT d.due_at FROM ${S}.deliveries d WHERE d.endpoint_id = e.id AND d.due_at IS NOT NULL ORDER BY d.seq LIMIT 1) head
          WHERE e.fifo AND head.due_at > ${now}
      )
      SELECT keys.endpoint_id, pg_try_advisory_xact_lock(keys.key) AS locked FROM (
        SELECT DISTINCT c.endpoint_id, hashtextextended('${schemaName}/' || c.endpoint_id, 0) AS key FROM (
          SELECT d.endpoint_id FROM ${S}.deliveries d
          WHERE d.due_at IS NOT NULL AND d.due_at <= ${now} AND d.endpoint_id NOT IN (SELECT id FROM blocked)${excluding ? ' AND d.endpoint_id <> ALL($1::text[])' : ''}
          ORDER BY d.due_at, d.seq LIMIT ${rows}
        ) c ORDER BY key OFFSET 0
      ) keys`;
  }

  // ---- LISTEN/NOTIFY ----------------------------------------------------------------------

  const listeners = new Set<() => void>();
  let listenClient: PostgresPoolClient | undefined;
  let listenStarting = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  function wake(): void {
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch {
        // A throwing listener must not stop the others or the connection.
      }
    }
  }

  async function startListening(): Promise<void> {
    if (listenClient || listenStarting || closed || listeners.size === 0) return;
    listenStarting = true;
    let client: PostgresPoolClient | undefined;
    try {
      client = await (await pool()).connect();
      client.on('notification', (notification) => {
        if (notification.channel === channel) wake();
      });
      client.on('error', () => void dropListener(true));
      await client.query(`LISTEN "${channel}"`);
      listenClient = client;
      // Work may have arrived while we were not listening.
      wake();
      if (closed || listeners.size === 0) await dropListener(false);
    } catch {
      if (client) {
        client.removeAllListeners('notification');
        client.release(true);
      }
      scheduleReconnect();
    } finally {
      listenStarting = false;
    }
  }

  function scheduleReconnect(): void {
    if (closed || listeners.size === 0 || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void startListening();
    }, 1000);
    reconnectTimer.unref?.();
  }

  /** Lets go of the LISTEN connection; a broken one is destroyed, a healthy one is returned clean to the pool. */
  function dropListener(reconnect: boolean): Promise<void> {
    const client = listenClient;
    listenClient = undefined;
    let done: Promise<void> = Promise.resolve();
    if (client) {
      client.removeAllListeners('notification');
      client.removeAllListeners('error');
      // Swallow late errors of the dying connection.
      client.on('error', () => {});
      if (reconnect) client.release(true);
      else
        done = client.query(`UNLISTEN "${channel}"`).then(
          () => client.release(),
          () => client.release(true),
        );
    }
    if (reconnect) scheduleReconnect();
    return done;
  }

  // ---- the storage ----------------------------------------------------------------------

  const storage: PostgresStorage = {
    kind: 'postgres',
    schema: schemaName,

    async migrate() {
      if (closed) throw new SenderError('storage_error', 'The storage is closed.');
      await runMigrations();
    },

    createEndpoint(endpoint: NewEndpoint, secret: StoredSecret) {
      return transaction(async (client) => {
        const stored: StoredEndpoint = { ...endpoint, consecutiveFailures: 0, pausedUntil: null, updatedAt: endpoint.createdAt };
        const { rows } = await client.query(
          `INSERT INTO ${S}.endpoints (id, tenant, url, name, description, events, headers, profile, metadata, enabled, disabled_reason, consecutive_failures,
           rate_limit, fifo, paused_until, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING *`,
          endpointValues(stored),
        );
        await client.query(`INSERT INTO ${S}.endpoint_secrets (endpoint_id, secret, created_at, expires_at) VALUES ($1, $2, $3, NULL)`, [stored.id, secret.secret, secret.createdAt]);
        return toEndpoint(rows[0] as Row);
      });
    },

    async getEndpoint(id) {
      const rows = await read(`SELECT * FROM ${S}.endpoints WHERE id = $1`, [id]);
      return rows[0] ? toEndpoint(rows[0]) : undefined;
    },

    updateEndpoint(id: string, patch: EndpointPatch, now: number) {
      return transaction(async (client) => {
        const current = await getEndpointRow(client, id, true);
        if (!current) return undefined;
        const next: StoredEndpoint = { ...current };
        for (const [key, value] of Object.entries(patch)) {
          if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
        }
        next.updatedAt = now;
        const { rows } = await client.query(UPDATE_ENDPOINT, endpointValues(next));
        if (!current.enabled && next.enabled) {
          // Waiting deliveries resume at once, not at a retry time planned before the disablement.
          const resumed = await client.query(
            `UPDATE ${S}.deliveries SET next_attempt_at = $2, due_at = $2, updated_at = $2 WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at > $2`,
            [id, now],
          );
          if ((resumed.rowCount ?? 0) > 0) await notify(client);
        }
        return rows[0] ? toEndpoint(rows[0]) : undefined;
      });
    },

    deleteEndpoint(id) {
      return transaction(async (client) => {
        await client.query(`DELETE FROM ${S}.attempts WHERE endpoint_id = $1`, [id]);
        await client.query(`DELETE FROM ${S}.deliveries WHERE endpoint_id = $1`, [id]);
        const result = await client.query(`DELETE FROM ${S}.endpoints WHERE id = $1`, [id]);
        return (result.rowCount ?? 0) > 0;
      });
    },

    async listEndpoints(query: EndpointQuery) {
      const { rows, nextCursor } = await list('endpoints', [['tenant =', query.tenant]], query.limit, query.cursor, false);
      return { items: rows.map(toEndpoint), nextCursor };
    },

    async listSecrets(endpointId) {
      const rows = await read(
        `SELECT e.id AS endpoint, s.secret, s.created_at, s.expires_at FROM ${S}.endpoints e LEFT JOIN ${S}.endpoint_secrets s ON s.endpoint_id = e.id
         WHERE e.id = $1 ORDER BY (s.expires_at IS NOT NULL), s.created_at DESC, s.seq DESC`,
        [endpointId],
      );
      if (rows.length === 0) return undefined;
      return rows.filter((row) => row.secret !== null).map((row) => ({ secret: row.secret as string, createdAt: num(row.created_at), expiresAt: numOrNull(row.expires_at) }));
    },

    rotateSecret(input: RotateSecretInput) {
      return transaction(async (client) => {
        // Locking the endpoint serialises two rotations of one endpoint.
        if (!(await getEndpointRow(client, input.endpointId, true))) return false;
        await client.query(`UPDATE ${S}.endpoint_secrets SET expires_at = $1 WHERE endpoint_id = $2 AND expires_at IS NULL`, [input.previousExpiresAt, input.endpointId]);
        await client.query(`DELETE FROM ${S}.endpoint_secrets WHERE endpoint_id = $1 AND expires_at IS NOT NULL AND expires_at <= $2`, [input.endpointId, input.now]);
        await client.query(`INSERT INTO ${S}.endpoint_secrets (endpoint_id, secret, created_at, expires_at) VALUES ($1, $2, $3, NULL)`, [input.endpointId, input.secret, input.now]);
        return true;
      });
    },

    async replaceSecret(input: ReplaceSecretInput) {
      const current = await ready();
      try {
        const result = await current.query(`UPDATE ${S}.endpoint_secrets SET secret = $3 WHERE endpoint_id = $1 AND secret = $2`, [input.endpointId, input.from, input.to]);
        return (result.rowCount ?? 0) > 0;
      } catch (error) {
        throw toSenderError(error);
      }
    },

    async enqueueMessage(input: EnqueueInput, enqueueOptions?: PostgresEnqueueOptions): Promise<EnqueueResult> {
      const host = enqueueOptions?.transaction;
      if (host === undefined) return transaction((client) => enqueueWith(client, input));
      if (typeof host?.query !== 'function') throw new SenderError('invalid_option', 'transaction must be a pg client (Client or PoolClient) inside BEGIN.');
      await ready();
      // A savepoint keeps the host's transaction usable if this write fails (e.g. a conflict),
      // and fails fast (25P01 → invalid_option) when the client is not in a transaction at all.
      try {
        await host.query('SAVEPOINT hooks_sender_enqueue');
      } catch (error) {
        throw toSenderError(error);
      }
      try {
        const result = await enqueueWith(host, input);
        await host.query('RELEASE SAVEPOINT hooks_sender_enqueue');
        return result;
      } catch (error) {
        await host.query('ROLLBACK TO SAVEPOINT hooks_sender_enqueue').catch(() => {});
        throw toSenderError(error);
      }
    },

    async getMessage(id) {
      const rows = await read(`SELECT * FROM ${S}.messages WHERE id = $1`, [id]);
      return rows[0] ? toMessage(rows[0]) : undefined;
    },

    async listMessages(query: MessageQuery) {
      const { rows, nextCursor } = await list(
        'messages',
        [
          ['tenant =', query.tenant],
          ['type =', query.type],
          ['created_at >=', query.since],
          ['created_at <', query.until],
        ],
        query.limit,
        query.cursor,
        true,
      );
      return { items: rows.map(toMessage), nextCursor };
    },

    async claimDeliveries(input: ClaimInput): Promise<ClaimedDelivery[]> {
      if (input.limit < 1 || input.perEndpointConcurrency < 1) return [];
      for (const [field, value] of Object.entries({ now: input.now, limit: input.limit, leaseMs: input.leaseMs, perEndpointConcurrency: input.perEndpointConcurrency })) {
        if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) {
          throw new SenderError('invalid_input', `claimDeliveries ${field} must be a finite number.`, { details: { field } });
        }
      }
      // Whole numbers: they are inlined into the first statement below.
      const now = Math.floor(input.now);
      const limit = Math.floor(input.limit);
      const perEndpointConcurrency = Math.floor(input.perEndpointConcurrency);
      const until = now + Math.floor(input.leaseMs);
      return transaction(
        async (client) => {
          // Round trip 1 (simple protocol; the numbers, checked above, are inlined): begin without
          // a WAL flush at commit (a lost lease costs at most a repeated attempt, never a message,
          // and the locks below are then held for less time), find endpoints with claimable work
          // and TRY a transaction-scoped advisory lock per endpoint. The lock serialises claims of
          // one endpoint across processes (the concurrency limit); trying instead of waiting lets
          // concurrent claimers spread over different endpoints instead of queueing on the same.
          const first = (await client.query(`BEGIN; SET LOCAL synchronous_commit = off; ${scanSql(now, perEndpointConcurrency, limit * 2, false)}`)) as unknown as
            | PostgresQueryResult
            | PostgresQueryResult[];
          let scan = (Array.isArray(first) ? first[first.length - 1] : first)?.rows ?? [];
          const locked = new Set<string>();
          const busy = new Set<string>();
          for (let round = 0; ; round++) {
            for (const row of scan) (row.locked === true ? locked : busy).add(row.endpoint_id as string);
            if (locked.size > 0 || busy.size === 0) break;
            if (round === 2) {
              // Every endpoint with work is being claimed by someone else: wait for them, in key
              // order (no deadlock), and then claim what they left.
              await client.query(
                `SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtextextended($1 || id, 0) AS k FROM unnest($2::text[]) AS id ORDER BY k OFFSET 0) keys`,
                [`${schemaName}/`, [...busy]],
              );
              for (const id of busy) locked.add(id);
              break;
            }
            // All candidates were taken: look past them for other endpoints with work.
            scan = (await client.query(scanSql(now, perEndpointConcurrency, limit * 2, true), [[...busy]])).rows;
          }
          const endpointIds = [...locked];
          if (endpointIds.length === 0) return [];
          // Round trip 2, under the locks (this statement takes a fresh snapshot): the endpoints
          // as they are now with their live lease counts, the room each has, its due deliveries
          // locked oldest first (for a FIFO endpoint only its oldest unfinished delivery, and only
          // when that one is itself due: a head locked elsewhere is skipped, never jumped over),
          // and the lease, in one statement.
          const claimedRows = await client.query(
            `WITH endpoint_state AS (
               SELECT e.*, (SELECT count(*) FROM ${S}.deliveries d WHERE d.endpoint_id = e.id AND d.status = 'in_flight' AND d.lease_until > $2) AS in_flight
               FROM ${S}.endpoints e WHERE e.id = ANY($1::text[]) AND e.enabled AND (e.paused_until IS NULL OR e.paused_until <= $2)
             ), rooms AS (
               SELECT id, fifo, CASE WHEN fifo THEN CASE WHEN in_flight = 0 THEN 1 ELSE 0 END ELSE least($3::bigint, $4::bigint - in_flight) END AS room FROM endpoint_state
             ), picked AS (
               SELECT c.id, c.due_at, c.seq FROM rooms r CROSS JOIN LATERAL (
                 SELECT d.id, d.due_at, d.seq FROM ${S}.deliveries d
                 WHERE d.endpoint_id = r.id AND d.due_at IS NOT NULL AND d.due_at <= $2
                 ORDER BY d.seq LIMIT greatest(r.room, 0) FOR UPDATE SKIP LOCKED
               ) c WHERE NOT r.fifo
               UNION ALL
               SELECT x.id, x.due_at, x.seq FROM (
                 SELECT d.id, d.due_at, d.seq FROM ${S}.deliveries d
                 WHERE d.id IN (
                   SELECT (SELECT h.id FROM ${S}.deliveries h WHERE h.endpoint_id = r.id AND h.due_at IS NOT NULL ORDER BY h.seq LIMIT 1) FROM rooms r WHERE r.fifo AND r.room > 0
                 ) AND d.due_at <= $2
                 FOR UPDATE SKIP LOCKED
               ) x
             ), chosen AS (
               SELECT id, due_at, seq FROM picked ORDER BY due_at, seq LIMIT $3
             ), claimed AS (
               UPDATE ${S}.deliveries d SET status = 'in_flight', lease_owner = $5, lease_until = $6, due_at = $6, updated_at = $2
               FROM chosen WHERE d.id = chosen.id RETURNING d.*, chosen.due_at AS was_due, chosen.seq AS was_seq
             )
             SELECT row_to_json(claimed) AS delivery, row_to_json(m) AS message, row_to_json(e) AS endpoint
             FROM claimed JOIN ${S}.messages m ON m.id = claimed.message_id JOIN endpoint_state e ON e.id = claimed.endpoint_id
             ORDER BY claimed.was_due, claimed.was_seq`,
            [endpointIds, now, limit, perEndpointConcurrency, input.owner, until],
          );
          return claimedRows.rows.map((row) => ({ delivery: toDelivery(row.delivery as Row), message: toMessage(row.message as Row), endpoint: toEndpoint(row.endpoint as Row) }));
        },
        { durable: false, begin: false },
      );
    },

    async finishAttempt(input: FinishAttemptInput): Promise<FinishAttemptResult> {
      const { now, attempt, endpoint: effect } = input;
      const next = input.next.status === 'pending' ? input.next.nextAttemptAt : null;
      // One statement (atomic on its own, one round trip): lock the delivery, log the attempt,
      // apply the outcome if the lease is still ours, and update the endpoint. A success on a
      // healthy endpoint leaves the endpoint row alone, so many dispatchers finishing attempts of
      // one endpoint never queue on its row lock; a failure locks it to count exactly.
      // The owner notification this attempt causes is inserted by the same statement (`notice`),
      // so it commits with the attempt or not at all.
      const noticeColumns = `INSERT INTO ${S}.notifications (id, type, endpoint_id, tenant, endpoint, failures, reason, created_at, due_at, attempts)`;
      const endpointUpdate = effect.success
        ? `endpoint_after AS (
             UPDATE ${S}.endpoints e SET consecutive_failures = 0, paused_until = NULL, updated_at = $16
             FROM (SELECT id, consecutive_failures FROM ${S}.endpoints WHERE id = $4) old
             WHERE e.id = old.id AND EXISTS (SELECT 1 FROM applied) AND (e.consecutive_failures <> 0 OR e.paused_until IS NOT NULL)
             RETURNING e.*, old.consecutive_failures AS previous, false AS disabled
           ),
           notice AS (
             ${noticeColumns}
             SELECT $18, 'endpoint.recovered', a.id, a.tenant, row_to_json(a), a.previous, NULL, $16, $16, 0
             FROM endpoint_after a WHERE $17::integer IS NOT NULL AND a.previous >= $17::integer
             RETURNING *
           )`
        : `old AS (SELECT id, consecutive_failures, enabled FROM ${S}.endpoints WHERE id = $4 AND EXISTS (SELECT 1 FROM applied) FOR UPDATE),
           endpoint_after AS (
             UPDATE ${S}.endpoints e SET
               consecutive_failures = old.consecutive_failures + 1,
               enabled = CASE WHEN old.enabled AND ($17::text IS NOT NULL OR old.consecutive_failures + 1 >= $18::integer) THEN false ELSE old.enabled END,
               disabled_reason = CASE WHEN old.enabled AND ($17::text IS NOT NULL OR old.consecutive_failures + 1 >= $18::integer) THEN coalesce($17::text, 'consecutive_failures') ELSE e.disabled_reason END,
               paused_until = CASE WHEN $19::bigint IS NOT NULL AND (e.paused_until IS NULL OR e.paused_until < $19::bigint) THEN $19::bigint ELSE e.paused_until END,
               updated_at = $16
             FROM old WHERE e.id = old.id
             RETURNING e.*, old.consecutive_failures AS previous, (old.enabled AND NOT e.enabled) AS disabled
           ),
           notice AS (
             ${noticeColumns}
             SELECT $21, CASE WHEN a.disabled THEN 'endpoint.disabled' ELSE 'endpoint.failing' END, a.id, a.tenant, row_to_json(a), a.consecutive_failures,
               CASE WHEN a.disabled THEN a.disabled_reason END, $16, $16, 0
             FROM endpoint_after a WHERE a.disabled OR a.consecutive_failures = ANY($20::integer[])
             RETURNING *
           )`;
      const values: unknown[] = [
        input.deliveryId,
        createId('att', now),
        attempt.messageId,
        attempt.endpointId,
        attempt.number,
        attempt.startedAt,
        attempt.durationMs,
        attempt.statusCode,
        JSON.stringify(attempt.responseHeaders),
        attempt.responseBody,
        attempt.errorCode,
        attempt.success,
        input.owner,
        input.next.status,
        next,
        now,
      ];
      const notificationId = createId('ntf', now);
      if (effect.success) values.push(effect.recoveredAfter ?? null, notificationId);
      else values.push(effect.disableReason ?? null, effect.disableAfter ?? 2_147_483_647, effect.pauseUntil ?? null, [...(effect.notifyAfter ?? [])], notificationId);
      const sql = `WITH current AS (SELECT * FROM ${S}.deliveries WHERE id = $1 FOR UPDATE),
        logged AS (
          INSERT INTO ${S}.attempts (id, delivery_id, message_id, endpoint_id, number, started_at, duration_ms, status_code, response_headers, response_body, error_code, success)
          SELECT $2, current.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM current RETURNING 1
        ),
        applied AS (
          UPDATE ${S}.deliveries d SET status = $14, next_attempt_at = $15, due_at = $15, attempts = d.attempts + 1, lease_owner = NULL, lease_until = NULL,
            last_status = $8, last_error = $11, updated_at = $16
          FROM current WHERE d.id = current.id AND current.status = 'in_flight' AND current.lease_owner = $13
          RETURNING d.*
        ),
        ${endpointUpdate},
        endpoint_before AS (SELECT * FROM ${S}.endpoints WHERE id = $4)
        SELECT (SELECT row_to_json(applied) FROM applied) AS applied, (SELECT row_to_json(current) FROM current) AS current,
          (SELECT row_to_json(endpoint_after) FROM endpoint_after) AS endpoint_after, (SELECT row_to_json(endpoint_before) FROM endpoint_before) AS endpoint_before,
          (SELECT row_to_json(notice) FROM notice) AS notice, (SELECT count(*) FROM logged)::int AS logged`;
      const current = await ready();
      let row: Row;
      try {
        row = (await current.query(sql, values)).rows[0] as Row;
      } catch (error) {
        throw toSenderError(error);
      }
      const before = row.endpoint_before ? toEndpoint(row.endpoint_before as Row) : undefined;
      const after = row.endpoint_after as Row | null;
      if (!row.applied) {
        return {
          applied: false,
          delivery: row.current ? toDelivery(row.current as Row) : undefined,
          endpoint: before,
          previousFailures: before?.consecutiveFailures ?? 0,
          disabled: false,
          notifications: [],
        };
      }
      return {
        applied: true,
        delivery: toDelivery(row.applied as Row),
        endpoint: after ? toEndpoint(after) : before,
        previousFailures: after && after.previous !== null ? num(after.previous) : (before?.consecutiveFailures ?? 0),
        disabled: after?.disabled === true,
        notifications: row.notice ? [toNotification(row.notice as Row)] : [],
      };
    },

    releaseDeliveries(owner, releaseOptions) {
      return transaction(async (client) => {
        const values: unknown[] = [owner, releaseOptions.nextAttemptAt ?? null, releaseOptions.now];
        let only = '';
        if (releaseOptions.ids) {
          values.push(releaseOptions.ids);
          only = ' AND id = ANY($4::text[])';
        }
        const result = await client.query(
          `UPDATE ${S}.deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL, next_attempt_at = coalesce($2, next_attempt_at),
           due_at = coalesce($2, next_attempt_at), updated_at = $3 WHERE status = 'in_flight' AND lease_owner = $1${only}`,
          values,
        );
        const released = result.rowCount ?? 0;
        if (released > 0) await notify(client);
        return released;
      });
    },

    async getDelivery(id) {
      const rows = await read(`SELECT * FROM ${S}.deliveries WHERE id = $1`, [id]);
      return rows[0] ? toDelivery(rows[0]) : undefined;
    },

    async listDeliveries(query: DeliveryQuery) {
      const { rows, nextCursor } = await list(
        'deliveries',
        [
          ['tenant =', query.tenant],
          ['endpoint_id =', query.endpointId],
          ['message_id =', query.messageId],
          ['status =', query.status],
          ['type =', query.type],
          ['created_at >=', query.since],
          ['created_at <', query.until],
        ],
        query.limit,
        query.cursor,
        true,
      );
      return { items: rows.map(toDelivery), nextCursor };
    },

    retryDelivery(id, now) {
      return transaction(async (client) => {
        const requeued = await client.query(
          `UPDATE ${S}.deliveries SET status = 'pending', next_attempt_at = $2, due_at = $2, lease_owner = NULL, lease_until = NULL,
           retry_base_attempts = attempts, retry_base_at = $2, updated_at = $2 WHERE id = $1 AND status IN ('failed', 'pending') RETURNING *`,
          [id, now],
        );
        if (requeued.rows[0]) {
          await notify(client);
          return toDelivery(requeued.rows[0]);
        }
        const { rows } = await client.query(`SELECT * FROM ${S}.deliveries WHERE id = $1`, [id]);
        return rows[0] ? toDelivery(rows[0]) : undefined;
      });
    },

    recoverDeliveries(endpointId, since, now) {
      return transaction(async (client) => {
        const result = await client.query(
          `UPDATE ${S}.deliveries SET status = 'pending', next_attempt_at = $3, due_at = $3, lease_owner = NULL, lease_until = NULL,
           retry_base_attempts = attempts, retry_base_at = $3, updated_at = $3 WHERE endpoint_id = $1 AND status = 'failed' AND created_at >= $2`,
          [endpointId, since, now],
        );
        const count = result.rowCount ?? 0;
        if (count > 0) await notify(client);
        return count;
      });
    },

    async listAttempts(query: AttemptQuery): Promise<StoragePage<StoredAttempt>> {
      const { rows, nextCursor } = await list(
        'attempts',
        [
          ['delivery_id =', query.deliveryId],
          ['endpoint_id =', query.endpointId],
          ['message_id =', query.messageId],
          ['success =', query.success],
          ['started_at >=', query.since],
          ['started_at <', query.until],
        ],
        query.limit,
        query.cursor,
        true,
      );
      return { items: rows.map(toAttempt), nextCursor };
    },

    subscribe(listener: () => void) {
      if (typeof listener !== 'function') throw new SenderError('invalid_option', 'subscribe needs a listener function.');
      if (closed) throw new SenderError('storage_error', 'The storage is closed.');
      listeners.add(listener);
      void startListening();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) void dropListener(false);
      };
    },

    async prune(pruneOptions: PruneOptions): Promise<PruneResult> {
      const { olderThan, batchSize, maxBatches } = checkPruneOptions(pruneOptions);
      const total: PruneResult = { messages: 0, deliveries: 0, attempts: 0, notifications: 0, batches: 0 };
      while (total.batches < maxBatches) {
        // One short transaction per batch; SKIP LOCKED steps around rows another process is using.
        const batch = await transaction(async (client) => {
          const picked = await client.query(
            `SELECT m.id FROM ${S}.messages m WHERE m.created_at < $1
               AND NOT EXISTS (SELECT 1 FROM ${S}.deliveries d WHERE d.message_id = m.id AND d.status IN ('pending', 'in_flight'))
             ORDER BY m.created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
            [olderThan, batchSize],
          );
          const ids = picked.rows.map((row) => row.id as string);
          if (ids.length === 0) return { messages: 0, deliveries: 0, attempts: 0, picked: 0 };
          // Lock the deliveries, then re-check: one may have been re-queued (retry) meanwhile.
          const deliveries = await client.query(`SELECT id, message_id, status FROM ${S}.deliveries WHERE message_id = ANY($1::text[]) FOR UPDATE`, [ids]);
          const active = new Set(deliveries.rows.filter((row) => row.status === 'pending' || row.status === 'in_flight').map((row) => row.message_id as string));
          const keep = ids.filter((id) => !active.has(id));
          const deliveryIds = deliveries.rows.filter((row) => !active.has(row.message_id as string)).map((row) => row.id as string);
          const attempts = await client.query(`DELETE FROM ${S}.attempts WHERE delivery_id = ANY($1::text[])`, [deliveryIds]);
          const removed = await client.query(`DELETE FROM ${S}.deliveries WHERE id = ANY($1::text[])`, [deliveryIds]);
          const messages = await client.query(`DELETE FROM ${S}.messages WHERE id = ANY($1::text[])`, [keep]);
          return { messages: messages.rowCount ?? 0, deliveries: removed.rowCount ?? 0, attempts: attempts.rowCount ?? 0, picked: ids.length };
        });
        total.batches++;
        total.messages += batch.messages;
        total.deliveries += batch.deliveries;
        total.attempts += batch.attempts;
        if (batch.picked < batchSize) break;
      }
      const notices = await transaction((client) => client.query(`DELETE FROM ${S}.notifications WHERE due_at IS NULL AND created_at < $1`, [olderThan]));
      total.notifications = notices.rowCount ?? 0;
      return total;
    },

    async claimNotifications(input: ClaimNotificationsInput): Promise<StoredNotification[]> {
      if (input.limit < 1 || input.types.length === 0) return [];
      const rows = await read(
        `WITH due AS (
           SELECT id FROM ${S}.notifications WHERE due_at IS NOT NULL AND due_at <= $1 AND type = ANY($2::text[]) ORDER BY due_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED
         )
         UPDATE ${S}.notifications n SET due_at = $4, lease_owner = $5, attempts = n.attempts + 1 FROM due WHERE n.id = due.id RETURNING n.*`,
        [input.now, [...input.types], input.limit, input.now + input.leaseMs, input.owner],
      );
      return rows.sort((a, b) => num(a.seq) - num(b.seq)).map(toNotification);
    },

    async settleNotification(input: SettleNotificationInput) {
      const rows = input.delivered
        ? await read(
            `UPDATE ${S}.notifications SET due_at = NULL, lease_owner = NULL, delivered_at = $3, last_error = NULL WHERE id = $1 AND lease_owner = $2 AND due_at IS NOT NULL RETURNING id`,
            [input.id, input.owner, input.now],
          )
        : await read(`UPDATE ${S}.notifications SET due_at = $3, lease_owner = NULL, last_error = $4 WHERE id = $1 AND lease_owner = $2 AND due_at IS NOT NULL RETURNING id`, [
            input.id,
            input.owner,
            input.retryAt ?? input.now,
            input.error?.slice(0, 500) ?? null,
          ]);
      return rows.length > 0;
    },

    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await dropListener(false);
      if (ownsPool && poolPromise) {
        const current = await poolPromise.catch(() => undefined);
        await current?.end().catch(() => {});
      }
    },
  };
  return storage;
}
