import { crypto } from '#crypto';
import { base64Decode, base64Encode, constantTimeEqualStrings, isBase64 } from './encoding';
import { ConfigurationError, WebhookVerificationError } from './errors';
import { ATTEMPT_HEADER, EVENT_HEADER, getHeader, type HeaderProfile, type HeadersInput, PROFILE_HEADERS, VERSION } from './headers';
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
  if (typeof id !== 'string' || !isValidId(id)) {
    throw new ConfigurationError('invalid_option', `A message id must be 1 to ${MAX_ID_LENGTH} characters without spaces or control characters.`);
  }
}

/**
 * Signs `"<id>.<timestamp>.<payload>"` with every secret and returns the signature header
 * value: `v1,<base64>` per HMAC secret and `v1a,<base64>` per Ed25519 key, space-separated.
 *
 * @param options - The message id, the timestamp of this attempt, the exact body bytes and the secrets (or `whsk_` keys) to sign with.
 * @returns The value of the signature header (`X-Webhook-Signature` or `webhook-signature`). Rejects with {@link ConfigurationError} (`invalid_secret`, `unsupported_key`, `invalid_option`) for unusable input.
 *
 * @example
 * ```ts
 * import { createMessageId, generateSecret, sign } from '@hooks/core';
 *
 * const signature = await sign({
 *   id: createMessageId(),
 *   timestamp: new Date(),
 *   payload: '{"hello":"world"}',
 *   secrets: generateSecret(),
 * });
 * // 'v1,<base64 HMAC-SHA256>'; one entry per secret, space-separated, for several
 * ```
 */
