import { ConfigurationError, describeCatalog } from '@hooks/core';
import { readBody } from '@hooks/core/internal';
import type { EventCatalog } from '@hooks/core';
import { SenderError } from '../errors';
import { errorResponse, json, toErrorResponse } from './respond';
import { attemptRequest } from './attempt-request';
import type { AdminSender, TenantOwned } from './sender-api';
import {
  asObject,
  booleanField,
  enumField,
  enumParameter,
  headersField,
  limitParameter,
  metadataField,
  nullableStringField,
  numberField,
  onlyFields,
  parseTime,
  readQuery,
  stringField,
  stringListField,
  stringParameter,
  timeParameter,
} from './validation';
import type { JsonObject } from './validation';

/** What a caller may do: `read` lists and shows; `write` changes endpoints, sends tests, retries and reveals secrets. */
export type AdminScope = 'read' | 'write';

/** Who is calling: every admin call is limited to this tenant's endpoints, messages and deliveries. */
export interface AdminPrincipal {
  /** The tenant (customer workspace) the caller may manage. */
  tenant: string;
  /** What the caller may do; `['read']` makes the API read-only for it. @default ['read', 'write'] */
  scopes?: readonly AdminScope[];
}

/** Options of {@link createAdminHandler}. */
export interface AdminHandlerOptions {
  /**
   * Authenticates the request (session cookie, API key…) and says which tenant it may manage;
   * `null` answers 401. Required: the admin API has no default access rule. Requests carrying a
   * portal token (`Authorization: Bearer hkpt_v1.…`) are checked by the sender instead.
   */
  authorize: (request: Request) => AdminPrincipal | null | Promise<AdminPrincipal | null>;
  /** Path prefix the handler is mounted at, e.g. `/api/webhooks`. @default '' */
  basePath?: string;
  /** Largest request body accepted, in bytes. @default 1048576 */
  maxBodyBytes?: number;
  /** Event catalog listed by `GET /event-types`. @default the sender's catalog */
  catalog?: EventCatalog;
  /**
   * Browser origins other than the API's own that may call it (answered with CORS headers), e.g.
   * `['https://app.example.com']`. A request whose `Origin` is neither its own host nor listed is
   * refused with 403 `forbidden_origin`. @default [] (same origin only)
   */
  allowedOrigins?: readonly string[];
  /** Called with unexpected errors (answered 500 without detail), for the host app's logger. @default none */
  onError?: (error: unknown, request: Request) => void;
}

/** A Fetch-style admin API handler: mount it in any framework that speaks `Request`/`Response`. */
export type AdminHandler = (request: Request) => Promise<Response>;

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface RouteContext {
  tenant: string;
  principal: ResolvedPrincipal;
  request: Request;
  url: URL;
  parameters: Record<string, string>;
  body: () => Promise<JsonObject>;
}

/** `read`/`write` need that scope; `host` is for the host's own credentials only (never a portal token). */
type Access = AdminScope | 'host';

interface Route {
  method: Method;
  segments: string[];
  access: Access;
  run: (context: RouteContext) => Promise<Response>;
}

interface ResolvedPrincipal {
  tenant: string;
  scopes: AdminScope[];
  /** How the caller authenticated. */
  via: 'portal_token' | 'authorize';
  /** When a portal token stops working; null for the host's own credentials. */
  expiresAt: Date | null;
}

const DELIVERY_STATUSES = ['pending', 'in_flight', 'succeeded', 'failed'] as const;
const PROFILES = ['x-webhook', 'standard'] as const;
const SCOPES: readonly AdminScope[] = ['read', 'write'];
const ENDPOINT_FIELDS = ['url', 'name', 'description', 'events', 'headers', 'profile', 'metadata', 'rateLimit', 'fifo'] as const;
const ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_OVERLAP_MS = 30 * 24 * 60 * 60 * 1000;
const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;
const WRITE_METHODS = new Set(['POST', 'PATCH', 'DELETE']);
const PORTAL_TOKEN_PREFIX = 'hkpt_v1.';

