import { PayloadTooLargeError } from './errors';

/** Default largest body a receiver accepts: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** A request body source: a Web `ReadableStream`, or any async iterable of chunks (a Node `IncomingMessage`). */
export type BodySource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

const encoder = new TextEncoder();

/**
 * Reads a body into one byte array, stopping with {@link PayloadTooLargeError} as soon as it
 * passes `limit` (or at once when the declared `Content-Length` is over it), so a huge body is
 * never buffered. Adapters call this; the bytes are exactly what was sent.
 */
export async function readBody(source: BodySource | null | undefined, limit: number, declaredLength?: string | number | null): Promise<Uint8Array> {
  if (declaredLength !== undefined && declaredLength !== null && declaredLength !== '') {
    const length = Number(declaredLength);
    if (Number.isFinite(length) && length > limit) throw new PayloadTooLargeError(limit);
  }
  if (!source) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const push = (chunk: Uint8Array | string): void => {
    const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
    total += bytes.length;
    if (total > limit) throw new PayloadTooLargeError(limit);
    chunks.push(bytes);
  };
  if (typeof (source as ReadableStream<Uint8Array>).getReader === 'function') {
    const reader = (source as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        push(value);
      }
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      throw error;
    } finally {
      reader.releaseLock();
    }
  } else {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) push(chunk);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
