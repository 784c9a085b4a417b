import { VERSION } from '@hooks/core/internal';
import { type OtelMeter, type OtelObservable, isNoopMeterProvider, meterProvider } from './open-telemetry';
import type { StorageStats } from './storage/types';

/** Upper bounds, in seconds, of the attempt duration histogram's buckets (the last, `+Inf`, is implied). */
export const ATTEMPT_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

/** How one attempt ended: a 2xx, a failure with a retry planned, or a failure after which the delivery was given up. */
export type AttemptOutcome = 'succeeded' | 'failed' | 'given_up';

/** Options of `sender.metrics()`. */
export interface MetricsOptions {
  /**
   * Each queue count stops at this number (a count equal to it means "at least this many"), so a
   * scrape stays cheap beside a backlog of millions. @default 100_000
   */
  countLimit?: number;
}

/** The queue of the sender's storage, shared by every process that uses it. */
export interface QueueMetrics {
  /** Deliveries waiting for a dispatcher (due now, or with an expired lease). At most `countLimit`. */
  due: number;
  /** Deliveries waiting for a later retry. At most `countLimit`. */
  scheduled: number;
  /** Deliveries leased by a dispatcher of any process. At most `countLimit`. */
  inFlight: number;
  /** How long the longest-waiting due delivery has been due, in seconds; `null` when none is due. Alert on this one. */
  oldestDueAgeSeconds: number | null;
  /** The cap of the counts above. */
  countLimit: number;
}

/** A histogram of attempt durations, Prometheus style. */
export interface DurationHistogram {
  /** Cumulative counts: attempts that took at most `le` seconds, for each bound of {@link ATTEMPT_DURATION_BUCKETS}. */
  buckets: Array<{
    /** Upper bound, in seconds. */
    le: number;
    /** Attempts at or under it. */
    count: number;
  }>;
  /** Every attempt (the `+Inf` bucket). */
  count: number;
  /** Sum of the durations, in seconds. */
  sum: number;
}

/**
 * What `sender.metrics()` returns: counters since this sender was created (this process), the
 * storage's queue (every process), and this process's dispatcher. Format it for Prometheus with
 * `formatPrometheus`, or read the fields.
 */
export interface SenderMetricsSnapshot {
  /** When it was taken, in unix milliseconds (the sender's clock). */
  timestamp: number;
  /** The storage kind (`memory`, `sqlite`, `postgres`): a label of every metric. */
  storage: string;
  /** Messages that `send`, `sendMany` and `sendTest` stored in this process. */
  messages: {
    /** New messages stored. */
    created: number;
    /** Idempotent repeats: the key was used before, nothing new was stored. */
    duplicates: number;
  };
  /** Deliveries those messages created (one per matching endpoint). */
  deliveriesCreated: number;
  /** Attempts this process's dispatcher made, by outcome (counted once their result is stored). */
  attempts: {
    /** 2xx answers. */
    succeeded: number;
    /** Failures with a retry planned. */
    failed: number;
    /** Failures after which the delivery was given up (`delivery.failed`). */
    givenUp: number;
  };
  /** Durations of those attempts (request to response or error). */
  attemptDuration: DurationHistogram;
  /** The storage's queue; `null` when the storage cannot tell (no `stats()`) or failed to (the error went to `onError`). */
  queue: QueueMetrics | null;
  /** This process's dispatcher. */
  dispatcher: {
    /** True between `start()` and `stop()`. */
    running: boolean;
    /** Attempts in flight in this process. */
    inFlight: number;
    /** Deliveries claimed ahead and waiting for a free slot. */
    prefetched: number;
  };
}

/** What the metrics read from the rest of the sender. */
export interface MetricsSource {
  /** The storage kind. */
  storage: string;
  /** The storage's queue (null: the storage has no stats); rejects on a storage error. */
  queue(now: number, countLimit: number): Promise<StorageStats | null>;
  /** This process's dispatcher. */
  dispatcher(): SenderMetricsSnapshot['dispatcher'];
  /** The sender's clock. */
  now(): number;
  /** Where a failed queue read goes (the sender's onError or logger). */
  onError(error: unknown): void;
}