/**
 * The admin HTTP API of a sender as one Fetch handler: endpoints, secrets, rotation, test sends,
 * logs and retries, as JSON. Every call is scoped to the tenant `authorize` (or a portal token)
 * names; another tenant's objects answer 404 as if they did not exist.
 *
 * @param sender - The sender to manage (a `createSender` result).
 * @param options - `authorize` (required: who is calling and which tenant they may manage), and
 *   optionally the mount path, the body size limit, the catalog and the browser origins allowed.
 * @returns A Fetch handler, `(request: Request) => Promise<Response>`: mount it in any framework
 *   that speaks `Request`/`Response`, or in Node servers and Express through {@link toNodeListener}.
 * @throws ConfigurationError (from `@hooks/core`) `invalid_option` without an `authorize`
 *   function, or for a bad `maxBodyBytes` or `allowedOrigins`.
 *
 * @example
 * <!-- prelude: import { sender } from './sender.js'; declare function getSession(cookie: string | null): Promise<{ workspaceId: string; isAdmin: boolean } | null>; -->
 * ```ts
 * import { createAdminHandler } from '@hooks/sender';
 *
 * const admin = createAdminHandler(sender, {
 *   basePath: '/api/webhooks',
 *   authorize: async (request) => {
 *     const session = await getSession(request.headers.get('cookie'));
 *     if (!session) return null; // 401
 *     return { tenant: session.workspaceId, scopes: session.isAdmin ? ['read', 'write'] : ['read'] };
 *   },
 * });
 *
 * // Any Fetch runtime, or a route handler: GET /api/webhooks/endpoints, POST /api/webhooks/endpoints, …
 * export default { fetch: (request: Request) => admin(request) };
 * ```
 */
