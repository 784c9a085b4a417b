/**
 * Result of {@link IdempotencyStore.claim}:
 * - `claimed`: this caller owns the id now and must `complete` or `release` it;
 * - `in_flight`: another caller owns it and has not finished (answer 409, the sender retries);
 * - `completed`: it was already handled (answer 200 without running the handler).
 */
export type ClaimResult = 'claimed' | 'in_flight' | 'completed';

/**
 * Where a receiver records which webhook ids it has seen, so a retried or replayed message
 * runs its handler once. Implement it over any store with an atomic "set if absent".
 */
export interface IdempotencyStore {
  /** Atomically claims `key` for `leaseMs` (after which an unfinished claim expires and may be claimed again). */
  claim(key: string, leaseMs: number): Promise<ClaimResult>;
  /** Marks `key` handled; it answers `completed` for `ttlMs`. */
  complete(key: string, ttlMs: number): Promise<void>;
  /** Gives up a claim (the handler failed), so the sender's retry is processed. */
  release(key: string): Promise<void>;
}
