import { HooksError } from '@hooks/core';

const senderMarker = Symbol.for('@hooks/sender.error');

/** Stable codes of {@link SenderError}. */
export type SenderErrorCode =
  | 'invalid_url'
  | 'insecure_url'
  | 'blocked_address'
  | 'endpoint_not_found'
  | 'endpoint_disabled'
  | 'delivery_not_found'
  | 'message_not_found'
  | 'unknown_event'
  | 'invalid_payload'
  | 'payload_too_large'
  | 'invalid_option'
  | 'invalid_input'
  | 'conflict'
  | 'storage_error'
  | 'unauthorized'
  | 'forbidden';

const STATUS: Record<SenderErrorCode, number> = {
  invalid_url: 400,
  insecure_url: 400,
  blocked_address: 400,
  endpoint_not_found: 404,
  endpoint_disabled: 409,
  delivery_not_found: 404,
  message_not_found: 404,
  unknown_event: 400,
  invalid_payload: 400,
  payload_too_large: 413,
  invalid_option: 500,
  invalid_input: 400,
  conflict: 409,
  storage_error: 500,
  unauthorized: 401,
  forbidden: 403,
};

/** An error of `@hooks/sender`: a stable `code`, an HTTP `status` for the admin API, and a message without secrets. */
export class SenderError extends HooksError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through the Symbol.for key, which survives two installed copies.
  private readonly [senderMarker] = true;
  declare readonly code: SenderErrorCode;
  /** Extra machine-readable detail (a failing path, a field name), never a secret. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: SenderErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, STATUS[code], { cause: options.cause });
    this.name = 'SenderError';
    this.details = options.details;
  }

  /** True for a SenderError, even from another installed copy of the package. */
  static override isInstance(error: unknown): error is SenderError {
    return HooksError.isInstance(error) && (error as unknown as Record<symbol, unknown>)[senderMarker] === true;
  }

  override toJSON(): {
    /** The stable {@link SenderErrorCode}. */
    code: string;
    /** The human-readable message; never contains a secret. */
    message: string;
    /** A copy of {@link SenderError.details}; absent when there are none. */
    details?: Record<string, unknown>;
  } {
    return this.details ? { code: this.code, message: this.message, details: { ...this.details } } : { code: this.code, message: this.message };
  }
}
