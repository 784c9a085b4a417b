import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SenderEvents } from '../src/events';
import { createMemoryStorage } from '../src/storage/memory';
import { createPostgresStorage } from '../src/storage/postgres';
import { createSqliteStorage } from '../src/storage/sqlite';
import type { Storage } from '../src/storage/types';
import { createTestPool, dropSchemas, randomSchema } from './cluster-support';
import { createClock, makeSender, type ReceiverAnswer, registrantData, startReceiver } from './support';

const pool = createTestPool(4);
const schemas: string[] = [];
afterAll(async () => {
  await dropSchemas(pool, schemas);
  await pool.end();
});

const storages: Record<string, () => Storage> = {
  memory: () => createMemoryStorage(),
  sqlite: () => createSqliteStorage({ filename: ':memory:' }),
  postgres: () => {
    const schema = randomSchema('hooks_retry');
    schemas.push(schema);
    return createPostgresStorage({ pool, schema });
  },
};

describe.each(Object.keys(storages))('retries and disablement as seed 001 says (%s)', (kind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(answer: (index: number) => ReceiverAnswer, options: Parameters<typeof makeSender>[0] = {}) {
    const clock = createClock();
    const receiver = await startReceiver((_request, index) => answer(index), clock.now);
    const storage = (storages[kind] as () => Storage)();
    const sender = makeSender({ storage, now: clock.now, ...options });
    cleanups.push(
      () => receiver.close(),
      async () => {
        await sender.close();
        await storage.close();
      },
    );
    return { clock, receiver, storage, sender };
  }

  it('retries a failing delivery with no age or count cap until the 20th failure disables the endpoint; enable() resumes it at once', async () => {
    let healthy = false;
    const { clock, receiver, sender } = await setup(() => (healthy ? { status: 200 } : { status: 500 }));
    const start = clock.now();
    const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
    const { messageId } = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    const [delivery] = (await sender.deliveries.list({ messageId })).items;
    for (let round = 0; round < 30; round++) {
      await sender.drain();
      if (!(await sender.endpoints.get(endpoint.id)).enabled) break;
      const next = (await sender.deliveries.get(delivery?.id as string)).nextAttemptAt;
      if (next === null) break;
      clock.set(next.getTime());
    }
    // The seed schedule, then every 24 h: the 20th attempt comes after 15 days, far past the old 3-day cap.
    expect(receiver.requests).toHaveLength(20);
    expect((receiver.requests[19]?.at ?? 0) - start).toBe(12_000 + 148_000 + 1_808_000 + 22_026_000 + 15 * 86_400_000);
    expect(await sender.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: 'consecutive_failures', consecutiveFailures: 20 });
    // Disabled: the delivery waits (not failed), and nothing is attempted.
    expect(await sender.deliveries.get(delivery?.id as string)).toMatchObject({ status: 'pending', attempts: 20 });
    clock.advance(3_600_000);
    await sender.drain();
    expect(receiver.requests).toHaveLength(20);

    // Enabled again: the waiting delivery goes at once, not at its planned retry 23 hours later.
    healthy = true;
    await sender.endpoints.enable(endpoint.id);
    await sender.drain();
    expect(receiver.requests).toHaveLength(21);
    expect(receiver.requests[20]?.at).toBe(clock.now());
    expect(await sender.deliveries.get(delivery?.id as string)).toMatchObject({ status: 'succeeded', attempts: 21 });
  });

  it('never turns a Retry-After longer than maxAgeMs into "failed after one attempt"', async () => {
    const { clock, receiver, sender } = await setup((index) => (index === 0 ? { status: 503, headers: { 'retry-after': '3600' } } : { status: 200 }), {
      retry: { jitter: 0, maxAgeMs: 60_000 },
    });
    await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
    const { messageId } = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await sender.drain();
    const [waiting] = (await sender.deliveries.list({ messageId })).items;
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1 });
    expect(waiting?.nextAttemptAt?.getTime()).toBe(clock.now() + 3_600_000);
    clock.advance(3_600_000);
    await sender.drain();
    expect(receiver.requests).toHaveLength(2);
    expect((await sender.deliveries.get(waiting?.id as string)).status).toBe('succeeded');
  });

  it('keeps maxAttempts and maxAgeMs as options (Infinity accepted)', async () => {
    const { clock, receiver, sender } = await setup(() => ({ status: 500 }), { retry: { jitter: 0, maxAttempts: 2, maxAgeMs: Number.POSITIVE_INFINITY } });
    await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
    const { messageId } = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    await sender.drain();
    clock.advance(12_000);
    await sender.drain();
    expect((await sender.deliveries.list({ messageId })).items[0]).toMatchObject({ status: 'failed', attempts: 2 });
  });
});

