/**
 * Every error `@hooks/*` packages throw on bad input: a stable machine-readable `code`, an HTTP
 * `status` a receiver can answer with, and a message a person can act on. Messages never
 * contain secrets, signatures or payload bytes.
 *
 * Identity survives two installed copies of the package: use `HooksError.isInstance(error)`
 * (or a subclass's `isInstance`) rather than `instanceof`.
 */

const baseMarker = Symbol.for('@hooks/core.error');

/** Stable codes of verification and payload errors, safe to branch on and to return to callers. */
export type WebhookErrorCode =
  | 'missing_header'
  | 'malformed_header'
  | 'invalid_signature'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'payload_too_large'
  | 'invalid_json'
  | 'invalid_payload'
  | 'unknown_event'
  | 'invalid_secret'
  | 'invalid_option'
  | 'unsupported_key'
  | 'body_already_parsed'
  | 'missing_secret'
  | 'unsupported_encoding'
  | 'invalid_encoding'
  | 'method_not_allowed';

/** Options accepted by every {@link HooksError} constructor. */
export interface HooksErrorOptions {
  /** The underlying error, if any. Never a value that may contain a secret. */
  cause?: unknown;
}

/** Base class of every error thrown by `@hooks/*` packages. */
export class HooksError extends Error {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through the Symbol.for key, which survives two installed copies.
  private readonly [baseMarker] = true;
  /** Machine-readable reason, stable across versions. */
  readonly code: string;
  /** The HTTP status a server should answer with for this error. */
  readonly status: number;

  constructor(code: string, message: string, status = 500, options: HooksErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HooksError';
    this.code = code;
    this.status = status;
  }

  /** True for any `@hooks/*` error, even one created by another installed copy of the package. */
  static isInstance(error: unknown): error is HooksError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[baseMarker] === true;
  }

  /** A plain object safe to serialise into a response body or a log line. */
  toJSON(): {
    /** The stable machine-readable {@link HooksError.code}. */
    code: string;
    /** The human-readable message; never contains a secret, signature or payload bytes. */
    message: string;
  } {
    return { code: this.code, message: this.message };
  }
}

function markerCheck(marker: symbol) {
  return (error: unknown): boolean =>
    HooksError.isInstance(error) && (error as unknown as Record<symbol, unknown>)[marker] === true;
}

const verificationMarker = Symbol.for('@hooks/core.error.verification');

/** Codes of {@link WebhookVerificationError}: the request could not be authenticated (HTTP 401). */
export type VerificationErrorCode =
  | 'missing_header'
  | 'malformed_header'
  | 'invalid_signature'
  | 'timestamp_too_old'
  | 'timestamp_too_new';

/** The request's webhook headers are missing, malformed, stale or do not match any configured secret. */
export class WebhookVerificationError extends HooksError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through the Symbol.for key, which survives two installed copies.
  private readonly [verificationMarker] = true;
  declare readonly code: VerificationErrorCode;

  constructor(code: VerificationErrorCode, message: string, options?: HooksErrorOptions) {
    super(code, message, 401, options);
    this.name = 'WebhookVerificationError';
  }

  static override isInstance(error: unknown): error is WebhookVerificationError {
    return markerCheck(verificationMarker)(error);
  }
}

const payloadMarker = Symbol.for('@hooks/core.error.payload');

/** Codes of {@link WebhookPayloadError}: the request was authentic but its body is unusable (HTTP 400). */
export type PayloadErrorCode = 'invalid_json' | 'invalid_payload' | 'unknown_event' | 'invalid_encoding';

/** One failing place in a payload, as reported by the event's schema. */
export interface PayloadIssue {
  /** Where in the envelope the problem is, e.g. `["data", "email"]`. */
  path: ReadonlyArray<PropertyKey>;
  /** What the schema said about it. */
  message: string;
}

/** The body is not JSON, not an envelope, of an unknown type, or does not match the event's schema. */
export class WebhookPayloadError extends HooksError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through the Symbol.for key, which survives two installed copies.
  private readonly [payloadMarker] = true;
  declare readonly code: PayloadErrorCode;
  /** The failing places (for `invalid_payload`), first one first. */
  readonly issues: ReadonlyArray<PayloadIssue>;

  constructor(code: PayloadErrorCode, message: string, issues: ReadonlyArray<PayloadIssue> = [], options?: HooksErrorOptions) {
    super(code, message, 400, options);
    this.name = 'WebhookPayloadError';
    this.issues = issues;
  }

  /** The path of the first failing place, e.g. `data.email`, or undefined. */
  get path(): string | undefined {
    const first = this.issues[0];
    return first ? formatPath(first.path) : undefined;
  }

  static override isInstance(error: unknown): error is WebhookPayloadError {
    return markerCheck(payloadMarker)(error);
  }

  override toJSON(): {
    /** The stable machine-readable {@link PayloadErrorCode}. */
    code: string;
    /** The human-readable message; never contains payload bytes. */
    message: string;
    /** Dotted path of the first failing place, e.g. `data.email`; present only when there are issues. */
    path?: string;
    /** Every failing place, first one first; present only when the schema reported issues. */
    issues?: Array<{
      /** Dotted path of the failing place, e.g. `data.items[0].id`. */
      path: string;
      /** What the schema said about it. */
      message: string;
    }>;
  } {
    const issues = this.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
    return issues.length > 0 ? { code: this.code, message: this.message, path: this.path, issues } : { code: this.code, message: this.message };
  }
}

