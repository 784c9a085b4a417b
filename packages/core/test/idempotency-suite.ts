// One behavioural suite for every IdempotencyStore: the memory store and the Redis store must
// be interchangeable behind the receiver.
import { describe, expect, it } from 'vitest';
import { type IdempotencyStore, createReceiver } from '../src/index';
import { broadcastEvents, fixedNow, signedRequest } from './support';

export interface StoreHarness {
  store: IdempotencyStore;
  /** Lets `ms` milliseconds pass for the store: a fake clock, or real waiting. */
  advance(ms: number): Promise<void>;
}

/** Long enough that nothing expires during a test, even on a slow machine. */
const LONG = 60_000;
/** Short enough to wait out in a test. */
const SHORT = 40;

export function describeIdempotencyStore(name: string, create: () => Promise<StoreHarness>): void {
  describe(`${name} idempotency store (shared behaviour)`, () => {
    it('claims a new key once; a second claim sees it in flight', async () => {
      const { store } = await create();
      expect(await store.claim('a', LONG)).toBe('claimed');
      expect(await store.claim('a', LONG)).toBe('in_flight');
      expect(await store.claim('a', LONG)).toBe('in_flight');
    });

    it('keeps keys independent', async () => {
      const { store } = await create();
      expect(await store.claim('a', LONG)).toBe('claimed');
      expect(await store.claim('b', LONG)).toBe('claimed');
      await store.complete('a', LONG);
      expect(await store.claim('a', LONG)).toBe('completed');
      expect(await store.claim('b', LONG)).toBe('in_flight');
    });

    it('answers completed after complete, every time', async () => {
      const { store } = await create();
      expect(await store.claim('a', LONG)).toBe('claimed');
      await store.complete('a', LONG);
      for (let i = 0; i < 3; i++) expect(await store.claim('a', LONG)).toBe('completed');
    });

    it('lets a released in-flight key be claimed again', async () => {
      const { store } = await create();
      expect(await store.claim('a', LONG)).toBe('claimed');
      await store.release('a');
      expect(await store.claim('a', LONG)).toBe('claimed');
    });

    it('does not release a completed key', async () => {
      const { store } = await create();
      await store.claim('a', LONG);
      await store.complete('a', LONG);
      await store.release('a');
      expect(await store.claim('a', LONG)).toBe('completed');
    });

    it('treats releasing an unknown key as a no-op', async () => {
      const { store } = await create();
      await store.release('never-claimed');
      expect(await store.claim('never-claimed', LONG)).toBe('claimed');
    });

    it('lets a claim whose lease expired be claimed again', async () => {
      const { store, advance } = await create();
      expect(await store.claim('a', SHORT)).toBe('claimed');
      await advance(SHORT * 3);
      expect(await store.claim('a', LONG)).toBe('claimed');
      expect(await store.claim('a', LONG)).toBe('in_flight');
    });

    it('forgets a completed key after its TTL', async () => {
      const { store, advance } = await create();
      await store.claim('a', LONG);
      await store.complete('a', SHORT);
      await advance(SHORT * 3);
      expect(await store.claim('a', LONG)).toBe('claimed');
    });

    it('keeps a completed key for its TTL even after the lease would have expired', async () => {
      const { store, advance } = await create();
      await store.claim('a', SHORT);
      await store.complete('a', LONG);
      await advance(SHORT * 3);
      expect(await store.claim('a', LONG)).toBe('completed');
    });

    it('gives exactly one of many concurrent claims of the same key', async () => {
      const { store } = await create();
      const results = await Promise.all(Array.from({ length: 25 }, () => store.claim('race', LONG)));
      expect(results.filter((result) => result === 'claimed')).toHaveLength(1);
      expect(results.filter((result) => result === 'in_flight')).toHaveLength(24);
    });

    it('gives exactly one claim per key when many keys race at once', async () => {
      const { store } = await create();
      const keys = Array.from({ length: 10 }, (_, index) => `key-${index}`);
      const results = await Promise.all(keys.flatMap((key) => Array.from({ length: 5 }, async () => ({ key, result: await store.claim(key, LONG) }))));
      for (const key of keys) {
        expect(results.filter((entry) => entry.key === key && entry.result === 'claimed')).toHaveLength(1);
      }
    });

    it('dedupes across two receivers sharing the store: the handler runs once', async () => {
      const { store } = await create();
      const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
      let calls = 0;
      const receivers = [0, 1].map(() =>
        createReceiver({ catalog: broadcastEvents, secrets: secret, store, now: fixedNow }).on('registrant.created', () => {
          calls++;
        }),
      );
      const request = await signedRequest({ secrets: secret });
      const first = await receivers[0]!.handle(request);
      const second = await receivers[1]!.handle(request);
      expect([first.status, first.outcome]).toEqual([200, 'handled']);
      expect([second.status, second.outcome]).toEqual([200, 'duplicate']);
      expect(calls).toBe(1);
    });
  });
}
