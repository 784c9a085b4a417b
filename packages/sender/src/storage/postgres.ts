import { SenderError } from '../errors';
import { checkLimit, checkPruneOptions, checkStatsInput, decodeCursor, encodeCursor } from './common';
import { claimDeliveries } from './postgres/claim';
import { type PostgresPool, type PostgresQueryable, RETRYABLE, toSenderError } from './postgres/client';
import { enqueueMessages } from './postgres/enqueue';
import { finishAttempts, finishAttemptsAndClaim } from './postgres/finish';
import { createListener } from './postgres/listen';
import { POSTGRES_MIGRATIONS, type PostgresMigration } from './postgres-migrations';
import { num, numOrNull, type SqlRow as Row, toAttempt, toDelivery, toEndpoint, toMessage, toNotification } from './sql-rows';
import type {
  AttemptQuery,
  ClaimedDelivery,
  ClaimInput,
  ClaimNotificationsInput,
  DeliveryQuery,
  EndpointPatch,
  EndpointQuery,
  EnqueueInput,
  EnqueueResult,
  FinishAndClaimResult,
  FinishAttemptInput,
  FinishAttemptResult,
  MessageQuery,
  NewEndpoint,
  PruneOptions,
  PruneResult,
  ReplaceSecretInput,
  RotateSecretInput,
  SettleNotificationInput,
  StatsOptions,
  Storage,
  StoragePage,
  StorageStats,
  StoredAttempt,
  StoredEndpoint,
  StoredNotification,
  StoredSecret,
} from './types';

export type { PostgresNamedQuery, PostgresPool, PostgresPoolClient, PostgresQueryable, PostgresQueryResult } from './postgres/client';
export type { PruneOptions, PruneResult } from './types';

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

/** Options of {@link PostgresStorage.subscribe}. */
export interface PostgresSubscribeOptions {
  /** Called with a `SenderError('storage_error')` each time the LISTEN connection fails or cannot be opened; it reconnects by itself. @default none */
  onError?: ((error: unknown) => void) | undefined;
}

/** The PostgreSQL storage: a {@link Storage} plus migrations, the transactional outbox, wake-ups and retention. */
export interface PostgresStorage extends Storage {
  /** Always `postgres`. */
  readonly kind: 'postgres';
  /** Always true: the pool's connections write side by side (see {@link Storage.parallelWrites}). */
  readonly parallelWrites: true;
  /** The schema holding the tables. */
  readonly schema: string;
  /** Applies pending migrations; idempotent and safe when several processes call it at once. */
  migrate(): Promise<void>;
  /** Like {@link Storage.enqueueMessage}; with `transaction`, writes inside the host app's open transaction. */
  enqueueMessage(input: EnqueueInput, options?: PostgresEnqueueOptions): Promise<EnqueueResult>;
  /** Like {@link Storage.enqueueMessages}; with `transaction`, writes inside the host app's open transaction. */
  enqueueMessages(inputs: readonly EnqueueInput[], options?: PostgresEnqueueOptions): Promise<EnqueueResult[]>;
  /**
   * Calls `listener` soon after any process (this one included) stores due work: a new message,
   * a retried or recovered delivery. Backed by LISTEN/NOTIFY on one held connection. Returns
   * the function that unsubscribes. `onError` hears when that connection fails (the listener is
   * then only called again once it is back: poll meanwhile).
   */
  subscribe(listener: () => void, options?: PostgresSubscribeOptions): () => void;
  /** Retention: deletes old finished messages with their deliveries and attempts, in short batches. */
  prune(options: PruneOptions): Promise<PruneResult>;
}


/**
 * `Storage.stats` in PostgreSQL for the quoted schema `S` (parameters: now, limit): one statement,
 * one snapshot. Every count reads at most `limit` entries of a partial index (index-only scans,
 * never the table), so a scrape costs the same beside millions of waiting deliveries. Leased
 * deliveries (few: the dispatchers' concurrency) sit in the claim index at their lease end
 * (due_at > now): they are counted apart, in full, and taken out of "later".
 */
