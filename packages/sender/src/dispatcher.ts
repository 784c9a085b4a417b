import { type Logger, signHeaders } from '@hooks/core';
import { createId } from '@hooks/core/internal';
import { FinishQueue } from './dispatcher-finish-queue';
import type { ErrorReporter } from './error-reporter';
import { SenderError } from './errors';
import type { SenderEventEmitter, SenderEvents } from './events';
import type { AttemptOutcome, SenderMetrics } from './metrics';
import { decideRetry, parseRetryAfter, type ResolvedRetryOptions } from './retry';
import type { SecretBox } from './secret-box';
import type { ClaimedDelivery, ClaimInput, FinishAttemptResult, NotificationType, Storage, StoredAttempt, StoredNotification } from './storage/types';
import { traceHeaders } from './trace-context';
import { type AttemptSpan, endAttemptSpan, startAttemptSpan, tracing } from './tracing';
import { DeliveryNetworkError, type DeliveryResponse, type Transport } from './transport';
import { type Attempt, type Delivery, toAttempt, toDelivery, toEndpoint } from './types';

/** Dispatcher tuning. */
export interface DispatcherOptions {
  /** Attempts in flight at once in this process. @default 50 */
  concurrency?: number;
  /** Attempts in flight at once per endpoint, across every process sharing the storage. @default 10 */
  perEndpointConcurrency?: number;
  /** Time allowed for one attempt (connect, headers and body). @default 15_000 */
  timeoutMs?: number;
  /** How long a claim is held before another dispatcher may take it back; must exceed `timeoutMs`. @default max(60_000, 2 × timeoutMs) */
  leaseMs?: number;
  /** How often storage is polled for due deliveries when nothing wakes the dispatcher. @default 1_000 */
  pollIntervalMs?: number;
  /** Deliveries claimed per storage round trip. @default 50 */
  batchSize?: number;
  /**
   * Deliveries claimed ahead, beyond `concurrency`, into a local queue, so a finished attempt is
   * followed by the next one without waiting for a claim. They hold their lease while they wait.
   * @default min(batchSize, concurrency)
   */
  prefetch?: number;
  /**
   * How long `stop()` and `close()` wait for attempts in flight. An attempt still running then is
   * abandoned by `close()`: its request is cancelled, nothing is logged, and its delivery keeps
   * its lease and is retried (by any process) once the lease expires. @default timeoutMs + 1_000
   */
  stopTimeoutMs?: number;
}

/** Endpoint disablement thresholds. */
export interface DisablementOptions {
  /** Consecutive failure counts that record an `endpoint.failing` notification. @default [5, 10, 15] */
  notifyAfter?: readonly number[];
  /** The consecutive failure that disables the endpoint (and so ends its retries until it is enabled again). @default 20 */
  disableAfter?: number;
}

/** The owner notification events, in the order listeners are looked up. */
const NOTIFICATION_TYPES: readonly NotificationType[] = ['endpoint.failing', 'endpoint.disabled', 'endpoint.recovered'];
/** Notifications handed to listeners at once per process. */
const NOTIFICATION_CONCURRENCY = 8;
/** First and longest wait before a notification whose listener failed is handed over again. */
const NOTIFICATION_RETRY_MS = 10_000;
const NOTIFICATION_RETRY_MAX_MS = 3_600_000;
/** How long a delivery waits when its endpoint's secret cannot be decrypted (a missing key). */
const UNREADABLE_SECRET_RETRY_MS = 60_000;

/** Everything the dispatcher needs, resolved by `createSender`. */
export interface DispatcherContext {
  storage: Storage;
  transport: Transport;
  now: () => number;
  retry: ResolvedRetryOptions;
  notifyAfter: readonly number[];
  disableAfter: number;
  emitter: SenderEventEmitter;
  onError: ErrorReporter;
  logger: Logger;
  metrics: SenderMetrics;
  secrets: SecretBox;
  concurrency: number;
  perEndpointConcurrency: number;
  timeoutMs: number;
  leaseMs: number;
  pollIntervalMs: number;
  batchSize: number;
  prefetch: number;
  stopTimeoutMs: number;
}

