import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisIdempotencyStore } from '../src/index';
import { describeIdempotencyStore } from './idempotency-suite';
import { thrownBy } from './support';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = `hooks-test:${process.pid}:${Date.now().toString(36)}`;
let client: Redis;
let counter = 0;
// A unique prefix per test, so tests never see each other's keys.
const nextPrefix = () => `${runId}:${++counter}:`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
});

afterAll(async () => {
  const keys = await client.keys(`${runId}:*`);
  if (keys.length > 0) await client.del(...keys);
  await client.quit();
});

describeIdempotencyStore('redis', async () => ({
  store: createRedisIdempotencyStore({ client, keyPrefix: nextPrefix() }),
  // Redis expires keys on its own clock: wait for real.
  advance: async (ms: number) => {
    await sleep(ms);
  },
}));

describe('redis idempotency store', () => {
  it('stores state under the key prefix with a TTL', async () => {
    const keyPrefix = nextPrefix();
    const store = createRedisIdempotencyStore({ client, keyPrefix });
    await store.claim('msg_1', 60_000);
    expect(await client.get(`${keyPrefix}msg_1`)).toBe('in_flight');
    const leaseLeft = await client.pttl(`${keyPrefix}msg_1`);
    expect(leaseLeft).toBeGreaterThan(0);
    expect(leaseLeft).toBeLessThanOrEqual(60_000);
    await store.complete('msg_1', 3_600_000);
    expect(await client.get(`${keyPrefix}msg_1`)).toBe('completed');
    expect(await client.pttl(`${keyPrefix}msg_1`)).toBeGreaterThan(60_000);
  });

  it('isolates stores with different prefixes', async () => {
    const first = createRedisIdempotencyStore({ client, keyPrefix: nextPrefix() });
    const second = createRedisIdempotencyStore({ client, keyPrefix: nextPrefix() });
    expect(await first.claim('same', 60_000)).toBe('claimed');
    expect(await second.claim('same', 60_000)).toBe('claimed');
  });

  it('gives exactly one claim to concurrent claims from separate connections', async () => {
    const keyPrefix = nextPrefix();
    const clients = Array.from({ length: 4 }, () => new Redis(redisUrl, { maxRetriesPerRequest: 1 }));
    try {
      const stores = clients.map((connection) => createRedisIdempotencyStore({ client: connection, keyPrefix }));
      const results = await Promise.all(stores.flatMap((store) => Array.from({ length: 10 }, () => store.claim('race', 60_000))));
      expect(results.filter((result) => result === 'claimed')).toHaveLength(1);
      expect(results.filter((result) => result === 'in_flight')).toHaveLength(39);
    } finally {
      await Promise.all(clients.map((connection) => connection.quit()));
    }
  });

  it('rounds fractional and tiny durations up to at least 1 ms', async () => {
    const keyPrefix = nextPrefix();
    const store = createRedisIdempotencyStore({ client, keyPrefix });
    expect(await store.claim('tiny', 0.2)).toBe('claimed');
    await sleep(20);
    expect(await store.claim('tiny', 60_000)).toBe('claimed');
  });

  it('rejects a missing or unusable client with invalid_option', () => {
    for (const options of [undefined, {}, { client: {} }, { client: { set() {} } }]) {
      expect(thrownBy(() => createRedisIdempotencyStore(options as never))).toMatchObject({ code: 'invalid_option' });
    }
  });
});
