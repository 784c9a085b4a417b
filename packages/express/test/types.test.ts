import { createReceiver, generateSecret } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import type { Request } from 'express';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type ExpressWebhookContext, webhooks } from '../src/index';

describe('types', () => {
  it('infers the payload type from the catalog and rejects unknown event names', () => {
    const middleware = webhooks({ catalog: broadcastEvents, secrets: generateSecret() })
      .on('registrant.created', (event, context) => {
        expectTypeOf(event.data.registrant.email).toEqualTypeOf<string>();
        expectTypeOf(context.request).toEqualTypeOf<Request>();
        // @ts-expect-error registrant.created has no watchedMinutes
        void event.data.watchedMinutes;
      })
      .on('registrant.attended', (event) => {
        expectTypeOf(event.data.watchedMinutes).toEqualTypeOf<number>();
      });
    // @ts-expect-error not an event of the catalog
    middleware.on('registrant.deleted', () => undefined);
    expect(typeof middleware).toBe('function');
  });

  it('accepts a receiver built with createReceiver', () => {
    const receiver = createReceiver<typeof broadcastEvents, ExpressWebhookContext>({ catalog: broadcastEvents, secrets: generateSecret() });
    const middleware = webhooks(receiver);
    expect(middleware.receiver).toBe(receiver);
    // @ts-expect-error secrets are required
    // A missing secret is answered per request (500 missing_secret), so a build without secrets still works.
    expect(() => webhooks({ catalog: broadcastEvents })).not.toThrow();
  });

  it('types req.webhook and req.rawBody', () => {
    expectTypeOf<Request['rawBody']>().toEqualTypeOf<Buffer | undefined>();
    expectTypeOf<NonNullable<Request['webhook']>['id']>().toEqualTypeOf<string>();
  });
});
