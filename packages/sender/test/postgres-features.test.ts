import { silentLogger } from '@hooks/core';
import { createId } from '@hooks/core/internal';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSender } from '../src/sender';
import { createPostgresStorage, type PostgresStorage } from '../src/storage/postgres';
import { POSTGRES_MIGRATIONS } from '../src/storage/postgres-migrations';
import { toDelivery } from '../src/storage/sql-rows';
import type { ClaimInput, NewEndpoint, StoredDelivery, StoredMessage } from '../src/storage/types';
import { createTestPool, DATABASE_URL, dropSchemas, randomSchema, waitFor } from './cluster-support';
import { startReceiver } from './support';

const T0 = 1_800_000_000_000;
const pool = createTestPool(6);
// This file's schemas: one shared, plus fresh ones for the migration tests; all dropped at the end.
const schema = randomSchema('hooks_pgf');
const schemas = [schema];
let storage: PostgresStorage;
let counter = 0;

beforeAll(async () => {
  storage = createPostgresStorage({ pool, schema });
  await storage.migrate();
});

afterAll(async () => {
  await storage.close();
  await dropSchemas(pool, schemas);
  await pool.end();
});

async function reset(): Promise<void> {
  await pool.query(`TRUNCATE "${schema}".attempts, "${schema}".deliveries, "${schema}".messages, "${schema}".endpoint_secrets, "${schema}".endpoints, "${schema}".notifications`);
}

function endpoint(overrides: Partial<NewEndpoint> = {}): NewEndpoint {
  counter++;
  return { id: createId('ep', T0 + counter), tenant: 'tenant_a', url: `https://example.com/${counter}`, name: null, description: null, events: [], headers: {}, profile: 'x-webhook', metadata: {}, enabled: true, disabledReason: null, rateLimit: null, fifo: false, createdAt: T0, ...overrides };
}

async function addEndpoint(target: PostgresStorage = storage, overrides: Partial<NewEndpoint> = {}) {
  return target.createEndpoint(endpoint(overrides), { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: T0, expiresAt: null });
}

function message(overrides: Partial<StoredMessage> = {}): StoredMessage {
  counter++;
  return { id: createId('msg', T0 + counter), tenant: 'tenant_a', type: 'registrant.created', payload: '{"n":1}', idempotencyKey: null, createdAt: T0, ...overrides };
}

function success(item: { delivery: { id: string; messageId: string; endpointId: string } }, owner: string, now = T0) {
  return storage.finishAttempt({
    deliveryId: item.delivery.id,
    owner,
    attempt: { deliveryId: item.delivery.id, messageId: item.delivery.messageId, endpointId: item.delivery.endpointId, number: 1, startedAt: now, durationMs: 1, statusCode: 200, responseHeaders: {}, responseBody: 'ok', errorCode: null, success: true },
    next: { status: 'succeeded', nextAttemptAt: null },
    endpoint: { success: true },
    now,
  });
}

