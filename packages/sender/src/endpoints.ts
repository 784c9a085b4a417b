import { type EventCatalog, type HeaderProfile, generateSecret } from '@hooks/core';
import { createId } from '@hooks/core/internal';
import { SenderError } from './errors';
import type { SecretBox } from './secret-box';
import type { EndpointPatch, Storage } from './storage/types';
import { type Endpoint, type Page, toEndpoint } from './types';
import { type UrlPolicy, assertEndpointUrl } from './url-policy';

/** Input of `sender.endpoints.create`. */
export interface CreateEndpointInput {
  /** The customer workspace. */
  tenant: string;
  /** Where to POST (https unless the URL policy allows http). Refused, never silently repaired, when malformed; the endpoint returned shows the normalised URL that is stored. */
  url: string;
  /** A label. */
  name?: string | null;
  /** A description. */
  description?: string | null;
  /** Event types to deliver; empty or absent = every present and future event. @default [] */
  events?: readonly string[];
  /** Extra headers sent with every delivery (signature and content headers cannot be overridden). @default {} */
  headers?: Record<string, string>;
  /** Signature header profile. @default 'x-webhook' */
  profile?: HeaderProfile;
  /** Host-app data (JSON, at most 16 KiB). @default {} */
  metadata?: Record<string, unknown>;
  /** Requests per second allowed, or null for none. @default null */
  rateLimit?: number | null;
  /** Deliver in order, one at a time. @default false */
  fifo?: boolean;
  /** Start enabled. @default true */
  enabled?: boolean;
}

/** Changes accepted by `sender.endpoints.update`; absent fields are kept. */
export type UpdateEndpointInput = Partial<Omit<CreateEndpointInput, 'tenant' | 'enabled'>>;

/** The secrets of an endpoint that currently sign deliveries. */
export interface EndpointSecrets {
  /** The newest secret: give it to the receiver. */
  current: string;
  /** Older secrets still signing during a rotation overlap. */
  previous: Array<{
    /** A rotated-out `whsec_…` secret that still signs alongside `current`. */
    secret: string;
    /** When it stops signing (rotation time plus the overlap). */
    expiresAt: Date;
  }>;
}

/** `sender.endpoints`. */
export interface EndpointsApi {
  /** Creates an endpoint and its first secret (the only result other than `getSecrets` and `rotateSecret` that shows it). */
  create(input: CreateEndpointInput): Promise<{
    /** The stored endpoint. */
    endpoint: Endpoint;
    /** Its first signing secret (`whsec_…`): give it to the receiver. */
    secret: string;
  }>;
  /** One endpoint; `endpoint_not_found` when absent. */
  get(id: string): Promise<Endpoint>;
  /** Updates the given fields; the URL is checked again. */
  update(id: string, patch: UpdateEndpointInput): Promise<Endpoint>;
  /** Deletes the endpoint, its secrets and its deliveries (messages stay). */
  delete(id: string): Promise<void>;
  /** Endpoints oldest first. */
  list(query?: { tenant?: string; limit?: number; cursor?: string }): Promise<Page<Endpoint>>;
  /** Enables the endpoint, resets its failure count and resumes its waiting deliveries at once (their planned retry times are brought forward to now). */
  enable(id: string): Promise<Endpoint>;
  /** Disables the endpoint; its pending deliveries wait. */
  disable(id: string, reason?: string): Promise<Endpoint>;
  /** The signing secrets: current and unexpired previous ones. */
  getSecrets(id: string): Promise<EndpointSecrets>;
  /** Issues a new secret; the old one keeps signing for `overlapMs` (default: the sender's `secretOverlapMs`). */
  rotateSecret(
    id: string,
    options?: { overlapMs?: number },
  ): Promise<{
    /** The new current secret (`whsec_…`): give it to the receiver. */
    secret: string;
  }>;
  /** Re-queues this endpoint's failed deliveries created since `since`; returns how many. */
  recover(
    id: string,
    options: { since: Date | number },
  ): Promise<{
    /** Number of failed deliveries re-queued. */
    count: number;
  }>;
}

/** Context the endpoint API needs from the sender. */
export interface EndpointsContext {
  storage: Storage;
  catalog: EventCatalog;
  urlPolicy: UrlPolicy;
  now: () => number;
  secretOverlapMs: number;
  /** Called when deliveries may have become due (enable, recover). */
  wake: () => void;
  /** Encrypts secrets before they are stored and decrypts them when read. */
  secrets: SecretBox;
}

const MAX_TENANT_LENGTH = 256;
const MAX_NAME_LENGTH = 256;
const MAX_DESCRIPTION_LENGTH = 4096;
const MAX_HEADERS = 32;
const MAX_HEADER_VALUE_LENGTH = 4096;
const MAX_METADATA_BYTES = 16 * 1024;
const MAX_RATE_LIMIT = 10_000;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
// Headers that would break the signature, the framing or the receiver's routing.
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'user-agent', 'host', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect']);

