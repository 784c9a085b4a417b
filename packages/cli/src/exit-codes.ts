/**
 * Exit codes of the `hooks` binary. Stable: scripts branch on them. Documented in docs/cli.md.
 */
export const EXIT = {
  /** Done; for `verify`, the request is authentic; for `send-test`/`replay`, the receiver answered 2xx. */
  ok: 0,
  /** The check failed: `verify` rejected the request, or the receiver answered something else than 2xx. */
  failed: 1,
  /** Wrong usage: an unknown command or option, a missing or malformed option value. */
  usage: 2,
  /** Bad input: an unreadable file, a malformed capture, an invalid secret, a catalog module that cannot be used. */
  input: 3,
  /** The receiver could not be reached: connection refused, DNS, TLS, timeout. */
  network: 4,
  /** The database could not be opened, migrated or queried. */
  storage: 5,
  /** A bug in the CLI: please report it with the command that caused it. */
  internal: 70,
  /** `dispatch` was stopped by a second SIGINT/SIGTERM before its graceful shutdown finished. */
  interrupted: 130,
} as const;

/** One of the {@link EXIT} values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