/** How often an attempt looks for a MeterProvider registered after the sender was created. */
const PROVIDER_CHECK_MS = 10_000;

/**
 * The sender's counters and attempt histogram (plain numbers: a few additions per attempt), the
 * snapshot of `sender.metrics()`, and, when `@opentelemetry/api` is there and an SDK registered a
 * MeterProvider, the same figures as OpenTelemetry instruments.
 */
export class SenderMetrics {
  private messagesCreated = 0;
  private messagesDuplicate = 0;
  private deliveriesCreated = 0;
  private readonly outcomes: Record<AttemptOutcome, number> = { succeeded: 0, failed: 0, given_up: 0 };
  // One slot per bucket bound, plus one for durations above the last bound.
  private readonly durationCounts = new Array<number>(ATTEMPT_DURATION_BUCKETS.length + 1).fill(0);
  private durationSum = 0;
  private histogram: { record(value: number, attributes?: Record<string, string>): void } | undefined;
  private boundProvider: object | undefined;
  private nextProviderCheck = 0;
  private unbind: (() => void) | undefined;

  constructor(private readonly source: MetricsSource) {}

  /** Counts one stored message (or an idempotent repeat) and the deliveries it created. */
  recordSend(created: boolean, deliveries: number): void {
    if (created) {
      this.messagesCreated++;
      this.deliveriesCreated += deliveries;
    } else {
      this.messagesDuplicate++;
    }
  }

  /** Counts one attempt whose result was stored. */
  recordAttempt(outcome: AttemptOutcome, durationMs: number): void {
    this.outcomes[outcome]++;
    const seconds = durationMs / 1000;
    this.durationSum += seconds;
    let index = 0;
    while (index < ATTEMPT_DURATION_BUCKETS.length && seconds > (ATTEMPT_DURATION_BUCKETS[index] as number)) index++;
    this.durationCounts[index] = (this.durationCounts[index] as number) + 1;
    if (this.histogram) this.histogram.record(seconds, { storage: this.source.storage });
    else if (this.nextProviderCheck !== Number.POSITIVE_INFINITY && Date.now() >= this.nextProviderCheck) this.bindOpenTelemetry();
  }

  /** The counters, the storage's queue and the dispatcher, now. */
  async snapshot(options: MetricsOptions = {}): Promise<SenderMetricsSnapshot> {
    // A MeterProvider registered after the sender was created is picked up here too.
    if (!this.histogram && this.nextProviderCheck !== Number.POSITIVE_INFINITY) this.bindOpenTelemetry();
    const countLimit = options.countLimit ?? 100_000;
    const now = this.source.now();
    let queue: QueueMetrics | null = null;
    try {
      const stats = await this.source.queue(now, countLimit);
      if (stats) queue = { due: stats.due, scheduled: stats.scheduled, inFlight: stats.inFlight, oldestDueAgeSeconds: stats.oldestDueAt === null ? null : Math.max(0, now - stats.oldestDueAt) / 1000, countLimit };
    } catch (error) {
      // Bad options are the caller's mistake; a storage that fails is reported, and the rest still answers.
      if ((error as { code?: unknown }).code === 'invalid_input') throw error;
      this.source.onError(error);
    }
    let cumulative = 0;
    const buckets = ATTEMPT_DURATION_BUCKETS.map((le, index) => {
      cumulative += this.durationCounts[index] as number;
      return { le, count: cumulative };
    });
    return {
      timestamp: now,
      storage: this.source.storage,
      messages: { created: this.messagesCreated, duplicates: this.messagesDuplicate },
      deliveriesCreated: this.deliveriesCreated,
      attempts: { succeeded: this.outcomes.succeeded, failed: this.outcomes.failed, givenUp: this.outcomes.given_up },
      attemptDuration: { buckets, count: cumulative + (this.durationCounts[ATTEMPT_DURATION_BUCKETS.length] as number), sum: this.durationSum },
      queue,
      dispatcher: this.source.dispatcher(),
    };
  }

