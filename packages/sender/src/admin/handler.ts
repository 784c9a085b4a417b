import { ConfigurationError, readBody } from '@hooks/core';
import type { EventCatalog } from '@hooks/core';
import { SenderError } from '../errors';
import { errorResponse, json, toErrorResponse } from './respond';
import type { AdminSender } from './sender-api';
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

/** Who is calling: every admin call is limited to this tenant's endpoints, messages and deliveries. */
export interface AdminPrincipal {
  /** The tenant (customer workspace) the caller may manage. */
  tenant: string;
}

/** Options of {@link createAdminHandler}. */
export interface AdminHandlerOptions {
  /**
   * Authenticates the request (session cookie, API key…) and says which tenant it may manage;
   * `null` answers 401. Required: the admin API has no default access rule.
   */
  authorize: (request: Request) => AdminPrincipal | null | Promise<AdminPrincipal | null>;
  /** Path prefix the handler is mounted at, e.g. `/api/webhooks`. @default '' */
  basePath?: string;
  /** Largest request body accepted, in bytes. @default 1048576 */
  maxBodyBytes?: number;
  /** Event catalog listed by `GET /event-types`. @default the sender's catalog */
  catalog?: EventCatalog;
  /** Called with unexpected errors (answered 500 without detail), for the host app's logger. @default none */
  onError?: (error: unknown, request: Request) => void;
}

/** A Fetch-style admin API handler: mount it in any framework that speaks `Request`/`Response`. */
export type AdminHandler = (request: Request) => Promise<Response>;

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface RouteContext {
  tenant: string;
  request: Request;
  url: URL;
  parameters: Record<string, string>;
  body: () => Promise<JsonObject>;
}

interface Route {
  method: Method;
  segments: string[];
  run: (context: RouteContext) => Promise<Response>;
}

const DELIVERY_STATUSES = ['pending', 'in_flight', 'succeeded', 'failed'] as const;
const PROFILES = ['x-webhook', 'standard'] as const;
const ENDPOINT_FIELDS = ['url', 'name', 'description', 'events', 'headers', 'profile', 'metadata', 'rateLimit', 'fifo'] as const;
const ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_OVERLAP_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * The admin HTTP API of a sender as one Fetch handler: endpoints, secrets, rotation, test sends,
 * logs and retries, as JSON. Every call is scoped to the tenant `authorize` returns; another
 * tenant's objects answer 404 as if they did not exist.
 */
