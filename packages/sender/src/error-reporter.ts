import type { Logger } from '@hooks/core';
import { SenderError } from './errors';

/**
 * Where an error handed to `onError` (or logged) came from:
 * - `poll`: the dispatcher could not claim deliveries or notifications (storage); it tries again at the next poll;
 * - `attempt`: an attempt's result could not be stored; its delivery is retried once its lease expires;
 * - `release`: claimed deliveries could not be given back; they are retried once their lease expires;
 * - `transport`: a custom transport threw something other than a network error; the attempt counts as failed;
 * - `listener`: an in-process event listener (`attempt.finished`, `delivery.*`) threw;
 * - `notification`: an owner notification listener threw (it is handed over again later), or its hand-over could not be stored;
 * - `wake-up`: the storage's wake-up channel (PostgreSQL LISTEN) failed; the dispatcher polls until it is back;
 * - `metrics`: `sender.metrics()` could not read the queue from the storage.
 */
export type SenderErrorSource = 'poll' | 'attempt' | 'release' | 'transport' | 'listener' | 'notification' | 'wake-up' | 'metrics';

/** Reports an error that has nowhere else to go. */
export type ErrorReporter = (error: unknown, source: SenderErrorSource) => void;

/** Sources that repeat while a database is down: logged once per minute each, with a count of the repeats. */
const REPEATING: ReadonlySet<SenderErrorSource> = new Set(['poll', 'wake-up', 'metrics', 'release']);
const REPEAT_WINDOW_MS = 60_000;

/**
 * The sender's one way to report errors: to `onError` when the host gave one, else to
 * `logger.error` (name, code, message and source; never a payload or a secret), with outage
 * noise (a poll failing every second) cut to one line a minute per source. A throwing `onError`
 * or logger never reaches the dispatcher: an error report must not stop delivery.
 */
export function createErrorReporter(logger: Logger, onError: ((error: unknown, source: SenderErrorSource) => void) | undefined): ErrorReporter {
  if (onError) {
    return (error, source) => {
      try {
        onError(error, source);
      } catch {
        // The host's handler failed: nothing sensible is left to tell.
      }
    };
  }
  const lastLogged = new Map<string, { at: number; repeats: number }>();
  return (error, source) => {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const fields: Record<string, unknown> = { source };
    if (SenderError.isInstance(error)) fields.code = error.code;
    if (REPEATING.has(source)) {
      const key = `${source}\u0000${text}`;
      const now = Date.now();
      const last = lastLogged.get(key);
      if (last && now - last.at < REPEAT_WINDOW_MS) {
        last.repeats++;
        return;
      }
      if (last && last.repeats > 0) fields.repeated = last.repeats;
      if (lastLogged.size >= 100) lastLogged.clear();
      lastLogged.set(key, { at: now, repeats: 0 });
    }
    try {
      logger.error(text, fields);
    } catch {
      // A broken logger must not stop the dispatcher.
    }
  };
}
