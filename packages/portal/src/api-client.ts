/** An error answer of the admin API, or a network failure (`status` 0). */
export class PortalApiError extends Error {
  /** HTTP status; 0 when the request never got an answer. */
  readonly status: number;
  /** The API's stable error code (`invalid_url`, `unauthorized`…), or `network_error`. */
  readonly code: string;
  /** The API's machine-readable details (`field`, `path`, `reason`…). */
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'PortalApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Where the portal gets its bearer token: a fixed one, or a function asked again when it expires. */
export type TokenSource = () => Promise<string | null>;

/** Options of {@link PortalApi}. */
export interface PortalApiOptions {
  /** Base URL of the admin API, e.g. `/api/webhooks`. */
  apiBase: string;
  /** Returns the current token; called again with `renew: true` after a 401 for an expired token. */
  token: (renew: boolean) => Promise<string | null>;
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * The admin API client of the portal: JSON in and out, the bearer token on every call, and one
 * renewal and retry when the token has expired.
 */
export class PortalApi {
  readonly #options: PortalApiOptions;

  constructor(options: PortalApiOptions) {
    this.#options = options;
  }

  /** Calls the admin API; resolves with the parsed JSON (undefined for 204), rejects with {@link PortalApiError}. */
  async request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let response = await this.#send(method, path, body, false);
    if (response.status === 401) {
      const error = await readError(response);
      if (error.details.reason !== 'expired') throw error;
      response = await this.#send(method, path, body, true);
    }
    if (!response.ok) throw await readError(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  async #send(method: string, path: string, body: unknown, renew: boolean): Promise<Response> {
    const token = await this.#options.token(renew);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    // The admin API takes JSON writes only (its CSRF defence), body or not.
    if (method !== 'GET') headers['content-type'] = 'application/json';
    const base = this.#options.apiBase.replace(/\/+$/, '');
    try {
      return await (this.#options.fetch ?? globalThis.fetch)(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (error) {
      throw new PortalApiError(0, 'network_error', error instanceof Error ? error.message : 'The request failed.');
    }
  }
}

async function readError(response: Response): Promise<PortalApiError> {
  let code = `http_${response.status}`;
  let message = '';
  let details: Record<string, unknown> = {};
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
    if (typeof body.error?.details === 'object' && body.error.details !== null) details = body.error.details as Record<string, unknown>;
  } catch {
    // Not our JSON (a proxy's error page): the status says enough.
  }
  return new PortalApiError(response.status, code, message, details);
}

/**
 * A token source for the `token-url` attribute: GETs the host's route (same-origin cookies
 * included), which answers `{ token, expiresAt }`, and keeps the token until shortly before it
 * expires.
 *
 * @param url - The host's route that mints a portal token for the signed-in user.
 * @param fetchImplementation - The fetch to call it with (default: `globalThis.fetch`).
 * @returns A token function for {@link PortalApiOptions.token}: `renew: true` fetches a new token even if the kept one has not expired. It rejects with {@link PortalApiError} (`token_unavailable`) when the route fails.
 *
 * @example
 * ```ts
 * import { PortalApi, type PortalSession, tokenFromUrl } from '@hooks/portal';
 *
 * // The admin API from your own page, with the token route of <hooks-portal>.
 * const token = tokenFromUrl('/api/webhooks-token');
 * const api = new PortalApi({ apiBase: '/api/webhooks', token });
 * const session = await api.request<PortalSession>('GET', '/session');
 * ```
 */
export function tokenFromUrl(url: string, fetchImplementation: typeof fetch = globalThis.fetch): (renew: boolean) => Promise<string | null> {
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string | null> | undefined;
  return async (renew) => {
    if (!renew && cached && Date.now() < cached.renewAt) return cached.token;
    pending ??= (async () => {
      try {
        const response = await fetchImplementation(url, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } });
        if (!response.ok) throw new PortalApiError(response.status, 'token_unavailable', 'The page could not get a token for the webhook settings.');
        const body = (await response.json()) as { token?: unknown; expiresAt?: unknown };
        if (typeof body.token !== 'string') throw new PortalApiError(response.status, 'token_unavailable', 'The token route did not answer { token }.');
        const expiresAt = typeof body.expiresAt === 'string' || typeof body.expiresAt === 'number' ? new Date(body.expiresAt).getTime() : Number.NaN;
        // Renew a little early, so a call never leaves with a token about to lapse.
        const renewAt = Number.isFinite(expiresAt) ? expiresAt - Math.min(30_000, (expiresAt - Date.now()) / 4) : Date.now() + 60_000;
        cached = { token: body.token, renewAt };
        return body.token;
      } catch (error) {
        if (error instanceof PortalApiError) throw error;
        throw new PortalApiError(0, 'token_unavailable', 'The page could not get a token for the webhook settings.');
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
}
