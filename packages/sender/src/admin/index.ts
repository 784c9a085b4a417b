export { createAdminHandler } from './handler';
export type { AdminHandler, AdminHandlerOptions, AdminPrincipal, AdminScope } from './handler';
export { toNodeListener } from './node-listener';
export type { AdminErrorBody } from './respond';
export type { AdminPage, AdminSender, TenantOwned } from './sender-api';
