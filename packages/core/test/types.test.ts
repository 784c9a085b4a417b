// Type-level tests: `npx tsc -p packages/core` checks them, so a wrong inferred type fails the
// build; the `it` blocks also run, so a regression in the values fails the test run.
import { describe, expectTypeOf, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type EventData,
  type EventInput,
  type EventName,
  type HooksError,
  type ReceiverResult,
  type VerifiedWebhook,
  type WebhookEvent,
  createReceiver,
  defineEvents,
  generateSecret,
} from '../src/index';
import { broadcastEvents } from './support';

const catalog = defineEvents({
  'user.created': { schema: z.object({ email: z.string(), age: z.number() }) },
  'user.deleted': { schema: z.object({ id: z.string(), at: z.string().transform((value) => new Date(value)) }) },
});
type Catalog = typeof catalog;

describe('types', () => {
  it('infers event names, payload input and output per event', () => {
    expectTypeOf<EventName<Catalog>>().toEqualTypeOf<'user.created' | 'user.deleted'>();
    expectTypeOf<EventData<Catalog, 'user.created'>>().toEqualTypeOf<{ email: string; age: number }>();
    expectTypeOf<EventData<Catalog, 'user.deleted'>>().toEqualTypeOf<{ id: string; at: Date }>();
    expectTypeOf<EventInput<Catalog, 'user.deleted'>>().toEqualTypeOf<{ id: string; at: string }>();
    expectTypeOf<WebhookEvent<Catalog, 'user.created'>['type']>().toEqualTypeOf<'user.created'>();
    expect(catalog.names).toEqual(['user.created', 'user.deleted']);
  });

  it('types handler payloads from the catalog, and onAny with the union', async () => {
    const receiver = createReceiver({ catalog, secrets: generateSecret() });
    const seen: string[] = [];
    receiver.on('user.created', (event, context) => {
      expectTypeOf(event.type).toEqualTypeOf<'user.created'>();
      expectTypeOf(event.data.email).toEqualTypeOf<string>();
      expectTypeOf(event.data.age).toEqualTypeOf<number>();
      expectTypeOf(context.webhook).toEqualTypeOf<VerifiedWebhook>();
      seen.push(event.data.email);
    });
    receiver.on('user.deleted', (event) => {
      expectTypeOf(event.data.at).toEqualTypeOf<Date>();
    });
    receiver.onAny((event) => {
      expectTypeOf(event).toEqualTypeOf<WebhookEvent<Catalog>>();
      if (event.type === 'user.deleted') expectTypeOf(event.data.at).toEqualTypeOf<Date>();
    });

    // @ts-expect-error an event name the catalog does not declare
    receiver.on('user.updated', () => undefined);

    receiver.on('user.created', (event) => {
      // @ts-expect-error a payload field the schema does not declare
      seen.push(event.data.name);
      // @ts-expect-error a field of another event
      seen.push(event.data.id);
      // @ts-expect-error age is a number
      event.data.age.toUpperCase();
    });

    const result = await receiver.handle({ body: '{}', headers: {} });
    expectTypeOf(result).toEqualTypeOf<ReceiverResult<Catalog>>();
    expect(result.status).toBe(401);
  });

  it('types the adapter context passed to handlers', () => {
    const receiver = createReceiver<Catalog, { requestId: string }>({ catalog, secrets: generateSecret() });
    receiver.on('user.created', (_event, context) => {
      expectTypeOf(context.requestId).toEqualTypeOf<string>();
      // @ts-expect-error not part of the context
      context.response;
    });
    // @ts-expect-error the context must match
    void receiver.handle({ body: '{}', headers: {}, context: { requestId: 1 } });
    expect(typeof receiver.handle).toBe('function');
  });

  it('types validate with the schema output and rejects unknown names', async () => {
    const data = await catalog.validate('user.created', { email: 'a@b.c', age: 3 });
    expectTypeOf(data).toEqualTypeOf<{ email: string; age: number }>();
    // @ts-expect-error unknown event name
    await expect(catalog.validate('user.unknown', {})).rejects.toMatchObject({ code: 'unknown_event' });
  });

  it('types the seed catalog', () => {
    expectTypeOf<EventData<typeof broadcastEvents, 'registrant.created'>['registrant']['email']>().toEqualTypeOf<string>();
    expectTypeOf<EventData<typeof broadcastEvents, 'registrant.created'>['utmSource']>().toEqualTypeOf<string | null>();
    // @ts-expect-error the seed catalog has no such event
    expectTypeOf<EventData<typeof broadcastEvents, 'registrant.renamed'>>();
    expect(broadcastEvents.has('registrant.created')).toBe(true);
  });

  it('narrows error codes', () => {
    expectTypeOf<HooksError['code']>().toEqualTypeOf<string>();
    expectTypeOf<import('../src/index').WebhookVerificationError['code']>().toEqualTypeOf<
      'missing_header' | 'malformed_header' | 'invalid_signature' | 'timestamp_too_old' | 'timestamp_too_new'
    >();
    expectTypeOf<import('../src/index').WebhookVerificationError['status']>().toEqualTypeOf<number>();
    expect(true).toBe(true);
  });
});
