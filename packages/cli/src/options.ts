import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `90m`, `45s`, `500ms`, `2w` (or several: `1d12h`) → milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const pattern = /(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(pattern)) {
    total += Number(match[1]) * UNITS[match[2]!]!;
    consumed = (match.index ?? 0) + match[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length || !Number.isFinite(total)) {
    throw new InvalidArgumentError('Expected a duration such as 30d, 12h, 90m, 45s or 500ms.');
  }
  return Math.round(total);
}

/** A commander parser for whole numbers within bounds. */
export function integerOption(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const number = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    }
    return number;
  };
}

/** A commander parser for durations (see {@link parseDuration}). */
export function durationOption(value: string): number {
  return parseDuration(value);
}

/** A commander parser for a point in time: unix seconds, unix milliseconds (13+ digits) or an ISO 8601 date. Returns unix milliseconds. */
export function timeOption(value: string): number {
  const trimmed = value.trim();
  if (/^\d{1,12}$/.test(trimmed)) return Number(trimmed) * 1000;
  if (/^\d{13,15}$/.test(trimmed)) return Number(trimmed);
  const parsed = Date.parse(trimmed);
  if (!Number.isFinite(parsed)) throw new InvalidArgumentError('Expected unix seconds or an ISO 8601 date such as 2026-11-23T10:00:00Z.');
  return parsed;
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The two header profiles, for `--profile`. */
export function profileOption(value: string): 'x-webhook' | 'standard' {
  if (value === 'x-webhook' || value === 'standard') return value;
  throw new InvalidArgumentError('Expected "x-webhook" or "standard".');
}

/** `--older-than`: a duration back from now (`30d`) or a date (`2026-01-01`). Returns unix milliseconds. */
export function olderThanOption(value: string): number {
  const trimmed = value.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const parsed = Date.parse(trimmed);
    if (Number.isFinite(parsed)) return parsed;
  }
  let duration: number;
  try {
    duration = parseDuration(trimmed);
  } catch {
    throw new InvalidArgumentError('Expected an age such as 30d, 12h or 90m, or a date such as 2026-01-01.');
  }
  return Date.now() - duration;
}
