/**
 * Per-endpoint request pacing for one dispatcher: a token bucket holding one token, refilled
 * every `1000 / rate` ms (GCRA). Two requests to an endpoint never start closer than that, on
 * the injected clock, so a limit of 5/s is at most 5 requests in any second.
 */
export class EndpointRateLimiter {
  // Earliest time the next request to each endpoint may start.
  private readonly nextAllowed = new Map<string, number>();
  // Last time handed out as a hint, so waiting deliveries come back one interval apart instead of all at once.
  private readonly hintTail = new Map<string, number>();

  /**
   * Takes the token when available and returns `now`; otherwise returns the time to come back
   * (a hint: that delivery is checked again then).
   */
  take(endpointId: string, rate: number, now: number): number {
    const interval = 1000 / rate;
    const allowedAt = this.nextAllowed.get(endpointId) ?? Number.NEGATIVE_INFINITY;
    if (allowedAt <= now) {
      this.nextAllowed.set(endpointId, now + interval);
      return now;
    }
    const tail = this.hintTail.get(endpointId);
    const hint = tail !== undefined && tail >= allowedAt ? tail + interval : allowedAt;
    this.hintTail.set(endpointId, hint);
    return Math.ceil(hint);
  }

  /** Forgets state of endpoints not seen for a while, so memory stays bounded. */
  prune(now: number): void {
    for (const [id, at] of this.nextAllowed) {
      if (at < now - 60_000) {
        this.nextAllowed.delete(id);
        this.hintTail.delete(id);
      }
    }
  }
}