export function createAdminHandler(sender: AdminSender, options: AdminHandlerOptions): AdminHandler {
  if (typeof options?.authorize !== 'function') {
    throw new ConfigurationError('invalid_option', 'createAdminHandler needs an authorize(request) function: the admin API has no default access rule.');
  }
  const basePath = normaliseBasePath(options.basePath ?? '');
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new ConfigurationError('invalid_option', 'maxBodyBytes must be a positive integer.');
  const allowedOrigins = readAllowedOrigins(options.allowedOrigins);
  const routes = buildRoutes(sender, options);

  return async (request) => {
    let corsHeaders: Record<string, string> = {};
    try {
      const url = new URL(request.url);
      const path = stripBase(url.pathname, basePath);
      if (path === undefined) return errorResponse(404, 'not_found', 'No such admin route.');
      const segments = path.split('/').filter((segment) => segment !== '');

      // Browsers send Origin on every cross-origin call and on same-origin writes. A foreign one is
      // refused before anything else, so no other site's page can drive the API (CSRF).
      const origin = request.headers.get('origin');
      if (origin !== null && !isSameOrigin(origin, request, url)) {
        if (!allowedOrigins.has(origin)) return errorResponse(403, 'forbidden_origin', 'Requests from this origin are refused; list it in allowedOrigins to allow it.');
        corsHeaders = { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' };
      }

      const matching = routes.map((route) => ({ route, parameters: match(route.segments, segments) })).filter((entry) => entry.parameters !== undefined);
      if (matching.length === 0) return withHeaders(errorResponse(404, 'not_found', 'No such admin route.'), corsHeaders);
      const allow = [...new Set(matching.map((entry) => entry.route.method))].join(', ');
      if (request.method === 'OPTIONS') {
        // A CORS preflight from an allowed origin; anything else has nothing to negotiate.
        return new Response(null, {
          status: 204,
          headers: { ...corsHeaders, allow, 'access-control-allow-methods': allow, 'access-control-allow-headers': 'authorization, content-type', 'access-control-max-age': '600', 'cache-control': 'no-store' },
        });
      }
      const chosen = matching.find((entry) => entry.route.method === request.method);
      if (!chosen) return withHeaders(errorResponse(405, 'method_not_allowed', `Use ${allow} on this route.`, undefined, { allow }), corsHeaders);

      // Every write is JSON, even without a body: a form or a text/plain request (which a
      // browser sends cross-site without asking) is never acted on.
      if (WRITE_METHODS.has(request.method) && !JSON_TYPE.test(request.headers.get('content-type') ?? '')) {
        return withHeaders(errorResponse(415, 'unsupported_media_type', 'Send writes with content-type: application/json (an empty body is allowed).'), corsHeaders);
      }

      const principal = await authenticate(sender, options, request);
      if (principal instanceof Response) return withHeaders(principal, corsHeaders);
      const refusal = checkAccess(chosen.route.access, principal);
      if (refusal) return withHeaders(refusal, corsHeaders);

      const parameters = chosen.parameters as Record<string, string>;
      for (const value of Object.values(parameters)) {
        // Ids are ours; anything else cannot exist, so it is simply not found.
        if (!ID.test(value)) return withHeaders(errorResponse(404, 'not_found', 'No such object.'), corsHeaders);
      }
      const response = await chosen.route.run({
        tenant: principal.tenant,
        principal,
        request,
        url,
        parameters,
        body: () => readJsonBody(request, maxBodyBytes),
      });
      return withHeaders(response, corsHeaders);
    } catch (error) {
      const { response, unexpected } = toErrorResponse(error);
      if (unexpected) options.onError?.(error, request);
      return withHeaders(response, corsHeaders);
    }
  };
}

function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

function readAllowedOrigins(origins: readonly string[] | undefined): Set<string> {
  if (origins === undefined) return new Set();
  if (!Array.isArray(origins)) throw new ConfigurationError('invalid_option', 'allowedOrigins must be an array of origins such as "https://app.example.com".');
  const out = new Set<string>();
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = typeof origin === 'string' ? new URL(origin) : undefined;
    } catch {
      parsed = undefined;
    }
    // An origin is scheme://host[:port] and nothing else; a path or '*' is a mistake worth stopping.
    if (!parsed || parsed.origin === 'null' || parsed.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigurationError('invalid_option', `allowedOrigins: "${String(origin).slice(0, 100)}" is not an origin (scheme://host[:port]).`);
    }
    out.add(parsed.origin);
  }
  return out;
}

/**
 * Same origin when the Origin's host (and port) is the one the request was sent to. The scheme
 * is not compared: behind a TLS-terminating proxy the handler sees http while the page is https.
 * `X-Forwarded-Host` counts too: a browser cannot add it to a cross-site request without a
 * preflight, which a foreign origin never passes.
 */
function isSameOrigin(origin: string, request: Request, url: URL): boolean {
  let host: string;
  try {
    const parsed = new URL(origin);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return false;
    host = parsed.host;
  } catch {
    return false; // "null" (sandboxed frames, file://) and garbage
  }
  const forwarded = request.headers.get('x-forwarded-host')?.split(',')[0]?.trim().toLowerCase();
  return host === url.host || (forwarded !== undefined && forwarded !== '' && host === forwarded);
}

async function authenticate(sender: AdminSender, options: AdminHandlerOptions, request: Request): Promise<ResolvedPrincipal | Response> {
  const authorization = request.headers.get('authorization') ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (bearer?.startsWith(PORTAL_TOKEN_PREFIX)) {
    if (typeof sender.verifyPortalToken !== 'function') return errorResponse(401, 'unauthorized', 'Portal tokens are not accepted here.', { reason: 'invalid' });
    // verifyPortalToken throws SenderError('unauthorized') with details.reason: answered 401 as is.
    const claims = sender.verifyPortalToken(bearer);
    return { tenant: claims.tenant, scopes: claims.scopes.filter((scope) => SCOPES.includes(scope)), via: 'portal_token', expiresAt: new Date(claims.expiresAt) };
  }
  const principal = await options.authorize(request);
  if (principal === null || principal === undefined) return errorResponse(401, 'unauthorized', 'Authentication is required.');
  if (typeof principal.tenant !== 'string' || principal.tenant === '') {
    throw new ConfigurationError('invalid_option', 'authorize() must return { tenant: string } or null.');
  }
  const scopes = principal.scopes === undefined ? [...SCOPES] : SCOPES.filter((scope) => principal.scopes?.includes(scope));
  if (scopes.includes('write') && !scopes.includes('read')) scopes.unshift('read');
  return { tenant: principal.tenant, scopes, via: 'authorize', expiresAt: null };
}

