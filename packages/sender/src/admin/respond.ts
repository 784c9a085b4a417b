import { HooksError, WebhookPayloadError } from '@hooks/core';
import { formatPath } from '@hooks/core/internal';
import { SenderError } from '../errors';

/** The error body of every admin API failure. */
export interface AdminErrorBody {
  /** What went wrong. */
  error: {
    /** Stable machine-readable code, e.g. `endpoint_not_found`. */
    code: string;
    /** Human-readable message; generic for server faults (status 500 and above). */
    message: string;
    /** Extra machine-readable detail such as the failing field; absent when there is none. */
    details?: Record<string, unknown>;
  };
}

// Answers may carry secrets (create, rotate, secret): never let a proxy or browser keep them.
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: status === 204 ? { 'cache-control': 'no-store', ...headers } : { ...JSON_HEADERS, ...headers } });
}

/** An error response in the `{ error: { code, message, details? } }` shape. */
export function errorResponse(status: number, code: string, message: string, details?: Record<string, unknown>, headers: Record<string, string> = {}): Response {
  const body: AdminErrorBody = { error: details ? { code, message, details } : { code, message } };
  return json(status, body, headers);
}

/**
 * Turns a thrown error into a response. Known `@hooks/*` errors keep their code, status and
 * message (they never contain secrets); anything else is a 500 whose message says nothing.
 */
export function toErrorResponse(error: unknown): { response: Response; unexpected: boolean } {
  if (SenderError.isInstance(error)) {
    // Storage and option failures are server faults: their message may name internals.
    if (error.status >= 500) return { response: errorResponse(error.status, error.code, 'The server could not complete the request.'), unexpected: true };
    return { response: errorResponse(error.status, error.code, error.message, publicDetails(error.code, error.details)), unexpected: false };
  }
  if (WebhookPayloadError.isInstance(error)) {
    const body = error.toJSON();
    const details = body.issues ? { path: body.path, issues: body.issues } : undefined;
    return { response: errorResponse(400, error.code, error.message, details), unexpected: false };
  }
  if (HooksError.isInstance(error) && error.status < 500) {
    return { response: errorResponse(error.status, error.code, error.message), unexpected: false };
  }
  return { response: errorResponse(500, 'internal_error', 'The server could not complete the request.'), unexpected: true };
}

// URL policy errors come from the sender's URL check, which knows nothing of forms.
const URL_CODES = new Set(['invalid_url', 'insecure_url', 'blocked_address']);

/**
 * The `details` an admin answer carries: the sender's own, with `field: 'url'` on URL errors and,
 * on `invalid_payload`, `path` (the first failing place, `registrant.email`) and `issues` with
 * dotted paths, the same shape receivers answer with.
 */
function publicDetails(code: string, details: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = { ...details };
  if (URL_CODES.has(code) && out.field === undefined) out.field = 'url';
  if (code === 'invalid_payload' && Array.isArray(out.issues)) {
    const issues = (out.issues as Array<{ path?: unknown; message?: unknown }>).map((issue) => ({ path: dottedPath(issue.path), message: String(issue.message ?? '') }));
    out.issues = issues;
    if (typeof out.path !== 'string') out.path = issues[0]?.path ?? '';
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function dottedPath(path: unknown): string {
  if (typeof path === 'string') return path;
  if (!Array.isArray(path)) return '';
  // The sender stores array indexes as strings ("0"); shown as [0] like the receivers do.
  return formatPath(path.map((segment) => (typeof segment === 'string' && /^\d+$/.test(segment) ? Number(segment) : (segment as PropertyKey))));
}
