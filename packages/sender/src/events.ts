import type { Attempt, Delivery, Endpoint } from './types';

/**
 * What every owner notification (`endpoint.failing`, `endpoint.disabled`, `endpoint.recovered`)
 * carries. These are recorded in the same transaction as the attempt that caused them and handed
 * to listeners AT LEAST ONCE, by whichever dispatcher process sharing the storage has a listener,
 * also after a crash or a restart: dedupe on `notificationId`. A listener that throws or rejects
 * gets the notification again later; the hand-over counts as done once every listener of the
 * event resolved.
 */
export interface OwnerNotice {
  /** Stable id of this notification (`ntf_…`), the same on every redelivery: dedupe on it. */
  notificationId: string;
  /** When the notification was recorded (the attempt's time). */
  createdAt: Date;
  /** How many times it has been handed to a host, this time included (1 normally). */
  deliveryAttempt: number;
}

/** Events the sender emits for the host app (notifications, metrics, audit). */
export interface SenderEvents {
  /** Every HTTP attempt, successful or not, once it is logged. */
  'attempt.finished': {
    /** The logged attempt. */
    attempt: Attempt;
    /** The delivery after the attempt was recorded; undefined if it was deleted meanwhile. */
    delivery: Delivery | undefined;
  };
  /** A delivery got a 2xx answer. */
  'delivery.succeeded': {
    /** The delivery, now `succeeded`. */
    delivery: Delivery;
    /** The attempt that got the 2xx answer. */
    attempt: Attempt;
  };
  /** A delivery was given up after its last allowed attempt (it stays in the log and can be retried by hand). */
  'delivery.failed': {
    /** The delivery, now `failed`. */
    delivery: Delivery;
    /** Its last attempt. */
    attempt: Attempt;
  };
  /**
   * An endpoint reached one of the notice counts of consecutive failures (default 5, 10, 15): tell
   * its owner. Durable: recorded with the attempt, handed over at least once (see {@link OwnerNotice}).
   */
  'endpoint.failing': OwnerNotice & {
    /** The failing endpoint. */
    endpoint: Endpoint;
    /** Failed attempts in a row so far (equal to one of the notice counts). */
    consecutiveFailures: number;
  };
  /** An endpoint was disabled automatically: `consecutive_failures` or `gone` (HTTP 410). Durable, like `endpoint.failing`. */
  'endpoint.disabled': OwnerNotice & {
    /** The endpoint, now disabled. */
    endpoint: Endpoint;
    /** Why: `consecutive_failures` or `gone`. */
    reason: string;
  };
  /** An endpoint that had reached a failure notice answered 2xx again. Durable, like `endpoint.failing`. */
  'endpoint.recovered': OwnerNotice & {
    /** The endpoint that answered 2xx again. */
    endpoint: Endpoint;
    /** Failed attempts in a row before this success. */
    previousFailures: number;
  };
}

/** Name of a sender event. */
export type SenderEventName = keyof SenderEvents;

/** A listener of one sender event. A throwing or rejecting listener never disturbs delivery. */
export type SenderEventListener<TName extends SenderEventName> = (event: SenderEvents[TName]) => void | Promise<void>;

/** A small typed emitter; listener errors go to `onError` instead of the dispatcher. */
export class SenderEventEmitter {
  private readonly listeners = new Map<SenderEventName, Set<SenderEventListener<SenderEventName>>>();

  constructor(private readonly onError: (error: unknown) => void) {}

  /** Adds a listener; returns a function that removes it. */
  on<TName extends SenderEventName>(name: TName, listener: SenderEventListener<TName>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    const stored = listener as SenderEventListener<SenderEventName>;
    set.add(stored);
    return () => {
      set.delete(stored);
    };
  }

  /** True when someone listens, so the dispatcher can skip building payloads nobody reads. */
  has(name: SenderEventName): boolean {
    return (this.listeners.get(name)?.size ?? 0) > 0;
  }

  /** Calls every listener of `name` and resolves when all settled; rejects with the first failure (after every listener ran). */
  async emitAndWait<TName extends SenderEventName>(name: TName, event: SenderEvents[TName]): Promise<void> {
    const set = this.listeners.get(name);
    if (!set) return;
    const results = await Promise.allSettled([...set].map(async (listener) => (listener as SenderEventListener<TName>)(event)));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Calls every listener of `name`. */
  emit<TName extends SenderEventName>(name: TName, event: SenderEvents[TName]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        const result = (listener as SenderEventListener<TName>)(event);
        if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(undefined, this.onError);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
