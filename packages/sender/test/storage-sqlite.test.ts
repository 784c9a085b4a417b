import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/storage/sqlite';
import { SQLITE_MIGRATIONS } from '../src/storage/sqlite-migrations';
import { describeStorageConformance } from './conformance/storage-conformance';

const directory = mkdtempSync(join(tmpdir(), 'hooks-sqlite-'));
const payload = JSON.stringify({ text: 'x'.repeat(200) });

async function addEndpoints(storage: ReturnType<typeof createSqliteStorage>, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    await storage.createEndpoint(
      { id: `ep_${index}`, tenant: 't', url: 'https://example.com', name: null, description: null, events: [], headers: {}, profile: 'x-webhook', metadata: {}, enabled: true, disabledReason: null, rateLimit: null, fifo: false, createdAt: 1 },
      { secret: 'whsec_x', createdAt: 1, expiresAt: null },
    );
  }
}

function countDeliveries(filename: string): number {
  const check = new Database(filename, { readonly: true });
  try {
    return check.prepare('SELECT count(*) FROM deliveries').pluck().get() as number;
  } finally {
    check.close();
  }
}
let fileCounter = 0;
afterAll(() => rmSync(directory, { recursive: true, force: true }));

// A real file each time (WAL needs one), so the suite exercises what production runs.
describeStorageConformance('sqlite', async () => createSqliteStorage({ filename: join(directory, `conformance-${++fileCounter}.db`) }));

