import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '@hooks/core';
import { type Storage, createPostgresStorage, createSender, createSqliteStorage } from '@hooks/sender';
import { afterAll, describe, expect, test } from 'vitest';
import catalog from './fixtures/events.mjs';
import { DATABASE_URL, createTestPool, randomSchema, runCli, startHeldServer, temporaryDirectory } from './support';

const folder = temporaryDirectory();
const pool = createTestPool();
const schemas: string[] = [];
afterAll(async () => {
  folder.remove();
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

const DAY = 86_400_000;

/**
 * Five messages delivered 40 days ago, one from 40 days ago still being retried (its endpoint
 * answers 500), and two delivered today.
 */
async function seedRetention(storage: Storage): Promise<{ recent: string[]; retrying: string }> {
  const ok = await startHeldServer();
  const failing = await startHeldServer();
  ok.release(200);
  failing.release(500);
  let clock = Date.now() - 40 * DAY;
  const sender = createSender({ catalog, storage, now: () => clock, retry: { jitter: 0 }, urlPolicy: { allowHttp: true, allow: ['loopback'] }, logger: silentLogger });
  try {
    await sender.endpoints.create({ tenant: 'old', url: ok.url });
    await sender.endpoints.create({ tenant: 'flaky', url: failing.url });
    for (let index = 0; index < 5; index++) await sender.send({ tenant: 'old', type: 'session.ended', data: { sessionId: `old_${index}`, attendees: index } });
    const { messageId: retrying } = await sender.send({ tenant: 'flaky', type: 'session.ended', data: { sessionId: 'flaky', attendees: 0 } });
    await sender.drain();
    clock = Date.now();
    const recent: string[] = [];
    for (let index = 0; index < 2; index++) recent.push((await sender.send({ tenant: 'old', type: 'session.ended', data: { sessionId: `new_${index}`, attendees: index } })).messageId);
    await sender.drain();
    return { recent, retrying };
  } finally {
    await sender.close();
    await ok.close();
    await failing.close();
  }
}

async function messageIds(storage: Storage): Promise<string[]> {
  return (await storage.listMessages({ limit: 100 })).items.map((message) => message.id).sort();
}

describe('hooks migrate', () => {
  test('creates a SQLite database, and running it again changes nothing', async () => {
    const file = join(folder.path, 'migrate.db');
    const first = await runCli(['migrate', '--database', file, '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, storage: 'sqlite', database: file });
    expect(existsSync(file)).toBe(true);
    const storage = createSqliteStorage({ filename: file });
    expect(await storage.listEndpoints({ limit: 1 })).toEqual({ items: [], nextCursor: null });
    await storage.close();
    const again = await runCli(['migrate', '--database', file, '--progress']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`${file}: schema up to date\n`);
    expect(again.stderr).toMatch(/migrating SQLite…\nmigrated sqlite in \d+ ms\n/);
  });

  test('migrates a PostgreSQL schema; two deploys at once both succeed', async () => {
    const schema = randomSchema();
    schemas.push(schema);
    const runs = await Promise.all([
      runCli(['migrate', '--database', DATABASE_URL, '--schema', schema]),
      runCli(['migrate', '--database', DATABASE_URL, '--schema', schema]),
    ]);
    expect(runs.map((run) => run.code)).toEqual([0, 0]);
    const { rows } = await pool.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema]);
    expect(rows.map((row) => row.table_name)).toEqual(expect.arrayContaining(['attempts', 'deliveries', 'endpoints', 'messages', 'schema_migrations']));
  });

  test('bad input: --schema on SQLite, a folder that does not exist, a malformed URL', async () => {
    const schemaOnSqlite = await runCli(['migrate', '--database', join(folder.path, 'x.db'), '--schema', 'hooks']);
    expect(schemaOnSqlite.code).toBe(2);
    const noFolder = await runCli(['migrate', '--database', join(folder.path, 'missing', 'x.db')]);
    expect(noFolder.code).toBe(5);
    const badSchema = await runCli(['migrate', '--database', DATABASE_URL, '--schema', 'Bad Schema!', '--json']);
    expect(badSchema.code).not.toBe(0);
    expect(JSON.parse(badSchema.stdout).ok).toBe(false);
  });
});

describe('hooks prune', () => {
  test('SQLite: deletes old finished messages in batches with a running count, keeps recent and retrying ones', async () => {
    const file = join(folder.path, 'prune.db');
    const storage = createSqliteStorage({ filename: file });
    const { recent, retrying } = await seedRetention(storage);
    await storage.close();
    const run = await runCli(['prune', '--database', file, '--older-than', '30d', '--batch-size', '2', '--progress']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/deleted 5 messages, 5 deliveries and 5 attempts older than/);
    expect(run.stderr).toContain('pruned 2 messages, 2 deliveries, 2 attempts (1 batches)');
    expect(run.stderr).toContain('pruned 4 messages, 4 deliveries, 4 attempts (2 batches)');
    expect(run.stderr).toContain('pruned 5 messages, 5 deliveries, 5 attempts (3 batches)');
    const reopened = createSqliteStorage({ filename: file });
    expect(await messageIds(reopened)).toEqual([...recent, retrying].sort());
    await reopened.close();
    const again = await runCli(['prune', '--database', file, '--older-than', '30d', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, messages: 0, deliveries: 0, attempts: 0 });
  });

  test('PostgreSQL: the same, as JSON, and --max-batches stops early', async () => {
    const schema = randomSchema();
    schemas.push(schema);
    const storage = createPostgresStorage({ pool, schema });
    const { recent, retrying } = await seedRetention(storage);
    const capped = await runCli(['prune', '--database', DATABASE_URL, '--schema', schema, '--older-than', '30d', '--batch-size', '2', '--max-batches', '1', '--json']);
    expect(capped.code).toBe(0);
    expect(JSON.parse(capped.stdout)).toMatchObject({ ok: true, storage: 'postgres', messages: 2, batches: 1 });
    const rest = await runCli(['prune', '--database', DATABASE_URL, '--schema', schema, '--older-than', '30d', '--json']);
    expect(JSON.parse(rest.stdout)).toMatchObject({ messages: 3, deliveries: 3, attempts: 3 });
    expect(await messageIds(storage)).toEqual([...recent, retrying].sort());
    await storage.close();
  });

  test('--older-than takes a date too; a bad one is a usage error', async () => {
    const file = join(folder.path, 'prune-date.db');
    await runCli(['migrate', '--database', file]);
    const byDate = await runCli(['prune', '--database', file, '--older-than', '2020-01-01', '--json']);
    expect(byDate.code).toBe(0);
    expect(JSON.parse(byDate.stdout).olderThan).toBe('2020-01-01T00:00:00.000Z');
    const bad = await runCli(['prune', '--database', file, '--older-than', 'yesterday']);
    expect(bad.code).toBe(2);
    const missing = await runCli(['prune', '--database', file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--older-than <age>' not specified");
  });
});
