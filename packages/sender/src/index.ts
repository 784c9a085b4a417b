export { createSender, DEFAULT_DATABASE_FILE, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_SECRET_OVERLAP_MS } from './sender';
export type { AttemptListQuery, DeliveryListQuery, MessageListQuery, SendInput, SendOptions, SendResult, Sender, SenderOptions } from './sender';
export type { TraceContext } from './trace-context';
export type { SenderErrorSource } from './error-reporter';
export { ATTEMPT_DURATION_BUCKETS } from './metrics';
export type { DurationHistogram, MetricsOptions, QueueMetrics, SenderMetricsSnapshot } from './metrics';
export { PROMETHEUS_CONTENT_TYPE, formatPrometheus } from './prometheus';
export type { PrometheusOptions } from './prometheus';
export type { CreateEndpointInput, EndpointSecrets, EndpointsApi, UpdateEndpointInput } from './endpoints';
export type { DispatcherOptions, DisablementOptions } from './dispatcher';
export { DEFAULT_MAX_AGE_MS, DEFAULT_RETRY_REPEAT_MS, DEFAULT_RETRY_SCHEDULE_MS, parseRetryAfter, retryDelay, resolveRetryOptions } from './retry';
export type { ResolvedRetryOptions, RetryOptions } from './retry';
export type { OwnerNotice, SenderEventListener, SenderEventName, SenderEvents } from './events';
export { generateEncryptionKey } from './secret-box';
export type { EncryptionOptions } from './secret-box';
export type { Attempt, Delivery, Endpoint, Message, Page } from './types';
export { SenderError } from './errors';
export type { SenderErrorCode } from './errors';
export { createMemoryStorage } from './storage/memory';
export { createSqliteStorage } from './storage/sqlite';
export type { SqliteStorageOptions } from './storage/sqlite';
export { SQLITE_MIGRATIONS } from './storage/sqlite-migrations';
export type { SqliteMigration } from './storage/sqlite-migrations';
export { createPostgresStorage } from './storage/postgres';
export type {
  PostgresEnqueueOptions,
  PostgresNamedQuery,
  PostgresPool,
  PostgresPoolClient,
  PostgresQueryResult,
  PostgresQueryable,
  PostgresStorage,
  PostgresStorageOptions,
  PostgresSubscribeOptions,
} from './storage/postgres';
export { POSTGRES_MIGRATIONS } from './storage/postgres-migrations';
export type { PostgresMigration } from './storage/postgres-migrations';
export { MAX_PAGE_SIZE, decodeCursor, encodeCursor } from './storage/common';
export type {
  AttemptQuery,
  ClaimInput,
  ClaimNotificationsInput,
  ClaimedDelivery,
  DeliveryQuery,
  DeliveryStatus,
  EndpointEffect,
  EndpointPatch,
  EndpointQuery,
  EnqueueInput,
  EnqueueResult,
  FinishAndClaimResult,
  FinishAttemptInput,
  FinishAttemptResult,
  MessageQuery,
  NewEndpoint,
  NotificationType,
  PageQuery,
  PruneOptions,
  PruneResult,
  ReplaceSecretInput,
  RotateSecretInput,
  SettleNotificationInput,
  StatsOptions,
  Storage,
  StoragePage,
  StorageStats,
  StoredAttempt,
  StoredDelivery,
  StoredEndpoint,
  StoredHeaderProfile,
  StoredMessage,
  StoredNotification,
  StoredSecret,
} from './storage/types';
export { NAMED_ADDRESS_RANGES, addressRange, assertEndpointUrl, isBlockedAddress } from './url-policy';
export type { AddressRange, NamedAddressRange, UrlPolicy, UrlPolicyAllowEntry } from './url-policy';
export { createTransport, DeliveryNetworkError } from './transport';
export type { DeliveryRequest, DeliveryResponse, NetworkErrorCode, Transport, TransportOptions } from './transport';
export { createAdminHandler, toNodeListener } from './admin/index';
export type { AdminErrorBody, AdminHandler, AdminHandlerOptions, AdminPage, AdminPrincipal, AdminScope, AdminSender, TenantOwned } from './admin/index';
export { DEFAULT_PORTAL_TOKEN_SECONDS, PORTAL_TOKEN_PREFIX, isPortalToken, type PortalToken, type PortalTokenClaims, type PortalTokenInput, type PortalTokenScope } from './admin/portal-token';
