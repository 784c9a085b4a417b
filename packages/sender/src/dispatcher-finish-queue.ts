import type { ClaimedDelivery, ClaimInput, FinishAttemptInput, FinishAttemptResult, Storage } from './storage/types';

/** Attempt results written per storage call at most. */
const MAX_BATCH = 256;
/** Results waiting that justify a second write while one is on its way, or a write without waiting for more. */
const SECOND_WRITE_AFTER = 16;
/** How long a small batch waits for more results before it is written (milliseconds). */
const GATHER_MS = 2;

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
 * flight at a time, or two when enough results queue up behind it: the slower the database, the
 * larger the batches. A write may carry the
 * dispatcher's next claim (`finishAttemptsAndClaim`): one round trip and one commit for both.
 */
export class FinishQueue {
  private waiting: Waiting[] = [];
  private writing = 0;
  private scheduled = false;

  constructor(
    private readonly storage: Storage,
    private readonly claims: {
      /** The claim to make with a write of `finishing` results (their slots free up on commit); undefined: none. */
      claimFor(finishing: number): ClaimInput | undefined;
      /** Receives what that claim returned (before the results' promises settle); with `undefined`, the claim failed. */
      claimed(claim: ClaimInput, claimed: ClaimedDelivery[] | undefined): void;
    } = { claimFor: () => undefined, claimed: () => {} },
  ) {}

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
    if (this.scheduled || !this.mayWrite()) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      void this.write();
    };
    // A few results: wait a moment for more (results of slow receivers trickle in one by one,
    // and every write has a fixed cost); enough of them: the rest of this turn's join at once.
    if (this.waiting.length < SECOND_WRITE_AFTER) setTimeout(run, GATHER_MS);
    else setImmediate(run);
  }

  /**
   * A write may start: none is on its way, or one is and enough results wait to make a second
   * one worth its commit (pipelined commits: a result then waits for less than a whole write).
   */
  private mayWrite(): boolean {
    return this.waiting.length > 0 && (this.writing === 0 || (this.writing === 1 && this.waiting.length >= SECOND_WRITE_AFTER));
  }

  private async write(): Promise<void> {
    if (!this.mayWrite()) return;
    this.writing++;
    const batch = this.waiting.splice(0, MAX_BATCH);
    try {
      await this.settle(batch);
    } finally {
      this.writing--;
      if (this.waiting.length > 0) this.schedule();
    }
  }

  private async settle(batch: Waiting[], withClaim = true): Promise<void> {
    let results: FinishAttemptResult[];
    const claim = withClaim ? this.claims.claimFor(batch.length) : undefined;
    try {
      if (claim) {
        // The next work comes back with the commit that frees these slots.
        const both = await this.storage.finishAttemptsAndClaim(
          batch.map((item) => item.input),
          claim,
        );
        this.claims.claimed(claim, both.claimed);
        results = both.results;
      } else {
        results = await this.storage.finishAttempts(batch.map((item) => item.input));
      }
    } catch (error) {
      if (claim) this.claims.claimed(claim, undefined);
      if (batch.length === 1 && !claim) {
        batch[0]?.reject(error);
        return;
      }
      // The batch is all or nothing: write each alone, so one bad result fails only itself.
      for (const item of batch) await this.settle([item], false);
      return;
    }
    batch.forEach((item, index) => {
      const result = results[index];
      if (result) item.resolve(result);
      else item.reject(new Error('storage.finishAttempts returned fewer results than attempts'));
    });
  }
}
