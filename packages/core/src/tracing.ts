/**
 * OpenTelemetry spans through `@opentelemetry/api`, an optional peer: when the package cannot be
 * loaded (not installed, or an edge runtime without it), every helper here is a no-op.
 *
 * The API package is only a facade over globals that the application's SDK registers, so any
 * installed 1.x copy reaches the same tracer provider and context manager as the application.
 * It is loaded with a dynamic import that bundlers leave alone, so a Next.js or edge build
 * never fails because the package is absent.
 *
 * Shared by the receiver (a span per delivery received) and the sender (spans per send and per
 * attempt, with `traceparent` injected on outgoing requests), through `@hooks/core/internal`.
 */

/** The part of `@opentelemetry/api`'s span used here. */
interface OtelSpan {
  spanContext(): { traceId: string; spanId: string; traceFlags: number; traceState?: { serialize(): string } };
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: unknown): unknown;
  end(): void;
}

/** The part of `@opentelemetry/api` used here (a structural type, so core's types never name the optional package). */
interface OtelApi {
  trace: {
    getTracerProvider?(): unknown;
    getTracer(name: string, version?: string): { startSpan(name: string, options: { kind?: number; attributes?: Record<string, string | number | boolean> }, context?: unknown): OtelSpan };
    getSpan(context: unknown): OtelSpan | undefined;
    setSpan(context: unknown, span: OtelSpan): unknown;
    setSpanContext(context: unknown, spanContext: { traceId: string; spanId: string; traceFlags: number; isRemote?: boolean; traceState?: unknown }): unknown;
  };
  context: { active(): unknown; with<T>(context: unknown, fn: () => T): T };
  createTraceState?(serialized?: string): unknown;
  ROOT_CONTEXT: unknown;
}

/** OpenTelemetry span kinds, by name (the numbers are the API's `SpanKind`). */
export type TracingSpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
const SPAN_KINDS: Record<TracingSpanKind, number> = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 };

/** Attribute values a span accepts. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** Options of {@link startSpan}. */
export interface StartSpanOptions {
  /** The span kind. @default 'internal' */
  kind?: TracingSpanKind;
  /** Attributes set at the start (undefined values are left out). */
  attributes?: SpanAttributes;
  /**
   * A W3C `traceparent` to continue when no span is active in the current context (an incoming
   * request that no HTTP instrumentation has picked up). Malformed values are ignored.
   */
  traceparent?: string | null;
  /** The W3C `tracestate` that came with `traceparent`. */
  tracestate?: string | null;
}

/** A started span; every method is safe to call more than once, and after `end`. */
export interface TracingSpan {
  /** Sets attributes (undefined values are left out). */
  setAttributes(attributes: SpanAttributes): void;
  /** Marks the span failed, with a short message (never a secret or a payload). */
  fail(message: string, exception?: unknown): void;
  /** Runs `fn` with this span active, so spans started inside (a handler's own) are its children. */
  run<T>(fn: () => T): T;
  /** The W3C `traceparent` naming this span, to send on an outgoing request. */
  traceparent(): string;
  /** Ends the span. */
  end(): void;
}

const TRACER_NAME = '@hooks/core';
const SPECIFIER = '@opentelemetry/api';

// undefined: not tried yet; null: not available.
let api: OtelApi | null | undefined;
// The API's tracer is a proxy that follows the provider registered later, so one is enough.
let tracer: ReturnType<OtelApi['trace']['getTracer']> | undefined;
let loading: Promise<boolean> | undefined;

/**
 * Loads `@opentelemetry/api` once. Resolves true when tracing is available. Call it (and await
 * it once) before the first {@link startSpan}: until it settles, spans are not created.
 */
