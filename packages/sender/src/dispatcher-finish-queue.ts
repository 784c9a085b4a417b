import type { FinishAttemptInput, FinishAttemptResult, Storage } from './storage/types';

/** Attempt results written per storage call at most. */
const MAX_BATCH = 256;

interface Waiting {
  input: FinishAttemptInput;
  resolve: (result: FinishAttemptResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of attempt results: results that arrive while a write is on its way (or in the
 * same turn of the event loop) are written together by ONE `storage.finishAttempts` call, so one
 * transaction and one commit serve many attempts. Each promise settles only after the commit
 * that holds its result, so an attempt is acknowledged only once it is durable. One write is in
 * flight at a time: the slower the database, the larger the batches.
 */
export class FinishQueue {
  private waiting: Waiting[] = [];
  private writing = false;
  private scheduled = false;

  constructor(private readonly storage: Storage) {}

  /** Results not yet committed (queued or being written). */
  get size(): number {
    return this.waiting.length;
  }

  /** Queues one result; resolves after the batch holding it committed. */
  finish(input: FinishAttemptInput): Promise<FinishAttemptResult> {
    return new Promise<FinishAttemptResult>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.writing || this.scheduled) return;
    this.scheduled = true;
    // The rest of this turn's results join the batch.
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
    let results: FinishAttemptResult[];
    try {
      results = await this.storage.finishAttempts(batch.map((item) => item.input));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      // The batch is all or nothing: write each alone, so one bad result fails only itself.
      for (const item of batch) await this.settle([item]);
      return;
    }
    batch.forEach((item, index) => {
      const result = results[index];
      if (result) item.resolve(result);
      else item.reject(new Error('storage.finishAttempts returned fewer results than attempts'));
    });
  }
}
