// Settings and helpers shared by the benchmark processes. Each contender runs in its own child
// process (clean peak RSS), the receiver in another (it never shares an event loop with a sender).
import type { Sender } from '../src/index';

/** Benchmark size and shape, from the environment so `run.ts` can pass them to children. */
export const settings = {
  port: Number(process.env.BENCH_PORT ?? 0),
  messages: Number(process.env.BENCH_MESSAGES ?? 2000),
  endpoints: Number(process.env.BENCH_ENDPOINTS ?? 10),
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50),
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
};

/** Resolves once `total` deliveries of `sender` have succeeded (listen before `start()`). */
export function allSucceeded(sender: Pick<Sender, 'on'>, total: number): Promise<void> {
  return new Promise((resolve) => {
    let succeeded = 0;
    sender.on('delivery.succeeded', () => {
      succeeded += 1;
      if (succeeded === total) resolve();
    });
  });
}

/** What a contender reports. */
export interface ContenderResult {
  name: string;
  deliveries: number;
  seconds: number;
  /** Peak resident set size of the contender's process, in MiB. */
  peakRssMiB: number;
  /** Extra numbers (latency percentiles…). */
  extra?: Record<string, number>;
}

/** Prints the result line `run.ts` reads. */
export function report(result: ContenderResult): void {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/** Peak RSS of this process so far, in MiB (getrusage maxrss). */
export function peakRssMiB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/** A seed event payload (`registrant.created`) with a varying registrant. */
export function examplePayload(index: number) {
  return {
    registrant: { id: `reg_${index}`, email: `person${index}@example.com`, firstName: 'Ada', lastName: 'Lovelace' },
    eventId: 'evt_01',
    sessionId: 'ses_01',
    registeredAt: '2026-11-23T10:00:00.000Z',
    utmSource: null as string | null,
  };
}

/** The endpoint URL of endpoint `index` on the loopback receiver. */
export function endpointUrl(index: number): string {
  return `http://127.0.0.1:${settings.port}/ep/${index}`;
}

/** Messages whose enqueue is in flight at once in every "live" contender: an app sending from concurrent request handlers. */
export const SENDS_IN_FLIGHT = 10;

/** Runs `enqueue(index)` for every message, `SENDS_IN_FLIGHT` at a time, as each contender's producer. */
export async function produce(enqueue: (index: number) => Promise<unknown>): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  for (let index = 0; index < settings.messages; index += 1) {
    const sent: Promise<unknown> = enqueue(index).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    if (inFlight.size >= SENDS_IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}