export function loadTracing(): Promise<boolean> {
  loading ??= import(/* webpackIgnore: true */ /* turbopackIgnore: true */ /* @vite-ignore */ SPECIFIER).then(
    (module: unknown) => {
      const candidate = ((module as { default?: unknown }).default ?? module) as Partial<OtelApi>;
      api = typeof candidate?.trace?.getTracer === 'function' && typeof candidate.context?.with === 'function' ? (candidate as OtelApi) : null;
      return api !== null;
    },
    () => {
      api = null;
      return false;
    },
  );
  return loading;
}

/**
 * True once `@opentelemetry/api` is loaded and an SDK has registered a tracer provider:
 * {@link startSpan} then returns spans. The API alone (often installed by another dependency)
 * records nothing, so hot paths skip span work until a provider is registered.
 */
export function tracingAvailable(): boolean {
  if (!api) return false;
  const provider = api.trace.getTracerProvider?.() as { getDelegate?: () => { constructor?: { name?: string } } } | undefined;
  const delegate = provider?.getDelegate?.();
  // The API's proxy delegates to a no-op provider until an SDK registers one.
  return delegate?.constructor?.name !== 'NoopTracerProvider';
}

/** True once {@link loadTracing} has settled (either way): no await is needed before {@link startSpan}. */
export function tracingSettled(): boolean {
  return api !== undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/** The fields of a W3C `traceparent` header. */
export interface Traceparent {
  /** 32 lower-case hex digits, not all zero. */
  traceId: string;
  /** 16 lower-case hex digits, not all zero. */
  spanId: string;
  /** Trace flags (bit 0: sampled). */
  traceFlags: number;
}

/** Parses a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`); undefined when malformed. */
export function parseTraceparent(value: string | null | undefined): Traceparent | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  // Version ff is forbidden; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && value.trim().length !== 55)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) };
}

/** Formats a W3C `traceparent` header value. */
export function formatTraceparent(parent: Traceparent): string {
  return `00-${parent.traceId}-${parent.spanId}-${(parent.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The `traceparent` of the span active in the current context, to send on an outgoing request; undefined without one. */
export function activeTraceparent(): string | undefined {
  if (!api) return undefined;
  const span = api.trace.getSpan(api.context.active());
  if (!span) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  const parent = parseTraceparent(`00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`);
  return parent ? formatTraceparent(parent) : undefined;
}

function setAll(span: OtelSpan, attributes: SpanAttributes | undefined): void {
  if (!attributes) return;
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) span.setAttribute(key, value);
  }
}

/**
 * Starts a span under the active context, or, when no span is active, as a child of
 * `traceparent` (when given and valid). Returns undefined when tracing is unavailable, so
 * callers skip all span work on the fast path.
 */
export function startSpan(name: string, options: StartSpanOptions = {}): TracingSpan | undefined {
  const otel = api;
  if (!otel) return undefined;
  let parent = otel.context.active();
  if (!otel.trace.getSpan(parent)) {
    const remote = parseTraceparent(options.traceparent);
    if (remote) {
      const traceState = options.tracestate && otel.createTraceState ? otel.createTraceState(options.tracestate) : undefined;
      parent = otel.trace.setSpanContext(parent, { ...remote, isRemote: true, traceState });
    }
  }
  tracer ??= otel.trace.getTracer(TRACER_NAME);
  const span = tracer.startSpan(name, { kind: SPAN_KINDS[options.kind ?? 'internal'] }, parent);
  setAll(span, options.attributes);
  const active = otel.trace.setSpan(parent, span);
  let ended = false;
  return {
    setAttributes: (attributes) => setAll(span, attributes),
    fail(message, exception) {
      if (exception !== undefined) span.recordException(exception instanceof Error ? exception : String(exception));
      span.setStatus({ code: 2 /* SpanStatusCode.ERROR */, message });
    },
    run: (fn) => otel.context.with(active, fn),
    traceparent() {
      const { traceId, spanId, traceFlags } = span.spanContext();
      return formatTraceparent({ traceId, spanId, traceFlags });
    },
    end() {
      if (ended) return;
      ended = true;
      span.end();
    },
  };
}
