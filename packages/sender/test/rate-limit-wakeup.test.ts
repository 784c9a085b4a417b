import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStorage } from '../src/storage/memory';
import { createSqliteStorage } from '../src/storage/sqlite';
import type { ClaimedDelivery, Storage } from '../src/storage/types';
import type { DeliveryRequest, Transport } from '../src/transport';
import { makeSender, registrantData } from './support';

// The dispatcher's own wake-ups for a rate-limited endpoint, on fake timers (Date and setTimeout):
// the interleavings are forced, nothing depends on how fast the machine is.

describe('rate-limited endpoint wake-ups', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    vi.useRealTimers();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it.each([
    ['memory', () => createMemoryStorage()],
    ['SQLite', () => createSqliteStorage({ filename: ':memory:' })],
  ])('%s: an attempt that starts a few ms after its claim still gets the next delivery claimed when it is allowed, not at the poll', async (_name, create) => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const inner = create();
    cleanups.push(() => inner.close());
    // After a claim that returned a rate-limited delivery, the next reading of the clock (the
    // attempt's start) comes 5 ms later: the time signing and scheduling take on a loaded machine.
    // Storage then allows the next delivery 1000 / rate ms after that start, later than the claim
    // alone implies.
    let lag = false;
    const lagAfter = (claimed: ClaimedDelivery[]) => {
      if (claimed.some((item) => item.endpoint.rateLimit !== null)) lag = true;
      return claimed;
    };
    const storage: Storage = {
      ...inner,
      claimDeliveries: async (input) => lagAfter(await inner.claimDeliveries(input)),
      finishAttemptsAndClaim: async (inputs, claim) => {
        const both = await inner.finishAttemptsAndClaim(inputs, claim);
        lagAfter(both.claimed);
        return both;
      },
    };
    const now = () => {
      if (lag) {
        lag = false;
        vi.advanceTimersByTime(5);
      }
      return Date.now();
    };
    const sent: DeliveryRequest[] = [];
    const transport: Transport = {
      async send(request) {
        sent.push(request);
        return { status: 200, headers: {}, body: '', durationMs: 1 };
      },
      async close() {},
    };
    // A poll interval the loop below never reaches: only the dispatcher's own wake-ups deliver.
    const hooksSender = makeSender({ storage, transport, now, dispatcher: { pollIntervalMs: 600_000, timeoutMs: 2_000, leaseMs: 10_000 } });
    cleanups.push(() => hooksSender.close());
    await hooksSender.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hooks', rateLimit: 50 });
    await hooksSender.sendMany(Array.from({ length: 4 }, (_, index) => ({ tenant: 'acme', type: 'registrant.created' as const, data: registrantData(index) })));
    hooksSender.start();
    // 1 s of fake time: four deliveries 20 ms apart need about 100 ms of it; the poll is 600 s away.
    for (let step = 0; step < 1000 && sent.length < 4; step++) {
      await vi.advanceTimersByTimeAsync(1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(sent).toHaveLength(4);
    // Let the last result commit (its write waits on a fake timer), so close() finds nothing in flight.
    for (let step = 0; step < 50; step++) {
      await vi.advanceTimersByTimeAsync(1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Storage still spaced them (fake time: exact).
    const attempts = (await hooksSender.attempts.list({ limit: 10 })).items.map((attempt) => attempt.startedAt.getTime()).sort((a, b) => a - b);
    expect(attempts).toHaveLength(4);
    for (let index = 1; index < attempts.length; index++) expect((attempts[index] as number) - (attempts[index - 1] as number)).toBeGreaterThanOrEqual(20);
  });
});
