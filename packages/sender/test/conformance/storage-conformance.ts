import { createId } from '@hooks/core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedDelivery, FinishAttemptInput, NewEndpoint, Storage, StoredMessage } from '../../src/storage/types';
import { createClock, makeSender, registrantData, startReceiver } from '../support';

/**
 * The behaviour every storage adapter must have. Run it from an adapter's test file:
 *
 * ```ts
 * describeStorageConformance('sqlite', async () => createSqliteStorage({ filename: ':memory:' }));
 * ```
 *
 * `makeStorage` must return an EMPTY storage each time; `cleanup` runs after each test (after
 * `close()`), e.g. to drop a schema. Times are passed explicitly, so the suite's clock is fake.
 */
export function describeStorageConformance(name: string, makeStorage: () => Promise<Storage>, cleanup?: (storage: Storage) => Promise<void>): void {
  describe(`storage conformance: ${name}`, () => {
    let storage: Storage;
    const T0 = 1_800_000_000_000;
    const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    let counter = 0;

    beforeEach(async () => {
      storage = await makeStorage();
    });
    afterEach(async () => {
      await storage.close();
      await cleanup?.(storage);
    });

    function endpoint(overrides: Partial<NewEndpoint> = {}): NewEndpoint {
      counter++;
      return {
        id: createId('ep', T0 + counter),
        tenant: 'tenant_a',
        url: `https://example.com/hooks/${counter}`,
        name: `endpoint ${counter}`,
        description: null,
        events: [],
        headers: { 'x-custom': 'yes' },
        profile: 'x-webhook',
        metadata: { plan: 'pro', nested: { a: 1 } },
        enabled: true,
        disabledReason: null,
        rateLimit: null,
        fifo: false,
        createdAt: T0,
        ...overrides,
      };
    }

    async function addEndpoint(overrides: Partial<NewEndpoint> = {}) {
      return storage.createEndpoint(endpoint(overrides), { secret: SECRET, createdAt: T0, expiresAt: null });
    }

    function message(overrides: Partial<StoredMessage> = {}): StoredMessage {
      counter++;
      return { id: createId('msg', T0 + counter), tenant: 'tenant_a', type: 'registrant.created', payload: '{"n":1}', idempotencyKey: null, createdAt: T0, ...overrides };
    }

    async function enqueue(overrides: Partial<StoredMessage> = {}, now = T0) {
      return storage.enqueueMessage({ message: message({ createdAt: now, ...overrides }), now });
    }

    function claim(now: number, options: { owner?: string; limit?: number; perEndpointConcurrency?: number; leaseMs?: number } = {}) {
      return storage.claimDeliveries({ owner: options.owner ?? 'worker-1', now, leaseMs: options.leaseMs ?? 30_000, limit: options.limit ?? 100, perEndpointConcurrency: options.perEndpointConcurrency ?? 100 });
    }

    function attemptOf(delivery: { id: string; messageId: string; endpointId: string }, fields: { success: boolean; statusCode?: number | null; startedAt?: number; number?: number }) {
      return {
        id: createId('att', T0 + ++counter),
        deliveryId: delivery.id,
        messageId: delivery.messageId,
        endpointId: delivery.endpointId,
        number: fields.number ?? 1,
        startedAt: fields.startedAt ?? T0,
        durationMs: 12.5,
        statusCode: fields.statusCode === undefined ? (fields.success ? 200 : 500) : fields.statusCode,
        responseHeaders: { 'content-type': 'text/plain' },
        responseBody: fields.success ? 'ok' : 'boom',
        errorCode: fields.success ? null : fields.statusCode === null ? 'timeout' : `http_${fields.statusCode ?? 500}`,
        success: fields.success,
      };
    }

    describe('endpoints', () => {
      it('creates, reads and returns copies', async () => {
        const created = await addEndpoint({ events: ['a.b'], rateLimit: 5, fifo: true, profile: 'standard' });
        expect(created).toMatchObject({ tenant: 'tenant_a', events: ['a.b'], rateLimit: 5, fifo: true, profile: 'standard', enabled: true, consecutiveFailures: 0, pausedUntil: null, updatedAt: T0 });
        created.events.push('mutated');
        (created.metadata.nested as { a: number }).a = 99;
        const read = await storage.getEndpoint(created.id);
        expect(read?.events).toEqual(['a.b']);
        expect(read?.metadata).toEqual({ plan: 'pro', nested: { a: 1 } });
        expect(read?.headers).toEqual({ 'x-custom': 'yes' });
        expect(await storage.getEndpoint('ep_missing')).toBeUndefined();
      });

      it('rejects a duplicate id with conflict and keeps the first', async () => {
        const first = await addEndpoint();
        await expect(storage.createEndpoint({ ...endpoint(), id: first.id, url: 'https://other.example.com' }, { secret: SECRET, createdAt: T0, expiresAt: null })).rejects.toMatchObject({ code: 'conflict' });
        expect((await storage.getEndpoint(first.id))?.url).toBe(first.url);
      });

      it('updates only the given fields', async () => {
        const created = await addEndpoint();
        const updated = await storage.updateEndpoint(created.id, { url: 'https://new.example.com/x', enabled: false, disabledReason: 'manual', headers: {} }, T0 + 5);
        expect(updated).toMatchObject({ url: 'https://new.example.com/x', enabled: false, disabledReason: 'manual', headers: {}, name: created.name, updatedAt: T0 + 5, createdAt: T0 });
        expect(await storage.getEndpoint(created.id)).toEqual(updated);
        expect(await storage.updateEndpoint('ep_missing', { name: 'x' }, T0)).toBeUndefined();
      });

      it('deletes an endpoint with its secrets, deliveries and attempts, keeping messages', async () => {
        const keep = await addEndpoint();
        const gone = await addEndpoint();
        const { message: sent } = await enqueue();
        const [claimed] = await claim(T0, { limit: 2 });
        const other = await claim(T0, { limit: 2, owner: 'w2' });
        for (const item of [claimed, ...other]) {
          if (item) await storage.finishAttempt({ deliveryId: item.delivery.id, owner: item.delivery.leaseOwner as string, attempt: attemptOf(item.delivery, { success: true }), next: { status: 'succeeded', nextAttemptAt: null }, endpoint: { success: true }, now: T0 });
        }
        expect(await storage.deleteEndpoint(gone.id)).toBe(true);
        expect(await storage.deleteEndpoint(gone.id)).toBe(false);
        expect(await storage.getEndpoint(gone.id)).toBeUndefined();
        expect(await storage.listSecrets(gone.id)).toBeUndefined();
        expect((await storage.listDeliveries({ limit: 10, endpointId: gone.id })).items).toEqual([]);
        expect((await storage.listAttempts({ limit: 10, endpointId: gone.id })).items).toEqual([]);
        expect((await storage.listDeliveries({ limit: 10, endpointId: keep.id })).items).toHaveLength(1);
        expect(await storage.getMessage(sent.id)).toMatchObject({ id: sent.id });
      });

      it('lists oldest first with cursor pagination and a tenant filter', async () => {
        const ids: string[] = [];
        for (let index = 0; index < 5; index++) ids.push((await addEndpoint()).id);
        await addEndpoint({ tenant: 'tenant_b' });
        const first = await storage.listEndpoints({ tenant: 'tenant_a', limit: 2 });
        expect(first.items.map((item) => item.id)).toEqual(ids.slice(0, 2));
        expect(first.nextCursor).not.toBeNull();
        const second = await storage.listEndpoints({ tenant: 'tenant_a', limit: 2, cursor: first.nextCursor ?? undefined });
        expect(second.items.map((item) => item.id)).toEqual(ids.slice(2, 4));
        const third = await storage.listEndpoints({ tenant: 'tenant_a', limit: 2, cursor: second.nextCursor ?? undefined });
        expect(third.items.map((item) => item.id)).toEqual(ids.slice(4));
        expect(third.nextCursor).toBeNull();
        expect((await storage.listEndpoints({ limit: 100 })).items).toHaveLength(6);
      });

      it('rejects broken cursors and limits with invalid_input', async () => {
        await expect(storage.listEndpoints({ limit: 10, cursor: "1' OR 1=1" })).rejects.toMatchObject({ code: 'invalid_input' });
        await expect(storage.listEndpoints({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
        await expect(storage.listMessages({ limit: 1.5 })).rejects.toMatchObject({ code: 'invalid_input' });
        await expect(storage.listDeliveries({ limit: 5000 })).rejects.toMatchObject({ code: 'invalid_input' });
        await expect(storage.listAttempts({ limit: 10, cursor: 'c-1' })).rejects.toMatchObject({ code: 'invalid_input' });
      });
    });

    describe('secrets', () => {
      it('starts with one current secret and rotates keeping the previous one until it expires', async () => {
        const created = await addEndpoint();
        expect(await storage.listSecrets(created.id)).toEqual([{ secret: SECRET, createdAt: T0, expiresAt: null }]);
        expect(await storage.rotateSecret({ endpointId: created.id, secret: 'whsec_second', previousExpiresAt: T0 + 1000, now: T0 + 10 })).toBe(true);
        expect(await storage.listSecrets(created.id)).toEqual([
          { secret: 'whsec_second', createdAt: T0 + 10, expiresAt: null },
          { secret: SECRET, createdAt: T0, expiresAt: T0 + 1000 },
        ]);
        await storage.rotateSecret({ endpointId: created.id, secret: 'whsec_third', previousExpiresAt: T0 + 3000, now: T0 + 20 });
        expect((await storage.listSecrets(created.id))?.map((secret) => secret.secret)).toEqual(['whsec_third', 'whsec_second', SECRET]);
        // After the first previous secret expired, the next rotation prunes it.
        await storage.rotateSecret({ endpointId: created.id, secret: 'whsec_fourth', previousExpiresAt: T0 + 5000, now: T0 + 2000 });
        const list = await storage.listSecrets(created.id);
        expect(list?.map((secret) => secret.secret)).toEqual(['whsec_fourth', 'whsec_third', 'whsec_second']);
        expect(list?.filter((secret) => secret.expiresAt === null)).toHaveLength(1);
      });

      it('answers false / undefined for a missing endpoint', async () => {
        expect(await storage.rotateSecret({ endpointId: 'ep_missing', secret: 'whsec_x', previousExpiresAt: T0, now: T0 })).toBe(false);
        expect(await storage.listSecrets('ep_missing')).toBeUndefined();
      });
    });

    describe('messages and fan-out', () => {
      it('creates one delivery per enabled, subscribed endpoint of the tenant', async () => {
        const all = await addEndpoint({ events: [] });
        const subscribed = await addEndpoint({ events: ['registrant.created', 'x.y'] });
        await addEndpoint({ events: ['other.event'] });
        await addEndpoint({ enabled: false, disabledReason: 'manual' });
        await addEndpoint({ tenant: 'tenant_b' });
        const result = await enqueue();
        expect(result.created).toBe(true);
        expect(result.deliveries.map((delivery) => delivery.endpointId).sort()).toEqual([all.id, subscribed.id].sort());
        for (const delivery of result.deliveries) {
          expect(delivery).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: T0, leaseOwner: null, messageId: result.message.id, tenant: 'tenant_a', type: 'registrant.created', retryBaseAttempts: 0, retryBaseAt: T0 });
          expect(delivery.id).toMatch(/^dlv_/);
        }
        expect(await storage.getMessage(result.message.id)).toEqual(result.message);
      });

      it('stores a message with no matching endpoint and no deliveries', async () => {
        const result = await enqueue({ tenant: 'nobody' });
        expect(result.deliveries).toEqual([]);
        expect(await storage.getMessage(result.message.id)).toMatchObject({ tenant: 'nobody', payload: '{"n":1}' });
      });

      it('returns the first message for a repeated idempotency key and writes nothing', async () => {
        await addEndpoint();
        const first = await enqueue({ idempotencyKey: 'order-1' });
        const again = await enqueue({ idempotencyKey: 'order-1', payload: '{"n":2}' });
        expect(again.created).toBe(false);
        expect(again.message).toEqual(first.message);
        expect(again.deliveries.map((delivery) => delivery.id)).toEqual(first.deliveries.map((delivery) => delivery.id));
        expect((await storage.listMessages({ limit: 10 })).items).toHaveLength(1);
        expect((await storage.listDeliveries({ limit: 10 })).items).toHaveLength(1);
        const otherTenant = await enqueue({ idempotencyKey: 'order-1', tenant: 'tenant_b' });
        expect(otherTenant.created).toBe(true);
        expect(otherTenant.message.id).not.toBe(first.message.id);
      });

      it('targets one endpoint whatever its filter for test sends', async () => {
        const target = await addEndpoint({ events: ['other.event'], enabled: false });
        await addEndpoint();
        const result = await storage.enqueueMessage({ message: message(), endpointId: target.id, now: T0 });
        expect(result.deliveries.map((delivery) => delivery.endpointId)).toEqual([target.id]);
      });

      it('rejects a duplicate message id with conflict', async () => {
        const first = await enqueue();
        await expect(storage.enqueueMessage({ message: { ...first.message }, now: T0 })).rejects.toMatchObject({ code: 'conflict' });
      });

      it('lists messages newest first with filters and pagination', async () => {
        const ids: string[] = [];
        for (let index = 0; index < 5; index++) ids.push((await enqueue({ type: index % 2 === 0 ? 'even' : 'odd' }, T0 + index * 1000)).message.id);
        await enqueue({ tenant: 'tenant_b' }, T0);
        const page1 = await storage.listMessages({ tenant: 'tenant_a', limit: 3 });
        expect(page1.items.map((item) => item.id)).toEqual([ids[4], ids[3], ids[2]]);
        const page2 = await storage.listMessages({ tenant: 'tenant_a', limit: 3, cursor: page1.nextCursor ?? undefined });
        expect(page2.items.map((item) => item.id)).toEqual([ids[1], ids[0]]);
        expect(page2.nextCursor).toBeNull();
        expect((await storage.listMessages({ limit: 10, type: 'even' })).items.map((item) => item.id)).toEqual([ids[4], ids[2], ids[0]]);
        expect((await storage.listMessages({ limit: 10, tenant: 'tenant_a', since: T0 + 1000, until: T0 + 3000 })).items.map((item) => item.id)).toEqual([ids[2], ids[1]]);
        expect(await storage.getMessage('msg_missing')).toBeUndefined();
      });
    });

    describe('claims and leases', () => {
      it('claims only due deliveries and leases them', async () => {
        const target = await addEndpoint();
        const { deliveries } = await enqueue({}, T0);
        await enqueue({}, T0 + 60_000);
        const claimed = await claim(T0 + 1, { leaseMs: 10_000 });
        expect(claimed).toHaveLength(1);
        const [item] = claimed;
        expect(item?.delivery).toMatchObject({ id: deliveries[0]?.id, status: 'in_flight', leaseOwner: 'worker-1', leaseUntil: T0 + 10_001 });
        expect(item?.endpoint).toMatchObject({ id: target.id, url: target.url, headers: { 'x-custom': 'yes' } });
        expect(item?.message).toMatchObject({ payload: '{"n":1}' });
        expect(await storage.getDelivery(deliveries[0]?.id as string)).toMatchObject({ status: 'in_flight', leaseOwner: 'worker-1' });
        // The live lease keeps it from everyone, the future one is not due.
        expect(await claim(T0 + 5000, { owner: 'worker-2' })).toEqual([]);
      });

      it('makes an expired lease claimable again', async () => {
        await addEndpoint();
        const { deliveries } = await enqueue();
        await claim(T0, { leaseMs: 1000 });
        expect(await claim(T0 + 999, { owner: 'worker-2' })).toEqual([]);
        const again = await claim(T0 + 1000, { owner: 'worker-2', leaseMs: 1000 });
        expect(again.map((item) => item.delivery.id)).toEqual([deliveries[0]?.id]);
        expect(again[0]?.delivery.leaseOwner).toBe('worker-2');
        // The first owner lost the lease: its result is logged but not applied.
        const late = await storage.finishAttempt({ deliveryId: deliveries[0]?.id as string, owner: 'worker-1', attempt: attemptOf(again[0]?.delivery as { id: string; messageId: string; endpointId: string }, { success: true }), next: { status: 'succeeded', nextAttemptAt: null }, endpoint: { success: true }, now: T0 + 1001 });
        expect(late.applied).toBe(false);
        expect(await storage.getDelivery(deliveries[0]?.id as string)).toMatchObject({ status: 'in_flight', leaseOwner: 'worker-2', attempts: 0 });
        expect((await storage.listAttempts({ limit: 10 })).items).toHaveLength(1);
      });

      it('respects the limit', async () => {
        await addEndpoint();
        for (let index = 0; index < 5; index++) await enqueue();
        expect(await claim(T0, { limit: 3 })).toHaveLength(3);
        expect(await claim(T0, { limit: 3 })).toHaveLength(2);
        expect(await claim(T0, { limit: 3 })).toHaveLength(0);
      });

      it('skips disabled and paused endpoints', async () => {
        const disabled = await addEndpoint();
        const paused = await addEndpoint();
        await enqueue();
        await storage.updateEndpoint(disabled.id, { enabled: false, disabledReason: 'manual' }, T0);
        await storage.updateEndpoint(paused.id, { pausedUntil: T0 + 5000 }, T0);
        expect(await claim(T0)).toEqual([]);
        const afterPause = await claim(T0 + 5000);
        expect(afterPause.map((item) => item.endpoint.id)).toEqual([paused.id]);
        await storage.updateEndpoint(disabled.id, { enabled: true, disabledReason: null }, T0);
        expect((await claim(T0 + 5000)).map((item) => item.endpoint.id)).toEqual([disabled.id]);
      });

      it('keeps each endpoint within its concurrency across claims and owners', async () => {
        const busy = await addEndpoint();
        const calm = await addEndpoint({ events: ['only.this'] });
        for (let index = 0; index < 6; index++) await enqueue();
        await enqueue({ type: 'only.this' });
        const first = await claim(T0, { perEndpointConcurrency: 2 });
        expect(first.filter((item) => item.endpoint.id === busy.id)).toHaveLength(2);
        expect(first.filter((item) => item.endpoint.id === calm.id)).toHaveLength(1);
        expect(await claim(T0, { owner: 'worker-2', perEndpointConcurrency: 2 })).toEqual([]);
        const [done] = first;
        if (!done) throw new Error('nothing claimed');
        await storage.finishAttempt({ deliveryId: done.delivery.id, owner: 'worker-1', attempt: attemptOf(done.delivery, { success: true }), next: { status: 'succeeded', nextAttemptAt: null }, endpoint: { success: true }, now: T0 });
        const next = await claim(T0, { owner: 'worker-2', perEndpointConcurrency: 2 });
        expect(next).toHaveLength(1);
        expect(next[0]?.endpoint.id).toBe(done.endpoint.id);
      });

      it('delivers FIFO endpoints one at a time in order, waiting for retries', async () => {
        const fifo = await addEndpoint({ fifo: true });
        const ids: string[] = [];
        for (let index = 0; index < 3; index++) ids.push((await enqueue({}, T0 + index)).deliveries[0]?.id as string);
        const first = await claim(T0 + 10);
        expect(first.map((item) => item.delivery.id)).toEqual([ids[0]]);
        expect(await claim(T0 + 10)).toEqual([]);
        // The head fails and waits for its retry: later deliveries must wait too.
        await storage.finishAttempt({ deliveryId: ids[0] as string, owner: 'worker-1', attempt: attemptOf(first[0]?.delivery as { id: string; messageId: string; endpointId: string }, { success: false }), next: { status: 'pending', nextAttemptAt: T0 + 1000 }, endpoint: { success: false }, now: T0 + 10 });
        expect(await claim(T0 + 500)).toEqual([]);
        const retry = await claim(T0 + 1000);
        expect(retry.map((item) => item.delivery.id)).toEqual([ids[0]]);
        await storage.finishAttempt({ deliveryId: ids[0] as string, owner: 'worker-1', attempt: attemptOf(retry[0]?.delivery as { id: string; messageId: string; endpointId: string }, { success: false, number: 2 }), next: { status: 'failed', nextAttemptAt: null }, endpoint: { success: false }, now: T0 + 1000 });
        // Given up: the next one goes.
        expect((await claim(T0 + 1000)).map((item) => item.delivery.id)).toEqual([ids[1]]);
        expect(fifo.fifo).toBe(true);
      });

      it('puts a recovered FIFO delivery back in its original place', async () => {
        const fifo = await addEndpoint({ fifo: true });
        const ids: string[] = [];
        for (let index = 0; index < 3; index++) ids.push((await enqueue({}, T0 + index)).deliveries[0]?.id as string);
        const [head] = await claim(T0 + 10);
        if (!head) throw new Error('nothing claimed');
        await storage.finishAttempt({ deliveryId: head.delivery.id, owner: 'worker-1', attempt: attemptOf(head.delivery, { success: false }), next: { status: 'failed', nextAttemptAt: null }, endpoint: { success: false }, now: T0 + 10 });
        expect((await claim(T0 + 20)).map((item) => item.delivery.id)).toEqual([ids[1]]);
        await storage.releaseDeliveries('worker-1', { now: T0 + 20 });
        expect(await storage.recoverDeliveries(fifo.id, T0, T0 + 30)).toBe(1);
        expect((await claim(T0 + 30)).map((item) => item.delivery.id)).toEqual([ids[0]]);
      });

      it('keeps FIFO order for deliveries written before the endpoint became FIFO, and lets them go when it stops', async () => {
        const target = await addEndpoint();
        const ids: string[] = [];
        for (let index = 0; index < 3; index++) ids.push((await enqueue({}, T0 + index)).deliveries[0]?.id as string);
        await storage.updateEndpoint(target.id, { fifo: true }, T0 + 5);
        expect((await claim(T0 + 10)).map((item) => item.delivery.id)).toEqual([ids[0]]);
        expect(await claim(T0 + 10)).toEqual([]);
        await storage.updateEndpoint(target.id, { fifo: false }, T0 + 11);
        expect((await claim(T0 + 12)).map((item) => item.delivery.id).sort()).toEqual([ids[1], ids[2]].sort());
      });

      it('puts a failed delivery retried or recovered after its endpoint became FIFO in its original place', async () => {
        const target = await addEndpoint();
        const ids: string[] = [];
        for (let index = 0; index < 2; index++) ids.push((await enqueue({}, T0 + index)).deliveries[0]?.id as string);
        for (const item of await claim(T0 + 10)) {
          await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success: false }), next: { status: 'failed', nextAttemptAt: null }, endpoint: { success: false }, now: T0 + 10 });
        }
        await storage.updateEndpoint(target.id, { fifo: true }, T0 + 20);
        const later = (await enqueue({}, T0 + 21)).deliveries[0]?.id as string;
        await storage.retryDelivery(ids[1] as string, T0 + 22);
        expect((await claim(T0 + 30)).map((item) => item.delivery.id)).toEqual([ids[1]]);
        await storage.releaseDeliveries('worker-1', { now: T0 + 31 });
        expect(await storage.recoverDeliveries(target.id, T0, T0 + 32)).toBe(1);
        expect((await claim(T0 + 40)).map((item) => item.delivery.id)).toEqual([ids[0]]);
        expect(later).toBeDefined();
      });

      it('never gives the same delivery to two concurrent claimers', async () => {
        for (let index = 0; index < 4; index++) await addEndpoint();
        for (let index = 0; index < 25; index++) await enqueue();
        const results = await Promise.all(Array.from({ length: 6 }, (_, index) => claim(T0, { owner: `worker-${index}`, limit: 20 })));
        const ids = results.flat().map((item) => item.delivery.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toHaveLength(100);
        for (const [index, result] of results.entries()) for (const item of result) expect(item.delivery.leaseOwner).toBe(`worker-${index}`);
      });
    });

    describe('finishing attempts', () => {
      it('marks success, logs the attempt and resets the endpoint', async () => {
        const target = await addEndpoint();
        await storage.updateEndpoint(target.id, { consecutiveFailures: 7, pausedUntil: T0 - 1 }, T0);
        const { deliveries } = await enqueue();
        const [item] = await claim(T0);
        if (!item) throw new Error('nothing claimed');
        const result = await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success: true, startedAt: T0 + 3 }), next: { status: 'succeeded', nextAttemptAt: null }, endpoint: { success: true }, now: T0 + 20 });
        expect(result).toMatchObject({ applied: true, previousFailures: 7, disabled: false });
        expect(result.delivery).toMatchObject({ id: deliveries[0]?.id, status: 'succeeded', attempts: 1, nextAttemptAt: null, leaseOwner: null, leaseUntil: null, lastStatus: 200, lastError: null, updatedAt: T0 + 20 });
        expect(result.endpoint).toMatchObject({ consecutiveFailures: 0, pausedUntil: null });
        const attempts = await storage.listAttempts({ limit: 10, deliveryId: item.delivery.id });
        expect(attempts.items).toHaveLength(1);
        expect(attempts.items[0]).toMatchObject({ number: 1, startedAt: T0 + 3, durationMs: 12.5, statusCode: 200, responseHeaders: { 'content-type': 'text/plain' }, responseBody: 'ok', errorCode: null, success: true, messageId: item.message.id });
        expect(attempts.items[0]?.id).toMatch(/^att_/);
        expect(await claim(T0 + 100_000)).toEqual([]);
      });

      it('counts failures, reschedules, disables at the threshold once, and pauses', async () => {
        const target = await addEndpoint();
        await enqueue();
        let now = T0;
        for (let index = 1; index <= 3; index++) {
          const [item] = await claim(now);
          if (!item) throw new Error(`nothing claimed at ${index}`);
          expect(item.delivery.attempts).toBe(index - 1);
          const result = await storage.finishAttempt({
            deliveryId: item.delivery.id,
            owner: 'worker-1',
            attempt: attemptOf(item.delivery, { success: false, statusCode: index === 3 ? null : 503, number: index, startedAt: now }),
            next: { status: 'pending', nextAttemptAt: now + 100 },
            endpoint: { success: false, disableAfter: 3, pauseUntil: index === 1 ? now + 50 : undefined },
            now,
          });
          expect(result.previousFailures).toBe(index - 1);
          expect(result.endpoint?.consecutiveFailures).toBe(index);
          expect(result.disabled).toBe(index === 3);
          expect(result.delivery).toMatchObject({ status: 'pending', nextAttemptAt: now + 100, attempts: index, lastStatus: index === 3 ? null : 503, lastError: index === 3 ? 'timeout' : 'http_503' });
          if (index === 1) expect(result.endpoint?.pausedUntil).toBe(now + 50);
          now += 100;
        }
        expect(await storage.getEndpoint(target.id)).toMatchObject({ enabled: false, disabledReason: 'consecutive_failures', consecutiveFailures: 3 });
        // Disabled: the pending delivery waits instead of failing.
        expect(await claim(now + 10_000)).toEqual([]);
        expect((await storage.listDeliveries({ limit: 10, status: 'pending' })).items).toHaveLength(1);
        const attempts = await storage.listAttempts({ limit: 10, endpointId: target.id, success: false });
        expect(attempts.items.map((attempt) => attempt.number)).toEqual([3, 2, 1]);
        // Enabling resumes the waiting delivery.
        await storage.updateEndpoint(target.id, { enabled: true, disabledReason: null, consecutiveFailures: 0 }, now);
        expect((await claim(now + 10_000)).map((item) => item.endpoint.id)).toEqual([target.id]);
      });

      it('disables at once with a reason (HTTP 410)', async () => {
        const target = await addEndpoint();
        await enqueue();
        const [item] = await claim(T0);
        if (!item) throw new Error('nothing claimed');
        const result = await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success: false, statusCode: 410 }), next: { status: 'pending', nextAttemptAt: T0 + 10 }, endpoint: { success: false, disableReason: 'gone' }, now: T0 });
        expect(result.disabled).toBe(true);
        expect(await storage.getEndpoint(target.id)).toMatchObject({ enabled: false, disabledReason: 'gone' });
      });
    });

    describe('batches, signing secrets, trace context and shared rate limits', () => {
      it('claims each delivery with its message (and trace context) and the signing secrets valid at the claim', async () => {
        const target = await addEndpoint();
        await storage.rotateSecret({ endpointId: target.id, secret: 'whsec_second', previousExpiresAt: T0 + 1_000, now: T0 });
        await storage.rotateSecret({ endpointId: target.id, secret: 'whsec_third', previousExpiresAt: T0 + 2_000, now: T0 + 1 });
        const traceContext = '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"vendor=1"}';
        const traced = await enqueue({ traceContext }, T0 + 10);
        const plain = await enqueue({}, T0 + 11);
        expect(traced.message.traceContext).toBe(traceContext);
        expect(plain.message.traceContext ?? null).toBeNull();
        expect((await storage.getMessage(traced.message.id))?.traceContext).toBe(traceContext);
        const claimed = await claim(T0 + 1_500);
        expect(claimed.map((item) => item.message.id)).toEqual([traced.message.id, plain.message.id]);
        expect(claimed[0]?.message.traceContext).toBe(traceContext);
        expect(claimed[1]?.message.traceContext ?? null).toBeNull();
        // Current first, then unexpired previous ones newest first; the first secret expired at T0 + 1,000.
        for (const item of claimed) expect(item.secrets.map((secret) => [secret.secret, secret.expiresAt])).toEqual([['whsec_third', null], ['whsec_second', T0 + 2_000]]);
        // Copies: changing them changes nothing stored.
        claimed[0]?.secrets.splice(0);
        expect((await storage.listSecrets(target.id))?.map((secret) => secret.secret)).toEqual(['whsec_third', 'whsec_second', SECRET]);
      });

      it('finishes a batch in one call, in order: failures counted across it, notifications recorded, lost leases not applied', async () => {
        const target = await addEndpoint();
        for (let index = 0; index < 4; index++) await enqueue({}, T0 + index);
        const claimed = await claim(T0 + 10);
        expect(claimed).toHaveLength(4);
        const [first, second, third, fourth] = claimed as [(typeof claimed)[number], (typeof claimed)[number], (typeof claimed)[number], (typeof claimed)[number]];
        const fail = (item: typeof first, owner = 'worker-1'): FinishAttemptInput => ({
          deliveryId: item.delivery.id,
          owner,
          attempt: attemptOf(item.delivery, { success: false, statusCode: 500, startedAt: T0 + 20 }),
          next: { status: 'pending', nextAttemptAt: T0 + 1_000 },
          endpoint: { success: false, disableAfter: 100, notifyAfter: [2] },
          now: T0 + 30,
        });
        const succeed = (item: typeof first): FinishAttemptInput => ({
          deliveryId: item.delivery.id,
          owner: 'worker-1',
          attempt: attemptOf(item.delivery, { success: true, startedAt: T0 + 20 }),
          next: { status: 'succeeded', nextAttemptAt: null },
          endpoint: { success: true, recoveredAfter: 2 },
          now: T0 + 31,
        });
        const results = await storage.finishAttempts([fail(first), fail(second), fail(third, 'someone-else'), succeed(fourth)]);
        expect(results.map((result) => result.applied)).toEqual([true, true, false, true]);
        expect(results.map((result) => result.delivery?.id)).toEqual([first.delivery.id, second.delivery.id, third.delivery.id, fourth.delivery.id]);
        expect(results.map((result) => result.previousFailures)).toEqual([0, 1, 2, 2]);
        expect(results[0]?.endpoint?.consecutiveFailures).toBe(1);
        expect(results[1]?.endpoint?.consecutiveFailures).toBe(2);
        expect(results[3]?.endpoint?.consecutiveFailures).toBe(0);
        expect(results[0]?.notifications).toEqual([]);
        expect(results[1]?.notifications.map((notification) => [notification.type, notification.failures])).toEqual([['endpoint.failing', 2]]);
        expect(results[2]?.notifications).toEqual([]);
        expect(results[3]?.notifications.map((notification) => [notification.type, notification.failures])).toEqual([['endpoint.recovered', 2]]);
        expect(results[2]?.delivery).toMatchObject({ status: 'in_flight', leaseOwner: 'worker-1', attempts: 0 });
        expect(results[3]?.delivery).toMatchObject({ status: 'succeeded', attempts: 1 });
        // Every attempt is logged, the one that lost its lease too.
        expect((await storage.listAttempts({ limit: 10, endpointId: target.id })).items).toHaveLength(4);
        expect(await storage.getEndpoint(target.id)).toMatchObject({ consecutiveFailures: 0 });
        expect(await storage.finishAttempts([])).toEqual([]);
      });

      it('finishes a batch of successes: each result with its own copy of its endpoint, lost leases and repeated deliveries not applied', async () => {
        const first = await addEndpoint();
        const second = await addEndpoint();
        for (let index = 0; index < 3; index++) await enqueue({}, T0 + index);
        const claimed = await claim(T0 + 10);
        expect(claimed).toHaveLength(6);
        const succeed = (item: (typeof claimed)[number], owner = 'worker-1'): FinishAttemptInput => ({
          deliveryId: item.delivery.id,
          owner,
          attempt: attemptOf(item.delivery, { success: true, startedAt: T0 + 20 }),
          next: { status: 'succeeded', nextAttemptAt: null },
          endpoint: { success: true, recoveredAfter: 2 },
          now: T0 + 30,
        });
        const head = claimed[0] as (typeof claimed)[number];
        // The third lost its lease; the first comes twice (the second time it is no longer in flight).
        const results = await storage.finishAttempts([...claimed.map((item, index) => succeed(item, index === 2 ? 'someone-else' : 'worker-1')), succeed(head)]);
        expect(results.map((result) => result.applied)).toEqual([true, true, false, true, true, true, false]);
        expect(results.map((result) => result.endpoint?.id)).toEqual([...claimed.map((item) => item.endpoint.id), head.endpoint.id]);
        expect(new Set(results.map((result) => result.endpoint?.id))).toEqual(new Set([first.id, second.id]));
        expect(results.map((result) => result.previousFailures)).toEqual([0, 0, 0, 0, 0, 0, 0]);
        expect(results.map((result) => result.disabled)).toEqual([false, false, false, false, false, false, false]);
        expect(results.flatMap((result) => result.notifications)).toEqual([]);
        // Copies: changing one result's endpoint changes no other.
        expect(new Set(results.map((result) => result.endpoint)).size).toBe(7);
        const changed = results[0]?.endpoint;
        if (changed) changed.headers.changed = 'yes';
        expect(results.slice(1).every((result) => result.endpoint?.headers.changed === undefined)).toBe(true);
        for (const result of results) expect(result.endpoint).toMatchObject({ consecutiveFailures: 0, headers: expect.objectContaining({ 'x-custom': 'yes' }), metadata: { plan: 'pro', nested: { a: 1 } } });
        expect(results[0]?.delivery).toMatchObject({ id: head.delivery.id, status: 'succeeded', attempts: 1 });
        expect(results[2]?.delivery).toMatchObject({ status: 'in_flight', leaseOwner: 'worker-1', attempts: 0 });
        expect(results[6]?.delivery).toMatchObject({ id: head.delivery.id, status: 'succeeded', attempts: 1 });
        // Every attempt is logged, applied or not.
        expect((await storage.listAttempts({ limit: 20 })).items).toHaveLength(7);
      });

      it('finishes a batch all or nothing', async () => {
        await addEndpoint();
        await enqueue({}, T0);
        await enqueue({}, T0 + 1);
        const [first, second] = await claim(T0 + 10);
        if (!first || !second) throw new Error('nothing claimed');
        const input = (item: typeof first, attemptId: string): FinishAttemptInput => ({
          deliveryId: item.delivery.id,
          owner: 'worker-1',
          attempt: { ...attemptOf(item.delivery, { success: true }), id: attemptId },
          next: { status: 'succeeded', nextAttemptAt: null },
          endpoint: { success: true },
          now: T0 + 20,
        });
        const logged = createId('att', T0 + 20);
        await storage.finishAttempts([input(first, logged)]);
        // The second item reuses a logged attempt id: the whole batch is refused.
        await expect(storage.finishAttempts([input(second, createId('att', T0 + 21)), input(second, logged)])).rejects.toMatchObject({ code: 'conflict' });
        expect(await storage.getDelivery(second.delivery.id)).toMatchObject({ status: 'in_flight', attempts: 0 });
        expect((await storage.listAttempts({ limit: 10, deliveryId: second.delivery.id })).items).toEqual([]);
      });

      it('enqueues a batch in one call, keeps idempotency inside it, and writes nothing when one message is refused', async () => {
        const target = await addEndpoint();
        await addEndpoint({ events: ['other.event'] });
        const first = message({ idempotencyKey: 'order-1' });
        const repeat = message({ idempotencyKey: 'order-1' });
        const plain = message();
        const results = await storage.enqueueMessages([
          { message: first, now: T0 },
          { message: repeat, now: T0 },
          { message: plain, now: T0 + 1 },
        ]);
        expect(results.map((result) => [result.message.id, result.created, result.deliveries.length])).toEqual([
          [first.id, true, 1],
          [first.id, false, 1],
          [plain.id, true, 1],
        ]);
        expect(results[1]?.deliveries.map((delivery) => delivery.id)).toEqual(results[0]?.deliveries.map((delivery) => delivery.id));
        expect(results[2]?.deliveries[0]).toMatchObject({ endpointId: target.id, status: 'pending', nextAttemptAt: T0 + 1, attempts: 0 });
        expect(await storage.enqueueMessages([])).toEqual([]);
        // A duplicate message id anywhere in the batch: nothing of it is stored.
        const fresh = message();
        await expect(storage.enqueueMessages([{ message: fresh, now: T0 + 2 }, { message: { ...plain }, now: T0 + 2 }])).rejects.toMatchObject({ code: 'conflict' });
        expect(await storage.getMessage(fresh.id)).toBeUndefined();
        expect((await storage.listMessages({ limit: 10 })).items).toHaveLength(2);
        expect((await storage.listDeliveries({ limit: 10 })).items).toHaveLength(2);
      });

      it('spaces a rate-limited endpoint across owners: one at a time, the next not before 1000 / rate ms after the claim and after the start', async () => {
        const limited = await addEndpoint({ rateLimit: 4 });
        const free = await addEndpoint();
        for (let index = 0; index < 5; index++) await enqueue({}, T0);
        const first = await claim(T0, { owner: 'worker-1' });
        expect(first.filter((item) => item.endpoint.id === limited.id)).toHaveLength(1);
        expect(first.filter((item) => item.endpoint.id === free.id)).toHaveLength(5);
        const [held] = first.filter((item) => item.endpoint.id === limited.id);
        if (!held) throw new Error('nothing claimed');
        expect(await claim(T0 + 249, { owner: 'worker-2' })).toEqual([]);
        // 250 ms after the claim, but the first attempt is still in flight: none.
        expect(await claim(T0 + 300, { owner: 'worker-2' })).toEqual([]);
        // It started late (T0 + 100, e.g. it waited for a free slot): the next one waits until T0 + 350.
        const finish = (item: typeof held, owner: string, startedAt: number): FinishAttemptInput => ({
          deliveryId: item.delivery.id,
          owner,
          attempt: attemptOf(item.delivery, { success: true, startedAt }),
          next: { status: 'succeeded', nextAttemptAt: null },
          endpoint: { success: true },
          now: startedAt + 10,
        });
        await storage.finishAttempts([finish(held, 'worker-1', T0 + 100)]);
        expect(await claim(T0 + 349, { owner: 'worker-2' })).toEqual([]);
        const [second] = await claim(T0 + 350, { owner: 'worker-2' });
        expect(second?.endpoint.id).toBe(limited.id);
        if (!second) throw new Error('nothing claimed');
        expect(await claim(T0 + 1_000, { owner: 'worker-1' })).toEqual([]);
        await storage.finishAttempts([finish(second, 'worker-2', T0 + 350)]);
        expect(await claim(T0 + 599, { owner: 'worker-1' })).toEqual([]);
        expect((await claim(T0 + 600, { owner: 'worker-1' })).map((item) => item.endpoint.id)).toEqual([limited.id]);
      });
    });

    describe('release, retry and recover', () => {
      it('releases only the owner’s leases, optionally deferring them', async () => {
        await addEndpoint();
        for (let index = 0; index < 3; index++) await enqueue();
        const mine = await claim(T0, { limit: 2 });
        const theirs = await claim(T0, { owner: 'worker-2' });
        expect(await storage.releaseDeliveries('worker-1', { ids: [mine[0]?.delivery.id as string], nextAttemptAt: T0 + 500, now: T0 })).toBe(1);
        expect(await storage.getDelivery(mine[0]?.delivery.id as string)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 500, leaseOwner: null, attempts: 0 });
        expect(await storage.releaseDeliveries('worker-1', { now: T0 })).toBe(1);
        expect(await storage.getDelivery(mine[1]?.delivery.id as string)).toMatchObject({ status: 'pending', nextAttemptAt: T0 });
        expect(await storage.getDelivery(theirs[0]?.delivery.id as string)).toMatchObject({ status: 'in_flight', leaseOwner: 'worker-2' });
        expect((await claim(T0 + 1)).map((item) => item.delivery.id)).toEqual([mine[1]?.delivery.id]);
        expect((await claim(T0 + 500)).map((item) => item.delivery.id)).toEqual([mine[0]?.delivery.id]);
      });

      it('retries a failed delivery with a new cycle and leaves succeeded ones alone', async () => {
        await addEndpoint();
        await enqueue();
        await enqueue();
        const items = await claim(T0);
        const [failed, succeeded] = items;
        if (!failed || !succeeded) throw new Error('nothing claimed');
        await storage.finishAttempt({ deliveryId: failed.delivery.id, owner: 'worker-1', attempt: attemptOf(failed.delivery, { success: false }), next: { status: 'failed', nextAttemptAt: null }, endpoint: { success: false }, now: T0 });
        await storage.finishAttempt({ deliveryId: succeeded.delivery.id, owner: 'worker-1', attempt: attemptOf(succeeded.delivery, { success: true }), next: { status: 'succeeded', nextAttemptAt: null }, endpoint: { success: true }, now: T0 });
        expect(await storage.getDelivery(failed.delivery.id)).toMatchObject({ status: 'failed', nextAttemptAt: null });
        const retried = await storage.retryDelivery(failed.delivery.id, T0 + 50);
        expect(retried).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 50, attempts: 1, retryBaseAttempts: 1, retryBaseAt: T0 + 50 });
        expect(await storage.retryDelivery(succeeded.delivery.id, T0 + 50)).toMatchObject({ status: 'succeeded' });
        expect(await storage.retryDelivery('dlv_missing', T0)).toBeUndefined();
        expect((await claim(T0 + 50)).map((item) => item.delivery.id)).toEqual([failed.delivery.id]);
      });

      it('recovers failed deliveries of an endpoint since a time', async () => {
        const target = await addEndpoint();
        const other = await addEndpoint({ tenant: 'tenant_b' });
        for (const at of [T0, T0 + 1000, T0 + 2000]) await enqueue({}, at);
        await enqueue({ tenant: 'tenant_b' }, T0 + 2000);
        for (const item of await claim(T0 + 5000)) {
          await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success: false }), next: { status: 'failed', nextAttemptAt: null }, endpoint: { success: false }, now: T0 + 5000 });
        }
        expect(await storage.recoverDeliveries(target.id, T0 + 1000, T0 + 6000)).toBe(2);
        expect((await storage.listDeliveries({ limit: 10, endpointId: target.id, status: 'pending' })).items.map((item) => item.createdAt).sort()).toEqual([T0 + 1000, T0 + 2000]);
        expect((await storage.listDeliveries({ limit: 10, endpointId: target.id, status: 'failed' })).items).toHaveLength(1);
        expect((await storage.listDeliveries({ limit: 10, endpointId: other.id, status: 'failed' })).items).toHaveLength(1);
        expect(await storage.recoverDeliveries('ep_missing', 0, T0)).toBe(0);
      });
    });

    describe('logs', () => {
      it('lists deliveries newest first with every filter and pagination', async () => {
        const a = await addEndpoint();
        const b = await addEndpoint();
        const sent = [];
        for (let index = 0; index < 3; index++) sent.push(await enqueue({ type: index === 1 ? 'other' : 'registrant.created' }, T0 + index * 1000));
        const all = await storage.listDeliveries({ limit: 4 });
        expect(all.items).toHaveLength(4);
        expect(all.items[0]?.createdAt).toBe(T0 + 2000);
        const rest = await storage.listDeliveries({ limit: 4, cursor: all.nextCursor ?? undefined });
        expect(rest.items).toHaveLength(2);
        expect(rest.nextCursor).toBeNull();
        expect(new Set([...all.items, ...rest.items].map((item) => item.id)).size).toBe(6);
        expect((await storage.listDeliveries({ limit: 10, endpointId: a.id })).items.every((item) => item.endpointId === a.id)).toBe(true);
        expect((await storage.listDeliveries({ limit: 10, messageId: sent[0]?.message.id })).items.map((item) => item.endpointId).sort()).toEqual([a.id, b.id].sort());
        expect((await storage.listDeliveries({ limit: 10, type: 'other' })).items).toHaveLength(2);
        expect((await storage.listDeliveries({ limit: 10, since: T0 + 1000, until: T0 + 2000 })).items).toHaveLength(2);
        expect((await storage.listDeliveries({ limit: 10, tenant: 'tenant_b' })).items).toHaveLength(0);
        expect((await storage.listDeliveries({ limit: 10, status: 'succeeded' })).items).toHaveLength(0);
        expect(await storage.getDelivery('dlv_missing')).toBeUndefined();
      });

      it('lists attempts newest first with filters and pagination', async () => {
        await addEndpoint();
        await enqueue();
        let now = T0;
        for (let index = 1; index <= 5; index++) {
          const [item] = await claim(now);
          if (!item) throw new Error('nothing claimed');
          const success = index === 5;
          await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success, number: index, startedAt: now }), next: success ? { status: 'succeeded', nextAttemptAt: null } : { status: 'pending', nextAttemptAt: now + 10 }, endpoint: { success }, now });
          now += 10;
        }
        const page1 = await storage.listAttempts({ limit: 2 });
        expect(page1.items.map((item) => item.number)).toEqual([5, 4]);
        const page2 = await storage.listAttempts({ limit: 2, cursor: page1.nextCursor ?? undefined });
        expect(page2.items.map((item) => item.number)).toEqual([3, 2]);
        const page3 = await storage.listAttempts({ limit: 2, cursor: page2.nextCursor ?? undefined });
        expect(page3.items.map((item) => item.number)).toEqual([1]);
        expect(page3.nextCursor).toBeNull();
        expect((await storage.listAttempts({ limit: 10, success: true })).items.map((item) => item.number)).toEqual([5]);
        expect((await storage.listAttempts({ limit: 10, since: T0 + 10, until: T0 + 30 })).items.map((item) => item.number)).toEqual([3, 2]);
      });
    });

    describe('enabling, secrets and maintenance', () => {
      it('resumes the waiting deliveries of an endpoint at once when it is enabled again', async () => {
        const target = await addEndpoint();
        const { deliveries } = await enqueue();
        const [item] = await claim(T0);
        if (!item) throw new Error('nothing claimed');
        // A failure whose retry is a day away, then the endpoint is disabled.
        await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success: false }), next: { status: 'pending', nextAttemptAt: T0 + 86_400_000 }, endpoint: { success: false }, now: T0 });
        await storage.updateEndpoint(target.id, { enabled: false, disabledReason: 'consecutive_failures' }, T0 + 5);
        expect(await claim(T0 + 10)).toEqual([]);
        // A change other than enabling moves nothing.
        await storage.updateEndpoint(target.id, { name: 'renamed' }, T0 + 8);
        expect((await storage.getDelivery(deliveries[0]?.id as string))?.nextAttemptAt).toBe(T0 + 86_400_000);
        await storage.updateEndpoint(target.id, { enabled: true, disabledReason: null, consecutiveFailures: 0 }, T0 + 10);
        expect(await storage.getDelivery(deliveries[0]?.id as string)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 10, attempts: 1 });
        expect((await claim(T0 + 10)).map((claimed) => claimed.delivery.id)).toEqual([deliveries[0]?.id]);
      });

      it('replaces a stored secret value only while it is unchanged', async () => {
        const created = await addEndpoint();
        await storage.rotateSecret({ endpointId: created.id, secret: 'whsec_second', previousExpiresAt: T0 + 1000, now: T0 + 10 });
        expect(await storage.replaceSecret({ endpointId: created.id, from: SECRET, to: 'enc1:k2:first' })).toBe(true);
        expect(await storage.replaceSecret({ endpointId: created.id, from: 'whsec_second', to: 'enc1:k2:second' })).toBe(true);
        expect(await storage.listSecrets(created.id)).toEqual([
          { secret: 'enc1:k2:second', createdAt: T0 + 10, expiresAt: null },
          { secret: 'enc1:k2:first', createdAt: T0, expiresAt: T0 + 1000 },
        ]);
        expect(await storage.replaceSecret({ endpointId: created.id, from: SECRET, to: 'enc1:k3:x' })).toBe(false);
        expect(await storage.replaceSecret({ endpointId: 'ep_missing', from: SECRET, to: 'enc1:k3:x' })).toBe(false);
      });

      it('migrates idempotently', async () => {
        await storage.migrate();
        await storage.migrate();
        expect(await storage.getEndpoint('ep_none')).toBeUndefined();
      });

      it('prunes old finished messages with their deliveries and attempts, in batches, keeping unfinished ones', async () => {
        await addEndpoint();
        const old: string[] = [];
        for (let index = 0; index < 5; index++) old.push((await enqueue({}, T0 + index)).message.id);
        const recent = (await enqueue({}, T0 + 1000)).message.id;
        const claimed = await claim(T0 + 2000, { limit: 10 });
        expect(claimed).toHaveLength(6);
        for (const item of claimed) {
          // The oldest message stays in retry: never pruned, whatever its age.
          if (item.message.id === old[0]) {
            await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success: false }), next: { status: 'pending', nextAttemptAt: T0 + 9_999 }, endpoint: { success: false }, now: T0 + 2000 });
          } else {
            const success = item.message.id !== old[1];
            await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success }), next: success ? { status: 'succeeded', nextAttemptAt: null } : { status: 'failed', nextAttemptAt: null }, endpoint: { success }, now: T0 + 2000 });
          }
        }
        const noDeliveries = (await enqueue({ tenant: 'nobody' }, T0 + 3)).message.id;
        await expect(storage.prune({ olderThan: Number.NaN })).rejects.toMatchObject({ code: 'invalid_input' });
        await expect(storage.prune({ olderThan: T0, batchSize: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
        const first = await storage.prune({ olderThan: T0 + 500, batchSize: 2, maxBatches: 1 });
        expect(first).toMatchObject({ messages: 2, batches: 1 });
        const rest = await storage.prune({ olderThan: T0 + 500, batchSize: 2 });
        expect(rest.messages).toBe(3);
        expect(first.deliveries + rest.deliveries).toBe(4);
        expect(first.attempts + rest.attempts).toBe(4);
        for (const id of [...old.slice(1), noDeliveries]) expect(await storage.getMessage(id)).toBeUndefined();
        expect(await storage.getMessage(old[0] as string)).toBeDefined();
        expect(await storage.getMessage(recent)).toBeDefined();
        const left = await storage.listDeliveries({ limit: 10 });
        expect(left.items.map((delivery) => delivery.messageId).sort()).toEqual([old[0], recent].sort());
        expect((await storage.listAttempts({ limit: 10 })).items.map((attempt) => attempt.messageId).sort()).toEqual([old[0], recent].sort());
        expect(await storage.prune({ olderThan: T0 + 500 })).toMatchObject({ messages: 0, deliveries: 0, attempts: 0 });
      });
    });

    describe('owner notifications', () => {
      async function failOnce(now: number, effect: Partial<FinishAttemptInput['endpoint']>, owner = 'worker-1') {
        const [item] = await claim(now, { owner });
        if (!item) throw new Error(`nothing claimed at ${now}`);
        return storage.finishAttempt({
          deliveryId: item.delivery.id,
          owner,
          attempt: attemptOf(item.delivery, { success: false, startedAt: now, number: item.delivery.attempts + 1 }),
          next: { status: 'pending', nextAttemptAt: now + 10 },
          endpoint: { success: false, ...effect },
          now,
        });
      }

      it('records failing and disabled notifications in the attempt that caused them, once each', async () => {
        const target = await addEndpoint();
        await enqueue();
        const effect = { disableAfter: 4, notifyAfter: [2, 3] };
        const recorded = [];
        for (let index = 0; index < 4; index++) recorded.push(await failOnce(T0 + index * 10, effect));
        expect(recorded.map((result) => result.notifications.map((notice) => [notice.type, notice.failures, notice.reason]))).toEqual([
          [],
          [['endpoint.failing', 2, null]],
          [['endpoint.failing', 3, null]],
          [['endpoint.disabled', 4, 'consecutive_failures']],
        ]);
        const disabled = recorded[3]?.notifications[0];
        expect(disabled).toMatchObject({ endpointId: target.id, tenant: 'tenant_a', createdAt: T0 + 30, attempts: 0 });
        expect(disabled?.id).toMatch(/^ntf_/);
        expect(disabled?.endpoint).toMatchObject({ id: target.id, url: target.url, enabled: false, consecutiveFailures: 4, disabledReason: 'consecutive_failures', headers: { 'x-custom': 'yes' } });
        const claimed = await storage.claimNotifications({ owner: 'n1', now: T0 + 100, leaseMs: 1000, limit: 10, types: ['endpoint.failing', 'endpoint.disabled', 'endpoint.recovered'] });
        expect(claimed.map((notice) => [notice.type, notice.failures, notice.attempts])).toEqual([
          ['endpoint.failing', 2, 1],
          ['endpoint.failing', 3, 1],
          ['endpoint.disabled', 4, 1],
        ]);
        expect(claimed.map((notice) => notice.id)).toEqual(recorded.flatMap((result) => result.notifications.map((notice) => notice.id)));
      });

      it('records gone and recovered notifications, and none for an attempt that lost its lease', async () => {
        const gone = await addEndpoint();
        const flaky = await addEndpoint({ tenant: 'tenant_b' });
        await enqueue();
        await enqueue({ tenant: 'tenant_b' });
        const [goneItem] = (await claim(T0)).filter((item) => item.endpoint.id === gone.id);
        if (!goneItem) throw new Error('nothing claimed');
        const result = await storage.finishAttempt({ deliveryId: goneItem.delivery.id, owner: 'worker-1', attempt: attemptOf(goneItem.delivery, { success: false, statusCode: 410 }), next: { status: 'pending', nextAttemptAt: T0 + 10 }, endpoint: { success: false, disableReason: 'gone', disableAfter: 20, notifyAfter: [5] }, now: T0 });
        expect(result.notifications.map((notice) => [notice.type, notice.reason])).toEqual([['endpoint.disabled', 'gone']]);
        // flaky: two failures (a notice at 2), then a success after them.
        await storage.releaseDeliveries('worker-1', { now: T0 });
        await failOnce(T0 + 100, { notifyAfter: [2] });
        const second = await failOnce(T0 + 200, { notifyAfter: [2] });
        expect(second.notifications.map((notice) => notice.type)).toEqual(['endpoint.failing']);
        const [item] = await claim(T0 + 300);
        if (!item) throw new Error('nothing claimed');
        expect(item.endpoint.id).toBe(flaky.id);
        // A late result of another owner: logged, not applied, no notification.
        const late = await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'someone-else', attempt: attemptOf(item.delivery, { success: false }), next: { status: 'pending', nextAttemptAt: T0 + 400 }, endpoint: { success: false, notifyAfter: [3] }, now: T0 + 300 });
        expect(late).toMatchObject({ applied: false, notifications: [] });
        const recovered = await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success: true }), next: { status: 'succeeded', nextAttemptAt: null }, endpoint: { success: true, recoveredAfter: 2 }, now: T0 + 300 });
        expect(recovered.notifications.map((notice) => [notice.type, notice.failures, notice.endpoint.consecutiveFailures])).toEqual([['endpoint.recovered', 2, 0]]);
      });

      it('hands notifications over with leases: types, no double claims, settle, retry', async () => {
        for (let index = 0; index < 3; index++) {
          await addEndpoint();
          await enqueue();
        }
        // Three endpoints fail once with a notice at 1: three failing notifications.
        for (const item of await claim(T0)) {
          await storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success: false }), next: { status: 'pending', nextAttemptAt: T0 + 99_999 }, endpoint: { success: false, notifyAfter: [1] }, now: T0 });
        }
        const all = ['endpoint.failing', 'endpoint.disabled', 'endpoint.recovered'] as const;
        expect(await storage.claimNotifications({ owner: 'n0', now: T0, leaseMs: 1000, limit: 10, types: ['endpoint.disabled'] })).toEqual([]);
        const [a, b] = await Promise.all(['n1', 'n2'].map((owner) => storage.claimNotifications({ owner, now: T0, leaseMs: 1000, limit: 2, types: all })));
        const ids = [...(a ?? []), ...(b ?? [])].map((notice) => notice.id);
        expect(ids).toHaveLength(3);
        expect(new Set(ids).size).toBe(3);
        const mine = a?.length ? { owner: 'n1', notices: a } : { owner: 'n2', notices: b ?? [] };
        const [first, second] = mine.notices;
        if (!first) throw new Error('nothing claimed');
        // Leased: nobody else gets them until the lease ends.
        expect(await storage.claimNotifications({ owner: 'n3', now: T0 + 999, leaseMs: 1000, limit: 10, types: all })).toEqual([]);
        expect(await storage.settleNotification({ id: first.id, owner: 'n3', now: T0 + 5, delivered: true })).toBe(false);
        expect(await storage.settleNotification({ id: first.id, owner: mine.owner, now: T0 + 5, delivered: true })).toBe(true);
        expect(await storage.settleNotification({ id: first.id, owner: mine.owner, now: T0 + 6, delivered: true })).toBe(false);
        if (second) expect(await storage.settleNotification({ id: second.id, owner: mine.owner, now: T0 + 5, delivered: false, retryAt: T0 + 5000, error: 'mail server down' })).toBe(true);
        // After the leases: the unsettled one comes back (same id, counted), the delivered one never.
        const again = await storage.claimNotifications({ owner: 'n4', now: T0 + 1000, leaseMs: 1000, limit: 10, types: all });
        const expectedBack = ids.filter((id) => id !== first.id && id !== second?.id);
        expect(again.map((notice) => notice.id)).toEqual(expectedBack);
        expect(again.every((notice) => notice.attempts === 2)).toBe(true);
        for (const notice of again) expect(await storage.settleNotification({ id: notice.id, owner: 'n4', now: T0 + 1001, delivered: true })).toBe(true);
        if (second) {
          expect(await storage.claimNotifications({ owner: 'n4', now: T0 + 4999, leaseMs: 1000, limit: 10, types: all })).toEqual([]);
          const retried = await storage.claimNotifications({ owner: 'n5', now: T0 + 5000, leaseMs: 1000, limit: 10, types: all });
          expect(retried.map((notice) => [notice.id, notice.attempts])).toEqual([[second.id, 2]]);
        }
        // Retention removes delivered notifications only.
        const pruned = await storage.prune({ olderThan: T0 + 1 });
        expect(pruned.notifications).toBe(1 + again.length);
        expect(await storage.prune({ olderThan: T0 + 1 })).toMatchObject({ notifications: 0 });
      });
    });

    describe('queue stats (metrics)', () => {
      function stats(now: number, limit?: number) {
        if (!storage.stats) throw new Error(`${name} has no stats()`);
        return storage.stats(now, limit === undefined ? undefined : { limit });
      }

      it('is empty on an empty storage', async () => {
        expect(await stats(T0)).toEqual({ due: 0, scheduled: 0, inFlight: 0, oldestDueAt: null });
      });

      it('counts due, scheduled and in-flight deliveries and dates the oldest due one', async () => {
        const first = await addEndpoint();
        await addEndpoint();
        await enqueue({}, T0);
        await enqueue({}, T0 + 10);
        // Before they are due: scheduled, nothing due.
        expect(await stats(T0 - 1)).toEqual({ due: 0, scheduled: 4, inFlight: 0, oldestDueAt: null });
        expect(await stats(T0 + 5)).toEqual({ due: 2, scheduled: 2, inFlight: 0, oldestDueAt: T0 });
        expect(await stats(T0 + 10)).toEqual({ due: 4, scheduled: 0, inFlight: 0, oldestDueAt: T0 });

        // Leased: in flight until the lease ends, then due again (its dispatcher died), due since the lease end.
        const claimed = await claim(T0 + 20, { limit: 3, leaseMs: 1_000 });
        expect(claimed).toHaveLength(3);
        expect(await stats(T0 + 20)).toEqual({ due: 1, scheduled: 0, inFlight: 3, oldestDueAt: expect.any(Number) });
        expect(await stats(T0 + 1_020)).toEqual({ due: 4, scheduled: 0, inFlight: 0, oldestDueAt: expect.any(Number) });

        // Finished: a success leaves the queue, a failure waits for its retry, a give-up leaves it.
        const [succeeded, retried, givenUp] = claimed as [ClaimedDelivery, ClaimedDelivery, ClaimedDelivery];
        const finish = (item: ClaimedDelivery, success: boolean, next: FinishAttemptInput['next']) =>
          storage.finishAttempt({ deliveryId: item.delivery.id, owner: 'worker-1', attempt: attemptOf(item.delivery, { success }), next, endpoint: { success }, now: T0 + 30 });
        await finish(succeeded, true, { status: 'succeeded', nextAttemptAt: null });
        await finish(retried, false, { status: 'pending', nextAttemptAt: T0 + 60_000 });
        await finish(givenUp, false, { status: 'failed', nextAttemptAt: null });
        const after = await stats(T0 + 40);
        expect(after).toEqual({ due: 1, scheduled: 1, inFlight: 0, oldestDueAt: after.oldestDueAt });
        expect([T0, T0 + 10]).toContain(after.oldestDueAt);
        expect(await stats(T0 + 60_000)).toMatchObject({ due: 2, scheduled: 0 });

        // A disabled endpoint's waiting deliveries are in none of the counts until it is enabled.
        const waiting = (await storage.listDeliveries({ limit: 10, status: 'pending' })).items;
        const parked = waiting.filter((delivery) => delivery.endpointId === first.id).length;
        await storage.updateEndpoint(first.id, { enabled: false, disabledReason: 'manual' }, T0 + 50);
        const disabled = await stats(T0 + 60_000);
        expect(disabled.due + disabled.scheduled).toBe(2 - parked);
        await storage.updateEndpoint(first.id, { enabled: true, disabledReason: null }, T0 + 60_000);
        expect(await stats(T0 + 60_000)).toMatchObject({ due: 2, scheduled: 0, inFlight: 0 });
      });

      it('caps every count at limit and refuses a bad limit or time with invalid_input', async () => {
        await addEndpoint();
        for (let index = 0; index < 5; index++) await enqueue({}, T0 + index * 1_000);
        await claim(T0 + 2_000, { limit: 3 });
        expect(await stats(T0 + 2_000)).toEqual({ due: 0, scheduled: 2, inFlight: 3, oldestDueAt: null });
        expect(await stats(T0 + 2_000, 2)).toEqual({ due: 0, scheduled: 2, inFlight: 2, oldestDueAt: null });
        expect(await stats(T0 + 4_000, 1)).toEqual({ due: 1, scheduled: 0, inFlight: 1, oldestDueAt: T0 + 3_000 });
        for (const limit of [0, -1, 1.5, Number.NaN]) await expect(stats(T0, limit)).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'limit' } });
        await expect(stats(Number.NaN)).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'now' } });
      });
    });

    describe('a sender over this storage (real HTTP)', () => {
      /** A storage whose empty claims come back only after the attempt in flight has finished: a slower database. */
      function slowEmptyClaims(inner: Storage): Storage {
        let inFlight = 0;
        let finished: Array<() => void> = [];
        return {
          ...inner,
          async claimDeliveries(input) {
            const claimed = await inner.claimDeliveries(input);
            inFlight += claimed.length;
            if (claimed.length === 0 && inFlight > 0) {
              await new Promise<void>((resolve) => finished.push(resolve));
              // Let the dispatcher see the attempt as done before this claim answers.
              await new Promise((resolve) => setImmediate(resolve));
            }
            return claimed;
          },
          async finishAttempt(input) {
            const result = await inner.finishAttempt(input);
            inFlight--;
            const waiting = finished;
            finished = [];
            for (const resolve of waiting) resolve();
            return result;
          },
          // The dispatcher writes attempt results in batches.
          async finishAttempts(inputs) {
            const results = await inner.finishAttempts(inputs);
            inFlight -= inputs.length;
            const waiting = finished;
            finished = [];
            for (const resolve of waiting) resolve();
            return results;
          },
        };
      }

      it.each(['as is', 'with slow empty claims'])('drain() makes every due attempt: 25 sends to an endpoint answering 500, one at a time (%s)', async (variant) => {
        const clock = createClock(T0);
        const receiver = await startReceiver(() => ({ status: 500 }));
        const sender = makeSender({ storage: variant === 'as is' ? storage : slowEmptyClaims(storage), now: clock.now, dispatcher: { perEndpointConcurrency: 1, timeoutMs: 2_000, leaseMs: 10_000 } });
        try {
          const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
          for (let index = 0; index < 25; index++) await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index) });
          await sender.drain();
          // 20 attempts: the 20th consecutive failure disables the endpoint; the rest wait.
          expect(receiver.requests).toHaveLength(20);
          expect(await sender.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, consecutiveFailures: 20 });
          expect((await sender.deliveries.list({ status: 'pending', limit: 100 })).items).toHaveLength(25);
        } finally {
          await sender.close();
          await receiver.close();
        }
      });
    });

    it('rejects calls after close with storage_error', async () => {
      await storage.close();
      await expect(storage.getEndpoint('ep_x')).rejects.toMatchObject({ code: 'storage_error' });
      storage = await makeStorage();
    });
  });
}
