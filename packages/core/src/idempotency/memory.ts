import { ConfigurationError } from '../errors';
import type { ClaimResult, IdempotencyStore } from './types';

/** Options of {@link createMemoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** Most ids kept; the least recently used are evicted first. @default 100_000 */
  maxEntries?: number;
  /** Clock in milliseconds, for tests. @default Date.now */
  now?: () => number;
}

interface Entry {
  state: 'in_flight' | 'completed';
  expiresAt: number;
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
  const entries = new Map<string, Entry>();

  function set(key: string, entry: Entry): void {
    entries.delete(key);
    entries.set(key, entry);
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
    }
  }

  return {
    get size() {
      return entries.size;
    },
    async claim(key, leaseMs): Promise<ClaimResult> {
      const entry = entries.get(key);
      if (entry && entry.expiresAt > now()) {
        set(key, entry);
        return entry.state;
      }
      // A new id (the usual case) needs no delete first.
      if (entry) entries.delete(key);
      entries.set(key, { state: 'in_flight', expiresAt: now() + leaseMs });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      return 'claimed';
    },
    async complete(key, ttlMs) {
      set(key, { state: 'completed', expiresAt: now() + ttlMs });
    },
    async release(key) {
      if (entries.get(key)?.state === 'in_flight') entries.delete(key);
    },
  };
}
