/**
 * The parts of `@opentelemetry/api` (an optional peer) the sender needs beyond core's span
 * helpers: the root context, so that an attempt's span never inherits whatever context happened
 * to wake the dispatcher (a `send` of another message, a caller of `drain()`), the W3C
 * `tracestate` of the active span, and the global MeterProvider for metrics instruments.
 *
 * Loaded once with a dynamic import that bundlers leave alone; when the package cannot be
 * loaded, every helper here is a no-op and the sender runs as without it.
 */

/** The parts of a meter's instruments used here (structural: the sender's types never name the optional package). */
export interface OtelMeter {
  createHistogram(
    name: string,
    options: { description: string; unit: string; advice?: { explicitBucketBoundaries: number[] } },
  ): { record(value: number, attributes?: Record<string, string>): void };
  createObservableCounter(name: string, options: { description: string; unit: string }): OtelObservable;
  createObservableGauge(name: string, options: { description: string; unit: string }): OtelObservable;
  addBatchObservableCallback(callback: (result: { observe(observable: OtelObservable, value: number, attributes?: Record<string, string>): void }) => void | Promise<void>, observables: OtelObservable[]): void;
  removeBatchObservableCallback?(callback: (result: { observe(observable: OtelObservable, value: number, attributes?: Record<string, string>): void }) => void | Promise<void>, observables: OtelObservable[]): void;
}

/** An asynchronous instrument (observable counter or gauge). */
export type OtelObservable = object;

interface OtelApi {
  context: { active(): unknown; with<T>(context: unknown, fn: () => T): T };
  ROOT_CONTEXT?: unknown;
  trace: { getSpan(context: unknown): { spanContext(): { traceState?: { serialize(): string } } } | undefined; deleteSpan?(context: unknown): unknown };
  metrics?: { getMeterProvider(): { getMeter(name: string, version?: string): OtelMeter } };
}

const SPECIFIER = '@opentelemetry/api';

// undefined: not tried yet; null: not available.
let api: OtelApi | null | undefined;
let loading: Promise<boolean> | undefined;

/** Loads `@opentelemetry/api` once; resolves true when it is there. */
export function loadOpenTelemetry(): Promise<boolean> {
  loading ??= import(/* webpackIgnore: true */ /* turbopackIgnore: true */ /* @vite-ignore */ SPECIFIER).then(
    (module: unknown) => {
      // The named exports, wherever the loader put them: the package's own `default` export holds
      // only the five API objects (no ROOT_CONTEXT), and some interops expose it as the namespace.
      const namespace = module as Record<string, unknown>;
      const fallback = (namespace.default ?? {}) as Record<string, unknown>;
      const pick = (key: string) => namespace[key] ?? fallback[key];
      const candidate = { context: pick('context'), trace: pick('trace'), metrics: pick('metrics'), ROOT_CONTEXT: pick('ROOT_CONTEXT') } as Partial<OtelApi>;
      api = typeof candidate.context?.with === 'function' && typeof candidate.trace?.getSpan === 'function' ? (candidate as OtelApi) : null;
      return api !== null;
    },
    () => {
      api = null;
      return false;
    },
  );
  return loading;
}

/** True once `@opentelemetry/api` is loaded (false while loading, or when it cannot be). */
export function openTelemetryLoaded(): boolean {
  return api !== undefined && api !== null;
}

/** Runs `fn` outside any active span, so spans started inside take only the parent they are given. */
export function withRootContext<T>(fn: () => T): T {
  if (!api) return fn();
  const root = api.ROOT_CONTEXT ?? api.trace.deleteSpan?.(api.context.active());
  return root === undefined ? fn() : api.context.with(root, fn);
}

/** The W3C `tracestate` of the active span, when it has one. */
export function activeTraceState(): string | undefined {
  const state = api?.trace.getSpan(api.context.active())?.spanContext().traceState?.serialize();
  return state === undefined || state === '' ? undefined : state;
}

/**
 * The global MeterProvider (the API's no-op one until an SDK registers one); undefined while
 * the API is not loaded or has no metrics (versions before 1.3).
 */
export function meterProvider(): { getMeter(name: string, version?: string): OtelMeter } | undefined {
  return api?.metrics?.getMeterProvider();
}

/** True when `provider` is the API's no-op MeterProvider: no SDK registered, so instruments would record nothing. */
export function isNoopMeterProvider(provider: object): boolean {
  return provider.constructor?.name === 'NoopMeterProvider';
}
