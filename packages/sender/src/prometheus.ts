import { SenderError } from './errors';
import type { SenderMetricsSnapshot } from './metrics';

/** The `Content-Type` of a Prometheus scrape response in the text format {@link formatPrometheus} writes. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Options of {@link formatPrometheus}. */
export interface PrometheusOptions {
  /** Labels added to every sample, e.g. `{ service: 'billing' }` when one process runs several senders. @default {} */
  labels?: Record<string, string>;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

/**
 * Writes a metrics snapshot in the Prometheus text exposition format (0.0.4), ready to be the
 * body of a `GET /metrics` response (with {@link PROMETHEUS_CONTENT_TYPE}). Names match what an
 * OpenTelemetry Prometheus exporter makes of the sender's OpenTelemetry instruments.
 *
 * @param snapshot - What `sender.metrics()` returned.
 * @param options - Extra labels for every sample.
 * @returns The scrape body: `# HELP` and `# TYPE` lines and one sample per line.
 *
 * @example
 * <!-- prelude: import type { Sender } from '@hooks/sender'; declare const sender: Sender; -->
 * ```ts
 * import { createServer } from 'node:http';
 * import { PROMETHEUS_CONTENT_TYPE, formatPrometheus } from '@hooks/sender';
 *
 * createServer(async (request, response) => {
 *   if (request.url !== '/metrics') return void response.writeHead(404).end();
 *   response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(formatPrometheus(await sender.metrics()));
 * }).listen(9464, '127.0.0.1');
 * ```
 */
export function formatPrometheus(snapshot: SenderMetricsSnapshot, options: PrometheusOptions = {}): string {
  const extra = options.labels ?? {};
  for (const [name, value] of Object.entries(extra)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__') || name === 'le') throw new SenderError('invalid_option', `"${name.slice(0, 64)}" is not a usable Prometheus label name.`, { details: { field: 'labels' } });
    if (typeof value !== 'string') throw new SenderError('invalid_option', `The value of label "${name}" must be a string.`, { details: { field: 'labels' } });
  }
  const base: Record<string, string> = { storage: snapshot.storage, ...extra };
  const lines: string[] = [];
  const labels = (more: Record<string, string> = {}) => {
    const all = Object.entries({ ...base, ...more });
    return `{${all.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(',')}}`;
  };
  const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const sample = (name: string, value: number, more?: Record<string, string>) => {
    lines.push(`${name}${labels(more)} ${formatNumber(value)}`);
  };

  family('hooks_sender_messages_total', 'counter', 'Messages stored by send(), sendMany() and sendTest() in this process, by result (created, duplicate).');
  sample('hooks_sender_messages_total', snapshot.messages.created, { result: 'created' });
  sample('hooks_sender_messages_total', snapshot.messages.duplicates, { result: 'duplicate' });
  family('hooks_sender_deliveries_created_total', 'counter', 'Deliveries created by the messages stored in this process (one per matching endpoint).');
  sample('hooks_sender_deliveries_created_total', snapshot.deliveriesCreated);
  family('hooks_sender_attempts_total', 'counter', 'Delivery attempts of this process, by outcome (succeeded, failed with a retry planned, given_up).');
  sample('hooks_sender_attempts_total', snapshot.attempts.succeeded, { outcome: 'succeeded' });
  sample('hooks_sender_attempts_total', snapshot.attempts.failed, { outcome: 'failed' });
  sample('hooks_sender_attempts_total', snapshot.attempts.givenUp, { outcome: 'given_up' });

  const duration = snapshot.attemptDuration;
  family('hooks_sender_attempt_duration_seconds', 'histogram', 'Duration of delivery attempts, from the request to the response or the error.');
  for (const bucket of duration.buckets) sample('hooks_sender_attempt_duration_seconds_bucket', bucket.count, { le: formatNumber(bucket.le) });
  sample('hooks_sender_attempt_duration_seconds_bucket', duration.count, { le: '+Inf' });
  sample('hooks_sender_attempt_duration_seconds_sum', duration.sum);
  sample('hooks_sender_attempt_duration_seconds_count', duration.count);

  family('hooks_sender_dispatcher_in_flight', 'gauge', 'Attempts in flight in this process.');
  sample('hooks_sender_dispatcher_in_flight', snapshot.dispatcher.inFlight);
  family('hooks_sender_queue_up', 'gauge', '1 when the queue could be read from the storage, else 0.');
  sample('hooks_sender_queue_up', snapshot.queue ? 1 : 0);
  const { queue } = snapshot;
  if (queue) {
    family('hooks_sender_queue_deliveries', 'gauge', `Deliveries in the storage's queue by state (due, scheduled, in_flight), shared by every process on it; each count stops at ${queue.countLimit}.`);
    sample('hooks_sender_queue_deliveries', queue.due, { state: 'due' });
    sample('hooks_sender_queue_deliveries', queue.scheduled, { state: 'scheduled' });
    sample('hooks_sender_queue_deliveries', queue.inFlight, { state: 'in_flight' });
    family('hooks_sender_queue_oldest_due_age_seconds', 'gauge', 'How long the longest-waiting due delivery has been due (0 when none is due).');
    sample('hooks_sender_queue_oldest_due_age_seconds', queue.oldestDueAgeSeconds ?? 0);
  }
  return `${lines.join('\n')}\n`;
}
