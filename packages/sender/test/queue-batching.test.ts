import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../src/storage/memory';
import { createSqliteStorage } from '../src/storage/sqlite';
import type { ClaimInput, EnqueueInput, FinishAttemptInput, Storage } from '../src/storage/types';
import { createClock, makeSender, type ReceiverAnswer, registrantData, startReceiver, type TestReceiver } from './support';

// The batched queue seen from the outside: group commit of sends and attempt results, sendMany,
// trace context headers, prefetch release and bounded close().

async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  // A bound on waiting, not a speed assertion: fails only if the thing never happens.
  for (let index = 0; index < 1000; index++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** Wraps a storage and records the batch size of every enqueue and finish call. */
function counting(inner: Storage) {
  const calls = { enqueue: [] as number[], finish: [] as number[] };
  const storage: Storage = {
    ...inner,
    async enqueueMessage(input: EnqueueInput) {
      calls.enqueue.push(1);
      return inner.enqueueMessage(input);
    },
    async enqueueMessages(inputs: readonly EnqueueInput[]) {
      calls.enqueue.push(inputs.length);
      return inner.enqueueMessages(inputs);
    },
    async finishAttempt(input: FinishAttemptInput) {
      calls.finish.push(1);
      return inner.finishAttempt(input);
    },
    async finishAttempts(inputs: readonly FinishAttemptInput[]) {
      calls.finish.push(inputs.length);
      return inner.finishAttempts(inputs);
    },
  };
  return { storage, calls };
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('batched queue', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function receiver(answer?: (request: TestReceiver['requests'][number], index: number) => ReceiverAnswer | Promise<ReceiverAnswer>, clock?: () => number) {
    const started = await startReceiver(answer, clock);
    cleanups.push(() => started.close());
    return started;
  }

  function sender(options: Parameters<typeof makeSender>[0] = {}) {
    const created = makeSender(options);
    cleanups.push(() => created.close());
    return created;
  }

  it('stores concurrent send() calls with one storage write (group commit), each resolving with its own message', async () => {
    const { storage, calls } = counting(createSqliteStorage({ filename: ':memory:' }));
    cleanups.push(() => storage.close());
    const hooksSender = sender({ storage });
    await hooksSender.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hooks' });
    await hooksSender.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/other' });
    const results = await Promise.all(Array.from({ length: 20 }, (_, index) => hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index), idempotencyKey: `k${index % 10}` })));
    expect(calls.enqueue).toEqual([20]);
    expect(new Set(results.map((result) => result.messageId)).size).toBe(10);
    expect(results.slice(0, 10).every((result) => !result.duplicate && result.deliveryCount === 2)).toBe(true);
    expect(results.slice(10).map((result) => result.duplicate)).toEqual(Array.from({ length: 10 }, () => true));
    expect(results.slice(10).map((result) => result.messageId)).toEqual(results.slice(0, 10).map((result) => result.messageId));
    expect((await hooksSender.deliveries.list({ limit: 100 })).items).toHaveLength(20);
  });

  it('fails only the bad send of a group: the batch is written again one by one', async () => {
    const inner = createMemoryStorage();
    const { storage, calls } = counting(inner);
    const hooksSender = sender({ storage });
    await hooksSender.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hooks' });
    // A storage that refuses one message inside a batch (e.g. a conflict on its id).
    const failing: Storage = {
      ...storage,
      async enqueueMessages(inputs) {
        calls.enqueue.push(inputs.length);
        if (inputs.length > 1) throw new Error('one message of the batch is refused');
        return inner.enqueueMessages(inputs);
      },
      async enqueueMessage(input) {
        calls.enqueue.push(1);
        if (input.message.tenant === 'acme' && JSON.parse(input.message.payload).registrant.id === 'reg_3') throw new Error('refused');
        return inner.enqueueMessage(input);
      },
    };
    const grouped = sender({ storage: failing });
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, index) => grouped.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(index) })));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(calls.enqueue).toEqual([5, 1, 1, 1, 1, 1]);
    expect((await inner.listMessages({ limit: 10 })).items).toHaveLength(4);
  });

  it('sendMany() stores every message in one call, and nothing when one input is invalid', async () => {
    const { storage, calls } = counting(createSqliteStorage({ filename: ':memory:' }));
    cleanups.push(() => storage.close());
    const hooksSender = sender({ storage });
    await hooksSender.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hooks' });
    const results = await hooksSender.sendMany([
      { tenant: 'acme', type: 'registrant.created', data: registrantData(1) },
      { tenant: 'acme', type: 'registrant.created', data: registrantData(2), idempotencyKey: 'once' },
      { tenant: 'acme', type: 'registrant.created', data: registrantData(3), idempotencyKey: 'once' },
      { tenant: 'nobody', type: 'registrant.created', data: registrantData(4) },
    ]);
    expect(calls.enqueue).toEqual([4]);
    expect(results.map((result) => [result.deliveryCount, result.duplicate])).toEqual([
      [1, false],
      [1, false],
      [1, true],
      [0, false],
    ]);
    expect(results[2]?.messageId).toBe(results[1]?.messageId);
    const bad = hooksSender.sendMany([
      { tenant: 'acme', type: 'registrant.created', data: registrantData(5) },
      { tenant: 'acme', type: 'registrant.created', data: { registrant: 'not an object' } as never },
    ]);
    await expect(bad).rejects.toMatchObject({ code: 'invalid_payload', details: { index: 1 } });
    await expect(hooksSender.sendMany('nope' as never)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(hooksSender.sendMany(Array.from({ length: 1001 }, () => ({ tenant: 'acme', type: 'registrant.created' as const, data: registrantData() })))).rejects.toMatchObject({ code: 'invalid_input' });
    expect(await hooksSender.sendMany([])).toEqual([]);
    expect(calls.enqueue).toEqual([4]);
    expect((await hooksSender.messages.list({ limit: 100 })).items).toHaveLength(3);
  });

  it('sends traceparent and tracestate with every attempt of a traced message, and none for others', async () => {
    const clock = createClock();
    const target = await receiver((request) => (request.attempt === 1 ? { status: 500 } : { status: 200 }));
    const hooksSender = sender({ now: clock.now });
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url, headers: { traceparent: '00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-00' } });
    const traced = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(1), traceContext: { traceparent: TRACEPARENT, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' } });
    const plain = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(2), traceContext: { traceparent: TRACEPARENT } });
    const none = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(3) });
    await hooksSender.drain();
    clock.advance(12_000);
    await hooksSender.drain();
    const of = (id: string) => target.requests.filter((request) => request.id === id);
    expect(of(traced.messageId).map((request) => [request.attempt, request.headers.traceparent, request.headers.tracestate])).toEqual([
      [1, TRACEPARENT, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
      [2, TRACEPARENT, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
    ]);
    expect(of(plain.messageId).map((request) => [request.headers.traceparent, request.headers.tracestate])).toEqual([
      [TRACEPARENT, undefined],
      [TRACEPARENT, undefined],
    ]);
    // Without a trace context, the endpoint's own custom header goes through untouched.
    expect(of(none.messageId).map((request) => request.headers.traceparent)).toEqual(['00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-00', '00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-00']);
  });

  it('refuses a malformed trace context with invalid_input and stores nothing', async () => {
    const hooksSender = sender();
    await hooksSender.endpoints.create({ tenant: 'acme', url: 'http://127.0.0.1:9/hooks' });
    for (const [traceContext, field] of [
      ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'traceContext'],
      [{ traceparent: 'not-a-traceparent' }, 'traceContext.traceparent'],
      [{ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }, 'traceContext.traceparent'],
      [{ traceparent: TRACEPARENT, tracestate: 'a=1\r\nx-injected: yes' }, 'traceContext.tracestate'],
      [{ traceparent: TRACEPARENT, tracestate: 'x'.repeat(513) }, 'traceContext.tracestate'],
    ] as const) {
      await expect(hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData(), traceContext: traceContext as never })).rejects.toMatchObject({ code: 'invalid_input', details: { field } });
    }
    expect((await hooksSender.messages.list({ limit: 10 })).items).toEqual([]);
  });

  it('acknowledges an attempt only after the batch holding its result committed', async () => {
    const inner = createSqliteStorage({ filename: ':memory:' });
    cleanups.push(() => inner.close());
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let written = 0;
    const storage: Storage = {
      ...inner,
      async finishAttempts(inputs) {
        await gate;
        const results = await inner.finishAttempts(inputs);
        written += inputs.length;
        return results;
      },
      // A running dispatcher sends its next claim with the results.
      async finishAttemptsAndClaim(inputs, claim) {
        await gate;
        const both = await inner.finishAttemptsAndClaim(inputs, claim);
        written += inputs.length;
        return both;
      },
    };
    const target = await receiver();
    const hooksSender = sender({ storage });
    const events: string[] = [];
    hooksSender.on('attempt.finished', () => {
      events.push(`finished after ${written} written`);
    });
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    const { messageId } = await hooksSender.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    hooksSender.start();
    await waitFor(() => target.requests.length === 1, 'the request');
    // Answered, but its result is not committed: nothing acknowledged, the lease still held.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual([]);
    expect((await inner.listDeliveries({ limit: 1, messageId })).items[0]).toMatchObject({ status: 'in_flight' });
    open();
    await waitFor(() => events.length === 1, 'the acknowledgement');
    expect(events).toEqual(['finished after 1 written']);
    expect((await inner.listDeliveries({ limit: 1, messageId })).items[0]).toMatchObject({ status: 'succeeded' });
  });

  it('sends its next claim with the attempt results; to a storage whose connections write side by side (parallelWrites), only after a claim came back short', async () => {
    const target = await receiver();
    // Per run: results written with a claim and without, claims alone, and writes that carried a
    // claim although the last claim before them had come back full.
    const runs = [];
    for (const [parallelWrites, claimAtMost] of [
      [false, undefined],
      [true, undefined],
      [true, 1],
    ] as const) {
      const inner = createSqliteStorage({ filename: ':memory:' });
      cleanups.push(() => inner.close());
      const seen = { withClaim: 0, alone: 0, claims: 0, claimsAfterFull: 0 };
      // Whether the last claim that came back (alone or with results) was short.
      let lastShort = false;
      // claimAtMost: every claim is cut to that many deliveries, so each one comes back short.
      const cut = (claim: ClaimInput): ClaimInput => (claimAtMost === undefined ? claim : { ...claim, limit: Math.min(claim.limit, claimAtMost) });
      const storage: Storage = {
        ...inner,
        parallelWrites,
        async claimDeliveries(input) {
          seen.claims += 1;
          const claimed = await inner.claimDeliveries(cut(input));
          lastShort = claimed.length < input.limit;
          return claimed;
        },
        async finishAttempts(inputs) {
          seen.alone += inputs.length;
          return inner.finishAttempts(inputs);
        },
        async finishAttemptsAndClaim(inputs, claim) {
          seen.withClaim += inputs.length;
          if (!lastShort) seen.claimsAfterFull += 1;
          const both = await inner.finishAttemptsAndClaim(inputs, cut(claim));
          lastShort = both.claimed.length < claim.limit;
          return both;
        },
      };
      const hooksSender = sender({ storage, dispatcher: { concurrency: 4, timeoutMs: 2_000, leaseMs: 10_000, pollIntervalMs: 20 } });
      let succeeded = 0;
      hooksSender.on('delivery.succeeded', () => {
        succeeded += 1;
      });
      for (let index = 0; index < 4; index++) await hooksSender.endpoints.create({ tenant: 'acme', url: `${target.url}/${index}` });
      await hooksSender.sendMany(Array.from({ length: 30 }, (_, index) => ({ tenant: 'acme', type: 'registrant.created' as const, data: registrantData(index) })));
      hooksSender.start();
      await waitFor(() => succeeded === 120, `120 deliveries (parallelWrites ${parallelWrites}, claims of at most ${claimAtMost ?? 'any'})`);
      await hooksSender.close();
      runs.push(seen);
    }
    const [combined, apart, short] = runs as [(typeof runs)[number], (typeof runs)[number], (typeof runs)[number]];
    // Every result written exactly once in each run.
    for (const run of runs) expect(run.withClaim + run.alone).toBe(120);
    // SQLite as it is: a busy dispatcher's claims ride with its results.
    expect(combined.withClaim).toBeGreaterThan(0);
    // Side by side: the run loop claims on its own, and a claim rides with results only after
    // one came back short (at the end of the work here), never after a full one.
    expect(apart.claims).toBeGreaterThan(1);
    expect(apart.claimsAfterFull).toBe(0);
    expect(apart.withClaim).toBeLessThan(combined.withClaim);
    // Claims that always come back short: they ride with the results again.
    expect(short.claimsAfterFull).toBe(0);
    expect(short.withClaim).toBeGreaterThan(apart.withClaim);
  });

  it('writes attempt results through finishAttempts batches, never one call per attempt', async () => {
    const { storage, calls } = counting(createSqliteStorage({ filename: ':memory:' }));
    cleanups.push(() => storage.close());
    const target = await receiver();
    const hooksSender = sender({ storage, dispatcher: { concurrency: 20, timeoutMs: 2_000, leaseMs: 10_000, pollIntervalMs: 20 } });
    for (let index = 0; index < 4; index++) await hooksSender.endpoints.create({ tenant: 'acme', url: `${target.url}/${index}` });
    await hooksSender.sendMany(Array.from({ length: 10 }, (_, index) => ({ tenant: 'acme', type: 'registrant.created' as const, data: registrantData(index) })));
    await hooksSender.drain();
    expect(target.requests).toHaveLength(40);
    expect(calls.finish.reduce((sum, size) => sum + size, 0)).toBe(40);
    expect(calls.finish.length).toBeLessThan(40);
    expect((await hooksSender.attempts.list({ limit: 100 })).items).toHaveLength(40);
  });

  it('comes back for a rate-limited endpoint as soon as its next delivery is allowed, without waiting for the poll', async () => {
    const storage = createSqliteStorage({ filename: ':memory:' });
    cleanups.push(() => storage.close());
    const target = await receiver();
    // A poll interval no test would wait for: only the dispatcher's own wake-ups can deliver these.
    const hooksSender = sender({ storage, dispatcher: { pollIntervalMs: 600_000, timeoutMs: 2_000, leaseMs: 10_000 } });
    const { endpoint } = await hooksSender.endpoints.create({ tenant: 'acme', url: target.url, rateLimit: 50 });
    await hooksSender.sendMany(Array.from({ length: 4 }, (_, index) => ({ tenant: 'acme', type: 'registrant.created' as const, data: registrantData(index) })));
    hooksSender.start();
    await waitFor(() => target.requests.length === 4, 'four requests');
    const started = (await hooksSender.attempts.list({ endpointId: endpoint.id, limit: 10 })).items.map((attempt) => attempt.startedAt.getTime()).sort((a, b) => a - b);
    for (let index = 1; index < started.length; index++) expect((started[index] as number) - (started[index - 1] as number)).toBeGreaterThanOrEqual(20);
  });

  it('gives prefetched deliveries back at stop(), keeping only the attempts in flight', async () => {
    const storage = createSqliteStorage({ filename: ':memory:' });
    cleanups.push(() => storage.close());
    const target = await receiver(() => 'hang');
    const hooksSender = sender({ storage, dispatcher: { concurrency: 2, prefetch: 2, batchSize: 10, timeoutMs: 5_000, leaseMs: 10_000, pollIntervalMs: 20, stopTimeoutMs: 20 } });
    await hooksSender.endpoints.create({ tenant: 'acme', url: target.url });
    await hooksSender.sendMany(Array.from({ length: 6 }, (_, index) => ({ tenant: 'acme', type: 'registrant.created' as const, data: registrantData(index) })));
    hooksSender.start();
    await waitFor(() => target.requests.length === 2, 'two requests');
    // Two attempts hang, two more deliveries wait in the local queue, two were never claimed.
    expect((await storage.listDeliveries({ limit: 10, status: 'in_flight' })).items).toHaveLength(4);
    await hooksSender.stop();
    expect((await storage.listDeliveries({ limit: 10, status: 'in_flight' })).items).toHaveLength(2);
    expect((await storage.listDeliveries({ limit: 10, status: 'pending' })).items).toHaveLength(4);
    expect(target.requests).toHaveLength(2);
  });

  it('close() returns after stopTimeoutMs with an attempt still running: the request is cancelled, nothing is logged, and the lease is retried once it expires', async () => {
    const clock = createClock();
    const storage = createSqliteStorage({ filename: ':memory:' });
    cleanups.push(() => storage.close());
    let answerFirst: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      answerFirst = resolve;
    });
    const target = await receiver(async (_request, index) => {
      if (index === 0) await held;
      return { status: 200 };
    });
    cleanups.push(async () => answerFirst());
    const logger = { lines: [] as string[], info() {}, warn(message: string) { logger.lines.push(message); }, error() {} };
    // The sender owns its transport: close() cancels the hung request instead of waiting up to timeoutMs (60 s here).
    const first = makeSender({ storage, now: clock.now, logger, dispatcher: { timeoutMs: 60_000, leaseMs: 120_000, stopTimeoutMs: 30, pollIntervalMs: 20 } });
    await first.endpoints.create({ tenant: 'acme', url: target.url });
    const { messageId } = await first.send({ tenant: 'acme', type: 'registrant.created', data: registrantData() });
    first.start();
    await waitFor(() => target.requests.length === 1, 'the first request');
    // Resolves while the receiver still holds the request (it is answered only in cleanup).
    await first.close();
    expect(logger.lines.some((line) => line.includes('stopTimeoutMs'))).toBe(true);
    // Closing again (a second shutdown hook) waits for the first close: no error from the destroyed transport.
    await expect(first.close()).resolves.toBeUndefined();
    const [delivery] = (await storage.listDeliveries({ limit: 1, messageId })).items;
    expect(delivery).toMatchObject({ status: 'in_flight', attempts: 0 });
    // Even once the cancelled request settles, the abandoned attempt writes nothing.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await storage.listAttempts({ limit: 10 })).items).toEqual([]);

    const second = sender({ storage, now: clock.now, dispatcher: { timeoutMs: 2_000, leaseMs: 10_000 } });
    await second.drain();
    expect(target.requests).toHaveLength(1);
    clock.advance(120_000);
    await second.drain();
    expect(target.requests.map((request) => [request.id, request.attempt])).toEqual([
      [messageId, 1],
      [messageId, 1],
    ]);
    expect(await second.deliveries.get(delivery?.id as string)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });
});
