/** One schema change of the PostgreSQL storage; applied once, in order, and recorded in `schema_migrations`. */
export interface PostgresMigration {
  /** Increasing whole number. */
  version: number;
  /** Short name for the record. */
  name: string;
  /** SQL run inside the migration transaction; `{{schema}}` is replaced by the quoted schema name. */
  sql: string;
}

/**
 * The PostgreSQL schema, as versioned steps. Never edit a released step: add a new one.
 *
 * Times are unix milliseconds in `bigint` columns. `due_at` (deliveries) is the time a delivery
 * can next be claimed: `next_attempt_at` while pending, `lease_until` while in flight, NULL once
 * finished. The partial index `deliveries_due` over it serves both "due now" and "lease expired"
 * and keeps the (ever growing) finished deliveries out of every claim scan.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE {{schema}}.endpoints (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        tenant text NOT NULL,
        url text NOT NULL,
        name text,
        description text,
        events jsonb NOT NULL,
        headers json NOT NULL,
        profile text NOT NULL,
        metadata json NOT NULL,
        enabled boolean NOT NULL,
        disabled_reason text,
        consecutive_failures integer NOT NULL DEFAULT 0,
        rate_limit double precision,
        fifo boolean NOT NULL DEFAULT false,
        paused_until bigint,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      ) WITH (fillfactor = 80);
      CREATE INDEX endpoints_tenant ON {{schema}}.endpoints (tenant, seq);
      -- Claims skip these: disabled or paused endpoints, and FIFO ones.
      CREATE INDEX endpoints_blocked ON {{schema}}.endpoints (id) WHERE NOT enabled OR paused_until IS NOT NULL;
      CREATE INDEX endpoints_fifo ON {{schema}}.endpoints (id) WHERE fifo;

      CREATE TABLE {{schema}}.endpoint_secrets (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        endpoint_id text NOT NULL REFERENCES {{schema}}.endpoints (id) ON DELETE CASCADE,
        secret text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint
      );
      CREATE INDEX endpoint_secrets_endpoint ON {{schema}}.endpoint_secrets (endpoint_id);

      CREATE TABLE {{schema}}.messages (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        tenant text NOT NULL,
        type text NOT NULL,
        payload text NOT NULL,
        idempotency_key text,
        created_at bigint NOT NULL
      );
      CREATE UNIQUE INDEX messages_idempotency ON {{schema}}.messages (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX messages_tenant ON {{schema}}.messages (tenant, seq);
      -- Retention walks messages by age.
      CREATE INDEX messages_created ON {{schema}}.messages (created_at);

      -- Every delivery is updated about three times (claim, finish, maybe retry): leave room on
      -- each page and vacuum early so the claim index stays small.
      CREATE TABLE {{schema}}.deliveries (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        message_id text NOT NULL REFERENCES {{schema}}.messages (id),
        endpoint_id text NOT NULL REFERENCES {{schema}}.endpoints (id) ON DELETE CASCADE,
        tenant text NOT NULL,
        type text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'in_flight', 'succeeded', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at bigint,
        lease_owner text,
        lease_until bigint,
        last_status integer,
        last_error text,
        retry_base_attempts integer NOT NULL DEFAULT 0,
        retry_base_at bigint NOT NULL,
        due_at bigint,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      ) WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
      -- The claim scan: due pending deliveries and expired leases, oldest due first.
      CREATE INDEX deliveries_due ON {{schema}}.deliveries (due_at, seq) WHERE due_at IS NOT NULL;
      -- Per-endpoint claims and FIFO heads: unfinished deliveries of an endpoint in order.
      CREATE INDEX deliveries_endpoint_active ON {{schema}}.deliveries (endpoint_id, seq) WHERE due_at IS NOT NULL;
      -- Per-endpoint in-flight counts for the concurrency limit.
      CREATE INDEX deliveries_in_flight ON {{schema}}.deliveries (endpoint_id, lease_until) WHERE status = 'in_flight';
      CREATE INDEX deliveries_endpoint ON {{schema}}.deliveries (endpoint_id, seq);
      CREATE INDEX deliveries_tenant ON {{schema}}.deliveries (tenant, seq);
      CREATE INDEX deliveries_message ON {{schema}}.deliveries (message_id);

      CREATE TABLE {{schema}}.attempts (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        delivery_id text NOT NULL REFERENCES {{schema}}.deliveries (id) ON DELETE CASCADE,
        message_id text NOT NULL,
        endpoint_id text NOT NULL,
        number integer NOT NULL,
        started_at bigint NOT NULL,
        duration_ms double precision NOT NULL,
        status_code integer,
        response_headers json NOT NULL,
        response_body text,
        error_code text,
        success boolean NOT NULL
      );
      CREATE INDEX attempts_delivery ON {{schema}}.attempts (delivery_id, seq);
      CREATE INDEX attempts_endpoint ON {{schema}}.attempts (endpoint_id, seq);
      CREATE INDEX attempts_message ON {{schema}}.attempts (message_id);
    `,
  },
  {
    version: 2,
    name: 'notifications',
    sql: `
      -- Owner notifications (endpoint.failing / disabled / recovered), written in the transaction of
      -- the attempt that caused them and handed to the host at least once, by any process (an
      -- outbox). due_at is when one can next be claimed (the lease end while claimed), NULL once
      -- delivered; the partial index keeps delivered ones out of every claim.
      CREATE TABLE {{schema}}.notifications (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        type text NOT NULL,
        endpoint_id text NOT NULL,
        tenant text NOT NULL,
        endpoint json NOT NULL,
        failures integer NOT NULL,
        reason text,
        created_at bigint NOT NULL,
        due_at bigint,
        lease_owner text,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        delivered_at bigint
      );
      CREATE INDEX notifications_due ON {{schema}}.notifications (due_at, seq) WHERE due_at IS NOT NULL;
      CREATE INDEX notifications_created ON {{schema}}.notifications (created_at) WHERE due_at IS NULL;
    `,
  },
];
