import { afterAll, beforeAll } from 'vitest';
import { createPostgresStorage } from '../src/storage/postgres';
import { createTestPool, dropSchemas, randomSchema } from './cluster-support';
import { describeStorageConformance } from './conformance/storage-conformance';

const pool = createTestPool(8);
// One schema for this file, emptied before each test: the suite needs an empty storage each time.
const schema = randomSchema('hooks_conf');

beforeAll(async () => {
  await createPostgresStorage({ pool, schema }).migrate();
});

afterAll(async () => {
  await dropSchemas(pool, [schema]);
  await pool.end();
});

describeStorageConformance('postgres', async () => {
  await pool.query(`TRUNCATE "${schema}".attempts, "${schema}".deliveries, "${schema}".messages, "${schema}".endpoint_secrets, "${schema}".endpoints, "${schema}".notifications RESTART IDENTITY`);
  return createPostgresStorage({ pool, schema, migrate: false });
});
