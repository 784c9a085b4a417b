import { PayloadTooLargeError } from './errors';

/** Default largest body a receiver accepts: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** A request body source: a Web `ReadableStream`, or any async iterable of chunks (a Node `IncomingMessage`). */
export type BodySource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

/** The part of a Node readable stream (`IncomingMessage`) that the event-based reader uses. */
interface EventedStream {
  on(event: string, listener: (value: never) => void): unknown;
  removeListener(event: string, listener: (value: never) => void): unknown;
  pause?(): unknown;
  readableEnded?: boolean;
}

function isEventedStream(source: unknown): source is EventedStream {
  return typeof (source as EventedStream).on === 'function' && typeof (source as EventedStream).removeListener === 'function';
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Node streams are read with 'data' events rather than `for await`: an async iterator per
 * request was a large share of a small webhook's cost in Express, Fastify and Koa. Over the
 * limit it stops listening and pauses the stream (the adapter answers 413 and closes).
 */
function readEventedStream(stream: EventedStream, limit: number): Promise<Uint8Array> {
  if (stream.readableEnded === true) return Promise.resolve(new Uint8Array(0));
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const cleanup = (): void => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
    };
    const onData = (chunk: Uint8Array | string): void => {
      const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      total += bytes.length;
      if (total > limit) {
        cleanup();
        stream.pause?.();
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(concat(chunks, total));
    };
    const onError = (error: unknown): void => {
      cleanup();
      reject(error);
    };
    // 'close' without 'end': the client went away mid-body; settle instead of waiting forever.
    const onClose = (): void => {
      cleanup();
      reject(new Error('The request was closed before its body was complete.'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

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
  if (isEventedStream(source)) return readEventedStream(source, limit);
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
      // Not awaited: some runtimes' request streams (Next.js edge) never settle a cancel, and the 413 must not wait for it.
      reader.cancel().catch(() => undefined);
      throw error;
    } finally {
      reader.releaseLock();
    }
  } else {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) push(chunk);
  }
  return concat(chunks, total);
}
