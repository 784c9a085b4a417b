import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll } from 'vitest';
import { createTestPool, dropSchemas } from './cluster-support';

/**
 * What a test file running on every storage needs: a temporary folder for SQLite files, a pool,
 * and the PostgreSQL schemas it creates (push them). All removed after the file's tests.
 */
export function storageTestBed(prefix: string): { directory: string; pool: pg.Pool; schemas: string[] } {
  const directory = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const pool = createTestPool(4);
  const schemas: string[] = [];
  afterAll(async () => {
    rmSync(directory, { recursive: true, force: true });
    await dropSchemas(pool, schemas);
    await pool.end();
  });
  return { directory, pool, schemas };
}
