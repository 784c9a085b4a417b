// Storage.stats must stay cheap beside a huge backlog: its counts read a bounded number of
// partial-index entries and never the deliveries table. Checked on the query plans of real
// databases filled with 30,000 waiting deliveries (no timings: the machine is shared).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresStorage, postgresStatsQuery } from '../src/storage/postgres';
import { createSqliteStorage } from '../src/storage/sqlite';
import { SQLITE_STATS_QUERY } from '../src/storage/sqlite/statements';
import { createTestPool, dropSchemas, randomSchema } from './cluster-support';

const WAITING = 30_000;
const LEASED = 20;
const NOW = 1_800_000_000_000;
const ENDPOINT = { name: null, description: null, events: [], headers: {}, profile: 'standard' as const, metadata: {}, enabled: true, disabledReason: null, rateLimit: null, fifo: false, createdAt: NOW };
const SECRET = { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: NOW, expiresAt: null };

describe('stats on SQLite', () => {
  const directory = mkdtempSync(join(tmpdir(), 'hooks-stats-plan-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('reads only the claim and in-flight indexes (covering), never the table', async () => {
    const filename = join(directory, 'plan.db');
    const storage = createSqliteStorage({ filename });
    await storage.createEndpoint({ ...ENDPOINT, id: 'ep_down', tenant: 'down', url: 'https://down.example/' }, SECRET);
    await storage.close();
    const db = new Database(filename);
    try {
      db.prepare(`INSERT INTO messages (id, tenant, type, payload, idempotency_key, created_at) VALUES ('msg_backlog', 'down', 't', '{}', NULL, ?)`).run(NOW);
      // Retries spread over the next day, the first hour of them already due.
      db.prepare(`WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < @n - 1)
        INSERT INTO deliveries (id, message_id, endpoint_id, tenant, type, status, attempts, next_attempt_at, retry_base_attempts, retry_base_at, due_at, created_at, updated_at)
        SELECT 'dlv_' || i, 'msg_backlog', 'ep_down', 'down', 't', 'pending', 4, @now - 3600000 + i * 86400000 / @n, 0, @now, @now - 3600000 + i * 86400000 / @n, @now, @now FROM s`).run({ n: WAITING, now: NOW });
      db.prepare(`UPDATE deliveries SET status = 'in_flight', lease_owner = 'w', lease_until = @until, due_at = @until WHERE seq <= @leased`).run({ until: NOW + 60_000, leased: LEASED });
      db.exec('ANALYZE');
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${SQLITE_STATS_QUERY}`).all({ now: NOW, limit: 1_000 }) as Array<{ detail: string }>).map((row) => row.detail);
      const reads = plan.filter((detail) => /\bdeliveries\b/.test(detail));
      expect(reads.length).toBeGreaterThanOrEqual(4);
      for (const detail of reads) expect(detail).toMatch(/USING COVERING INDEX (deliveries_due|deliveries_in_flight)\b/);
      // And the figures, capped, and in full (1,251 due: the first hour and the one due exactly now).
      const storageAgain = createSqliteStorage({ filename });
      expect(await storageAgain.stats?.(NOW, { limit: 1_000 })).toEqual({ due: 1_000, scheduled: 1_000, inFlight: LEASED, oldestDueAt: NOW - 3_600_000 + 86_400_000 * LEASED / WAITING });
      expect(await storageAgain.stats?.(NOW, { limit: 1_000_000 })).toMatchObject({ due: 1_251 - LEASED, scheduled: WAITING - 1_251, inFlight: LEASED });
      await storageAgain.close();
    } finally {
      db.close();
    }
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe('stats on PostgreSQL', () => {
  const pool = createTestPool(2);
  const schema = randomSchema('hooks_stats_plan');
  afterAll(async () => {
    await dropSchemas(pool, [schema]);
    await pool.end();
  });

  it('uses index-only scans of the partial indexes and reads at most the limit (plus the leased ones) per count', async () => {
    const storage = createPostgresStorage({ pool, schema });
    await storage.createEndpoint({ ...ENDPOINT, id: 'ep_down', tenant: 'down', url: 'https://down.example/' }, SECRET);
    const S = `"${schema}"`;
    await pool.query(`INSERT INTO ${S}.messages (id, tenant, type, payload, idempotency_key, created_at) VALUES ('msg_backlog', 'down', 't', '{}', NULL, $1)`, [NOW]);
    await pool.query(
      `INSERT INTO ${S}.deliveries (id, message_id, endpoint_id, tenant, type, status, attempts, next_attempt_at, retry_base_attempts, retry_base_at, due_at, created_at, updated_at)
       SELECT 'dlv_' || i, 'msg_backlog', 'ep_down', 'down', 't', 'pending', 4, t, 0, $1, t, $1, $1
       FROM generate_series(0, $2::bigint - 1) AS i, LATERAL (SELECT $1::bigint - 3600000 + i * 86400000 / $2::bigint) AS due(t)`,
      [NOW, WAITING],
    );
    await pool.query(`UPDATE ${S}.deliveries SET status = 'in_flight', lease_owner = 'w', lease_until = $1::bigint, due_at = $1::bigint WHERE seq <= $2`, [NOW + 60_000, LEASED]);
    await pool.query(`VACUUM (ANALYZE) ${S}.deliveries`);

    const { rows } = await pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${postgresStatsQuery(S)}`, [NOW, 1_000]);
    const all = nodes((rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0]?.Plan as PlanNode);
    const scans = all.filter((node) => node['Relation Name'] === 'deliveries');
    expect(scans.length).toBeGreaterThanOrEqual(4);
    for (const scan of scans) {
      expect(scan['Node Type']).toBe('Index Only Scan');
      expect(['deliveries_due', 'deliveries_in_flight']).toContain(scan['Index Name']);
      // Bounded work: the 30,000 waiting deliveries are never all read.
      expect(scan['Actual Rows']).toBeLessThanOrEqual(1_000 + LEASED);
    }
    expect(await storage.stats?.(NOW, { limit: 1_000 })).toEqual({ due: 1_000, scheduled: 1_000, inFlight: LEASED, oldestDueAt: NOW - 3_600_000 + 86_400_000 * LEASED / WAITING });
    expect(await storage.stats?.(NOW, { limit: 1_000_000 })).toMatchObject({ due: 1_251 - LEASED, scheduled: WAITING - 1_251, inFlight: LEASED });
    await storage.close();
  });
});
