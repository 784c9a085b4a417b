export { createAdminHandler } from './handler';
export type { AdminHandler, AdminHandlerOptions, AdminPrincipal } from './handler';
export { toNodeListener } from './node-listener';
export type { AdminErrorBody } from './respond';
export type { AdminPage, AdminSender, TenantOwned } from './sender-api';
