import { type SpanAttributes, type TracingSpan, startSpan, tracingAvailable } from '@hooks/core/internal';
import type { AttemptOutcome } from './metrics';
import { activeTraceState, openTelemetryLoaded, withRootContext } from './open-telemetry';
import type { ClaimedDelivery } from './storage/types';
import { type TraceContext, readTraceContext } from './trace-context';

/**
 * The sender's OpenTelemetry spans, on core's span helpers (`@opentelemetry/api` is an optional
 * peer; without it, or without a registered SDK, none of this runs):
 *
 * - `hooks.send` (PRODUCER) for each message stored by `send`, `sendMany` (inside one
 *   `hooks.send_many` span) or `sendTest`. Its context is stored with the message, unless the
 *   caller passed `traceContext`, which is stored as given.
 * - `hooks.attempt` (CLIENT) for each HTTP attempt, a CHILD of the context stored with the
 *   message. OpenTelemetry's messaging conventions require a link to the creation context
 *   (batches can have no single parent) and allow it as the parent when one message is
 *   processed, which is the case here: so every attempt, the retries a day later included, and
 *   the receiver's `hooks.receive` below it (the attempt's own traceparent is the one sent) are
 *   in the trace of the `send`, and a trace view shows a message's whole life as one tree.
 */

/** True when spans are recorded: the API is loaded and an SDK registered a tracer provider. Cheap; callers skip all span work otherwise. */
export function tracing(): boolean {
  return openTelemetryLoaded() && tracingAvailable();
}

/** Starts a `hooks.send` span (or `hooks.send_many` for a batch) under the active context, or as a child of the caller's `traceContext`. */
export function startSendSpan(name: 'hooks.send' | 'hooks.send_many', traceContext: unknown, attributes?: SpanAttributes): TracingSpan | undefined {
  const given = typeof traceContext === 'object' && traceContext !== null ? (traceContext as Partial<TraceContext>) : undefined;
  return startSpan(name, {
    kind: 'producer',
    traceparent: typeof given?.traceparent === 'string' ? given.traceparent : undefined,
    tracestate: typeof given?.tracestate === 'string' ? given.tracestate : undefined,
    attributes,
  });
}

/** The trace context to store with a message sent inside `span`: the span's own traceparent, with the active tracestate. */
export function spanTraceContext(span: TracingSpan): string {
  return span.run(() => {
    const context: TraceContext = { traceparent: span.traceparent() };
    const tracestate = activeTraceState();
    if (tracestate !== undefined) context.tracestate = tracestate;
    return JSON.stringify(context);
  });
}

/** Records the result of a send on its span and ends it. */
export function endSendSpan(span: TracingSpan, result: { messageId: string; deliveryCount: number; duplicate: boolean }): void {
  span.setAttributes({ 'webhook.id': result.messageId, 'webhook.delivery_count': result.deliveryCount, 'webhook.duplicate': result.duplicate });
  span.end();
}

/** Marks a span failed with the error's code (never its message: it may quote the payload) and ends it. */
export function failSpan(span: TracingSpan, error: unknown): void {
  const code = (error as { code?: unknown })?.code;
  const type = typeof code === 'string' ? code : error instanceof Error ? error.name : 'error';
  span.setAttributes({ 'error.type': type });
  span.fail(type);
  span.end();
}

/** The host and port of an endpoint URL, for span attributes: never the path or the query, which may hold a token. */
function serverOf(url: string): SpanAttributes {
  try {
    const parsed = new URL(url);
    const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
    return { 'server.address': parsed.hostname, 'server.port': port, 'url.scheme': parsed.protocol.slice(0, -1) };
  } catch {
    return {};
  }
}

/** A started attempt span and the trace headers to send with its request. */
export interface AttemptSpan {
  /** The span. */
  span: TracingSpan;
  /** `traceparent` naming the attempt span (and the message's `tracestate`): what the receiver continues. */
  headers: Record<string, string>;
}

/**
 * Starts the `hooks.attempt` span of one attempt, as a child of the trace context stored with the
 * message (a new trace when there is none). Started in the root context: whatever context woke
 * the dispatcher (a `send` of another message, a caller of `drain()`) must not become its parent.
 */
export function startAttemptSpan(item: ClaimedDelivery, attempt: number): AttemptSpan | undefined {
  const { delivery, message, endpoint } = item;
  const stored = readTraceContext(message.traceContext);
  const span = withRootContext(() =>
    startSpan('hooks.attempt', {
      kind: 'client',
      traceparent: stored?.traceparent,
      tracestate: stored?.tracestate,
      attributes: {
        'http.request.method': 'POST',
        ...serverOf(endpoint.url),
        'webhook.id': message.id,
        'webhook.type': message.type,
        'webhook.tenant': delivery.tenant,
        'webhook.attempt': attempt,
        'webhook.delivery.id': delivery.id,
        'webhook.endpoint.id': endpoint.id,
      },
    }),
  );
  if (!span) return undefined;
  const headers: Record<string, string> = { traceparent: span.traceparent() };
  if (stored?.tracestate !== undefined) headers.tracestate = stored.tracestate;
  return { span, headers };
}

/** Records how an attempt ended on its span and ends it; a failed attempt (or an abandoned one) marks the span failed. */
export function endAttemptSpan(span: TracingSpan, result: { outcome: AttemptOutcome | 'abandoned'; statusCode: number | undefined; errorCode: string | null }): void {
  span.setAttributes({ 'webhook.outcome': result.outcome, 'http.response.status_code': result.statusCode });
  if (result.outcome !== 'succeeded') {
    const type = result.outcome === 'abandoned' ? 'abandoned' : (result.errorCode ?? 'error');
    span.setAttributes({ 'error.type': type });
    span.fail(type);
  }
  span.end();
}
