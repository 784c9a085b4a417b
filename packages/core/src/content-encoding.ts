import { readBody } from './body';
import { PayloadTooLargeError, UnsupportedEncodingError, WebhookPayloadError } from './errors';
import { type HeadersInput, getHeader } from './headers';

/** Encodings the receiver can inflate, with the `DecompressionStream` format of each. */
const INFLATABLE: Readonly<Record<string, CompressionFormat>> = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate' };

/** The request's `Content-Encoding`, lower-cased, or undefined for none (absent, empty or `identity`). */
export function contentEncodingOf(headers: HeadersInput): string | undefined {
  const value = getHeader(headers, 'content-encoding');
  if (value === undefined) return undefined;
  const encoding = value.trim().toLowerCase();
  return encoding === '' || encoding === 'identity' ? undefined : encoding;
}

/**
 * Checks an encoding against the receiver's rule: none passes; with `inflate` off, any encoding
 * is refused (415); with it on, only gzip and deflate are accepted.
 */
export function checkEncoding(encoding: string | undefined, inflating: boolean): void {
  if (encoding === undefined) return;
  if (!inflating || INFLATABLE[encoding] === undefined) throw new UnsupportedEncodingError(encoding, inflating);
}

/**
 * Inflates a gzip or deflate body with Web `DecompressionStream` (Node and edge runtimes alike),
 * stopping with `PayloadTooLargeError` as soon as the inflated bytes pass `limit`, so a small
 * compressed bomb never becomes a large buffer.
 */
export async function inflate(bytes: Uint8Array, encoding: string, limit: number): Promise<Uint8Array> {
  const format = INFLATABLE[encoding];
  if (format === undefined) throw new UnsupportedEncodingError(encoding, true);
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
  try {
    return await readBody(source.pipeThrough(new DecompressionStream(format) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>), limit);
  } catch (error) {
    if (PayloadTooLargeError.isInstance(error)) throw error;
    throw new WebhookPayloadError('invalid_encoding', `The body is not valid ${encoding} data.`);
  }
}
