import { ConfigurationError } from '../errors';
import type { ClaimResult, IdempotencyStore } from './types';

/** Options of {@link createMemoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** Most ids kept; the least recently used are evicted first. @default 100_000 */
  maxEntries?: number;
  /** Clock in milliseconds, for tests. @default Date.now */
  now?: () => number;
}

/**
 * The synchronous core of the in-memory store: the receiver calls it directly and skips the two
 * promise round-trips (`await claim`, `await complete`) per delivery. Not part of the public API.
 */
export const SYNC_STORE: unique symbol = Symbol('hooks.syncIdempotencyStore');

/** What {@link SYNC_STORE} holds. */
export interface SyncIdempotencyStore {
  claim(key: string, leaseMs: number): ClaimResult;
  complete(key: string, ttlMs: number): void;
}

/**
 * An in-process store bounded by count (LRU) and time (TTL). Right for a single receiver
 * process; use the Redis store when several processes receive the same webhooks.
 *
 * @param options - How many ids to keep, and a clock for tests.
 * @returns The store, for the receiver's `store` option; `size` counts the ids it holds. Throws {@link ConfigurationError} (`invalid_option`) for a bad `maxEntries`.
 *
 * @example
 * ```ts
 * import { createMemoryIdempotencyStore, createReceiver } from '@hooks/core';
 * import { events } from './events.js';
 *
 * // Remember the last 10,000 handled ids (the default store keeps 100,000).
 * const store = createMemoryIdempotencyStore({ maxEntries: 10_000 });
 * const secrets = process.env.WEBHOOK_SECRET;
 * const receiver = createReceiver({ catalog: events, secrets, store });
 * ```
 */
export function createMemoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): IdempotencyStore & {
  /** Number of ids currently held (claimed or completed, expired ones not yet evicted included). */
  readonly size: number;
} {
  const maxEntries = options.maxEntries ?? 100_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new ConfigurationError('invalid_option', 'maxEntries must be a positive integer.');
  }
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order: re-inserting on use makes the first key the least recently used.
  // Each value is the expiry in ms, positive once completed and negated while in flight: one number
  // per id rather than an object, so 100,000 remembered ids add no objects for the GC to trace.
  const entries = new Map<string, number>();

  function set(key: string, value: number): void {
    entries.delete(key);
    entries.set(key, value);
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
  }

  const sync: SyncIdempotencyStore = {
    claim(key, leaseMs) {
      const value = entries.get(key);
      const time = now();
      if (value !== undefined) {
        if (Math.abs(value) > time) {
          set(key, value);
          return value > 0 ? 'completed' : 'in_flight';
        }
        entries.delete(key);
      }
      // A new id (the usual case) needs no delete first.
      entries.set(key, -(time + leaseMs));
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      return 'claimed';
    },
    complete(key, ttlMs) {
      set(key, now() + ttlMs);
    },
  };

  const store: IdempotencyStore & { readonly size: number } = {
    get size() {
      return entries.size;
    },
    async claim(key, leaseMs): Promise<ClaimResult> {
      return sync.claim(key, leaseMs);
    },
    async complete(key, ttlMs) {
      sync.complete(key, ttlMs);
    },
    async release(key) {
      const value = entries.get(key);
      if (value !== undefined && value < 0) entries.delete(key);
    },
  };
  Object.defineProperty(store, SYNC_STORE, { value: sync });
  return store;
}
