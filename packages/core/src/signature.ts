import { crypto } from '#crypto';
import { base64Decode, base64Encode } from './encoding';
import { ConfigurationError, WebhookVerificationError } from './errors';
import { ATTEMPT_HEADER, EVENT_HEADER, type HeaderProfile, type HeadersInput, PROFILE_HEADERS, VERSION, getHeader } from './headers';
import { type ParsedKey, parseKey } from './secrets';

/** Default tolerance between the signed timestamp and now, in both directions (Standard Webhooks). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

// Bounds on what a verifier will look at, so hostile headers cost nothing.
const MAX_ID_LENGTH = 256;
const MAX_SIGNATURE_HEADER_LENGTH = 8192;
const MAX_SIGNATURES = 32;

/** One or several secrets; several while a secret is being rotated. */
export type Secrets = string | ReadonlyArray<string>;

/** Options of {@link sign}. */
export interface SignOptions {
  /** The message id (`msg_…`), the same on every retry. */
  id: string;
  /** When this attempt is signed: unix seconds or a Date. */
  timestamp: number | Date;
  /** The exact body bytes that will be sent. */
  payload: string | Uint8Array;
  /** `whsec_` secrets (→ `v1,` signatures) and/or `whsk_` keys (→ `v1a,` signatures); one signature each. */
  secrets: Secrets;
}

function toSeconds(timestamp: number | Date): number {
  const seconds = typeof timestamp === 'number' ? timestamp : Math.floor(timestamp.getTime() / 1000);
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new ConfigurationError('invalid_option', 'The timestamp must be a non-negative whole number of unix seconds.');
  }
  return seconds;
}

function toList(secrets: Secrets): ReadonlyArray<string> {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigurationError('invalid_secret', 'At least one webhook secret is required.');
  }
  return list;
}

function checkId(id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || /[\s\u0000-\u001f]/.test(id)) {
    throw new ConfigurationError('invalid_option', `A message id must be 1 to ${MAX_ID_LENGTH} characters without spaces or control characters.`);
  }
}

/**
 * Signs `"<id>.<timestamp>.<payload>"` with every secret and returns the signature header
 * value: `v1,<base64>` per HMAC secret and `v1a,<base64>` per Ed25519 key, space-separated.
 */
export async function sign(options: SignOptions): Promise<string> {
  checkId(options.id);
  const prefix = `${options.id}.${toSeconds(options.timestamp)}.`;
  const signatures: string[] = [];
  // A single secret (the usual case) skips building a list.
  for (const secret of typeof options.secrets === 'string' ? [options.secrets] : toList(options.secrets)) {
    const key = parseKey(secret);
    if (key.kind === 'hmac') {
      const mac = crypto.hmacSha256(key.bytes, prefix, options.payload);
      // node:crypto answers synchronously; awaiting a plain value would still cost a microtask turn.
      signatures.push(`v1,${base64Encode(mac instanceof Promise ? await mac : mac)}`);
    } else if (key.kind === 'ed25519-secret') {
      signatures.push(`v1a,${base64Encode(await crypto.ed25519Sign(key.secretKey, prefix, options.payload))}`);
    } else {
      throw new ConfigurationError('unsupported_key', 'A whpk_ public key can verify but not sign; sign with the whsk_ secret key.');
    }
  }
  return signatures.join(' ');
}

/** Options of {@link signHeaders}. */
export interface SignHeadersOptions extends SignOptions {
  /** Header names to use. @default 'x-webhook' */
  profile?: HeaderProfile;
  /** Attempt number, sent as `X-Webhook-Attempt`. @default 1 */
  attempt?: number;
  /** Event type, sent as `X-Webhook-Event` when given. */
  eventType?: string;
}

/** Signs and returns every header of a webhook request (id, timestamp, signature, attempt, event, content type, user agent). */
export async function signHeaders(options: SignHeadersOptions): Promise<Record<string, string>> {
  const names = PROFILE_HEADERS[options.profile ?? 'x-webhook'];
  if (!names) throw new ConfigurationError('invalid_option', 'profile must be "x-webhook" or "standard".');
  const seconds = toSeconds(options.timestamp);
  const headers: Record<string, string> = {
    [names.id]: options.id,
    [names.timestamp]: String(seconds),
    [names.signature]: await sign({ ...options, timestamp: seconds }),
    [ATTEMPT_HEADER]: String(options.attempt ?? 1),
    'content-type': 'application/json',
    'user-agent': `hooks/${VERSION}`,
  };
  if (options.eventType !== undefined) headers[EVENT_HEADER] = options.eventType;
  return headers;
}

