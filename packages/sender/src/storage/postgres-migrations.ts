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
  {
    version: 3,
    name: 'batched claims and finishes',
    sql: `
      -- W3C trace context of the send (JSON text), sent as traceparent/tracestate on each attempt.
      ALTER TABLE {{schema}}.messages ADD COLUMN trace_context text;
      -- Rate-limited endpoints: the earliest time any process may claim the next delivery, so the
      -- requests-per-second limit holds across processes.
      ALTER TABLE {{schema}}.endpoints ADD COLUMN rate_next_at bigint;
      -- Claims of one endpoint in due order: a backlog of retries scheduled later (an endpoint down
      -- for a day) is never walked to find the few that are due.
      CREATE INDEX deliveries_endpoint_due ON {{schema}}.deliveries (endpoint_id, due_at, seq) WHERE due_at IS NOT NULL;
      -- Disabled endpoints' waiting deliveries leave the claim index (due_at NULL) until enabled.
      UPDATE {{schema}}.deliveries d SET due_at = NULL FROM {{schema}}.endpoints e
        WHERE e.id = d.endpoint_id AND NOT e.enabled AND d.status = 'pending' AND d.due_at IS NOT NULL;

      -- One claim round in one round trip: try a transaction-scoped advisory lock per endpoint with
      -- due work, until the locked ones have room for the claim (serialises the claims of ONE
      -- endpoint across processes, for the concurrency limit, FIFO and the rate limit, without a
      -- hot row and without serialising claims of different endpoints), then, in a second
      -- statement with a fresh snapshot that sees every claim committed before the locks were
      -- granted, lease the deliveries and return each with its message, endpoint and signing
      -- secrets. Plans are cached per connection.
      -- p_wait: when every endpoint with work is being claimed by others, wait for one (only in a
      -- transaction that holds no other lock).
      CREATE FUNCTION {{schema}}.claim_core(p_owner text, p_now bigint, p_until bigint, p_limit integer, p_per_endpoint integer, p_wait boolean)
      RETURNS TABLE (claimed_delivery json, claimed_message json, claimed_endpoint json, claimed_secrets json)
      LANGUAGE plpgsql VOLATILE AS $claim$
      #variable_conflict use_column
      DECLARE
        v_locked text[] := ARRAY[]::text[];
        v_busy text[] := ARRAY[]::text[];
        v_room bigint := 0;
        v_round integer := 0;
        v_seen integer;
        v_fallback boolean := false;
        v_window_full boolean;
        v_busy_keys bigint[] := ARRAY[]::bigint[];
        v_max_key bigint;
        v_wait integer;
        v_candidate record;
      BEGIN
        -- Whether there is more due work than one look below takes in (else one look sees it all).
        SELECT count(*) > p_limit * 2 INTO v_window_full FROM (
          SELECT 1 FROM {{schema}}.deliveries d WHERE d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT p_limit * 2 + 1
        ) w;
        LOOP
          v_round := v_round + 1;
          v_seen := 0;
          -- Endpoints with due work, oldest work first, with their live lease counts and due rows
          -- in this window. Locks are only TRIED here, and only until the locked endpoints have
          -- room for this claim: concurrent claimers spread over different endpoints instead of
          -- one claimer locking them all.
          FOR v_candidate IN
            WITH live AS (
              SELECT d.endpoint_id, count(*) AS n FROM {{schema}}.deliveries d WHERE d.status = 'in_flight' AND d.lease_until > p_now GROUP BY d.endpoint_id
            ), blocked AS (
              SELECT e.id FROM {{schema}}.endpoints e WHERE NOT e.enabled OR e.paused_until > p_now OR e.rate_next_at > p_now
              UNION ALL SELECT live.endpoint_id FROM live WHERE live.n >= p_per_endpoint
              UNION ALL SELECT e.id FROM {{schema}}.endpoints e
                CROSS JOIN LATERAL (SELECT h.due_at FROM {{schema}}.deliveries h WHERE h.endpoint_id = e.id AND h.due_at IS NOT NULL ORDER BY h.seq LIMIT 1) head
                WHERE e.fifo AND head.due_at > p_now
            ), due_window AS (
              -- The oldest due work, a bounded window of it: when the endpoints at their limits
              -- own it all (slow receivers), a claim costs a few hundred index entries, not the
              -- whole backlog.
              SELECT d.endpoint_id, d.due_at, d.seq FROM {{schema}}.deliveries d
              WHERE d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT greatest(64, p_limit * 4)
            ), candidates AS (
              (SELECT w.endpoint_id, w.due_at, w.seq FROM due_window w
               WHERE w.endpoint_id NOT IN (SELECT b.id FROM blocked b) AND w.endpoint_id <> ALL (v_busy || v_locked)
               ORDER BY w.due_at, w.seq LIMIT p_limit * 2)
              UNION ALL
              -- The window held no claimable work: look at every other endpoint's oldest due
              -- delivery instead (one index lookup per endpoint).
              SELECT e.id, f.due_at, f.seq FROM {{schema}}.endpoints e
              CROSS JOIN LATERAL (
                SELECT d.due_at, d.seq FROM {{schema}}.deliveries d WHERE d.endpoint_id = e.id AND d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT 1
              ) f
              WHERE v_fallback AND e.enabled AND e.id NOT IN (SELECT b.id FROM blocked b) AND e.id <> ALL (v_busy || v_locked)
            )
            SELECT c.endpoint_id, hashtextextended('{{schema_name}}/' || c.endpoint_id, 0) AS key,
              CASE WHEN bool_or(e.fifo OR e.rate_limit IS NOT NULL) THEN 1 ELSE greatest(0, least(count(*), p_per_endpoint - coalesce(min(live.n), 0))) END AS room
            FROM candidates c JOIN {{schema}}.endpoints e ON e.id = c.endpoint_id LEFT JOIN live ON live.endpoint_id = c.endpoint_id
            GROUP BY c.endpoint_id ORDER BY min(c.due_at), min(c.seq)
          LOOP
            v_seen := v_seen + 1;
            EXIT WHEN v_room >= p_limit;
            IF pg_try_advisory_xact_lock(v_candidate.key) THEN
              v_locked := v_locked || v_candidate.endpoint_id;
              v_room := v_room + v_candidate.room;
              v_max_key := greatest(v_max_key, v_candidate.key);
            ELSE
              v_busy := v_busy || v_candidate.endpoint_id;
              v_busy_keys := v_busy_keys || v_candidate.key;
            END IF;
          END LOOP;
          EXIT WHEN v_room >= p_limit OR v_round >= 10;
          IF v_window_full AND v_seen = 0 AND NOT v_fallback THEN
            v_fallback := true;
          ELSIF v_seen = 0 OR NOT v_window_full THEN
            -- Nothing more to try without waiting. Wait for a busy endpoint (oldest work first),
            -- but only for a key above every key held: waits then always go up, so they can
            -- never form a cycle (no deadlock). Then look again: the others may be free by then.
            EXIT WHEN cardinality(v_busy) = 0 OR NOT p_wait;
            v_wait := NULL;
            FOR i IN 1 .. cardinality(v_busy_keys) LOOP
              IF v_max_key IS NULL OR v_busy_keys[i] > v_max_key THEN
                v_wait := i;
                EXIT;
              END IF;
            END LOOP;
            EXIT WHEN v_wait IS NULL;
            PERFORM pg_advisory_xact_lock(v_busy_keys[v_wait]);
            v_locked := v_locked || v_busy[v_wait];
            v_max_key := v_busy_keys[v_wait];
            v_room := v_room + 1;
            v_busy := ARRAY[]::text[];
            v_busy_keys := ARRAY[]::bigint[];
            v_fallback := false;
          END IF;
        END LOOP;
        IF cardinality(v_locked) = 0 THEN
          RETURN;
        END IF;
        RETURN QUERY
        WITH endpoint_state AS (
          SELECT e.*, (SELECT count(*) FROM {{schema}}.deliveries d WHERE d.endpoint_id = e.id AND d.status = 'in_flight' AND d.lease_until > p_now) AS in_flight
          FROM {{schema}}.endpoints e
          WHERE e.id = ANY (v_locked) AND e.enabled AND (e.paused_until IS NULL OR e.paused_until <= p_now) AND (e.rate_next_at IS NULL OR e.rate_next_at <= p_now)
        ), rooms AS (
          SELECT s.id, s.fifo, s.rate_limit,
            -- FIFO and rate-limited endpoints: one at a time (a rate-limited one's next claim waits
            -- for the previous attempt's start + 1000 / rate, recorded when it finishes).
            CASE WHEN s.fifo OR s.rate_limit IS NOT NULL THEN CASE WHEN s.in_flight < p_per_endpoint AND s.in_flight = 0 THEN 1 ELSE 0 END
              ELSE least(p_limit::bigint, p_per_endpoint::bigint - s.in_flight) END AS room
          FROM endpoint_state s
        ), picked AS (
          SELECT c.id, c.due_at, c.seq FROM rooms r CROSS JOIN LATERAL (
            SELECT d.id, d.due_at, d.seq FROM {{schema}}.deliveries d
            WHERE d.endpoint_id = r.id AND d.due_at IS NOT NULL AND d.due_at <= p_now
            ORDER BY d.due_at, d.seq LIMIT greatest(r.room, 0)
          ) c WHERE NOT r.fifo
          UNION ALL
          SELECT x.id, x.due_at, x.seq FROM (
            SELECT d.id, d.due_at, d.seq FROM {{schema}}.deliveries d
            WHERE d.id IN (
              SELECT (SELECT h.id FROM {{schema}}.deliveries h WHERE h.endpoint_id = r.id AND h.due_at IS NOT NULL ORDER BY h.seq LIMIT 1) FROM rooms r WHERE r.fifo AND r.room > 0
            ) AND d.due_at <= p_now
          ) x
        ), chosen AS (
          SELECT p.id, p.due_at, p.seq FROM picked p ORDER BY p.due_at, p.seq LIMIT p_limit
        ), claimed AS (
          -- No row locks before this: the endpoint's advisory lock keeps other claimers away, and a
          -- row finished, released or retried meanwhile (a late attempt of an expired lease) is
          -- re-checked here on its latest version and skipped.
          UPDATE {{schema}}.deliveries d SET status = 'in_flight', lease_owner = p_owner, lease_until = p_until, due_at = p_until, updated_at = p_now
          FROM chosen WHERE d.id = chosen.id AND d.due_at IS NOT NULL AND d.due_at <= p_now
          RETURNING d.*, chosen.due_at AS was_due, chosen.seq AS was_seq
        ), rated AS (
          UPDATE {{schema}}.endpoints e SET rate_next_at = p_now + ceil(1000 / e.rate_limit)::bigint
          WHERE e.rate_limit IS NOT NULL AND e.id IN (SELECT claimed.endpoint_id FROM claimed)
          RETURNING e.id
        ), signing AS (
          SELECT r.id, coalesce((
            SELECT json_agg(json_build_object('secret', s.secret, 'created_at', s.created_at, 'expires_at', s.expires_at) ORDER BY (s.expires_at IS NOT NULL), s.created_at DESC, s.seq DESC)
            FROM {{schema}}.endpoint_secrets s WHERE s.endpoint_id = r.id AND (s.expires_at IS NULL OR s.expires_at > p_now)
          ), '[]'::json) AS secrets
          FROM rooms r WHERE r.room > 0
        )
        -- The endpoint and its secrets only on the first row of each endpoint: fewer bytes to send
        -- and to parse (the caller reuses them for the following rows).
        SELECT out.delivery, out.message, CASE WHEN out.first THEN out.endpoint END, CASE WHEN out.first THEN out.secrets END
        FROM (
          SELECT row_to_json(claimed) AS delivery, row_to_json(m) AS message, row_to_json(e) AS endpoint, sg.secrets,
            row_number() OVER (PARTITION BY claimed.endpoint_id ORDER BY claimed.was_due, claimed.was_seq) = 1 AS first, claimed.was_due, claimed.was_seq
          FROM claimed JOIN {{schema}}.messages m ON m.id = claimed.message_id JOIN endpoint_state e ON e.id = claimed.endpoint_id JOIN signing sg ON sg.id = claimed.endpoint_id
        ) out
        ORDER BY out.was_due, out.was_seq;
      END
      $claim$;

      -- A claim on its own (autocommit).
      CREATE FUNCTION {{schema}}.claim_deliveries(p_owner text, p_now bigint, p_until bigint, p_limit integer, p_per_endpoint integer)
      RETURNS TABLE (claimed_delivery json, claimed_message json, claimed_endpoint json, claimed_secrets json)
      LANGUAGE plpgsql VOLATILE AS $claim_alone$
      BEGIN
        -- A lease lost in a server crash costs at most a repeated attempt, never a message: no WAL
        -- flush wait at this commit (attempt results and sends stay fully durable).
        PERFORM set_config('synchronous_commit', 'off', true);
        RETURN QUERY SELECT * FROM {{schema}}.claim_core(p_owner, p_now, p_until, p_limit, p_per_endpoint, true);
      END
      $claim_alone$;

      -- Several messages and their deliveries in one round trip and one commit (group commit of
      -- concurrent sends, sendMany, and the transactional outbox inside the host's transaction).
      -- Per message: the message row (an idempotency key already used returns the first message),
      -- then every delivery in one multi-row insert. Delivery ids: the caller's sortable prefix
      -- (time and randomness) plus the target's position in 4 base-32 digits.
      CREATE FUNCTION {{schema}}.enqueue_messages(p_items json)
      RETURNS TABLE (item integer, created boolean, stored_message json, stored_deliveries json)
      LANGUAGE plpgsql VOLATILE AS $enqueue$
      #variable_conflict use_column
      DECLARE
        it record;
        v_inserted integer;
        v_targets text[];
      BEGIN
        FOR it IN
          SELECT * FROM json_to_recordset(p_items) AS x(ord integer, id text, tenant text, type text, payload text, idempotency_key text, created_at bigint,
            trace_context text, endpoint_id text, now bigint, delivery_prefix text)
          ORDER BY x.ord
        LOOP
          item := it.ord;
          INSERT INTO {{schema}}.messages (id, tenant, type, payload, idempotency_key, created_at, trace_context)
          VALUES (it.id, it.tenant, it.type, it.payload, it.idempotency_key, it.created_at, it.trace_context)
          ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING;
          GET DIAGNOSTICS v_inserted = ROW_COUNT;
          IF v_inserted = 0 THEN
            created := false;
            SELECT row_to_json(m.*) INTO stored_message FROM {{schema}}.messages m WHERE m.tenant = it.tenant AND m.idempotency_key = it.idempotency_key;
            SELECT coalesce(json_agg(row_to_json(d.*) ORDER BY d.seq), '[]'::json) INTO stored_deliveries
              FROM {{schema}}.deliveries d WHERE d.message_id = stored_message->>'id';
            RETURN NEXT;
            CONTINUE;
          END IF;
          SELECT coalesce(array_agg(e.id ORDER BY e.seq), ARRAY[]::text[]) INTO v_targets FROM {{schema}}.endpoints e
          WHERE CASE WHEN it.endpoint_id IS NOT NULL THEN e.id = it.endpoint_id ELSE e.tenant = it.tenant AND e.enabled AND (e.events = '[]'::jsonb OR e.events ? it.type) END;
          created := true;
          stored_message := NULL;
          IF cardinality(v_targets) = 0 THEN
            stored_deliveries := '[]'::json;
          ELSE
            WITH inserted AS (
              INSERT INTO {{schema}}.deliveries (id, message_id, endpoint_id, tenant, type, status, attempts, next_attempt_at, retry_base_attempts, retry_base_at, due_at, created_at, updated_at)
              SELECT it.delivery_prefix || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((t.position - 1) >> 15 & 31)::integer + 1, 1)
                  || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((t.position - 1) >> 10 & 31)::integer + 1, 1)
                  || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((t.position - 1) >> 5 & 31)::integer + 1, 1)
                  || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((t.position - 1) & 31)::integer + 1, 1),
                it.id, t.endpoint_id, it.tenant, it.type, 'pending', 0, it.now, 0, it.created_at, it.now, it.now, it.now
              FROM unnest(v_targets) WITH ORDINALITY AS t(endpoint_id, position) ORDER BY t.position
              RETURNING *
            )
            SELECT coalesce(json_agg(row_to_json(inserted.*) ORDER BY inserted.seq), '[]'::json) INTO stored_deliveries FROM inserted;
            -- Transactional: dispatchers hear it on commit only. The payload is the message id.
            PERFORM pg_notify('hooks_sender_{{schema_name}}', it.id);
          END IF;
          RETURN NEXT;
        END LOOP;
      END
      $enqueue$;

      -- Several attempt results in one round trip and one commit, applied in order: each logs its
      -- attempt, moves its delivery on if the lease is still held, updates the endpoint's failure
      -- count (a success on a healthy endpoint writes nothing there), and records the owner
      -- notification it causes in the same transaction. One array per field (compact on the wire).
      CREATE FUNCTION {{schema}}.finish_attempts(p_owners text[], p_delivery_ids text[], p_endpoint_ids text[], p_attempt_ids text[], p_numbers integer[],
        p_started bigint[], p_durations double precision[], p_statuses integer[], p_headers text[], p_bodies text[], p_errors text[], p_success boolean[],
        p_next_status text[], p_next_at bigint[], p_now bigint[], p_disable_after integer[], p_disable_reason text[], p_pause_until bigint[],
        p_notify_after text[], p_recovered_after integer[], p_notice_prefix text)
      RETURNS TABLE (item integer, applied json, current_row json, endpoint_after json, previous integer, disabled boolean, notice json)
      LANGUAGE plpgsql VOLATILE AS $finish$
      #variable_conflict use_column
      DECLARE
        it record;
        v_applied jsonb;
        v_endpoints jsonb;
        v_endpoint jsonb;
        v_row json;
        v_notice json;
        v_notice_id text;
        v_previous integer;
        v_enabled boolean;
        v_disable boolean;
        v_count integer;
      BEGIN
        -- Set-based first: every delivery whose lease is still held moves on in ONE statement (the
        -- lease re-checked on the row's latest version), every attempt is logged in ONE statement
        -- (applied or not, while its delivery exists), and the endpoints involved are read once.
        WITH items AS (
          SELECT DISTINCT ON (x.delivery_id) x.* FROM unnest(p_delivery_ids, p_owners, p_statuses, p_errors, p_next_status, p_next_at, p_now) WITH ORDINALITY
            AS x(delivery_id, owner, status_code, error_code, next_status, next_at, now, ord)
          ORDER BY x.delivery_id, x.ord
        ), moved AS (
          UPDATE {{schema}}.deliveries d SET status = i.next_status, next_attempt_at = i.next_at, due_at = i.next_at, attempts = d.attempts + 1,
            lease_owner = NULL, lease_until = NULL, last_status = i.status_code, last_error = i.error_code, updated_at = i.now
          FROM items i WHERE d.id = i.delivery_id AND d.status = 'in_flight' AND d.lease_owner = i.owner
          RETURNING i.ord, to_jsonb(d.*) AS row
        )
        SELECT coalesce(jsonb_object_agg(moved.ord::text, moved.row), '{}'::jsonb) INTO v_applied FROM moved;
        INSERT INTO {{schema}}.attempts (id, delivery_id, message_id, endpoint_id, number, started_at, duration_ms, status_code, response_headers, response_body, error_code, success)
        SELECT x.attempt_id, x.delivery_id, d.message_id, x.endpoint_id, x.number, x.started_at, x.duration_ms, x.status_code, x.headers::json, x.body, x.error_code, x.success
        FROM unnest(p_delivery_ids, p_endpoint_ids, p_attempt_ids, p_numbers, p_started, p_durations, p_statuses, p_headers, p_bodies, p_errors, p_success) WITH ORDINALITY
          AS x(delivery_id, endpoint_id, attempt_id, number, started_at, duration_ms, status_code, headers, body, error_code, success, ord)
        JOIN {{schema}}.deliveries d ON d.id = x.delivery_id
        ORDER BY x.ord;
        -- Rate-limited endpoints: the next claim waits until 1000 / rate ms after this attempt
        -- STARTED (claims are spaced too, but a start can come later than its claim).
        UPDATE {{schema}}.endpoints e SET rate_next_at = greatest(coalesce(e.rate_next_at, 0), x.started + ceil(1000 / e.rate_limit)::bigint)
        FROM (SELECT u.endpoint_id, max(u.started_at) AS started FROM unnest(p_endpoint_ids, p_started) AS u(endpoint_id, started_at) GROUP BY u.endpoint_id) x
        WHERE e.id = x.endpoint_id AND e.rate_limit IS NOT NULL;
        SELECT coalesce(jsonb_object_agg(e.id, to_jsonb(e.*)), '{}'::jsonb) INTO v_endpoints FROM {{schema}}.endpoints e WHERE e.id = ANY (p_endpoint_ids);
        -- Then in order, per attempt: endpoint effects. A success on a healthy endpoint (the common
        -- case) runs no statement and writes nothing; a failure locks the endpoint row and counts.
        FOR it IN
          SELECT * FROM unnest(p_delivery_ids, p_endpoint_ids, p_success, p_now, p_disable_after, p_disable_reason, p_pause_until, p_notify_after, p_recovered_after) WITH ORDINALITY
            AS x(delivery_id, endpoint_id, success, now, disable_after, disable_reason, pause_until, notify_after, recovered_after, ord)
          ORDER BY x.ord
        LOOP
          v_notice := NULL; v_disable := false; v_row := NULL;
          v_endpoint := v_endpoints -> it.endpoint_id;
          v_previous := (v_endpoint ->> 'consecutive_failures')::integer;
          -- The caller's sortable prefix plus the attempt's position in 4 base-32 digits.
          v_notice_id := p_notice_prefix || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((it.ord - 1) >> 15 & 31)::integer + 1, 1)
            || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((it.ord - 1) >> 10 & 31)::integer + 1, 1)
            || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((it.ord - 1) >> 5 & 31)::integer + 1, 1)
            || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((it.ord - 1) & 31)::integer + 1, 1);
          IF NOT v_applied ? it.ord::text THEN
            SELECT row_to_json(d.*) INTO v_row FROM {{schema}}.deliveries d WHERE d.id = it.delivery_id;
          ELSIF v_endpoint IS NULL THEN
            NULL;
          ELSIF it.success THEN
            IF v_previous <> 0 OR jsonb_typeof(v_endpoint -> 'paused_until') <> 'null' THEN
              -- Only a failing or paused endpoint is written (and locked) on a success.
              SELECT e.consecutive_failures INTO v_previous FROM {{schema}}.endpoints e WHERE e.id = it.endpoint_id FOR UPDATE;
              UPDATE {{schema}}.endpoints e SET consecutive_failures = 0, paused_until = NULL, updated_at = it.now WHERE e.id = it.endpoint_id
              RETURNING to_jsonb(e.*) INTO v_endpoint;
              v_endpoints := jsonb_set(v_endpoints, ARRAY[it.endpoint_id], v_endpoint);
              IF it.recovered_after IS NOT NULL AND v_previous >= it.recovered_after THEN
                INSERT INTO {{schema}}.notifications AS n (id, type, endpoint_id, tenant, endpoint, failures, reason, created_at, due_at, attempts)
                VALUES (v_notice_id, 'endpoint.recovered', it.endpoint_id, v_endpoint ->> 'tenant', v_endpoint::json, v_previous, NULL, it.now, it.now, 0)
                RETURNING row_to_json(n.*) INTO v_notice;
              END IF;
            END IF;
          ELSE
            SELECT e.consecutive_failures, e.enabled INTO v_previous, v_enabled FROM {{schema}}.endpoints e WHERE e.id = it.endpoint_id FOR UPDATE;
            IF FOUND THEN
              v_count := v_previous + 1;
              v_disable := v_enabled AND (it.disable_reason IS NOT NULL OR v_count >= coalesce(it.disable_after, 2147483647));
              UPDATE {{schema}}.endpoints e SET consecutive_failures = v_count,
                enabled = CASE WHEN v_disable THEN false ELSE e.enabled END,
                disabled_reason = CASE WHEN v_disable THEN coalesce(it.disable_reason, 'consecutive_failures') ELSE e.disabled_reason END,
                paused_until = CASE WHEN it.pause_until IS NOT NULL AND (e.paused_until IS NULL OR e.paused_until < it.pause_until) THEN it.pause_until ELSE e.paused_until END,
                updated_at = it.now
              WHERE e.id = it.endpoint_id RETURNING to_jsonb(e.*) INTO v_endpoint;
              v_endpoints := jsonb_set(v_endpoints, ARRAY[it.endpoint_id], v_endpoint);
              IF v_disable THEN
                -- Its waiting deliveries leave the claim index until the endpoint is enabled again.
                UPDATE {{schema}}.deliveries d SET due_at = NULL WHERE d.endpoint_id = it.endpoint_id AND d.status = 'pending' AND d.due_at IS NOT NULL;
              END IF;
              IF v_disable OR v_count = ANY (string_to_array(coalesce(it.notify_after, ''), ',')::integer[]) THEN
                INSERT INTO {{schema}}.notifications AS n (id, type, endpoint_id, tenant, endpoint, failures, reason, created_at, due_at, attempts)
                VALUES (v_notice_id, CASE WHEN v_disable THEN 'endpoint.disabled' ELSE 'endpoint.failing' END, it.endpoint_id, v_endpoint ->> 'tenant', v_endpoint::json, v_count,
                  CASE WHEN v_disable THEN v_endpoint ->> 'disabled_reason' END, it.now, it.now, 0)
                RETURNING row_to_json(n.*) INTO v_notice;
              END IF;
            ELSE
              v_endpoint := NULL;
            END IF;
          END IF;
          item := it.ord - 1;
          applied := (v_applied -> it.ord::text)::json;
          current_row := v_row;
          endpoint_after := v_endpoint::json;
          previous := v_previous;
          disabled := v_disable;
          notice := v_notice;
          RETURN NEXT;
        END LOOP;
      END
      $finish$;

      -- Attempt results and the next claim in ONE transaction and round trip: the dispatcher
      -- claims new work with the commit that frees the slots, so a busy dispatcher needs no
      -- claim of its own (and no commit for it). Fully durable (the results need it). Never waits
      -- for another claimer's endpoint lock while holding the rows it just finished.
      CREATE FUNCTION {{schema}}.finish_and_claim(p_owners text[], p_delivery_ids text[], p_endpoint_ids text[], p_attempt_ids text[], p_numbers integer[],
        p_started bigint[], p_durations double precision[], p_statuses integer[], p_headers text[], p_bodies text[], p_errors text[], p_success boolean[],
        p_next_status text[], p_next_at bigint[], p_now bigint[], p_disable_after integer[], p_disable_reason text[], p_pause_until bigint[],
        p_notify_after text[], p_recovered_after integer[], p_notice_prefix text,
        p_claim_owner text, p_claim_now bigint, p_claim_until bigint, p_claim_limit integer, p_claim_per_endpoint integer)
      RETURNS TABLE (kind text, item integer, part1 json, part2 json, part3 json, part4 json, previous integer, disabled boolean)
      LANGUAGE plpgsql VOLATILE AS $finish_claim$
      BEGIN
        RETURN QUERY SELECT 'finished'::text, f.item, f.applied, f.current_row, f.endpoint_after, f.notice, f.previous, f.disabled
          FROM {{schema}}.finish_attempts(p_owners, p_delivery_ids, p_endpoint_ids, p_attempt_ids, p_numbers, p_started, p_durations, p_statuses, p_headers,
            p_bodies, p_errors, p_success, p_next_status, p_next_at, p_now, p_disable_after, p_disable_reason, p_pause_until, p_notify_after, p_recovered_after,
            p_notice_prefix) f;
        IF p_claim_limit > 0 THEN
          RETURN QUERY SELECT 'claimed'::text, NULL::integer, c.claimed_delivery, c.claimed_message, c.claimed_endpoint, c.claimed_secrets, NULL::integer, NULL::boolean
            FROM {{schema}}.claim_core(p_claim_owner, p_claim_now, p_claim_until, p_claim_limit, p_claim_per_endpoint, false) c;
        END IF;
      END
      $finish_claim$;
    `,
  },
  {
    version: 4,
    name: 'set-based finishes, fewer claim rounds',
    sql: `
      -- claim_core as in migration 3, without the rounds that could find nothing new: a round whose
      -- candidates did not reach the cap saw all the open rows of the window, so the next round
      -- goes straight to the other endpoints (or, after those, stops or waits). Claims of several
      -- processes used to spend two of their four rounds per claim so.
      CREATE OR REPLACE FUNCTION {{schema}}.claim_core(p_owner text, p_now bigint, p_until bigint, p_limit integer, p_per_endpoint integer, p_wait boolean)
      RETURNS TABLE (claimed_delivery json, claimed_message json, claimed_endpoint json, claimed_secrets json)
      LANGUAGE plpgsql VOLATILE AS $claim$
      #variable_conflict use_column
      DECLARE
        v_locked text[] := ARRAY[]::text[];
        v_busy text[] := ARRAY[]::text[];
        v_room bigint := 0;
        v_round integer := 0;
        v_seen integer;
        v_fallback boolean := false;
        v_window_full boolean;
        v_busy_keys bigint[] := ARRAY[]::bigint[];
        v_max_key bigint;
        v_wait integer;
        v_candidate record;
        v_rows bigint;
      BEGIN
        -- Whether there is more due work than one look below takes in (else one look sees it all).
        SELECT count(*) > p_limit * 2 INTO v_window_full FROM (
          SELECT 1 FROM {{schema}}.deliveries d WHERE d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT p_limit * 2 + 1
        ) w;
        LOOP
          v_round := v_round + 1;
          v_seen := 0;
          v_rows := 0;
          -- Endpoints with due work, oldest work first, with their live lease counts and due rows
          -- in this window. Locks are only TRIED here, and only until the locked endpoints have
          -- room for this claim: concurrent claimers spread over different endpoints instead of
          -- one claimer locking them all.
          FOR v_candidate IN
            WITH live AS (
              SELECT d.endpoint_id, count(*) AS n FROM {{schema}}.deliveries d WHERE d.status = 'in_flight' AND d.lease_until > p_now GROUP BY d.endpoint_id
            ), blocked AS (
              SELECT e.id FROM {{schema}}.endpoints e WHERE NOT e.enabled OR e.paused_until > p_now OR e.rate_next_at > p_now
              UNION ALL SELECT live.endpoint_id FROM live WHERE live.n >= p_per_endpoint
              UNION ALL SELECT e.id FROM {{schema}}.endpoints e
                CROSS JOIN LATERAL (SELECT h.due_at FROM {{schema}}.deliveries h WHERE h.endpoint_id = e.id AND h.due_at IS NOT NULL ORDER BY h.seq LIMIT 1) head
                WHERE e.fifo AND head.due_at > p_now
            ), due_window AS (
              -- The oldest due work, a bounded window of it: when the endpoints at their limits
              -- own it all (slow receivers), a claim costs a few hundred index entries, not the
              -- whole backlog.
              SELECT d.endpoint_id, d.due_at, d.seq FROM {{schema}}.deliveries d
              WHERE d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT greatest(64, p_limit * 4)
            ), candidates AS (
              (SELECT w.endpoint_id, w.due_at, w.seq, false AS fallback FROM due_window w
               WHERE w.endpoint_id NOT IN (SELECT b.id FROM blocked b) AND w.endpoint_id <> ALL (v_busy || v_locked)
               ORDER BY w.due_at, w.seq LIMIT p_limit * 2)
              UNION ALL
              -- The window held no claimable work: look at every other endpoint's oldest due
              -- delivery instead (one index lookup per endpoint).
              SELECT e.id, f.due_at, f.seq, true FROM {{schema}}.endpoints e
              CROSS JOIN LATERAL (
                SELECT d.due_at, d.seq FROM {{schema}}.deliveries d WHERE d.endpoint_id = e.id AND d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT 1
              ) f
              WHERE v_fallback AND e.enabled AND e.id NOT IN (SELECT b.id FROM blocked b) AND e.id <> ALL (v_busy || v_locked)
            )
            SELECT c.endpoint_id, hashtextextended('{{schema_name}}/' || c.endpoint_id, 0) AS key, count(*) FILTER (WHERE NOT c.fallback) AS window_rows,
              CASE WHEN bool_or(e.fifo OR e.rate_limit IS NOT NULL) THEN 1 ELSE greatest(0, least(count(*), p_per_endpoint - coalesce(min(live.n), 0))) END AS room
            FROM candidates c JOIN {{schema}}.endpoints e ON e.id = c.endpoint_id LEFT JOIN live ON live.endpoint_id = c.endpoint_id
            GROUP BY c.endpoint_id ORDER BY min(c.due_at), min(c.seq)
          LOOP
            v_seen := v_seen + 1;
            v_rows := v_rows + v_candidate.window_rows;
            EXIT WHEN v_room >= p_limit;
            IF pg_try_advisory_xact_lock(v_candidate.key) THEN
              v_locked := v_locked || v_candidate.endpoint_id;
              v_room := v_room + v_candidate.room;
              v_max_key := greatest(v_max_key, v_candidate.key);
            ELSE
              v_busy := v_busy || v_candidate.endpoint_id;
              v_busy_keys := v_busy_keys || v_candidate.key;
            END IF;
          END LOOP;
          EXIT WHEN v_room >= p_limit OR v_round >= 10;
          -- Every row of the window still open was among this round's candidates (fewer than the
          -- candidate cap came back), so another look at it finds nothing: go on to the other
          -- endpoints' oldest work at once, or stop, instead of spending a query to learn that.
          IF v_window_full AND NOT v_fallback AND (v_seen = 0 OR v_rows < p_limit * 2) THEN
            v_fallback := true;
          ELSIF v_seen = 0 OR NOT v_window_full OR v_rows < p_limit * 2 THEN
            -- Nothing more to try without waiting. Wait for a busy endpoint (oldest work first),
            -- but only for a key above every key held: waits then always go up, so they can
            -- never form a cycle (no deadlock). Then look again: the others may be free by then.
            EXIT WHEN cardinality(v_busy) = 0 OR NOT p_wait;
            v_wait := NULL;
            FOR i IN 1 .. cardinality(v_busy_keys) LOOP
              IF v_max_key IS NULL OR v_busy_keys[i] > v_max_key THEN
                v_wait := i;
                EXIT;
              END IF;
            END LOOP;
            EXIT WHEN v_wait IS NULL;
            PERFORM pg_advisory_xact_lock(v_busy_keys[v_wait]);
            v_locked := v_locked || v_busy[v_wait];
            v_max_key := v_busy_keys[v_wait];
            v_room := v_room + 1;
            v_busy := ARRAY[]::text[];
            v_busy_keys := ARRAY[]::bigint[];
            v_fallback := false;
          END IF;
        END LOOP;
        IF cardinality(v_locked) = 0 THEN
          RETURN;
        END IF;
        RETURN QUERY
        WITH endpoint_state AS (
          SELECT e.*, (SELECT count(*) FROM {{schema}}.deliveries d WHERE d.endpoint_id = e.id AND d.status = 'in_flight' AND d.lease_until > p_now) AS in_flight
          FROM {{schema}}.endpoints e
          WHERE e.id = ANY (v_locked) AND e.enabled AND (e.paused_until IS NULL OR e.paused_until <= p_now) AND (e.rate_next_at IS NULL OR e.rate_next_at <= p_now)
        ), rooms AS (
          SELECT s.id, s.fifo, s.rate_limit,
            -- FIFO and rate-limited endpoints: one at a time (a rate-limited one's next claim waits
            -- for the previous attempt's start + 1000 / rate, recorded when it finishes).
            CASE WHEN s.fifo OR s.rate_limit IS NOT NULL THEN CASE WHEN s.in_flight < p_per_endpoint AND s.in_flight = 0 THEN 1 ELSE 0 END
              ELSE least(p_limit::bigint, p_per_endpoint::bigint - s.in_flight) END AS room
          FROM endpoint_state s
        ), picked AS (
          SELECT c.id, c.due_at, c.seq FROM rooms r CROSS JOIN LATERAL (
            SELECT d.id, d.due_at, d.seq FROM {{schema}}.deliveries d
            WHERE d.endpoint_id = r.id AND d.due_at IS NOT NULL AND d.due_at <= p_now
            ORDER BY d.due_at, d.seq LIMIT greatest(r.room, 0)
          ) c WHERE NOT r.fifo
          UNION ALL
          SELECT x.id, x.due_at, x.seq FROM (
            SELECT d.id, d.due_at, d.seq FROM {{schema}}.deliveries d
            WHERE d.id IN (
              SELECT (SELECT h.id FROM {{schema}}.deliveries h WHERE h.endpoint_id = r.id AND h.due_at IS NOT NULL ORDER BY h.seq LIMIT 1) FROM rooms r WHERE r.fifo AND r.room > 0
            ) AND d.due_at <= p_now
          ) x
        ), chosen AS (
          SELECT p.id, p.due_at, p.seq FROM picked p ORDER BY p.due_at, p.seq LIMIT p_limit
        ), claimed AS (
          -- No row locks before this: the endpoint's advisory lock keeps other claimers away, and a
          -- row finished, released or retried meanwhile (a late attempt of an expired lease) is
          -- re-checked here on its latest version and skipped.
          UPDATE {{schema}}.deliveries d SET status = 'in_flight', lease_owner = p_owner, lease_until = p_until, due_at = p_until, updated_at = p_now
          FROM chosen WHERE d.id = chosen.id AND d.due_at IS NOT NULL AND d.due_at <= p_now
          RETURNING d.*, chosen.due_at AS was_due, chosen.seq AS was_seq
        ), rated AS (
          UPDATE {{schema}}.endpoints e SET rate_next_at = p_now + ceil(1000 / e.rate_limit)::bigint
          WHERE e.rate_limit IS NOT NULL AND e.id IN (SELECT claimed.endpoint_id FROM claimed)
          RETURNING e.id
        ), signing AS (
          SELECT r.id, coalesce((
            SELECT json_agg(json_build_object('secret', s.secret, 'created_at', s.created_at, 'expires_at', s.expires_at) ORDER BY (s.expires_at IS NOT NULL), s.created_at DESC, s.seq DESC)
            FROM {{schema}}.endpoint_secrets s WHERE s.endpoint_id = r.id AND (s.expires_at IS NULL OR s.expires_at > p_now)
          ), '[]'::json) AS secrets
          FROM rooms r WHERE r.room > 0
        )
        -- The endpoint and its secrets only on the first row of each endpoint: fewer bytes to send
        -- and to parse (the caller reuses them for the following rows).
        SELECT out.delivery, out.message, CASE WHEN out.first THEN out.endpoint END, CASE WHEN out.first THEN out.secrets END
        FROM (
          SELECT row_to_json(claimed) AS delivery, row_to_json(m) AS message, row_to_json(e) AS endpoint, sg.secrets,
            row_number() OVER (PARTITION BY claimed.endpoint_id ORDER BY claimed.was_due, claimed.was_seq) = 1 AS first, claimed.was_due, claimed.was_seq
          FROM claimed JOIN {{schema}}.messages m ON m.id = claimed.message_id JOIN endpoint_state e ON e.id = claimed.endpoint_id JOIN signing sg ON sg.id = claimed.endpoint_id
        ) out
        ORDER BY out.was_due, out.was_seq;
      END
      $claim$;

      -- finish_attempts, with a set-based path for the common batch: every attempt succeeded and
      -- no endpoint involved is failing or paused, so no endpoint row is written and no owner
      -- notification recorded. That batch is three statements (move the deliveries on, log the
      -- attempts, space rate-limited endpoints) and one set-based result, instead of a loop of
      -- statements per attempt; any other batch runs finish_attempts (migration 3) unchanged.
      -- Each endpoint's row is returned once per call (endpoint_repeat: the same endpoint as an
      -- earlier row of this result), so fewer bytes are built, sent and parsed. New names, so
      -- processes of the previous version keep calling the functions they know during a rollout.
      CREATE FUNCTION {{schema}}.finish_attempts_v2(p_owners text[], p_delivery_ids text[], p_endpoint_ids text[], p_attempt_ids text[], p_numbers integer[],
        p_started bigint[], p_durations double precision[], p_statuses integer[], p_headers text[], p_bodies text[], p_errors text[], p_success boolean[],
        p_next_status text[], p_next_at bigint[], p_now bigint[], p_disable_after integer[], p_disable_reason text[], p_pause_until bigint[],
        p_notify_after text[], p_recovered_after integer[], p_notice_prefix text)
      RETURNS TABLE (item integer, applied json, current_row json, endpoint_after json, endpoint_repeat boolean, previous integer, disabled boolean, notice json)
      LANGUAGE plpgsql VOLATILE AS $finish2$
      #variable_conflict use_column
      DECLARE
        v_ords bigint[];
        v_rows json[];
      BEGIN
        -- The same reads as finish_attempts makes before deciding (no lock: a success on a healthy
        -- endpoint writes nothing there in either function).
        IF NOT (true = ALL (p_success)) OR EXISTS (
          SELECT 1 FROM {{schema}}.endpoints e WHERE e.id = ANY (p_endpoint_ids) AND (e.consecutive_failures <> 0 OR e.paused_until IS NOT NULL)
        ) THEN
          RETURN QUERY SELECT f.item, f.applied, f.current_row, f.endpoint_after, false, f.previous, f.disabled, f.notice
            FROM {{schema}}.finish_attempts(p_owners, p_delivery_ids, p_endpoint_ids, p_attempt_ids, p_numbers, p_started, p_durations, p_statuses, p_headers,
            p_bodies, p_errors, p_success, p_next_status, p_next_at, p_now, p_disable_after, p_disable_reason, p_pause_until, p_notify_after, p_recovered_after,
            p_notice_prefix) f;
          RETURN;
        END IF;
        WITH items AS (
          SELECT DISTINCT ON (x.delivery_id) x.* FROM unnest(p_delivery_ids, p_owners, p_statuses, p_errors, p_next_status, p_next_at, p_now) WITH ORDINALITY
            AS x(delivery_id, owner, status_code, error_code, next_status, next_at, now, ord)
          ORDER BY x.delivery_id, x.ord
        ), moved AS (
          UPDATE {{schema}}.deliveries d SET status = i.next_status, next_attempt_at = i.next_at, due_at = i.next_at, attempts = d.attempts + 1,
            lease_owner = NULL, lease_until = NULL, last_status = i.status_code, last_error = i.error_code, updated_at = i.now
          FROM items i WHERE d.id = i.delivery_id AND d.status = 'in_flight' AND d.lease_owner = i.owner
          RETURNING i.ord, row_to_json(d.*) AS row
        )
        SELECT coalesce(array_agg(moved.ord), ARRAY[]::bigint[]), coalesce(array_agg(moved.row), ARRAY[]::json[]) INTO v_ords, v_rows FROM moved;
        INSERT INTO {{schema}}.attempts (id, delivery_id, message_id, endpoint_id, number, started_at, duration_ms, status_code, response_headers, response_body, error_code, success)
        SELECT x.attempt_id, x.delivery_id, d.message_id, x.endpoint_id, x.number, x.started_at, x.duration_ms, x.status_code, x.headers::json, x.body, x.error_code, x.success
        FROM unnest(p_delivery_ids, p_endpoint_ids, p_attempt_ids, p_numbers, p_started, p_durations, p_statuses, p_headers, p_bodies, p_errors, p_success) WITH ORDINALITY
          AS x(delivery_id, endpoint_id, attempt_id, number, started_at, duration_ms, status_code, headers, body, error_code, success, ord)
        JOIN {{schema}}.deliveries d ON d.id = x.delivery_id
        ORDER BY x.ord;
        UPDATE {{schema}}.endpoints e SET rate_next_at = greatest(coalesce(e.rate_next_at, 0), x.started + ceil(1000 / e.rate_limit)::bigint)
        FROM (SELECT u.endpoint_id, max(u.started_at) AS started FROM unnest(p_endpoint_ids, p_started) AS u(endpoint_id, started_at) GROUP BY u.endpoint_id) x
        WHERE e.id = x.endpoint_id AND e.rate_limit IS NOT NULL;
        RETURN QUERY
        SELECT (x.ord - 1)::integer, a.row,
          CASE WHEN a.ord IS NULL THEN (SELECT row_to_json(d.*) FROM {{schema}}.deliveries d WHERE d.id = x.delivery_id) END,
          CASE WHEN x.first THEN row_to_json(e.*) END,
          e.id IS NOT NULL AND NOT x.first,
          e.consecutive_failures, false, NULL::json
        FROM (
          SELECT u.*, row_number() OVER (PARTITION BY u.endpoint_id ORDER BY u.ord) = 1 AS first
          FROM unnest(p_delivery_ids, p_endpoint_ids) WITH ORDINALITY AS u(delivery_id, endpoint_id, ord)
        ) x
        LEFT JOIN unnest(v_ords, v_rows) AS a(ord, row) ON a.ord = x.ord
        LEFT JOIN {{schema}}.endpoints e ON e.id = x.endpoint_id
        ORDER BY x.ord;
      END
      $finish2$;

      -- finish_and_claim over finish_attempts_v2 (repeat: endpoint_repeat of a finished row).
      CREATE FUNCTION {{schema}}.finish_and_claim_v2(p_owners text[], p_delivery_ids text[], p_endpoint_ids text[], p_attempt_ids text[], p_numbers integer[],
        p_started bigint[], p_durations double precision[], p_statuses integer[], p_headers text[], p_bodies text[], p_errors text[], p_success boolean[],
        p_next_status text[], p_next_at bigint[], p_now bigint[], p_disable_after integer[], p_disable_reason text[], p_pause_until bigint[],
        p_notify_after text[], p_recovered_after integer[], p_notice_prefix text,
        p_claim_owner text, p_claim_now bigint, p_claim_until bigint, p_claim_limit integer, p_claim_per_endpoint integer)
      RETURNS TABLE (kind text, item integer, part1 json, part2 json, part3 json, part4 json, previous integer, disabled boolean, repeat boolean)
      LANGUAGE plpgsql VOLATILE AS $finish_claim2$
      BEGIN
        RETURN QUERY SELECT 'finished'::text, f.item, f.applied, f.current_row, f.endpoint_after, f.notice, f.previous, f.disabled, f.endpoint_repeat
          FROM {{schema}}.finish_attempts_v2(p_owners, p_delivery_ids, p_endpoint_ids, p_attempt_ids, p_numbers, p_started, p_durations, p_statuses, p_headers,
            p_bodies, p_errors, p_success, p_next_status, p_next_at, p_now, p_disable_after, p_disable_reason, p_pause_until, p_notify_after, p_recovered_after,
            p_notice_prefix) f;
        IF p_claim_limit > 0 THEN
          RETURN QUERY SELECT 'claimed'::text, NULL::integer, c.claimed_delivery, c.claimed_message, c.claimed_endpoint, c.claimed_secrets, NULL::integer, NULL::boolean, NULL::boolean
            FROM {{schema}}.claim_core(p_claim_owner, p_claim_now, p_claim_until, p_claim_limit, p_claim_per_endpoint, false) c;
        END IF;
      END
      $finish_claim2$;
    `,
  },
  {
    version: 5,
    name: 'index diet',
    sql: `
      -- Every write of a delivery row (insert, claim, finish) adds an entry to each of its indexes
      -- (claims and finishes change indexed columns, so no update is HOT), and the indexes keyed
      -- by endpoint are the dear ones: their entries land on a leaf page per endpoint, not at one
      -- right edge. Two of those entries per delivery go:
      -- The admin listing of an endpoint's deliveries read deliveries_endpoint (endpoint_id, seq),
      -- an entry for each of the three row versions. The unfinished deliveries are already in
      -- deliveries_endpoint_active (endpoint_id, seq) WHERE due_at IS NOT NULL; this index holds
      -- the others (finished, and waiting behind a disabled endpoint), so each version enters
      -- exactly one of the two (three entries per delivery become one here) and a listing merges
      -- the two in seq order.
      CREATE INDEX deliveries_endpoint_done ON {{schema}}.deliveries (endpoint_id, seq) WHERE due_at IS NULL;
      DROP INDEX {{schema}}.deliveries_endpoint;
      -- A message's attempts are found through its deliveries (deliveries_message, then
      -- attempts_delivery), as in the SQLite storage: one index less on every attempt.
      DROP INDEX {{schema}}.attempts_message;
    `,
  },
  {
    version: 6,
    name: 'claims return each endpoint and message once',
    sql: `
      -- claim_core built the endpoint JSON of every claimed row (kept on the first row of each
      -- endpoint only), aggregated the endpoint's signing secrets once per row (the signing CTE,
      -- referenced once, was inlined into the per-row join), read and built the message of every
      -- row (a message sent to ten endpoints was built ten times in one claim) and sorted the rows
      -- by endpoint for the window that found the first. claim_core_v2 locks and leases exactly as
      -- claim_core of migration 4, then returns each claimed endpoint once (with its secrets),
      -- each claimed message once and the deliveries in due order, as rows of three kinds:
      -- 'endpoint' (part: the endpoint, secrets: its signing secrets), 'message' (part: the
      -- message), 'delivery' (part: the delivery; its endpoint and message came before it).
      -- New names, so processes of the previous version keep calling claim_core,
      -- claim_deliveries and finish_and_claim_v2 during a rollout.
      CREATE FUNCTION {{schema}}.claim_core_v2(p_owner text, p_now bigint, p_until bigint, p_limit integer, p_per_endpoint integer, p_wait boolean)
      RETURNS TABLE (claimed_kind text, claimed_part json, claimed_secrets json)
      LANGUAGE plpgsql VOLATILE AS $claim2$
      #variable_conflict use_column
      DECLARE
        v_locked text[] := ARRAY[]::text[];
        v_busy text[] := ARRAY[]::text[];
        v_room bigint := 0;
        v_round integer := 0;
        v_seen integer;
        v_fallback boolean := false;
        v_window_full boolean;
        v_busy_keys bigint[] := ARRAY[]::bigint[];
        v_max_key bigint;
        v_wait integer;
        v_candidate record;
        v_rows bigint;
        v_deliveries json[];
        v_endpoint_ids text[];
        v_message_ids text[];
      BEGIN
        -- Whether there is more due work than one look below takes in (else one look sees it all).
        SELECT count(*) > p_limit * 2 INTO v_window_full FROM (
          SELECT 1 FROM {{schema}}.deliveries d WHERE d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT p_limit * 2 + 1
        ) w;
        LOOP
          v_round := v_round + 1;
          v_seen := 0;
          v_rows := 0;
          -- Endpoints with due work, oldest work first, with their live lease counts and due rows
          -- in this window. Locks are only TRIED here, and only until the locked endpoints have
          -- room for this claim: concurrent claimers spread over different endpoints instead of
          -- one claimer locking them all.
          FOR v_candidate IN
            WITH live AS (
              SELECT d.endpoint_id, count(*) AS n FROM {{schema}}.deliveries d WHERE d.status = 'in_flight' AND d.lease_until > p_now GROUP BY d.endpoint_id
            ), blocked AS (
              SELECT e.id FROM {{schema}}.endpoints e WHERE NOT e.enabled OR e.paused_until > p_now OR e.rate_next_at > p_now
              UNION ALL SELECT live.endpoint_id FROM live WHERE live.n >= p_per_endpoint
              UNION ALL SELECT e.id FROM {{schema}}.endpoints e
                CROSS JOIN LATERAL (SELECT h.due_at FROM {{schema}}.deliveries h WHERE h.endpoint_id = e.id AND h.due_at IS NOT NULL ORDER BY h.seq LIMIT 1) head
                WHERE e.fifo AND head.due_at > p_now
            ), due_window AS (
              -- The oldest due work, a bounded window of it: when the endpoints at their limits
              -- own it all (slow receivers), a claim costs a few hundred index entries, not the
              -- whole backlog.
              SELECT d.endpoint_id, d.due_at, d.seq FROM {{schema}}.deliveries d
              WHERE d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT greatest(64, p_limit * 4)
            ), candidates AS (
              (SELECT w.endpoint_id, w.due_at, w.seq, false AS fallback FROM due_window w
               WHERE w.endpoint_id NOT IN (SELECT b.id FROM blocked b) AND w.endpoint_id <> ALL (v_busy || v_locked)
               ORDER BY w.due_at, w.seq LIMIT p_limit * 2)
              UNION ALL
              -- The window held no claimable work: look at every other endpoint's oldest due
              -- delivery instead (one index lookup per endpoint).
              SELECT e.id, f.due_at, f.seq, true FROM {{schema}}.endpoints e
              CROSS JOIN LATERAL (
                SELECT d.due_at, d.seq FROM {{schema}}.deliveries d WHERE d.endpoint_id = e.id AND d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT 1
              ) f
              WHERE v_fallback AND e.enabled AND e.id NOT IN (SELECT b.id FROM blocked b) AND e.id <> ALL (v_busy || v_locked)
            )
            SELECT c.endpoint_id, hashtextextended('{{schema_name}}/' || c.endpoint_id, 0) AS key, count(*) FILTER (WHERE NOT c.fallback) AS window_rows,
              CASE WHEN bool_or(e.fifo OR e.rate_limit IS NOT NULL) THEN 1 ELSE greatest(0, least(count(*), p_per_endpoint - coalesce(min(live.n), 0))) END AS room
            FROM candidates c JOIN {{schema}}.endpoints e ON e.id = c.endpoint_id LEFT JOIN live ON live.endpoint_id = c.endpoint_id
            GROUP BY c.endpoint_id ORDER BY min(c.due_at), min(c.seq)
          LOOP
            v_seen := v_seen + 1;
            v_rows := v_rows + v_candidate.window_rows;
            EXIT WHEN v_room >= p_limit;
            IF pg_try_advisory_xact_lock(v_candidate.key) THEN
              v_locked := v_locked || v_candidate.endpoint_id;
              v_room := v_room + v_candidate.room;
              v_max_key := greatest(v_max_key, v_candidate.key);
            ELSE
              v_busy := v_busy || v_candidate.endpoint_id;
              v_busy_keys := v_busy_keys || v_candidate.key;
            END IF;
          END LOOP;
          EXIT WHEN v_room >= p_limit OR v_round >= 10;
          -- Every row of the window still open was among this round's candidates (fewer than the
          -- candidate cap came back), so another look at it finds nothing: go on to the other
          -- endpoints' oldest work at once, or stop, instead of spending a query to learn that.
          IF v_window_full AND NOT v_fallback AND (v_seen = 0 OR v_rows < p_limit * 2) THEN
            v_fallback := true;
          ELSIF v_seen = 0 OR NOT v_window_full OR v_rows < p_limit * 2 THEN
            -- Nothing more to try without waiting. Wait for a busy endpoint (oldest work first),
            -- but only for a key above every key held: waits then always go up, so they can
            -- never form a cycle (no deadlock). Then look again: the others may be free by then.
            EXIT WHEN cardinality(v_busy) = 0 OR NOT p_wait;
            v_wait := NULL;
            FOR i IN 1 .. cardinality(v_busy_keys) LOOP
              IF v_max_key IS NULL OR v_busy_keys[i] > v_max_key THEN
                v_wait := i;
                EXIT;
              END IF;
            END LOOP;
            EXIT WHEN v_wait IS NULL;
            PERFORM pg_advisory_xact_lock(v_busy_keys[v_wait]);
            v_locked := v_locked || v_busy[v_wait];
            v_max_key := v_busy_keys[v_wait];
            v_room := v_room + 1;
            v_busy := ARRAY[]::text[];
            v_busy_keys := ARRAY[]::bigint[];
            v_fallback := false;
          END IF;
        END LOOP;
        IF cardinality(v_locked) = 0 THEN
          RETURN;
        END IF;
        WITH endpoint_state AS (
          SELECT e.*, (SELECT count(*) FROM {{schema}}.deliveries d WHERE d.endpoint_id = e.id AND d.status = 'in_flight' AND d.lease_until > p_now) AS in_flight
          FROM {{schema}}.endpoints e
          WHERE e.id = ANY (v_locked) AND e.enabled AND (e.paused_until IS NULL OR e.paused_until <= p_now) AND (e.rate_next_at IS NULL OR e.rate_next_at <= p_now)
        ), rooms AS (
          SELECT s.id, s.fifo, s.rate_limit,
            -- FIFO and rate-limited endpoints: one at a time (a rate-limited one's next claim waits
            -- for the previous attempt's start + 1000 / rate, recorded when it finishes).
            CASE WHEN s.fifo OR s.rate_limit IS NOT NULL THEN CASE WHEN s.in_flight < p_per_endpoint AND s.in_flight = 0 THEN 1 ELSE 0 END
              ELSE least(p_limit::bigint, p_per_endpoint::bigint - s.in_flight) END AS room
          FROM endpoint_state s
        ), picked AS (
          SELECT c.id, c.due_at, c.seq FROM rooms r CROSS JOIN LATERAL (
            SELECT d.id, d.due_at, d.seq FROM {{schema}}.deliveries d
            WHERE d.endpoint_id = r.id AND d.due_at IS NOT NULL AND d.due_at <= p_now
            ORDER BY d.due_at, d.seq LIMIT greatest(r.room, 0)
          ) c WHERE NOT r.fifo
          UNION ALL
          SELECT x.id, x.due_at, x.seq FROM (
            SELECT d.id, d.due_at, d.seq FROM {{schema}}.deliveries d
            WHERE d.id IN (
              SELECT (SELECT h.id FROM {{schema}}.deliveries h WHERE h.endpoint_id = r.id AND h.due_at IS NOT NULL ORDER BY h.seq LIMIT 1) FROM rooms r WHERE r.fifo AND r.room > 0
            ) AND d.due_at <= p_now
          ) x
        ), chosen AS (
          SELECT p.id, p.due_at, p.seq FROM picked p ORDER BY p.due_at, p.seq LIMIT p_limit
        ), claimed AS (
          -- No row locks before this: the endpoint's advisory lock keeps other claimers away, and a
          -- row finished, released or retried meanwhile (a late attempt of an expired lease) is
          -- re-checked here on its latest version and skipped.
          UPDATE {{schema}}.deliveries d SET status = 'in_flight', lease_owner = p_owner, lease_until = p_until, due_at = p_until, updated_at = p_now
          FROM chosen WHERE d.id = chosen.id AND d.due_at IS NOT NULL AND d.due_at <= p_now
          RETURNING row_to_json(d.*) AS delivery, d.endpoint_id, d.message_id, chosen.due_at AS was_due, chosen.seq AS was_seq
        ), rated AS (
          UPDATE {{schema}}.endpoints e SET rate_next_at = p_now + ceil(1000 / e.rate_limit)::bigint
          WHERE e.rate_limit IS NOT NULL AND e.id IN (SELECT claimed.endpoint_id FROM claimed)
          RETURNING e.id
        )
        SELECT (SELECT array_agg(c.delivery ORDER BY c.was_due, c.was_seq) FROM claimed c),
          (SELECT array_agg(DISTINCT c.endpoint_id) FROM claimed c),
          (SELECT array_agg(DISTINCT c.message_id) FROM claimed c)
        INTO v_deliveries, v_endpoint_ids, v_message_ids;
        IF v_deliveries IS NULL THEN
          RETURN;
        END IF;
        -- Each endpoint and message once (the rows claimed are locked by this transaction, so
        -- neither can be deleted before it ends).
        RETURN QUERY SELECT 'endpoint'::text, row_to_json(e.*), coalesce((
            SELECT json_agg(json_build_object('secret', s.secret, 'created_at', s.created_at, 'expires_at', s.expires_at) ORDER BY (s.expires_at IS NOT NULL), s.created_at DESC, s.seq DESC)
            FROM {{schema}}.endpoint_secrets s WHERE s.endpoint_id = e.id AND (s.expires_at IS NULL OR s.expires_at > p_now)
          ), '[]'::json)
          FROM {{schema}}.endpoints e WHERE e.id = ANY (v_endpoint_ids);
        RETURN QUERY SELECT 'message'::text, row_to_json(m.*), NULL::json FROM {{schema}}.messages m WHERE m.id = ANY (v_message_ids);
        RETURN QUERY SELECT 'delivery'::text, x.delivery, NULL::json FROM unnest(v_deliveries) AS x(delivery);
      END
      $claim2$;

      -- A claim on its own (autocommit), as claim_deliveries.
      CREATE FUNCTION {{schema}}.claim_deliveries_v2(p_owner text, p_now bigint, p_until bigint, p_limit integer, p_per_endpoint integer)
      RETURNS TABLE (claimed_kind text, claimed_part json, claimed_secrets json)
      LANGUAGE plpgsql VOLATILE AS $claim_alone2$
      BEGIN
        PERFORM set_config('synchronous_commit', 'off', true);
        RETURN QUERY SELECT * FROM {{schema}}.claim_core_v2(p_owner, p_now, p_until, p_limit, p_per_endpoint, true);
      END
      $claim_alone2$;

      -- finish_and_claim_v2 over claim_core_v2: the claim's rows are of kind 'claimed_endpoint'
      -- (part1 the endpoint, part2 its secrets), 'claimed_message' (part1) and 'claimed' (part1
      -- the delivery).
      CREATE FUNCTION {{schema}}.finish_and_claim_v3(p_owners text[], p_delivery_ids text[], p_endpoint_ids text[], p_attempt_ids text[], p_numbers integer[],
        p_started bigint[], p_durations double precision[], p_statuses integer[], p_headers text[], p_bodies text[], p_errors text[], p_success boolean[],
        p_next_status text[], p_next_at bigint[], p_now bigint[], p_disable_after integer[], p_disable_reason text[], p_pause_until bigint[],
        p_notify_after text[], p_recovered_after integer[], p_notice_prefix text,
        p_claim_owner text, p_claim_now bigint, p_claim_until bigint, p_claim_limit integer, p_claim_per_endpoint integer)
      RETURNS TABLE (kind text, item integer, part1 json, part2 json, part3 json, part4 json, previous integer, disabled boolean, repeat boolean)
      LANGUAGE plpgsql VOLATILE AS $finish_claim3$
      BEGIN
        RETURN QUERY SELECT 'finished'::text, f.item, f.applied, f.current_row, f.endpoint_after, f.notice, f.previous, f.disabled, f.endpoint_repeat
          FROM {{schema}}.finish_attempts_v2(p_owners, p_delivery_ids, p_endpoint_ids, p_attempt_ids, p_numbers, p_started, p_durations, p_statuses, p_headers,
            p_bodies, p_errors, p_success, p_next_status, p_next_at, p_now, p_disable_after, p_disable_reason, p_pause_until, p_notify_after, p_recovered_after,
            p_notice_prefix) f;
        IF p_claim_limit > 0 THEN
          RETURN QUERY SELECT CASE c.claimed_kind WHEN 'delivery' THEN 'claimed' ELSE 'claimed_' || c.claimed_kind END, NULL::integer, c.claimed_part, c.claimed_secrets,
              NULL::json, NULL::json, NULL::integer, NULL::boolean, NULL::boolean
            FROM {{schema}}.claim_core_v2(p_claim_owner, p_claim_now, p_claim_until, p_claim_limit, p_claim_per_endpoint, false) c;
        END IF;
      END
      $finish_claim3$;
    `,
  },
  {
    version: 7,
    name: 'generic plans in the queue functions',
    sql: `
      -- The statements inside these functions were planned again on every call: PL/pgSQL caches
      -- a generic plan only when its estimated cost is near the custom plans' (a claim's range
      -- "due_at <= p_now" is estimated at a third of the table without the value, a few rows with
      -- it), so the plan cache kept choosing a custom plan, and planning the claim's candidate
      -- and lease statements cost about as much CPU as running them. The generic plans are the
      -- same index scans (the claim and finish statements are index walks bounded by LIMITs and
      -- keys, whatever the values), planned once per connection and again after ANALYZE.
      -- Measured, one connection, 20,000 deliveries: PostgreSQL CPU per delivery for finish and
      -- claim 124 -> 96 µs, for send 38 -> 33 µs.
      ALTER FUNCTION {{schema}}.enqueue_messages(json) SET plan_cache_mode = force_generic_plan;
      ALTER FUNCTION {{schema}}.claim_core_v2(text, bigint, bigint, integer, integer, boolean) SET plan_cache_mode = force_generic_plan;
      ALTER FUNCTION {{schema}}.claim_deliveries_v2(text, bigint, bigint, integer, integer) SET plan_cache_mode = force_generic_plan;
      ALTER FUNCTION {{schema}}.finish_attempts(text[], text[], text[], text[], integer[], bigint[], double precision[], integer[], text[], text[], text[], boolean[],
        text[], bigint[], bigint[], integer[], text[], bigint[], text[], integer[], text) SET plan_cache_mode = force_generic_plan;
      ALTER FUNCTION {{schema}}.finish_attempts_v2(text[], text[], text[], text[], integer[], bigint[], double precision[], integer[], text[], text[], text[], boolean[],
        text[], bigint[], bigint[], integer[], text[], bigint[], text[], integer[], text) SET plan_cache_mode = force_generic_plan;
      ALTER FUNCTION {{schema}}.finish_and_claim_v3(text[], text[], text[], text[], integer[], bigint[], double precision[], integer[], text[], text[], text[], boolean[],
        text[], bigint[], bigint[], integer[], text[], bigint[], text[], integer[], text, text, bigint, bigint, integer, integer) SET plan_cache_mode = force_generic_plan;
    `,
  },
  {
    version: 8,
    name: 'finish and claim results as columns',
    sql: `
      -- The finish and claim functions returned every delivery as a JSON row built by
      -- row_to_json (built in PostgreSQL, parsed again in Node), though the caller already holds
      -- most of it: the finish's input has the ids, the new status, times and the attempt, a
      -- claim's caller gave the owner, lease end and time. These functions return, as plain
      -- columns, only what the caller does not hold. finish_attempts_v3 also takes each attempt's
      -- message id (no join of deliveries by id to read it), and logs the attempts and spaces
      -- rate-limited endpoints in one statement. claim_core_v3 leases and
      -- returns in one statement. Locks, leases and effects are those of migration 6.
      -- New names, so processes of the previous version keep calling finish_attempts_v2,
      -- claim_deliveries_v2 and finish_and_claim_v3 during a rollout.
      CREATE FUNCTION {{schema}}.claim_core_v3(p_owner text, p_now bigint, p_until bigint, p_limit integer, p_per_endpoint integer, p_wait boolean)
      RETURNS TABLE (kind text, id text, message_id text, endpoint_id text, tenant text, type text, attempts integer, next_attempt_at bigint, last_status integer,
        last_error text, retry_base_attempts integer, retry_base_at bigint, created_at bigint, part json, secrets json)
      LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $claim3$
      #variable_conflict use_column
      DECLARE
        v_locked text[] := ARRAY[]::text[];
        v_busy text[] := ARRAY[]::text[];
        v_room bigint := 0;
        v_round integer := 0;
        v_seen integer;
        v_fallback boolean := false;
        v_window_full boolean;
        v_busy_keys bigint[] := ARRAY[]::bigint[];
        v_max_key bigint;
        v_wait integer;
        v_candidate record;
        v_rows bigint;
      BEGIN
        -- Whether there is more due work than one look below takes in (else one look sees it all).
        SELECT count(*) > p_limit * 2 INTO v_window_full FROM (
          SELECT 1 FROM {{schema}}.deliveries d WHERE d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT p_limit * 2 + 1
        ) w;
        LOOP
          v_round := v_round + 1;
          v_seen := 0;
          v_rows := 0;
          -- Endpoints with due work, oldest work first, with their live lease counts and due rows
          -- in this window. Locks are only TRIED here, and only until the locked endpoints have
          -- room for this claim: concurrent claimers spread over different endpoints instead of
          -- one claimer locking them all.
          FOR v_candidate IN
            WITH live AS (
              SELECT d.endpoint_id, count(*) AS n FROM {{schema}}.deliveries d WHERE d.status = 'in_flight' AND d.lease_until > p_now GROUP BY d.endpoint_id
            ), blocked AS (
              SELECT e.id FROM {{schema}}.endpoints e WHERE NOT e.enabled OR e.paused_until > p_now OR e.rate_next_at > p_now
              UNION ALL SELECT live.endpoint_id FROM live WHERE live.n >= p_per_endpoint
              UNION ALL SELECT e.id FROM {{schema}}.endpoints e
                CROSS JOIN LATERAL (SELECT h.due_at FROM {{schema}}.deliveries h WHERE h.endpoint_id = e.id AND h.due_at IS NOT NULL ORDER BY h.seq LIMIT 1) head
                WHERE e.fifo AND head.due_at > p_now
            ), due_window AS (
              -- The oldest due work, a bounded window of it: when the endpoints at their limits
              -- own it all (slow receivers), a claim costs a few hundred index entries, not the
              -- whole backlog.
              SELECT d.endpoint_id, d.due_at, d.seq FROM {{schema}}.deliveries d
              WHERE d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT greatest(64, p_limit * 4)
            ), candidates AS (
              (SELECT w.endpoint_id, w.due_at, w.seq, false AS fallback FROM due_window w
               WHERE w.endpoint_id NOT IN (SELECT b.id FROM blocked b) AND w.endpoint_id <> ALL (v_busy || v_locked)
               ORDER BY w.due_at, w.seq LIMIT p_limit * 2)
              UNION ALL
              -- The window held no claimable work: look at every other endpoint's oldest due
              -- delivery instead (one index lookup per endpoint).
              SELECT e.id, f.due_at, f.seq, true FROM {{schema}}.endpoints e
              CROSS JOIN LATERAL (
                SELECT d.due_at, d.seq FROM {{schema}}.deliveries d WHERE d.endpoint_id = e.id AND d.due_at IS NOT NULL AND d.due_at <= p_now ORDER BY d.due_at, d.seq LIMIT 1
              ) f
              WHERE v_fallback AND e.enabled AND e.id NOT IN (SELECT b.id FROM blocked b) AND e.id <> ALL (v_busy || v_locked)
            )
            SELECT c.endpoint_id, hashtextextended('{{schema_name}}/' || c.endpoint_id, 0) AS key, count(*) FILTER (WHERE NOT c.fallback) AS window_rows,
              CASE WHEN bool_or(e.fifo OR e.rate_limit IS NOT NULL) THEN 1 ELSE greatest(0, least(count(*), p_per_endpoint - coalesce(min(live.n), 0))) END AS room
            FROM candidates c JOIN {{schema}}.endpoints e ON e.id = c.endpoint_id LEFT JOIN live ON live.endpoint_id = c.endpoint_id
            GROUP BY c.endpoint_id ORDER BY min(c.due_at), min(c.seq)
          LOOP
            v_seen := v_seen + 1;
            v_rows := v_rows + v_candidate.window_rows;
            EXIT WHEN v_room >= p_limit;
            IF pg_try_advisory_xact_lock(v_candidate.key) THEN
              v_locked := v_locked || v_candidate.endpoint_id;
              v_room := v_room + v_candidate.room;
              v_max_key := greatest(v_max_key, v_candidate.key);
            ELSE
              v_busy := v_busy || v_candidate.endpoint_id;
              v_busy_keys := v_busy_keys || v_candidate.key;
            END IF;
          END LOOP;
          EXIT WHEN v_room >= p_limit OR v_round >= 10;
          -- Every row of the window still open was among this round's candidates (fewer than the
          -- candidate cap came back), so another look at it finds nothing: go on to the other
          -- endpoints' oldest work at once, or stop, instead of spending a query to learn that.
          IF v_window_full AND NOT v_fallback AND (v_seen = 0 OR v_rows < p_limit * 2) THEN
            v_fallback := true;
          ELSIF v_seen = 0 OR NOT v_window_full OR v_rows < p_limit * 2 THEN
            -- Nothing more to try without waiting. Wait for a busy endpoint (oldest work first),
            -- but only for a key above every key held: waits then always go up, so they can
            -- never form a cycle (no deadlock). Then look again: the others may be free by then.
            EXIT WHEN cardinality(v_busy) = 0 OR NOT p_wait;
            v_wait := NULL;
            FOR i IN 1 .. cardinality(v_busy_keys) LOOP
              IF v_max_key IS NULL OR v_busy_keys[i] > v_max_key THEN
                v_wait := i;
                EXIT;
              END IF;
            END LOOP;
            EXIT WHEN v_wait IS NULL;
            PERFORM pg_advisory_xact_lock(v_busy_keys[v_wait]);
            v_locked := v_locked || v_busy[v_wait];
            v_max_key := v_busy_keys[v_wait];
            v_room := v_room + 1;
            v_busy := ARRAY[]::text[];
            v_busy_keys := ARRAY[]::bigint[];
            v_fallback := false;
          END IF;
        END LOOP;
        IF cardinality(v_locked) = 0 THEN
          RETURN;
        END IF;
        RETURN QUERY
        WITH endpoint_state AS (
          SELECT e.*, (SELECT count(*) FROM {{schema}}.deliveries d WHERE d.endpoint_id = e.id AND d.status = 'in_flight' AND d.lease_until > p_now) AS in_flight
          FROM {{schema}}.endpoints e
          WHERE e.id = ANY (v_locked) AND e.enabled AND (e.paused_until IS NULL OR e.paused_until <= p_now) AND (e.rate_next_at IS NULL OR e.rate_next_at <= p_now)
        ), rooms AS (
          SELECT s.id, s.fifo, s.rate_limit,
            -- FIFO and rate-limited endpoints: one at a time (a rate-limited one's next claim waits
            -- for the previous attempt's start + 1000 / rate, recorded when it finishes).
            CASE WHEN s.fifo OR s.rate_limit IS NOT NULL THEN CASE WHEN s.in_flight < p_per_endpoint AND s.in_flight = 0 THEN 1 ELSE 0 END
              ELSE least(p_limit::bigint, p_per_endpoint::bigint - s.in_flight) END AS room
          FROM endpoint_state s
        ), picked AS (
          SELECT c.id, c.due_at, c.seq FROM rooms r CROSS JOIN LATERAL (
            SELECT d.id, d.due_at, d.seq FROM {{schema}}.deliveries d
            WHERE d.endpoint_id = r.id AND d.due_at IS NOT NULL AND d.due_at <= p_now
            ORDER BY d.due_at, d.seq LIMIT greatest(r.room, 0)
          ) c WHERE NOT r.fifo
          UNION ALL
          SELECT x.id, x.due_at, x.seq FROM (
            SELECT d.id, d.due_at, d.seq FROM {{schema}}.deliveries d
            WHERE d.id IN (
              SELECT (SELECT h.id FROM {{schema}}.deliveries h WHERE h.endpoint_id = r.id AND h.due_at IS NOT NULL ORDER BY h.seq LIMIT 1) FROM rooms r WHERE r.fifo AND r.room > 0
            ) AND d.due_at <= p_now
          ) x
        ), chosen AS (
          SELECT p.id, p.due_at, p.seq FROM picked p ORDER BY p.due_at, p.seq LIMIT p_limit
        ), claimed AS (
          -- No row locks before this: the endpoint's advisory lock keeps other claimers away, and a
          -- row finished, released or retried meanwhile (a late attempt of an expired lease) is
          -- re-checked here on its latest version and skipped. The columns the caller does not
          -- know (it gave the owner, lease end and time) come back as columns, not as JSON.
          UPDATE {{schema}}.deliveries d SET status = 'in_flight', lease_owner = p_owner, lease_until = p_until, due_at = p_until, updated_at = p_now
          FROM chosen WHERE d.id = chosen.id AND d.due_at IS NOT NULL AND d.due_at <= p_now
          RETURNING d.id, d.message_id, d.endpoint_id, d.tenant, d.type, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.retry_base_attempts,
            d.retry_base_at, d.created_at, chosen.due_at AS was_due, chosen.seq AS was_seq
        ), rated AS (
          UPDATE {{schema}}.endpoints e SET rate_next_at = p_now + ceil(1000 / e.rate_limit)::bigint
          WHERE e.rate_limit IS NOT NULL AND e.id IN (SELECT c.endpoint_id FROM claimed c)
          RETURNING e.id
        )
        -- The deliveries in due order, then each of their endpoints (with its signing secrets) and
        -- messages once, in the same statement (the claimed rows keep both from being deleted).
        SELECT u.kind, u.id, u.message_id, u.endpoint_id, u.tenant, u.type, u.attempts, u.next_attempt_at, u.last_status, u.last_error, u.retry_base_attempts,
          u.retry_base_at, u.created_at, u.part, u.secrets
        FROM (
          SELECT 'delivery'::text AS kind, c.id, c.message_id, c.endpoint_id, c.tenant, c.type, c.attempts, c.next_attempt_at, c.last_status, c.last_error,
            c.retry_base_attempts, c.retry_base_at, c.created_at, NULL::json AS part, NULL::json AS secrets, 0 AS part_order, c.was_due, c.was_seq
          FROM claimed c
          UNION ALL
          SELECT 'endpoint'::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::integer, NULL::bigint, NULL::integer, NULL::text, NULL::integer,
            NULL::bigint, NULL::bigint, row_to_json(e.*), coalesce((
              SELECT json_agg(json_build_object('secret', s.secret, 'created_at', s.created_at, 'expires_at', s.expires_at) ORDER BY (s.expires_at IS NOT NULL), s.created_at DESC, s.seq DESC)
              FROM {{schema}}.endpoint_secrets s WHERE s.endpoint_id = e.id AND (s.expires_at IS NULL OR s.expires_at > p_now)
            ), '[]'::json), 1, NULL::bigint, NULL::bigint
          FROM {{schema}}.endpoints e WHERE e.id IN (SELECT c.endpoint_id FROM claimed c)
          UNION ALL
          SELECT 'message'::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::integer, NULL::bigint, NULL::integer, NULL::text, NULL::integer,
            NULL::bigint, NULL::bigint, row_to_json(m.*), NULL::json, 2, NULL::bigint, NULL::bigint
          FROM {{schema}}.messages m WHERE m.id IN (SELECT c.message_id FROM claimed c)
        ) u
        ORDER BY u.part_order, u.was_due, u.was_seq;
      END
      $claim3$;

      -- A claim on its own (autocommit), as claim_deliveries_v2.
      CREATE FUNCTION {{schema}}.claim_deliveries_v3(p_owner text, p_now bigint, p_until bigint, p_limit integer, p_per_endpoint integer)
      RETURNS TABLE (kind text, id text, message_id text, endpoint_id text, tenant text, type text, attempts integer, next_attempt_at bigint, last_status integer,
        last_error text, retry_base_attempts integer, retry_base_at bigint, created_at bigint, part json, secrets json)
      LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $claim_alone3$
      BEGIN
        PERFORM set_config('synchronous_commit', 'off', true);
        RETURN QUERY SELECT * FROM {{schema}}.claim_core_v3(p_owner, p_now, p_until, p_limit, p_per_endpoint, true);
      END
      $claim_alone3$;

      -- finish_attempts_v2 with the attempts' message ids, returning for each applied attempt only
      -- the delivery columns its input does not hold (attempts, tenant, type, retry base, created).
      -- Any batch with a failure or a failing or paused endpoint runs finish_attempts (migration
      -- 3), as before.
      CREATE FUNCTION {{schema}}.finish_attempts_v3(p_owners text[], p_delivery_ids text[], p_message_ids text[], p_endpoint_ids text[], p_attempt_ids text[],
        p_numbers integer[], p_started bigint[], p_durations double precision[], p_statuses integer[], p_headers text[], p_bodies text[], p_errors text[],
        p_success boolean[], p_next_status text[], p_next_at bigint[], p_now bigint[], p_disable_after integer[], p_disable_reason text[], p_pause_until bigint[],
        p_notify_after text[], p_recovered_after integer[], p_notice_prefix text)
      RETURNS TABLE (item integer, applied boolean, attempts integer, tenant text, type text, retry_base_attempts integer, retry_base_at bigint, created_at bigint,
        current_row json, endpoint_after json, endpoint_repeat boolean, previous integer, disabled boolean, notice json)
      LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $finish3$
      #variable_conflict use_column
      DECLARE
        v_ords bigint[];
        v_attempts integer[];
        v_tenants text[];
        v_types text[];
        v_base_attempts integer[];
        v_base_at bigint[];
        v_created bigint[];
      BEGIN
        IF NOT (true = ALL (p_success)) OR EXISTS (
          SELECT 1 FROM {{schema}}.endpoints e WHERE e.id = ANY (p_endpoint_ids) AND (e.consecutive_failures <> 0 OR e.paused_until IS NOT NULL)
        ) THEN
          RETURN QUERY SELECT f.item, f.applied IS NOT NULL, (f.applied ->> 'attempts')::integer, f.applied ->> 'tenant', f.applied ->> 'type',
              (f.applied ->> 'retry_base_attempts')::integer, (f.applied ->> 'retry_base_at')::bigint, (f.applied ->> 'created_at')::bigint,
              f.current_row, f.endpoint_after, false, f.previous, f.disabled, f.notice
            FROM {{schema}}.finish_attempts(p_owners, p_delivery_ids, p_endpoint_ids, p_attempt_ids, p_numbers, p_started, p_durations, p_statuses, p_headers,
            p_bodies, p_errors, p_success, p_next_status, p_next_at, p_now, p_disable_after, p_disable_reason, p_pause_until, p_notify_after, p_recovered_after,
            p_notice_prefix) f;
          RETURN;
        END IF;
        -- Every delivery whose lease is still held moves on (the lease re-checked on the row's
        -- latest version); a delivery named twice by the first of its attempts.
        WITH items AS (
          SELECT DISTINCT ON (x.delivery_id) x.* FROM unnest(p_delivery_ids, p_owners, p_statuses, p_errors, p_next_status, p_next_at, p_now) WITH ORDINALITY
            AS x(delivery_id, owner, status_code, error_code, next_status, next_at, now, ord)
          ORDER BY x.delivery_id, x.ord
        ), moved AS (
          UPDATE {{schema}}.deliveries d SET status = i.next_status, next_attempt_at = i.next_at, due_at = i.next_at, attempts = d.attempts + 1,
            lease_owner = NULL, lease_until = NULL, last_status = i.status_code, last_error = i.error_code, updated_at = i.now
          FROM items i
          WHERE d.id = i.delivery_id AND d.status = 'in_flight' AND d.lease_owner = i.owner
          RETURNING i.ord, d.attempts, d.tenant, d.type, d.retry_base_attempts, d.retry_base_at, d.created_at
        )
        SELECT array_agg(m.ord), array_agg(m.attempts), array_agg(m.tenant), array_agg(m.type), array_agg(m.retry_base_attempts), array_agg(m.retry_base_at),
          array_agg(m.created_at)
        INTO v_ords, v_attempts, v_tenants, v_types, v_base_attempts, v_base_at, v_created FROM moved m;
        -- Every attempt is logged, applied or not, while its delivery exists (a moved one does);
        -- rate-limited endpoints: the next claim waits until 1000 / rate ms after this attempt
        -- STARTED.
        WITH rated AS (
          UPDATE {{schema}}.endpoints e SET rate_next_at = greatest(coalesce(e.rate_next_at, 0), x.started + ceil(1000 / e.rate_limit)::bigint)
          FROM (SELECT u.endpoint_id, max(u.started_at) AS started FROM unnest(p_endpoint_ids, p_started) AS u(endpoint_id, started_at) GROUP BY u.endpoint_id) x
          WHERE e.id = x.endpoint_id AND e.rate_limit IS NOT NULL
          RETURNING e.id
        )
        INSERT INTO {{schema}}.attempts (id, delivery_id, message_id, endpoint_id, number, started_at, duration_ms, status_code, response_headers, response_body, error_code, success)
        SELECT x.attempt_id, x.delivery_id, x.message_id, x.endpoint_id, x.number, x.started_at, x.duration_ms, x.status_code, x.headers::json, x.body, x.error_code, x.success
        FROM unnest(p_delivery_ids, p_message_ids, p_endpoint_ids, p_attempt_ids, p_numbers, p_started, p_durations, p_statuses, p_headers, p_bodies, p_errors, p_success)
          WITH ORDINALITY AS x(delivery_id, message_id, endpoint_id, attempt_id, number, started_at, duration_ms, status_code, headers, body, error_code, success, ord)
        WHERE x.ord = ANY (v_ords) OR EXISTS (SELECT 1 FROM {{schema}}.deliveries d WHERE d.id = x.delivery_id)
        ORDER BY x.ord;
        RETURN QUERY
        SELECT (x.ord - 1)::integer, a.ord IS NOT NULL, a.attempts, a.tenant, a.type, a.base_attempts, a.base_at, a.created,
          CASE WHEN a.ord IS NULL THEN (SELECT row_to_json(d.*) FROM {{schema}}.deliveries d WHERE d.id = x.delivery_id) END,
          CASE WHEN x.first THEN row_to_json(e.*) END,
          e.id IS NOT NULL AND NOT x.first,
          e.consecutive_failures, false, NULL::json
        FROM (
          SELECT u.*, row_number() OVER (PARTITION BY u.endpoint_id ORDER BY u.ord) = 1 AS first
          FROM unnest(p_delivery_ids, p_endpoint_ids) WITH ORDINALITY AS u(delivery_id, endpoint_id, ord)
        ) x
        LEFT JOIN unnest(v_ords, v_attempts, v_tenants, v_types, v_base_attempts, v_base_at, v_created) AS a(ord, attempts, tenant, type, base_attempts, base_at, created)
          ON a.ord = x.ord
        LEFT JOIN {{schema}}.endpoints e ON e.id = x.endpoint_id
        ORDER BY x.ord;
      END
      $finish3$;

      -- finish_attempts_v3 and then claim_core_v3 in one transaction (as finish_and_claim_v3):
      -- rows of kind 'finished' (item, applied, the delivery columns, part1 the current row of an
      -- attempt not applied, part2 the endpoint, part3 the notification), then the claim's
      -- 'delivery' rows (columns), 'endpoint' (part1 the endpoint, part2 its secrets) and
      -- 'message' (part1) rows.
      CREATE FUNCTION {{schema}}.finish_and_claim_v4(p_owners text[], p_delivery_ids text[], p_message_ids text[], p_endpoint_ids text[], p_attempt_ids text[],
        p_numbers integer[], p_started bigint[], p_durations double precision[], p_statuses integer[], p_headers text[], p_bodies text[], p_errors text[],
        p_success boolean[], p_next_status text[], p_next_at bigint[], p_now bigint[], p_disable_after integer[], p_disable_reason text[], p_pause_until bigint[],
        p_notify_after text[], p_recovered_after integer[], p_notice_prefix text,
        p_claim_owner text, p_claim_now bigint, p_claim_until bigint, p_claim_limit integer, p_claim_per_endpoint integer)
      RETURNS TABLE (kind text, item integer, applied boolean, id text, message_id text, endpoint_id text, tenant text, type text, attempts integer,
        next_attempt_at bigint, last_status integer, last_error text, retry_base_attempts integer, retry_base_at bigint, created_at bigint, part1 json, part2 json,
        part3 json, previous integer, disabled boolean, repeat boolean)
      LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $finish_claim4$
      #variable_conflict use_column
      BEGIN
        RETURN QUERY SELECT 'finished'::text, f.item, f.applied, NULL::text, NULL::text, NULL::text, f.tenant, f.type, f.attempts, NULL::bigint, NULL::integer,
            NULL::text, f.retry_base_attempts, f.retry_base_at, f.created_at, f.current_row, f.endpoint_after, f.notice, f.previous, f.disabled, f.endpoint_repeat
          FROM {{schema}}.finish_attempts_v3(p_owners, p_delivery_ids, p_message_ids, p_endpoint_ids, p_attempt_ids, p_numbers, p_started, p_durations, p_statuses,
            p_headers, p_bodies, p_errors, p_success, p_next_status, p_next_at, p_now, p_disable_after, p_disable_reason, p_pause_until, p_notify_after,
            p_recovered_after, p_notice_prefix) f;
        IF p_claim_limit > 0 THEN
          RETURN QUERY SELECT c.kind, NULL::integer, NULL::boolean, c.id, c.message_id, c.endpoint_id, c.tenant, c.type, c.attempts, c.next_attempt_at, c.last_status,
              c.last_error, c.retry_base_attempts, c.retry_base_at, c.created_at, c.part, c.secrets, NULL::json, NULL::integer, NULL::boolean, NULL::boolean
            FROM {{schema}}.claim_core_v3(p_claim_owner, p_claim_now, p_claim_until, p_claim_limit, p_claim_per_endpoint, false) c;
        END IF;
      END
      $finish_claim4$;
    `,
  },
];
