import { version } from '../package.json';

/** The package version, sent in `User-Agent: hooks/<version>`. */
export const VERSION: string = version;

/**
 * Which header names carry the id, timestamp and signature.
 * - `x-webhook` (default): `X-Webhook-Id`, `X-Webhook-Timestamp`, `X-Webhook-Signature`.
 * - `standard`: `webhook-id`, `webhook-timestamp`, `webhook-signature`, exactly as the Standard
 *   Webhooks specification names them, so any Standard Webhooks library verifies them.
 */
export type HeaderProfile = 'x-webhook' | 'standard';

/** Header names of one profile, lower-case. */
export interface ProfileHeaderNames {
  /** Header carrying the unique message id, e.g. `x-webhook-id`. */
  id: string;
  /** Header carrying the send time in whole Unix seconds, e.g. `x-webhook-timestamp`. */
  timestamp: string;
  /** Header carrying the space-separated signatures, e.g. `x-webhook-signature`. */
  signature: string;
}

/** Header names per profile, in the order a receiver looks for them. `svix-*` is accepted for migrations. */
export const PROFILE_HEADERS: Readonly<Record<HeaderProfile | 'svix', ProfileHeaderNames>> = {
  'x-webhook': { id: 'x-webhook-id', timestamp: 'x-webhook-timestamp', signature: 'x-webhook-signature' },
  standard: { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' },
  svix: { id: 'svix-id', timestamp: 'svix-timestamp', signature: 'svix-signature' },
};

/** Header carrying the attempt number (1, 2, …). */
export const ATTEMPT_HEADER = 'x-webhook-attempt';
/** Header carrying the event type, for routing without parsing. */
export const EVENT_HEADER = 'x-webhook-event';

/**
 * Request headers in any of the shapes frameworks hand out: a Fetch `Headers`, Node's
 * `IncomingHttpHeaders`, or a plain record.
 */
export type HeadersInput =
  | {
      /** Returns the header's value by case-insensitive name, or `null`/`undefined` when absent. */
      get(name: string): string | null | undefined;
    }
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>;

/** Reads one header case-insensitively; repeated headers are joined with `, `. */
export function getHeader(headers: HeadersInput, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const value = (headers as { get(name: string): string | null | undefined }).get(name);
    return value ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | ReadonlyArray<string> | undefined>>;
  let value = record[name];
  if (value === undefined) {
    // for…in rather than Object.keys: a miss (every optional header) allocates nothing.
    for (const key in record) {
      if (key.length === name.length && key.toLowerCase() === name) {
        value = record[key];
        break;
      }
    }
  }
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(', ');
}