/** Options of {@link verify}. */
export interface VerifyOptions {
  /** Every secret or public key currently valid: `whsec_…` for `v1`, `whpk_…` (or `whsk_…`) for `v1a`. */
  secrets: Secrets;
  /** Accepted distance between the signed timestamp and now, both directions. @default 300 */
  toleranceSeconds?: number;
  /** Current time in milliseconds; inject a clock in tests. @default Date.now */
  now?: () => number;
}

/** What a successful verification established. */
export interface VerifiedWebhook {
  /** The message id; dedupe on it. */
  id: string;
  /** The signed timestamp, unix seconds. */
  timestamp: number;
  /** Which header profile the request used (`svix-*` headers count as `standard`). */
  profile: HeaderProfile;
  /** `X-Webhook-Attempt`, when sent and well-formed. */
  attempt: number | undefined;
  /** `X-Webhook-Event`, when sent. */
  eventType: string | undefined;
}

interface ParsedSignature {
  version: 'v1' | 'v1a';
  bytes: Uint8Array;
}

function fail(code: WebhookVerificationError['code'], message: string): never {
  throw new WebhookVerificationError(code, message);
}

function readProfile(headers: HeadersInput): { profile: HeaderProfile; id: string; timestamp: string; signature: string } {
  for (const profile of ['x-webhook', 'standard', 'svix'] as const) {
    const names = PROFILE_HEADERS[profile];
    const id = getHeader(headers, names.id);
    if (id === undefined) continue;
    const timestamp = getHeader(headers, names.timestamp);
    if (timestamp === undefined) fail('missing_header', `The ${names.timestamp} header is missing.`);
    const signature = getHeader(headers, names.signature);
    if (signature === undefined) fail('missing_header', `The ${names.signature} header is missing.`);
    return { profile: profile === 'svix' ? 'standard' : profile, id, timestamp, signature };
  }
  return fail('missing_header', 'The X-Webhook-Id (or webhook-id) header is missing.');
}

/** Whitespace as the `\s` regex class defines it, ASCII first because that is all real headers carry. */
function isSpace(code: number): boolean {
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return /\s/.test(String.fromCharCode(code));
}

// A hand-written scan instead of split(regex): this runs on every request.
function parseSignatures(header: string): ParsedSignature[] {
  if (header.length > MAX_SIGNATURE_HEADER_LENGTH) fail('malformed_header', 'The signature header is too long.');
  const parsed: ParsedSignature[] = [];
  let sawVersioned = false;
  const length = header.length;
  let start = 0;
  while (start < length) {
    if (isSpace(header.charCodeAt(start))) {
      start++;
      continue;
    }
    let end = start;
    while (end < length && !isSpace(header.charCodeAt(end))) end++;
    // Repeated headers arrive joined by ", ": a comma right before whitespace separates entries.
    const stop = end < length && header.charCodeAt(end - 1) === 44 /* , */ ? end - 1 : end;
    const comma = header.indexOf(',', start);
    if (comma <= start || comma >= stop) {
      if (stop === start) {
        start = end;
        continue;
      }
      fail('malformed_header', 'The signature header must be space-separated "v1,<base64>" entries.');
    }
    sawVersioned = true;
    const version = header.slice(start, comma);
    start = end;
    // Unknown versions are skipped, so receivers keep working when senders add new schemes.
    if (version !== 'v1' && version !== 'v1a') continue;
    const bytes = base64Decode(header.slice(comma + 1, stop));
    if (!bytes || bytes.length === 0) fail('malformed_header', `A ${version} signature is not valid base64.`);
    parsed.push({ version, bytes });
    if (parsed.length > MAX_SIGNATURES) fail('malformed_header', 'The signature header has too many signatures.');
  }
  if (!sawVersioned) fail('malformed_header', 'The signature header is empty.');
  return parsed;
}

function keysOf(secrets: Secrets): ParsedKey[] {
  // The common single-secret case skips the list; parseKey answers from its cache.
  return typeof secrets === 'string' ? [parseKey(secrets)] : toList(secrets).map(parseKey);
}

/**
 * Verifies a webhook request: reads the id, timestamp and signature headers (either profile),
 * checks the timestamp is within tolerance both ways, and compares in constant time against a
 * signature computed with each configured secret. Resolves with what it established; rejects
 * with {@link WebhookVerificationError} (`missing_header`, `malformed_header`,
 * `invalid_signature`, `timestamp_too_old`, `timestamp_too_new`).
 *
 * `payload` must be the raw body bytes as received, not re-serialised JSON.
 */
