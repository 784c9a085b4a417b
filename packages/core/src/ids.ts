import { crypto } from '#crypto';

// Crockford base32: sortable, no ambiguous letters.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// CSPRNG bytes drawn 4 KiB at a time: a sender creates several ids per delivery, and one
// system call per id showed in profiles. Each byte is used once.
let pool: Uint8Array = new Uint8Array(0);
let poolOffset = 0;

/**
 * A sortable unique id: 10 characters of millisecond time then 16 of randomness (ULID layout),
 * behind `prefix_`. Ids created later sort after earlier ones (to the millisecond).
 */
export function createId(prefix: string, now: number = Date.now()): string {
  let time = '';
  let t = Math.max(0, Math.floor(now));
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  if (poolOffset + 16 > pool.length) {
    pool = crypto.randomBytes(4096);
    poolOffset = 0;
  }
  let rest = '';
  for (let i = 0; i < 16; i++) rest += ALPHABET[pool[poolOffset + i]! & 31]!;
  poolOffset += 16;
  return `${prefix}_${time}${rest}`;
}

/**
 * A new message id, `msg_<sortable random>`.
 *
 * @param now - The creation time in milliseconds, which the id's first characters encode (default: `Date.now()`).
 * @returns `msg_` then 26 characters: ids created later sort after earlier ones.
 *
 * @example
 * ```ts
 * import { createMessageId } from '@hooks/core';
 *
 * // 'msg_01JDQ8…': the X-Webhook-Id, the same on every retry of the message.
 * const id = createMessageId();
 * ```
 */
export function createMessageId(now?: number): string {
  return createId('msg', now);
}