function invalid(field: string, message: string): SenderError {
  return new SenderError('invalid_input', message, { details: { field } });
}

/** Checks a tenant id: 1-256 characters without control characters. */
export function checkTenant(tenant: unknown): string {
  if (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > MAX_TENANT_LENGTH || /[\u0000-\u001f\u007f]/.test(tenant)) {
    throw invalid('tenant', `tenant must be 1 to ${MAX_TENANT_LENGTH} characters without control characters.`);
  }
  return tenant;
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) throw new SenderError('endpoint_not_found', 'No endpoint has this id.');
  return id;
}

function optionalText(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > max) throw invalid(field, `${field} must be a string of at most ${max} characters.`);
  return value;
}

function checkEvents(value: unknown, catalog: EventCatalog): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('events', 'events must be a list of event type names (empty = every event).');
  const events = new Set<string>();
  for (const type of value) {
    if (typeof type !== 'string' || !catalog.has(type)) {
      throw new SenderError('unknown_event', `Unknown event type "${String(type).slice(0, 128)}".`, { details: { field: 'events' } });
    }
    events.add(type);
  }
  return [...events];
}

function checkHeaders(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('headers', 'headers must be an object of header names to string values.');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_HEADERS) throw invalid('headers', `At most ${MAX_HEADERS} custom headers are allowed.`);
  const headers: Record<string, string> = {};
  for (const [name, headerValue] of entries) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) throw invalid('headers', `"${name.slice(0, 64)}" is not a valid header name.`);
    if (RESERVED_HEADERS.has(lower) || lower.startsWith('x-webhook-') || lower.startsWith('webhook-') || lower.startsWith('svix-')) {
      throw invalid('headers', `The header "${lower}" is set by the sender and cannot be overridden.`);
    }
    if (typeof headerValue !== 'string' || headerValue.length > MAX_HEADER_VALUE_LENGTH || /[\r\n\u0000]/.test(headerValue)) {
      throw invalid('headers', `The value of "${lower}" must be a string without line breaks, at most ${MAX_HEADER_VALUE_LENGTH} characters.`);
    }
    headers[lower] = headerValue;
  }
  return headers;
}

function checkProfile(value: unknown): HeaderProfile {
  if (value === undefined) return 'x-webhook';
  if (value !== 'x-webhook' && value !== 'standard') throw invalid('profile', 'profile must be "x-webhook" or "standard".');
  return value;
}

function checkMetadata(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('metadata', 'metadata must be a JSON object.');
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    throw invalid('metadata', 'metadata must be serialisable as JSON.');
  }
  if (Buffer.byteLength(text) > MAX_METADATA_BYTES) throw invalid('metadata', `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON.`);
  return JSON.parse(text) as Record<string, unknown>;
}

function checkRateLimit(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_RATE_LIMIT) {
    throw invalid('rateLimit', `rateLimit must be a number of requests per second above 0 and at most ${MAX_RATE_LIMIT}, or null.`);
  }
  return value;
}

function checkBoolean(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(field, `${field} must be true or false.`);
  return value;
}

function checkUrl(value: unknown, policy: UrlPolicy): string {
  if (typeof value !== 'string') throw new SenderError('invalid_url', 'url must be a string.', { details: { field: 'url', reason: 'not_a_string' } });
  try {
    return assertEndpointUrl(value, policy).href;
  } catch (error) {
    if (SenderError.isInstance(error)) throw new SenderError(error.code, error.message, { details: { field: 'url', ...error.details } });
    throw error;
  }
}

function toTime(value: Date | number, field: string): number {
  const time = value instanceof Date ? value.getTime() : value;
  if (typeof time !== 'number' || !Number.isFinite(time)) throw invalid(field, `${field} must be a Date or unix milliseconds.`);
  return time;
}

function notFound(): SenderError {
  return new SenderError('endpoint_not_found', 'No endpoint has this id.');
}