const tooLargeMarker = Symbol.for('@hooks/core.error.too-large');

/** The body is larger than the configured limit (HTTP 413). Thrown before the excess is buffered. */
export class PayloadTooLargeError extends HooksError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through the Symbol.for key, which survives two installed copies.
  private readonly [tooLargeMarker] = true;
  declare readonly code: 'payload_too_large';
  /** The limit in bytes that was exceeded. */
  readonly limit: number;

  constructor(limit: number) {
    super('payload_too_large', `The request body is larger than the limit of ${limit} bytes.`, 413);
    this.name = 'PayloadTooLargeError';
    this.limit = limit;
  }

  static override isInstance(error: unknown): error is PayloadTooLargeError {
    return markerCheck(tooLargeMarker)(error);
  }
}

const encodingMarker = Symbol.for('@hooks/core.error.encoding');

/**
 * The body arrived with a `Content-Encoding` (gzip, br…) and the receiver does not inflate, or
 * cannot inflate that one (HTTP 415). The signature covers the bytes on the wire, which must be
 * the JSON envelope itself unless the receiver's `inflate` option is on.
 */
export class UnsupportedEncodingError extends HooksError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through the Symbol.for key, which survives two installed copies.
  private readonly [encodingMarker] = true;
  declare readonly code: 'unsupported_encoding';
  /** The `Content-Encoding` that was refused, as sent (lower-cased, at most 64 characters). */
  readonly encoding: string;

  constructor(encoding: string, inflating: boolean) {
    const shown = encoding.slice(0, 64);
    super(
      'unsupported_encoding',
      inflating
        ? `Content-Encoding "${shown}" is not supported: send the body uncompressed, gzip or deflate.`
        : `Content-Encoding "${shown}" is not accepted: send the JSON body uncompressed, or enable the receiver's inflate option.`,
      415,
    );
    this.name = 'UnsupportedEncodingError';
    this.encoding = shown;
  }

  static override isInstance(error: unknown): error is UnsupportedEncodingError {
    return markerCheck(encodingMarker)(error);
  }
}

const methodMarker = Symbol.for('@hooks/core.error.method');

/** The request used another method than POST (HTTP 405, with `Allow: POST`). */
export class MethodNotAllowedError extends HooksError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through the Symbol.for key, which survives two installed copies.
  private readonly [methodMarker] = true;
  declare readonly code: 'method_not_allowed';

  constructor(method: string) {
    super('method_not_allowed', `Webhooks are delivered with POST, not ${method.slice(0, 16)}.`, 405);
    this.name = 'MethodNotAllowedError';
  }

  static override isInstance(error: unknown): error is MethodNotAllowedError {
    return markerCheck(methodMarker)(error);
  }
}

const configurationMarker = Symbol.for('@hooks/core.error.configuration');

/** Codes of {@link ConfigurationError}. */
export type ConfigurationErrorCode =
  | 'invalid_secret'
  | 'invalid_option'
  | 'unsupported_key'
  // A body parser consumed the request stream before the webhook middleware and kept no raw bytes.
  | 'body_already_parsed'
  // No secret was configured (an empty environment variable at build or start time); answered per request, never thrown at import.
  | 'missing_secret';

/** A secret, key or option given by the application is unusable. The message never repeats the secret. */
export class ConfigurationError extends HooksError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through the Symbol.for key, which survives two installed copies.
  private readonly [configurationMarker] = true;
  declare readonly code: ConfigurationErrorCode;

  constructor(code: ConfigurationErrorCode, message: string, options?: HooksErrorOptions) {
    super(code, message, 500, options);
    this.name = 'ConfigurationError';
  }

  static override isInstance(error: unknown): error is ConfigurationError {
    return markerCheck(configurationMarker)(error);
  }
}

/** `["data", "items", 0, "id"]` → `data.items[0].id`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}