describe.each(Object.keys(storages))('owner notifications are durable (%s)', (kind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  type Notice = { name: string; id: string; attempt: number; count: number };

  function listen(sender: ReturnType<typeof makeSender>, notices: Notice[], fail?: () => boolean) {
    for (const name of ['endpoint.failing', 'endpoint.disabled', 'endpoint.recovered'] as const) {
      sender.on(name, (event) => {
        const notice = event as SenderEvents['endpoint.failing'] & SenderEvents['endpoint.disabled'] & SenderEvents['endpoint.recovered'];
        notices.push({ name, id: notice.notificationId, attempt: notice.deliveryAttempt, count: name === 'endpoint.disabled' ? notice.endpoint.consecutiveFailures : (notice.consecutiveFailures ?? notice.previousFailures) });
        if (fail?.()) throw new Error('mail server down');
      });
    }
  }

  async function failingSetup(count: number) {
    const clock = createClock();
    const receiver = await startReceiver(() => ({ status: 500 }));
    const storage = (storages[kind] as () => Storage)();
    cleanups.push(() => receiver.close(), () => storage.close());
    const first = makeSender({ storage, now: clock.now, dispatcher: { perEndpointConcurrency: 1, timeoutMs: 2_000, leaseMs: 10_000 } });
    cleanups.push(() => first.close());
    const { endpoint } = await first.endpoints.create({ tenant: 'acme', url: receiver.url });
    for (let index = 0; index < count; index++) await first.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index) });
    return { clock, storage, first, endpoint, receiver };
  }

  it('keeps notifications recorded while nobody listened, and hands them over later', async () => {
    const { clock, storage, first, receiver } = await failingSetup(10);
    // No listener in this process: the failures at 5 and 10 are recorded, not emitted into the void.
    await first.drain();
    expect(receiver.requests).toHaveLength(10);
    const notices: Notice[] = [];
    const second = makeSender({ storage, now: clock.now });
    cleanups.push(() => second.close());
    listen(second, notices);
    await second.drain();
    expect(notices.map((notice) => [notice.name, notice.count, notice.attempt])).toEqual([
      ['endpoint.failing', 5, 1],
      ['endpoint.failing', 10, 1],
    ]);
    expect(new Set(notices.map((notice) => notice.id)).size).toBe(2);
    await second.drain();
    expect(notices).toHaveLength(2);
  });

  it('hands a notification over again, with the same id, when the listener failed', async () => {
    const { clock, first } = await failingSetup(5);
    const notices: Notice[] = [];
    let failures = 1;
    listen(first, notices, () => failures-- > 0);
    await first.drain();
    expect(notices.map((notice) => [notice.name, notice.count, notice.attempt])).toEqual([['endpoint.failing', 5, 1]]);
    clock.advance(10_000);
    await first.drain();
    expect(notices.map((notice) => notice.attempt)).toEqual([1, 2]);
    expect(notices[1]?.id).toBe(notices[0]?.id);
    // Delivered now: never again (later failures bring new notifications with new ids).
    clock.advance(86_400_000);
    await first.drain();
    expect(notices.filter((notice) => notice.id === notices[0]?.id)).toHaveLength(2);
  });

  it('hands each notification to one of several senders sharing the storage', async () => {
    const { clock, storage, first } = await failingSetup(25);
    const notices: Notice[] = [];
    listen(first, notices);
    const others = Array.from({ length: 2 }, () => makeSender({ storage, now: clock.now, dispatcher: { perEndpointConcurrency: 1, timeoutMs: 2_000, leaseMs: 10_000 } }));
    for (const other of others) {
      cleanups.push(() => other.close());
      listen(other, notices);
    }
    await Promise.all([first, ...others].map((sender) => sender.drain()));
    await Promise.all([first, ...others].map((sender) => sender.drain()));
    expect(notices.map((notice) => [notice.name, notice.count]).sort()).toEqual([
      ['endpoint.disabled', 20],
      ['endpoint.failing', 10],
      ['endpoint.failing', 15],
      ['endpoint.failing', 5],
    ]);
    expect(new Set(notices.map((notice) => notice.id)).size).toBe(4);
  });
});
