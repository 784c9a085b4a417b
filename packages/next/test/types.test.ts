import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { describe, expect, it } from 'vitest';
import { pagesWebhookHandler, webhookHandler } from '../src/index';
import { TEST_SECRETS } from './support/recorder';

describe('types', () => {
  it('infers each payload from the catalog', () => {
    const route = webhookHandler({ catalog: broadcastEvents, secrets: [...TEST_SECRETS] }).on('session.ended', (event, { request }) => {
      const count: number = event.data.attendeesCount;
      const method: string = request.method;
      // @ts-expect-error registrant.created fields are not on session.ended
      void event.data.registrant;
      return [count, method];
    });
    // @ts-expect-error not an event of the catalog
    route.on('registrant.deleted', () => undefined);
    const pages = pagesWebhookHandler({ catalog: broadcastEvents, secrets: [...TEST_SECRETS] }).on('registrant.created', (event, { request }) => {
      const email: string = event.data.registrant.email;
      return [email, request.query];
    });
    expect(typeof route).toBe('function');
    expect(route.receiver.maxBodyBytes).toBe(1024 * 1024);
    expect(typeof pages.receiver.handleStream).toBe('function');
  });
});
