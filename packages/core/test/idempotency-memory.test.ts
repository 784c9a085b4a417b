import { describe, expect, it } from 'vitest';
import { createMemoryIdempotencyStore } from '../src/index';
import { describeIdempotencyStore } from './idempotency-suite';
import { thrownBy } from './support';

function withClock(maxEntries?: number) {
  let time = 1_000_000;
  const store = createMemoryIdempotencyStore({ maxEntries, now: () => time });
  return {
    store,
    async advance(ms: number) {
      time += ms;
    },
  };
}

describeIdempotencyStore('memory', async () => withClock());

describe('memory idempotency store', () => {
  it('evicts the least recently used key first', async () => {
    const { store } = withClock(3);
    for (const key of ['a', 'b', 'c']) await store.claim(key, 60_000);
    // Touching "a" makes "b" the least recently used.
    expect(await store.claim('a', 60_000)).toBe('in_flight');
    await store.claim('d', 60_000);
    expect(store.size).toBe(3);
    expect(await store.claim('b', 60_000)).toBe('claimed'); // evicted, so new again (and evicts "c")
    expect(await store.claim('a', 60_000)).toBe('in_flight');
    expect(await store.claim('d', 60_000)).toBe('in_flight');
    expect(await store.claim('c', 60_000)).toBe('claimed');
  });

  it('counts complete as a use for LRU order', async () => {
    const { store } = withClock(2);
    await store.claim('a', 60_000);
    await store.claim('b', 60_000);
    await store.complete('a', 60_000);
    await store.claim('c', 60_000); // evicts "b"
    expect(await store.claim('a', 60_000)).toBe('completed');
    expect(await store.claim('b', 60_000)).toBe('claimed');
  });

  it('never grows past maxEntries', async () => {
    const { store } = withClock(5);
    for (let index = 0; index < 100; index++) await store.claim(`key-${index}`, 60_000);
    expect(store.size).toBe(5);
    expect(await store.claim('key-99', 60_000)).toBe('in_flight');
    expect(await store.claim('key-0', 60_000)).toBe('claimed');
  });

  it('expires a lease at exactly leaseMs', async () => {
    const { store, advance } = withClock();
    await store.claim('a', 1000);
    await advance(999);
    expect(await store.claim('a', 1000)).toBe('in_flight');
    const second = withClock();
    await second.store.claim('a', 1000);
    await second.advance(1000);
    expect(await second.store.claim('a', 1000)).toBe('claimed');
  });

  it('expires a completed key at exactly ttlMs', async () => {
    const { store, advance } = withClock();
    await store.claim('a', 10);
    await store.complete('a', 5000);
    await advance(4999);
    expect(await store.claim('a', 10)).toBe('completed');
    await advance(1);
    expect(await store.claim('a', 10)).toBe('claimed');
  });

  it('keeps a completed key when it is released', async () => {
    const { store } = withClock();
    await store.claim('a', 60_000);
    await store.complete('a', 60_000);
    await store.release('a');
    expect(store.size).toBe(1);
  });

  it('rejects a bad maxEntries with invalid_option', () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      expect(thrownBy(() => createMemoryIdempotencyStore({ maxEntries }))).toMatchObject({ code: 'invalid_option' });
    }
  });
});
