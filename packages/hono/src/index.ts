export { webhooks } from './webhooks';
export type { HonoWebhookContext, HonoWebhooksOptions, WebhooksEnv, WebhooksMiddleware } from './webhooks';