export function postgresStatsQuery(S: string): string {
  return `SELECT f.n AS in_flight,
    (SELECT count(*) FROM (SELECT 1 FROM ${S}.deliveries WHERE due_at IS NOT NULL AND due_at <= $1 LIMIT $2) d) AS due,
    (SELECT count(*) FROM (SELECT 1 FROM ${S}.deliveries WHERE due_at IS NOT NULL AND due_at > $1 LIMIT $2 + f.n) l) AS later,
    (SELECT min(due_at) FROM ${S}.deliveries WHERE due_at IS NOT NULL) AS oldest
  FROM (SELECT count(*) AS n FROM ${S}.deliveries WHERE status = 'in_flight' AND lease_until > $1) f`;
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,47}$/;

/**
 * The halves of an endpoint's deliveries a listing reads (see `list`), by status: in flight is
 * always open, succeeded and failed never are; a pending delivery is open unless its endpoint
 * is disabled (its waiting deliveries leave the claim indexes), so the finished half is read
 * for pending ones only then (else it would walk the endpoint's whole history to find none).
 * `endpointParameter`: the position of the endpoint id among the list parameters.
 */
function deliveryHalves(status: string | undefined, endpointParameter: number): { open: string | false; done: string | false } {
  if (status === 'in_flight') return { open: '', done: false };
  if (status === 'succeeded' || status === 'failed') return { open: false, done: '' };
  if (status === 'pending') return { open: '', done: ` AND NOT EXISTS (SELECT 1 FROM {{schema}}.endpoints e WHERE e.id = $${endpointParameter} AND e.enabled)` };
  return { open: '', done: '' };
}

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
 * @param options - A `pg` pool of the host app (or a connection string for a pool of its own),
 *   and optionally the schema, whether to migrate on first use and extra migrations.
 * @returns The storage; it migrates (unless `migrate: false`) before its first call.
 * @throws {@link SenderError} `invalid_option` without a pool or connection string, for a bad
 *   schema name or pool size, or when `pg` is not installed; its calls reject with
 *   `storage_error` when the database fails.
 *
 * @example
 * <!-- prelude: import { events } from './events.js'; -->
 * ```ts
 * import pg from 'pg';
 * import { createPostgresStorage, createSender } from '@hooks/sender';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const storage = createPostgresStorage({ pool, schema: 'hooks' });
 * const sender = createSender({ catalog: events, storage, encryption: { keys: { k1: process.env.HOOKS_KEY_K1! }, current: 'k1' } });
 * sender.start(); // in every process: claims are leased, dispatchers wake on NOTIFY
 * ```
 *
 * @example
 * <!-- prelude: import pg from 'pg'; import { createPostgresStorage } from '@hooks/sender'; declare const pool: pg.Pool; -->
 * ```ts
 * // A deploy step migrates; the app then skips it. Retention runs from a scheduled job.
 * await createPostgresStorage({ pool, migrate: false }).migrate();
 * const storage = createPostgresStorage({ pool, migrate: false });
 * const { messages } = await storage.prune({ olderThan: Date.now() - 30 * 86_400_000 });
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
  const names = { quoted: S, name: schemaName };
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
        await client.query(migration.sql.replaceAll('{{schema}}', S).replaceAll('{{schema_name}}', schemaName));
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

  /**
   * A list query: filters as `column operator value` (or a clause with `?` where the value
   * goes), keyset pagination on `seq`. `halves`: the rows are indexed in two halves, open
   * (due_at set) and the others (migration 5: an endpoint's deliveries), so each half is read in
   * seq order from its own partial index and the two are merged; each half's extra condition
   * (`$1`… as in the filters), or false when no row of that half can match.
   */
  async function list(
    table: string,
    filters: Array<[string, unknown]>,
    limit: number,
    cursor: string | undefined,
    descending: boolean,
    halves?: { open: string | false; done: string | false },
  ): Promise<{ rows: Row[]; nextCursor: string | null }> {
    checkLimit(limit);
    const after = decodeCursor(cursor);
    const where: string[] = [];
    const values: unknown[] = [];
    for (const [clause, value] of filters) {
      if (value === undefined) continue;
      values.push(value);
      where.push(clause.includes('?') ? clause.replace('?', `$${values.length}`) : `${clause} $${values.length}`);
    }
    if (after !== undefined) {
      values.push(after);
      where.push(`seq ${descending ? '<' : '>'} $${values.length}`);
    }
    values.push(limit + 1);
    const order = `ORDER BY seq ${descending ? 'DESC' : 'ASC'} LIMIT $${values.length}`;
    const part = (extra?: string) => {
      const clauses = extra ? [...where, extra] : where;
      return `SELECT * FROM ${S}.${table}${clauses.length ? ` WHERE ${clauses.join(' AND ')}` : ''} ${order}`;
    };
    let sql = part();
    if (halves) {
      const extra = (clause: string) => clause.replaceAll('{{schema}}', S);
      const parts = [halves.done === false ? undefined : part(`due_at IS NULL${extra(halves.done)}`), halves.open === false ? undefined : part(`due_at IS NOT NULL${extra(halves.open)}`)].filter(
        (text) => text !== undefined,
      );
      sql = parts.length === 1 ? (parts[0] as string) : `SELECT * FROM ((${parts.join(') UNION ALL (')})) AS halves ${order}`;
    }
    return pageOf(await read(sql, values), limit);
  }

  async function notify(client: PostgresQueryable): Promise<void> {
    // Transactional: listeners hear it only when (and if) the writing transaction commits.
    await client.query('SELECT pg_notify($1, $2)', [channel, '']);
  }

  /**
   * Stores messages with one statement: on its own (autocommit: one round trip, one commit, all
   * or nothing), or inside the host's open transaction (outbox) behind a savepoint.
   */
  async function enqueueIn(inputs: readonly EnqueueInput[], host: PostgresQueryable | undefined): Promise<EnqueueResult[]> {
    if (host === undefined) return enqueueMessages(await ready(), names, inputs);
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
      const results = await enqueueMessages(host, names, inputs);
      await host.query('RELEASE SAVEPOINT hooks_sender_enqueue');
      return results;
    } catch (error) {
      await host.query('ROLLBACK TO SAVEPOINT hooks_sender_enqueue').catch(() => {});
      throw toSenderError(error);
    }
  }

  // ---- LISTEN/NOTIFY ----------------------------------------------------------------------

  const listener = createListener({ pool, channel, isClosed: () => closed });

  // ---- the storage ----------------------------------------------------------------------

  const storage: PostgresStorage = {
    kind: 'postgres',
    parallelWrites: true,
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
        // A disabled endpoint's waiting deliveries leave the claim index (due_at NULL), so a
        // backlog of millions costs claims nothing; enabling puts them back.
        if (current.enabled && !next.enabled) {
          await client.query(`UPDATE ${S}.deliveries SET due_at = NULL WHERE endpoint_id = $1 AND status = 'pending' AND due_at IS NOT NULL`, [id]);
        }
        if (!current.enabled && next.enabled) {
          // Waiting deliveries resume at once, not at a retry time planned before the disablement.
          // Two statements, one per partial index of the endpoint's deliveries (migration 5).
          const waiting = await client.query(
            `UPDATE ${S}.deliveries SET next_attempt_at = least(next_attempt_at, $2), due_at = least(next_attempt_at, $2), updated_at = $2
             WHERE endpoint_id = $1 AND due_at IS NULL AND status = 'pending'`,
            [id, now],
          );
          const later = await client.query(
            `UPDATE ${S}.deliveries SET next_attempt_at = least(next_attempt_at, $2), due_at = least(next_attempt_at, $2), updated_at = $2
             WHERE endpoint_id = $1 AND due_at IS NOT NULL AND status = 'pending' AND next_attempt_at > $2`,
            [id, now],
          );
          if ((waiting.rowCount ?? 0) + (later.rowCount ?? 0) > 0) await notify(client);
        }
        return rows[0] ? toEndpoint(rows[0]) : undefined;
      });
    },

    deleteEndpoint(id) {
      return transaction(async (client) => {
        await client.query(`DELETE FROM ${S}.attempts WHERE endpoint_id = $1`, [id]);
        // One statement per partial index of the endpoint's deliveries (migration 5).
        await client.query(`DELETE FROM ${S}.deliveries WHERE endpoint_id = $1 AND due_at IS NULL`, [id]);
        await client.query(`DELETE FROM ${S}.deliveries WHERE endpoint_id = $1 AND due_at IS NOT NULL`, [id]);
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
      return (await enqueueIn([input], enqueueOptions?.transaction))[0] as EnqueueResult;
    },

    enqueueMessages(inputs: readonly EnqueueInput[], enqueueOptions?: PostgresEnqueueOptions): Promise<EnqueueResult[]> {
      return enqueueIn(inputs, enqueueOptions?.transaction);
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
      return claimDeliveries(await ready(), names, input);
    },

    async finishAttempt(input: FinishAttemptInput): Promise<FinishAttemptResult> {
      return (await finishAttempts(await ready(), names, [input]))[0] as FinishAttemptResult;
    },

    async finishAttemptsAndClaim(inputs: readonly FinishAttemptInput[], claim: ClaimInput): Promise<FinishAndClaimResult> {
      return finishAttemptsAndClaim(await ready(), names, inputs, claim);
    },

    async finishAttempts(inputs: readonly FinishAttemptInput[]): Promise<FinishAttemptResult[]> {
      // One autocommit statement, fully durable (synchronous_commit as configured): the attempt
      // log and the owner notifications outlive a crash once this resolves.
      return finishAttempts(await ready(), names, inputs);
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
        query.endpointId === undefined ? undefined : deliveryHalves(query.status, query.tenant === undefined ? 1 : 2),
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
           retry_base_attempts = attempts, retry_base_at = $3, updated_at = $3 WHERE endpoint_id = $1 AND due_at IS NULL AND status = 'failed' AND created_at >= $2`,
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
          // Through the message's deliveries (attempts_message is gone since migration 5).
          [`delivery_id IN (SELECT id FROM ${S}.deliveries WHERE message_id = ?)`, query.messageId],
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

    subscribe(listenerFunction: () => void, subscribeOptions?: PostgresSubscribeOptions) {
      if (typeof listenerFunction !== 'function') throw new SenderError('invalid_option', 'subscribe needs a listener function.');
      if (closed) throw new SenderError('storage_error', 'The storage is closed.');
      const onError = subscribeOptions?.onError;
      if (onError !== undefined && typeof onError !== 'function') throw new SenderError('invalid_option', 'subscribe onError must be a function.');
      return listener.subscribe(listenerFunction, onError);
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

    async stats(now: number, options?: StatsOptions): Promise<StorageStats> {
      const limit = checkStatsInput(now, options);
      const [row] = await read(postgresStatsQuery(S), [now, limit]);
      const inFlight = num(row?.in_flight);
      const oldest = numOrNull(row?.oldest);
      return { due: num(row?.due), scheduled: Math.max(0, num(row?.later) - inFlight), inFlight: Math.min(inFlight, limit), oldestDueAt: oldest !== null && oldest <= now ? oldest : null };
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
      await listener.close();
      if (ownsPool && poolPromise) {
        const current = await poolPromise.catch(() => undefined);
        await current?.end().catch(() => {});
      }
    },
  };
  return storage;
}
