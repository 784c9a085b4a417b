import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE_MS, decideRetry, parseRetryAfter, resolveRetryOptions, retryDelay } from '../src/retry';
import { makeSender } from './support';

describe('retry schedule', () => {
  it('is the seed schedule, then every 24 hours', () => {
    const options = resolveRetryOptions({ jitter: 0 });
    expect(DEFAULT_RETRY_SCHEDULE_MS).toEqual([12_000, 2 * 60_000 + 28_000, 30 * 60_000 + 8_000, 6 * 3_600_000 + 7 * 60_000 + 6_000]);
    expect([1, 2, 3, 4, 5, 6, 9].map((attempt) => retryDelay(attempt, options))).toEqual([12_000, 148_000, 1_808_000, 22_026_000, 86_400_000, 86_400_000, 86_400_000]);
  });

  it('spreads delays by the jitter fraction', () => {
    const low = resolveRetryOptions({ jitter: 0.1, random: () => 0 });
    const high = resolveRetryOptions({ jitter: 0.1, random: () => 0.999999 });
    expect(retryDelay(1, low)).toBe(10_800);
    expect(retryDelay(1, high)).toBe(13_200);
    const values = new Set(Array.from({ length: 200 }, () => retryDelay(5, resolveRetryOptions())));
    expect(values.size).toBeGreaterThan(1);
    for (const value of values) expect(value >= 77_760_000 && value <= 95_040_000).toBe(true);
  });

  it('never gives up by default, as the seed says: retried until success (disablement ends it)', () => {
    const options = resolveRetryOptions({ jitter: 0 });
    expect(options.maxAgeMs).toBe(Number.POSITIVE_INFINITY);
    expect(options.maxAttempts).toBe(Number.POSITIVE_INFINITY);
    let now = 0;
    for (let attempt = 1; attempt <= 60; attempt++) {
      const decision = decideRetry({ cycleAttempts: attempt, cycleStartedAt: 0, now, retryAfterMs: undefined }, options);
      expect(decision.status).toBe('pending');
      now = decision.nextAttemptAt as number;
    }
    // 4 scheduled delays, then every 24 h: 56 days of retries and still going.
    expect(now).toBe(12_000 + 148_000 + 1_808_000 + 22_026_000 + 56 * 86_400_000);
  });

  it('ends after 7 attempts with a 3-day age cap, and accepts Infinity for both caps', () => {
    const options = resolveRetryOptions({ jitter: 0, maxAgeMs: 3 * 86_400_000 });
    let now = 0;
    let attempts = 0;
    for (;;) {
      attempts++;
      const decision = decideRetry({ cycleAttempts: attempts, cycleStartedAt: 0, now, retryAfterMs: undefined }, options);
      if (decision.status === 'failed') break;
      now = decision.nextAttemptAt;
    }
    expect(attempts).toBe(7);
    expect(resolveRetryOptions({ maxAgeMs: Number.POSITIVE_INFINITY, maxAttempts: Number.POSITIVE_INFINITY })).toMatchObject({ maxAgeMs: Number.POSITIVE_INFINITY, maxAttempts: Number.POSITIVE_INFINITY });
    expect(decideRetry({ cycleAttempts: 3, cycleStartedAt: 0, now: 0, retryAfterMs: undefined }, resolveRetryOptions({ jitter: 0, maxAttempts: 3 }))).toEqual({ status: 'failed', nextAttemptAt: null });
    // Retry-After longer than the schedule wins; shorter does not shorten it.
    expect(decideRetry({ cycleAttempts: 1, cycleStartedAt: 0, now: 0, retryAfterMs: 60_000 }, options)).toEqual({ status: 'pending', nextAttemptAt: 60_000 });
    expect(decideRetry({ cycleAttempts: 1, cycleStartedAt: 0, now: 0, retryAfterMs: 1_000 }, options)).toEqual({ status: 'pending', nextAttemptAt: 12_000 });
  });

  it('lets a Retry-After longer than the age cap postpone the retry, never cancel it', () => {
    const options = resolveRetryOptions({ jitter: 0, maxAgeMs: 60_000 });
    // One hour asked for, one minute of age allowed: retried after the hour, not failed.
    expect(decideRetry({ cycleAttempts: 1, cycleStartedAt: 0, now: 0, retryAfterMs: 3_600_000 }, options)).toEqual({ status: 'pending', nextAttemptAt: 3_600_000 });
    // The attempt after it (past the cap) failing again ends the delivery.
    expect(decideRetry({ cycleAttempts: 2, cycleStartedAt: 0, now: 3_600_000, retryAfterMs: undefined }, options)).toEqual({ status: 'failed', nextAttemptAt: null });
  });

  it('reads Retry-After seconds and HTTP dates, ignoring junk', () => {
    const now = Date.parse('2026-11-23T10:00:00.000Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:05:00 GMT', now)).toBe(300_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('99999999999', now)).toBeUndefined();
    expect(parseRetryAfter('9999999999', now)).toBe(7 * 86_400_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('rejects impossible options with invalid_option', () => {
    expect(() => resolveRetryOptions({ schedule: [-1] })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => resolveRetryOptions({ jitter: 2 })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => resolveRetryOptions({ maxAttempts: 0 })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => resolveRetryOptions({ maxAgeMs: Number.NaN })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => resolveRetryOptions({ maxAgeMs: Number.NEGATIVE_INFINITY })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => makeSender({ dispatcher: { timeoutMs: 10_000, leaseMs: 5_000 } })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => makeSender({ dispatcher: { concurrency: 0 } })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => makeSender({ disablement: { disableAfter: 0 } })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => makeSender({ catalog: {} as never })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
  });
});