/** A fresh schema migrated up to `version` only, as a database of that release has it. */
async function schemaAt(version: number): Promise<string> {
  const fresh = randomSchema('hooks_pgm');
  schemas.push(fresh);
  const S = `"${fresh}"`;
  await pool.query(`CREATE SCHEMA ${S}; CREATE TABLE ${S}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  for (const step of POSTGRES_MIGRATIONS.filter((migration) => migration.version <= version)) {
    await pool.query(step.sql.replaceAll('{{schema}}', S).replaceAll('{{schema_name}}', fresh));
    await pool.query(`INSERT INTO ${S}.schema_migrations (version, name) VALUES ($1, $2)`, [step.version, step.name]);
  }
  return fresh;
}

/**
 * The queue calls of a version 6 or 7 process (claim_deliveries_v2, finish_attempts_v2,
 * finish_and_claim_v3), as that release made them: a process not yet upgraded keeps calling them
 * during a rollout. Claims give the deliveries; finishes whether each attempt applied.
 */
function previousRelease(target: string) {
  const S = `"${target}"`;
  const claimArguments = (input: ClaimInput) => [input.owner, input.now, input.now + input.leaseMs, input.limit, input.perEndpointConcurrency];
  const finishArguments = (items: Array<{ delivery: Pick<StoredDelivery, 'id' | 'endpointId'> }>, owner: string, now: number, result: 'succeeded' | 'failed' | 'retry', retryAt: number) => {
    const each = <T>(value: T) => items.map(() => value);
    const success = result === 'succeeded';
    return [
      each(owner),
      items.map((item) => item.delivery.id),
      items.map((item) => item.delivery.endpointId),
      items.map(() => createId('att', now)),
      each(1),
      each(now),
      each(1),
      each(success ? 200 : 500),
      each('{}'),
      each(null),
      each(success ? null : 'http_500'),
      each(success),
      each(result === 'retry' ? 'pending' : result),
      each(result === 'retry' ? retryAt : null),
      each(now),
      each(null),
      each(null),
      each(null),
      each(''),
      each(null),
      createId('ntf', now).slice(0, -4),
    ];
  };
  const placeholders = (count: number) => Array.from({ length: count }, (_, index) => `$${index + 1}`).join(', ');
  return {
    async claim(input: ClaimInput): Promise<Array<{ delivery: StoredDelivery }>> {
      const { rows } = await pool.query(`SELECT * FROM ${S}.claim_deliveries_v2($1, $2, $3, $4, $5)`, claimArguments(input));
      return rows.filter((row) => row.claimed_kind === 'delivery').map((row) => ({ delivery: toDelivery(row.claimed_part) }));
    },
    async finish(items: Array<{ delivery: Pick<StoredDelivery, 'id' | 'endpointId'> }>, owner: string, now: number, result: 'succeeded' | 'failed' | 'retry', retryAt = now): Promise<boolean[]> {
      const { rows } = await pool.query(`SELECT * FROM ${S}.finish_attempts_v2(${placeholders(21)})`, finishArguments(items, owner, now, result, retryAt));
      return rows.sort((a, b) => a.item - b.item).map((row) => row.applied !== null);
    },
    async finishAndClaim(items: Array<{ delivery: Pick<StoredDelivery, 'id' | 'endpointId'> }>, owner: string, now: number, claim: ClaimInput): Promise<{ applied: boolean[]; claimed: StoredDelivery[] }> {
      const { rows } = await pool.query(`SELECT * FROM ${S}.finish_and_claim_v3(${placeholders(26)})`, [...finishArguments(items, owner, now, 'succeeded', now), ...claimArguments(claim)]);
      return {
        applied: rows.filter((row) => row.kind === 'finished').map((row) => row.part1 !== null),
        claimed: rows.filter((row) => row.kind === 'claimed').map((row) => toDelivery(row.part1)),
      };
    },
  };
}

/**
 * A schema at `version` with a process of that release at work: two endpoints of one tenant with
 * 8 deliveries each; 'keep' leases 2 of each endpoint for long, 'gone' 2 of the first for a
 * second (those leases expire). The release's storage (not migrating) and queue calls come back.
 */
async function previousReleaseAtWork(version: number) {
  const fresh = await schemaAt(version);
  const S = `"${fresh}"`;
  const old = createPostgresStorage({ pool, schema: fresh, migrate: false });
  const legacy = previousRelease(fresh);
  const live = await addEndpoint(old);
  const parked = await addEndpoint(old);
  for (let index = 0; index < 8; index++) await old.enqueueMessage({ message: message(), now: T0 + index });
  const of = async (endpointId: string) => (await pool.query(`SELECT id FROM ${S}.deliveries WHERE endpoint_id = $1 ORDER BY seq`, [endpointId])).rows.map((row) => row.id as string);
  const liveIds = await of(live.id);
  const parkedIds = await of(parked.id);
  const kept = await legacy.claim({ owner: 'keep', now: T0 + 100, leaseMs: 600_000, limit: 4, perEndpointConcurrency: 2 });
  const gone = await legacy.claim({ owner: 'gone', now: T0 + 101, leaseMs: 1_000, limit: 4, perEndpointConcurrency: 4 });
  expect(kept).toHaveLength(4);
  expect(gone).toHaveLength(4);
  const keptLive = kept.filter((item) => item.delivery.endpointId === live.id);
  const keptParked = kept.filter((item) => item.delivery.endpointId === parked.id);
  const goneLive = gone.filter((item) => item.delivery.endpointId === live.id);
  expect([keptLive.length, keptParked.length, goneLive.length]).toEqual([2, 2, 2]);
  return { fresh, S, old, legacy, live, parked, liveIds, parkedIds, kept, gone, keptLive, keptParked, goneLive };
}

/** One attempt result (succeeded, failed for good, or retried at `retryAt`). */
function outcome(target: PostgresStorage, item: { delivery: { id: string; messageId: string; endpointId: string } }, owner: string, now: number, result: 'succeeded' | 'failed' | 'retry', retryAt = now) {
  const success = result === 'succeeded';
  return target.finishAttempt({
    deliveryId: item.delivery.id,
    owner,
    attempt: { deliveryId: item.delivery.id, messageId: item.delivery.messageId, endpointId: item.delivery.endpointId, number: 1, startedAt: now, durationMs: 1, statusCode: success ? 200 : 500, responseHeaders: {}, responseBody: null, errorCode: success ? null : 'http_500', success },
    next: result === 'retry' ? { status: 'pending', nextAttemptAt: retryAt } : { status: result, nextAttemptAt: null },
    endpoint: { success },
    now,
  });
}

describe('postgres options and migrations', () => {
  it('rejects bad options with invalid_option', () => {
    expect(() => createPostgresStorage({ pool, schema: 'Robert"); DROP TABLE x; --' })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => createPostgresStorage({})).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => createPostgresStorage({ pool, poolSize: 0 })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
  });

  it('migrates once when several processes start at once, and again only for new versions', async () => {
    const fresh = randomSchema('hooks_pgm');
    schemas.push(fresh);
    // Separate pools: separate sessions, as separate processes would have.
    const pools = Array.from({ length: 4 }, () => createTestPool(2));
    try {
      const starters = pools.map((own) => createPostgresStorage({ pool: own, schema: fresh }));
      await Promise.all(starters.map((starter) => starter.migrate()));
      await Promise.all(starters.map((starter) => starter.migrate()));
      const extra = [{ version: 100, name: 'extra', sql: 'CREATE TABLE {{schema}}.extra_table (x integer)' }];
      const upgraded = pools.map((own) => createPostgresStorage({ pool: own, schema: fresh, migrations: extra }));
      await Promise.all(upgraded.map((starter) => starter.migrate()));
      const { rows } = await pool.query(`SELECT version, name FROM "${fresh}".schema_migrations ORDER BY version`);
      expect(rows).toEqual([
        { version: 1, name: 'initial' },
        { version: 2, name: 'notifications' },
        { version: 3, name: 'batched claims and finishes' },
        { version: 4, name: 'set-based finishes, fewer claim rounds' },
        { version: 5, name: 'index diet' },
        { version: 6, name: 'claims return each endpoint and message once' },
        { version: 7, name: 'generic plans in the queue functions' },
        { version: 8, name: 'finish and claim results as columns' },
        { version: 100, name: 'extra' },
      ]);
      // The default `migrate: true` also migrates lazily on first use.
      const lazySchema = randomSchema('hooks_pgm');
      schemas.push(lazySchema);
      const lazy = createPostgresStorage({ pool, schema: lazySchema });
      expect(await lazy.getEndpoint('ep_none')).toBeUndefined();
      await lazy.close();
      // `migrate: false` against a schema that was never migrated fails with a typed error.
      const bare = createPostgresStorage({ pool, schema: randomSchema('hooks_pgm'), migrate: false });
      await expect(bare.getEndpoint('ep_none')).rejects.toMatchObject({ code: 'storage_error' });
    } finally {
      await Promise.all(pools.map((own) => own.end()));
    }
  });

  it('migrates a version 6 schema to 7 (generic plans): pending, leased, expired, retrying, parked and finished deliveries keep their state and are claimed as before', async () => {
    // A version 6 process at work: its queue functions, and the storage (not migrating) for the rest.
    const { fresh, S, old, legacy, live, parked, liveIds, parkedIds, kept, gone, keptLive, keptParked, goneLive } = await previousReleaseAtWork(6);
    // One succeeded, one failed for good, one retrying later; then the second endpoint is disabled (its waiting deliveries are parked).
    await legacy.finish([keptLive[0] as (typeof kept)[number]], 'keep', T0 + 200, 'succeeded');
    await legacy.finish([keptLive[1] as (typeof kept)[number]], 'keep', T0 + 200, 'failed');
    await legacy.finish([keptParked[0] as (typeof kept)[number]], 'keep', T0 + 200, 'retry', T0 + 500_000);
    await old.updateEndpoint(live.id, { consecutiveFailures: 0 }, T0 + 201);
    await old.updateEndpoint(parked.id, { enabled: false, disabledReason: 'manual', consecutiveFailures: 0 }, T0 + 201);
    const before = new Map((await old.listDeliveries({ limit: 100 })).items.map((delivery) => [delivery.id, delivery]));
    expect([...before.values()].map((delivery) => delivery.status).sort()).toEqual(['failed', ...Array(5).fill('in_flight'), ...Array(9).fill('pending'), 'succeeded']);
    await old.close();

    const upgraded = createPostgresStorage({ pool, schema: fresh });
    await upgraded.migrate();
    expect((await pool.query(`SELECT max(version)::int AS v FROM ${S}.schema_migrations`)).rows[0]?.v).toBe(POSTGRES_MIGRATIONS.at(-1)?.version);
    const configured = (await pool.query(`SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proconfig IS NOT NULL ORDER BY 1`, [fresh])).rows;
    expect(configured.map((row) => row.proname)).toEqual(expect.arrayContaining(['claim_core_v2', 'claim_deliveries_v2', 'enqueue_messages', 'finish_and_claim_v3', 'finish_attempts', 'finish_attempts_v2']));
    for (const row of configured) expect(row.proconfig).toEqual(['plan_cache_mode=force_generic_plan']);
    // Every delivery keeps its state.
    expect((await upgraded.listDeliveries({ limit: 100 })).items).toEqual([...before.values()]);
    expect(await upgraded.stats?.(T0 + 300)).toMatchObject({ inFlight: 5 });

    // After 'gone's leases expired: the live endpoint's 4 waiting deliveries and 2 expired leases;
    // not 'keep's live leases, nothing of the disabled endpoint.
    const now = T0 + 2_000;
    const claimed = await upgraded.claimDeliveries({ owner: 'new', now, leaseMs: 60_000, limit: 20, perEndpointConcurrency: 10 });
    expect(claimed.map((item) => item.delivery.id).sort()).toEqual(liveIds.filter((id) => !keptLive.some((item) => item.delivery.id === id)).sort());
    // The expired lease is lost to its old owner; a live one of 'keep' finishes normally.
    expect((await outcome(upgraded, goneLive[0] as (typeof gone)[number], 'gone', now + 1, 'succeeded')).applied).toBe(false);
    expect((await outcome(upgraded, keptParked[1] as (typeof kept)[number], 'keep', now + 1, 'succeeded')).applied).toBe(true);
    // Enabled again: every unfinished delivery of the parked endpoint is claimed (the retrying one at once, 'gone's expired ones too).
    await upgraded.updateEndpoint(parked.id, { enabled: true, disabledReason: null }, now + 10);
    const resumed = await upgraded.claimDeliveries({ owner: 'new', now: now + 10, leaseMs: 60_000, limit: 20, perEndpointConcurrency: 10 });
    expect(resumed.map((item) => item.delivery.id).sort()).toEqual(parkedIds.filter((id) => id !== keptParked[1]?.delivery.id).sort());
    // The failed one comes back through a retry.
    expect((await upgraded.retryDelivery(keptLive[1]?.delivery.id as string, now + 20))?.status).toBe('pending');
    expect((await upgraded.claimDeliveries({ owner: 'new', now: now + 20, leaseMs: 60_000, limit: 20, perEndpointConcurrency: 20 })).map((item) => item.delivery.id)).toEqual([keptLive[1]?.delivery.id]);
    await upgraded.close();
  });

  it('migrates a version 7 schema to 8 (results as columns): deliveries keep their state, the previous release’s functions keep working beside the new ones, and every result equals the stored rows', async () => {
    // A version 7 process at work: its queue functions, and the storage (not migrating) for the rest.
    const { fresh, S, old, legacy, live, parked, liveIds, parkedIds, kept, gone, keptLive, keptParked, goneLive } = await previousReleaseAtWork(7);
    // Succeeded, failed for good, retrying later (through finish_and_claim_v3 and finish_attempts_v2); the second endpoint then disabled.
    expect((await legacy.finishAndClaim([keptLive[0] as (typeof kept)[number]], 'keep', T0 + 200, { owner: 'keep', now: T0 + 200, leaseMs: 600_000, limit: 0, perEndpointConcurrency: 2 })).applied).toEqual([true]);
    expect(await legacy.finish([keptLive[1] as (typeof kept)[number]], 'keep', T0 + 200, 'failed')).toEqual([true]);
    expect(await legacy.finish([keptParked[0] as (typeof kept)[number]], 'keep', T0 + 200, 'retry', T0 + 500_000)).toEqual([true]);
    await old.updateEndpoint(live.id, { consecutiveFailures: 0 }, T0 + 201);
    await old.updateEndpoint(parked.id, { enabled: false, disabledReason: 'manual', consecutiveFailures: 0 }, T0 + 201);
    const before = (await old.listDeliveries({ limit: 100 })).items;
    expect(before.map((delivery) => delivery.status).sort()).toEqual(['failed', ...Array(5).fill('in_flight'), ...Array(9).fill('pending'), 'succeeded']);
    await old.close();

    const upgraded = createPostgresStorage({ pool, schema: fresh });
    await upgraded.migrate();
    expect((await pool.query(`SELECT max(version)::int AS v FROM ${S}.schema_migrations`)).rows[0]?.v).toBe(8);
    const configured = (await pool.query(`SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proconfig IS NOT NULL ORDER BY 1`, [fresh])).rows;
    expect(configured.map((row) => row.proname)).toEqual(expect.arrayContaining(['claim_core_v3', 'claim_deliveries_v3', 'finish_and_claim_v4', 'finish_attempts_v3']));
    for (const row of configured) expect(row.proconfig).toEqual(['plan_cache_mode=force_generic_plan']);
    expect((await upgraded.listDeliveries({ limit: 100 })).items).toEqual(before);

    // The live endpoint's 4 waiting deliveries and 'gone's 2 expired leases, each as stored.
    const now = T0 + 2_000;
    const claimed = await upgraded.claimDeliveries({ owner: 'new', now, leaseMs: 60_000, limit: 20, perEndpointConcurrency: 10 });
    expect(claimed.map((item) => item.delivery.id).sort()).toEqual(liveIds.filter((id) => !keptLive.some((item) => item.delivery.id === id)).sort());
    for (const item of claimed) expect(item.delivery).toEqual(await upgraded.getDelivery(item.delivery.id));
    // The version 7 process, not upgraded yet: its late attempt is refused, its live lease finishes, and its finish-and-claim finds nothing leased by the new one.
    expect(await legacy.finish([goneLive[0] as (typeof gone)[number]], 'gone', now + 1, 'succeeded')).toEqual([false]);
    expect(await legacy.finishAndClaim([keptParked[1] as (typeof kept)[number]], 'keep', now + 1, { owner: 'keep', now: now + 1, leaseMs: 60_000, limit: 10, perEndpointConcurrency: 10 })).toEqual({ applied: [true], claimed: [] });
    // The new functions: successes (applied), a failure (the ordered path), a lost lease; each result as stored.
    const input = (item: (typeof claimed)[number], owner: string, success: boolean) => ({
      deliveryId: item.delivery.id,
      owner,
      attempt: { deliveryId: item.delivery.id, messageId: item.delivery.messageId, endpointId: item.delivery.endpointId, number: 1, startedAt: now + 5, durationMs: 2, statusCode: success ? 200 : 500, responseHeaders: { 'x-n': '1' }, responseBody: success ? 'ok' : null, errorCode: success ? null : 'http_500', success },
      next: success ? { status: 'succeeded' as const, nextAttemptAt: null } : { status: 'pending' as const, nextAttemptAt: now + 60_000 },
      endpoint: { success },
      now: now + 6,
    });
    const round = await upgraded.finishAttemptsAndClaim([input(claimed[0] as (typeof claimed)[number], 'new', true), input(claimed[1] as (typeof claimed)[number], 'gone', true)], { owner: 'new', now: now + 6, leaseMs: 60_000, limit: 10, perEndpointConcurrency: 10 });
    expect(round.results.map((result) => result.applied)).toEqual([true, false]);
    expect(round.claimed).toEqual([]);
    const failure = await upgraded.finishAttempts([input(claimed[2] as (typeof claimed)[number], 'new', false), input(claimed[3] as (typeof claimed)[number], 'new', true)]);
    expect(failure.map((result) => [result.applied, result.previousFailures])).toEqual([[true, 0], [true, 1]]);
    for (const [index, result] of [...round.results, ...failure].entries()) {
      expect(result.delivery).toEqual(await upgraded.getDelivery(claimed[index]?.delivery.id as string));
    }
    expect(failure[1]?.endpoint).toEqual(await upgraded.getEndpoint(live.id));
    // Enabled again: the previous release claims the parked endpoint's deliveries (the retrying one too); the new one then finds none of them.
    await upgraded.updateEndpoint(parked.id, { enabled: true, disabledReason: null }, now + 10);
    const resumed = await legacy.claim({ owner: 'keep', now: now + 10, leaseMs: 60_000, limit: 20, perEndpointConcurrency: 10 });
    expect(resumed.map((item) => item.delivery.id).sort()).toEqual(parkedIds.filter((id) => id !== keptParked[1]?.delivery.id).sort());
    expect(await upgraded.claimDeliveries({ owner: 'new', now: now + 10, leaseMs: 60_000, limit: 20, perEndpointConcurrency: 10 })).toEqual([]);
    // Attempts are logged with the message id their input gave.
    const logged = (await upgraded.listAttempts({ limit: 100, deliveryId: claimed[1]?.delivery.id })).items.filter((attempt) => attempt.startedAt === now + 5);
    expect(logged.map((attempt) => [attempt.messageId, attempt.success, attempt.responseHeaders])).toEqual([[claimed[1]?.delivery.messageId, true, { 'x-n': '1' }]]);
    await upgraded.close();
  });

  it('migrates a version 4 schema with waiting, leased and finished deliveries to version 5 (index diet)', async () => {
    const fresh = randomSchema('hooks_pgm');
    schemas.push(fresh);
    const S = `"${fresh}"`;
    const own = createPostgresStorage({ pool, schema: fresh });
    await own.migrate();
    // Back to version 4's indexes, as a database of the previous release has them.
    await pool.query(`CREATE INDEX deliveries_endpoint ON ${S}.deliveries (endpoint_id, seq); CREATE INDEX attempts_message ON ${S}.attempts (message_id);
      DROP INDEX ${S}.deliveries_endpoint_done; DELETE FROM ${S}.schema_migrations WHERE version = 5`);
    const target = await addEndpoint(own);
    for (let index = 0; index < 6; index++) await own.enqueueMessage({ message: message(), now: T0 });
    const claimed = await own.claimDeliveries({ owner: 'w', now: T0, leaseMs: 60_000, limit: 4, perEndpointConcurrency: 10 });
    expect(claimed).toHaveLength(4);
    await own.finishAttempts(
      claimed.slice(0, 2).map(({ delivery }) => ({
        deliveryId: delivery.id,
        owner: 'w',
        attempt: { deliveryId: delivery.id, messageId: delivery.messageId, endpointId: target.id, number: 1, startedAt: T0, durationMs: 1, statusCode: 200, responseHeaders: {}, responseBody: 'ok', errorCode: null, success: true },
        next: { status: 'succeeded', nextAttemptAt: null },
        endpoint: { success: true },
        now: T0,
      })),
    );
    const before = (await own.listDeliveries({ endpointId: target.id, limit: 100 })).items.map((delivery) => [delivery.id, delivery.status]);
    expect(before.map(([, status]) => status).sort()).toEqual(['in_flight', 'in_flight', 'pending', 'pending', 'succeeded', 'succeeded']);
    await own.close();
    const upgraded = createPostgresStorage({ pool, schema: fresh });
    await upgraded.migrate();
    const indexes = (await pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [fresh])).rows.map((row) => row.indexname);
    expect(indexes).toContain('deliveries_endpoint_done');
    expect(indexes).not.toContain('deliveries_endpoint');
    expect(indexes).not.toContain('attempts_message');
    expect((await upgraded.listDeliveries({ endpointId: target.id, limit: 100 })).items.map((delivery) => [delivery.id, delivery.status])).toEqual(before);
    expect((await upgraded.listAttempts({ messageId: claimed[1]?.delivery.messageId as string, limit: 10 })).items).toHaveLength(1);
    // The waiting ones are still claimed after the upgrade.
    expect(await upgraded.claimDeliveries({ owner: 'w2', now: T0 + 1, leaseMs: 60_000, limit: 10, perEndpointConcurrency: 10 })).toHaveLength(2);
    await upgraded.close();
  });

  it('creates and ends its own pool from a connection string', async () => {
    const own = createPostgresStorage({ connectionString: DATABASE_URL, schema, migrate: false, poolSize: 2 });
    expect(await own.getEndpoint('ep_none')).toBeUndefined();
    await own.close();
    await expect(own.getEndpoint('ep_none')).rejects.toMatchObject({ code: 'storage_error' });
  });
});

describe('postgres transactional outbox', () => {
  it('writes inside the host transaction: rollback leaves nothing, commit makes it claimable', async () => {
    await reset();
    await addEndpoint();
    await pool.query(`CREATE TABLE IF NOT EXISTS "${schema}".orders (id text PRIMARY KEY)`);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${schema}".orders (id) VALUES ('order-rolled-back')`);
      const rolledBack = await storage.enqueueMessage({ message: message(), now: T0 }, { transaction: client });
      expect(rolledBack.deliveries).toHaveLength(1);
      // Not visible outside the open transaction.
      expect(await storage.getMessage(rolledBack.message.id)).toBeUndefined();
      await client.query('ROLLBACK');
      expect(await storage.getMessage(rolledBack.message.id)).toBeUndefined();
      expect(await storage.claimDeliveries({ owner: 'w', now: T0, leaseMs: 1000, limit: 10, perEndpointConcurrency: 10 })).toEqual([]);

      await client.query('BEGIN');
      await client.query(`INSERT INTO "${schema}".orders (id) VALUES ('order-committed')`);
      const committed = await storage.enqueueMessage({ message: message(), now: T0 }, { transaction: client });
      await client.query('COMMIT');
      expect(await storage.getMessage(committed.message.id)).toMatchObject({ id: committed.message.id });
      const claimed = await storage.claimDeliveries({ owner: 'w', now: T0, leaseMs: 1000, limit: 10, perEndpointConcurrency: 10 });
      expect(claimed.map((item) => item.message.id)).toEqual([committed.message.id]);
    } finally {
      client.release();
    }
  });

  it('keeps the host transaction usable after a failed write, and refuses a client outside a transaction', async () => {
    await reset();
    await addEndpoint();
    const first = await storage.enqueueMessage({ message: message(), now: T0 });
    const client = await pool.connect();
    try {
      await expect(storage.enqueueMessage({ message: message(), now: T0 }, { transaction: client })).rejects.toMatchObject({ code: 'invalid_option' });
      await client.query('BEGIN');
      await expect(storage.enqueueMessage({ message: { ...first.message }, now: T0 }, { transaction: client })).rejects.toMatchObject({ code: 'conflict' });
      // The savepoint was rolled back, not the host's transaction.
      const next = await storage.enqueueMessage({ message: message(), now: T0 }, { transaction: client });
      await client.query('COMMIT');
      expect(await storage.getMessage(next.message.id)).toBeDefined();
    } finally {
      client.release();
    }
  });

  it('delivers a committed outbox message through the sender and never a rolled-back one', async () => {
    await reset();
    const receiver = await startReceiver();
    const sender = createSender({ catalog: broadcastEvents, storage, urlPolicy: { allowHttp: true, allow: ['loopback'] } });
    const client = await pool.connect();
    try {
      await sender.endpoints.create({ tenant: 'outbox', url: receiver.url });
      const outbox = (id: string) => message({ id, tenant: 'outbox', createdAt: Date.now(), payload: JSON.stringify(broadcastEvents.definitions['registrant.created']?.example) });
      await client.query('BEGIN');
      await storage.enqueueMessage({ message: outbox('msg_rolled_back'), now: Date.now() }, { transaction: client });
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await storage.enqueueMessage({ message: outbox('msg_committed'), now: Date.now() }, { transaction: client });
      await client.query('COMMIT');
      await sender.drain();
      expect(receiver.requests.map((request) => request.id)).toEqual(['msg_committed']);
      expect((await sender.deliveries.list({ messageId: 'msg_committed' })).items[0]?.status).toBe('succeeded');
    } finally {
      client.release();
      await sender.stop();
      await receiver.close();
    }
  });
});

