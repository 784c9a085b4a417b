import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  DEFAULT_TOLERANCE_SECONDS,
  type HeaderProfile,
  PROFILE_HEADERS,
  type VerificationErrorCode,
  WebhookVerificationError,
  maskSecret,
  verify,
} from '@hooks/core';
import { keyKind } from './secrets';

/** Why a request verifies or not, one word each; stable, printed as `reason` by `hooks verify --json`. */
export type DiagnosisReason =
  | 'verified'
  | 'profile_mismatch'
  | 'no_webhook_headers'
  | 'missing_header'
  | 'mixed_profiles'
  | 'malformed_header'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'body_changed'
  | 'id_changed'
  | 'key_type_mismatch'
  | 'no_known_signature'
  | 'secret_text_as_key'
  | 'wrong_secret';

/** The verdict of {@link diagnose}. */
export interface Diagnosis {
  /** True when the request verifies (and uses the expected profile, when one was given). */
  ok: boolean;
  /** `ok`, a @hooks/core verification code, or `profile_mismatch`. */
  code: 'ok' | VerificationErrorCode | 'profile_mismatch';
  /** The cause found. */
  reason: DiagnosisReason;
  /** One or two sentences for a person. */
  message: string;
  /** What to do about it. */
  hints: string[];
  /** Facts established on the way. */
  details: {
    /** The message id header. */
    id?: string;
    /** The signed timestamp, unix seconds. */
    timestamp?: number;
    /** The signed timestamp as ISO 8601. */
    signedAt?: string;
    /** Seconds between the signed timestamp and the verifying clock (negative: in the future). */
    skewSeconds?: number;
    /** The accepted distance. */
    toleranceSeconds: number;
    /** The header profile found (the first with an id header). */
    profile?: HeaderProfile | 'svix';
    /** Signatures in the header, counted per version. */
    signatures: Array<{ version: string; count: number }>;
    /** The secrets tried, masked. */
    secrets: string[];
    /** True/false once the signature was checked with the timestamp check set aside. */
    signatureValid?: boolean;
    /** The body change that explains the failure, for `body_changed`. */
    bodyChange?: string;
    bodyWasParsed: boolean;
  };
}

/** Input of {@link diagnose}. */
export interface DiagnoseInput {
  /** The body bytes as received. */
  body: Buffer;
  /** The request headers, any case. */
  headers: Record<string, string>;
  /** Every secret or public key to try. */
  secrets: string[];
  /** Accepted clock distance. @default 300 */
  toleranceSeconds?: number | undefined;
  /** The time to verify at, unix milliseconds. @default now */
  now?: number | undefined;
  /** The header profile the receiver reads, when it reads only one. */
  expectedProfile?: HeaderProfile | undefined;
  /** True when the capture held parsed JSON instead of the bytes. */
  bodyWasParsed?: boolean | undefined;
}

const PROFILE_LABEL: Record<HeaderProfile | 'svix', string> = {
  'x-webhook': 'X-Webhook-* (profile x-webhook)',
  standard: 'webhook-* (profile standard)',
  svix: 'svix-* (Svix)',
};

