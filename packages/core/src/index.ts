export { DEFAULT_MAX_BODY_BYTES } from './body';
export { defineEvents } from './catalog';
export type { EventCatalog, EventData, EventDefinition, EventDefinitions, EventInput, EventName, WebhookEvent } from './catalog';
export { describeCatalog, eventJsonSchema } from './json-schema';
export { createConsoleLogger, silentLogger } from './logger';
export type { Logger } from './logger';
export type { EventReference, JsonSchemaTarget } from './json-schema';
export { createEnvelope, serializeEnvelope } from './envelope';
export type { CreateEnvelopeOptions, WebhookEnvelope } from './envelope';
export {
  ConfigurationError,
  HooksError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  UnsupportedEncodingError,
  WebhookPayloadError,
  WebhookVerificationError,
} from './errors';
export type {
  ConfigurationErrorCode,
  HooksErrorOptions,
  PayloadErrorCode,
  PayloadIssue,
  VerificationErrorCode,
  WebhookErrorCode,
} from './errors';
export { ATTEMPT_HEADER, EVENT_HEADER, PROFILE_HEADERS } from './headers';
export type { HeaderProfile, HeadersInput, ProfileHeaderNames } from './headers';
export { createMemoryIdempotencyStore } from './idempotency/memory';
export type { MemoryIdempotencyStoreOptions } from './idempotency/memory';
export { createRedisIdempotencyStore } from './idempotency/redis';
export type { RedisIdempotencyStoreOptions, RedisLikeClient } from './idempotency/redis';
export type { ClaimResult, IdempotencyStore } from './idempotency/types';
export { createMessageId } from './ids';
export { createReceiver } from './receiver';
export type {
  HandlerContext,
  Receiver,
  ReceiverInput,
  ReceiverOptions,
  ReceiverOutcome,
  ReceiverResult,
  ReceiverStreamInput,
  SecretsResolver,
  WebhookHandler,
} from './receiver';
export type { ReceiverSecrets } from './receiver-secrets';
export type { BodySource } from './body';
export {
  PUBLIC_KEY_PREFIX,
  SECRET_KEY_PREFIX,
  SECRET_PREFIX,
  generateKeyPair,
  generateSecret,
  maskSecret,
  parseKey,
  publicKeyOf,
} from './secrets';
export type { ParsedKey, WebhookKeyPair } from './secrets';
export { DEFAULT_TOLERANCE_SECONDS, sign, signHeaders, verify } from './signature';
export type { Secrets, SignHeadersOptions, SignOptions, VerifiedWebhook, VerifyOptions } from './signature';
export { cryptoBackendName } from './runtime';