describe('postgres LISTEN/NOTIFY', () => {
  it('wakes subscribers in other sessions when work is committed, and never for a rollback', async () => {
    await reset();
    const otherPool = createTestPool(2);
    const other = createPostgresStorage({ pool: otherPool, schema, migrate: false });
    // A raw LISTEN sees the payloads (message ids) and their order.
    const raw = new pg.Client({ connectionString: DATABASE_URL });
    const payloads: string[] = [];
    try {
      let wakes = 0;
      const unsubscribe = other.subscribe(() => {
        wakes++;
      });
      await raw.connect();
      raw.on('notification', (notification) => payloads.push(notification.payload ?? ''));
      await raw.query(`LISTEN "hooks_sender_${schema}"`);
      await waitFor(() => wakes >= 1, 'the subscription to start');
      const before = wakes;
      await addEndpoint();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await storage.enqueueMessage({ message: message({ id: 'msg_never' }), now: T0 }, { transaction: client });
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      await storage.enqueueMessage({ message: message({ id: 'msg_sent' }), now: T0 });
      await waitFor(() => wakes > before && payloads.length > 0, 'a notification');
      expect(payloads).toEqual(['msg_sent']);
      unsubscribe();
      await storage.enqueueMessage({ message: message({ id: 'msg_after' }), now: T0 });
      await waitFor(() => payloads.length > 1, 'the raw listener');
      const afterUnsubscribe = wakes;
      await storage.enqueueMessage({ message: message({ id: 'msg_after_2' }), now: T0 });
      await waitFor(() => payloads.length > 2, 'the raw listener');
      expect(wakes).toBe(afterUnsubscribe);
    } finally {
      await raw.end();
      await other.close();
      await otherPool.end();
    }
  });
});