function checkAccess(access: Access, principal: ResolvedPrincipal): Response | undefined {
  if (access === 'host') {
    if (principal.via === 'portal_token') return errorResponse(403, 'forbidden', 'Portal tokens cannot do this; it is for the host application itself.');
    return principal.scopes.includes('write') ? undefined : errorResponse(403, 'forbidden', 'This caller may only read.', { required: 'write' });
  }
  return principal.scopes.includes(access) ? undefined : errorResponse(403, 'forbidden', access === 'write' ? 'This caller may only read.' : 'This caller may not read.', { required: access });
}

function normaliseBasePath(basePath: string): string {
  const trimmed = basePath.replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function stripBase(pathname: string, basePath: string): string | undefined {
  if (basePath === '') return pathname;
  if (pathname === basePath) return '/';
  return pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : undefined;
}

function match(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const parameters: Record<string, string> = {};
  for (const [index, part] of pattern.entries()) {
    const segment = segments[index] ?? '';
    if (part.startsWith(':')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        return undefined;
      }
      parameters[part.slice(1)] = decoded;
    } else if (part !== segment) return undefined;
  }
  return parameters;
}

async function readJsonBody(request: Request, maxBodyBytes: number): Promise<JsonObject> {
  const type = request.headers.get('content-type');
  if (type !== null && type !== '' && !JSON_TYPE.test(type)) {
    throw new SenderError('invalid_input', 'The request body must be JSON (content-type: application/json).', { details: { field: '(body)' } });
  }
  let bytes: Uint8Array;
  try {
    bytes = await readBody(request.body, maxBodyBytes, request.headers.get('content-length'));
  } catch (error) {
    if (error instanceof Error && 'code' in error && (error as { code: unknown }).code === 'payload_too_large') {
      throw new SenderError('payload_too_large', `The request body is larger than ${maxBodyBytes} bytes.`, { details: { limit: maxBodyBytes } });
    }
    throw new SenderError('invalid_input', 'The request body could not be read.', { cause: error });
  }
  const text = new TextDecoder().decode(bytes);
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SenderError('invalid_input', 'The request body is not valid JSON.', { details: { field: '(body)' } });
  }
  return asObject(parsed);
}

// ---- tenant scoping ------------------------------------------------------------------------

/** Loads an object and hides it unless it belongs to the caller's tenant. */
async function owned<T extends TenantOwned>(load: () => Promise<T | undefined | null>, tenant: string, notFound: SenderError): Promise<T> {
  let found: T | undefined | null;
  try {
    found = await load();
  } catch (error) {
    if (SenderError.isInstance(error) && error.status === 404) throw notFound;
    throw error;
  }
  if (!found || found.tenant !== tenant) throw notFound;
  return found;
}

const endpointNotFound = () => new SenderError('endpoint_not_found', 'No such endpoint.');
const messageNotFound = () => new SenderError('message_not_found', 'No such message.');
const deliveryNotFound = () => new SenderError('delivery_not_found', 'No such delivery.');

