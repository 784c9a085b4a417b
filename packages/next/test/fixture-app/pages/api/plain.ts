import { pagesWebhookHandler } from '@hooks/next';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';

// The Pages Router route exactly as docs/next.md shows it (no GET of its own): other methods get 405.
export const config = { api: { bodyParser: false } };

export default pagesWebhookHandler({ catalog: broadcastEvents, secrets: process.env.WEBHOOK_SECRET });
