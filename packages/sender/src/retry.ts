import { SenderError } from './errors';

/** The seed schedule: 12 s, 2 min 28 s, 30 min 8 s, 6 h 7 min 6 s (delays after attempts 1 to 4), in milliseconds. */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [12_000, 148_000, 1_808_000, 22_026_000];
/** Delay between retries once the schedule is used up: 24 hours. */
export const DEFAULT_RETRY_REPEAT_MS = 86_400_000;
/**
 * No age cap by default: as the seed says, a delivery is retried until it succeeds; an endpoint
 * that keeps failing is disabled on its 20th consecutive failure, which ends the retrying (its
 * deliveries wait, and resume when it is enabled again).
 */
export const DEFAULT_MAX_AGE_MS = Number.POSITIVE_INFINITY;
/** Retry-After values above this (7 days) are clamped, so a hostile header cannot park a delivery forever. */
const MAX_RETRY_AFTER_MS = 7 * 86_400_000;

/** How failed deliveries are retried. */
export interface RetryOptions {
  /** Delay after the 1st, 2nd, … failed attempt, in milliseconds. @default [12_000, 148_000, 1_808_000, 22_026_000] */
  schedule?: readonly number[];
  /** Delay after every failed attempt beyond the schedule. @default 86_400_000 (24 h) */
  repeatEveryMs?: number;
  /** Random spread of each delay, as a fraction (0.1 = ±10 %). @default 0.1 */
  jitter?: number;
  /** Attempts per retry cycle before the delivery is marked failed; `Infinity` for no count cap. @default Infinity */
  maxAttempts?: number;
  /** Age (from the message, or from a manual retry) beyond which the schedule plans no retry; `Infinity` for no age cap. A `Retry-After` can postpone a retry past it, never cancel it. @default Infinity */
  maxAgeMs?: number;
  /** Random source in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
}

/** Retry options with every default filled in. */
export interface ResolvedRetryOptions {
  /** Delay after the 1st, 2nd, … failed attempt, in milliseconds (a copy of the given list). */
  schedule: readonly number[];
  /** Delay after every failed attempt beyond the schedule, in milliseconds. */
  repeatEveryMs: number;
  /** Random spread of each delay, as a fraction from 0 to 1 (0.1 = ±10 %). */
  jitter: number;
  /** Attempts per retry cycle before the delivery is marked failed; `Infinity` for no count cap. */
  maxAttempts: number;
  /** Age in milliseconds (from the message, or from a manual retry) beyond which the schedule plans no retry; `Infinity` for no age cap. */
  maxAgeMs: number;
  /** Random source in [0, 1) for the jitter. */
  random: () => number;
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Fills defaults and rejects impossible values with `invalid_option`. */
export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  const schedule = options.schedule ?? DEFAULT_RETRY_SCHEDULE_MS;
  if (!Array.isArray(schedule) || !schedule.every(isDuration)) throw new SenderError('invalid_option', 'retry.schedule must be a list of delays in milliseconds (>= 0).');
  const repeatEveryMs = options.repeatEveryMs ?? DEFAULT_RETRY_REPEAT_MS;
  if (!isDuration(repeatEveryMs)) throw new SenderError('invalid_option', 'retry.repeatEveryMs must be a delay in milliseconds (>= 0).');
  const jitter = options.jitter ?? 0.1;
  if (!isDuration(jitter) || jitter > 1) throw new SenderError('invalid_option', 'retry.jitter must be a fraction from 0 to 1.');
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  if (!(maxAttempts === Number.POSITIVE_INFINITY || (Number.isInteger(maxAttempts) && maxAttempts >= 1))) throw new SenderError('invalid_option', 'retry.maxAttempts must be a whole number >= 1.');
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  if (!(maxAgeMs === Number.POSITIVE_INFINITY || isDuration(maxAgeMs))) throw new SenderError('invalid_option', 'retry.maxAgeMs must be a duration in milliseconds (>= 0) or Infinity.');
  return { schedule: [...schedule], repeatEveryMs, jitter, maxAttempts, maxAgeMs, random: options.random ?? Math.random };
}

/** The delay after the `failedAttempts`-th failed attempt of a cycle (1-based), jitter included. */
export function retryDelay(failedAttempts: number, options: ResolvedRetryOptions): number {
  const base = options.schedule[failedAttempts - 1] ?? options.repeatEveryMs;
  if (options.jitter === 0) return base;
  // Spread retries so endpoints coming back are not hit by every delivery at the same instant.
  return Math.max(0, Math.round(base * (1 + options.jitter * (2 * options.random() - 1))));
}

/**
 * Reads a `Retry-After` header (delay in seconds, or an HTTP date) into milliseconds from `now`.
 * Undefined when absent or unreadable; clamped to 0..7 days.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  let delay: number;
  if (/^\d{1,10}$/.test(text)) delay = Number(text) * 1000;
  else {
    // HTTP dates always name a month; this keeps numbers like "-5" away from Date.parse's guesses.
    if (!/[A-Za-z]{3}/.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    delay = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, delay));
}

/** What to do with a delivery after a failed attempt. */
export type RetryDecision = { status: 'pending'; nextAttemptAt: number } | { status: 'failed'; nextAttemptAt: null };

/**
 * Decides the next step after a failed attempt: retry at `now + max(schedule delay, Retry-After)`,
 * or give up when the cycle used `maxAttempts` or the SCHEDULED retry would fall beyond
 * `maxAgeMs`. A `Retry-After` only postpones: the receiver asking for patience must never turn a
 * delivery into "failed after one attempt"; the cap then judges the attempt that really happened.
 */
export function decideRetry(input: { cycleAttempts: number; cycleStartedAt: number; now: number; retryAfterMs: number | undefined }, options: ResolvedRetryOptions): RetryDecision {
  if (input.cycleAttempts >= options.maxAttempts) return { status: 'failed', nextAttemptAt: null };
  const scheduled = retryDelay(input.cycleAttempts, options);
  if (input.now + scheduled - input.cycleStartedAt > options.maxAgeMs) return { status: 'failed', nextAttemptAt: null };
  return { status: 'pending', nextAttemptAt: input.now + Math.max(scheduled, input.retryAfterMs ?? 0) };
}