/** The endpoint with its newest delivery (id, type, status, last HTTP status and error, time), or null. */
async function withLastDelivery(sender: AdminSender, tenant: string, endpoint: TenantOwned): Promise<TenantOwned & { lastDelivery: unknown }> {
  const page = await sender.deliveries.list({ tenant, endpointId: endpoint.id, limit: 1 });
  const last = page.items[0] as { id: string; messageId: string; type: string; status: string; attempts: number; lastStatus: number | null; lastError: string | null; createdAt: unknown; updatedAt: unknown } | undefined;
  const lastDelivery = last
    ? { id: last.id, messageId: last.messageId, type: last.type, status: last.status, attempts: last.attempts, lastStatus: last.lastStatus, lastError: last.lastError, createdAt: last.createdAt, updatedAt: last.updatedAt }
    : null;
  return { ...endpoint, lastDelivery };
}

// ---- input readers -------------------------------------------------------------------------

interface EndpointFields {
  url?: string;
  name?: string | null;
  description?: string | null;
  events?: string[];
  headers?: Record<string, string>;
  profile?: (typeof PROFILES)[number];
  metadata?: Record<string, unknown>;
  rateLimit?: number | null;
  fifo?: boolean;
}

function readEndpointFields(body: JsonObject, create: boolean): EndpointFields {
  onlyFields(body, ENDPOINT_FIELDS);
  const out: EndpointFields = {};
  const url = stringField(body, 'url', { required: create, max: 2048 });
  if (url !== undefined) out.url = url;
  const name = nullableStringField(body, 'name', 256);
  if (name !== undefined) out.name = name;
  const description = nullableStringField(body, 'description', 4096);
  if (description !== undefined) out.description = description;
  const events = stringListField(body, 'events', { maxItems: 500, maxLength: 200 });
  if (events !== undefined) out.events = events;
  const headers = headersField(body, 'headers');
  if (headers !== undefined) out.headers = headers;
  const profile = enumField(body, 'profile', PROFILES);
  if (profile !== undefined) out.profile = profile;
  const metadata = metadataField(body, 'metadata', 16 * 1024);
  if (metadata !== undefined) out.metadata = metadata;
  if (body.rateLimit === null) out.rateLimit = null;
  else {
    const rateLimit = numberField(body, 'rateLimit', { min: 0.001, max: 10_000 });
    if (rateLimit !== undefined) out.rateLimit = rateLimit;
  }
  const fifo = booleanField(body, 'fifo');
  if (fifo !== undefined) out.fifo = fifo;
  return out;
}

// ---- routes --------------------------------------------------------------------------------

