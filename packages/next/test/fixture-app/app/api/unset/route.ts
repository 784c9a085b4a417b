import { webhookHandler } from '@hooks/next';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';

// A secret that is set neither at build time nor when the server runs: every request gets 500 missing_secret, and the server log says why.
export const POST = webhookHandler({ catalog: broadcastEvents, secrets: process.env.WEBHOOK_SECRET_NEVER_SET });
