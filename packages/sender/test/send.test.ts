import { defineEvents, silentLogger } from '@hooks/core';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SenderError } from '../src/errors';
import { createSender } from '../src/sender';
import { createMemoryStorage } from '../src/storage/memory';
import { createSqliteStorage } from '../src/storage/sqlite';
import { createClock, LOOPBACK_POLICY, makeSender, registrantData, startReceiver } from './support';

// A schema that strips unknown keys (internal fields), normalises a field and fills defaults.
const accountEvents = defineEvents({
  'account.created': {
    schema: z.object({ email: z.string().trim().toLowerCase(), plan: z.string().default('free'), tags: z.array(z.string()).default([]) }),
    example: { email: '  Grace@Example.COM ' },
  },
});

describe('send', () => {
  let sender = makeSender();
  afterEach(async () => {
    await sender.close();
  });

  it('stores one message and one delivery per matching enabled endpoint', async () => {
    const clock = createClock();
    sender = makeSender({ now: clock.now });
    const all = await sender.endpoints.create({ tenant: 'acme', url: 'https://a.example/' });
    const subscribed = await sender.endpoints.create({ tenant: 'acme', url: 'https://b.example/', events: ['registrant.created'] });
    await sender.endpoints.create({ tenant: 'acme', url: 'https://c.example/', events: ['session.started'] });
    const disabled = await sender.endpoints.create({ tenant: 'acme', url: 'https://d.example/' });
    await sender.endpoints.disable(disabled.endpoint.id);
    await sender.endpoints.create({ tenant: 'other', url: 'https://e.example/' });

    const result = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    expect(result).toMatchObject({ deliveryCount: 2, duplicate: false });
    expect(result.messageId).toMatch(/^msg_/);
    const deliveries = await sender.deliveries.list({ messageId: result.messageId });
    expect(deliveries.items.map((delivery) => delivery.endpointId).sort()).toEqual([all.endpoint.id, subscribed.endpoint.id].sort());
    expect(deliveries.items.every((delivery) => delivery.status === 'pending' && delivery.nextAttemptAt?.getTime() === clock.now())).toBe(true);
    const message = await sender.messages.get(result.messageId);
    expect(message).toMatchObject({ tenant: 'acme', type: 'registrant.created', data: registrantData(), idempotencyKey: null });
    expect(message.createdAt.getTime()).toBe(clock.now());
  });

  it('returns the first message for a repeated idempotency key', async () => {
    sender = makeSender();
    await sender.endpoints.create({ tenant: 'acme', url: 'https://a.example/' });
    const first = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(1), idempotencyKey: 'reg-1' });
    const second = await sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(2), idempotencyKey: 'reg-1' });
    expect(second).toEqual({ messageId: first.messageId, deliveryCount: 1, duplicate: true });
    expect((await sender.messages.list()).items).toHaveLength(1);
    expect((await sender.deliveries.list()).items).toHaveLength(1);
  });

  it('answers bad input with typed errors and stores nothing (SQLite)', async () => {
    sender = makeSender({ storage: createSqliteStorage({ filename: ':memory:' }), maxPayloadBytes: 2048 });
    await sender.endpoints.create({ tenant: 'acme', url: 'https://a.example/' });
    const attempts: Array<[() => Promise<unknown>, string]> = [
      [() => sender.send({ tenant: 'acme', type: 'nope.event' as 'registrant.created', data: registrantData() }), 'unknown_event'],
      [() => sender.send({ tenant: 'acme', type: 'registrant.created', data: { ...registrantData(), registrant: { id: 'x', email: 'not-an-email', firstName: 'A', lastName: 'B' } } }), 'invalid_payload'],
      [() => sender.send({ tenant: 'acme', type: 'registrant.created', data: { ...registrantData(), eventId: 'x'.repeat(4000) } }), 'payload_too_large'],
      [() => sender.send({ tenant: '', type: 'registrant.created', data: registrantData() }), 'invalid_input'],
      [() => sender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(), idempotencyKey: '' }), 'invalid_input'],
      [() => sender.send(null as never), 'invalid_input'],
    ];
    for (const [attempt, code] of attempts) {
      const error = await attempt().catch((caught: unknown) => caught);
      expect(SenderError.isInstance(error)).toBe(true);
      expect((error as SenderError).code).toBe(code);
    }
    const invalid = await sender.send({ tenant: 'acme', type: 'registrant.created', data: { ...registrantData(), registeredAt: 'yesterday' } }).catch((caught: unknown) => caught as SenderError);
    expect(invalid).toMatchObject({ code: 'invalid_payload', status: 400 });
    expect(JSON.stringify((invalid as SenderError).details)).toContain('registeredAt');
    expect((await sender.messages.list()).items).toEqual([]);
    expect((await sender.deliveries.list()).items).toEqual([]);
  });

  it('rejects payloads over the default 256 KiB', async () => {
    sender = makeSender();
    const error = await sender.send({ tenant: 'acme', type: 'registrant.created', data: { ...registrantData(), eventId: 'é'.repeat(140 * 1024) } }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'payload_too_large', status: 413 });
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: { ...registrantData(), eventId: 'e'.repeat(200 * 1024) } });
    expect((await sender.messages.list()).items).toHaveLength(1);
  });

  it('sends the catalog example as a test event to one endpoint', async () => {
    sender = makeSender();
    const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: 'https://a.example/', events: ['session.started'] });
    await sender.endpoints.create({ tenant: 'acme', url: 'https://b.example/' });
    const test = await sender.sendTest(endpoint.id);
    const message = await sender.messages.get(test.messageId);
    expect(message.type).toBe('session.started');
    expect(message.data).toEqual(sender.catalog.definitions['session.started'].example);
    expect((await sender.deliveries.list({ messageId: test.messageId })).items.map((delivery) => delivery.endpointId)).toEqual([endpoint.id]);
    const chosen = await sender.sendTest(endpoint.id, 'registrant.created');
    expect((await sender.messages.get(chosen.messageId)).type).toBe('registrant.created');
    await expect(sender.sendTest(endpoint.id, 'nope' as 'registrant.created')).rejects.toMatchObject({ code: 'unknown_event' });
    await expect(sender.sendTest('ep_missing')).rejects.toMatchObject({ code: 'endpoint_not_found' });
  });

  it('types send() by the catalog', async () => {
    sender = makeSender();
    const typed = () =>
      sender.send({
        tenant: 'acme',
        type: 'session.started',
        // @ts-expect-error `registrant` is not part of session.started
        data: { registrant: registrantData().registrant },
      });
    await expect(typed()).rejects.toMatchObject({ code: 'invalid_payload' });
    // @ts-expect-error unknown event type
    await expect(sender.send({ tenant: 'acme', type: 'nope', data: {} })).rejects.toMatchObject({ code: 'unknown_event' });
  });

  it('reports unknown records with typed errors in the log API', async () => {
    sender = makeSender();
    await expect(sender.messages.get('msg_missing')).rejects.toMatchObject({ code: 'message_not_found' });
    await expect(sender.deliveries.get('dlv_missing')).rejects.toMatchObject({ code: 'delivery_not_found' });
    await expect(sender.deliveries.retry('dlv_missing')).rejects.toMatchObject({ code: 'delivery_not_found' });
    await expect(sender.deliveries.list({ status: 'lost' as 'failed' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(sender.attempts.list({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(sender.messages.list({ since: Number.NaN })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe.each(['memory', 'sqlite'] as const)('send() delivers what the schema returns (%s)', (kind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup() {
    const receiver = await startReceiver();
    const sender = createSender({
      catalog: accountEvents,
      storage: kind === 'sqlite' ? createSqliteStorage({ filename: ':memory:' }) : createMemoryStorage(),
      urlPolicy: LOOPBACK_POLICY,
      logger: silentLogger,
    });
    cleanups.push(() => receiver.close(), async () => {
      await sender.close();
      await sender.storage.close();
    });
    const { endpoint } = await sender.endpoints.create({ tenant: 'acme', url: receiver.url });
    return { sender, receiver, endpoint };
  }

  it('sends and stores the parsed output: unknown keys stripped, transforms applied, defaults filled', async () => {
    const { sender, receiver } = await setup();
    const input = { email: '  Ada@Example.COM ', passwordHash: '$argon2id$internal', internalNote: 'do not leak' };
    const { messageId } = await sender.send({ tenant: 'acme', type: 'account.created', data: input as never });
    await sender.drain();
    const expected = { email: 'ada@example.com', plan: 'free', tags: [] };
    expect(receiver.requests).toHaveLength(1);
    const body = receiver.requests[0]?.body ?? '';
    expect(JSON.parse(body).data).toEqual(expected);
    expect(body).not.toContain('argon2id');
    expect(body).not.toContain('do not leak');
    expect((await sender.messages.get(messageId)).data).toEqual(expected);
  });

  it('sends test events through the schema too', async () => {
    const { sender, receiver, endpoint } = await setup();
    const { messageId } = await sender.sendTest(endpoint.id, 'account.created');
    await sender.drain();
    expect(JSON.parse(receiver.requests[0]?.body ?? '').data).toEqual({ email: 'grace@example.com', plan: 'free', tags: [] });
    expect((await sender.messages.get(messageId)).data).toEqual({ email: 'grace@example.com', plan: 'free', tags: [] });
  });

  it('refuses a test send to a disabled endpoint with endpoint_disabled and stores nothing', async () => {
    const { sender, receiver, endpoint } = await setup();
    await sender.endpoints.disable(endpoint.id, 'customer asked');
    const error = await sender.sendTest(endpoint.id).catch((caught: unknown) => caught);
    expect(SenderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'endpoint_disabled', status: 409, details: { reason: 'customer asked' } });
    expect((await sender.messages.list()).items).toEqual([]);
    await sender.endpoints.enable(endpoint.id);
    await sender.sendTest(endpoint.id);
    await sender.drain();
    expect(receiver.requests).toHaveLength(1);
  });
});
