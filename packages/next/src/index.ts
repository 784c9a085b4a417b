export { webhookHandler } from './app-router';
export type { AppRouteContext, WebhookRoute } from './app-router';
export { pagesWebhookHandler } from './pages-router';
export type { PagesRouteContext, PagesWebhookRoute } from './pages-router';
