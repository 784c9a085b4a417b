import { CliError } from './errors';

/** What the receiver answered. */
export interface DeliveryResult {
  /** HTTP status. */
  status: number;
  /** Reason phrase. */
  statusText: string;
  /** Response headers, lower-case names. */
  headers: Record<string, string>;
  /** Response body as text, cut at {@link MAX_RESPONSE_CHARS}. */
  body: string;
  /** True when the body was cut. */
  truncated: boolean;
  /** Milliseconds from sending the request to the end of the response body. */
  durationMs: number;
  /** Milliseconds until the response headers arrived. */
  timeToHeadersMs: number;
}

/** Longest response body printed. */
export const MAX_RESPONSE_CHARS = 64 * 1024;

/** Checks `--url`: an absolute http(s) URL. */
export function checkUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError('invalid_option', `--url "${url.slice(0, 200)}" is not an absolute URL such as http://localhost:3000/webhooks.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError('invalid_option', `--url must be http:// or https://, not ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new CliError('invalid_option', '--url must not carry credentials; pass them with --header "Authorization: …".');
  return parsed;
}

function networkError(error: unknown, url: URL, timeoutMs: number): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  const name = (error as Error).name;
  const where = `${url.origin}`;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new CliError('timeout', `${where} did not answer within ${timeoutMs} ms.`, { hint: 'Is the receiver stuck? Raise --timeout if it is just slow.', cause: error });
  }
  if (code === 'ECONNREFUSED') {
    return new CliError('connection_refused', `Nothing listens at ${where} (connection refused).`, { hint: 'Start your receiver, and check the port in --url.', cause: error });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CliError('dns', `The host ${url.hostname} cannot be resolved.`, { cause: error });
  if (typeof code === 'string' && (code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'EPROTO')) {
    return new CliError('tls', `The TLS connection to ${where} failed (${code}).`, { hint: 'For a local receiver, use http://.', cause: error });
  }
  return new CliError('network', `The request to ${where} failed: ${cause?.message ?? (error as Error).message}${code ? ` (${code})` : ''}.`, { cause: error });
}

/** POSTs one webhook request and times it. Follows no redirect: a 3xx is shown as it is, as the dispatcher would see it. */
export async function deliver(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<DeliveryResult> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body: new Uint8Array(body), redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw networkError(error, url, timeoutMs);
  }
  const timeToHeadersMs = performance.now() - started;
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw networkError(error, url, timeoutMs);
  }
  const durationMs = performance.now() - started;
  const responseHeaders: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    responseHeaders[name] = value;
  });
  const truncated = text.length > MAX_RESPONSE_CHARS;
  return {
    status: response.status,
    statusText: response.statusText,
    headers: responseHeaders,
    body: truncated ? text.slice(0, MAX_RESPONSE_CHARS) : text,
    truncated,
    durationMs: Math.round(durationMs * 10) / 10,
    timeToHeadersMs: Math.round(timeToHeadersMs * 10) / 10,
  };
}

// What a receiver's error code means for the developer testing it.
const HINTS: Record<string, string> = {
  invalid_signature: 'The receiver has another secret than the one sent with, or it verifies a re-serialised body instead of the raw bytes.',
  timestamp_too_old: "The receiver's clock is ahead of this machine's by more than its tolerance: synchronise clocks (NTP).",
  timestamp_too_new: "The receiver's clock is behind this machine's by more than its tolerance: synchronise clocks (NTP).",
  missing_header: 'The receiver looks for other header names: try --profile standard (webhook-*) or --profile x-webhook.',
  malformed_header: 'The receiver could not parse a webhook header.',
  unknown_event: "The receiver's catalog does not declare this event type.",
  invalid_payload: "The payload does not match the receiver's schema for this event: the receiver's catalog and yours differ.",
  invalid_json: 'The receiver could not parse the body as JSON: a body parser may have consumed it first.',
  payload_too_large: "The body is larger than the receiver's limit (maxBodyBytes).",
  body_already_parsed: 'A JSON body parser ran before the webhook middleware: mount the webhook route before express.json(), or keep the raw body.',
};

/** A sentence explaining a non-2xx answer, from the error code a @hooks receiver (or a similar one) returns. */
export function explainResponse(result: DeliveryResult): string | undefined {
  if (result.status >= 200 && result.status < 300) return undefined;
  let code: string | undefined;
  try {
    const parsed = JSON.parse(result.body) as { error?: { code?: unknown } | string; code?: unknown };
    const candidate = typeof parsed.error === 'object' && parsed.error !== null ? parsed.error.code : parsed.code ?? parsed.error;
    if (typeof candidate === 'string') code = candidate;
  } catch {
    // Not JSON: fall back to the status.
  }
  if (code && HINTS[code]) return HINTS[code];
  if (result.status >= 300 && result.status < 400) return `The receiver redirects${result.headers.location ? ` to ${result.headers.location}` : ''}; webhook senders follow no redirect: use the final URL.`;
  if (result.status === 404 || result.status === 405) return 'Nothing handles POST at this path: check the path in --url.';
  if (result.status === 409) return 'The same id is still being handled (the sender retries later); send again with a new id.';
  if (result.status >= 500) return 'The receiver failed while handling the event: look at its logs.';
  return undefined;
}
