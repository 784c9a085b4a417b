import type { EnqueueInput, EnqueueResult, Storage } from './storage/types';

/** Messages written per storage call at most. */
const MAX_BATCH = 500;

interface Waiting {
  input: EnqueueInput;
  resolve: (result: EnqueueResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of `send()`: messages sent while a write is on its way (or in the same turn of the
 * event loop) are stored together by ONE `storage.enqueueMessages` call, so concurrent sends
 * share one transaction and one fsync. Each promise settles only after the commit that holds
 * its message: `send()` still returns only once its message is durable. A failed batch is
 * written again one message at a time, so one bad message fails only its own `send()`.
 */
export class SendQueue {
  private waiting: Waiting[] = [];
  private writing = false;
  private scheduled = false;

  constructor(private readonly storage: Storage) {}

  /** Queues one message; resolves after the batch holding it committed. */
  enqueue(input: EnqueueInput): Promise<EnqueueResult> {
    return new Promise<EnqueueResult>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.writing || this.scheduled) return;
    this.scheduled = true;
    // Sends issued in this turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.write();
    });
  }

  private async write(): Promise<void> {
    if (this.writing || this.waiting.length === 0) return;
    this.writing = true;
    const batch = this.waiting.splice(0, MAX_BATCH);
    try {
      await this.settle(batch);
    } finally {
      this.writing = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }

  private async settle(batch: Waiting[]): Promise<void> {
    let results: EnqueueResult[];
    try {
      results = batch.length === 1 ? [await this.storage.enqueueMessage((batch[0] as Waiting).input)] : await this.storage.enqueueMessages(batch.map((item) => item.input));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      for (const item of batch) await this.settle([item]);
      return;
    }
    batch.forEach((item, index) => {
      const result = results[index];
      if (result) item.resolve(result);
      else item.reject(new Error('storage.enqueueMessages returned fewer results than messages'));
    });
  }
}