function buildRoutes(sender: AdminSender, options: AdminHandlerOptions): Route[] {
  const routes: Route[] = [];
  const add = (method: Method, path: string, access: Access, run: Route['run']) => routes.push({ method, segments: path.split('/').filter((part) => part !== ''), access, run });
  const ownEndpoint = (id: string, tenant: string) => owned(() => sender.endpoints.get(id), tenant, endpointNotFound());

  // Endpoints
  add('GET', '/endpoints', 'read', async ({ tenant, url }) => {
    const query = readQuery(url, ['limit', 'cursor']);
    const page = await sender.endpoints.list({ tenant, limit: limitParameter(query), cursor: stringParameter(query, 'cursor') });
    const items = await Promise.all(page.items.map((endpoint) => withLastDelivery(sender, tenant, endpoint as TenantOwned)));
    return json(200, { items, nextCursor: page.nextCursor });
  });
  add('POST', '/endpoints', 'write', async ({ tenant, body }) => {
    const fields = readEndpointFields(await body(), true);
    const created = await sender.endpoints.create({ ...fields, url: fields.url as string, tenant });
    return json(201, { endpoint: created.endpoint, secret: created.secret });
  });
  add('GET', '/endpoints/:id', 'read', async ({ tenant, parameters }) => json(200, await withLastDelivery(sender, tenant, await ownEndpoint(parameters.id as string, tenant))));
  add('PATCH', '/endpoints/:id', 'write', async ({ tenant, parameters, body }) => {
    const fields = readEndpointFields(await body(), false);
    await ownEndpoint(parameters.id as string, tenant);
    return json(200, await sender.endpoints.update(parameters.id as string, { ...fields }));
  });
  add('DELETE', '/endpoints/:id', 'write', async ({ tenant, parameters }) => {
    await ownEndpoint(parameters.id as string, tenant);
    await sender.endpoints.delete(parameters.id as string);
    return json(204, null);
  });
  add('POST', '/endpoints/:id/enable', 'write', async ({ tenant, parameters, body }) => {
    onlyFields(await body(), []);
    await ownEndpoint(parameters.id as string, tenant);
    return json(200, await sender.endpoints.enable(parameters.id as string));
  });
  add('POST', '/endpoints/:id/disable', 'write', async ({ tenant, parameters, body }) => {
    const input = await body();
    onlyFields(input, ['reason']);
    const reason = stringField(input, 'reason', { max: 200 });
    await ownEndpoint(parameters.id as string, tenant);
    return json(200, await sender.endpoints.disable(parameters.id as string, reason));
  });
  add('POST', '/endpoints/:id/rotate-secret', 'write', async ({ tenant, parameters, body }) => {
    const input = await body();
    onlyFields(input, ['overlapMs']);
    const overlapMs = numberField(input, 'overlapMs', { min: 0, max: MAX_OVERLAP_MS, integer: true });
    await ownEndpoint(parameters.id as string, tenant);
    const rotated = await sender.endpoints.rotateSecret(parameters.id as string, overlapMs === undefined ? {} : { overlapMs });
    // When the old secret stops signing, so a settings page can say so; never the old value itself.
    const { previous } = await sender.endpoints.getSecrets(parameters.id as string);
    const times = previous.map((entry) => new Date(entry.expiresAt as string | number | Date).getTime()).filter(Number.isFinite);
    return json(200, { secret: rotated.secret, previousExpiresAt: times.length > 0 ? new Date(Math.max(...times)).toISOString() : null });
  });
  add('GET', '/endpoints/:id/secret', 'write', async ({ tenant, parameters, url }) => {
    readQuery(url, []);
    await ownEndpoint(parameters.id as string, tenant);
    const secrets = await sender.endpoints.getSecrets(parameters.id as string);
    return json(200, { current: secrets.current, previous: secrets.previous });
  });
  add('POST', '/endpoints/:id/recover', 'write', async ({ tenant, parameters, body }) => {
    const input = await body();
    onlyFields(input, ['since']);
    if (input.since === undefined) throw new SenderError('invalid_input', 'since is required.', { details: { field: 'since' } });
    const since = parseTime(input.since, 'since');
    await ownEndpoint(parameters.id as string, tenant);
    const result = await sender.endpoints.recover(parameters.id as string, { since });
    return json(202, typeof result === 'number' ? { count: result } : result);
  });
  add('POST', '/endpoints/:id/test', 'write', async ({ tenant, parameters, body }) => {
    const input = await body();
    onlyFields(input, ['type']);
    const type = stringField(input, 'type', { max: 200 });
    await ownEndpoint(parameters.id as string, tenant);
    const result = await sender.sendTest(parameters.id as string, type);
    return json(202, result);
  });

  // Messages
  add('GET', '/messages', 'read', async ({ tenant, url }) => {
    const query = readQuery(url, ['limit', 'cursor', 'type', 'since', 'until']);
    const page = await sender.messages.list({
      tenant,
      limit: limitParameter(query),
      cursor: stringParameter(query, 'cursor'),
      type: stringParameter(query, 'type'),
      since: timeParameter(query, 'since'),
      until: timeParameter(query, 'until'),
    });
    return json(200, { items: page.items, nextCursor: page.nextCursor });
  });
  add('POST', '/messages', 'host', async ({ tenant, body }) => {
    const input = await body();
    onlyFields(input, ['type', 'data', 'idempotencyKey']);
    const type = stringField(input, 'type', { required: true, max: 200 }) as string;
    if (!('data' in input)) throw new SenderError('invalid_input', 'data is required.', { details: { field: 'data' } });
    const idempotencyKey = stringField(input, 'idempotencyKey', { max: 255 });
    const result = await sender.send({ tenant, type, data: input.data, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
    return json(202, result);
  });
  add('GET', '/messages/:id', 'read', async ({ tenant, parameters }) => json(200, await owned(() => sender.messages.get(parameters.id as string), tenant, messageNotFound())));

  // Deliveries and attempts
  add('GET', '/deliveries', 'read', async ({ tenant, url }) => {
    const query = readQuery(url, ['limit', 'cursor', 'endpointId', 'messageId', 'status', 'type', 'since', 'until']);
    const endpointId = stringParameter(query, 'endpointId', 128);
    const messageId = stringParameter(query, 'messageId', 128);
    const filters = {
      tenant,
      limit: limitParameter(query),
      cursor: stringParameter(query, 'cursor'),
      endpointId,
      messageId,
      status: enumParameter(query, 'status', DELIVERY_STATUSES),
      type: stringParameter(query, 'type'),
      since: timeParameter(query, 'since'),
      until: timeParameter(query, 'until'),
    };
    // A filter on another tenant's endpoint is not found, not an empty list: same answer as GET of it.
    if (endpointId !== undefined) await ownEndpoint(endpointId, tenant);
    const page = await sender.deliveries.list(filters);
    return json(200, { items: page.items, nextCursor: page.nextCursor });
  });
  add('GET', '/deliveries/:id', 'read', async ({ tenant, parameters }) => json(200, await owned(() => sender.deliveries.get(parameters.id as string), tenant, deliveryNotFound())));
  add('GET', '/deliveries/:id/attempts', 'read', async ({ tenant, parameters, url }) => {
    const query = readQuery(url, ['limit', 'cursor']);
    const limit = limitParameter(query);
    const cursor = stringParameter(query, 'cursor');
    const delivery = (await owned(() => sender.deliveries.get(parameters.id as string), tenant, deliveryNotFound())) as TenantOwned & { messageId: string; endpointId: string };
    const page = await sender.attempts.list({ deliveryId: parameters.id as string, limit, cursor });
    const message = (await sender.messages.get(delivery.messageId)) as unknown as Parameters<typeof attemptRequest>[0] | undefined;
    const endpoint = (await sender.endpoints.get(delivery.endpointId)) as unknown as Parameters<typeof attemptRequest>[1] | undefined;
    const items = page.items.map((item) => {
      const attempt = item as { number: number; startedAt: Date | string | number };
      return message && endpoint ? { ...attempt, request: attemptRequest(message, endpoint, attempt) } : { ...attempt, request: null };
    });
    return json(200, { items, nextCursor: page.nextCursor });
  });
  add('POST', '/deliveries/:id/retry', 'write', async ({ tenant, parameters, body }) => {
    onlyFields(await body(), []);
    await owned(() => sender.deliveries.get(parameters.id as string), tenant, deliveryNotFound());
    return json(202, await sender.deliveries.retry(parameters.id as string));
  });

  // Catalog, for the settings page's event picker
  // The catalog: the event picker's names and descriptions, and the reference page's JSON Schema and examples.
  add('GET', '/event-types', 'read', async ({ url }) => {
    readQuery(url, []);
    const catalog = options.catalog ?? sender.catalog;
    const items = catalog ? describeCatalog(catalog).map(({ type, description, deprecated, schema, example }) => ({ name: type, description, deprecated, schema, example })) : [];
    return json(200, { items });
  });

  // Who the caller is, for a settings page to hide what it may not do and to renew its token.
  add('GET', '/session', 'read', async ({ url, principal }) => {
    readQuery(url, []);
    return json(200, { tenant: principal.tenant, scopes: principal.scopes, via: principal.via, expiresAt: principal.expiresAt?.toISOString() ?? null });
  });

  return routes;
}
