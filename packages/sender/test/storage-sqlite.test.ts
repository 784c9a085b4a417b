import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/storage/sqlite';
import { describeStorageConformance } from './conformance/storage-conformance';

const directory = mkdtempSync(join(tmpdir(), 'hooks-sqlite-'));
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

  it('answers a bad filename with storage_error and a missing one with invalid_option', () => {
    expect(() => createSqliteStorage({ filename: join(directory, 'no-such-dir', 'x.db') })).toThrow(expect.objectContaining({ code: 'storage_error' }));
    expect(() => createSqliteStorage({ filename: '' })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
  });
});