  /**
   * Creates the OpenTelemetry instruments on the global MeterProvider once an SDK registered one
   * (again if another one is registered later). Without the API, never does anything.
   */
  bindOpenTelemetry(): void {
    const provider = meterProvider();
    if (!provider) return;
    this.nextProviderCheck = Date.now() + PROVIDER_CHECK_MS;
    if (provider === this.boundProvider || isNoopMeterProvider(provider)) return;
    this.unbind?.();
    this.boundProvider = provider;
    this.instrument(provider.getMeter('@hooks/sender', VERSION));
  }

  /** Stops reporting to OpenTelemetry (the sender is closed). */
  close(): void {
    this.unbind?.();
    this.unbind = undefined;
    this.histogram = undefined;
    this.nextProviderCheck = Number.POSITIVE_INFINITY;
  }

  private instrument(meter: OtelMeter): void {
    const storage = this.source.storage;
    this.histogram = meter.createHistogram('hooks.sender.attempt.duration', {
      description: 'Duration of delivery attempts, from the request to the response or the error.',
      unit: 's',
      advice: { explicitBucketBoundaries: [...ATTEMPT_DURATION_BUCKETS] },
    });
    const messages = meter.createObservableCounter('hooks.sender.messages', { description: 'Messages stored by send(), sendMany() and sendTest(), by result (created, duplicate).', unit: '{message}' });
    const deliveries = meter.createObservableCounter('hooks.sender.deliveries.created', { description: 'Deliveries created by stored messages (one per matching endpoint).', unit: '{delivery}' });
    const attempts = meter.createObservableCounter('hooks.sender.attempts', { description: 'Delivery attempts of this process, by outcome (succeeded, failed, given_up).', unit: '{attempt}' });
    const depth = meter.createObservableGauge('hooks.sender.queue.deliveries', { description: "Deliveries in the storage's queue, by state (due, scheduled, in_flight); shared by every process on the storage.", unit: '{delivery}' });
    const oldest = meter.createObservableGauge('hooks.sender.queue.oldest_due_age', { description: 'How long the longest-waiting due delivery has been due.', unit: 's' });
    const up = meter.createObservableGauge('hooks.sender.queue.up', { description: '1 when the queue could be read from the storage, else 0.', unit: '1' });
    const inFlight = meter.createObservableGauge('hooks.sender.dispatcher.in_flight', { description: 'Attempts in flight in this process.', unit: '{attempt}' });
    const observables: OtelObservable[] = [messages, deliveries, attempts, depth, oldest, up, inFlight];
    const callback = async (result: { observe(observable: OtelObservable, value: number, attributes?: Record<string, string>): void }) => {
      const snapshot = await this.snapshot();
      result.observe(messages, snapshot.messages.created, { storage, result: 'created' });
      result.observe(messages, snapshot.messages.duplicates, { storage, result: 'duplicate' });
      result.observe(deliveries, snapshot.deliveriesCreated, { storage });
      result.observe(attempts, snapshot.attempts.succeeded, { storage, outcome: 'succeeded' });
      result.observe(attempts, snapshot.attempts.failed, { storage, outcome: 'failed' });
      result.observe(attempts, snapshot.attempts.givenUp, { storage, outcome: 'given_up' });
      result.observe(inFlight, snapshot.dispatcher.inFlight, { storage });
      result.observe(up, snapshot.queue ? 1 : 0, { storage });
      if (!snapshot.queue) return;
      result.observe(depth, snapshot.queue.due, { storage, state: 'due' });
      result.observe(depth, snapshot.queue.scheduled, { storage, state: 'scheduled' });
      result.observe(depth, snapshot.queue.inFlight, { storage, state: 'in_flight' });
      // 0 when nothing is due, so an alert on the age needs no special case for an empty queue.
      result.observe(oldest, snapshot.queue.oldestDueAgeSeconds ?? 0, { storage });
    };
    meter.addBatchObservableCallback(callback, observables);
    this.unbind = () => meter.removeBatchObservableCallback?.(callback, observables);
  }
}
