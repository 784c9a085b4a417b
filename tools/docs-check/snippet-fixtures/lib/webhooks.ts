// `@/lib/webhooks` of the Next.js examples: the sender and its admin API handler.
import { createAdminHandler, createSender } from '@hooks/sender';
import { events } from './events.js';

export const sender = createSender({ catalog: events, storage: 'memory', portalTokenSecret: process.env.HOOKS_PORTAL_TOKEN_SECRET });
export const admin = createAdminHandler(sender, { basePath: '/api/webhooks', authorize: () => null });
