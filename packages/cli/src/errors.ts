import { HooksError } from '@hooks/core';
import { EXIT, type ExitCode } from './exit-codes';

/** Stable codes of {@link CliError}, printed as `error[code]` and in `--json` output. */
export type CliErrorCode =
  | 'usage_error'
  | 'invalid_option'
  | 'missing_input'
  | 'file_not_found'
  | 'unreadable_input'
  | 'malformed_capture'
  | 'invalid_secret'
  | 'unsupported_key'
  | 'catalog_not_found'
  | 'catalog_load_failed'
  | 'typescript_loader_missing'
  | 'no_catalog_export'
  | 'ambiguous_catalog'
  | 'unknown_event'
  | 'no_example'
  | 'invalid_payload'
  | 'no_json_schema'
  | 'output_error'
  | 'connection_refused'
  | 'timeout'
  | 'dns'
  | 'tls'
  | 'network'
  | 'storage_error'
  | 'unsupported_storage'
  | 'message_not_found'
  | 'internal_error';

const EXIT_OF: Record<CliErrorCode, ExitCode> = {
  usage_error: EXIT.usage,
  invalid_option: EXIT.usage,
  missing_input: EXIT.usage,
  file_not_found: EXIT.input,
  unreadable_input: EXIT.input,
  malformed_capture: EXIT.input,
  invalid_secret: EXIT.input,
  unsupported_key: EXIT.input,
  catalog_not_found: EXIT.input,
  catalog_load_failed: EXIT.input,
  typescript_loader_missing: EXIT.input,
  no_catalog_export: EXIT.input,
  ambiguous_catalog: EXIT.input,
  unknown_event: EXIT.input,
  no_example: EXIT.input,
  invalid_payload: EXIT.input,
  no_json_schema: EXIT.input,
  output_error: EXIT.input,
  connection_refused: EXIT.network,
  timeout: EXIT.network,
  dns: EXIT.network,
  tls: EXIT.network,
  network: EXIT.network,
  storage_error: EXIT.storage,
  unsupported_storage: EXIT.storage,
  message_not_found: EXIT.input,
  internal_error: EXIT.internal,
};

/** An error the CLI reports to the user: a stable `code`, the exit code, and a message that never contains a secret. */
export class CliError extends Error {
  /** Machine-readable reason, stable across versions. */
  readonly code: CliErrorCode;
  /** The process exit code this error ends with. */
  readonly exitCode: ExitCode;
  /** What to try next, printed under the message. */
  readonly hint: string | undefined;

  constructor(code: CliErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = EXIT_OF[code];
    this.hint = options.hint;
  }
}

// Codes of @hooks/core and @hooks/sender errors that reach the CLI, and what they mean here.
const LIBRARY_CODES: Record<string, CliErrorCode> = {
  invalid_secret: 'invalid_secret',
  unsupported_key: 'unsupported_key',
  invalid_option: 'invalid_option',
  invalid_input: 'invalid_option',
  unknown_event: 'unknown_event',
  invalid_payload: 'invalid_payload',
  invalid_json: 'invalid_payload',
  storage_error: 'storage_error',
  message_not_found: 'message_not_found',
};

/** Turns anything thrown into a {@link CliError}; @hooks errors keep their code (their messages carry no secrets). */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (HooksError.isInstance(error)) {
    const code = LIBRARY_CODES[error.code];
    if (code) return new CliError(code, error.message, { cause: error });
    return new CliError('internal_error', `${error.code}: ${error.message}`, { cause: error });
  }
  // Unknown errors keep only their message: it is ours or a library's, and the stack is noise for users.
  const message = error instanceof Error ? error.message : String(error);
  return new CliError('internal_error', `Unexpected error: ${message}`, { cause: error, hint: 'This is a bug in @hooks/cli; please report it with the command you ran (mask any secret).' });
}
