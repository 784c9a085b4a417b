// An OpenTelemetry SDK wired the way an application wires it: a global tracer provider that
// exports to memory, and the AsyncLocalStorage context manager. Registered once per test file
// (each file runs in its own process).
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The in-memory exporter every test span ends up in. */
export const exporter = new InMemorySpanExporter();

let installed = false;

/** Registers the SDK globally. */
export function installTracing(): void {
  if (installed) return;
  installed = true;
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** Finished spans with this name, in the order they ended. */
export function spansNamed(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.name === name);
}

/** The span with this span id. */
export function spanById(spanId: string | undefined): ReadableSpan | undefined {
  return exporter.getFinishedSpans().find((span) => span.spanContext().spanId === spanId);
}