describe('postgres claims across sessions', () => {
  it('keeps the per-endpoint concurrency limit with claimers on separate connections', async () => {
    await reset();
    const pools = Array.from({ length: 3 }, () => createTestPool(3));
    const claimers = pools.map((own) => createPostgresStorage({ pool: own, schema, migrate: false }));
    try {
      const endpoints = [await addEndpoint(), await addEndpoint()];
      for (let index = 0; index < 20; index++) await storage.enqueueMessage({ message: message(), now: T0 });
      const LIMIT = 3;
      let highest = 0;
      let done = 0;
      for (let round = 0; round < 40 && done < 40; round++) {
        const results = await Promise.all(
          claimers.flatMap((claimer, index) => [0, 1].map((half) => claimer.claimDeliveries({ owner: `w${index}-${half}`, now: T0 + round, leaseMs: 60_000, limit: 4, perEndpointConcurrency: LIMIT }))),
        );
        const { rows } = await pool.query(`SELECT endpoint_id, count(*)::int AS n FROM "${schema}".deliveries WHERE status = 'in_flight' GROUP BY endpoint_id`);
        for (const row of rows) highest = Math.max(highest, row.n as number);
        expect(rows.every((row) => (row.n as number) <= LIMIT)).toBe(true);
        const claimed = results.flat();
        // Finish half of them, so the next round has room on some endpoints only.
        for (const item of claimed.slice(0, Math.ceil(claimed.length / 2))) {
          await success(item, item.delivery.leaseOwner as string, T0 + round);
          done++;
        }
      }
      expect(highest).toBe(LIMIT);
      expect(endpoints).toHaveLength(2);
    } finally {
      await Promise.all(claimers.map((claimer) => claimer.close()));
      await Promise.all(pools.map((own) => own.end()));
    }
  });

  it('holds the per-endpoint rate limit across processes: claimers on separate pools get one delivery per interval between them', async () => {
    await reset();
    const pools = Array.from({ length: 3 }, () => createTestPool(2));
    const claimers = pools.map((own) => createPostgresStorage({ pool: own, schema, migrate: false }));
    try {
      const limited = await addEndpoint(storage, { rateLimit: 10 });
      for (let index = 0; index < 30; index++) await storage.enqueueMessage({ message: message(), now: T0 });
      const claimedAt: number[] = [];
      // Every claimer tries every 25 ms of (injected) time for 1 s, and sends what it got at once:
      // 100 ms between requests is the limit.
      for (let now = T0; now < T0 + 1_000; now += 25) {
        const results = await Promise.all(claimers.map((claimer, index) => claimer.claimDeliveries({ owner: `w${index}`, now, leaseMs: 60_000, limit: 10, perEndpointConcurrency: 100 })));
        for (const item of results.flat()) {
          expect(item.endpoint.id).toBe(limited.id);
          claimedAt.push(now);
          await storage.finishAttempts([
            {
              deliveryId: item.delivery.id,
              owner: item.delivery.leaseOwner as string,
              attempt: { deliveryId: item.delivery.id, messageId: item.delivery.messageId, endpointId: limited.id, number: 1, startedAt: now, durationMs: 1, statusCode: 200, responseHeaders: {}, responseBody: 'ok', errorCode: null, success: true },
              next: { status: 'succeeded', nextAttemptAt: null },
              endpoint: { success: true },
              now,
            },
          ]);
        }
      }
      expect(claimedAt).toHaveLength(10);
      for (let index = 1; index < claimedAt.length; index++) expect((claimedAt[index] as number) - (claimedAt[index - 1] as number)).toBeGreaterThanOrEqual(100);
    } finally {
      await Promise.all(claimers.map((claimer) => claimer.close()));
      await Promise.all(pools.map((own) => own.end()));
    }
  });

  it('takes a disabled endpoint’s backlog out of the claim index, and puts it back when enabled', async () => {
    await reset();
    const down = await addEndpoint();
    for (let index = 0; index < 5; index++) await storage.enqueueMessage({ message: message(), now: T0 });
    const due = async () => (await pool.query(`SELECT count(*)::int AS n FROM "${schema}".deliveries WHERE endpoint_id = $1 AND due_at IS NOT NULL`, [down.id])).rows[0]?.n;
    expect(await due()).toBe(5);
    // Disabled by failures (finish) and by hand (update): both park the waiting deliveries.
    const [item] = await storage.claimDeliveries({ owner: 'w', now: T0, leaseMs: 60_000, limit: 1, perEndpointConcurrency: 10 });
    if (!item) throw new Error('nothing claimed');
    const [result] = await storage.finishAttempts([
      {
        deliveryId: item.delivery.id,
        owner: 'w',
        attempt: { deliveryId: item.delivery.id, messageId: item.delivery.messageId, endpointId: down.id, number: 1, startedAt: T0, durationMs: 1, statusCode: 500, responseHeaders: {}, responseBody: null, errorCode: 'http_500', success: false },
        next: { status: 'pending', nextAttemptAt: T0 + 12_000 },
        endpoint: { success: false, disableAfter: 1 },
        now: T0,
      },
    ]);
    expect(result?.disabled).toBe(true);
    expect(await due()).toBe(0);
    await storage.updateEndpoint(down.id, { enabled: true, disabledReason: null, consecutiveFailures: 0 }, T0 + 1);
    expect(await due()).toBe(5);
    expect((await storage.claimDeliveries({ owner: 'w', now: T0 + 1, leaseMs: 60_000, limit: 10, perEndpointConcurrency: 10 })).length).toBe(5);
    await storage.updateEndpoint(down.id, { enabled: false, disabledReason: 'manual' }, T0 + 2);
    // In-flight ones keep their lease; nothing pending is left in the index.
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".deliveries WHERE endpoint_id = $1 AND status = 'pending' AND due_at IS NOT NULL`, [down.id])).rows[0]?.n).toBe(0);
  });

  it('does not let the backlog of a disabled, full or waiting FIFO endpoint hide other work', async () => {
    await reset();
    const disabled = await addEndpoint(storage, { events: ['old.backlog'] });
    const fifo = await addEndpoint(storage, { events: ['fifo.backlog'], fifo: true });
    const healthy = await addEndpoint(storage, { events: ['fresh'] });
    for (let index = 0; index < 30; index++) await storage.enqueueMessage({ message: message({ type: 'old.backlog' }), now: T0 });
    for (let index = 0; index < 30; index++) await storage.enqueueMessage({ message: message({ type: 'fifo.backlog' }), now: T0 + 1 });
    await storage.updateEndpoint(disabled.id, { enabled: false, disabledReason: 'manual' }, T0);
    // The FIFO head fails and waits for its retry: the 29 behind it are due but must wait.
    const [head] = await storage.claimDeliveries({ owner: 'w', now: T0 + 2, leaseMs: 1000, limit: 1, perEndpointConcurrency: 5 });
    if (!head) throw new Error('nothing claimed');
    expect(head.endpoint.id).toBe(fifo.id);
    await storage.finishAttempt({
      deliveryId: head.delivery.id,
      owner: 'w',
      attempt: { deliveryId: head.delivery.id, messageId: head.message.id, endpointId: fifo.id, number: 1, startedAt: T0 + 2, durationMs: 1, statusCode: 500, responseHeaders: {}, responseBody: null, errorCode: 'http_500', success: false },
      next: { status: 'pending', nextAttemptAt: T0 + 100_000 },
      endpoint: { success: false },
      now: T0 + 2,
    });
    const fresh = await storage.enqueueMessage({ message: message({ type: 'fresh' }), now: T0 + 3 });
    const claimed = await storage.claimDeliveries({ owner: 'w', now: T0 + 10, leaseMs: 1000, limit: 2, perEndpointConcurrency: 5 });
    expect(claimed.map((item) => item.delivery.id)).toEqual([fresh.deliveries[0]?.id]);
    expect(claimed[0]?.endpoint.id).toBe(healthy.id);
  });
});