/** Builds the exact envelope bytes from stored parts; equal to core's `serializeEnvelope` output, without re-parsing `data`. */
export function envelopeBody(message: { id: string; type: string; createdAt: number; payload: string }): string {
  return `{"id":${JSON.stringify(message.id)},"type":${JSON.stringify(message.type)},"timestamp":${JSON.stringify(new Date(message.createdAt).toISOString())},"data":${message.payload}}`;
}

/** Envelope bodies kept for reuse (a message fanned out to several endpoints, or retried), and the longest kept. */
const BODY_CACHE_ENTRIES = 128;
const BODY_CACHE_MAX_LENGTH = 16_384;
/** Decrypted secrets kept (see Dispatcher.openSecret). */
const SECRET_CACHE_ENTRIES = 1000;

interface CachedBody {
  type: string;
  createdAt: number;
  payload: string;
  body: string;
}

/** An exponentially weighted moving average (weight 1/8 for the new sample). */
function average(previous: number | undefined, sample: number): number {
  return previous === undefined ? sample : previous + (sample - previous) / 8;
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * Claims due deliveries with a lease, in batches, into a small local queue, and attempts them:
 * signs (fresh timestamp per attempt) with the secrets the claim returned, POSTs through the
 * transport, and hands the result to a group commit ({@link FinishQueue}) that logs attempts,
 * schedules retries or gives up for many attempts per transaction. An attempt counts as done
 * (events, a free slot) only after its result committed. A poll timer plus `wake()` (after
 * `send`, or a NOTIFY from another process) drive it.
 */
export class Dispatcher {
  /** Lease owner id of this dispatcher. */
  readonly owner = createId('dispatcher');
  // Attempts in flight: the promise of each (it never rejects), by its claimed delivery.
  private readonly active = new Map<ClaimedDelivery, Promise<void>>();
  // Claimed deliveries waiting for a free slot (prefetched), oldest first.
  private readonly queued: ClaimedDelivery[] = [];
  private readonly finishes: FinishQueue;
  // Set by close() after stopTimeoutMs: a late attempt then leaves its lease alone.
  private abandoned = false;
  private readonly notifying = new Set<Promise<void>>();
  // Attempts and notifications finished so far: lets drain() notice one that ended during a claim.
  private finished = 0;
  // Wall-clock time of the next notification poll when nothing was recorded here: notifications
  // of other processes are found by polling, those recorded here right away.
  private nextNotificationPoll = 0;
  private noticesRecorded = false;
  // Decrypted secrets by endpoint, then stored value, so AES-GCM runs once per secret, not once per attempt.
  private readonly openedSecrets = new Map<string, Map<string, string>>();
  private openedSecretCount = 0;
  // Envelope bodies by message id (see body()).
  private readonly bodies = new Map<string, CachedBody>();
  // The smallest failure notice count: a success after it records `endpoint.recovered`.
  private readonly recoveredAfter: number | undefined;
  private running = false;
  private stopping = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  // A round asked for at once (wake(), a finished attempt): one Immediate, beside the timer.
  private immediate: ReturnType<typeof setImmediate> | undefined;
  private readonly tickNow = () => {
    this.immediate = undefined;
    void this.tick();
  };
  private ticking = false;
  private again = false;
  // The last claim (alone or with a write) returned fewer deliveries than it asked for; a full
  // one means more may be waiting.
  private lastClaimShort = false;
  // Deferred wake-ups (see wakeLater): wall-clock time by rate-limited endpoint, the latest asked.
  private readonly wakeAt = new Map<string, number>();
  // Deliveries asked for by claims still on their way (alone or with a finish write).
  private claiming = 0;
  // Releases of deliveries claimed after stop() began: stop() waits for them.
  private readonly releasing = new Set<Promise<unknown>>();
  // Moving averages (ms) of one claim round trip and of one attempt (request and commit): the
  // prefetch depth follows their ratio.
  private claimMs: number | undefined;
  private attemptMs: number | undefined;
  // 0..1: shrinks the prefetch depth while claims come back short (see claimOutcome).
  private prefetchScale = 1;

  constructor(private readonly context: DispatcherContext) {
    this.recoveredAfter = context.notifyAfter.length > 0 ? Math.min(...context.notifyAfter) : undefined;
    this.finishes = new FinishQueue(context.storage, { claimFor: (finishing) => this.claimWithFinish(finishing), claimed: (claim, claimed) => this.takeClaimed(claim, claimed) });
  }

  /** True between `start()` and `stop()`. */
  get isRunning(): boolean {
    return this.running;
  }

  /** Attempts in flight in this process. */
  get inFlight(): number {
    return this.active.size;
  }

  /** Deliveries claimed ahead, waiting for a free slot. */
  get prefetched(): number {
    return this.queued.length;
  }

  /** Starts polling. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.abandoned = false;
    this.schedule(0);
  }

  /** Asks for a claim round soon (new messages, an endpoint enabled, a retry requested). */
  wake(): void {
    if (this.running) this.schedule(0);
  }

  /**
   * Stops claiming, waits up to `stopTimeoutMs` for attempts in flight, and releases claims that
   * have not started sending (so another process picks them up at once).
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    // Prefetched deliveries never started: give them back so any process takes them at once.
    const unstarted = this.queued.splice(0);
    if (unstarted.length > 0) {
      await this.context.storage
        .releaseDeliveries(this.owner, { ids: unstarted.map((item) => item.delivery.id), now: this.context.now() })
        .catch((error: unknown) => this.context.onError(error, 'release'));
    }
    if (this.active.size > 0 || this.notifying.size > 0) {
      let timeout: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.active.values(), ...this.notifying]),
        new Promise<void>((resolve) => {
          timeout = setTimeout(resolve, this.context.stopTimeoutMs);
        }),
      ]);
      if (timeout) clearTimeout(timeout);
    }
    if (this.releasing.size > 0) await Promise.allSettled([...this.releasing]);
    // Claimed with the last results after the slots were counted: give them back too.
    const late = this.queued.splice(0);
    if (late.length > 0) {
      await this.context.storage.releaseDeliveries(this.owner, { ids: late.map((item) => item.delivery.id), now: this.context.now() }).catch((error: unknown) => this.context.onError(error, 'release'));
    }
  }

  /**
   * After a bounded `stop()` (closing): attempts still running write nothing when they end, so
   * their deliveries keep the lease and are retried once it expires, and a closed storage is
   * never written to. Returns how many attempts were abandoned.
   */
  abandon(): number {
    this.abandoned = true;
    return this.active.size;
  }

  /**
   * Dispatches until nothing is due on the injected clock and nothing is in flight (tests,
   * scripts). Works whether or not the dispatcher was started.
   */
  async drain(): Promise<void> {
    const wasStopping = this.stopping;
    this.stopping = false;
    try {
      for (;;) {
        const finishedBefore = this.finished;
        const claimed = await this.claimRound();
        const notified = await this.notifyRound(true);
        const busy = this.active.size + this.notifying.size;
        if (claimed === 0 && notified === 0 && busy === 0) {
          // An attempt that finished while the claim was on its way (a slower database) may have
          // made work due that the claim could not see yet: look once more before returning.
          if (this.finished === finishedBefore) return;
          continue;
        }
        if (busy > 0 && ((claimed === 0 && notified === 0) || this.active.size >= this.context.concurrency)) await Promise.race([...this.active.values(), ...this.notifying]);
      }
    } finally {
      this.stopping = wasStopping && !this.running;
    }
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (delayMs <= 0) {
      // A busy dispatcher asks for a round after every attempt: an Immediate costs less than a
      // timer, and a later timer (the poll, a rate-limit wake-up) stays as it is.
      if (this.immediate === undefined) {
        this.immediate = setImmediate(this.tickNow);
        // The poll alone must not keep a process alive, nor this.
        this.immediate.unref?.();
      }
      return;
    }
    const at = Date.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      void this.tick();
    }, delayMs);
    // The poll timer alone must not keep a process alive.
    this.timer.unref?.();
  }

  /**
   * Asks for a claim round after `delayMs`, when rate-limited `endpointId` may be claimed again.
   * Kept until a round starts after that time: a sooner wake-up does not lose it. Per endpoint the
   * LATEST time asked is kept, as storage keeps it: the claim asks for claim + 1000 / rate, the
   * attempt's result for start + 1000 / rate, later when the attempt started late (a loaded
   * machine). A round at the claim's time then finds nothing due, and the result's time must
   * still bring the dispatcher back (keeping only the earliest lost it, leaving the endpoint to
   * the poll).
   */
  private wakeLater(endpointId: string, delayMs: number): void {
    const at = Date.now() + delayMs;
    if (at > (this.wakeAt.get(endpointId) ?? Number.NEGATIVE_INFINITY)) this.wakeAt.set(endpointId, at);
    this.schedule(delayMs);
  }

  /** Forgets the deferred wake-ups a round that started at `startedAt` covered; returns the earliest one left. */
  private nextWake(startedAt: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const [endpointId, at] of this.wakeAt) {
      if (at <= startedAt) this.wakeAt.delete(endpointId);
      else if (at < next) next = at;
    }
    return next;
  }

  private async tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    const tickStarted = Date.now();
    try {
      do {
        this.again = false;
        if (!this.running) break;
        const claimed = await this.claimRound(true);
        const notified = await this.notifyRound();
        // A full batch means more may be waiting.
        if ((claimed > 0 && !this.lastClaimShort) || notified > 0) this.again = true;
      } while (this.again && this.running);
    } catch (error) {
      this.context.onError(error, 'poll');
    } finally {
      this.ticking = false;
    }
    // A deferred wake-up that this round did not cover is kept; the poll is the fallback.
    const wakeAt = this.nextWake(tickStarted);
    this.schedule(Math.min(this.context.pollIntervalMs, Math.max(0, wakeAt - Date.now())));
  }

  /**
   * One claim into the local queue, then starts attempts while slots are free. Returns how many
   * were claimed. With `prefetch` (the running dispatcher), claims up to `prefetch` deliveries
   * beyond the free slots, and only once a batch worth of room is free, so a busy dispatcher
   * claims many deliveries per storage round trip and never waits for a claim between attempts.
   */
  private async claimRound(prefetch = false): Promise<number> {
    const { concurrency, batchSize } = this.context;
    const ahead = prefetch ? this.prefetchTarget() : 0;
    const held = this.active.size + this.queued.length + this.claiming;
    const room = concurrency + ahead - held;
    if (room <= 0) return 0;
    if (prefetch && held > 0 && room < Math.min(batchSize, Math.ceil((concurrency + ahead) / 4))) return 0;
    const limit = Math.min(batchSize, room);
    const claimStarted = performance.now();
    this.claiming += limit;
    let claimed: ClaimedDelivery[];
    try {
      claimed = await this.context.storage.claimDeliveries({
        owner: this.owner,
        now: this.context.now(),
        leaseMs: this.context.leaseMs,
        limit,
        perEndpointConcurrency: this.context.perEndpointConcurrency,
      });
    } finally {
      this.claiming -= limit;
    }
    if (this.stopping && claimed.length > 0) {
      // stop() ran while the claim was on its way: give these back at once.
      await this.context.storage.releaseDeliveries(this.owner, { ids: claimed.map((item) => item.delivery.id), now: this.context.now() });
      return 0;
    }
    for (const item of claimed) {
      this.queued.push(item);
      // Storage spaces the claims of a rate-limited endpoint (across processes): come back for
      // its next delivery when the next one is allowed.
      const { rateLimit } = item.endpoint;
      if (rateLimit !== null && rateLimit > 0) this.wakeLater(item.endpoint.id, Math.ceil(1000 / rateLimit));
    }
    this.startQueued();
    this.claimOutcome(limit, claimed.length);
    if (claimed.length > 0) this.claimMs = average(this.claimMs, performance.now() - claimStarted);
    return claimed.length;
  }

  /**
   * How many deliveries to hold ahead of the free slots: enough to cover one claim round trip at
   * the current pace (claim time / attempt time × concurrency), at most `prefetch`. Deliveries
   * held ahead keep a lease (they count against per-endpoint limits everywhere), so a slow
   * receiver, whose attempts outlast a claim many times, gets almost no prefetch.
   */
  private prefetchTarget(): number {
    const { prefetch, concurrency } = this.context;
    if (prefetch === 0) return 0;
    const pace = this.claimMs === undefined || this.attemptMs === undefined ? prefetch : Math.ceil((concurrency * this.claimMs) / Math.max(1, this.attemptMs));
    return Math.min(prefetch, Math.ceil(pace * this.prefetchScale));
  }

  /**
   * Claims that come back short while work is due mean limits bind (per-endpoint concurrency
   * counts the leases of every process, prefetched ones too): halve the prefetch depth; full
   * claims grow it back.
   */
  private claimOutcome(asked: number, got: number): void {
    this.lastClaimShort = got < asked;
    if (got >= asked) this.prefetchScale = Math.min(1, this.prefetchScale + 0.125);
    else this.prefetchScale /= 2;
  }

  /**
   * The claim to send with a write of `finishing` attempt results (their slots free up when it
   * commits): only while running, and only when a batch worth of room will be free. With a
   * storage whose connections write side by side (PostgreSQL), only after a claim came back
   * short. While claims come back full (one process with plenty of due work) the run loop claims
   * on another connection beside the writes: a claim inside the write would hold back the slots
   * it frees by as long as the claim takes (measured: results written with the claim 6.6–7.5 ms
   * per call, alone 4.2 ms). Claims that come back short mean other processes share the work or
   * limits bind: claims apart then mostly cost CPU and contend for the same endpoints (measured,
   * 4 processes at concurrency 16, instant receivers: 1,203 deliveries/s always apart, 1,404
   * this way, 5 interleaved runs each), so the claim rides with the write again.
   */
  private claimWithFinish(finishing: number): ClaimInput | undefined {
    if (!this.running || this.stopping) return undefined;
    if (this.context.storage.parallelWrites === true && !this.lastClaimShort) return undefined;
    const { concurrency, batchSize } = this.context;
    const ahead = this.prefetchTarget();
    const room = concurrency + ahead - (this.active.size - finishing) - this.queued.length - this.claiming;
    if (room < Math.min(batchSize, Math.ceil((concurrency + ahead) / 4))) return undefined;
    const limit = Math.min(batchSize, room);
    this.claiming += limit;
    return { owner: this.owner, now: this.context.now(), leaseMs: this.context.leaseMs, limit, perEndpointConcurrency: this.context.perEndpointConcurrency };
  }

  /** What a claim sent with a finish write returned (undefined: it failed, and nothing was claimed). */
  private takeClaimed(claim: ClaimInput, claimed: ClaimedDelivery[] | undefined): void {
    this.claiming -= claim.limit;
    if (claimed) this.claimOutcome(claim.limit, claimed.length);
    if (!claimed || claimed.length === 0) return;
    if (this.stopping || !this.running) {
      // stop() began meanwhile: give them back at once.
      const release: Promise<unknown> = this.context.storage
        .releaseDeliveries(this.owner, { ids: claimed.map((item) => item.delivery.id), now: this.context.now() })
        .catch((error: unknown) => this.context.onError(error, 'release'))
        .finally(() => this.releasing.delete(release));
      this.releasing.add(release);
      return;
    }
    for (const item of claimed) {
      this.queued.push(item);
      const { rateLimit } = item.endpoint;
      if (rateLimit !== null && rateLimit > 0) this.wakeLater(item.endpoint.id, Math.ceil(1000 / rateLimit));
    }
    // The attempts of this write end right after this; their slots then start these. A full
    // claim means more may be waiting.
    if (claimed.length === claim.limit) this.wake();
  }

  /** Starts queued deliveries while slots are free. */
  private startQueued(): void {
    while (this.active.size < this.context.concurrency && this.queued.length > 0) {
      const item = this.queued.shift() as ClaimedDelivery;
      // run() cannot end before this line: it awaits at least once (attempt is async).
      this.active.set(item, this.run(item));
    }
  }

  /** One attempt in a slot: errors go to onError; the slot then starts the next queued delivery. */
  private async run(item: ClaimedDelivery): Promise<void> {
    const attemptStarted = performance.now();
    try {
      await this.attempt(item);
      this.attemptMs = average(this.attemptMs, performance.now() - attemptStarted);
    } catch (error) {
      this.context.onError(error, 'attempt');
    } finally {
      this.active.delete(item);
      this.finished++;
      if (!this.stopping) this.startQueued();
      this.wake();
    }
  }

  private async release(item: ClaimedDelivery, nextAttemptAt?: number): Promise<void> {
    await this.context.storage.releaseDeliveries(this.owner, { ids: [item.delivery.id], nextAttemptAt, now: this.context.now() });
  }

  private async attempt(item: ClaimedDelivery): Promise<void> {
    const { context } = this;
    const { delivery, message, endpoint } = item;
    if (this.stopping) return this.release(item);
    const claimedAt = context.now();
    const signing: string[] = [];
    try {
      // The claim returned the secrets: no read per attempt. Decrypted once per stored value.
      for (const secret of item.secrets) {
        if (secret.expiresAt === null || secret.expiresAt > claimedAt) signing.push(this.openSecret(endpoint.id, secret.secret));
      }
    } catch (error) {
      // A key missing from `encryption.keys`: nothing can be signed; the delivery waits, loudly.
      context.logger.error('An endpoint secret cannot be decrypted; its deliveries wait until the key is configured.', {
        endpointId: endpoint.id,
        code: SenderError.isInstance(error) ? error.code : 'storage_error',
        reason: error instanceof Error ? error.message : String(error),
      });
      return this.release(item, claimedAt + UNREADABLE_SECRET_RETRY_MS);
    }
    // The endpoint was deleted meanwhile (its deliveries go with it): nothing to send.
    if (signing.length === 0) return this.release(item);
    const number = delivery.attempts + 1;
    const body = this.body(message);
    // One secret (the usual case) as a string: core signs it without the list machinery.
    const signed = await signHeaders({
      id: message.id,
      timestamp: Math.floor(claimedAt / 1000),
      payload: body,
      secrets: signing.length === 1 ? (signing[0] as string) : signing,
      profile: endpoint.profile,
      attempt: number,
      eventType: message.type,
    });
    // With tracing on, the attempt's own span (a child of the send's stored context) names the
    // request in `traceparent`; without, the stored context is sent as it is.
    const traced: AttemptSpan | undefined = tracing() ? startAttemptSpan(item, number) : undefined;
    // Custom headers first, so they can never replace the trace, signature or content headers.
    const headers: Record<string, string> = Object.assign({ ...endpoint.headers }, traced ? traced.headers : traceHeaders(message.traceContext), signed);
    const request = { url: endpoint.url, headers, body, timeoutMs: context.timeoutMs };
    const startedAt = context.now();
    let response: DeliveryResponse | undefined;
    let errorCode: string | null = null;
    let durationMs: number;
    try {
      // In the attempt span's context, so an HTTP instrumentation's own span nests under it.
      response = await (traced ? traced.span.run(() => context.transport.send(request)) : context.transport.send(request));
      durationMs = response.durationMs;
    } catch (error) {
      if (DeliveryNetworkError.isInstance(error)) {
        errorCode = error.code;
        durationMs = error.durationMs;
      } else {
        errorCode = 'network';
        durationMs = Math.max(0, context.now() - startedAt);
        context.onError(error, 'transport');
      }
    }
    // Closing gave up on this attempt: leave the lease (the delivery is retried once it expires)
    // and the storage (it may be closed) alone.
    if (this.abandoned) {
      if (traced) endAttemptSpan(traced.span, { outcome: 'abandoned', statusCode: response?.status, errorCode });
      return;
    }
    const finishedAt = context.now();
    const success = response !== undefined && isSuccess(response.status);
    if (response && !success) errorCode = `http_${response.status}`;

    let next: { status: 'succeeded' | 'failed' | 'pending'; nextAttemptAt: number | null } = { status: 'succeeded', nextAttemptAt: null };
    let retryAfterMs: number | undefined;
    if (!success) {
      if (response && (response.status === 429 || response.status === 503)) retryAfterMs = parseRetryAfter(response.headers['retry-after'], finishedAt);
      next = decideRetry({ cycleAttempts: number - delivery.retryBaseAttempts, cycleStartedAt: delivery.retryBaseAt, now: finishedAt, retryAfterMs }, context.retry);
    }
    const outcome: AttemptOutcome = success ? 'succeeded' : next.status === 'failed' ? 'given_up' : 'failed';
    // The span covers the request and its outcome, not the batched write of the result.
    if (traced) endAttemptSpan(traced.span, { outcome, statusCode: response?.status, errorCode });
    const attempt: StoredAttempt = {
      id: createId('att', finishedAt),
      deliveryId: delivery.id,
      messageId: message.id,
      endpointId: endpoint.id,
      number,
      startedAt,
      durationMs,
      statusCode: response?.status ?? null,
      responseHeaders: response?.headers ?? {},
      responseBody: response?.body ?? null,
      errorCode: success ? null : errorCode,
      success,
    };
    // Group commit: resolves once the batch holding this result committed.
    const result = await this.finishes.finish({
      deliveryId: delivery.id,
      owner: this.owner,
      attempt,
      next,
      endpoint: {
        success,
        disableAfter: context.disableAfter,
        // 410 Gone: the receiver says the endpoint no longer exists (Standard Webhooks advice).
        disableReason: response?.status === 410 ? 'gone' : undefined,
        pauseUntil: retryAfterMs !== undefined && retryAfterMs > 0 ? finishedAt + retryAfterMs : undefined,
        // Owner notifications are recorded by storage in the attempt's own transaction.
        notifyAfter: context.notifyAfter,
        recoveredAfter: this.recoveredAfter,
      },
      now: finishedAt,
    });
    // Counted once stored: an attempt whose result is lost is made again, and counted then.
    context.metrics.recordAttempt(outcome, durationMs);
    if (result.disabled && result.endpoint) {
      context.logger.warn('Endpoint disabled: its deliveries wait until it is enabled again.', {
        endpointId: result.endpoint.id,
        tenant: result.endpoint.tenant,
        reason: result.endpoint.disabledReason,
        consecutiveFailures: result.endpoint.consecutiveFailures,
      });
    }
    this.emit(result, attempt, success, next.status);
    // A rate-limited endpoint's next delivery may be claimed 1000 / rate ms after this one
    // started: come back for it then (plus a millisecond, so the storage agrees).
    if (endpoint.rateLimit !== null && endpoint.rateLimit > 0 && this.running) {
      this.wakeLater(endpoint.id, Math.max(0, startedAt + Math.ceil(1000 / endpoint.rateLimit) - context.now()) + 1);
    }
  }

  /** Decrypts a stored secret (cached per endpoint, as the endpoint id is part of the decryption; the cache is bounded). */
  private openSecret(endpointId: string, stored: string): string {
    let opened = this.openedSecrets.get(endpointId);
    const cached = opened?.get(stored);
    if (cached !== undefined) return cached;
    const secret = this.context.secrets.open(endpointId, stored);
    if (this.openedSecretCount >= SECRET_CACHE_ENTRIES) {
      this.openedSecrets.clear();
      this.openedSecretCount = 0;
      opened = undefined;
    }
    if (!opened) {
      opened = new Map();
      this.openedSecrets.set(endpointId, opened);
    }
    opened.set(stored, secret);
    this.openedSecretCount++;
    return secret;
  }

  /**
   * The envelope bytes of a message: built once and reused by its other deliveries (fan-out) and
   * retries while it is among the last few messages attempted here (bounded by count and size).
   * A cached body is used only when the stored parts it was built from are equal.
   */
  private body(message: ClaimedDelivery['message']): string {
    const cached = this.bodies.get(message.id);
    if (cached !== undefined && cached.payload === message.payload && cached.type === message.type && cached.createdAt === message.createdAt) return cached.body;
    const body = envelopeBody(message);
    if (body.length <= BODY_CACHE_MAX_LENGTH) {
      if (cached !== undefined) this.bodies.delete(message.id);
      else if (this.bodies.size >= BODY_CACHE_ENTRIES) this.bodies.delete(this.bodies.keys().next().value as string);
      this.bodies.set(message.id, { type: message.type, createdAt: message.createdAt, payload: message.payload, body });
    }
    return body;
  }

  /**
   * In-process events of an attempt; the public views are built only when someone listens.
   * Owner notifications are NOT emitted here: they come from storage (see notifyRound).
   */
  private emit(result: FinishAttemptResult, stored: StoredAttempt, success: boolean, status: 'succeeded' | 'failed' | 'pending'): void {
    const { emitter } = this.context;
    let attempt: Attempt | undefined;
    let delivery: Delivery | undefined;
    if (emitter.has('attempt.finished')) {
      attempt = toAttempt(stored);
      delivery = result.delivery ? toDelivery(result.delivery) : undefined;
      emitter.emit('attempt.finished', { attempt, delivery });
    }
    if (!result.applied || !result.delivery) return;
    const name = success ? 'delivery.succeeded' : status === 'failed' ? 'delivery.failed' : undefined;
    if (name !== undefined && emitter.has(name)) {
      attempt ??= toAttempt(stored);
      delivery ??= toDelivery(result.delivery);
      emitter.emit(name, { delivery, attempt });
    }
    // Recorded notifications are due now: hand them over soon.
    if (result.notifications.length > 0) {
      this.noticesRecorded = true;
      this.wake();
    }
  }

  /**
   * Claims due owner notifications of the types this process listens to and hands each to its
   * listeners; a notification is settled as delivered only after every listener resolved.
   * Returns how many were claimed.
   */
  private async notifyRound(force = false): Promise<number> {
    const { emitter } = this.context;
    const types = NOTIFICATION_TYPES.filter((type) => emitter.has(type));
    // Without a listener here, leave them to a process that has one.
    if (types.length === 0 || this.notifying.size >= NOTIFICATION_CONCURRENCY) return 0;
    // A busy dispatcher ticks after every attempt: look for notifications only when one was
    // recorded here, or once per poll interval (for the other processes' ones).
    if (!force && !this.noticesRecorded && Date.now() < this.nextNotificationPoll) return 0;
    this.noticesRecorded = false;
    this.nextNotificationPoll = Date.now() + this.context.pollIntervalMs;
    const limit = NOTIFICATION_CONCURRENCY - this.notifying.size;
    const claimed = await this.context.storage.claimNotifications({ owner: this.owner, now: this.context.now(), leaseMs: this.context.leaseMs, limit, types });
    // A full round means more may be due: look again on the next tick.
    if (claimed.length === limit) this.nextNotificationPoll = 0;
    for (const notification of claimed) {
      const run: Promise<void> = this.notify(notification)
        .catch((error: unknown) => this.context.onError(error, 'notification'))
        .finally(() => {
          this.notifying.delete(run);
          this.finished++;
        });
      this.notifying.add(run);
    }
    return claimed.length;
  }

  private async notify(notification: StoredNotification): Promise<void> {
    const { emitter, storage } = this.context;
    const base = {
      notificationId: notification.id,
      createdAt: new Date(notification.createdAt),
      deliveryAttempt: notification.attempts,
      endpoint: toEndpoint(notification.endpoint),
    };
    try {
      if (notification.type === 'endpoint.failing') {
        await emitter.emitAndWait('endpoint.failing', { ...base, consecutiveFailures: notification.failures } satisfies SenderEvents['endpoint.failing']);
      } else if (notification.type === 'endpoint.disabled') {
        await emitter.emitAndWait('endpoint.disabled', { ...base, reason: notification.reason ?? 'consecutive_failures' } satisfies SenderEvents['endpoint.disabled']);
      } else {
        await emitter.emitAndWait('endpoint.recovered', { ...base, previousFailures: notification.failures } satisfies SenderEvents['endpoint.recovered']);
      }
    } catch (error) {
      // The listener failed: hand it over again later (at least once), with a growing wait.
      const wait = Math.min(NOTIFICATION_RETRY_MAX_MS, NOTIFICATION_RETRY_MS * 2 ** Math.min(20, Math.max(0, notification.attempts - 1)));
      const now = this.context.now();
      await storage.settleNotification({ id: notification.id, owner: this.owner, now, delivered: false, retryAt: now + wait, error: error instanceof Error ? error.message : String(error) });
      this.context.onError(error, 'notification');
      return;
    }
    await storage.settleNotification({ id: notification.id, owner: this.owner, now: this.context.now(), delivered: true });
  }
}