export function verify(payload: string | Uint8Array, headers: HeadersInput, options: VerifyOptions): Promise<VerifiedWebhook> {
  // Not an async function: with node:crypto the whole check is synchronous, and skipping the
  // async machinery is a measurable share of a 1 KB verify. Web Crypto takes the promise path.
  try {
    const request = readRequest(headers, options);
    const matched = matchSignatures(request, payload);
    if (matched === true) return Promise.resolve(verifiedOf(request, headers));
    if (matched === false) return Promise.reject(noMatch());
    return matched.then((ok) => (ok ? verifiedOf(request, headers) : Promise.reject(noMatch())));
  } catch (error) {
    return Promise.reject(error);
  }
}

interface CheckedRequest {
  keys: ParsedKey[];
  profile: HeaderProfile;
  id: string;
  timestamp: number;
  prefix: string;
  signatures: ParsedSignature[];
}

function isDigits(text: string, maxLength: number): boolean {
  if (text.length === 0 || text.length > maxLength) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

function isValidId(id: string): boolean {
  if (id.length === 0 || id.length > MAX_ID_LENGTH) return false;
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code <= 32 || (code >= 127 && isSpace(code))) return false;
  }
  return true;
}

/** Everything but the cryptography: headers present and well-formed, timestamp within tolerance. */
function readRequest(headers: HeadersInput, options: VerifyOptions): CheckedRequest {
  const keys = keysOf(options.secrets);
  const raw = readProfile(headers);
  if (!isValidId(raw.id)) fail('malformed_header', `The webhook id header must be 1 to ${MAX_ID_LENGTH} characters without spaces.`);
  if (!isDigits(raw.timestamp, 15)) fail('malformed_header', 'The webhook timestamp header must be unix seconds.');
  const timestamp = Number(raw.timestamp);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  if (now - timestamp > tolerance) fail('timestamp_too_old', `The webhook timestamp is more than ${tolerance} seconds old.`);
  if (timestamp - now > tolerance) fail('timestamp_too_new', `The webhook timestamp is more than ${tolerance} seconds in the future.`);
  return { keys, profile: raw.profile, id: raw.id, timestamp, prefix: `${raw.id}.${raw.timestamp}.`, signatures: parseSignatures(raw.signature) };
}

/** True/false when it could decide synchronously (node:crypto HMAC), else a promise. */
function matchSignatures(request: CheckedRequest, payload: string | Uint8Array): boolean | Promise<boolean> {
  const { keys, signatures, prefix } = request;
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    if (key.kind !== 'hmac') return matchAsync(request, payload, index);
    let expected: Uint8Array | undefined;
    let matched = false;
    for (const signature of signatures) {
      if (signature.version !== 'v1') continue;
      if (!expected) {
        const mac = crypto.hmacSha256(key.bytes, prefix, payload);
        if (mac instanceof Promise) return matchAsync(request, payload, index);
        expected = mac;
      }
      // Every candidate is compared, so timing does not reveal which one matched.
      if (crypto.timingSafeEqual(signature.bytes, expected)) matched = true;
    }
    if (matched) return true;
  }
  return false;
}

async function matchAsync(request: CheckedRequest, payload: string | Uint8Array, from: number): Promise<boolean> {
  const { keys, signatures, prefix } = request;
  for (let index = from; index < keys.length; index++) {
    const key = keys[index]!;
    let matched = false;
    if (key.kind === 'hmac') {
      let expected: Uint8Array | undefined;
      for (const signature of signatures) {
        if (signature.version !== 'v1') continue;
        expected ??= await crypto.hmacSha256(key.bytes, prefix, payload);
        if (crypto.timingSafeEqual(signature.bytes, expected)) matched = true;
      }
    } else {
      for (const signature of signatures) {
        if (signature.version !== 'v1a' || signature.bytes.length !== 64) continue;
        if (await crypto.ed25519Verify(key.publicKey, signature.bytes, prefix, payload)) matched = true;
      }
    }
    if (matched) return true;
  }
  return false;
}

function noMatch(): WebhookVerificationError {
  return new WebhookVerificationError('invalid_signature', 'No signature matches the body with any configured secret.');
}

function verifiedOf(request: CheckedRequest, headers: HeadersInput): VerifiedWebhook {
  const attemptHeader = getHeader(headers, ATTEMPT_HEADER);
  const attempt = attemptHeader !== undefined && isDigits(attemptHeader, 6) ? Number(attemptHeader) : undefined;
  return { id: request.id, timestamp: request.timestamp, profile: request.profile, attempt, eventType: getHeader(headers, EVENT_HEADER) };
}