describe('postgres listings over the halves of an endpoint’s deliveries (migration 5)', () => {
  it('lists an endpoint’s open and finished deliveries together in seq order, page by page, by status, and with its waiting ones while disabled', async () => {
    await reset();
    const target = await addEndpoint();
    const other = await addEndpoint();
    const sent: string[] = [];
    for (let index = 0; index < 9; index++) {
      const result = await storage.enqueueMessage({ message: message(), now: T0 });
      sent.push(...result.deliveries.filter((delivery) => delivery.endpointId === target.id).map((delivery) => delivery.id));
    }
    // Finish every other one of the target's deliveries (succeeded), lease one more, leave the rest pending.
    const claimed = await storage.claimDeliveries({ owner: 'w', now: T0, leaseMs: 60_000, limit: 18, perEndpointConcurrency: 20 });
    const mine = claimed.filter((item) => item.delivery.endpointId === target.id).sort((a, b) => (a.delivery.id < b.delivery.id ? -1 : 1));
    expect(mine).toHaveLength(9);
    for (const [index, item] of mine.entries()) if (index % 2 === 0) await success(item, 'w');
    await storage.releaseDeliveries('w', { now: T0, ids: mine.filter((_, index) => index % 2 === 1 && index !== 7).map((item) => item.delivery.id) });
    const statusOf = async () => new Map((await storage.listDeliveries({ endpointId: target.id, limit: 100 })).items.map((delivery) => [delivery.id, delivery.status]));
    const all = await statusOf();
    expect([...all.keys()]).toEqual([...sent].reverse());
    expect([...all.values()].filter((status) => status === 'succeeded')).toHaveLength(5);
    expect([...all.values()].filter((status) => status === 'in_flight')).toHaveLength(1);
    expect([...all.values()].filter((status) => status === 'pending')).toHaveLength(3);
    // Pages of 2 across both halves: every delivery once, newest first.
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await storage.listDeliveries({ endpointId: target.id, limit: 2, cursor });
      paged.push(...page.items.map((delivery) => delivery.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(paged).toEqual([...sent].reverse());
    for (const status of ['succeeded', 'in_flight', 'pending', 'failed'] as const) {
      const listed = await storage.listDeliveries({ endpointId: target.id, status, limit: 100 });
      expect(listed.items.map((delivery) => delivery.id)).toEqual([...all].filter(([, value]) => value === status).map(([id]) => id));
      const withTenant = await storage.listDeliveries({ tenant: 'tenant_a', endpointId: target.id, status, limit: 100 });
      expect(withTenant.items.map((delivery) => delivery.id)).toEqual(listed.items.map((delivery) => delivery.id));
    }
    // Disabled: its pending deliveries leave the claim index and are still listed as pending.
    await storage.updateEndpoint(target.id, { enabled: false, disabledReason: 'manual' }, T0 + 1);
    const waiting = await storage.listDeliveries({ endpointId: target.id, status: 'pending', limit: 100 });
    expect(waiting.items).toHaveLength(3);
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".deliveries WHERE endpoint_id = $1 AND status = 'pending' AND due_at IS NULL`, [target.id])).rows[0]?.n).toBe(3);
    expect((await storage.listDeliveries({ endpointId: target.id, limit: 100 })).items.map((delivery) => delivery.id)).toEqual([...sent].reverse());
    // A message's attempts come through its deliveries; deleting the endpoint removes both halves.
    const first = mine[0] as (typeof mine)[number];
    const attempts = await storage.listAttempts({ messageId: first.delivery.messageId, limit: 10 });
    expect(attempts.items.map((attempt) => attempt.deliveryId)).toEqual([first.delivery.id]);
    expect(await storage.deleteEndpoint(target.id)).toBe(true);
    expect((await storage.listDeliveries({ endpointId: target.id, limit: 100 })).items).toEqual([]);
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".deliveries WHERE endpoint_id = $1`, [target.id])).rows[0]?.n).toBe(0);
    expect((await storage.listDeliveries({ endpointId: other.id, limit: 100 })).items).toHaveLength(9);
  });
});

describe('postgres claims return each endpoint and message once (migration 6)', () => {
  it('gives every delivery of a claim across endpoints with rotated secrets its own endpoint, secrets and message, as unshared records', async () => {
    await reset();
    const endpoints = [await addEndpoint(), await addEndpoint(), await addEndpoint(storage, { headers: { 'x-team': 'c' }, metadata: { team: 'c' } })];
    // Two rotations each: three secrets, the oldest expired by the claim's time (not returned).
    for (const [index, target] of endpoints.entries()) {
      await storage.rotateSecret({ endpointId: target.id, secret: `whsec_second_${index}`, previousExpiresAt: T0 + 5, now: T0 });
      await storage.rotateSecret({ endpointId: target.id, secret: `whsec_third_${index}`, previousExpiresAt: T0 + 60_000, now: T0 + 1 });
    }
    const sent: StoredMessage[] = [];
    for (let index = 0; index < 6; index++) {
      const sentMessage = message({ payload: JSON.stringify({ n: index, text: `"quoted" ${index} \\ ü` }) });
      sent.push(sentMessage);
      await storage.enqueueMessage({ message: sentMessage, now: T0 + index });
    }
    const expectedSecrets = (index: number) => [
      { secret: `whsec_third_${index}`, createdAt: T0 + 1, expiresAt: null },
      { secret: `whsec_second_${index}`, createdAt: T0, expiresAt: T0 + 60_000 },
    ];
    const check = (claimed: Awaited<ReturnType<PostgresStorage['claimDeliveries']>>) => {
      for (const item of claimed) {
        const index = endpoints.findIndex((target) => target.id === item.delivery.endpointId);
        expect(index).toBeGreaterThanOrEqual(0);
        expect(item.endpoint).toEqual({ ...endpoints[index], updatedAt: item.endpoint.updatedAt });
        expect(item.secrets).toEqual(expectedSecrets(index));
        expect(item.message).toEqual(sent.find((candidate) => candidate.id === item.delivery.messageId));
        expect(item.delivery.status).toBe('in_flight');
      }
      // Due order (oldest message first), and no record shared between two deliveries.
      expect(claimed.map((item) => item.delivery.retryBaseAt)).toEqual(claimed.map((item) => item.delivery.retryBaseAt).sort((a, b) => a - b));
      for (const [position, item] of claimed.entries()) {
        for (const other of claimed.slice(position + 1)) {
          expect(other.endpoint).not.toBe(item.endpoint);
          expect(other.endpoint.headers).not.toBe(item.endpoint.headers);
          expect(other.secrets).not.toBe(item.secrets);
          expect(other.message).not.toBe(item.message);
        }
      }
    };
    const first = await storage.claimDeliveries({ owner: 'w1', now: T0 + 10, leaseMs: 60_000, limit: 10, perEndpointConcurrency: 4 });
    expect(first).toHaveLength(10);
    check(first);
    expect(new Set(first.map((item) => item.delivery.endpointId)).size).toBe(3);
    // The rest through a finish that claims: 8 more, with the same guarantees.
    const { results, claimed: second } = await storage.finishAttemptsAndClaim(
      first.slice(0, 2).map(({ delivery }) => ({
        deliveryId: delivery.id,
        owner: 'w1',
        attempt: { deliveryId: delivery.id, messageId: delivery.messageId, endpointId: delivery.endpointId, number: 1, startedAt: T0 + 11, durationMs: 1, statusCode: 200, responseHeaders: {}, responseBody: 'ok', errorCode: null, success: true },
        next: { status: 'succeeded', nextAttemptAt: null },
        endpoint: { success: true },
        now: T0 + 11,
      })),
      { owner: 'w2', now: T0 + 11, leaseMs: 60_000, limit: 20, perEndpointConcurrency: 10 },
    );
    expect(results.map((result) => result.applied)).toEqual([true, true]);
    expect(second).toHaveLength(8);
    check(second);
    expect(new Set([...first, ...second].map((item) => item.delivery.id)).size).toBe(18);
  });

  it('keeps the functions of the previous version working for processes not yet upgraded', async () => {
    await reset();
    const target = await addEndpoint();
    for (let index = 0; index < 3; index++) await storage.enqueueMessage({ message: message(), now: T0 + index });
    const { rows } = await pool.query(`SELECT * FROM "${schema}".claim_deliveries('old', $1, $2, 10, 10)`, [T0 + 10, T0 + 60_010]);
    expect(rows).toHaveLength(3);
    expect(rows.map((row) => row.claimed_delivery.endpoint_id)).toEqual([target.id, target.id, target.id]);
    // The endpoint and its secrets on the first row only, as before.
    expect(rows.map((row) => row.claimed_endpoint?.id ?? null)).toEqual([target.id, null, null]);
    expect(rows[0]?.claimed_secrets).toEqual([{ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', created_at: T0, expires_at: null }]);
    expect(rows.every((row) => typeof row.claimed_message.payload === 'string')).toBe(true);
  });
});

describe('postgres retention', () => {
  it('prunes old finished messages with their deliveries and attempts in batches, keeping unfinished ones', async () => {
    await reset();
    await addEndpoint();
    await addEndpoint();
    const old = [];
    for (let index = 0; index < 5; index++) old.push(await storage.enqueueMessage({ message: message({ createdAt: T0 }), now: T0 }));
    const recent = await storage.enqueueMessage({ message: message({ createdAt: T0 + 10_000 }), now: T0 + 10_000 });
    // Finish every old delivery except one of the last message.
    const claimed = await storage.claimDeliveries({ owner: 'w', now: T0 + 20_000, leaseMs: 1000, limit: 100, perEndpointConcurrency: 100 });
    const unfinished = old[4]?.deliveries[0]?.id;
    for (const item of claimed) if (item.delivery.id !== unfinished) await success(item, 'w', T0 + 20_000);
    const result = await storage.prune({ olderThan: T0 + 5_000, batchSize: 2 });
    expect(result).toMatchObject({ messages: 4, deliveries: 8, attempts: 8 });
    expect(result.batches).toBeGreaterThanOrEqual(2);
    expect(await storage.getMessage(old[0]?.message.id as string)).toBeUndefined();
    expect(await storage.getMessage(old[4]?.message.id as string)).toBeDefined();
    expect(await storage.getMessage(recent.message.id)).toBeDefined();
    expect((await storage.listDeliveries({ limit: 100 })).items).toHaveLength(4);
    expect(await storage.prune({ olderThan: T0 + 5_000 })).toMatchObject({ messages: 0 });
    await expect(storage.prune({ olderThan: Number.NaN })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(storage.prune({ olderThan: T0, batchSize: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('postgres with the sender', () => {
  it('sendMany(inputs, { transaction }) writes every message inside the host transaction, with one statement', async () => {
    await reset();
    const sender = createSender({ catalog: broadcastEvents, storage, urlPolicy: { allowHttp: true, allow: ['loopback'] }, logger: silentLogger });
    const data = broadcastEvents.definitions['registrant.created']?.example as never;
    const client = await pool.connect();
    try {
      await sender.endpoints.create({ tenant: 'outbox', url: 'http://127.0.0.1:9/hooks' });
      await client.query('BEGIN');
      const rolledBack = await sender.sendMany([{ tenant: 'outbox', type: 'registrant.created', data }, { tenant: 'outbox', type: 'registrant.created', data }], { transaction: client });
      await client.query('ROLLBACK');
      expect(rolledBack.map((result) => result.deliveryCount)).toEqual([1, 1]);
      await client.query('BEGIN');
      const committed = await sender.sendMany([{ tenant: 'outbox', type: 'registrant.created', data }, { tenant: 'outbox', type: 'registrant.created', data }], { transaction: client });
      await client.query('COMMIT');
      const stored = (await sender.messages.list({ limit: 10 })).items.map((item) => item.id).sort();
      expect(stored).toEqual(committed.map((result) => result.messageId).sort());
      await expect(sender.sendMany([{ tenant: 'outbox', type: 'registrant.created', data }], { transaction: {} })).rejects.toMatchObject({ code: 'invalid_option' });
    } finally {
      client.release();
      await sender.close();
    }
  });

  it('commits a group of concurrent sends once, and a batch of attempt results once', async () => {
    await reset();
    const database = `test_commits_${counter++}`;
    // Commits are counted in a database of this test's own, so nothing else running on the server counts.
    await pool.query(`DROP DATABASE IF EXISTS ${database}`);
    await pool.query(`CREATE DATABASE ${database}`);
    const url = new URL(DATABASE_URL);
    url.pathname = `/${database}`;
    const own = new pg.Pool({ connectionString: url.toString(), max: 4 });
    own.on('error', () => {});
    const isolated = createPostgresStorage({ pool: own, schema: 'hooks' });
    const receiver = await startReceiver();
    const sender = createSender({ catalog: broadcastEvents, storage: isolated, urlPolicy: { allowHttp: true, allow: ['loopback'] }, logger: silentLogger, dispatcher: { concurrency: 40, batchSize: 40 } });
    const commits = async () => {
      // Statistics of the other sessions arrive within a second, or when they end.
      const { rows } = await pool.query('SELECT pg_stat_clear_snapshot(), xact_commit::int AS n FROM pg_stat_database WHERE datname = $1', [database]);
      return rows[0]?.n as number;
    };
    try {
      for (let index = 0; index < 4; index++) await sender.endpoints.create({ tenant: 'acme', url: `${receiver.url}/${index}` });
      const data = broadcastEvents.definitions['registrant.created']?.example as never;
      await Promise.all(Array.from({ length: 10 }, () => sender.send({ tenant: 'acme', type: 'registrant.created', data })));
      await sender.drain();
      expect(receiver.requests).toHaveLength(40);
      expect((await sender.attempts.list({ limit: 100 })).items).toHaveLength(40);
      await sender.close();
      await isolated.close();
      await own.end();
      // Every session of that database gone (their statistics are flushed as they end), and two
      // readings agree.
      await waitFor(async () => (await pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [database])).rows[0]?.n === 0, 'the sessions to end');
      let total = -1;
      await waitFor(async () => {
        const previous = total;
        total = await commits();
        return total > 0 && total === previous;
      }, 'settled statistics');
      // Setup (migration, 4 endpoints) and reads aside, 40 deliveries took a handful of
      // commits: one for the 10 sends, a claim or two, a few attempt batches. One transaction
      // per send and per attempt would be 50 or more.
      expect(total).toBeLessThan(40);
    } finally {
      await receiver.close();
      await own.end().catch(() => {});
      await pool.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    }
  });

  it('sends through send(input, { transaction }): a rollback sends nothing, a commit is delivered', async () => {
    await reset();
    const receiver = await startReceiver();
    const sender = createSender({ catalog: broadcastEvents, storage, urlPolicy: { allowHttp: true, allow: ['loopback'] } });
    const data = broadcastEvents.definitions['registrant.created']?.example as never;
    const client = await pool.connect();
    try {
      await sender.endpoints.create({ tenant: 'outbox', url: receiver.url });
      await client.query('BEGIN');
      const rolledBack = await sender.send({ tenant: 'outbox', type: 'registrant.created', data }, { transaction: client });
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      const committed = await sender.send({ tenant: 'outbox', type: 'registrant.created', data }, { transaction: client });
      await client.query('COMMIT');
      expect(rolledBack.deliveryCount).toBe(1);
      await sender.drain();
      expect(receiver.requests.map((request) => request.id)).toEqual([committed.messageId]);
      await expect(sender.messages.get(rolledBack.messageId)).rejects.toMatchObject({ code: 'message_not_found' });
    } finally {
      client.release();
      await sender.close();
      await receiver.close();
    }
  });

  it('refuses send({ transaction }) on storage that cannot write inside it', async () => {
    const sender = createSender({ catalog: broadcastEvents, storage: 'memory', logger: silentLogger });
    const client = await pool.connect();
    try {
      await sender.endpoints.create({ tenant: 'memory', url: 'https://example.com/hooks' });
      const data = broadcastEvents.definitions['registrant.created']?.example as never;
      await expect(sender.send({ tenant: 'memory', type: 'registrant.created', data }, { transaction: client })).rejects.toMatchObject({ code: 'invalid_option' });
      expect((await sender.messages.list()).items).toEqual([]);
    } finally {
      client.release();
      await sender.close();
    }
  });

  it('wakes a started dispatcher when another session sends (NOTIFY), with polling out of the picture', async () => {
    await reset();
    const receiver = await startReceiver();
    const otherPool = createTestPool(3);
    const dispatching = createPostgresStorage({ pool: otherPool, schema, migrate: false });
    // Polls once at start, then not for an hour: only a wake-up can deliver what is sent later.
    const worker = createSender({ catalog: broadcastEvents, storage: dispatching, urlPolicy: { allowHttp: true, allow: ['loopback'] }, dispatcher: { pollIntervalMs: 3_600_000 } });
    const producer = createSender({ catalog: broadcastEvents, storage, urlPolicy: { allowHttp: true, allow: ['loopback'] } });
    const data = broadcastEvents.definitions['registrant.created']?.example as never;
    try {
      await producer.endpoints.create({ tenant: 'wake', url: receiver.url });
      worker.start();
      const first = await producer.send({ tenant: 'wake', type: 'registrant.created', data });
      // Delivered either by the wake-up that follows LISTEN or by a NOTIFY: the subscription is live.
      await waitFor(() => receiver.requests.length === 1, 'the first delivery');
      const second = await producer.send({ tenant: 'wake', type: 'registrant.created', data });
      await waitFor(() => receiver.requests.length === 2, 'the second delivery, woken by NOTIFY');
      expect(receiver.requests.map((request) => request.id)).toEqual([first.messageId, second.messageId]);
    } finally {
      await worker.close();
      await producer.close();
      await dispatching.close();
      await otherPool.end();
      await receiver.close();
    }
  });
});
