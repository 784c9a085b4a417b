import { parseTraceparent } from '@hooks/core/internal';
import { SenderError } from './errors';

/** W3C trace context carried by a message to every attempt of it (`traceparent` / `tracestate` request headers). */
export interface TraceContext {
  /** The W3C `traceparent` header value (`00-<trace id>-<span id>-<flags>`). */
  traceparent: string;
  /** The W3C `tracestate` header value, when there is one. */
  tracestate?: string | undefined;
}

// tracestate: at most 32 list members of printable ASCII; 512 characters is the length the
// W3C recommends propagating at least, and a bound that keeps a stored row small.
const TRACESTATE = /^[\x20-\x7e]{0,512}$/;

/**
 * Checks a `traceContext` given to `send` and returns the text stored with the message (JSON),
 * or null when none was given. Bad input → `SenderError('invalid_input')` with `details.field`.
 */
export function storedTraceContext(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new SenderError('invalid_input', 'traceContext must be { traceparent, tracestate? }.', { details: { field: 'traceContext' } });
  }
  const { traceparent, tracestate } = value as Record<string, unknown>;
  if (typeof traceparent !== 'string' || parseTraceparent(traceparent) === undefined) {
    throw new SenderError('invalid_input', 'traceContext.traceparent must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>).', { details: { field: 'traceContext.traceparent' } });
  }
  if (tracestate !== undefined && tracestate !== null && (typeof tracestate !== 'string' || !TRACESTATE.test(tracestate))) {
    throw new SenderError('invalid_input', 'traceContext.tracestate must be at most 512 printable ASCII characters.', { details: { field: 'traceContext.tracestate' } });
  }
  const stored: TraceContext = { traceparent: traceparent.trim() };
  if (typeof tracestate === 'string' && tracestate.trim() !== '') stored.tracestate = tracestate.trim();
  return JSON.stringify(stored);
}

/**
 * The trace context stored with a message, read back; undefined when there is none or it is
 * unreadable (a hand-edited row must never stop a delivery).
 */
export function readTraceContext(stored: string | null | undefined): TraceContext | undefined {
  if (typeof stored !== 'string' || stored === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const { traceparent, tracestate } = parsed as Record<string, unknown>;
  if (typeof traceparent !== 'string' || parseTraceparent(traceparent) === undefined) return undefined;
  const context: TraceContext = { traceparent };
  if (typeof tracestate === 'string' && tracestate !== '' && TRACESTATE.test(tracestate)) context.tracestate = tracestate;
  return context;
}

/** The request headers of a stored trace context; empty when there is none or it is unreadable. */
export function traceHeaders(stored: string | null | undefined): Record<string, string> {
  const context = readTraceContext(stored);
  if (!context) return {};
  const headers: Record<string, string> = { traceparent: context.traceparent };
  if (context.tracestate !== undefined) headers.tracestate = context.tracestate;
  return headers;
}
