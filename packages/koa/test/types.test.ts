import { createReceiver, generateSecret } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import type { Context, DefaultState } from 'koa';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type KoaWebhookContext, webhooks } from '../src/index';

describe('types', () => {
  it('infers the payload type from the catalog and rejects unknown event names', () => {
    const middleware = webhooks({ catalog: broadcastEvents, secrets: generateSecret(), path: '/webhooks' })
      .on('registrant.created', (event, context) => {
        expectTypeOf(event.data.registrant.email).toEqualTypeOf<string>();
        expectTypeOf(context.ctx).toEqualTypeOf<Context>();
        // @ts-expect-error registrant.created has no watchedMinutes
        void event.data.watchedMinutes;
      })
      .on('broadcast.summary', (event) => {
        expectTypeOf(event.data.attendees).toEqualTypeOf<number>();
      });
    // @ts-expect-error not an event of the catalog
    middleware.on('registrant.deleted', () => undefined);
    expect(typeof middleware).toBe('function');
  });

  it('accepts a receiver built with createReceiver, and types ctx.state.webhook', () => {
    const receiver = createReceiver<typeof broadcastEvents, KoaWebhookContext>({ catalog: broadcastEvents, secrets: generateSecret() });
    expect(webhooks(receiver).receiver).toBe(receiver);
    expectTypeOf<NonNullable<DefaultState['webhook']>['id']>().toEqualTypeOf<string>();
    // @ts-expect-error secrets are required
    // A missing secret is answered per request (500 missing_secret), so a build without secrets still works.
    expect(() => webhooks({ catalog: broadcastEvents })).not.toThrow();
  });
});