describe('sqlite specifics', () => {
  it('uses WAL and records versioned migrations once', async () => {
    const filename = join(directory, 'migrations.db');
    const first = createSqliteStorage({ filename });
    await first.close();
    const second = createSqliteStorage({ filename, migrations: [{ version: 100, name: 'extra', sql: 'CREATE TABLE extra_table (x INTEGER)' }] });
    await second.close();
    const db = new Database(filename, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      expect(rows).toEqual([
        { version: 1, name: 'initial' },
        { version: 2, name: 'notifications and retention' },
        { version: 3, name: 'trace context and shared rate limits' },
        { version: 4, name: 'fifo index for fifo endpoints only' },
        { version: 100, name: 'extra' },
      ]);
    } finally {
      db.close();
    }
  });

  it('shares one file between two connections without double claims', async () => {
    const filename = join(directory, 'shared.db');
    const a = createSqliteStorage({ filename });
    const b = createSqliteStorage({ filename });
    try {
      await a.createEndpoint(
        { id: 'ep_shared', tenant: 't', url: 'https://example.com', name: null, description: null, events: [], headers: {}, profile: 'x-webhook', metadata: {}, enabled: true, disabledReason: null, rateLimit: null, fifo: false, createdAt: 1 },
        { secret: 'whsec_x', createdAt: 1, expiresAt: null },
      );
      for (let index = 0; index < 20; index++) {
        await b.enqueueMessage({ message: { id: `msg_${index}`, tenant: 't', type: 'x', payload: '{}', idempotencyKey: null, createdAt: 1 }, now: 1 });
      }
      const [fromA, fromB] = await Promise.all([
        a.claimDeliveries({ owner: 'a', now: 2, leaseMs: 1000, limit: 12, perEndpointConcurrency: 100 }),
        b.claimDeliveries({ owner: 'b', now: 2, leaseMs: 1000, limit: 12, perEndpointConcurrency: 100 }),
      ]);
      const ids = [...fromA, ...fromB].map((item) => item.delivery.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('finishes a delivery it did not claim itself, and refuses a lease taken over by another storage', async () => {
    // A storage finishes the deliveries it claimed by rowid, without RETURNING (it kept what that
    // would read); any other finish goes through the delivery id. Both must give the same result,
    // and a stale lease must stay refused on either path.
    const filename = join(directory, 'takeover.db');
    const a = createSqliteStorage({ filename });
    const b = createSqliteStorage({ filename });
    const attempt = (deliveryId: string, messageId: string, number: number) => ({
      deliveryId,
      messageId,
      endpointId: 'ep_take',
      number,
      startedAt: 3,
      durationMs: 1,
      statusCode: 500,
      responseHeaders: { 'content-type': 'text/plain' },
      responseBody: 'no',
      errorCode: 'http_500',
      success: false,
    });
    try {
      await a.createEndpoint(
        { id: 'ep_take', tenant: 't', url: 'https://example.com', name: null, description: null, events: [], headers: {}, profile: 'x-webhook', metadata: { team: 'x' }, enabled: true, disabledReason: null, rateLimit: null, fifo: false, createdAt: 1 },
        { secret: 'whsec_x', createdAt: 1, expiresAt: null },
      );
      for (let index = 0; index < 2; index++) {
        await a.enqueueMessage({ message: { id: `msg_take_${index}`, tenant: 't', type: 'x', payload: '{}', idempotencyKey: null, createdAt: 1 }, now: 1 });
      }
      const claimed = await a.claimDeliveries({ owner: 'a', now: 2, leaseMs: 10, limit: 2, perEndpointConcurrency: 10 });
      expect(claimed).toHaveLength(2);
      const [first, second] = claimed as [(typeof claimed)[0], (typeof claimed)[0]];
      // The first: finished by the storage that claimed it (rowid path) and by another one with
      // the same owner (id path), in two copies of the file's state: same result.
      const viaB = await b.finishAttempt({ deliveryId: first.delivery.id, owner: 'a', attempt: attempt(first.delivery.id, first.message.id, 1), next: { status: 'pending', nextAttemptAt: 50 }, endpoint: { success: false }, now: 3 });
      expect(viaB.applied).toBe(true);
      expect(viaB.delivery).toMatchObject({ id: first.delivery.id, status: 'pending', attempts: 1, nextAttemptAt: 50, leaseOwner: null, tenant: 't', type: 'x', retryBaseAttempts: 0, retryBaseAt: 1, createdAt: 1 });
      expect(viaB.endpoint).toMatchObject({ consecutiveFailures: 1, metadata: { team: 'x' } });
      // a's own finish of the same delivery again: the lease is gone, nothing applies (rowid path).
      const again = await a.finishAttempt({ deliveryId: first.delivery.id, owner: 'a', attempt: attempt(first.delivery.id, first.message.id, 1), next: { status: 'succeeded', nextAttemptAt: null }, endpoint: { success: true }, now: 4 });
      expect(again.applied).toBe(false);
      expect(again.delivery).toMatchObject({ status: 'pending', attempts: 1 });
      // The second: a's lease expires and b takes it over; a's late result is logged, not applied.
      const takenOver = await b.claimDeliveries({ owner: 'b', now: 20, leaseMs: 1000, limit: 5, perEndpointConcurrency: 10 });
      expect(takenOver.map((item) => item.delivery.id)).toEqual([second.delivery.id]);
      const late = await a.finishAttempt({ deliveryId: second.delivery.id, owner: 'a', attempt: attempt(second.delivery.id, second.message.id, 1), next: { status: 'succeeded', nextAttemptAt: null }, endpoint: { success: true }, now: 21 });
      expect(late.applied).toBe(false);
      expect(late.delivery).toMatchObject({ status: 'in_flight', leaseOwner: 'b', attempts: 0 });
      // b's result (rowid path of b) applies, with the attempt count from its own claim.
      const done = await b.finishAttempt({ deliveryId: second.delivery.id, owner: 'b', attempt: attempt(second.delivery.id, second.message.id, 1), next: { status: 'succeeded', nextAttemptAt: null }, endpoint: { success: true }, now: 22 });
      expect(done.applied).toBe(true);
      expect(done.delivery).toMatchObject({ status: 'succeeded', attempts: 1, nextAttemptAt: null, leaseOwner: null, leaseUntil: null, lastStatus: 500, updatedAt: 22 });
      expect(await a.getDelivery(second.delivery.id)).toEqual(done.delivery);
      // Every attempt is logged, applied or not.
      expect((await a.listAttempts({ limit: 10, endpointId: 'ep_take' })).items).toHaveLength(4);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('answers a bad filename with storage_error and a missing one with invalid_option', () => {
    expect(() => createSqliteStorage({ filename: join(directory, 'no-such-dir', 'x.db') })).toThrow(expect.objectContaining({ code: 'storage_error' }));
    expect(() => createSqliteStorage({ filename: '' })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
  });

  it('migrates a version-3 file: open deliveries of a FIFO endpoint keep their order', async () => {
    const filename = join(directory, 'v3.db');
    const old = new Database(filename);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const step of SQLITE_MIGRATIONS.filter((migration) => migration.version <= 3)) {
      old.exec(step.sql);
      old.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 1)').run(step.version, step.name);
    }
    old.prepare(`INSERT INTO endpoints (id, tenant, url, events, headers, profile, metadata, enabled, fifo, created_at, updated_at)
      VALUES (?, 't', 'https://example.com', '[]', '{}', 'x-webhook', '{}', 1, ?, 1, 1)`).run('ep_fifo', 1);
    old.prepare(`INSERT INTO endpoint_secrets (endpoint_id, secret, created_at) VALUES ('ep_fifo', 'whsec_x', 1)`).run();
    for (let index = 0; index < 3; index++) {
      old.prepare(`INSERT INTO messages (id, tenant, type, payload, created_at) VALUES (?, 't', 'x', '{}', 1)`).run(`msg_${index}`);
      old.prepare(`INSERT INTO deliveries (id, message_id, endpoint_id, tenant, type, status, next_attempt_at, retry_base_at, due_at, created_at, updated_at)
        VALUES (?, ?, 'ep_fifo', 't', 'x', 'pending', 1, 1, 1, 1, 1)`).run(`dlv_${index}`, `msg_${index}`);
    }
    old.close();
    const storage = createSqliteStorage({ filename });
    try {
      const first = await storage.claimDeliveries({ owner: 'a', now: 2, leaseMs: 1000, limit: 10, perEndpointConcurrency: 10 });
      expect(first.map((item) => item.delivery.id)).toEqual(['dlv_0']);
    } finally {
      await storage.close();
    }
  });

  it('keeps the WAL bounded under steady writes once the background checkpointer runs', async () => {
    // 300 fan-outs to 100 endpoints, back to back: each appends ~170 WAL pages, ~200 MiB in all
    // if the WAL never started over. Before a commit that finds the WAL past walLimitMiB, the
    // writes wait for one checkpoint, so that commit restarts the WAL from the beginning.
    const filename = join(directory, 'steady.db');
    const storage = createSqliteStorage({ filename, walLimitMiB: 16 });
    let largest = 0;
    try {
      await addEndpoints(storage, 100);
      for (let index = 0; index < 300; index++) {
        const { deliveries } = await storage.enqueueMessage({ message: { id: `msg_${index}`, tenant: 't', type: 'x', payload, idempotencyKey: null, createdAt: 1 }, now: 1 });
        expect(deliveries).toHaveLength(100);
        largest = Math.max(largest, statSync(`${filename}-wal`).size);
      }
    } finally {
      await storage.close();
    }
    // Past 16 MiB by at most the fan-out under way (0.7 MiB): measured 16.6-16.9 MiB (23-29 MiB
    // when the checkpoint that restarts it was asked for after the commit, not before).
    console.log(`sqlite WAL, one connection, walLimitMiB 16: largest WAL ${(largest / 1048576).toFixed(1)} MiB`);
    expect(largest).toBeLessThan(20 * 1024 * 1024);
    expect(countDeliveries(filename)).toBe(30_000);
  });

  it('keeps the WAL bounded while two connections write to one file at once', async () => {
    // A connection holding only its own writes lets the other write on, so its checkpoint would
    // not restart the WAL (20-44 MiB for this 4 MiB limit). Both read the WAL's shared frame count
    // before each commit and hold, and the restart checkpoint (RESTART) waits for the write lock:
    // measured 4.7-4.9 MiB.
    const filename = join(directory, 'two-writers.db');
    const first = createSqliteStorage({ filename, walLimitMiB: 4 });
    const second = createSqliteStorage({ filename, walLimitMiB: 4 });
    let largest = 0;
    try {
      await addEndpoints(first, 100);
      const write = async (storage: typeof first, tag: string) => {
        for (let index = 0; index < 150; index++) {
          await storage.enqueueMessage({ message: { id: `msg_${tag}_${index}`, tenant: 't', type: 'x', payload, idempotencyKey: null, createdAt: 1 }, now: 1 });
          largest = Math.max(largest, statSync(`${filename}-wal`).size);
        }
      };
      await Promise.all([write(first, 'a'), write(second, 'b')]);
    } finally {
      await first.close();
      await second.close();
    }
    console.log(`sqlite WAL, two connections, walLimitMiB 4: largest WAL ${(largest / 1048576).toFixed(1)} MiB`);
    expect(largest).toBeLessThan(8 * 1024 * 1024);
    expect(countDeliveries(filename)).toBe(30_000);
  });

  it('answers a bad walLimitMiB with invalid_option', () => {
    for (const walLimitMiB of [0, -1, Number.NaN, '8' as unknown as number]) {
      expect(() => createSqliteStorage({ filename: join(directory, 'never.db'), walLimitMiB })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    }
  });
});