function lowerCase(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

function detectProfile(headers: Record<string, string>): HeaderProfile | 'svix' | undefined {
  for (const profile of ['x-webhook', 'standard', 'svix'] as const) {
    if (headers[PROFILE_HEADERS[profile].id] !== undefined) return profile;
  }
  return undefined;
}

function signatureVersions(headers: Record<string, string>, profile: HeaderProfile | 'svix' | undefined): Array<{ version: string; count: number; values: string[] }> {
  const header = profile ? headers[PROFILE_HEADERS[profile].signature] : undefined;
  const versions = new Map<string, string[]>();
  for (const entry of (header ?? '').split(/[\s]+|,\s+/)) {
    const comma = entry.indexOf(',');
    if (comma <= 0) continue;
    const version = entry.slice(0, comma);
    versions.set(version, [...(versions.get(version) ?? []), entry.slice(comma + 1)]);
  }
  return [...versions].map(([version, values]) => ({ version, count: values.length, values }));
}

function formatAge(seconds: number): string {
  const magnitude = Math.abs(seconds);
  const parts: string[] = [];
  const days = Math.floor(magnitude / 86_400);
  const hours = Math.floor((magnitude % 86_400) / 3600);
  const minutes = Math.floor((magnitude % 3600) / 60);
  const rest = magnitude % 60;
  if (days) parts.push(`${days} d`);
  if (hours) parts.push(`${hours} h`);
  if (minutes) parts.push(`${minutes} min`);
  if (rest || parts.length === 0) parts.push(`${rest} s`);
  return parts.join(' ');
}

async function verifiesAt(body: Buffer, headers: Record<string, string>, secrets: string[], timestamp: number): Promise<boolean> {
  try {
    // The clock pinned to the signed time: only the signature is checked.
    await verify(body, headers, { secrets, now: () => timestamp * 1000 });
    return true;
  } catch {
    return false;
  }
}

interface BodyVariant {
  /** What changed between the signed bytes and the received ones, when this candidate matches. */
  change: string;
  bytes: Buffer;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** Candidates for the bytes that were signed, each with the change that would explain the failure. */
function bodyVariants(body: Buffer): BodyVariant[] {
  const variants: BodyVariant[] = [];
  const add = (change: string, bytes: Buffer) => {
    if (!bytes.equals(body) && !variants.some((variant) => variant.bytes.equals(bytes))) variants.push({ change, bytes });
  };
  const hasBom = body.subarray(0, 3).equals(BOM);
  const withoutBom = hasBom ? body.subarray(3) : body;
  const text = withoutBom.toString('utf8');
  const trimmedEnd = text.replace(/(?:\r?\n)+$/, '');
  if (trimmedEnd !== text) add('a trailing newline was added to the body after it was signed', Buffer.from(trimmedEnd));
  add('the trailing newline of the signed body was removed', Buffer.concat([body, Buffer.from('\n')]));
  if (hasBom) add('a UTF-8 byte order mark (BOM) was added in front of the body', withoutBom);
  else add('the UTF-8 byte order mark (BOM) the body was signed with was removed', Buffer.concat([BOM, body]));
  if (text.includes('\r\n')) add('line endings were changed from LF to CRLF', Buffer.from(text.replaceAll('\r\n', '\n')));
  if (text.trim() !== text) add('whitespace was added around the body', Buffer.from(text.trim()));
  // Mojibake: UTF-8 bytes read as Latin-1 and written again as UTF-8.
  if (/[^\x00-\x7f]/.test(text)) {
    const original = Buffer.from(text, 'latin1');
    if (original.toString('latin1') === text) add('the body was decoded with the wrong character set (Latin-1 instead of UTF-8) and encoded again', original);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return variants;
  }
  const reserialised = 'the JSON body was parsed and serialised again (different whitespace or escaping), so its bytes changed: verify the raw bytes, not JSON.stringify(request.body)';
  for (const [label, json] of [
    [reserialised, JSON.stringify(parsed)],
    [reserialised, JSON.stringify(parsed, null, 2)],
    [reserialised, JSON.stringify(parsed, null, 4)],
    [reserialised, JSON.stringify(parsed, null, '\t')],
    ['the JSON body was serialised again with its keys in another order: verify the raw bytes, not a re-serialised object', JSON.stringify(sortKeys(parsed))],
  ] as const) {
    add(label, Buffer.from(json));
    add(label, Buffer.from(`${json}\n`));
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const { id, type, timestamp, data, ...rest } = parsed as Record<string, unknown>;
    add('the JSON body was serialised again with its keys in another order: verify the raw bytes, not a re-serialised object', Buffer.from(JSON.stringify({ id, type, timestamp, data, ...rest })));
  }
  return variants;
}

function hmacMatchesTextKey(secret: string, prefix: string, body: Buffer, signatures: string[]): boolean {
  // A hand-written signer that used the secret's text as the key instead of its decoded bytes.
  for (const key of [secret, secret.replace(/^whsec_/, '')]) {
    const expected = createHmac('sha256', Buffer.from(key, 'utf8')).update(prefix).update(body).digest();
    for (const signature of signatures) {
      const given = Buffer.from(signature, 'base64');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
    }
  }
  return false;
}

/**
 * Verifies a captured request with @hooks/core's `verify` and, when it fails, finds out why:
 * which header is missing or from which profile, how stale the timestamp is and whether the
 * signature is right otherwise, whether a usual change of the body (newline, BOM, re-serialised
 * JSON, line endings, character set) explains it, or whether the secret is wrong.
 */
export async function diagnose(input: DiagnoseInput): Promise<Diagnosis> {
  const headers = lowerCase(input.headers);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = input.now ?? Date.now();
  const profile = detectProfile(headers);
  const versions = signatureVersions(headers, profile);
  const details: Diagnosis['details'] = {
    toleranceSeconds: tolerance,
    signatures: versions.map(({ version, count }) => ({ version, count })),
    secrets: input.secrets.map((secret) => maskSecret(secret)),
    bodyWasParsed: input.bodyWasParsed === true,
    ...(profile ? { profile } : {}),
  };
  if (profile) {
    const id = headers[PROFILE_HEADERS[profile].id];
    if (id !== undefined) details.id = id;
    const timestamp = headers[PROFILE_HEADERS[profile].timestamp];
    if (timestamp !== undefined && /^\d{1,15}$/.test(timestamp)) {
      details.timestamp = Number(timestamp);
      details.signedAt = new Date(details.timestamp * 1000).toISOString();
      details.skewSeconds = Math.floor(now / 1000) - details.timestamp;
    }
  }
  const parsedHint = input.bodyWasParsed
    ? ['The capture holds the body as parsed JSON, so its exact bytes are lost; capture the raw body (a raw HTTP capture or { "headers", "bodyBase64" }).']
    : [];

  try {
    const verified = await verify(input.body, headers, { secrets: input.secrets, toleranceSeconds: tolerance, now: () => now });
    details.signatureValid = true;
    if (input.expectedProfile && verified.profile !== input.expectedProfile) {
      return {
        ok: false,
        code: 'profile_mismatch',
        reason: 'profile_mismatch',
        message: `The signature is valid, but the request uses ${PROFILE_LABEL[profile ?? verified.profile]} headers and your receiver reads ${PROFILE_LABEL[input.expectedProfile]}.`,
        hints: [
          input.expectedProfile === 'standard'
            ? "Set the endpoint's profile to 'standard' (endpoints.update(id, { profile: 'standard' })) so it sends webhook-id / webhook-timestamp / webhook-signature."
            : "Set the endpoint's profile to 'x-webhook', or verify with @hooks/core, which reads both profiles.",
        ],
        details,
      };
    }
    return { ok: true, code: 'ok', reason: 'verified', message: `The request is authentic: signed ${formatAge(Math.floor(now / 1000) - verified.timestamp)} ${verified.timestamp * 1000 > now ? 'ahead' : 'ago'} with a configured secret.`, hints: [], details };
  } catch (error) {
    if (!WebhookVerificationError.isInstance(error)) throw error;
    const code = error.code;
    if (code === 'missing_header') return missingHeader(headers, error.message, input.expectedProfile, details);
    if (code === 'malformed_header' && profile && headers[PROFILE_HEADERS[profile].signature]?.trim() === '[redacted]') {
      return {
        ok: false,
        code,
        reason: 'malformed_header',
        message: 'The signature was redacted: this is an attempt exported from the admin API, which never stores signatures.',
        hints: ['Re-send it, signed afresh, with `hooks replay FILE`; verify a capture made by the receiver instead.'],
        details,
      };
    }
    if (code === 'malformed_header') {
      return { ok: false, code, reason: 'malformed_header', message: error.message, hints: ['Compare the header with the wire format in docs/signatures.md: the id, unix seconds, and space-separated "v1,<base64>" signatures.'], details };
    }
    if (code === 'timestamp_too_old' || code === 'timestamp_too_new') {
      const timestamp = details.timestamp!;
      const skew = details.skewSeconds!;
      const signatureValid = await verifiesAt(input.body, headers, input.secrets, timestamp);
      details.signatureValid = signatureValid;
      if (signatureValid) {
        const stale = code === 'timestamp_too_old';
        return {
          ok: false,
          code,
          reason: stale ? 'stale_timestamp' : 'future_timestamp',
          message: stale
            ? `The timestamp is stale: the request was signed ${formatAge(skew)} ago and the tolerance is ${tolerance} s. The signature itself is valid.`
            : `The timestamp is ${formatAge(skew)} in the future (tolerance ${tolerance} s): the sender's clock is ahead of this one. The signature itself is valid.`,
          hints: stale
            ? ['A captured request cannot be replayed as it is: re-sign it with a fresh timestamp with `hooks replay FILE --url URL`.', 'To check the capture as of when it was made, pass --now with its time.']
            : ['Synchronise the clocks of the sender and the receiver (NTP).'],
          details,
        };
      }
      // The timestamp is off AND the signature does not match: the signature is the bigger problem.
      const found = await signatureProblem(input, headers, versions, timestamp, details);
      const clock = code === 'timestamp_too_old' ? `It is also stale (signed ${formatAge(skew)} ago, tolerance ${tolerance} s).` : `Its timestamp is also ${formatAge(skew)} in the future (tolerance ${tolerance} s).`;
      return { ...found, code, message: `${found.message} ${clock}`, hints: [...found.hints, ...parsedHint] };
    }
    // invalid_signature: the headers and the clock are fine.
    const found = await signatureProblem(input, headers, versions, details.timestamp!, details);
    return { ...found, hints: [...found.hints, ...parsedHint] };
  }
}

function missingHeader(headers: Record<string, string>, coreMessage: string, expected: HeaderProfile | undefined, details: Diagnosis['details']): Diagnosis {
  const present: Array<{ profile: HeaderProfile | 'svix'; field: 'id' | 'timestamp' | 'signature' }> = [];
  for (const profile of ['x-webhook', 'standard', 'svix'] as const) {
    for (const field of ['id', 'timestamp', 'signature'] as const) {
      if (headers[PROFILE_HEADERS[profile][field]] !== undefined) present.push({ profile, field });
    }
  }
  if (present.length === 0) {
    return {
      ok: false,
      code: 'missing_header',
      reason: 'no_webhook_headers',
      message: 'The request carries no webhook headers: none of X-Webhook-Id, webhook-id or svix-id (nor their timestamp and signature).',
      hints: ['Capture the request with its headers (a raw HTTP capture or { "headers", "body" }).', 'A proxy or load balancer in front of the receiver may strip unknown headers.'],
      details,
    };
  }
  const profiles = new Set(present.map((entry) => entry.profile));
  if (profiles.size > 1) {
    const byField = (['id', 'timestamp', 'signature'] as const).map((field) => {
      const from = present.filter((entry) => entry.field === field).map((entry) => PROFILE_HEADERS[entry.profile][field]);
      return `${field}: ${from.length > 0 ? from.join(', ') : 'absent'}`;
    });
    return {
      ok: false,
      code: 'missing_header',
      reason: 'mixed_profiles',
      message: `The headers mix two profiles (${byField.join('; ')}). All three must come from one profile: X-Webhook-Id/-Timestamp/-Signature or webhook-id/-timestamp/-signature.`,
      hints: ['Something renamed some of the headers (a proxy, a hand-written signer). Send all three under one profile.'],
      details,
    };
  }
  const [profile] = profiles;
  const hints = ['The id, timestamp and signature headers must all be sent; a proxy may strip some.'];
  if (expected && profile !== expected) hints.push(`Your receiver reads ${PROFILE_LABEL[expected]}, and the request uses ${PROFILE_LABEL[profile!]}.`);
  return { ok: false, code: 'missing_header', reason: 'missing_header', message: coreMessage, hints, details };
}

async function signatureProblem(
  input: DiagnoseInput,
  headers: Record<string, string>,
  versions: Array<{ version: string; count: number; values: string[] }>,
  timestamp: number,
  details: Diagnosis['details'],
): Promise<Diagnosis> {
  const fail = (reason: DiagnosisReason, message: string, hints: string[]): Diagnosis => ({ ok: false, code: 'invalid_signature', reason, message, hints, details });
  details.signatureValid = false;
  const kinds = new Set(input.secrets.map(keyKind));
  const hasV1 = versions.some((entry) => entry.version === 'v1');
  const hasV1a = versions.some((entry) => entry.version === 'v1a');
  if (!hasV1 && !hasV1a) {
    return fail('no_known_signature', `The signature header carries no v1 or v1a signature (found: ${versions.map((entry) => entry.version).join(', ') || 'none'}).`, [
      'Sign with HMAC-SHA256 (v1,<base64>) or Ed25519 (v1a,<base64>); see docs/signatures.md.',
    ]);
  }
  const canHmac = kinds.has('hmac');
  const canEd25519 = kinds.has('ed25519-public') || kinds.has('ed25519-secret');
  if (hasV1a && !hasV1 && !canEd25519) {
    return fail('key_type_mismatch', 'The request is signed with an Ed25519 key (v1a), and you gave only HMAC secrets (whsec_).', [
      "Verify with the sender's whpk_ public key (--secret whpk_…).",
    ]);
  }
  if (hasV1 && !hasV1a && !canHmac) {
    return fail('key_type_mismatch', 'The request is signed with an HMAC secret (v1), and you gave only Ed25519 keys (whpk_/whsk_).', ['Verify with the endpoint\'s whsec_ secret.']);
  }
  const signedHeaders = { ...headers };
  for (const variant of bodyVariants(input.body)) {
    if (await verifiesAt(variant.bytes, signedHeaders, input.secrets, timestamp)) {
      details.bodyChange = variant.change;
      return fail('body_changed', `The body changed after it was signed: ${variant.change}.`, [
        'Verify the exact bytes received: in Express use the raw body (@hooks/express does), never JSON.stringify(request.body).',
      ]);
    }
  }
  // The envelope's id differs from the id header: the header was rewritten.
  const profile = details.profile;
  try {
    const envelope = JSON.parse(input.body.toString('utf8')) as { id?: unknown };
    if (profile && typeof envelope.id === 'string' && envelope.id !== details.id) {
      const rewritten = { ...headers, [PROFILE_HEADERS[profile].id]: envelope.id };
      if (await verifiesAt(input.body, rewritten, input.secrets, timestamp)) {
        return fail('id_changed', `The id header (${details.id}) was changed: the request was signed for id ${envelope.id}, the body's id.`, ['Send the id header unchanged on every retry.']);
      }
    }
  } catch {
    // Not JSON: nothing to learn from the body.
  }
  const prefix = `${details.id}.${timestamp}.`;
  const v1 = versions.find((entry) => entry.version === 'v1')?.values ?? [];
  for (const secret of input.secrets) {
    if (keyKind(secret) === 'hmac' && hmacMatchesTextKey(secret, prefix, input.body, v1)) {
      return fail('secret_text_as_key', `The sender used the text of the secret (${maskSecret(secret)}) as the HMAC key instead of its base64-decoded bytes.`, [
        'Decode the part after "whsec_" from base64 and use those bytes as the key (docs/signatures.md, "Secrets and keys").',
      ]);
    }
  }
  const count = versions.reduce((total, entry) => total + entry.count, 0);
  return fail(
    'wrong_secret',
    `No signature (${count} in the header) matches the body with the secret${input.secrets.length > 1 ? 's' : ''} given (${details.secrets.join(', ')}), and no usual change of the body explains it: the request was signed with another secret.`,
    [
      "Use the endpoint's current secret: it is shown once at creation, and GET /endpoints/:id/secret (or sender.endpoints.getSecrets(id)) reads it again.",
      'After a rotation, list both secrets (--secret NEW --secret OLD) until the overlap ends.',
    ],
  );
}
