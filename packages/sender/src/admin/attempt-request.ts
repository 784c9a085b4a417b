import { ATTEMPT_HEADER, EVENT_HEADER, PROFILE_HEADERS } from '@hooks/core';
import { VERSION } from '@hooks/core/internal';
import { envelopeBody } from '../dispatcher';

// The storage keeps what came back from each attempt, not what went out: the request is rebuilt
// here from the stored message, the endpoint and the attempt's number and time, the way the
// dispatcher built it. The signature is not stored and is not recomputed (the secrets of that
// moment may have been rotated since), so its value is shown redacted.

/** The request of one attempt as the admin API shows it. */
export interface AttemptRequest {
  /** Always `POST`. */
  method: 'POST';
  /** The endpoint's URL (its current value: an edited URL shows the new one). */
  url: string;
  /** Header names (lower case) to values, in the order they were sent; custom headers first. */
  headers: Record<string, string>;
  /** The exact body bytes that were signed, as text. */
  body: string;
  /** Headers whose value is replaced by `[redacted]`: the signature. */
  redactedHeaders: string[];
}

/** The placeholder of a redacted header value. */
export const REDACTED = '[redacted]';

interface MessageView {
  id: string;
  type: string;
  data: unknown;
  createdAt: Date | string | number;
}

interface EndpointView {
  url: string;
  headers?: Record<string, string>;
  profile?: string;
}

/** Rebuilds the request an attempt sent (body exact; timestamp the second the attempt started). */
export function attemptRequest(message: MessageView, endpoint: EndpointView, attempt: { number: number; startedAt: Date | string | number }): AttemptRequest {
  const names = PROFILE_HEADERS[endpoint.profile === 'standard' ? 'standard' : 'x-webhook'];
  const createdAt = new Date(message.createdAt).getTime();
  const body = envelopeBody({ id: message.id, type: message.type, createdAt, payload: JSON.stringify(message.data) });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(endpoint.headers ?? {})) headers[name.toLowerCase()] = value;
  Object.assign(headers, {
    [names.id]: message.id,
    [names.timestamp]: String(Math.floor(new Date(attempt.startedAt).getTime() / 1000)),
    [names.signature]: REDACTED,
    [ATTEMPT_HEADER]: String(attempt.number),
    'content-type': 'application/json',
    'user-agent': `hooks/${VERSION}`,
    [EVENT_HEADER]: message.type,
  });
  return { method: 'POST', url: endpoint.url, headers, body, redactedHeaders: [names.signature] };
}