/** Builds `sender.endpoints`. Every write is one storage transaction, so a rejected call leaves nothing behind. */
export function createEndpointsApi(context: EndpointsContext): EndpointsApi {
  const { storage, catalog, urlPolicy, now, secrets } = context;

  async function mustGet(id: string) {
    const endpoint = await storage.getEndpoint(checkId(id));
    if (!endpoint) throw notFound();
    return endpoint;
  }

  async function patch(id: string, changes: EndpointPatch): Promise<Endpoint> {
    const updated = await storage.updateEndpoint(checkId(id), changes, now());
    if (!updated) throw notFound();
    return toEndpoint(updated);
  }

  return {
    async create(input) {
      if (typeof input !== 'object' || input === null) throw invalid('input', 'create needs an object.');
      const createdAt = now();
      const enabled = checkBoolean(input.enabled, 'enabled', true);
      const record = {
        id: createId('ep', createdAt),
        tenant: checkTenant(input.tenant),
        url: checkUrl(input.url, urlPolicy),
        name: optionalText(input.name, 'name', MAX_NAME_LENGTH),
        description: optionalText(input.description, 'description', MAX_DESCRIPTION_LENGTH),
        events: checkEvents(input.events, catalog),
        headers: checkHeaders(input.headers),
        profile: checkProfile(input.profile),
        metadata: checkMetadata(input.metadata),
        enabled,
        disabledReason: enabled ? null : 'manual',
        rateLimit: checkRateLimit(input.rateLimit),
        fifo: checkBoolean(input.fifo, 'fifo', false),
        createdAt,
      };
      const secret = generateSecret();
      const endpoint = await storage.createEndpoint(record, { secret: secrets.seal(record.id, secret), createdAt, expiresAt: null });
      return { endpoint: toEndpoint(endpoint), secret };
    },

    async get(id) {
      return toEndpoint(await mustGet(id));
    },

    async update(id, input) {
      if (typeof input !== 'object' || input === null) throw invalid('input', 'update needs an object of changes.');
      const changes: EndpointPatch = {};
      if (input.url !== undefined) changes.url = checkUrl(input.url, urlPolicy);
      if (input.name !== undefined) changes.name = optionalText(input.name, 'name', MAX_NAME_LENGTH);
      if (input.description !== undefined) changes.description = optionalText(input.description, 'description', MAX_DESCRIPTION_LENGTH);
      if (input.events !== undefined) changes.events = checkEvents(input.events, catalog);
      if (input.headers !== undefined) changes.headers = checkHeaders(input.headers);
      if (input.profile !== undefined) changes.profile = checkProfile(input.profile);
      if (input.metadata !== undefined) changes.metadata = checkMetadata(input.metadata);
      if (input.rateLimit !== undefined) changes.rateLimit = checkRateLimit(input.rateLimit);
      if (input.fifo !== undefined) changes.fifo = checkBoolean(input.fifo, 'fifo', false);
      const updated = await patch(id, changes);
      context.wake();
      return updated;
    },

    async delete(id) {
      if (!(await storage.deleteEndpoint(checkId(id)))) throw notFound();
    },

    async list(query = {}) {
      const limit = query.limit ?? 50;
      const tenant = query.tenant === undefined ? undefined : checkTenant(query.tenant);
      const page = await storage.listEndpoints({ tenant, limit, cursor: query.cursor });
      return { items: page.items.map(toEndpoint), nextCursor: page.nextCursor };
    },

    async enable(id) {
      const endpoint = await patch(id, { enabled: true, disabledReason: null, consecutiveFailures: 0, pausedUntil: null });
      context.wake();
      return endpoint;
    },

    async disable(id, reason = 'manual') {
      return patch(id, { enabled: false, disabledReason: optionalText(reason, 'reason', MAX_NAME_LENGTH) ?? 'manual' });
    },

    async getSecrets(id) {
      const list = await storage.listSecrets(checkId(id));
      if (!list) throw notFound();
      const at = now();
      const current = list.find((secret) => secret.expiresAt === null);
      if (!current) throw new SenderError('storage_error', 'The endpoint has no current secret.');
      const endpointId = id;
      const previous = list
        .filter((secret) => secret.expiresAt !== null && secret.expiresAt > at)
        .map((secret) => ({ secret: secrets.open(endpointId, secret.secret), expiresAt: new Date(secret.expiresAt as number) }));
      return { current: secrets.open(endpointId, current.secret), previous };
    },

    async rotateSecret(id, options = {}) {
      const overlapMs = options.overlapMs ?? context.secretOverlapMs;
      if (typeof overlapMs !== 'number' || !Number.isFinite(overlapMs) || overlapMs < 0) throw invalid('overlapMs', 'overlapMs must be a duration in milliseconds (>= 0).');
      const at = now();
      const secret = generateSecret();
      const endpointId = checkId(id);
      if (!(await storage.rotateSecret({ endpointId, secret: secrets.seal(endpointId, secret), previousExpiresAt: at + overlapMs, now: at }))) throw notFound();
      return { secret };
    },

    async recover(id, options) {
      if (typeof options !== 'object' || options === null) throw invalid('since', 'recover needs { since }.');
      const since = toTime(options.since, 'since');
      await mustGet(id);
      const count = await storage.recoverDeliveries(id, since, now());
      if (count > 0) context.wake();
      return { count };
    },
  };
}
