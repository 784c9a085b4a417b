// The catalog the guides import as `./events.js`: the README's example product.
import { defineEvents } from '@hooks/core';
import { z } from 'zod';

export const events = defineEvents({
  'registrant.created': {
    description: 'Someone registered for a broadcast.',
    schema: z.object({ email: z.email(), sessionId: z.string() }),
    example: { email: 'ada@example.com', sessionId: 'ses_01' },
  },
  'session.ended': {
    description: 'A broadcast session ended.',
    schema: z.object({ sessionId: z.string(), attendees: z.number().int() }),
    example: { sessionId: 'ses_01', attendees: 42 },
  },
});
