import { createReceiver, generateSecret } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type FastifyWebhookContext, webhooks } from '../src/index';

describe('types', () => {
  it('infers the payload type from the catalog and rejects unknown event names', () => {
    const plugin = webhooks({ catalog: broadcastEvents, secrets: generateSecret() })
      .on('registrant.created', (event, context) => {
        expectTypeOf(event.data.registrant.email).toEqualTypeOf<string>();
        expectTypeOf(context.request).toEqualTypeOf<FastifyRequest>();
        expectTypeOf(context.reply).toEqualTypeOf<FastifyReply>();
        // @ts-expect-error registrant.created has no watchedMinutes
        void event.data.watchedMinutes;
      })
      .on('session.started', (event) => {
        expectTypeOf(event.type).toEqualTypeOf<'session.started'>();
      });
    // @ts-expect-error not an event of the catalog
    plugin.on('registrant.deleted', () => undefined);
    expect(typeof plugin).toBe('function');
  });

  it('accepts a receiver built with createReceiver, and types request.webhook', () => {
    const receiver = createReceiver<typeof broadcastEvents, FastifyWebhookContext>({ catalog: broadcastEvents, secrets: generateSecret() });
    expect(webhooks(receiver, { path: '/in' }).receiver).toBe(receiver);
    expectTypeOf<NonNullable<FastifyRequest['webhook']>['id']>().toEqualTypeOf<string>();
    // @ts-expect-error secrets are required
    // A missing secret is answered per request (500 missing_secret), so a build without secrets still works.
    expect(() => webhooks({ catalog: broadcastEvents })).not.toThrow();
  });
});