export function createAdminHandler(sender: AdminSender, options: AdminHandlerOptions): AdminHandler {
  if (typeof options?.authorize !== 'function') {
    throw new ConfigurationError('invalid_option', 'createAdminHandler needs an authorize(request) function: the admin API has no default access rule.');
  }
  const basePath = normaliseBasePath(options.basePath ?? '');
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new ConfigurationError('invalid_option', 'maxBodyBytes must be a positive integer.');
  const routes = buildRoutes(sender, options);

  return async (request) => {
    try {
      const url = new URL(request.url);
      const path = stripBase(url.pathname, basePath);
      if (path === undefined) return errorResponse(404, 'not_found', 'No such admin route.');
      const segments = path.split('/').filter((segment) => segment !== '');

      const matching = routes.map((route) => ({ route, parameters: match(route.segments, segments) })).filter((entry) => entry.parameters !== undefined);
      if (matching.length === 0) return errorResponse(404, 'not_found', 'No such admin route.');
      const chosen = matching.find((entry) => entry.route.method === request.method);
      if (!chosen) {
        const allow = [...new Set(matching.map((entry) => entry.route.method))].join(', ');
        return errorResponse(405, 'method_not_allowed', `Use ${allow} on this route.`, undefined, { allow });
      }

      const principal = await options.authorize(request);
      if (principal === null || principal === undefined) return errorResponse(401, 'unauthorized', 'Authentication is required.');
      if (typeof principal.tenant !== 'string' || principal.tenant === '') {
        throw new ConfigurationError('invalid_option', 'authorize() must return { tenant: string } or null.');
      }

      const parameters = chosen.parameters as Record<string, string>;
      for (const value of Object.values(parameters)) {
        // Ids are ours; anything else cannot exist, so it is simply not found.
        if (!ID.test(value)) return errorResponse(404, 'not_found', 'No such object.');
      }
      return await chosen.route.run({
        tenant: principal.tenant,
        request,
        url,
        parameters,
        body: () => readJsonBody(request, maxBodyBytes),
      });
    } catch (error) {
      const { response, unexpected } = toErrorResponse(error);
      if (unexpected) options.onError?.(error, request);
      return response;
    }
  };
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
  if (type !== null && type !== '' && !/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
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

interface TenantOwned {
  tenant: string;
}

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
  const add = (method: Method, path: string, run: Route['run']) => routes.push({ method, segments: path.split('/').filter((part) => part !== ''), run });
  const ownEndpoint = (id: string, tenant: string) => owned(() => sender.endpoints.get(id), tenant, endpointNotFound());

  // Endpoints
  add('GET', '/endpoints', async ({ tenant, url }) => {
    const query = readQuery(url, ['limit', 'cursor']);
    const page = await sender.endpoints.list({ tenant, limit: limitParameter(query), cursor: stringParameter(query, 'cursor') });
    return json(200, { items: page.items, nextCursor: page.nextCursor });
  });
  add('POST', '/endpoints', async ({ tenant, body }) => {
    const fields = readEndpointFields(await body(), true);
    const created = await sender.endpoints.create({ ...fields, url: fields.url as string, tenant });
    return json(201, { endpoint: created.endpoint, secret: created.secret });
  });
  add('GET', '/endpoints/:id', async ({ tenant, parameters }) => json(200, await ownEndpoint(parameters.id as string, tenant)));
  add('PATCH', '/endpoints/:id', async ({ tenant, parameters, body }) => {
    const fields = readEndpointFields(await body(), false);
    await ownEndpoint(parameters.id as string, tenant);
    return json(200, await sender.endpoints.update(parameters.id as string, { ...fields }));
  });
  add('DELETE', '/endpoints/:id', async ({ tenant, parameters }) => {
    await ownEndpoint(parameters.id as string, tenant);
    await sender.endpoints.delete(parameters.id as string);
    return json(204, null);
  });
  add('POST', '/endpoints/:id/enable', async ({ tenant, parameters, body }) => {
    onlyFields(await body(), []);
    await ownEndpoint(parameters.id as string, tenant);
    return json(200, await sender.endpoints.enable(parameters.id as string));
  });
  add('POST', '/endpoints/:id/disable', async ({ tenant, parameters, body }) => {
    const input = await body();
    onlyFields(input, ['reason']);
    const reason = stringField(input, 'reason', { max: 200 });
    await ownEndpoint(parameters.id as string, tenant);
    return json(200, await sender.endpoints.disable(parameters.id as string, reason));
  });
  add('POST', '/endpoints/:id/rotate-secret', async ({ tenant, parameters, body }) => {
    const input = await body();
    onlyFields(input, ['overlapMs']);
    const overlapMs = numberField(input, 'overlapMs', { min: 0, max: MAX_OVERLAP_MS, integer: true });
    await ownEndpoint(parameters.id as string, tenant);
    const rotated = await sender.endpoints.rotateSecret(parameters.id as string, overlapMs === undefined ? {} : { overlapMs });
    return json(200, { secret: rotated.secret });
  });
  add('GET', '/endpoints/:id/secret', async ({ tenant, parameters, url }) => {
    readQuery(url, []);
    await ownEndpoint(parameters.id as string, tenant);
    const secrets = await sender.endpoints.getSecrets(parameters.id as string);
    return json(200, { current: secrets.current, previous: secrets.previous });
  });
  add('POST', '/endpoints/:id/recover', async ({ tenant, parameters, body }) => {
    const input = await body();
    onlyFields(input, ['since']);
    if (input.since === undefined) throw new SenderError('invalid_input', 'since is required.', { details: { field: 'since' } });
    const since = parseTime(input.since, 'since');
    await ownEndpoint(parameters.id as string, tenant);
    const result = await sender.endpoints.recover(parameters.id as string, { since });
    return json(202, typeof result === 'number' ? { count: result } : result);
  });
  add('POST', '/endpoints/:id/test', async ({ tenant, parameters, body }) => {
    const input = await body();
    onlyFields(input, ['type']);
    const type = stringField(input, 'type', { max: 200 });
    await ownEndpoint(parameters.id as string, tenant);
    const result = await sender.sendTest(parameters.id as string, type);
    return json(202, result);
  });

  // Messages
  add('GET', '/messages', async ({ tenant, url }) => {
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
  add('POST', '/messages', async ({ tenant, body }) => {
    const input = await body();
    onlyFields(input, ['type', 'data', 'idempotencyKey']);
    const type = stringField(input, 'type', { required: true, max: 200 }) as string;
    if (!('data' in input)) throw new SenderError('invalid_input', 'data is required.', { details: { field: 'data' } });
    const idempotencyKey = stringField(input, 'idempotencyKey', { max: 255 });
    const result = await sender.send({ tenant, type, data: input.data, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
    return json(202, result);
  });
  add('GET', '/messages/:id', async ({ tenant, parameters }) => json(200, await owned(() => sender.messages.get(parameters.id as string), tenant, messageNotFound())));

  // Deliveries and attempts
  add('GET', '/deliveries', async ({ tenant, url }) => {
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
  add('GET', '/deliveries/:id', async ({ tenant, parameters }) => json(200, await owned(() => sender.deliveries.get(parameters.id as string), tenant, deliveryNotFound())));
  add('GET', '/deliveries/:id/attempts', async ({ tenant, parameters, url }) => {
    const query = readQuery(url, ['limit', 'cursor']);
    const limit = limitParameter(query);
    const cursor = stringParameter(query, 'cursor');
    await owned(() => sender.deliveries.get(parameters.id as string), tenant, deliveryNotFound());
    const page = await sender.attempts.list({ deliveryId: parameters.id as string, limit, cursor });
    return json(200, { items: page.items, nextCursor: page.nextCursor });
  });
  add('POST', '/deliveries/:id/retry', async ({ tenant, parameters, body }) => {
    onlyFields(await body(), []);
    await owned(() => sender.deliveries.get(parameters.id as string), tenant, deliveryNotFound());
    return json(202, await sender.deliveries.retry(parameters.id as string));
  });

  // Catalog, for the settings page's event picker
  add('GET', '/event-types', async ({ url }) => {
    readQuery(url, []);
    const catalog = options.catalog ?? sender.catalog;
    const items = catalog
      ? catalog.names.map((name) => {
          const definition = catalog.definitions[name];
          return { name, description: definition?.description ?? null, example: definition?.example ?? null };
        })
      : [];
    return json(200, { items });
  });

  return routes;
}
