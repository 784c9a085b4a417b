import { ConfigurationError } from '../errors';
import type { ClaimResult, IdempotencyStore } from './types';

/**
 * The few Redis commands the store uses, in ioredis's call shape. An ioredis client fits as is;
 * for node-redis pass `{ set: (k, v, _px, ms, _nx) => client.set(k, v, { PX: ms, NX: true }), eval: … }`.
 */
export interface RedisLikeClient {
  /** `SET key value PX milliseconds NX`: sets the key with a TTL only if it does not exist yet. */
  set(key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX'): Promise<unknown>;
  /** `SET key value PX milliseconds`: sets the key with a TTL in milliseconds, overwriting it (marks an id completed). */
  set(key: string, value: string, px: 'PX', milliseconds: number): Promise<unknown>;
  /** `EVAL script numkeys key… arg…`: runs a Lua script atomically (claim and release use it). */
  eval(script: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/** Options of {@link createRedisIdempotencyStore}. */
export interface RedisIdempotencyStoreOptions {
  /** A connected client (ioredis, or an object with the same `set` and `eval`). */
  client: RedisLikeClient;
  /** Prefix of every key, to share a Redis database. @default 'hooks:idem:' */
  keyPrefix?: string;
}

// Claim: SET NX PX; when the key exists, report whether it is done or still in flight.
const CLAIM = `
if redis.call('SET', KEYS[1], 'in_flight', 'PX', ARGV[1], 'NX') then return 'claimed' end
local state = redis.call('GET', KEYS[1])
if state == 'completed' then return 'completed' end
if state == false then
  redis.call('SET', KEYS[1], 'in_flight', 'PX', ARGV[1])
  return 'claimed'
end
return 'in_flight'`;

// Release only an unfinished claim; a completed id stays completed.
const RELEASE = `if redis.call('GET', KEYS[1]) == 'in_flight' then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * A store shared by every receiver process, on Redis (`SET NX PX`), for horizontally scaled receivers.
 *
 * @param options - A connected client (ioredis fits as is) and the key prefix.
 * @returns The store, for the receiver's `store` option. Throws {@link ConfigurationError} (`invalid_option`) when the client has no `set` and `eval`.
 *
 * @example
 * ```ts
 * import { createReceiver, createRedisIdempotencyStore } from '@hooks/core';
 * import { Redis } from 'ioredis';
 * import { events } from './events.js';
 *
 * // Every process of the receiver dedupes in the same place: a retry is handled once.
 * const store = createRedisIdempotencyStore({ client: new Redis(process.env.REDIS_URL!) });
 * const secrets = process.env.WEBHOOK_SECRET;
 * const receiver = createReceiver({ catalog: events, secrets, store });
 * ```
 */
export function createRedisIdempotencyStore(options: RedisIdempotencyStoreOptions): IdempotencyStore {
  if (!options?.client || typeof options.client.eval !== 'function' || typeof options.client.set !== 'function') {
    throw new ConfigurationError('invalid_option', 'createRedisIdempotencyStore needs a Redis client with set() and eval() (ioredis).');
  }
  const { client } = options;
  const prefix = options.keyPrefix ?? 'hooks:idem:';
  return {
    async claim(key, leaseMs): Promise<ClaimResult> {
      const result = await client.eval(CLAIM, 1, prefix + key, Math.max(1, Math.ceil(leaseMs)));
      return result === 'completed' || result === 'in_flight' ? result : 'claimed';
    },
    async complete(key, ttlMs) {
      await client.set(prefix + key, 'completed', 'PX', Math.max(1, Math.ceil(ttlMs)));
    },
    async release(key) {
      await client.eval(RELEASE, 1, prefix + key);
    },
  };
}