export function sign(options: SignOptions): Promise<string> {
  // Not an async function: one HMAC secret with node:crypto (the usual case) is synchronous, and
  // skipping the async machinery is a measurable share of signing 1 KB. Errors still reject.
  try {
    checkId(options.id);
    const prefix = `${options.id}.${toSeconds(options.timestamp)}.`;
    if (typeof options.secrets === 'string') {
      const key = parseKey(options.secrets);
      if (key.kind === 'hmac') {
        const mac = crypto.hmacSha256Base64(key.bytes, prefix, options.payload);
        return typeof mac === 'string' ? Promise.resolve(`v1,${mac}`) : mac.then((text) => `v1,${text}`);
      }
    }
    return signAll(prefix, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

async function signAll(prefix: string, options: SignOptions): Promise<string> {
  const signatures: string[] = [];
  for (const secret of typeof options.secrets === 'string' ? [options.secrets] : toList(options.secrets)) {
    const key = parseKey(secret);
    if (key.kind === 'hmac') {
      signatures.push(`v1,${await crypto.hmacSha256Base64(key.bytes, prefix, options.payload)}`);
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

/**
 * Signs and returns every header of a webhook request (id, timestamp, signature, attempt, event, content type, user agent).
 *
 * @param options - What {@link sign} takes, plus the header profile, the attempt number and the event type.
 * @returns The request headers by lower-case name, ready for `fetch` or any HTTP client.
 *
 * @example
 * ```ts
 * import { createEnvelope, serializeEnvelope, signHeaders } from '@hooks/core';
 *
 * // One webhook sent by hand, e.g. to test a receiver on localhost.
 * const envelope = createEnvelope({
 *   type: 'registrant.created',
 *   data: { email: 'ada@example.com', sessionId: 'ses_01' },
 * });
 * const body = serializeEnvelope(envelope);
 * const headers = await signHeaders({
 *   id: envelope.id,
 *   timestamp: new Date(),
 *   payload: body,
 *   secrets: process.env.WEBHOOK_SECRET!,
 *   eventType: envelope.type,
 * });
 * const url = 'http://localhost:3000/webhooks';
 * const response = await fetch(url, { method: 'POST', headers, body });
 * console.log(response.status, await response.text());
 * ```
 */
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
  /** The base64 text as sent (checked to be base64); decoded only when a byte comparison is needed. */
  text: string;
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

// A hand-written scan instead of split(regex). The usual header (one canonical "v1,<base64>"
// entry) never gets here: matchSignatures compares it as sent first.
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
    const text = header.slice(comma + 1, stop);
    if (!isBase64(text)) fail('malformed_header', `A ${version} signature is not valid base64.`);
    parsed.push({ version, text });
    if (parsed.length > MAX_SIGNATURES) fail('malformed_header', 'The signature header has too many signatures.');
  }
  if (!sawVersioned) fail('malformed_header', 'The signature header is empty.');
  return parsed;
}

// One-element key lists per secret string, so the single-secret case allocates nothing per request.
const singleKeys = new Map<string, ParsedKey[]>();

function keysOf(secrets: Secrets): ParsedKey[] {
  if (typeof secrets !== 'string') return toList(secrets).map(parseKey);
  let keys = singleKeys.get(secrets);
  if (!keys) {
    keys = [parseKey(secrets)];
    if (singleKeys.size >= 1024) singleKeys.clear();
    singleKeys.set(secrets, keys);
  }
  return keys;
}

/**
 * Compares a received `v1` signature with the expected one, both base64. The usual case (the
 * canonical encoding every sender emits) is a constant-time string comparison; other spellings
 * of the same bytes (URL-safe, unpadded) fall back to comparing the decoded bytes.
 */
function sameMac(text: string, expected: string): boolean {
  if (constantTimeEqualStrings(text, expected)) return true;
  const given = base64Decode(text);
  const wanted = base64Decode(expected);
  return given !== undefined && wanted !== undefined && crypto.timingSafeEqual(given, wanted);
}

/**
 * Verifies a webhook request: reads the id, timestamp and signature headers (either profile),
 * checks the timestamp is within tolerance both ways, and compares in constant time against a
 * signature computed with each configured secret. Resolves with what it established; rejects
 * with {@link WebhookVerificationError} (`missing_header`, `malformed_header`,
 * `invalid_signature`, `timestamp_too_old`, `timestamp_too_new`).
 *
 * @param payload - The raw body bytes exactly as received (a string is taken as its UTF-8 bytes), never re-serialised JSON.
 * @param headers - The request headers: a Fetch `Headers`, Node's `IncomingHttpHeaders` or a plain record.
 * @param options - The secrets currently valid (several during a rotation), the tolerance and the clock.
 * @returns The message id to dedupe on, the signed timestamp, the header profile, the attempt and the event type.
 *
 * @example
 * <!-- prelude: declare const rawBody: Buffer; declare const headers: Record<string, string | string[] | undefined>; -->
 * ```ts
 * import { WebhookVerificationError, verify } from '@hooks/core';
 *
 * // rawBody: the exact bytes received. headers: the request's (Node, Fetch or a record).
 * try {
 *   const webhook = await verify(rawBody, headers, { secrets: process.env.WEBHOOK_SECRET! });
 *   console.log(webhook.id, webhook.attempt); // dedupe on webhook.id
 * } catch (error) {
 *   if (error instanceof WebhookVerificationError) {
 *     console.log(error.code, error.status); // 'invalid_signature' 401
 *   }
 *   throw error;
 * }
 * ```
 */
export function verify(payload: string | Uint8Array, headers: HeadersInput, options: VerifyOptions): Promise<VerifiedWebhook> {
  // Not an async function: with node:crypto the whole check is synchronous, and skipping the
  // async machinery is a measurable share of a 1 KB verify. Web Crypto takes the promise path.
  try {
    const verified = verifyNow(payload, headers, options);
    return verified instanceof Promise ? verified : Promise.resolve(verified);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * {@link verify} that answers synchronously when it can (node:crypto HMAC) and throws instead of
 * rejecting; a promise otherwise (Web Crypto, Ed25519). The receiver uses it to save a turn of
 * the event loop per request.
 */
export function verifyNow(payload: string | Uint8Array, headers: HeadersInput, options: VerifyOptions): VerifiedWebhook | Promise<VerifiedWebhook> {
  const request = readRequest(headers, options);
  const matched = matchSignatures(request, payload);
  if (matched === true) return verifiedOf(request, headers);
  if (matched === false) throw noMatch();
  return matched.then((ok) => (ok ? verifiedOf(request, headers) : Promise.reject(noMatch())));
}

interface CheckedRequest {
  keys: ParsedKey[];
  profile: HeaderProfile;
  id: string;
  timestamp: number;
  prefix: string;
  /** The signature header as received; parsed only when it is not one canonical `v1` entry. */
  header: string;
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
  return { keys, profile: raw.profile, id: raw.id, timestamp, prefix: `${raw.id}.${raw.timestamp}.`, header: raw.signature };
}

// node:crypto computes an HMAC synchronously; Web Crypto always answers with a promise.
const SYNC_HMAC = crypto.name === 'node';

/** Constant-time equality of `text` from `offset` on with `expected` (lengths are public). */
function equalsFrom(text: string, offset: number, expected: string): boolean {
  if (text.length - offset !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= text.charCodeAt(offset + i) ^ expected.charCodeAt(i);
  return diff === 0;
}

/** True/false when it could decide synchronously (node:crypto HMAC), else a promise. */
function matchSignatures(request: CheckedRequest, payload: string | Uint8Array): boolean | Promise<boolean> {
  const { keys, prefix, header } = request;
  // The usual header, one "v1,<base64>" entry exactly as every sender writes it outside a
  // rotation, is compared as sent (constant time) with no parsing. Anything else (several
  // entries, other spellings, malformed) goes through the parser below, with the MACs computed
  // here reused so no HMAC is computed twice.
  let macs: Array<string | undefined> | undefined;
  if (SYNC_HMAC && header.charCodeAt(0) === 118 /* v */ && header.charCodeAt(1) === 49 /* 1 */ && header.charCodeAt(2) === 44 /* , */) {
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index]!;
      if (key.kind !== 'hmac') continue;
      const mac = crypto.hmacSha256Base64(key.bytes, prefix, payload) as string;
      if (equalsFrom(header, 3, mac)) return true;
      macs ??= [];
      macs[index] = mac;
    }
  }
  const signatures = parseSignatures(header);
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    if (key.kind !== 'hmac') return matchAsync(signatures, request, payload, index, macs);
    let expected = macs?.[index];
    let matched = false;
    for (const signature of signatures) {
      if (signature.version !== 'v1') continue;
      if (expected === undefined) {
        const mac = crypto.hmacSha256Base64(key.bytes, prefix, payload);
        if (typeof mac !== 'string') return matchAsync(signatures, request, payload, index, macs);
        expected = mac;
      }
      // Every candidate is compared, so timing does not reveal which one matched.
      if (sameMac(signature.text, expected)) matched = true;
    }
    if (matched) return true;
  }
  return false;
}

async function matchAsync(
  signatures: ParsedSignature[],
  request: CheckedRequest,
  payload: string | Uint8Array,
  from: number,
  macs: Array<string | undefined> | undefined,
): Promise<boolean> {
  const { keys, prefix } = request;
  for (let index = from; index < keys.length; index++) {
    const key = keys[index]!;
    let matched = false;
    if (key.kind === 'hmac') {
      let expected = macs?.[index];
      for (const signature of signatures) {
        if (signature.version !== 'v1') continue;
        expected ??= await crypto.hmacSha256Base64(key.bytes, prefix, payload);
        if (sameMac(signature.text, expected)) matched = true;
      }
    } else {
      for (const signature of signatures) {
        if (signature.version !== 'v1a') continue;
        const bytes = base64Decode(signature.text);
        if (bytes?.length !== 64) continue;
        if (await crypto.ed25519Verify(key.publicKey, bytes, prefix, payload)) matched = true;
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
