/** A pino-style logger: pino, winston, bunyan, `console` and most framework loggers fit it. */
export interface Logger {
  /** Routine events (start-up, shutdown). */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something a person should look at: a risky default, a failing endpoint. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A failure: a throwing handler, a storage error. */
  error(message: string, fields?: Record<string, unknown>): void;
}

function write(method: 'warn' | 'error', prefix: string, message: string, fields: Record<string, unknown> | undefined): void {
  if (fields === undefined || Object.keys(fields).length === 0) console[method](`${prefix} ${message}`);
  else console[method](`${prefix} ${message}`, fields);
}

/**
 * The default logger: quiet. `info` is dropped, `warn` and `error` go to the console with a
 * `[<name>]` prefix. Callers pass fields that never hold secrets or payloads.
 *
 * @param name - The prefix of every line, in brackets: usually the package name.
 * @returns A {@link Logger} whose `info` does nothing.
 *
 * @example
 * ```ts
 * import { createConsoleLogger, createReceiver } from '@hooks/core';
 * import { events } from './events.js';
 *
 * const logger = createConsoleLogger('webhooks');
 * logger.info('Starting.'); // dropped
 * logger.warn('No dedupe store.', { route: '/webhooks' });
 * // [webhooks] No dedupe store. { route: '/webhooks' }
 *
 * const secrets = process.env.WEBHOOK_SECRET;
 * const receiver = createReceiver({ catalog: events, secrets, logger });
 * ```
 */
export function createConsoleLogger(name: string): Logger {
  const prefix = `[${name}]`;
  return {
    info() {},
    warn(message, fields) {
      write('warn', prefix, message, fields);
    },
    error(message, fields) {
      write('error', prefix, message, fields);
    },
  };
}

/** A logger that drops everything (tests, or hosts that log through events instead). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
