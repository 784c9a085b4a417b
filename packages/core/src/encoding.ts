// Base64 and UTF-8 helpers that run unchanged on Node and on edge runtimes (no Buffer).

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const lookup = new Int16Array(256).fill(-1);
for (let i = 0; i < alphabet.length; i++) lookup[alphabet.charCodeAt(i)] = i;
// Accept the URL-safe alphabet too when decoding.
lookup['-'.charCodeAt(0)] = 62;
lookup['_'.charCodeAt(0)] = 63;

/** UTF-8 bytes of a string. */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, throwing a TypeError on invalid sequences. */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

// Two base64 characters per 12 bits: half the string concatenations of a per-character loop,
// which matters on the sign/verify hot path (a 32-byte MAC per signature).
const pairs: string[] = [];
for (let i = 0; i < 4096; i++) pairs.push(alphabet[i >> 6]! + alphabet[i & 63]!);

/** Standard base64 with padding. */
export function base64Encode(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += pairs[n >> 12]! + pairs[n & 4095]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += `${pairs[n >> 12]!}==`;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${pairs[n >> 12]!}${alphabet[(n >> 6) & 63]!}=`;
  }
  return out;
}

/** URL-safe base64 without padding (for JWK). */
export function base64UrlEncode(bytes: Uint8Array): string {
  return base64Encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Decodes standard or URL-safe base64, padded or not. Returns undefined for anything that is
 * not base64, so callers can raise their own typed error.
 */
export function base64Decode(text: string): Uint8Array | undefined {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--;
  if (text.length - end > 2) return undefined;
  if (end % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const value = code < 256 ? lookup[code]! : -1;
    if (value < 0) return undefined;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * True when `text` is base64 that {@link base64Decode} accepts (standard or URL-safe, padded or
 * not), without decoding it: a check with no allocation for the verify hot path.
 */
export function isBase64(text: string): boolean {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--;
  if (text.length - end > 2 || end % 4 === 1 || end === 0) return false;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= 256 || lookup[code]! < 0) return false;
  }
  return true;
}

/**
 * Compares two strings in time that depends only on their lengths (no early exit on the first
 * difference). Used on base64 signatures, whose length is public.
 */
export function constantTimeEqualStrings(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: ReadonlyArray<Uint8Array>): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
